"""Tests for venues.hyperliquid (price grid, size decimals, $10 minimum) and venues.binance."""

from __future__ import annotations

import doctest
import math
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from venues import binance, hyperliquid
from venues.hyperliquid import (
    MIN_ORDER_VALUE_REJECT_MSG,
    MIN_ORDER_VALUE_USD,
    is_valid_price,
    is_valid_size,
    meets_min_value,
    price_grid_step,
    round_price,
    round_size,
)

MODES = ("nearest", "down", "up")


def _reference_is_valid(px: float, sz_decimals: int, perp: bool) -> bool:
    """The rule restated on the shortest decimal string of ``px``, without Decimal."""
    s = repr(px)
    if "e" in s or "E" in s:
        s = f"{Decimal(s):f}"
    if px <= 0:
        return False
    if "." not in s:
        return True
    whole, frac = s.split(".")
    frac = frac.rstrip("0")
    if not frac:
        return True
    digits = (whole + frac).lstrip("0")
    max_dec = (6 if perp else 8) - sz_decimals
    return len(digits) <= 5 and len(frac) <= max_dec


sz_perp = st.integers(0, 6)
prices = st.floats(min_value=1e-7, max_value=1e12, allow_nan=False, allow_infinity=False)


@st.composite
def valid_prices(draw, perp: bool = True):
    """A valid price built from an integer mantissa and an exponent, and its sz_decimals."""
    szd = draw(st.integers(0, 6 if perp else 8))
    max_dec = (6 if perp else 8) - szd
    if draw(st.booleans()):
        return float(draw(st.integers(1, 10**15))), szd
    mantissa = draw(st.integers(1, 99_999))
    decimals = draw(st.integers(0, max_dec))
    return float(Decimal(mantissa).scaleb(-decimals)), szd


# --------------------------------------------------------------------------- is_valid_price


@pytest.mark.parametrize(
    ("px", "szd", "perp", "expected"),
    [
        # GitBook "API › Tick and lot size", perp examples.
        (1234.5, 0, True, True),
        (1234.56, 0, True, False),
        (0.001234, 0, True, True),
        (0.0012345, 0, True, False),
        (0.01234, 1, True, True),
        (0.012345, 1, True, False),
        (123456.0, 0, True, True),
        (12345.6, 0, True, False),
        # Spot examples: 0.0001234 needs 7 decimals; allowed when 8 - szDecimals >= 7.
        (0.0001234, 0, False, True),
        (0.0001234, 1, False, True),
        (0.0001234, 2, False, False),
        (0.0001234, 3, False, False),
        # Integers whatever their digits or szDecimals.
        (123456789.0, 6, True, True),
        (1.0, 6, True, True),
        # Trailing zeros do not count.
        (1234.50, 0, True, True),
        # szDecimals = 6 on a perp leaves no decimals at all.
        (1.5, 6, True, False),
        (1.5, 5, True, True),
        # Not prices.
        (0.0, 0, True, False),
        (-1.0, 0, True, False),
        (math.nan, 0, True, False),
        (math.inf, 0, True, False),
    ],
)
def test_is_valid_price_table(px, szd, perp, expected):
    """The documented examples and edge cases are classified as the GitBook rule says."""
    assert is_valid_price(px, szd, perp) is expected


@given(st.integers(1, 10**17), st.integers(0, 6))
def test_integers_always_valid(n, szd):
    """Every positive integer price is valid, whatever its significant figures."""
    assert is_valid_price(float(n), szd)


@given(prices, sz_perp, st.booleans())
def test_is_valid_price_matches_string_reference(px, szd, perp):
    """is_valid_price agrees with a plain string-digit restatement of the rule."""
    assert is_valid_price(px, szd, perp) == _reference_is_valid(px, szd, perp)


@pytest.mark.parametrize("szd", [-1, 7, 2.0, True, "2", None])
def test_bad_sz_decimals_perp_raise(szd):
    """szDecimals outside 0..6 (perp) or not an int raises ValueError naming the range."""
    with pytest.raises(ValueError, match="sz_decimals"):
        is_valid_price(1.0, szd)
    with pytest.raises(ValueError, match="sz_decimals"):
        round_price(1.0, szd)


def test_sz_decimals_range_spot():
    """Spot accepts szDecimals up to 8 and rejects 9."""
    assert is_valid_price(3.0, 8, perp=False)
    assert not is_valid_price(3.5, 8, perp=False)
    with pytest.raises(ValueError, match=r"0\.\.8"):
        round_price(3.0, 9, perp=False)


# --------------------------------------------------------------------------- price_grid_step


@pytest.mark.parametrize(
    ("px", "szd", "perp", "step"),
    [
        (3456.7, 4, True, 0.1),
        (1.2345, 4, True, 0.01),  # decimals cap (6 - 4)
        (1.2345, 0, True, 0.0001),  # 5 significant figures
        (0.5, 0, True, 0.00001),
        (0.05, 0, True, 0.000001),  # both caps at 1e-6
        (0.005, 0, True, 0.000001),  # decimals cap binds
        (0.005, 0, False, 0.0000001),  # spot: 5 significant figures bind
        (0.00005, 0, False, 0.00000001),  # spot: 8 decimals bind
        (12345.0, 0, True, 1.0),
        (104250.0, 5, True, 1.0),  # >= 100,000: integers
        (1e9, 0, True, 1.0),
        (10.0, 0, True, 0.001),  # a decade boundary belongs to the decade above
    ],
)
def test_price_grid_step_table(px, szd, perp, step):
    """Spacing = min(1, max(10^(floor(log10 px) - 4), 10^-(6 - szDecimals)))."""
    assert price_grid_step(px, szd, perp) == step


@given(prices, sz_perp, st.booleans())
def test_price_grid_step_formula(px, szd, perp):
    """price_grid_step equals the closed-form spacing and is a power of ten <= 1."""
    e = Decimal(repr(px)).adjusted()
    max_dec = (6 if perp else 8) - szd
    expected = min(1.0, max(10.0 ** (e - 4), 10.0**-max_dec))
    assert price_grid_step(px, szd, perp) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- round_price


@pytest.mark.parametrize(
    ("px", "szd", "mode", "expected"),
    [
        (1234.56, 0, "nearest", 1234.6),
        (1234.56, 0, "down", 1234.5),
        (1234.51, 0, "up", 1234.6),
        (1234.55, 0, "nearest", 1234.6),  # half-even: 12345.5 ticks -> 12346
        (1234.45, 0, "nearest", 1234.4),  # half-even: 12344.5 ticks -> 12344
        (99999.7, 0, "up", 100000.0),  # decade boundary
        (99999.7, 0, "down", 99999.0),
        (99999.5, 0, "nearest", 100000.0),  # half-even to the even integer
        (9.99996, 1, "nearest", 10.0),
        (9.99996, 1, "down", 9.9999),
        (123456.7, 0, "nearest", 123457.0),  # >= 100,000 -> integer
        (123456.7, 0, "down", 123456.0),
        (3456.78, 4, "down", 3456.7),
        (1.23456, 4, "up", 1.24),  # 6 - 4 = 2 decimals
        (0.0012345, 0, "nearest", 0.001234),
        (0.0012345, 0, "up", 0.001235),
        (0.0000004, 0, "up", 0.000001),
        (0.0001234, 2, "down", 0.000123),  # spot: 8 - 2 = 6 decimals
    ],
)
def test_round_price_table(px, szd, mode, expected):
    """Hand-checked rounding cases, including ties, decade boundaries and the integer regime."""
    perp = not (px == 0.0001234 and szd == 2)
    out = round_price(px, szd, perp=perp, mode=mode)
    assert out == expected
    assert is_valid_price(out, szd, perp)


def test_round_price_float_artefacts():
    """Binary float artefacts never push a valid price off the grid or to the wrong tick."""
    assert round_price(0.1 + 0.2, 2, mode="down") == 0.3  # 0.30000000000000004
    assert round_price(0.1 + 0.2, 2, mode="up") == 0.3  # noise, not a tick above 0.3
    assert round_price(0.29, 0, mode="down") == 0.29  # 0.29 / 0.01 = 28.999999999999996
    assert round_price(1.1, 0, mode="up") == 1.1
    assert round_price(1.0000000000000002, 0, mode="up") == 1.0
    # a quoter's mid + 3 ticks computed in floats
    ask = 100.1 + 3 * 0.1
    assert round_price(ask, 2, mode="up") == 100.4
    assert round_price(ask, 2, mode="down") == 100.4
    # but a genuine sub-tick excess is not noise
    assert round_price(100.40001, 2, mode="up") == 100.41
    assert round_size(0.3 - 0.1, 1, mode="down") == 0.2  # 0.19999999999999998


def _tol(x: float) -> Decimal:
    """The 4-ulp float-noise allowance of round_price."""
    return Decimal(4 * math.ulp(x))


@given(prices, sz_perp, st.booleans(), st.sampled_from(MODES))
def test_round_price_lands_on_grid(px, szd, perp, mode):
    """round_price returns a valid price (whenever it does not raise for rounding to 0)."""
    try:
        out = round_price(px, szd, perp, mode)
    except ValueError:
        assert px < 10.0 ** -((6 if perp else 8) - szd)
        return
    assert is_valid_price(out, szd, perp)
    assert out > 0


@given(prices, sz_perp, st.booleans())
def test_round_price_down_up_bracket(px, szd, perp):
    """down <= px <= up, and when px is off-grid, up is the grid point right after down."""
    max_dec = (6 if perp else 8) - szd
    assume(px >= 10.0**-max_dec)
    lo = round_price(px, szd, perp, "down")
    hi = round_price(px, szd, perp, "up")
    d = Decimal(repr(px))
    dlo, dhi = Decimal(repr(lo)), Decimal(repr(hi))
    assert dlo <= d + _tol(px)
    assert dhi >= d - _tol(px)
    if is_valid_price(px, szd, perp):
        assert lo == hi == px
    elif lo != hi:
        assert dlo < d < dhi
        step = Decimal(repr(price_grid_step(lo, szd, perp)))
        assert dhi == dlo + step
    else:  # snapped: px is float noise away from a grid price
        assert abs(dlo - d) <= _tol(px)


@given(prices, sz_perp, st.booleans())
def test_round_price_nearest_is_closest(px, szd, perp):
    """'nearest' returns whichever of down/up is closer (exact decimal distance)."""
    max_dec = (6 if perp else 8) - szd
    assume(px >= 10.0**-max_dec)
    lo = Decimal(repr(round_price(px, szd, perp, "down")))
    hi = Decimal(repr(round_price(px, szd, perp, "up")))
    near = Decimal(repr(round_price(px, szd, perp, "nearest")))
    d = Decimal(repr(px))
    assert near in (lo, hi)
    assert abs(near - d) <= min(abs(d - lo), abs(hi - d))


@given(valid_prices(), st.sampled_from(MODES))
def test_round_price_idempotent_on_valid(case, mode):
    """A price already on the grid comes back unchanged in every mode."""
    px, szd = case
    assert is_valid_price(px, szd)
    assert round_price(px, szd, mode=mode) == px


@given(prices, sz_perp, st.sampled_from(MODES))
def test_round_price_idempotent(px, szd, mode):
    """Rounding twice equals rounding once."""
    try:
        once = round_price(px, szd, mode=mode)
    except ValueError:
        return
    assert round_price(once, szd, mode=mode) == once


@given(prices, prices, sz_perp)
def test_round_price_monotone(a, b, szd):
    """Rounding down and up are non-decreasing in px."""
    assume(min(a, b) >= 10.0 ** -(6 - szd))
    lo, hi = sorted((a, b))
    for mode in ("down", "up"):
        assert round_price(lo, szd, mode=mode) <= round_price(hi, szd, mode=mode)


@given(st.floats(min_value=1e5, max_value=1e15), st.sampled_from(MODES))
def test_round_price_large_is_integer(px, mode):
    """Prices >= 100,000 round to integers."""
    out = round_price(px, 0, mode=mode)
    assert out == int(out)


@pytest.mark.parametrize("px", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_round_price_bad_px(px):
    """Non-positive and non-finite prices raise ValueError naming px."""
    with pytest.raises(ValueError, match="px"):
        round_price(px, 0)
    with pytest.raises(ValueError, match="px"):
        price_grid_step(px, 0)


def test_round_price_bad_mode():
    """An unknown rounding mode raises ValueError listing the modes."""
    with pytest.raises(ValueError, match="nearest"):
        round_price(1.0, 0, mode="ceil")


def test_round_price_to_zero_raises():
    """A price that would round to 0 raises rather than returning an invalid 0."""
    with pytest.raises(ValueError, match="smallest valid price"):
        round_price(4e-7, 0, mode="down")
    with pytest.raises(ValueError, match="rounds nearest to 0"):
        round_price(4e-7, 0)
    assert round_price(4e-7, 0, mode="up") == 1e-6


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("sz", "szd", "mode", "expected"),
    [
        (1.0001, 3, "nearest", 1.0),
        (0.125, 2, "nearest", 0.12),  # half-even
        (0.135, 2, "nearest", 0.14),  # half-even
        (2.675, 2, "nearest", 2.68),  # decimal 2.675 (binary would give 2.67)
        (0.0123456, 5, "down", 0.01234),
        (0.0123411, 5, "up", 0.01235),
        (7.9, 0, "down", 7.0),
        (0.0, 4, "nearest", 0.0),
        (0.1 + 0.2, 1, "down", 0.3),
    ],
)
def test_round_size_table(sz, szd, mode, expected):
    """Sizes round to szDecimals decimals; 'nearest' is half-even on the decimal value."""
    assert round_size(sz, szd, mode=mode) == expected


@given(st.floats(0, 1e9), st.integers(0, 8), st.sampled_from(MODES))
def test_round_size_on_lot_grid(sz, szd, mode):
    """A rounded size has at most szDecimals decimals and is within one lot of the input."""
    out = round_size(sz, szd, mode=mode)
    assert out == 0.0 or is_valid_size(out, szd)
    assert abs(Decimal(repr(out)) - Decimal(repr(sz))) <= Decimal(1).scaleb(-szd)
    if mode == "down":
        assert Decimal(repr(out)) <= Decimal(repr(sz)) + _tol(sz)


@pytest.mark.parametrize("sz", [-0.1, math.nan, math.inf])
def test_round_size_bad(sz):
    """Negative or non-finite sizes raise ValueError."""
    with pytest.raises(ValueError, match="sz"):
        round_size(sz, 2)


def test_is_valid_size():
    """The GitBook example: with szDecimals = 3, 1.001 is valid and 1.0001 is not."""
    assert is_valid_size(1.001, 3)
    assert not is_valid_size(1.0001, 3)
    assert not is_valid_size(0.0, 3)
    assert not is_valid_size(-1.0, 3)


# --------------------------------------------------------------------------- minimum value


def test_min_order_value():
    """$10 minimum: px * sz >= 10, compared exactly; the rejection text is the exchange's."""
    assert MIN_ORDER_VALUE_USD == 10.0
    assert MIN_ORDER_VALUE_REJECT_MSG == "Order must have minimum value of $10."
    assert meets_min_value(10.0, 1.0)
    assert not meets_min_value(9.99, 1.0)
    assert meets_min_value(25.0, 0.4)
    assert not meets_min_value(25.0, 0.39)
    assert meets_min_value(0.8, 12.5)  # exactly $10
    assert not meets_min_value(3.3333, 3.0)  # 9.9999
    assert not meets_min_value(math.nan, 1.0)


@given(st.integers(1, 10**6), st.integers(0, 5), st.integers(1, 10**6), st.integers(0, 5))
def test_min_value_exact(pm, pe, sm, se):
    """meets_min_value agrees with exact integer arithmetic on decimal prices and sizes."""
    px = float(Decimal(pm).scaleb(-pe))
    sz = float(Decimal(sm).scaleb(-se))
    exact = pm * sm * 10 ** (10 - pe - se) >= 10 * 10**10
    assert meets_min_value(px, sz) == exact


# --------------------------------------------------------------------------- binance grid


@pytest.mark.parametrize(
    ("px", "tick", "mode", "expected"),
    [
        (0.29, 0.01, "down", 0.29),
        (65432.17, 0.1, "down", 65432.1),
        (65432.11, 0.1, "up", 65432.2),
        (2.25, 0.5, "nearest", 2.0),  # 4.5 ticks -> 4
        (2.75, 0.5, "nearest", 3.0),  # 5.5 ticks -> 6
        (3456.789, 0.01, "nearest", 3456.79),
        (123456.0, 10.0, "up", 123460.0),
    ],
)
def test_binance_round_price_table(px, tick, mode, expected):
    """Prices round onto multiples of the tick with exact decimal arithmetic."""
    assert binance.round_price_to_tick(px, tick, mode) == expected


@given(
    st.floats(1e-3, 1e7),
    st.sampled_from([0.5, 0.1, 0.01, 0.001, 0.0001, 0.25, 10.0]),
    st.sampled_from(MODES),
)
def test_binance_round_price_on_grid(px, tick, mode):
    """Rounded prices are multiples of the tick within one tick of the input, directed right."""
    try:
        out = binance.round_price_to_tick(px, tick, mode)
    except ValueError:
        assert px < tick
        return
    assert binance.is_on_grid(out, tick)
    assert abs(Decimal(repr(out)) - Decimal(repr(px))) <= Decimal(repr(tick))
    if mode == "down":
        assert Decimal(repr(out)) <= Decimal(repr(px)) + _tol(px)
    if mode == "up":
        assert Decimal(repr(out)) >= Decimal(repr(px)) - _tol(px)


def test_binance_qty_and_errors():
    """Quantities floor to the step by default; bad inputs raise ValueError."""
    assert binance.round_qty_to_step(0.0299, 0.001) == 0.029
    assert binance.round_qty_to_step(0.3, 0.1) == 0.3
    assert binance.round_qty_to_step(0.0004, 0.001) == 0.0
    assert binance.round_qty_to_step(0.0299, 0.001, mode="nearest") == 0.03
    with pytest.raises(ValueError, match="tick_size"):
        binance.round_price_to_tick(1.0, 0.0)
    with pytest.raises(ValueError, match="rounds down to 0"):
        binance.round_price_to_tick(0.004, 0.01, "down")
    with pytest.raises(ValueError, match="qty"):
        binance.round_qty_to_step(-1.0, 0.1)
    with pytest.raises(ValueError, match="mode"):
        binance.round_qty_to_step(1.0, 0.1, mode="floor")
    assert binance.meets_min_notional(50.0, 0.1, 5.0)
    assert not binance.meets_min_notional(49.99, 0.1, 5.0)


@pytest.mark.parametrize("module", [hyperliquid, binance])
def test_doctests(module):
    """The modules' docstring examples run and pass."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
