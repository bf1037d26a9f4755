"""Tests for strategies.glft.glft_depths against the closed form of Guéant (2017) eqs 4.6-4.7.

Formula (DESIGN.md, "Public contract"; FORMULAS.md §3)::

    c1 = ln(1 + ξΔ/k) / (ξΔ)                       (ξ = 0: c1 = 1/k)
    c2 = sqrt(γ/(2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1))  (ξ = 0: c2 = sqrt(γe/(2AΔk)))
    half_spread = c1 + (Δ/2)·σ·c2,  skew = σ·c2
    bid = half_spread + skew·q,     ask = half_spread − skew·q
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from strategies.glft import glft_depths

# --------------------------------------------------------------------------- by hand


def test_hand_unit_parameters():
    """q=0, σ=A=k=γ=1, ξ=γ, Δ=1: c1 = ln 2, c2 = sqrt(1/2 · 2^2) = sqrt 2."""
    c1 = math.log(2.0)
    c2 = math.sqrt(2.0)
    half = c1 + 0.5 * 1.0 * c2
    assert glft_depths(q=0.0, sigma=1.0, A=1.0, k=1.0, gamma=1.0) == pytest.approx(
        (half, half), rel=1e-12
    )


def test_hand_long_inventory():
    """q=2, σ=2, A=10, k=0.5, γ=0.1 (ξ=γ): ξ/k = 0.2, exponent k/ξ + 1 = 6.

    c1 = ln 1.2 / 0.1, c2 = sqrt(0.1/(2·10·0.5) · 1.2^6) = 0.1 · 1.2^3 = 0.1728.
    """
    c1 = math.log(1.2) / 0.1
    c2 = 0.1 * 1.2**3
    half = c1 + 0.5 * 2.0 * c2
    skew = 2.0 * c2
    bid, ask = glft_depths(q=2.0, sigma=2.0, A=10.0, k=0.5, gamma=0.1)
    assert bid == pytest.approx(half + 2.0 * skew, rel=1e-12)
    assert ask == pytest.approx(half - 2.0 * skew, rel=1e-12)


def test_hand_xi_zero_short_inventory():
    """ξ=0 limit, q=-1, σ=0.5, A=2, k=2, γ=0.5: c1 = 1/2, c2 = sqrt(0.5e/8) = sqrt(e)/4."""
    c1 = 1.0 / 2.0
    c2 = math.sqrt(0.5 * math.e / (2.0 * 2.0 * 1.0 * 2.0))
    assert c2 == pytest.approx(math.sqrt(math.e) / 4.0, rel=1e-15)
    half = c1 + 0.5 * 0.5 * c2
    skew = 0.5 * c2
    bid, ask = glft_depths(q=-1.0, sigma=0.5, A=2.0, k=2.0, gamma=0.5, xi=0.0)
    assert bid == pytest.approx(half - skew, rel=1e-12)
    assert ask == pytest.approx(half + skew, rel=1e-12)


def test_hand_general_xi_and_delta():
    """ξ≠γ and Δ≠1: q=3, σ=0.3, A=5, k=4, γ=0.2, ξ=0.8, Δ=2.

    ξΔ = 1.6, ξΔ/k = 0.4, exponent k/(ξΔ) + 1 = 3.5;
    c1 = ln 1.4 / 1.6, c2 = sqrt(0.2/(2·5·2·4) · 1.4^3.5) = sqrt(0.0025 · 1.4^3.5).
    """
    c1 = math.log(1.4) / 1.6
    c2 = math.sqrt(0.0025 * 1.4**3.5)
    half = c1 + (2.0 / 2.0) * 0.3 * c2
    skew = 0.3 * c2
    bid, ask = glft_depths(q=3.0, sigma=0.3, A=5.0, k=4.0, gamma=0.2, xi=0.8, delta=2.0)
    assert bid == pytest.approx(half + 3.0 * skew, rel=1e-12)
    assert ask == pytest.approx(half - 3.0 * skew, rel=1e-12)


def test_glft2013_asymptotic_form():
    """ξ=γ, Δ=1 equals GLFT (2013)'s asymptotic formula written as in the paper.

    δ_bid = (1/γ)ln(1+γ/k) + (2q+1)/2 · sqrt(σ²γ/(2kA) · (1+γ/k)^(1+k/γ)); ask mirrors with
    −(2q−1)/2. Parameters in ticks, in the range hftbacktest's tutorial uses.
    """
    q, sigma, A, k, gamma = -4.0, 3.2, 0.8, 0.35, 0.05
    root = math.sqrt(sigma**2 * gamma / (2 * k * A) * (1 + gamma / k) ** (1 + k / gamma))
    base = math.log(1 + gamma / k) / gamma
    bid = base + (2 * q + 1) / 2 * root
    ask = base - (2 * q - 1) / 2 * root
    assert glft_depths(q, sigma, A, k, gamma) == pytest.approx((bid, ask), rel=1e-12)


# Computed once (Python floats) and written as literals; the arithmetic:
#   (a) q=0, σ=1, A=1, k=1, γ=1:  ln 2 + sqrt(2)/2 = 0.693147180560 + 0.707106781187
#   (b) q=2, σ=2, A=10, k=0.5, γ=0.1: c1 = ln1.2/0.1 = 1.823215567940, c2 = 0.1728,
#       half = 1.823215567940 + 0.1728 = 1.996015567940, skew = 0.3456,
#       bid = half + 0.6912, ask = half − 0.6912
#   (c) q=3, σ=0.3, A=5, k=4, γ=0.2, ξ=0.8, Δ=2: c1 = ln1.4/1.6 = 0.210295147888,
#       c2 = sqrt(0.0025·1.4^3.5) = sqrt(0.0025·3.246744599) = 0.090093592,
#       half = c1 + 0.3·c2 = 0.237323225, skew = 0.027028078,
#       bid = half + 3·skew = 0.318407459, ask = half − 3·skew = 0.156238972
TABLE = [
    ((0.0, 1.0, 1.0, 1.0, 1.0, None, 1.0), (1.4002539617464929, 1.4002539617464929)),
    ((2.0, 2.0, 10.0, 0.5, 0.1, None, 1.0), (2.687215567939546, 1.3048155679395461)),
    ((3.0, 0.3, 5.0, 4.0, 0.2, 0.8, 2.0), (0.3184074991987085, 0.15623897223303287)),
]


@pytest.mark.parametrize(("args", "expected"), TABLE)
def test_table(args, expected):
    """glft_depths reproduces the literal table (rel 1e-12)."""
    assert glft_depths(*args) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- properties

pos = st.floats(min_value=1e-3, max_value=1e3)
sigmas = st.floats(min_value=0.0, max_value=1e2)
qs = st.floats(min_value=-50.0, max_value=50.0)
xis = st.one_of(st.none(), st.just(0.0), st.floats(min_value=1e-3, max_value=10.0))
deltas = st.floats(min_value=0.1, max_value=10.0)


@given(sigmas, pos, pos, pos, xis, deltas)
def test_half_spread_positive_and_symmetric(sigma, A, k, gamma, xi, delta):
    """At q=0 the quotes are symmetric around mid and the half spread is > 0."""
    bid, ask = glft_depths(0.0, sigma, A, k, gamma, xi, delta)
    assert bid == ask
    assert bid > 0.0


@given(qs, sigmas, pos, pos, pos, xis, deltas)
def test_skew_linear_in_q(q, sigma, A, k, gamma, xi, delta):
    """bid − ask = 2·skew·q with skew ≥ 0, and (bid + ask)/2 is the q=0 half spread."""
    bid, ask = glft_depths(q, sigma, A, k, gamma, xi, delta)
    half, _ = glft_depths(0.0, sigma, A, k, gamma, xi, delta)
    skew = glft_depths(1.0, sigma, A, k, gamma, xi, delta)[0] - half
    assert skew >= 0.0
    scale = abs(half) + abs(skew * q) + 1e-300
    assert (bid + ask) / 2 == pytest.approx(half, rel=0, abs=1e-12 * scale)
    assert bid - ask == pytest.approx(2 * skew * q, rel=0, abs=1e-12 * scale)


@given(qs, qs, st.floats(1e-3, 1e2), pos, pos, pos, xis, deltas)
def test_inventory_skews_quotes(q1, q2, sigma, A, k, gamma, xi, delta):
    """Bid depth increases and ask depth decreases with q (long ⇒ quote lower): skew opposes q."""
    assume(q1 < q2)
    b1, a1 = glft_depths(q1, sigma, A, k, gamma, xi, delta)
    b2, a2 = glft_depths(q2, sigma, A, k, gamma, xi, delta)
    assert b2 >= b1 and a2 <= a1
    # long: bid deeper than ask (reservation price below mid); short: the reverse.
    if q2 >= 1e-2:
        assert b2 > a2
    if q1 <= -1e-2:
        assert b1 < a1


@given(st.floats(1e-3, 1e2), st.floats(1e-3, 1e2), pos, pos, pos, xis, deltas)
def test_half_spread_increases_with_sigma(s1, s2, A, k, gamma, xi, delta):
    """At fixed other inputs the half spread strictly increases with σ."""
    assume(s1 < s2 * (1 - 1e-9))
    h1 = glft_depths(0.0, s1, A, k, gamma, xi, delta)[0]
    h2 = glft_depths(0.0, s2, A, k, gamma, xi, delta)[0]
    assert h2 > h1


@given(
    st.floats(1e-3, 1e2),
    pos,
    pos,
    st.floats(1e-3, 1e2),
    st.floats(1e-3, 1e2),
    st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    deltas,
)
def test_half_spread_increases_with_gamma_fixed_xi(sigma, A, k, g1, g2, xi, delta):
    """With ξ held fixed (incl. ξ=0), c1 does not depend on γ and c2 ∝ sqrt(γ): the half
    spread strictly increases with γ whenever σ > 0."""
    assume(g1 < g2 * (1 - 1e-6))
    h1 = glft_depths(0.0, sigma, A, k, g1, xi, delta)[0]
    h2 = glft_depths(0.0, sigma, A, k, g2, xi, delta)[0]
    assert h2 > h1


def test_half_spread_not_monotone_in_gamma_when_xi_is_gamma():
    """With ξ = γ (xi=None) the half spread is NOT monotone in γ in every regime.

    c1 = ln(1 + γΔ/k)/(γΔ) decreases in γ (from 1/k); only the σ·c2 term grows. At σ = 0 the
    half spread therefore falls as γ rises. The DESIGN property "half_spread increases with
    gamma" holds for fixed ξ (test above) and, for ξ = γ, in the regime of the next test.
    """
    h_low = glft_depths(0.0, 0.0, 1.0, 1.0, 0.1)[0]
    h_high = glft_depths(0.0, 0.0, 1.0, 1.0, 1.0)[0]
    assert h_high < h_low
    assert h_low == pytest.approx(math.log(1.1) / 0.1)
    assert h_high == pytest.approx(math.log(2.0))


@given(pos, pos, st.floats(1e-3, 10.0), st.floats(1e-3, 10.0), deltas, st.floats(1.0, 100.0))
def test_half_spread_increases_with_gamma_xi_equals_gamma(A, k, g1, g2, delta, factor):
    """With ξ = γ, the half spread increases with γ on [γ1, γ2] when σ ≥ 2·sqrt(2AΔkγ2)/k².

    Derivation (x = γΔ/k): −dc1/dγ = [ln(1+x) − x/(1+x)]/(γ²Δ) ≤ Δ/(2k²), and
    d ln c2/dγ ≥ 1/(2γ) with c2 ≥ sqrt(γ/(2AΔk)), so d(Δσc2/2)/dγ ≥ Δσ/(4γ)·sqrt(γ/(2AΔk)),
    which beats Δ/(2k²) once σ ≥ 2·sqrt(2AΔkγ)/k² (the bound grows with γ, so use γ2).
    """
    assume(g1 < g2 * (1 - 1e-6))
    sigma = factor * 2.0 * math.sqrt(2.0 * A * delta * k * g2) / k**2
    assume(sigma < 1e12)
    h1 = glft_depths(0.0, sigma, A, k, g1, None, delta)[0]
    h2 = glft_depths(0.0, sigma, A, k, g2, None, delta)[0]
    assert h2 > h1


@given(qs, sigmas, pos, st.floats(0.1, 1.0), pos, st.floats(1.0, 10.0))
def test_xi_zero_is_the_limit(q, sigma, A, k, gamma, delta):
    """xi=0 (closed-form limit) agrees with xi=1e-9 to rtol 1e-6.

    Restricted to k ≤ Δ so that ξΔ/k ≥ 1e-9: for much smaller ratios the implementation's
    ``(1.0 + r) ** (k/(ξΔ) + 1)`` loses precision (1 + r is rounded to double), not the
    formula.
    """
    lim = glft_depths(q, sigma, A, k, gamma, xi=0.0, delta=delta)
    near = glft_depths(q, sigma, A, k, gamma, xi=1e-9, delta=delta)
    half = glft_depths(0.0, sigma, A, k, gamma, xi=0.0, delta=delta)[0]
    skew_q = abs(lim[0] - lim[1]) / 2
    scale = half + skew_q
    assert near[0] == pytest.approx(lim[0], rel=0, abs=1e-6 * scale)
    assert near[1] == pytest.approx(lim[1], rel=0, abs=1e-6 * scale)


def test_xi_none_means_gamma():
    """xi=None is the same as passing xi=gamma."""
    args = (1.5, 0.7, 3.0, 1.2, 0.4)
    assert glft_depths(*args) == glft_depths(*args, xi=0.4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"A": 0.0},
        {"A": -1.0},
        {"k": 0.0},
        {"k": -2.0},
        {"gamma": 0.0},
        {"gamma": -0.1},
        {"delta": 0.0},
        {"sigma": -0.1},
        {"xi": -0.5},
        {"A": math.nan},
        {"k": math.nan},
        {"gamma": math.nan},
    ],
)
def test_bad_inputs_raise(kwargs):
    """Non-positive A, k, γ, Δ, negative σ or ξ, and NaN A/k/γ raise ValueError."""
    args = {"q": 0.0, "sigma": 1.0, "A": 1.0, "k": 1.0, "gamma": 0.1, "xi": None, "delta": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError):
        glft_depths(**args)
