"""Tests for venues.profiles: defaults, validation and rounding of VenueProfile."""

from __future__ import annotations

import doctest
import math
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from venues import binance, hyperliquid, profiles
from venues.profiles import PROFILE_NAMES, VenueProfile, make_profile


def test_hyperliquid_defaults():
    """Hyperliquid tier-0 perp fees (1.5 / 4.5 bps), $10 minimum, lot = 10^-szDecimals."""
    p = make_profile("hyperliquid", sz_decimals=4)
    assert (p.name, p.maker_fee_bps, p.taker_fee_bps) == ("hyperliquid", 1.5, 4.5)
    assert p.min_notional == 10.0
    assert p.lot_size == 0.0001
    assert p.sz_decimals == 4
    assert p.tick_size is None


def test_binance_defaults():
    """Binance USD-M VIP 0 fees (2.0 / 5.0 bps), 5 USDT minimum, the given tick and step."""
    p = make_profile("binance_usdm", tick_size=0.01, lot_size=0.001)
    assert (p.name, p.maker_fee_bps, p.taker_fee_bps, p.min_notional) == (
        "binance_usdm",
        2.0,
        5.0,
        5.0,
    )
    assert (p.tick_size, p.lot_size, p.sz_decimals) == (0.01, 0.001, None)


def test_overrides():
    """Explicit fees and minimum notional override the defaults; rebates are allowed."""
    p = make_profile(
        "hyperliquid", sz_decimals=2, maker_fee_bps=-0.2, taker_fee_bps=2.5, min_notional=0.0
    )
    assert (p.maker_fee_bps, p.taker_fee_bps, p.min_notional) == (-0.2, 2.5, 0.0)
    assert p.fee(100.0, 1.0, is_maker=True) == pytest.approx(-0.002)


def test_lot_size_derives_sz_decimals():
    """A Hyperliquid profile given only lot_size derives sz_decimals = round(-log10(lot))."""
    for szd in range(7):
        p = make_profile("hyperliquid", lot_size=10.0**-szd)
        assert p.sz_decimals == szd
    assert make_profile("hyperliquid", lot_size=0.001, sz_decimals=3).sz_decimals == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "hyperliquid"}, "sz_decimals"),
        ({"name": "hyperliquid", "lot_size": 0.002}, "power of ten"),
        ({"name": "hyperliquid", "lot_size": 0.01, "sz_decimals": 3}, "does not match"),
        ({"name": "hyperliquid", "sz_decimals": 7}, r"0\.\.6"),
        ({"name": "hyperliquid", "sz_decimals": 2, "tick_size": 0.5}, "power of ten"),
        ({"name": "hyperliquid", "sz_decimals": 2, "maker_fee_bps": math.nan}, "finite"),
        ({"name": "hyperliquid", "sz_decimals": 2, "min_notional": -1.0}, "min_notional"),
        ({"name": "binance_usdm", "lot_size": 0.001}, "tick_size"),
        ({"name": "binance_usdm", "tick_size": 0.1}, "lot_size"),
        ({"name": "binance_usdm", "tick_size": 0.0, "lot_size": 0.001}, "tick_size"),
        ({"name": "binance_usdm", "tick_size": 0.1, "lot_size": 0.001, "sz_decimals": 3}, "sz_"),
        ({"name": "okx"}, "binance_usdm, binance_coinm, binance_spot, hyperliquid_perp"),
    ],
)
def test_make_profile_rejects(kwargs, match):
    """Missing or inconsistent settings raise ValueError with a message naming the problem."""
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        make_profile(name, **kwargs)


def test_unknown_name_lists_allowed():
    """An unknown venue name lists every allowed name."""
    with pytest.raises(ValueError) as exc:
        make_profile("Hyperliquid", sz_decimals=2)
    for name in PROFILE_NAMES:
        assert name in str(exc.value)


def test_frozen():
    """Profiles are immutable."""
    p = make_profile("hyperliquid", sz_decimals=2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        p.maker_fee_bps = 0.0  # type: ignore[misc]


def test_direct_construction_validated():
    """Direct construction checks the fields against price_rule."""
    with pytest.raises(ValueError, match="tick_size"):
        VenueProfile(
            name="x", maker_fee_bps=0, taker_fee_bps=0, min_notional=0,
            price_rule="fixed_tick", lot_size=1.0,
        )  # fmt: skip
    with pytest.raises(ValueError, match="sz_decimals"):
        VenueProfile(
            name="x", maker_fee_bps=0, taker_fee_bps=0, min_notional=0,
            price_rule="hyperliquid", lot_size=1.0,
        )  # fmt: skip


def test_hyperliquid_rounding_examples():
    """Bids round down and asks up onto the significant-figure grid, across decades."""
    p = make_profile("hyperliquid", sz_decimals=5)
    assert p.round_bid(104_250.7) == 104_250.0
    assert p.round_ask(104_250.2) == 104_251.0
    assert p.round_ask(99_999.7) == 100_000.0
    assert p.tick_at(104_250.0) == 1.0
    eth = make_profile("hyperliquid", sz_decimals=4)
    assert eth.round_bid(3456.78) == 3456.7
    assert eth.round_ask(3456.71) == 3456.8
    assert eth.tick_at(3456.7) == 0.1
    assert eth.round_qty(0.123456) == 0.1234
    assert eth.is_valid_price(3456.7) and not eth.is_valid_price(3456.78)


def test_hyperliquid_tick_floor():
    """An explicit tick_size coarsens the Hyperliquid grid: the coarser step applies."""
    p = make_profile("hyperliquid", sz_decimals=2, tick_size=0.1)
    assert p.tick_at(1.2345) == 0.1  # HL alone: 0.01 (6 - 2 decimals)
    assert p.tick_at(12345.0) == 1.0  # HL step 1 is coarser
    assert p.round_bid(1.2345) == 1.2
    assert p.round_ask(1.2345) == 1.3
    assert p.is_valid_price(1.2) and not p.is_valid_price(1.23)
    q = make_profile("hyperliquid", sz_decimals=2, tick_size=10.0)
    assert q.round_ask(5.0) == 10.0
    with pytest.raises(ValueError, match="rounds down to 0"):
        q.round_bid(5.0)


def test_binance_rounding_examples():
    """Binance rounds on the fixed tick, with no significant-figure limit."""
    p = make_profile("binance_usdm", tick_size=0.01, lot_size=0.001)
    assert p.round_bid(123_456.789) == 123_456.78  # 8 significant figures is fine
    assert p.round_ask(123_456.781) == 123_456.79
    assert p.round_bid(0.29) == 0.29
    assert p.round_qty(0.0299) == 0.029
    assert p.tick_at(5.0) == 0.01
    assert p.is_valid_price(123_456.78)
    assert not p.is_valid_price(123_456.789)
    assert not p.is_valid_price(0.0)


def test_min_notional_and_fee():
    """meets_min_notional compares px*qty with min_notional; fee = px*qty*bps/1e4."""
    p = make_profile("binance_usdm", tick_size=0.1, lot_size=0.001)
    assert p.meets_min_notional(2500.0, 0.002)
    assert not p.meets_min_notional(2499.9, 0.002)
    assert p.fee(2500.0, 2.0, is_maker=True) == pytest.approx(1.0)  # 5000 * 2 bps
    assert p.fee(2500.0, 2.0, is_maker=False) == pytest.approx(2.5)  # 5000 * 5 bps
    hl = make_profile("hyperliquid", sz_decimals=2)
    assert hl.meets_min_notional(10.0, 1.0) and not hl.meets_min_notional(9.99, 1.0)


profiles_st = st.one_of(
    st.builds(
        lambda szd, tick: make_profile("hyperliquid", sz_decimals=szd, tick_size=tick),
        st.integers(0, 6),
        st.sampled_from([None, None, 0.0001, 0.01, 1.0, 10.0]),
    ),
    st.builds(
        lambda tick: make_profile("binance_usdm", tick_size=tick, lot_size=0.001),
        st.sampled_from([0.5, 0.1, 0.01, 0.001, 0.25, 10.0]),
    ),
)


@given(profiles_st, st.floats(1e-3, 1e7))
def test_round_bid_ask_properties(p, px):
    """round_bid <= px <= round_ask, both valid, at most one grid step away, idempotent."""
    try:
        bid = p.round_bid(px)
    except ValueError:
        assume(False)
    ask = p.round_ask(px)
    tol = Decimal(4 * math.ulp(px))
    d = Decimal(repr(px))
    assert Decimal(repr(bid)) <= d + tol
    assert Decimal(repr(ask)) >= d - tol
    assert p.is_valid_price(bid) and p.is_valid_price(ask)
    assert Decimal(repr(ask)) - Decimal(repr(bid)) <= Decimal(repr(p.tick_at(bid)))
    assert p.round_bid(bid) == bid and p.round_ask(ask) == ask
    if p.price_rule == "hyperliquid":
        assert hyperliquid.is_valid_price(bid, p.sz_decimals)
        assert hyperliquid.is_valid_price(ask, p.sz_decimals)


@given(profiles_st, st.floats(0, 1e6))
def test_round_qty_properties(p, qty):
    """round_qty floors onto the lot grid (never more than asked, less than one lot less)."""
    out = p.round_qty(qty)
    assert out == 0.0 or binance.is_on_grid(out, p.lot_size)
    tol = Decimal(4 * math.ulp(qty))
    assert Decimal(repr(out)) <= Decimal(repr(qty)) + tol
    assert Decimal(repr(qty)) - Decimal(repr(out)) < Decimal(repr(p.lot_size))


def test_doctests():
    """The module's docstring examples run and pass."""
    result = doctest.testmod(profiles)
    assert result.attempted > 0
    assert result.failed == 0


# --- contract types, fee tiers, discounts, data/profile matching (issue 11) ---------------------

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_ws_depth_trades_hftbacktest"


def test_profile_contract_kinds():
    """Each profile is a data record: contract kind, settlement currency, funding clock, source."""
    usdm = make_profile("binance_usdm", tick_size=0.01, lot_size=0.001, symbol="ETHUSDT")
    coinm = make_profile("binance_coinm", tick_size=0.01, symbol="ETHUSD_PERP")
    btcm = make_profile("binance_coinm", tick_size=0.1, symbol="BTCUSD_PERP")
    spot = make_profile("binance_spot", tick_size=0.01, lot_size=0.0001, symbol="ETHUSDT")
    hl = make_profile("hyperliquid_perp", sz_decimals=4, symbol="ETH")
    assert (usdm.contract, usdm.settle_currency, usdm.funding_interval_s) == ("linear", "USDT", 28800)
    assert (coinm.contract, coinm.settle_currency, coinm.contract_size, coinm.lot_size) == ("inverse", "ETH", 10.0, 1.0)
    assert (btcm.contract_size, btcm.settle_currency) == (100.0, "BTC")  # BTCUSD_PERP: 100 USD
    assert (spot.contract, spot.has_funding, spot.is_perp, spot.maker_fee_bps) == ("spot", False, False, 10.0)
    assert (hl.contract, hl.settle_currency, hl.funding_interval_s) == ("linear", "USDC", 3600)
    for p in (usdm, coinm, spot, hl):
        assert "Binance" in p.source or "Hyperliquid" in p.source


def test_coinm_fee_binance_faq_example():
    """Binance FAQ "Fee Structure & Fee Calculations", COIN-M: commission = notional × rate with
    notional = contracts × contract size / price. 10 BTCUSD contracts (100 USD) at 10,000 USD
    is 10 × 100 / 10,000 = 0.1 BTC; at a 0.040 % taker rate the fee is 0.1 × 0.0004 = 0.00004 BTC."""
    p = make_profile("binance_coinm", tick_size=0.1, symbol="BTCUSD_PERP", maker_fee_bps=1.5, taker_fee_bps=4.0)
    assert p.notional(10_000.0, 10) == pytest.approx(0.1)
    assert p.fee(10_000.0, 10, is_maker=False) == pytest.approx(0.00004, rel=1e-12)
    assert p.fee(10_000.0, 10, is_maker=True) == pytest.approx(0.000015, rel=1e-12)
    # the same fill on a linear profile would be 10 × 10,000 × 4 bps = 40 (USDT): 1e6 times more
    lin = make_profile("binance_usdm", tick_size=0.1, lot_size=1.0, taker_fee_bps=4.0)
    assert lin.fee(10_000.0, 10, is_maker=False) == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("name", "tier", "maker", "taker"),
    [
        ("binance_usdm", 0, 2.0, 5.0),  # VIP 0: 0.0200 % / 0.0500 %
        ("binance_usdm", 9, 0.0, 1.7),  # VIP 9: 0.0000 % / 0.0170 %
        ("binance_spot", 0, 10.0, 10.0),  # VIP 0: 0.1000 % / 0.1000 %
        ("binance_spot", 3, 4.2, 6.0),  # VIP 3: 0.0420 % / 0.0600 %
        ("hyperliquid_perp", 0, 1.5, 4.5),  # <= $5M: 0.015 % / 0.045 %
        ("hyperliquid_perp", 3, 0.4, 3.0),  # > $100M: 0.004 % / 0.030 %
        ("hyperliquid_perp", 6, 0.0, 2.4),  # > $7B: 0 % / 0.024 %
    ],
)
def test_fee_tiers(name, tier, maker, taker):
    """Fee tiers as published (the percentages in the comments)."""
    kw = {"sz_decimals": 4} if name.startswith("hyperliquid") else {"tick_size": 0.01, "lot_size": 0.001}
    p = make_profile(name, fee_tier=tier, **kw)
    assert (p.maker_fee_bps, p.taker_fee_bps, p.fee_tier) == (maker, taker, tier)


def test_hyperliquid_discounts():
    """Staking and referral discounts multiply the tier's positive fees: tier 1 (1.2 / 4.0 bps)
    with gold staking (20 %) and a referral (4 %): 1.2 × 0.8 × 0.96 = 0.9216, 4.0 × 0.8 × 0.96 = 3.072."""
    p = make_profile("hyperliquid", sz_decimals=4, fee_tier=1, staking_discount=0.2, referral_discount=0.04)
    assert p.maker_fee_bps == pytest.approx(0.9216)
    assert p.taker_fee_bps == pytest.approx(3.072)
    # explicit rates are final: no discount on top
    q = make_profile("hyperliquid", sz_decimals=4, staking_discount=0.4, taker_fee_bps=2.5)
    assert q.taker_fee_bps == 2.5 and q.maker_fee_bps == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("hyperliquid", {"sz_decimals": 4, "fee_tier": 7}, r"0\.\.6"),
        ("binance_usdm", {"tick_size": 0.1, "lot_size": 0.001, "fee_tier": 10}, r"0\.\.9"),
        ("binance_usdm", {"tick_size": 0.1, "lot_size": 0.001, "staking_discount": 0.1}, "Hyperliquid"),
        ("hyperliquid", {"sz_decimals": 4, "referral_discount": 1.0}, r"\[0, 1\)"),
        ("binance_usdm", {"tick_size": 0.1, "lot_size": 0.001, "contract_size": 10.0}, "inverse"),
        ("binance_spot", {"tick_size": 0.1}, "lot_size"),
    ],
)
def test_profile_option_errors(name, kwargs, match):
    """Out-of-range tiers, discounts on a venue without them, contract sizes on linear profiles."""
    with pytest.raises(ValueError, match=match):
        make_profile(name, **kwargs)


@pytest.mark.parametrize(
    ("files", "venue", "symbol"),
    [
        (["cm/ethusd_perp_20240808.gz"], "binance_coinm", "ETHUSD_PERP"),
        (["spot/ethusdt_20240808.gz"], "binance_spot", "ETHUSDT"),
        (["usdm/btcusdt_20230404.dat.gz"], "binance_usdm", "BTCUSDT"),
    ],
)
def test_detect_capture_venue_on_recorded_files(files, venue, symbol):
    """The recorded COIN-M (dapi ``ethusd_perp@depth``), spot and USD-M captures are recognised."""
    paths = [str(SHARED / f) for f in files]
    if not Path(paths[0]).is_file():
        pytest.skip("shared data not present")
    assert profiles.detect_capture_venue("binance_ws", paths) == (venue, symbol)


def test_check_feed_profile_refuses_mismatches():
    """Linear on inverse, perp on spot, inverse on linear: refused, naming the profile to use."""
    with pytest.raises(profiles.ProfileMismatchError, match='use profile = "binance_coinm"'):
        profiles.check_feed_profile("binance_usdm", "binance_coinm", "BTCUSD_PERP")
    with pytest.raises(profiles.ProfileMismatchError, match='use profile = "binance_coinm"'):
        profiles.check_feed_profile("hyperliquid", "binance_coinm")
    with pytest.raises(profiles.ProfileMismatchError, match='use profile = "binance_spot"'):
        profiles.check_feed_profile("binance_usdm", "binance_spot", "ETHUSDT")
    with pytest.raises(profiles.ProfileMismatchError, match='use profile = "binance_usdm"'):
        profiles.check_feed_profile("binance_coinm", "binance_usdm")
    profiles.check_feed_profile("binance_usdm", "hyperliquid")  # both linear perps: allowed
    profiles.check_feed_profile("binance_coinm", "hftbacktest")  # unknown venue: allowed
