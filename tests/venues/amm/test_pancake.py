"""PancakeSwap v2 / Uniswap v2 pairs: library golden values, pair K rule, reverts, multi-hop,
invariants under hypothesis and bad parameters.

Golden values are numbers asserted in Uniswap/v2-core ``test/UniswapV2Pair.spec.ts`` and in the
third-party library port stableex/sx.uniswap ``__tests__/basic.tests.cpp``; only the numbers are used.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from venues.amm import (
    AerodromePool,
    PancakeV2Pool,
    PoolParameterError,
    PoolRevertError,
    get_amount_in,
    get_amount_out,
    get_amounts_in,
    get_amounts_out,
)
from venues.amm.errors import PANIC_DIVISION_BY_ZERO
from venues.amm.pancake import UINT112_MAX

E18 = 10**18

# Uniswap/v2-core test/UniswapV2Pair.spec.ts, swapTestCases: [swapAmount, token0Amount,
# token1Amount, expectedOutputAmount] (amounts in units of 1e18). The test checks that taking
# expectedOutputAmount + 1 reverts 'UniswapV2: K' and expectedOutputAmount succeeds.
UNISWAP_SWAP_CASES = [
    (1, 5, 10, 1662497915624478906),
    (1, 10, 5, 453305446940074565),
    (2, 5, 10, 2851015155847869602),
    (2, 10, 5, 831248957812239453),
    (1, 10, 10, 906610893880149131),
    (1, 100, 100, 987158034397061298),
    (1, 1000, 1000, 996006981039903216),
]

# Same file, optimisticTestCases: [outputAmount, token0Amount, token1Amount, inputAmount] — a flash
# swap paying token0 back for token0 taken out; outputAmount + 1 reverts 'UniswapV2: K'.
UNISWAP_OPTIMISTIC_CASES = [
    (997000000000000000, 5 * E18, 10 * E18, E18),
    (997000000000000000, 10 * E18, 5 * E18, E18),
    (997000000000000000, 5 * E18, 5 * E18, E18),
    (E18, 5 * E18, 5 * E18, 1003009027081243732),
]


def _v2(a: int, r_in: int, r_out: int, n: int, d: int) -> int:
    """The library formula written out: ⌊a·n·R_out/(R_in·d + a·n)⌋ (FORMULAS.md §2)."""
    return a * n * r_out // (r_in * d + a * n)


@pytest.mark.parametrize(("swap", "r0", "r1", "expected"), UNISWAP_SWAP_CASES)
def test_uniswap_v2_golden_outputs_and_k_rule(swap, r0, r1, expected):
    """fee_bps=30 reproduces Uniswap v2-core's expected outputs; expected + 1 fails the pair's K check."""
    pool = PancakeV2Pool(r0 * E18, r1 * E18, fee_bps=30)
    assert pool.get_amount_out(swap * E18, 0) == expected
    with pytest.raises(PoolRevertError) as info:
        pool.pair_swap(0, expected + 1, swap * E18, 0)
    assert info.value.reason == "Pancake: K"
    pool.pair_swap(0, expected, swap * E18, 0)
    assert (pool.reserve0, pool.reserve1) == ((r0 + swap) * E18, r1 * E18 - expected)


@pytest.mark.parametrize(("out", "r0", "r1", "amount_in"), UNISWAP_OPTIMISTIC_CASES)
def test_uniswap_v2_optimistic_flash_swap_cases(out, r0, r1, amount_in):
    """Flash swap (token0 out, token0 back in) at 30 bps: the v2-core amounts pass K, one more wei fails."""
    pool = PancakeV2Pool(r0, r1, fee_bps=30)
    with pytest.raises(PoolRevertError, match="Pancake: K"):
        pool.pair_swap(out + 1, 0, amount_in, 0)
    pool.pair_swap(out, 0, amount_in, 0)
    assert pool.reserve0 == r0 - out + amount_in


def test_uniswap_v2_swap_token1_reserves():
    """v2-core 'swap:token1': 1 token1 into (5, 10) gives 453305446940074565 token0; Sync reserves follow."""
    pool = PancakeV2Pool(5 * E18, 10 * E18, fee_bps=30)
    assert pool.swap(E18, 1) == 453305446940074565
    assert (pool.reserve0, pool.reserve1) == (5 * E18 - 453305446940074565, 11 * E18)


def test_third_party_library_vector():
    """stableex/sx.uniswap basic.tests.cpp: getAmountOut(10000, 45851931234, 125682033533) = 27328 and
    getAmountIn(27328, ...) = 10000 with the 997/1000 fee."""
    assert get_amount_out(10000, 45851931234, 125682033533, fee_bps=30) == 27328
    assert get_amount_in(27328, 45851931234, 125682033533, fee_bps=30) == 10000


def test_pancake_v2_default_fee_is_9975():
    """The default fee is PancakeSwap v2's 25 bps: (9975, 10000)."""
    pool = PancakeV2Pool(5 * E18, 10 * E18)
    assert pool.fee_bps == 25
    assert pool.get_amount_out(E18, 0) == _v2(E18, 5 * E18, 10 * E18, 9975, 10000)


reserves = st.integers(1, 10**30)


@given(st.integers(1, 10**30), reserves, reserves)
def test_fee_30_equals_uniswap_997_1000(a, r_in, r_out):
    """fee_bps=30 is exactly Uniswap v2's 997/1000 form, fee_bps=20 PancakeSwap v1's 998/1000,
    for amount out and amount in."""
    assert get_amount_out(a, r_in, r_out, 30) == _v2(a, r_in, r_out, 997, 1000)
    assert get_amount_out(a, r_in, r_out, 20) == _v2(a, r_in, r_out, 998, 1000)
    assert get_amount_out(a, r_in, r_out) == _v2(a, r_in, r_out, 9975, 10000)
    b = min(a, r_out - 1)
    assume(b > 0)
    assert get_amount_in(b, r_in, r_out, 30) == r_in * b * 1000 // ((r_out - b) * 997) + 1


@st.composite
def v2_pools(draw):
    r0 = draw(st.integers(1, 10**30))
    r1 = draw(st.integers(1, 10**30))
    fee = draw(st.sampled_from([0, 20, 25, 30, 100, 9999]))
    return PancakeV2Pool(r0, r1, fee)


@given(v2_pools(), st.sampled_from([0, 1]), st.integers(1, 10**31))
def test_quote_is_the_largest_output_the_pair_accepts(pool, token_in, a):
    """getAmountOut is the largest output that passes the pair's K check: one more wei reverts."""
    out = pool.get_amount_out(a, token_in)
    r_out = pool.reserve1 if token_in == 0 else pool.reserve0
    assert out < r_out
    ins = (a, 0) if token_in == 0 else (0, a)
    outs = (0, out + 1) if token_in == 0 else (out + 1, 0)
    probe = pool.copy()
    with pytest.raises(PoolRevertError) as info:
        probe.pair_swap(*outs, *ins)
    assert info.value.reason in ("Pancake: K", "Pancake: INSUFFICIENT_LIQUIDITY")


@given(v2_pools(), st.sampled_from([0, 1]), st.integers(1, 10**31))
def test_amount_in_amount_out_relations(pool, token_in, x):
    """get_amount_in(get_amount_out(x)) <= x (x + 1 only when the output division was exact, because
    getAmountIn adds 1 after flooring), get_amount_out(get_amount_in(b)) >= b, and the input from
    get_amount_in passes the pair's K check."""
    out = pool.get_amount_out(x, token_in)
    assume(out > 0)
    need = pool.get_amount_in(out, 1 - token_in)
    r_in, r_out = (pool.reserve0, pool.reserve1) if token_in == 0 else (pool.reserve1, pool.reserve0)
    n = 10000 - pool.fee_bps
    exact = r_in * out * 10000 == x * (r_out - out) * n
    assert need <= x + 1 if exact else need <= x
    assert pool.get_amount_out(need, token_in) >= out
    outs = (0, out) if token_in == 0 else (out, 0)
    ins = (need, 0) if token_in == 0 else (0, need)
    try:
        pool.copy().pair_swap(*outs, *ins)
    except PoolRevertError as e:
        assert e.reason == "Pancake: OVERFLOW"


@given(v2_pools(), st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(0, 10**31)), min_size=1, max_size=8))
def test_k_never_decreases_and_reserves_stay_positive(pool, swaps):
    """Through any sequence of swaps reserve0·reserve1 never decreases, reserves stay positive, and
    each output is below the output reserve."""
    for token_in, a in swaps:
        k_before, before = pool.k, (pool.reserve0, pool.reserve1)
        r_out = pool.reserve1 if token_in == 0 else pool.reserve0
        try:
            out = pool.swap(a, token_in)
        except PoolRevertError as e:
            assert e.reason in (
                "PancakeLibrary: INSUFFICIENT_INPUT_AMOUNT",
                "Pancake: INSUFFICIENT_OUTPUT_AMOUNT",
                "Pancake: OVERFLOW",
            )
            assert (pool.reserve0, pool.reserve1) == before
            continue
        assert 0 < out < r_out
        assert pool.reserve0 > 0 and pool.reserve1 > 0
        assert pool.k >= k_before


@given(v2_pools(), st.sampled_from([0, 1]), st.integers(1, 10**31), st.integers(1, 10**31))
def test_output_monotone_in_input(pool, token_in, a, b):
    """A larger input never gives a smaller output."""
    a, b = sorted((a, b))
    assert pool.get_amount_out(a, token_in) <= pool.get_amount_out(b, token_in)


@given(v2_pools(), st.sampled_from([0, 1]), st.integers(1, 10**31))
def test_round_trip_never_profits(pool, token_in, a):
    """A→B then B→A never returns more than was put in."""
    try:
        out = pool.swap(a, token_in)
        back = pool.swap(out, 1 - token_in)
    except PoolRevertError:
        assume(False)
    assert back <= a


# --- reverts ----------------------------------------------------------------------------------


def test_library_reverts():
    """Zero amounts, zero reserves and amount_out >= reserve revert as the library does."""
    with pytest.raises(PoolRevertError, match="PancakeLibrary: INSUFFICIENT_INPUT_AMOUNT"):
        get_amount_out(0, 10, 10)
    with pytest.raises(PoolRevertError, match="PancakeLibrary: INSUFFICIENT_LIQUIDITY"):
        get_amount_out(1, 0, 10)
    with pytest.raises(PoolRevertError, match="PancakeLibrary: INSUFFICIENT_OUTPUT_AMOUNT"):
        get_amount_in(0, 10, 10)
    with pytest.raises(PoolRevertError, match="PancakeLibrary: INSUFFICIENT_LIQUIDITY"):
        get_amount_in(1, 10, 0)
    pool = PancakeV2Pool(10**18, 10**18)
    with pytest.raises(PoolRevertError) as info:
        pool.get_amount_in(10**18, 1)
    assert info.value.reason == PANIC_DIVISION_BY_ZERO
    with pytest.raises(PoolRevertError) as info:
        pool.get_amount_in(10**18 + 1, 0)
    assert info.value.reason == "ds-math-sub-underflow"
    with pytest.raises(PoolRevertError, match="ds-math-mul-overflow"):
        get_amount_out(2**250, 10, 10)
    with pytest.raises(PoolRevertError, match="INSUFFICIENT_INPUT_AMOUNT"):
        pool.swap(0, 0)


def test_pair_reverts():
    """PancakePair.swap: no output, output >= reserve, no input, K and uint112 overflow revert, state unchanged."""
    pool = PancakeV2Pool(5 * E18, 10 * E18)
    for args, reason in [
        ((0, 0, E18, 0), "Pancake: INSUFFICIENT_OUTPUT_AMOUNT"),
        ((5 * E18, 0, 0, E18), "Pancake: INSUFFICIENT_LIQUIDITY"),
        ((0, 1, 0, 0), "Pancake: INSUFFICIENT_INPUT_AMOUNT"),
        ((0, E18, 1, 0), "Pancake: K"),
        ((0, 1, UINT112_MAX, 0), "Pancake: OVERFLOW"),
    ]:
        with pytest.raises(PoolRevertError) as info:
            pool.pair_swap(*args)
        assert info.value.reason == reason
        assert (pool.reserve0, pool.reserve1) == (5 * E18, 10 * E18)


def test_router_slippage_limits():
    """min_amount_out / max_amount_in revert with the router's reasons."""
    pool = PancakeV2Pool(5 * E18, 10 * E18, fee_bps=30)
    with pytest.raises(PoolRevertError, match="PancakeRouter: INSUFFICIENT_OUTPUT_AMOUNT"):
        pool.swap(E18, 0, min_amount_out=1662497915624478907)
    need = pool.get_amount_in(E18, 1)
    with pytest.raises(PoolRevertError, match="PancakeRouter: EXCESSIVE_INPUT_AMOUNT"):
        pool.swap_for_exact(E18, 1, max_amount_in=need - 1)
    assert pool.swap_for_exact(E18, 1, max_amount_in=need) == need
    assert (pool.reserve0, pool.reserve1) == (5 * E18 + need, 9 * E18)


# --- multi-hop --------------------------------------------------------------------------------


def test_multi_hop_amounts():
    """getAmountsOut chains hop by hop (each hop charges its own fee); getAmountsIn runs backwards."""
    p1 = PancakeV2Pool(10**21, 2 * 10**21)
    p2 = PancakeV2Pool(10**21, 3 * 10**21, fee_bps=30)  # token1 of p2 is the hop's input
    amounts = get_amounts_out(10**18, [p1, p2], [0, 1])
    hop1 = p1.get_amount_out(10**18, 0)
    assert amounts == [10**18, hop1, p2.get_amount_out(hop1, 1)]
    back = get_amounts_in(amounts[-1], [p1, p2], [0, 1])
    assert back[-1] == amounts[-1]
    assert back[0] <= 10**18
    assert get_amounts_out(back[0], [p1, p2], [0, 1])[-1] >= amounts[-1]
    # Aerodrome pools chain the same way (Router.getAmountsOut)
    aero = AerodromePool(10**21, 10**21, 18, 18, stable=False, fee_bps=30)
    mixed = get_amounts_out(10**18, [p1, aero], [0, 0])
    assert mixed[2] == aero.get_amount_out(mixed[1], 0)


@given(st.lists(v2_pools(), min_size=1, max_size=4), st.integers(1, 10**24), st.data())
def test_multi_hop_round_relations(path, x, data):
    """Along any path, get_amounts_in for the final output of get_amounts_out needs, hop by hop, at
    most the forward amounts (+1 where getAmountIn's rounding is exact), and feeding its first
    amount forward yields at least that output."""
    tokens = data.draw(st.lists(st.sampled_from([0, 1]), min_size=len(path), max_size=len(path)))
    try:
        amounts = get_amounts_out(x, path, tokens)
        back = get_amounts_in(amounts[-1], path, tokens)
    except PoolRevertError as e:  # an intermediate hop rounded to 0 or the path cannot deliver
        assert "INSUFFICIENT" in e.reason or e.reason in ("ds-math-sub-underflow", PANIC_DIVISION_BY_ZERO)
        assume(False)
    for pool, t, a_in, a_out in zip(path, tokens, amounts, amounts[1:], strict=False):
        assert pool.get_amount_in(a_out, 1 - t) <= a_in + 1
    assert back[-1] == amounts[-1]
    assert get_amounts_out(back[0], path, tokens)[-1] >= amounts[-1]


def test_multi_hop_bad_paths():
    """An empty path reverts INVALID_PATH; tokens_in must have one entry per pool."""
    with pytest.raises(PoolRevertError, match="INVALID_PATH"):
        get_amounts_out(10, [], [])
    with pytest.raises(PoolRevertError, match="INVALID_PATH"):
        get_amounts_in(10, [], [])
    with pytest.raises(PoolParameterError, match="tokens_in"):
        get_amounts_out(10, [PancakeV2Pool(10**18, 10**18)], [0, 1])


# --- bad parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((0, 10**18), {}, "reserve0"),
        ((10**18, 0), {}, "reserve1"),
        ((-1, 10**18), {}, "reserve0"),
        ((10**18, UINT112_MAX + 1), {}, "reserve1"),
        ((10**18, 10**18, -1), {}, "fee_bps"),
        ((10**18, 10**18, 10000), {}, "fee_bps"),
        ((10**18, 10**18, 25), {"decimals0": -1}, "decimals0"),
    ],
)
def test_bad_pool_parameters_rejected(args, kwargs, name):
    """Zero/negative/oversized reserves, fee >= 100 % and bad decimals raise a ValueError naming the parameter."""
    with pytest.raises(ValueError, match=name) as info:
        PancakeV2Pool(*args, **kwargs)
    assert isinstance(info.value, PoolParameterError)


def test_bad_call_arguments_rejected():
    """token_in / token_out other than 0/1 and negative amounts are rejected."""
    pool = PancakeV2Pool(10**18, 10**18)
    with pytest.raises(ValueError, match="token_in"):
        pool.get_amount_out(10, 2)
    with pytest.raises(ValueError, match="token_out"):
        pool.get_amount_in(10, -1)
    with pytest.raises(ValueError, match="amount_in"):
        pool.get_amount_out(-10, 0)
    with pytest.raises(ValueError, match="fee_bps"):
        get_amount_out(1, 10, 10, fee_bps=10000)


def test_spot_price_and_copy():
    """spot_price is token1 per token0 in human units; copy() is independent."""
    pool = PancakeV2Pool(2 * 10**6, 10**18, decimals0=6, decimals1=18)
    assert pool.spot_price == pytest.approx(0.5)
    twin = pool.copy()
    twin.swap(10**5, 0)
    assert pool.reserve0 == 2 * 10**6 and twin != pool
