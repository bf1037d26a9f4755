"""Funding (issue 11): recorded rates, sign convention, hand-computed payments, a funding-spanning run.

Sources of the numbers: the recorded files in ``../shared/data/hyperliquid_meta_funding`` and the
``markPrice@1s`` stream of the Binance USD-M BTCUSDT capture of 2023-04-04/05 (hftbacktest
examples), which spans the 2023-04-05 00:00 UTC settlement.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from components.account import Account
from components.funding import FundingSchedule, funding_payment
from engine.kernel import Simulation
from venues.loaders import DataError
from venues.loaders.funding import (
    FundingRates,
    from_binance_markprice,
    load_asset_ctx,
    load_funding,
    nominal_funding_times,
)
from venues.profiles import make_profile

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HL = SHARED / "hyperliquid_meta_funding"
BN = SHARED / "binance_ws_depth_trades_hftbacktest" / "usdm"
BTC_PAIR = [str(BN / "btcusdt_20230404.dat.gz"), str(BN / "btcusdt_20230405.dat.gz")]

needs_shared = pytest.mark.skipif(not HL.is_dir() or not BN.is_dir(), reason="shared data not present")


class _Venue:
    """The three things FundingSchedule reads from a venue: profile, span, mid."""

    def __init__(self, profile, start_ns, end_ns, mid):
        self.profile, self.start_ns, self.end_ns, self.mid = profile, start_ns, end_ns, mid


def _run_schedule(profile, account, rates, start_ns, end_ns, mid, feed_venue=""):
    sim = Simulation(1)
    venue = _Venue(profile, start_ns, end_ns, mid)
    fs = FundingSchedule(sim, venue, account, rates, feed_venue)
    sim.run()
    return fs


def test_sign_convention():
    """Longs pay and shorts receive when the rate is positive; the reverse when negative."""
    assert funding_payment(1.0, 100.0, 0.001) == pytest.approx(0.1)
    assert funding_payment(-1.0, 100.0, 0.001) == pytest.approx(-0.1)
    assert funding_payment(1.0, 100.0, -0.001) == pytest.approx(-0.1)
    # inverse: 100 contracts × 10 USD / 2000 = 0.5 ETH notional × 0.01 % = 0.00005 ETH
    assert funding_payment(100.0, 2000.0, 0.0001, contract_size=10.0) == pytest.approx(0.00005)


@needs_shared
def test_hyperliquid_history_hand_computed():
    """fundingHistory rows 2023-06-08 12:00..15:00 UTC (file lines 96-99) all read 0.0000125 per
    hour. A long of 0.5 BTC marked at 26,500 (the history has no oracle price: the mid stands in)
    pays 0.5 × 26,500 × 0.0000125 = 0.165625 USDC per hour, 4 × 0.165625 = 0.6625 in all."""
    rates = load_funding(str(HL / "funding_history_BTC_20230512_20230630.csv"))
    assert len(rates) == 633
    assert int(rates.ts_ns[0]) == 1683849600048 * 10**6 and rates.rate[0] == -0.00061334
    k = int(np.searchsorted(rates.ts_ns, 1686225600056 * 10**6))
    assert rates.rate[k : k + 4].tolist() == [0.0000125] * 4
    assert np.isnan(rates.mark).all()
    acct = Account()
    acct.on_fill(+1, 26_400.0, 0.5, fee=0.0, is_maker=True)
    prof = make_profile("hyperliquid_perp", sz_decimals=5, symbol="BTC")
    fs = _run_schedule(prof, acct, rates, 1686225000000 * 10**6, 1686236500000 * 10**6, 26_500.0)
    assert fs.metrics() == {"n_funding": 4.0, "funding_missing": 0.0, "funding_mark_from_mid": 4.0}
    assert acct.funding_paid == pytest.approx(0.6625, rel=1e-12)
    assert acct.cash == pytest.approx(-0.5 * 26_400.0 - 0.6625, rel=1e-12)
    assert fs.settlements()["payment"].tolist() == pytest.approx([0.165625] * 4)


@needs_shared
def test_hyperliquid_negative_rate_short_pays():
    """First row (2023-05-12 00:00 UTC, 8-hourly then): rate −0.00061334. A short of 1 BTC at a
    27,000 mark pays −1 × 27,000 × −0.00061334 = 16.56018 USDC (shorts pay when negative)."""
    rates = load_funding(str(HL / "funding_history_BTC_20230512_20230630.csv"))
    acct = Account()
    acct.on_fill(-1, 27_000.0, 1.0, fee=0.0, is_maker=True)
    prof = make_profile("hyperliquid_perp", sz_decimals=5)
    t0 = 1683849600048 * 10**6
    fs = _run_schedule(prof, acct, rates, t0 - 10**9, t0 + 10**9, 27_000.0)
    assert acct.funding_paid == pytest.approx(16.56018, rel=1e-12)
    assert fs.metrics()["n_funding"] == 1.0


@needs_shared
def test_hyperliquid_asset_ctx_hand_computed():
    """allDexsAssetCtxs (main dex, index 1 = ETH per the 3-asset meta sample): funding 0.0000125,
    oraclePx 2124.6. A long of 2 ETH pays 2 × 2124.6 × 0.0000125 = 0.053115 USDC at the hour."""
    ctx = load_asset_ctx(str(HL / "nautilus_ws_all_dexs_asset_ctxs.json.gz"), "ETH",
                         meta_path=str(HL / "nautilus_http_meta_perp_sample.json"))  # fmt: skip
    assert (ctx["funding"], ctx["oracle_px"], ctx["mark_px"]) == (0.0000125, 2124.6, 2123.7)
    raw = json.loads(gzip.decompress((HL / "nautilus_ws_all_dexs_asset_ctxs.json.gz").read_bytes()))
    assert raw["data"]["ctxs"][0][1][1]["oraclePx"] == "2124.6"  # read straight from the file
    rates = FundingRates(ts_ns=np.array([3600 * 10**9]), rate=np.array([ctx["funding"]]),
                         mark=np.array([ctx["oracle_px"]]), source="test")  # fmt: skip
    acct = Account()
    acct.on_fill(+1, 2120.0, 2.0, fee=0.0, is_maker=True)
    _run_schedule(make_profile("hyperliquid", sz_decimals=4), acct, rates, 0, 2 * 3600 * 10**9, math.nan)
    assert acct.funding_paid == pytest.approx(0.053115, rel=1e-12)
    with pytest.raises(DataError, match="meta_path or index"):
        load_asset_ctx(str(HL / "nautilus_ws_all_dexs_asset_ctxs.json.gz"), "ETH")


@needs_shared
def test_binance_markprice_settlement_from_capture():
    """The capture's last markPriceUpdate before 2023-04-05 00:00:00 UTC (E = 1680652799001,
    20230404 file) announces T = 1680652800000 with r = 0.00002754 and p = 28157.10000000."""
    rates = from_binance_markprice(BTC_PAIR)
    assert rates.ts_ns.tolist() == [1680652800000 * 10**6]
    assert rates.rate.tolist() == [0.00002754]
    assert rates.mark.tolist() == [28157.1]
    # the raw lines, independently: the last markPrice line of the first file
    with gzip.open(BTC_PAIR[0], "rt") as fh:
        last = [ln for ln in fh if "markPriceUpdate" in ln][-1]
    d = json.loads(last.split(" ", 1)[1])["data"]
    assert (d["T"], d["r"], d["p"]) == (1680652800000, "0.00002754", "28157.10000000")


def test_nominal_funding_times():
    """Binance: 00/08/16 UTC; Hyperliquid: every hour; spot: never."""
    day = 19_000 * 86_400 * 10**9  # a UTC midnight
    h = 3600 * 10**9
    assert nominal_funding_times("binance_usdm", day - 1, day + 17 * h).tolist() == [day, day + 8 * h, day + 16 * h]
    assert nominal_funding_times("hyperliquid", day, day + 3 * h).tolist() == [day + h, day + 2 * h, day + 3 * h]
    assert nominal_funding_times("binance_spot", day - 1, day + 17 * h).size == 0


def test_missing_funding_is_counted_and_warned():
    """A perp run spanning a funding time with no recorded rate charges nothing and says so."""
    day = 19_000 * 86_400 * 10**9
    acct = Account()
    acct.on_fill(+1, 100.0, 1.0, fee=0.0, is_maker=True)
    prof = make_profile("binance_usdm", tick_size=0.01, lot_size=0.001)
    fs = _run_schedule(prof, acct, None, day - 60 * 10**9, day + 60 * 10**9, 100.0, "binance_usdm")
    assert fs.n_missing == 1 and fs.metrics()["funding_missing"] == 1.0
    assert "no recorded rate" in fs.warnings[0] and "[data] funding" in fs.warnings[0]
    assert acct.funding_paid == 0.0
    spot = make_profile("binance_spot", tick_size=0.01, lot_size=0.001)
    fs = _run_schedule(spot, Account(), None, day - 60 * 10**9, day + 60 * 10**9, 100.0, "binance_spot")
    assert fs.n_missing == 0 and not fs.warnings


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,b,c\n1,2,3\n", "line 1: unknown funding CSV header"),
        ("coin,time_ms,fundingRate,premium\nBTC,1683849600048,abc,0\n", "line 2: fundingRate: not a number"),
        ("coin,time_ms,fundingRate,premium\nBTC,1,0.1,0\nETH,2,0.1,0\n", "more than one instrument"),
        ("symbol,fundingTime,fundingRate\nX,1680652800000,0.1\nX,1680652800000,0.2\n", "same time"),
        ('[{"coin": "BTC", "fundingRate": "0.1"}]', "record 0: missing key"),
        ("", "empty funding file"),
    ],
)
def test_loader_errors_name_file_and_line(tmp_path, text, match):
    """Bad funding files raise DataError naming the file and the line/record."""
    p = tmp_path / "f.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=match) as exc:
        load_funding(str(p))
    assert str(p) in str(exc.value)


def test_binance_rest_and_vision_formats(tmp_path):
    """Binance REST (fundingTime, fundingRate, markPrice) and data.binance.vision CSV layouts."""
    rest = tmp_path / "rest.json"
    rest.write_text(json.dumps([
        {"symbol": "BTCUSDT", "fundingTime": 1680652800000, "fundingRate": "0.00002754", "markPrice": "28157.1"},
        {"symbol": "BTCUSDT", "fundingTime": 1680681600001, "fundingRate": "-0.0001", "markPrice": ""},
    ]))  # fmt: skip
    r = load_funding(str(rest))
    assert r.ts_ns.tolist() == [1680652800000 * 10**6, 1680681600001 * 10**6]
    assert r.rate.tolist() == [0.00002754, -0.0001] and r.mark[0] == 28157.1 and np.isnan(r.mark[1])
    vision = tmp_path / "BTCUSDT-fundingRate-2023-04.csv"
    vision.write_text("calc_time,funding_interval_hours,last_funding_rate\n1680652800000,8,0.00002754\n")
    v = load_funding(str(vision))
    assert v.source.startswith("binance_vision") and v.rate.tolist() == [0.00002754]


def _buy_and_hold_class():
    from components.orders import TimeInForce
    from strategies.base import Strategy
    from strategies.config import StrategyConfig

    class BuyOnceAndHold(Strategy):
        config_class = StrategyConfig

        def on_start(self) -> None:
            self.set_timer("buy", at_ns=self.venue.start_ns + 30 * 10**9)

        def on_timer(self, event) -> None:
            ask = self.venue.best_ask
            self.submit_limit(side=+1, px=self.venue.profile.round_ask(ask * 1.001), qty=self.config.order_qty,
                              tif=TimeInForce.IOC)  # fmt: skip

    return BuyOnceAndHold


@pytest.fixture(scope="module")
def btc_run(tmp_path_factory):
    """The BTCUSDT capture that spans the 2023-04-05 00:00 UTC settlement, holding 0.005 BTC
    bought 30 s into the run (23:58:50 UTC) through the end."""
    if not BN.is_dir():
        pytest.skip("shared data not present")
    from experiments.trial import run_trial
    from strategies.config import StrategyConfig
    from venues.loaders import DataConfig, load_feed
    from venues.orderbook.config import VenueConfig

    d = tmp_path_factory.mktemp("btc")
    feed = load_feed(DataConfig(format="binance_ws", paths=tuple(BTC_PAIR)), cache_dir=d / "cache")
    cls = _buy_and_hold_class()
    res = run_trial(feed, VenueConfig(profile="binance_usdm"), StrategyConfig(order_qty=0.005, max_position=1.0),
                    cls, 7)  # fmt: skip
    return feed, res


@pytest.mark.slow
def test_funding_spanning_run_reconciles(btc_run):
    """Holding 0.005 BTC across 2023-04-05 00:00 UTC pays, by Binance's rule (nominal value at
    the mark price × rate): 0.005 × 28157.1 × 0.00002754 = 0.0038772... USDT, a non-zero
    cost_funding; and the PnL is the fill's cash flow − fee − that funding + 0.005 × final mid."""
    feed, res = btc_run
    assert feed.funding is not None and res.pnl_currency == "USDT"
    m, f = res.metrics, res.fills
    assert f.size >= 1 and f["q_after"][-1] == pytest.approx(0.005) and np.all(f["side"] == 1)
    T = 1680652800000 * 10**6
    assert f["ts_ns"][-1] < T  # bought before the settlement
    expected = 0.005 * 28157.1 * 0.00002754
    assert expected == pytest.approx(0.003877232670, rel=1e-9)
    assert m["cost_funding"] == pytest.approx(expected, rel=1e-12)
    assert m["n_funding"] == 1.0 and m["funding_missing"] == 0.0
    # fee: taker 5 bps of px × qty (Binance USD-M VIP 0)
    assert f["fee"] == pytest.approx(f["px"] * f["qty"] * 5e-4, rel=1e-12)
    cash = -np.sum(f["px"] * f["qty"]) - np.sum(f["fee"]) - expected
    final_mid = float(res.equity["mid"][-1])
    assert m["pnl"] == pytest.approx(cash + 0.005 * final_mid, rel=0, abs=1e-9)
    assert abs(m["cost_residual"]) < 1e-9
    # the equity curve carries the payment from T on: the step at T is −payment + q × Δmid
    eq = res.equity
    at = np.flatnonzero(eq["ts_ns"] == T)
    assert at.size
    k = at[-1]
    step = eq["equity"][k] - eq["equity"][k - 1]
    assert step == pytest.approx(-expected + 0.005 * (eq["mid"][k] - eq["mid"][k - 1]), abs=1e-9)


def test_tardis_derivative_ticker_settlement(tmp_path):
    """tardis ``derivative_ticker`` rows announce the next funding time (µs) with the current
    rate: the settlement at T = 2023-04-05 00:00 UTC takes the last rate announced before T
    (0.00012, not the earlier 0.0001) and the last mark at or before T (28156.5)."""
    from venues.loaders.funding import detect_funding

    T = 1680652800000000
    head = ("exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
            "open_interest,last_price,index_price,mark_price")  # fmt: skip
    rows = [head,
            f"binance-futures,BTCUSDT,{T - 2_000_000},{T - 1_999_000},{T},0.0001,,1000,28150.0,28160.0,28155.5",
            f"binance-futures,BTCUSDT,{T - 1_000_000},{T - 999_000},{T},0.00012,,1000,28150.0,28160.0,28156.5",
            f"binance-futures,BTCUSDT,{T + 1_000_000},{T + 1_001_000},{T + 8 * 3600 * 10**6},0.00009,,1000,"
            "28150.0,28160.0,28158.0"]  # fmt: skip
    p = tmp_path / "binance-futures_derivative_ticker_2023-04-05_BTCUSDT.csv"
    p.write_text("\n".join(rows) + "\n")
    r = detect_funding("binance_ws", [], None, str(p))
    assert r.ts_ns.tolist() == [T * 1000] and r.rate.tolist() == [0.00012] and r.mark.tolist() == [28156.5]


def _sweep(tmp_path, data_extra: str = "", venue_extra: str = "") -> Path:
    bundled = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt"
    paths = [str(bundled / "ethusdt_20240718.gz"), str(bundled / "ethusdt_20240719.gz")]
    p = tmp_path / "s.toml"
    p.write_text(
        f'[sweep]\nname = "s"\n\n[data]\nformat = "binance_ws"\npaths = {json.dumps(paths)}\n{data_extra}\n'
        f'[venue]\nprofile = "binance_usdm"\ntick_size = 0.01\nlot_size = 0.001\n{venue_extra}\n'
        '[strategy]\nkind = "glft"\norder_qty = 0.05\nmax_position = 0.5\n'
    )
    return p


def test_config_funding_path_resolved_and_checked(tmp_path):
    """``[data] funding`` resolves against the sweep file; a missing file is a config problem."""
    from experiments.config import ConfigError, load_sweep

    (tmp_path / "rates.csv").write_text("symbol,fundingTime,fundingRate\nETHUSDT,1721347200000,0.0001\n")
    spec = load_sweep(_sweep(tmp_path, 'funding = "rates.csv"'))
    assert spec.data.funding == str((tmp_path / "rates.csv").resolve())
    with pytest.raises(ConfigError, match=r"data\.funding: file not found: nope\.csv"):
        load_sweep(_sweep(tmp_path, 'funding = "nope.csv"'))


@pytest.mark.parametrize(
    ("venue_extra", "match"),
    [
        ("fee_tier = 12", r"venue\.fee_tier"),
        ("staking_discount = 0.1", r"venue\.staking_discount: a Hyperliquid fee discount"),
        ("contract_size = 10.0", r"venue\.contract_size: only for inverse"),
    ],
)
def test_config_profile_option_problems(tmp_path, venue_extra, match):
    """Fee tiers outside the venue's table, Hyperliquid discounts on Binance, and a contract
    size on a linear profile are reported before anything runs."""
    from experiments.config import ConfigError, load_sweep

    with pytest.raises(ConfigError, match=match):
        load_sweep(_sweep(tmp_path, venue_extra=venue_extra))


@pytest.mark.slow
def test_hyperliquid_run_with_funding_file(tmp_path):
    """The bundled Hyperliquid ETH capture (2025-09-03 12:55 → 13:04 UTC) spans the 13:00 UTC
    funding. Without funding data the run reports funding_missing = 1 and the feed warns; with a
    fundingHistory file (fixture: 0.0000125 at 13:00:00.012, the base rate 0.01 %/8 h paid
    hourly) a long of 0.01 ETH pays 0.01 × mid(T) × 0.0000125, the mid standing in for the oracle
    price, and mid(T) lies inside the recorded best bid/ask (``prices_ETH``) at T."""
    from experiments.trial import run_trial
    from strategies.config import StrategyConfig
    from venues.loaders import DataConfig, load_feed
    from venues.orderbook.config import VenueConfig

    hl = Path(__file__).resolve().parents[2] / "data" / "hyperliquid_eth"
    T_ms = 1756904400012
    fh = tmp_path / "fh.json"
    fh.write_text(json.dumps([{"coin": "ETH", "fundingRate": "0.0000125", "premium": "0.0", "time": T_ms}]))
    paths = (str(hl / "orderbooks_ETH.csv.gz"), str(hl / "trades_ETH.csv.gz"), str(hl / "prices_ETH.csv.gz"))
    out = {}
    for name, funding in (("none", None), ("file", str(fh))):
        cfg = DataConfig(format="hyperliquid_collector", paths=paths, symbol="ETH",
                         meta_path=str(hl / "sdk_cassette_meta_2023.json"), funding=funding)  # fmt: skip
        feed = load_feed(cfg, cache_dir=tmp_path / "cache")
        res = run_trial(feed, VenueConfig(profile="hyperliquid_perp"), StrategyConfig(order_qty=0.01),
                        _buy_and_hold_class(), 3)  # fmt: skip
        out[name] = (feed, res)
    feed, res = out["none"]
    assert res.metrics["funding_missing"] == 1.0 and res.metrics["cost_funding"] == 0.0
    assert any("2025-09-03T13:00:00Z" in w for w in feed.warnings)
    feed, res = out["file"]
    m, f, eq = res.metrics, res.fills, res.equity
    T = T_ms * 10**6
    assert m["n_funding"] == 1.0 and m["funding_missing"] == 0.0 and res.pnl_currency == "USDC"
    assert f["ts_ns"][-1] < T and f["q_after"][-1] == pytest.approx(0.01)
    mid_T = float(eq["mid"][eq["ts_ns"] == T][-1])
    bbo = feed.bbo[feed.bbo["ts_local_ns"] <= T][-1]
    assert bbo["bid_px"] <= mid_T <= bbo["ask_px"]
    assert m["cost_funding"] == pytest.approx(0.01 * mid_T * 0.0000125, rel=1e-12)
    assert m["funding_mark_from_mid"] == 1.0


def test_doctests():
    """The funding module's docstring examples run and pass."""
    import doctest

    from components import funding as funding_module

    result = doctest.testmod(funding_module)
    assert result.attempted > 0 and result.failed == 0
