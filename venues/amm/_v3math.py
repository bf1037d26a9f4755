"""Uniswap v3 core integer math in Python ints: TickMath, FullMath, SqrtPriceMath, SwapMath.

Every function reproduces the Solidity library function it is named after, bit for bit, on
the contract's domain (uint256 / uint160 / uint128 / int24 values held in Python ints):
same rounding direction, same overflow fallbacks (``SqrtPriceMath`` takes a different
rounding path when a uint256 product would overflow, and so does this module), and the same
``require`` failures, raised as :class:`ValueError` (the named reverts as its subclass
:class:`~venues.amm.errors.PoolRevertError`) carrying the contract's revert reason
where it has one (``"T"``, ``"R"``) and a short description otherwise.

The pool state machine (ticks, tick crossing, the swap loop) is not here; it lives in
:mod:`venues.amm.clmm`. There is no float code here either.

Names follow the contracts: ``sqrt_price_x96`` is a Q64.96 square root of token1/token0,
``liquidity`` is uint128, ``fee_pips`` is the fee in hundredths of a basis point (1e-6).

References
----------
Uniswap v3 core, https://github.com/Uniswap/v3-core (commit of the 1.0.0 release):
``contracts/libraries/TickMath.sol``, ``FullMath.sol``, ``UnsafeMath.sol``,
``SqrtPriceMath.sol``, ``SwapMath.sol``, ``LiquidityMath.sol``, ``TickBitmap.sol``.
Adams, Zinsmeister, Salem, Keefer, Robinson (2021), "Uniswap v3 Core" (whitepaper), §6.

See Also
--------
venues.amm.clmm : the concentrated-liquidity pool built on these functions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from venues.amm.errors import PoolRevertError

__all__ = [
    "MAX_SQRT_RATIO",
    "MAX_TICK",
    "MIN_SQRT_RATIO",
    "MIN_TICK",
    "Q96",
    "add_delta",
    "compute_swap_step",
    "get_amount0_delta",
    "get_amount0_delta_signed",
    "get_amount1_delta",
    "get_amount1_delta_signed",
    "get_next_sqrt_price_from_amount0_rounding_up",
    "get_next_sqrt_price_from_amount1_rounding_down",
    "get_next_sqrt_price_from_input",
    "get_next_sqrt_price_from_output",
    "get_sqrt_ratio_at_tick",
    "get_tick_at_sqrt_ratio",
    "mul_div",
    "mul_div_rounding_up",
    "next_initialized_tick_within_one_word",
]

MIN_TICK = -887272
"""``TickMath.MIN_TICK``: log base 1.0001 of 2**-128, rounded towards zero."""
MAX_TICK = 887272
"""``TickMath.MAX_TICK`` = ``-MIN_TICK``."""
MIN_SQRT_RATIO = 4295128739
"""``TickMath.MIN_SQRT_RATIO`` = ``get_sqrt_ratio_at_tick(MIN_TICK)``."""
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
"""``TickMath.MAX_SQRT_RATIO`` = ``get_sqrt_ratio_at_tick(MAX_TICK)``."""
Q96 = 1 << 96
"""``FixedPoint96.Q96``."""

_UINT256 = 1 << 256
_UINT160_MAX = (1 << 160) - 1
_UINT128_MAX = (1 << 128) - 1
_INT256_MAX = (1 << 255) - 1

# sqrt(1.0001) ** -(2**i) in Q128.128, for i = 0..19 (TickMath.getSqrtRatioAtTick).
_TICK_FACTORS = (
    0xFFFCB933BD6FAD37AA2D162D1A594001,
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
)


def get_sqrt_ratio_at_tick(tick: int) -> int:
    """Return sqrt(1.0001**tick) * 2**96 as the contract computes it (``TickMath.getSqrtRatioAtTick``).

    Parameters
    ----------
    tick : int
        int24 tick, in ``[MIN_TICK, MAX_TICK]``.

    Returns
    -------
    int
        uint160 Q64.96 sqrt price, rounded up from the Q128.128 intermediate.

    Raises
    ------
    ValueError
        ``"T"`` if ``|tick| > MAX_TICK``.

    Notes
    -----
    Multiplies together the precomputed Q128.128 factors sqrt(1.0001)**-(2**i) of the set
    bits of ``|tick|`` (each product shifted right by 128, i.e. truncated), inverts the
    result for positive ticks (``uint256.max // ratio``) and converts Q128.128 → Q64.96
    rounding up.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/TickMath.sol``, ``getSqrtRatioAtTick``.

    Examples
    --------
    >>> get_sqrt_ratio_at_tick(0) == 2**96
    True
    """
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        raise PoolRevertError("T", "TickMath.getSqrtRatioAtTick")
    ratio = _TICK_FACTORS[0] if abs_tick & 1 else 1 << 128
    for i in range(1, 20):
        if abs_tick & (1 << i):
            ratio = (ratio * _TICK_FACTORS[i]) >> 128
    if tick > 0:
        ratio = (_UINT256 - 1) // ratio
    return (ratio >> 32) + (1 if ratio & 0xFFFFFFFF else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Greatest tick with ``get_sqrt_ratio_at_tick(tick) <= sqrt_price_x96`` (``TickMath.getTickAtSqrtRatio``).

    Parameters
    ----------
    sqrt_price_x96 : int
        uint160 Q64.96 sqrt price in ``[MIN_SQRT_RATIO, MAX_SQRT_RATIO)``.

    Returns
    -------
    int
        int24 tick.

    Raises
    ------
    ValueError
        ``"R"`` if the price is outside ``[MIN_SQRT_RATIO, MAX_SQRT_RATIO)``.

    Notes
    -----
    The contract's algorithm: the most significant bit of the Q128.128 ratio gives the
    integer part of log2; 14 rounds of squaring give the fractional bits (Q64.64); the
    product with 255738958999603826347141 converts log2 to log base sqrt(1.0001) in
    Q128.128; two magic offsets bound the approximation error, and when the two candidate
    ticks differ the upper one is checked with ``get_sqrt_ratio_at_tick``. Python's ``>>`` on
    negative ints floors, like Solidity's arithmetic shift of int256.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/TickMath.sol``, ``getTickAtSqrtRatio``.

    Examples
    --------
    >>> get_tick_at_sqrt_ratio(2**96)
    0
    """
    if not (MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO):
        raise PoolRevertError("R", "TickMath.getTickAtSqrtRatio")
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)
    log_2 = (msb - 128) << 64
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f
    log_sqrt10001 = log_2 * 255738958999603826347141
    tick_low = (log_sqrt10001 - 3402992956809132418596140100660247210) >> 128
    tick_hi = (log_sqrt10001 + 291339464771989622907027621153398088495) >> 128
    if tick_low == tick_hi:
        return tick_low
    return tick_hi if get_sqrt_ratio_at_tick(tick_hi) <= sqrt_price_x96 else tick_low


def mul_div(a: int, b: int, denominator: int) -> int:
    """Return floor(a * b / denominator) with a full 512-bit product (``FullMath.mulDiv``).

    Parameters
    ----------
    a, b : int
        uint256 factors.
    denominator : int
        uint256 divisor, > 0.

    Returns
    -------
    int
        uint256 quotient.

    Raises
    ------
    ValueError
        If ``denominator == 0`` or the result does not fit in uint256.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/FullMath.sol``, ``mulDiv`` (Remco Bloemen's
    512-bit division); Python ints make the exact quotient direct.

    Examples
    --------
    >>> mul_div(2**255, 4, 8) == 2**254  # the 2**257 product does not overflow
    True
    """
    if denominator <= 0:
        raise ValueError("FullMath.mulDiv: denominator is zero")
    q = (a * b) // denominator
    if q >= _UINT256:
        raise ValueError("FullMath.mulDiv: result overflows uint256")
    return q


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """Return ceil(a * b / denominator) (``FullMath.mulDivRoundingUp``).

    Parameters
    ----------
    a, b : int
        uint256 factors.
    denominator : int
        uint256 divisor, > 0.

    Returns
    -------
    int
        uint256 quotient, rounded up.

    Raises
    ------
    ValueError
        If ``denominator == 0`` or the result does not fit in uint256.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/FullMath.sol``, ``mulDivRoundingUp``.

    Examples
    --------
    >>> mul_div_rounding_up(7, 3, 2)
    11
    """
    q = mul_div(a, b, denominator)
    if (a * b) % denominator:
        if q >= _UINT256 - 1:
            raise ValueError("FullMath.mulDivRoundingUp: result overflows uint256")
        q += 1
    return q


def _div_rounding_up(x: int, y: int) -> int:
    """``UnsafeMath.divRoundingUp``: ceil(x / y) (y > 0 is the caller's duty)."""
    return -(-x // y)


def _to_uint160(x: int) -> int:
    """``SafeCast.toUint160``."""
    if x > _UINT160_MAX:
        raise ValueError("SafeCast.toUint160: overflow")
    return x


def get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96: int, liquidity: int, amount: int, add: bool) -> int:
    """Next sqrt price after adding/removing token0 (``SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp``).

    Parameters
    ----------
    sqrt_price_x96 : int
        uint160 starting price, > 0.
    liquidity : int
        uint128 in-range liquidity, > 0.
    amount : int
        uint256 amount of token0 (raw units).
    add : bool
        True: token0 enters the pool (price falls); False: token0 leaves (price rises).

    Returns
    -------
    int
        uint160 price, rounded up (so the price never moves too far for the amount).

    Raises
    ------
    ValueError
        When removing more token0 than the range holds (contract's bare ``require``), or on
        uint160 overflow.

    Notes
    -----
    ``L * 2**96 * sqrtP / (L * 2**96 ± amount * sqrtP)`` rounded up; when adding and the
    uint256 product or denominator would overflow, the contract falls back to
    ``divRoundingUp(L * 2**96, L * 2**96 / sqrtP + amount)``, which rounds differently;
    this function does the same.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``.
    """
    if amount == 0:
        return sqrt_price_x96
    numerator1 = liquidity << 96
    product = amount * sqrt_price_x96
    if add:
        if product < _UINT256:
            denominator = numerator1 + product
            if denominator < _UINT256:
                return mul_div_rounding_up(numerator1, sqrt_price_x96, denominator)
        return _div_rounding_up(numerator1, numerator1 // sqrt_price_x96 + amount)
    if not (product < _UINT256 and numerator1 > product):
        raise ValueError("SqrtPriceMath: token0 output exceeds the range's reserves")
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_price_x96, numerator1 - product))


def get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96: int, liquidity: int, amount: int, add: bool) -> int:
    """Next sqrt price after adding/removing token1 (``SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown``).

    Parameters
    ----------
    sqrt_price_x96 : int
        uint160 starting price.
    liquidity : int
        uint128 in-range liquidity, > 0.
    amount : int
        uint256 amount of token1 (raw units).
    add : bool
        True: token1 enters the pool (price rises); False: token1 leaves (price falls).

    Returns
    -------
    int
        uint160 price, rounded down.

    Raises
    ------
    ValueError
        When removing at least the token1 the range holds, or on uint160 overflow.

    Notes
    -----
    ``sqrtP ± amount * 2**96 / L``: the quotient is floored when adding and rounded up when
    removing (both branches of the contract — shift or ``mulDiv`` — give the same exact
    quotient).

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``.
    """
    if add:
        return _to_uint160(sqrt_price_x96 + (amount << 96) // liquidity)
    quotient = _div_rounding_up(amount << 96, liquidity)
    if not sqrt_price_x96 > quotient:
        raise ValueError("SqrtPriceMath: token1 output exceeds the range's reserves")
    return sqrt_price_x96 - quotient


def get_next_sqrt_price_from_input(sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    """Next sqrt price after ``amount_in`` enters the pool (``SqrtPriceMath.getNextSqrtPriceFromInput``).

    Parameters
    ----------
    sqrt_price_x96 : int
        uint160 starting price, > 0.
    liquidity : int
        uint128 in-range liquidity, > 0.
    amount_in : int
        uint256 input (token0 if ``zero_for_one`` else token1), fee already removed.
    zero_for_one : bool
        Direction: token0 in (price falls) or token1 in (price rises).

    Returns
    -------
    int
        uint160 price, rounded so the target is never overshot.

    Raises
    ------
    ValueError
        If ``sqrt_price_x96 == 0`` or ``liquidity == 0``.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``, ``getNextSqrtPriceFromInput``.
    """
    if sqrt_price_x96 <= 0 or liquidity <= 0:
        raise ValueError("SqrtPriceMath.getNextSqrtPriceFromInput: zero price or liquidity")
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    """Next sqrt price after ``amount_out`` leaves the pool (``SqrtPriceMath.getNextSqrtPriceFromOutput``).

    Parameters
    ----------
    sqrt_price_x96 : int
        uint160 starting price, > 0.
    liquidity : int
        uint128 in-range liquidity, > 0.
    amount_out : int
        uint256 output (token1 if ``zero_for_one`` else token0).
    zero_for_one : bool
        Direction of the swap.

    Returns
    -------
    int
        uint160 price, rounded so the target is passed.

    Raises
    ------
    ValueError
        If ``sqrt_price_x96 == 0``, ``liquidity == 0``, or the output exceeds the reserves.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``, ``getNextSqrtPriceFromOutput``.
    """
    if sqrt_price_x96 <= 0 or liquidity <= 0:
        raise ValueError("SqrtPriceMath.getNextSqrtPriceFromOutput: zero price or liquidity")
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_out, False)
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, False)


def get_amount0_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two prices for ``liquidity`` (``SqrtPriceMath.getAmount0Delta``, unsigned).

    Parameters
    ----------
    sqrt_ratio_a_x96, sqrt_ratio_b_x96 : int
        uint160 prices, either order.
    liquidity : int
        uint128 liquidity.
    round_up : bool
        Round up (amounts owed to the pool) or down (amounts paid by it).

    Returns
    -------
    int
        uint256 ``L * 2**96 * (sqrtB - sqrtA) / sqrtB / sqrtA``.

    Raises
    ------
    ValueError
        If the lower price is 0.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``, ``getAmount0Delta``.
    """
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    if sqrt_ratio_a_x96 <= 0:
        raise ValueError("SqrtPriceMath.getAmount0Delta: zero price")
    numerator1 = liquidity << 96
    numerator2 = sqrt_ratio_b_x96 - sqrt_ratio_a_x96
    if round_up:
        return _div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_ratio_b_x96), sqrt_ratio_a_x96)
    return mul_div(numerator1, numerator2, sqrt_ratio_b_x96) // sqrt_ratio_a_x96


def get_amount1_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two prices for ``liquidity`` (``SqrtPriceMath.getAmount1Delta``, unsigned).

    Parameters
    ----------
    sqrt_ratio_a_x96, sqrt_ratio_b_x96 : int
        uint160 prices, either order.
    liquidity : int
        uint128 liquidity.
    round_up : bool
        Round up or down.

    Returns
    -------
    int
        uint256 ``L * (sqrtB - sqrtA) / 2**96``.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``, ``getAmount1Delta``.
    """
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    diff = sqrt_ratio_b_x96 - sqrt_ratio_a_x96
    if round_up:
        return mul_div_rounding_up(liquidity, diff, Q96)
    return mul_div(liquidity, diff, Q96)


def get_amount0_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int) -> int:
    """Signed token0 delta for a signed liquidity change (``SqrtPriceMath.getAmount0Delta``, int128 overload).

    Parameters
    ----------
    sqrt_ratio_a_x96, sqrt_ratio_b_x96 : int
        uint160 prices.
    liquidity : int
        int128 liquidity change: > 0 added (amount rounded up, owed to the pool), < 0 removed
        (rounded down, paid by the pool, returned negative).

    Returns
    -------
    int
        int256 amount of token0.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``, ``getAmount0Delta`` (signed).
    """
    if liquidity < 0:
        return -get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity, False)
    return get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity, True)


def get_amount1_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int) -> int:
    """Signed token1 delta for a signed liquidity change (``SqrtPriceMath.getAmount1Delta``, int128 overload).

    Parameters
    ----------
    sqrt_ratio_a_x96, sqrt_ratio_b_x96 : int
        uint160 prices.
    liquidity : int
        int128 liquidity change (sign as in :func:`get_amount0_delta_signed`).

    Returns
    -------
    int
        int256 amount of token1.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SqrtPriceMath.sol``, ``getAmount1Delta`` (signed).
    """
    if liquidity < 0:
        return -get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity, False)
    return get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity, True)


def compute_swap_step(
    sqrt_ratio_current_x96: int,
    sqrt_ratio_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """One swap step within a range of constant liquidity (``SwapMath.computeSwapStep``).

    Parameters
    ----------
    sqrt_ratio_current_x96 : int
        uint160 current price.
    sqrt_ratio_target_x96 : int
        uint160 price the step may not pass (next tick or the limit); its side of the current
        price gives the direction (``zero_for_one = current >= target``).
    liquidity : int
        uint128 in-range liquidity.
    amount_remaining : int
        int256: > 0 exact input still to swap (fee included), < 0 exact output still wanted.
    fee_pips : int
        uint24 fee in hundredths of a bip (500 = 0.05 %), < 1e6.

    Returns
    -------
    sqrt_ratio_next_x96 : int
        Price after the step.
    amount_in : int
        Input consumed, fee excluded.
    amount_out : int
        Output produced.
    fee_amount : int
        Fee taken, in the input token.

    Notes
    -----
    Exact input: the fee is taken first, ``mulDiv(amount_remaining, 1e6 - fee, 1e6)``; if
    the step stops short of the target the whole rest of the remaining amount is the fee,
    otherwise ``fee = mulDivRoundingUp(amount_in, fee, 1e6 - fee)``. Exact output: the output
    is capped at what is wanted.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/SwapMath.sol``, ``computeSwapStep``.
    """
    zero_for_one = sqrt_ratio_current_x96 >= sqrt_ratio_target_x96
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0
    if exact_in:
        amount_remaining_less_fee = mul_div(amount_remaining, 1_000_000 - fee_pips, 1_000_000)
        if zero_for_one:
            amount_in = get_amount0_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, True)
        else:
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, True)
        if amount_remaining_less_fee >= amount_in:
            sqrt_ratio_next_x96 = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next_x96 = get_next_sqrt_price_from_input(
                sqrt_ratio_current_x96, liquidity, amount_remaining_less_fee, zero_for_one
            )
    else:
        if zero_for_one:
            amount_out = get_amount1_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, False)
        else:
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, False)
        if -amount_remaining >= amount_out:
            sqrt_ratio_next_x96 = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next_x96 = get_next_sqrt_price_from_output(
                sqrt_ratio_current_x96, liquidity, -amount_remaining, zero_for_one
            )
    is_max = sqrt_ratio_target_x96 == sqrt_ratio_next_x96
    if zero_for_one:
        if not (is_max and exact_in):
            amount_in = get_amount0_delta(sqrt_ratio_next_x96, sqrt_ratio_current_x96, liquidity, True)
        if not (is_max and not exact_in):
            amount_out = get_amount1_delta(sqrt_ratio_next_x96, sqrt_ratio_current_x96, liquidity, False)
    else:
        if not (is_max and exact_in):
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_next_x96, liquidity, True)
        if not (is_max and not exact_in):
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_next_x96, liquidity, False)
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining
    if exact_in and sqrt_ratio_next_x96 != sqrt_ratio_target_x96:
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, 1_000_000 - fee_pips)
    return sqrt_ratio_next_x96, amount_in, amount_out, fee_amount


def add_delta(x: int, y: int) -> int:
    """Add a signed liquidity delta to uint128 liquidity (``LiquidityMath.addDelta``).

    Parameters
    ----------
    x : int
        uint128 liquidity.
    y : int
        int128 delta.

    Returns
    -------
    int
        uint128 ``x + y``.

    Raises
    ------
    ValueError
        ``"LS"`` if the result would be negative, ``"LA"`` if it would overflow uint128.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/LiquidityMath.sol``, ``addDelta``.
    """
    z = x + y
    if z < 0:
        raise PoolRevertError("LS", "LiquidityMath.addDelta")
    if z > _UINT128_MAX:
        raise PoolRevertError("LA", "LiquidityMath.addDelta")
    return z


def next_initialized_tick_within_one_word(
    initialized: list[int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """Next initialized tick within the current 256-bit bitmap word (``TickBitmap.nextInitializedTickWithinOneWord``).

    Parameters
    ----------
    initialized : list of int
        The initialized ticks (multiples of ``tick_spacing``), sorted ascending.
    tick : int
        int24 starting tick.
    tick_spacing : int
        Pool tick spacing.
    lte : bool
        Search at or below ``tick`` (``zero_for_one``) or strictly above it.

    Returns
    -------
    tick_next : int
        The next initialized tick, or the last tick of the word when none is initialized there
        (the swap loop then steps to that word boundary; the boundary splits the swap step and
        so affects rounding, which is why it is reproduced).
    initialized : bool
        Whether ``tick_next`` is initialized.

    Notes
    -----
    ``compressed = floor(tick / tick_spacing)``; word = ``compressed >> 8``, bit =
    ``compressed % 256``. Searching down covers bits ``<= bit`` of the word; searching up
    starts at ``compressed + 1`` and covers the bits at or above it. A bisection of the sorted
    tick list replaces the bitmap's most/least-significant-bit search.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/TickBitmap.sol``, ``nextInitializedTickWithinOneWord``.
    """
    compressed = tick // tick_spacing
    if lte:
        word_start = (compressed - (compressed & 0xFF)) * tick_spacing
        i = bisect_right(initialized, compressed * tick_spacing) - 1
        if i >= 0 and initialized[i] >= word_start:
            return initialized[i], True
        return word_start, False
    compressed += 1
    word_end = (compressed + 255 - (compressed & 0xFF)) * tick_spacing
    i = bisect_left(initialized, compressed * tick_spacing)
    if i < len(initialized) and initialized[i] <= word_end:
        return initialized[i], True
    return word_end, False
