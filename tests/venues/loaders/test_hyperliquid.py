"""Hyperliquid loaders on the shared recordings and the bundled sample."""

from __future__ import annotations

import numpy as np

from engine.feed import CLEAR, DEPTH, TRADE
from venues.loaders import DataConfig, load_feed
from venues.loaders.book import RefBook
from venues.loaders.hyperliquid import iso_to_ns, seconds_to_ns


def _check_sorted_snapshots(feed, levels=20):
    ev = feed.events
    ts = ev["ts_local_ns"]
    assert np.all(ts[1:] >= ts[:-1])
    clears = np.flatnonzero(ev["kind"] == CLEAR)
    assert clears.size > 0 and np.all(ev["side"][clears] == 0)
    book = RefBook()
    book.apply(ev)
    assert book.best_bid() < book.best_ask()
    assert len(book.bids) <= levels and len(book.asks) <= levels


def test_timestamp_parsing():
    """ISO and decimal-second local timestamps convert to exact integer ns."""
    assert iso_to_ns("1970-01-01T00:00:01.5") == 1_500_000_000
    assert iso_to_ns("2024-01-01T12:00:01.138942031Z") == 1_704_110_401_138_942_031
    assert seconds_to_ns("1756904112.7963579") == 1_756_904_112_796_357_900


def test_archive(shared):
    """The S3 l2Book archive: 3,738 snapshots of 20 levels each, exchange time in ms → ns."""
    d = shared / "hyperliquid_perp_l2book_trades" / "archive"
    path = next(d.glob("*.jsonl.gz"))
    feed = load_feed(DataConfig(format="hyperliquid_archive", paths=(str(path),),
                                meta_path=str(shared / "hyperliquid_meta_funding" /
                                              "sdk_cassette_meta_2023.json")))
    assert (feed.events["kind"] == CLEAR).sum() == 3738
    assert (feed.events["kind"] == DEPTH).sum() == 3738 * 40
    assert feed.meta.symbol == "BTC" and feed.meta.sz_decimals == 5 and feed.meta.tick_size == 1.0
    (w,) = feed.warnings  # the archive holds books only: the data checks say so
    assert w.startswith(f"{path}:1: no trades in the data (book-only)")
    _check_sorted_snapshots(feed)


def test_ws(shared):
    """Raw websocket lines: 46 l2Book snapshots and the trades with taker side from B/A."""
    path = shared / "hyperliquid_perp_l2book_trades" / "hftbacktest_raw" / "BTC_20250126.gz"
    feed = load_feed(DataConfig(format="hyperliquid_ws", paths=(str(path),)))
    ev = feed.events
    assert (ev["kind"] == CLEAR).sum() == 46
    tr = ev[ev["kind"] == TRADE]
    assert tr.size > 9 and set(tr["side"].tolist()) <= {1, -1}
    assert np.all(tr["trade_id"] > 0)
    _check_sorted_snapshots(feed)


def test_collector_sol(shared):
    """Collector CSVs for SOL: snapshots, trades, BBO; documented warnings only."""
    d = shared / "hyperliquid_perp_l2book_trades" / "collector_csv"
    paths = tuple(str(d / f"{k}_SOL.csv.gz") for k in ("orderbooks", "trades", "prices"))
    feed = load_feed(DataConfig(format="hyperliquid_collector", paths=paths))
    assert feed.meta.symbol == "SOL" and (feed.events["kind"] == CLEAR).sum() == 446
    assert (feed.events["kind"] == TRADE).sum() == 1027 - 1  # one re-delivered duplicate
    vendor = [w for w in feed.warnings if "gap(s) longer than" not in w and not w.startswith("funding:")]
    assert len(vendor) == 2  # besides the data checks (gaps) and the funding coverage note
    assert any("catch-up" in w for w in feed.warnings)
    assert any("re-delivered" in w for w in feed.warnings)
    assert feed.bbo.size > 3000
    _check_sorted_snapshots(feed)


def test_bundled_hyperliquid_sample_offline(bundled):
    """The bundled ETH collector sample loads offline with szDecimals from the bundled meta,
    and its BBO agrees with the snapshots' best prices where both come from one exchange ms."""
    d = bundled / "hyperliquid_eth"
    paths = tuple(str(d / f"{k}_ETH.csv.gz") for k in ("orderbooks", "trades", "prices"))
    feed = load_feed(DataConfig(format="hyperliquid_collector", paths=paths,
                                meta_path=str(d / "sdk_cassette_meta_2023.json")))
    assert feed.meta.sz_decimals == 4 and feed.meta.venue == "hyperliquid"
    assert feed.meta.tick_size == 0.1 and feed.meta.lot_size == 0.0001
    assert (feed.events["kind"] == TRADE).sum() == 781
    _check_sorted_snapshots(feed)


def test_bundled_binance_sample_offline(bundled):
    """The bundled USD-M pair loads offline, one continuous capture with one snapshot."""
    d = bundled / "binance_usdm_ethusdt"
    feed = load_feed(DataConfig(format="binance_ws", paths=(str(d / "ethusdt_20240718.gz"),
                                                            str(d / "ethusdt_20240719.gz"))))
    assert (feed.events["kind"] == CLEAR).sum() == 1
    assert feed.meta.n_gaps == 0 and feed.bbo.size == 9089 + 38239
