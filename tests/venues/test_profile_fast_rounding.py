"""The profile's float rounding fast path returns exactly what the exact decimal rules return."""

from hypothesis import given
from hypothesis import strategies as st

from venues import binance, hyperliquid
from venues.profiles import make_profile

prices = st.floats(min_value=1e-3, max_value=5e6, allow_nan=False, allow_infinity=False)


@given(px=prices, sz_decimals=st.integers(0, 5))
def test_hyperliquid_fast_rounding_matches_exact(px, sz_decimals):
    """round_bid/round_ask/tick_at agree with round_price(mode=down/up)/price_grid_step."""
    prof = make_profile("hyperliquid", sz_decimals=sz_decimals)
    assert prof.tick_at(px) == hyperliquid.price_grid_step(px, sz_decimals)
    floor_step = 10.0 ** -(6 - sz_decimals)
    if px >= floor_step:
        assert prof.round_bid(px) == hyperliquid.round_price(px, sz_decimals, mode="down")
    assert prof.round_ask(px) == hyperliquid.round_price(px, sz_decimals, mode="up")


@given(
    px=prices,
    tick=st.sampled_from([0.01, 0.1, 0.5, 1.0, 0.25, 0.001, 10.0]),
    lot=st.sampled_from([0.001, 0.01, 1.0, 0.00001]),
    qty=st.floats(min_value=0, max_value=1e4, allow_nan=False),
)
def test_fixed_tick_fast_rounding_matches_exact(px, tick, lot, qty):
    """Binance-style fixed grid: fast bid/ask/qty rounding equals the exact decimal functions."""
    prof = make_profile("binance_usdm", tick_size=tick, lot_size=lot)
    if px >= tick:
        assert prof.round_bid(px) == binance.round_price_to_tick(px, tick, mode="down")
    assert prof.round_ask(px) == binance.round_price_to_tick(px, tick, mode="up")
    assert prof.round_qty(qty) == binance.round_qty_to_step(qty, lot, mode="down")


@given(k=st.integers(1, 10**7), tick=st.sampled_from([0.01, 0.1, 0.001]))
def test_grid_prices_are_fixed_points(k, tick):
    """A price already on the grid (as parsed from text) is returned unchanged both ways."""
    px = float(f"{k * tick:.3f}")
    prof = make_profile("binance_usdm", tick_size=tick, lot_size=0.001)
    assert prof.round_bid(px) == px == prof.round_ask(px)
