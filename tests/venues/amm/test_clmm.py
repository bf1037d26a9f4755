"""ConcentratedPool and the Uniswap v3 integer math: constants, round trips, swap invariants, reverts."""

from __future__ import annotations

from decimal import Decimal, getcontext

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from venues.amm import _v3math as m
from venues.amm._v3math import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, Q96
from venues.amm.clmm import ConcentratedPool, max_liquidity_per_tick

TS = 10
FEE = 500
ticks_st = st.integers(MIN_TICK, MAX_TICK)
LIMIT_DOWN, LIMIT_UP = m.get_sqrt_ratio_at_tick(-20_000), m.get_sqrt_ratio_at_tick(20_000)


# ---------------------------------------------------------------- TickMath
def test_known_constants():
    """MIN/MAX_SQRT_RATIO are the ratios at MIN/MAX_TICK; tick 0 is exactly 2**96."""
    assert m.get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO == 4295128739
    assert m.get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert m.get_sqrt_ratio_at_tick(0) == Q96 == 2**96
    assert m.get_tick_at_sqrt_ratio(MIN_SQRT_RATIO) == MIN_TICK
    assert m.get_tick_at_sqrt_ratio(MAX_SQRT_RATIO - 1) == MAX_TICK - 1
    assert m.get_tick_at_sqrt_ratio(Q96) == 0
    # pool 0x88e6 (USDC/WETH 0.05 %) first recorded swap of 2024-01-05: tick 199045
    assert m.get_tick_at_sqrt_ratio(1662995104975155420368771254341874) == 199045


def test_tick_math_reverts():
    """Ticks beyond ±887272 revert "T"; prices outside [MIN, MAX) revert "R"."""
    for bad in (MIN_TICK - 1, MAX_TICK + 1):
        with pytest.raises(ValueError, match="reverted: T$"):
            m.get_sqrt_ratio_at_tick(bad)
    for bad in (MIN_SQRT_RATIO - 1, MAX_SQRT_RATIO, 0):
        with pytest.raises(ValueError, match="reverted: R$"):
            m.get_tick_at_sqrt_ratio(bad)


@pytest.mark.parametrize("tick", [-887272, -500000, -199045, -1, 1, 10, 199045, 500000, 887272])
def test_sqrt_ratio_matches_high_precision(tick):
    """getSqrtRatioAtTick agrees with sqrt(1.0001**tick) * 2**96 (checks the magic constants).

    Within one Q64.96 unit or 1e-19 relative: the contract truncates 20 Q128.128 products and,
    for positive ticks, inverts the result, which loses bits at the extremes.
    """
    getcontext().prec = 80
    exact = Decimal("1.0001") ** (Decimal(tick) / 2) * Decimal(2**96)
    got = Decimal(m.get_sqrt_ratio_at_tick(tick))
    assert abs(got - exact) <= 1 or abs(got - exact) / exact < Decimal("1e-19")


@given(ticks_st)
def test_tick_round_trip(tick):
    """getTickAtSqrtRatio(getSqrtRatioAtTick(t)) == t (for t < MAX_TICK)."""
    assume(tick < MAX_TICK)
    assert m.get_tick_at_sqrt_ratio(m.get_sqrt_ratio_at_tick(tick)) == tick


@given(st.integers(MIN_TICK, MAX_TICK - 1))
def test_sqrt_ratio_strictly_increasing(tick):
    """getSqrtRatioAtTick is strictly increasing."""
    assert m.get_sqrt_ratio_at_tick(tick) < m.get_sqrt_ratio_at_tick(tick + 1)


@given(st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1))
def test_tick_at_sqrt_ratio_is_greatest_tick_below(price):
    """getTickAtSqrtRatio returns the greatest t with ratio(t) <= price."""
    t = m.get_tick_at_sqrt_ratio(price)
    assert m.get_sqrt_ratio_at_tick(t) <= price
    if t < MAX_TICK:
        assert m.get_sqrt_ratio_at_tick(t + 1) > price


# ---------------------------------------------------------------- FullMath / SqrtPriceMath
@given(st.integers(0, 2**256 - 1), st.integers(0, 2**256 - 1), st.integers(1, 2**256 - 1))
def test_mul_div_exact(a, b, d):
    """mulDiv is floor(a*b/d) and mulDivRoundingUp its ceiling, or both revert on overflow."""
    q, r = divmod(a * b, d)
    if q >= 2**256:
        with pytest.raises(ValueError):
            m.mul_div(a, b, d)
        return
    assert m.mul_div(a, b, d) == q
    if q + (r > 0) < 2**256:
        assert m.mul_div_rounding_up(a, b, d) == q + (r > 0)


@given(
    st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1),
    st.integers(1, 2**128 - 1),
    st.integers(1, 2**100),
    st.booleans(),
)
def test_next_price_from_input_rounds_towards_start(price, liquidity, amount, zero_for_one):
    """The next price never overshoots: the input needed to reach it is <= the amount given."""
    try:
        nxt = m.get_next_sqrt_price_from_input(price, liquidity, amount, zero_for_one)
    except ValueError:
        return
    assume(MIN_SQRT_RATIO <= nxt <= MAX_SQRT_RATIO)
    if zero_for_one:
        assert nxt <= price
        assert m.get_amount0_delta(nxt, price, liquidity, True) <= amount or nxt == price
    else:
        assert nxt >= price
        assert m.get_amount1_delta(price, nxt, liquidity, True) <= amount


# ---------------------------------------------------------------- pool
def _pool_with_positions(positions, tick0=0):
    pool = ConcentratedPool(m.get_sqrt_ratio_at_tick(tick0), 0, tick0, FEE, TS)
    for lo, hi, liq in positions:
        pool.mint(lo, hi, liq)
    return pool


positions_st = st.lists(
    st.tuples(st.integers(-300, 300), st.integers(1, 60), st.integers(10**15, 10**22)).map(
        lambda x: (x[0] * TS, (x[0] + x[1]) * TS, x[2])
    ),
    min_size=1,
    max_size=8,
)


def _in_range_liquidity(positions, tick):
    return sum(liq for lo, hi, liq in positions if lo <= tick < hi)


@given(positions_st, st.lists(st.tuples(st.booleans(), st.integers(1, 10**21), st.booleans()), max_size=6))
def test_swap_invariants(positions, swaps):
    """Price moves in the swap direction; liquidity always equals the positions in range.

    The second property means every tick crossed applied its ``liquidityNet`` exactly once
    (and with the right sign), in both directions, over a sequence of swaps.
    """
    pool = _pool_with_positions(positions)
    assert pool.liquidity == _in_range_liquidity(positions, pool.tick)
    for zero_for_one, amount, exact_in in swaps:
        before = pool.copy()
        spec = amount if exact_in else -amount
        limit = LIMIT_DOWN if zero_for_one else LIMIT_UP
        if (pool.sqrt_price_x96 <= limit) if zero_for_one else (pool.sqrt_price_x96 >= limit):
            continue
        try:
            a0, a1 = pool.swap(spec, zero_for_one, limit)
        except ValueError:  # an exact output larger than the pool can pay
            assert not exact_in
            assert (pool.sqrt_price_x96, pool.liquidity, pool.tick) == (
                before.sqrt_price_x96,
                before.liquidity,
                before.tick,
            )
            continue
        if zero_for_one:
            assert pool.sqrt_price_x96 <= before.sqrt_price_x96
            assert a0 >= 0 >= a1
        else:
            assert pool.sqrt_price_x96 >= before.sqrt_price_x96
            assert a1 >= 0 >= a0
        if exact_in:
            assert (a0 if zero_for_one else a1) <= amount
        else:
            assert -(a1 if zero_for_one else a0) <= amount
        assert pool.tick == m.get_tick_at_sqrt_ratio(pool.sqrt_price_x96) or (
            zero_for_one and m.get_sqrt_ratio_at_tick(pool.tick + 1) == pool.sqrt_price_x96
        )
        assert pool.liquidity == _in_range_liquidity(positions, pool.tick)


@given(positions_st, st.booleans(), st.integers(1, 10**20))
def test_liquidity_unchanged_within_range(positions, zero_for_one, amount):
    """A swap that crosses no initialized tick leaves the in-range liquidity unchanged."""
    pool = _pool_with_positions(positions)
    before = pool.copy()
    pool.swap(amount, zero_for_one)
    lo, hi = sorted((before.tick, pool.tick))
    crossed = [t for t in pool.ticks if lo < t <= hi or (zero_for_one and t == before.tick)]
    if not crossed:
        assert pool.liquidity == before.liquidity


@given(positions_st, st.booleans(), st.integers(1, 10**20))
def test_quote_equals_swap_and_is_pure(positions, zero_for_one, amount):
    """quote returns what swap returns and leaves the pool unchanged."""
    pool = _pool_with_positions(positions)
    snap = (pool.sqrt_price_x96, pool.liquidity, pool.tick, dict(pool.ticks))
    q = pool.quote(amount, zero_for_one)
    assert snap == (pool.sqrt_price_x96, pool.liquidity, pool.tick, dict(pool.ticks))
    assert pool.swap(amount, zero_for_one) == q


@given(positions_st, st.booleans(), st.integers(1000, 10**20))
def test_round_trip_never_profits(positions, zero_for_one, amount):
    """Swapping in and then swapping the whole output back never returns more than was put in."""
    pool = _pool_with_positions(positions)
    a0, a1 = pool.swap(amount, zero_for_one)
    out = -(a1 if zero_for_one else a0)
    assume(out > 0)
    b0, b1 = pool.swap(out, not zero_for_one)
    back = -(b0 if zero_for_one else b1)
    assert back <= amount


@given(positions_st, st.booleans(), st.integers(1, 10**18))
def test_exact_output_pays_exactly(positions, zero_for_one, amount):
    """An exact-output swap that the pool can fill pays exactly the requested amount."""
    pool = _pool_with_positions(positions)
    try:
        a0, a1 = pool.swap(-amount, zero_for_one)
    except ValueError:
        return
    paid = -(a1 if zero_for_one else a0)
    assert paid == amount or pool.sqrt_price_x96 in (MIN_SQRT_RATIO + 1, MAX_SQRT_RATIO - 1)


def test_crossing_applies_liquidity_net_once_each_way():
    """Swapping across one position's lower tick and back restores the liquidity exactly."""
    pool = _pool_with_positions([(-100, 100, 10**18), (0, 200, 3 * 10**18)])
    assert pool.liquidity == 4 * 10**18 and pool.ticks[0] == 3 * 10**18
    pool.swap(10**15, zero_for_one=True)  # down through tick 0 (about 20 ticks)
    assert -100 < pool.tick < 0 and pool.liquidity == 10**18
    pool.swap(2 * 10**15, zero_for_one=False)  # back up through 0
    assert pool.tick >= 0 and pool.liquidity == 4 * 10**18


def test_price_limit_stops_swap():
    """A swap stops exactly at its price limit and consumes only what reaching it costs."""
    pool = _pool_with_positions([(-1000, 1000, 10**20)])
    limit = m.get_sqrt_ratio_at_tick(-50) + 12345
    a0, a1 = pool.swap(10**30, zero_for_one=True, sqrt_price_limit_x96=limit)
    assert pool.sqrt_price_x96 == limit and a0 < 10**30


def test_mint_burn_round_trip():
    """Burning what was minted clears the ticks and returns no more than was paid."""
    pool = _pool_with_positions([(-600, 600, 10**20)])
    m0, m1 = pool.mint(-20, 40, 10**18)
    assert pool.ticks[-20] == 10**18 and pool.ticks[40] == -(10**18)
    b0, b1 = pool.burn(-20, 40, 10**18)
    assert -20 not in pool.ticks and 40 not in pool.ticks
    assert 0 <= b0 <= m0 and 0 <= b1 <= m1 and m0 - b0 <= 1 and m1 - b1 <= 1
    assert pool.liquidity == 10**20


def test_copy_is_independent():
    """copy() shares no mutable state."""
    pool = _pool_with_positions([(-600, 600, 10**20)])
    c = pool.copy()
    c.swap(10**18, True)
    c.mint(-10, 10, 5)
    assert pool.sqrt_price_x96 != c.sqrt_price_x96 and -10 not in pool.ticks
    assert pool.price == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda p: p.swap(0, True), "AS"),
        (lambda p: p.swap(1, True, p.sqrt_price_x96), "SPL"),
        (lambda p: p.swap(1, False, p.sqrt_price_x96 - 1), "SPL"),
        (lambda p: p.swap(1, True, MIN_SQRT_RATIO), "SPL"),
        (lambda p: p.swap(1, False, MAX_SQRT_RATIO), "SPL"),
        (lambda p: p.mint(10, 10, 1), "TLU"),
        (lambda p: p.mint(-887280, 0, 1), "TLM"),
        (lambda p: p.mint(0, 887280, 1), "TUM"),
        (lambda p: p.mint(0, 15, 1), "tick_spacing"),
        (lambda p: p.mint(0, 10, 0), "liquidity must be > 0"),
        (lambda p: p.burn(-100, 100, 10**30), "LS"),
        (lambda p: p.mint(0, 10, max_liquidity_per_tick(TS) + 1), "LO"),
    ],
)
def test_reverts_with_contract_reason(call, reason):
    """Bad calls raise ValueError carrying the contract's revert reason and leave state unchanged."""
    pool = _pool_with_positions([(-100, 100, 10**18)])
    snap = (pool.sqrt_price_x96, pool.liquidity, pool.tick, dict(pool.ticks))
    with pytest.raises(ValueError, match=reason):
        call(pool)
    assert snap == (pool.sqrt_price_x96, pool.liquidity, pool.tick, dict(pool.ticks))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sqrt_price_x96": MIN_SQRT_RATIO - 1}, "R"),
        ({"sqrt_price_x96": MAX_SQRT_RATIO}, "R"),
        ({"fee_pips": 1_000_000}, "fee_pips"),
        ({"fee_pips": -1}, "fee_pips"),
        ({"tick_spacing": 0}, "tick_spacing"),
        ({"liquidity": -1}, "uint128"),
        ({"tick": 5}, "does not match"),
        ({"ticks": {15: 1}}, "multiple of tick_spacing"),
    ],
)
def test_bad_pool_parameters_rejected(kwargs, match):
    """Out-of-range price, fee >= 100 %, bad spacing/liquidity/tick/tick map raise ValueError."""
    args = {"sqrt_price_x96": Q96, "liquidity": 10**18, "tick": 0, "fee_pips": FEE, "tick_spacing": TS}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ConcentratedPool(**args)


def test_word_boundary_splits_step_like_the_contract():
    """With no initialized tick the swap still stops at bitmap-word boundaries (2560 ticks at spacing 10).

    Splitting changes rounding, so the result differs from a single-step computation in
    general; here the path must equal the explicit two-step SwapMath composition.
    """
    pool = ConcentratedPool(m.get_sqrt_ratio_at_tick(100), 10**18, 100, FEE, TS)
    amount = 10**16  # ends near tick -200
    a0, a1 = pool.quote(amount, zero_for_one=True)
    boundary = m.get_sqrt_ratio_at_tick(0)  # compressed 10 -> word 0 starts at tick 0
    p1, ain, aout, fee = m.compute_swap_step(m.get_sqrt_ratio_at_tick(100), boundary, 10**18, amount, FEE)
    assert p1 == boundary
    rest = amount - ain - fee
    p2, ain2, aout2, fee2 = m.compute_swap_step(p1, m.get_sqrt_ratio_at_tick(-2560), 10**18, rest, FEE)
    assert (a0, a1) == (amount, -(aout + aout2))
