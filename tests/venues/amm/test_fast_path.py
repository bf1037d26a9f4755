"""Float fast path (venues.amm._amm_nb) against the exact integer path, and kernels against their
plain-Python twins.

Stated bounds (also in the module docstring), raw token units:

* constant product (Aerodrome volatile, PancakeSwap/Uniswap v2): ``|fast − exact| <= 1e-9·exact + 1``;
* Aerodrome stable: ``|fast − exact| <= 1e-9·exact + 2``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from venues.amm import AerodromePool, PancakeV2Pool, PoolRevertError
from venues.amm._amm_nb import (
    cpmm_amount_out,
    cpmm_amount_out_nb,
    replay_cpmm,
    replay_cpmm_nb,
    replay_stable,
    replay_stable_nb,
    stable_amount_out,
    stable_amount_out_nb,
)

CPMM_RTOL, CPMM_ATOL = 1e-9, 1.0
STABLE_RTOL, STABLE_ATOL = 1e-9, 2.0

decimals = st.sampled_from([6, 8, 18])
fees = st.sampled_from([0, 1, 5, 25, 30, 100, 300])


@st.composite
def token_amounts(draw, dec, min_exp=-3):
    """Raw amounts from 10**min_exp to 1e9 whole tokens."""
    return draw(st.integers(10 ** max(dec + min_exp, 0), 10 ** (dec + 9)))


@given(st.data(), decimals, decimals, fees, st.sampled_from([0, 1]))
def test_cpmm_fast_path_within_bound(data, d0, d1, fee, token_in):
    """Aerodrome volatile and Pancake v2 float outputs are within 1e-9·exact + 1 raw unit of the exact ints."""
    r0, r1 = data.draw(token_amounts(d0)), data.draw(token_amounts(d1))
    r_in, r_out = (r0, r1) if token_in == 0 else (r1, r0)
    a = data.draw(st.integers(1, 10 * r_in))
    exact_aero = AerodromePool(r0, r1, d0, d1, stable=False, fee_bps=fee).get_amount_out(a, token_in)
    fast_aero = cpmm_amount_out_nb(float(a), float(r_in), float(r_out), float(fee), True)
    assert abs(fast_aero - exact_aero) <= CPMM_RTOL * exact_aero + CPMM_ATOL
    exact_v2 = PancakeV2Pool(r0, r1, fee).get_amount_out(a, token_in)
    fast_v2 = cpmm_amount_out_nb(float(a), float(r_in), float(r_out), float(fee), False)
    assert abs(fast_v2 - exact_v2) <= CPMM_RTOL * exact_v2 + CPMM_ATOL


@given(st.data(), decimals, decimals, fees, st.sampled_from([0, 1]))
def test_stable_fast_path_within_bound(data, d0, d1, fee, token_in):
    """Aerodrome stable float output is within 1e-9·exact + 2 raw units of the exact integer quote,
    for pools of 1 to 1e9 whole tokens a side within a factor 1e3 of balance. (Below one token the
    contract's invariant, floored by 1e18 after every product, keeps only a few significant digits:
    a 0.001/0.001 USDC/DAI pool quotes 2.5e-4 away from the smooth curve.)"""
    r0 = data.draw(token_amounts(d0, min_exp=0))
    ratio = data.draw(st.floats(1e-3, 1e3))
    r1 = max(10**d1, min(10 ** (d1 + 9), int(r0 / 10**d0 * ratio * 10**d1)))
    r_in, r_out = (r0, r1) if token_in == 0 else (r1, r0)
    d_in, d_out = (d0, d1) if token_in == 0 else (d1, d0)
    a = data.draw(st.integers(1, 10 * r_in))
    try:
        exact = AerodromePool(r0, r1, d0, d1, stable=True, fee_bps=fee).get_amount_out(a, token_in)
    except PoolRevertError:  # the contract reverts ("!y", overflow); nothing to compare
        assume(False)
    fast = stable_amount_out_nb(float(a), float(r_in), float(r_out), 10.0**d_in, 10.0**d_out, float(fee))
    assert abs(fast - exact) <= STABLE_RTOL * exact + STABLE_ATOL


@given(st.floats(1, 1e30), st.floats(1, 1e30), st.floats(1, 1e30), fees, st.booleans())
def test_cpmm_kernel_equals_twin(a, r_in, r_out, fee, floored):
    """The compiled constant-product kernel equals its plain-Python twin."""
    fast = cpmm_amount_out_nb(a, r_in, r_out, float(fee), floored)
    ref = cpmm_amount_out(a, r_in, r_out, float(fee), floored)
    assert np.isclose(fast, ref, rtol=1e-12, atol=1.0)


@given(st.floats(1, 1e26), st.floats(1e6, 1e26), st.floats(1e6, 1e26), st.sampled_from([1e6, 1e18]), fees)
def test_stable_kernel_equals_twin(a, r_in, r_out, scale, fee):
    """The compiled stable kernel equals its plain-Python twin."""
    fast = stable_amount_out_nb(a, r_in, r_out, scale, scale, float(fee))
    ref = stable_amount_out(a, r_in, r_out, scale, scale, float(fee))
    assert np.isclose(fast, ref, rtol=1e-12, atol=1.0)


def _random_flow(seed: int, n: int, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 2, n).astype(np.int64)
    scale = np.where(tokens == 0, float(r0), float(r1)) * 1e-3
    amounts = np.floor(rng.exponential(1.0, n) * scale)
    return amounts, tokens


@given(st.integers(0, 2**32), fees, st.booleans())
def test_replay_cpmm_tracks_exact_swaps(seed, fee, aerodrome):
    """Replaying 200 random swaps in floats keeps outputs and reserves within the stated bound of the
    exact pool (relative drift of the reserves below 1e-9), and the kernel equals its twin."""
    r0, r1 = 10**24, 3 * 10**21
    amounts, tokens = _random_flow(seed, 200, r0, r1)
    out, res0, res1 = replay_cpmm_nb(float(r0), float(r1), float(fee), aerodrome, amounts, tokens)
    ref = replay_cpmm(float(r0), float(r1), float(fee), aerodrome, amounts, tokens)
    for got, want in zip((out, res0, res1), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1.0)
    pool = AerodromePool(r0, r1, 18, 18, stable=False, fee_bps=fee) if aerodrome else PancakeV2Pool(r0, r1, fee)
    for i, (a, t) in enumerate(zip(amounts, tokens, strict=True)):
        try:
            exact = pool.swap(int(a), int(t))
        except PoolRevertError:
            exact = 0
        assert abs(out[i] - exact) <= CPMM_RTOL * exact + CPMM_ATOL
    np.testing.assert_allclose([res0[-1], res1[-1]], [float(pool.reserve0), float(pool.reserve1)], rtol=1e-9)


@given(st.integers(0, 2**32), fees)
def test_replay_stable_tracks_exact_swaps(seed, fee):
    """Stable-pool replay (USDC 6 / DAI 18) stays within the stated bound of the exact pool over 100
    swaps, and the kernel equals its twin."""
    r0, r1 = 10**12, 10**24  # 1e6 USDC, 1e6 DAI
    amounts, tokens = _random_flow(seed, 100, r0, r1)
    out, res0, res1 = replay_stable_nb(float(r0), float(r1), 1e6, 1e18, float(fee), amounts, tokens)
    ref = replay_stable(float(r0), float(r1), 1e6, 1e18, float(fee), amounts, tokens)
    for got, want in zip((out, res0, res1), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=2.0)
    pool = AerodromePool(r0, r1, 6, 18, stable=True, fee_bps=fee)
    for i, (a, t) in enumerate(zip(amounts, tokens, strict=True)):
        try:
            exact = pool.swap(int(a), int(t))
        except PoolRevertError:
            exact = 0
        # the float reserves drift from the exact ones by the accumulated per-swap error
        assert abs(out[i] - exact) <= STABLE_RTOL * exact + STABLE_ATOL + 1e-9 * (r1 if t == 0 else r0)
    np.testing.assert_allclose([res0[-1], res1[-1]], [float(pool.reserve0), float(pool.reserve1)], rtol=1e-9)
