"""Inclusion model: probability, optimal bribe (closed form vs brute force), draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from venues.inclusion import (
    draw_included,
    inclusion_probability,
    inclusion_probability_array,
    lambertw_exp,
    optimal_bribe,
)

OMEGA = 0.5671432904097838  # W(1), the omega constant


# ------------------------------------------------------------------ probability


@pytest.mark.parametrize(
    ("bribe", "a", "b", "want"),
    [
        (0.0, 0.0, 1.0, 0.5),
        (1.0, math.log(3.0) - 2.0, 2.0, 0.75),  # a + b x = ln 3
        (1.0, -math.log(3.0) - 2.0, 2.0, 0.25),
        (3.0, -1.0, 0.5, 1.0 / (1.0 + math.exp(-0.5))),
        (10.0, 990.0, 1.0, 1.0),
        (0.0, -1000.0, 1.0, 0.0),
        (0.0, -700.0, 1.0, math.exp(-700.0)),
    ],
)
def test_probability_known_points(bribe, a, b, want):
    """p at closed-form points, including extreme log-odds without overflow."""
    assert inclusion_probability(bribe, a, b) == pytest.approx(want, rel=1e-14, abs=0.0)


def test_probability_array_matches_scalar_and_is_stable():
    """The vectorised twin equals the scalar form elementwise and raises no FP warnings."""
    x = np.linspace(-50.0, 50.0, 1001)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = inclusion_probability_array(x, -3.0, 20.0)
        extreme = inclusion_probability_array(np.array([-1e6, 0.0, 1e6]), 0.0, 1.0)
    want = np.array([inclusion_probability(v, -3.0, 20.0) for v in x])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0.0)
    np.testing.assert_array_equal(extreme, [0.0, 0.5, 1.0])
    assert inclusion_probability_array([[1.0], [2.0]], [0.0, 1.0], 1.0).shape == (2, 2)


# ------------------------------------------------------------------ Lambert W


@pytest.mark.parametrize("z", [-60.0, -30.0, -5.0, -1.0, 0.0, 0.3, 1.0, 2.0, 10.0, 19.99, 20.0, 100.0, 700.0])
def test_lambertw_exp_matches_scipy(z):
    """W0(e^z) in log space agrees with scipy.special.lambertw where e^z is representable."""
    special = pytest.importorskip("scipy.special")
    want = float(special.lambertw(math.exp(z)).real)
    assert lambertw_exp(z) == pytest.approx(want, rel=5e-15)


def test_lambertw_exp_known_values():
    """W(1) is the omega constant, W(e) = 1; and w + ln w = z for z far past exp's overflow."""
    assert lambertw_exp(0.0) == pytest.approx(OMEGA, rel=1e-15)
    assert lambertw_exp(1.0) == pytest.approx(1.0, rel=1e-15)
    for z in (800.0, 1e4, 1e8, 1e15, 1e300):
        w = lambertw_exp(z)
        assert w + math.log(w) == pytest.approx(z, rel=1e-15)


# ------------------------------------------------------------------ optimal bribe: closed forms


def test_if_included_omega_case():
    """a + bV − 1 = 0 gives u = Ω: x* = V − (1 + Ω)/b, E* = Ω/b."""
    x, e = optimal_bribe(10.0, -9.0, 1.0)
    assert x == pytest.approx(10.0 - (1.0 + OMEGA), rel=1e-14)
    assert e == pytest.approx(OMEGA, rel=1e-14)
    x, e = optimal_bribe(5.0, -9.0, 2.0)  # a + bV - 1 = 0 again, b = 2
    assert x == pytest.approx(5.0 - (1.0 + OMEGA) / 2.0, rel=1e-14)
    assert e == pytest.approx(OMEGA / 2.0, rel=1e-14)


def test_always_closed_form():
    """bV = 10, a = −5: p_hi = (1 + √0.6)/2, x_hi = logit(p_hi) + 5, E = p_hi·V − x_hi."""
    p_hi = (1.0 + math.sqrt(0.6)) / 2.0
    x_hi = math.log(p_hi / (1.0 - p_hi)) + 5.0
    x, e = optimal_bribe(10.0, -5.0, 1.0, pay="always")
    assert x == pytest.approx(x_hi, rel=1e-13)
    assert e == pytest.approx(p_hi * 10.0 - x_hi, rel=1e-13)


def test_corner_at_zero_if_included():
    """When p(0) is already high the optimum is no bribe, E = p(0)·V."""
    x, e = optimal_bribe(1.0, 5.0, 1.0)
    assert x == 0.0
    assert e == pytest.approx(inclusion_probability(0.0, 5.0, 1.0))
    assert optimal_bribe(0.0, -3.0, 1.0) == (0.0, 0.0)


@pytest.mark.parametrize("bv", [0.5, 3.9, 4.0])
def test_always_needs_bv_above_4(bv):
    """bV <= 4: E(x) = p(x)V − x never increases, so the bribe is 0 whatever a is."""
    for a in (-20.0, -2.0, 0.0, 3.0):
        x, e = optimal_bribe(bv, a, 1.0, pay="always")
        assert x == 0.0
        assert e == pytest.approx(inclusion_probability(0.0, a, 1.0) * bv)


def test_always_local_max_loses_to_zero():
    """bV > 4 but p(0) already near 1: x_hi < 0 → 0; and x_hi > 0 with E(x_hi) < E(0) → 0."""
    assert optimal_bribe(10.0, 5.0, 1.0, pay="always") == (0.0, pytest.approx(10.0 * inclusion_probability(0, 5, 1)))
    # p(0) = 0.2, bV = 4.2: x_hi ≈ 1.83 > 0, but the dip before it makes E(x_hi) < E(0)
    v, a, b = 4.2, math.log(0.25), 1.0
    r = math.sqrt(1 - 4 / (b * v))
    p_hi = (1 + r) / 2
    x_hi = (math.log(p_hi / (1 - p_hi)) - a) / b
    assert x_hi > 0 and p_hi * v - x_hi < inclusion_probability(0.0, a, b) * v
    assert optimal_bribe(v, a, b, pay="always")[0] == 0.0


def test_large_exponent_stability():
    """a + bV far beyond exp's range: the log-space solution still satisfies the FOC."""
    # corner: p(0) = 1 to double precision
    assert optimal_bribe(10.0, 800.0, 1.0) == (0.0, 10.0)
    # interior with a + bV − 1 ≈ 1e4 (e^z overflows): check FOC in log form a + bx = ln(b(V−x) − 1)
    v, a, b = 2e4, -1e4, 1.0
    x, e = optimal_bribe(v, a, b)
    assert 0.0 < x < v
    assert a + b * x == pytest.approx(math.log(b * (v - x) - 1.0), abs=1e-9)
    assert e == pytest.approx(inclusion_probability(x, a, b) * (v - x), rel=1e-12)
    # huge slope: b·V = 1e12
    x, e = optimal_bribe(1.0, -1e6, 1e12)
    assert 0.0 < x < 1.0 and math.isfinite(e)
    # tiny inclusion odds: z ≪ 0, u underflows gracefully
    x, e = optimal_bribe(10.0, -100.0, 1.0)
    assert x == pytest.approx(9.0) and 0.0 <= e < 1e-30
    x, e = optimal_bribe(1e6, -1e3, 1.0, pay="always")
    assert x > 0 and e > 0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1.0, 0.0, 0.0), "slope"),
        ((1.0, 0.0, -1.0), "slope"),
        ((1.0, 0.0, math.nan), "slope"),
        ((-1.0, 0.0, 1.0), "value"),
        ((math.inf, 0.0, 1.0), "value"),
        ((1.0, math.nan, 1.0), "intercept"),
        ((1e300, 0.0, 1e300), "overflow"),
    ],
)
def test_bad_inputs_rejected(args, match):
    """b <= 0, V < 0 and non-finite inputs raise ValueError."""
    with pytest.raises(ValueError, match=match):
        optimal_bribe(*args)


def test_unknown_pay_rule():
    """An unknown pay rule raises ValueError."""
    with pytest.raises(ValueError, match="pay rule"):
        optimal_bribe(1.0, 0.0, 1.0, pay="sometimes")


# ------------------------------------------------------------------ optimal bribe vs brute force

N_GRID = 200_001


def _ev(x, v, a, b, pay):
    p = inclusion_probability_array(x, a, b)
    return p * (v - x) if pay == "if_included" else p * v - x


def _brute(v, a, b, pay):
    """Grid maximum over [0, V] (the optimum never exceeds V), refined by a bounded scalar search."""
    grid = np.linspace(0.0, v, N_GRID)
    ev = _ev(grid, v, a, b, pay)
    i = int(np.argmax(ev))
    h = v / (N_GRID - 1)
    lo, hi = max(0.0, grid[i] - h), min(v, grid[i] + h)
    # golden-section refinement on [lo, hi] (unimodal there)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(80):
        m1, m2 = hi - g * (hi - lo), lo + g * (hi - lo)
        if _ev(m1, v, a, b, pay) >= _ev(m2, v, a, b, pay):
            hi = m2
        else:
            lo = m1
    xr = 0.5 * (lo + hi)
    er = float(_ev(xr, v, a, b, pay))
    if float(ev[i]) >= er:
        xr, er = float(grid[i]), float(ev[i])
    return float(ev.max()), xr, er


params = st.tuples(
    st.floats(0.1, 100.0),  # V
    st.floats(-15.0, 15.0),  # a
    st.floats(0.01, 10.0),  # b
)


@given(params)
def test_if_included_matches_brute_force(vab):
    """Closed form beats every grid point, matches the refined maximum, and sits at the same bribe."""
    v, a, b = vab
    x, e = optimal_bribe(v, a, b, pay="if_included")
    assert 0.0 <= x <= v
    assert e == pytest.approx(float(_ev(x, v, a, b, "if_included")), rel=1e-12, abs=1e-300)
    gmax, xr, er = _brute(v, a, b, "if_included")
    scale = max(v, 1.0)
    assert e >= gmax - 1e-12 * scale
    assert e <= er + 1e-10 * scale
    # unique maximiser: bribe agrees to the curvature-limited precision of the numerical search
    assume(er > 1e-9 * scale)
    assert x == pytest.approx(xr, abs=1e-4 / b + 1e-6 * v)


@given(params)
def test_always_matches_brute_force(vab):
    """Same against brute force for pay="always", incl. bV < 4 and the 0-vs-x_hi choice."""
    v, a, b = vab
    x, e = optimal_bribe(v, a, b, pay="always")
    assert 0.0 <= x <= v
    assert e == pytest.approx(float(_ev(x, v, a, b, "always")), rel=1e-12, abs=1e-12)
    gmax, xr, er = _brute(v, a, b, "always")
    scale = max(v, 1.0)
    assert e >= gmax - 1e-12 * scale
    assert e <= er + 1e-10 * scale
    # bribe check only where the optimum is well-defined: a clear winner between 0 and x_hi,
    # and a non-degenerate local maximum (bV not close to 4)
    e0 = inclusion_probability(0.0, a, b) * v
    assume(b * v > 4.5 or x == 0.0)
    if x > 0.0:
        assume(e - e0 > 1e-6 * scale)
    else:
        assume(b * v <= 4.0 or er < e0 - 1e-6 * scale or er - e0 < 1e-12 * scale)
    assert x == pytest.approx(xr, abs=1e-4 / b + 1e-6 * v)


@given(st.floats(0.5, 1e4), st.floats(-50.0, 50.0), st.floats(1e-3, 1e3))
def test_first_order_conditions_hold(v, a, b):
    """At an interior optimum: b(1 − p)(V − x) = 1 (if_included) and bV·p(1 − p) = 1 (always)."""
    x, _ = optimal_bribe(v, a, b, pay="if_included")
    if x > 0.0:
        p = inclusion_probability(x, a, b)
        # log form avoids 1 − p cancellation: ln(b(V − x) − 1) = a + b x, where u = b(V − x) − 1
        # is resolved (tiny u = p/(1 − p) is lost to rounding in V − x)
        u = b * (v - x) - 1.0
        if u > 1e-6 * max(1.0, b * v):
            assert math.log(u) == pytest.approx(a + b * x, abs=1e-8 * max(1.0, abs(a) + b * x))
        if p < 0.99:
            assert b * (1.0 - p) * (v - x) == pytest.approx(1.0, rel=1e-8)
    x, _ = optimal_bribe(v, a, b, pay="always")
    if x > 0.0:
        p = inclusion_probability(x, a, b)
        assert b * v * p * (1.0 - p) == pytest.approx(1.0, rel=1e-6)


@given(st.floats(0.1, 100.0), st.floats(-10.0, 10.0), st.floats(0.01, 10.0))
def test_if_included_dominates_always(v, a, b):
    """Paying only on inclusion is never worse than always paying."""
    assert optimal_bribe(v, a, b)[1] >= optimal_bribe(v, a, b, pay="always")[1] - 1e-12 * max(v, 1.0)


# ------------------------------------------------------------------ draws


def test_draws_reproducible_and_one_double_each():
    """Same seed, same outcomes; each draw consumes exactly one rng.random() double."""
    r1, r2, r3 = (np.random.default_rng(42) for _ in range(3))
    d1 = [draw_included(r1, 1.0, -0.5, 0.7) for _ in range(500)]
    d2 = [draw_included(r2, 1.0, -0.5, 0.7) for _ in range(500)]
    assert d1 == d2
    u = r3.random(500)
    assert d1 == (u < inclusion_probability(1.0, -0.5, 0.7)).tolist()
    assert r1.random() == r3.random()


def test_draw_frequency():
    """The share of inclusions matches p within 5 standard errors."""
    rng = np.random.default_rng(7)
    p = inclusion_probability(2.0, -1.0, 0.3)
    n = 20_000
    k = sum(draw_included(rng, 2.0, -1.0, 0.3) for _ in range(n))
    assert abs(k / n - p) < 5.0 * math.sqrt(p * (1 - p) / n)


def test_draw_needs_generator():
    """The global RNG (np.random module or RandomState) is refused."""
    with pytest.raises(TypeError, match="Generator"):
        draw_included(np.random, 1.0, 0.0, 1.0)
    with pytest.raises(TypeError, match="Generator"):
        draw_included(np.random.RandomState(0), 1.0, 0.0, 1.0)
