"""Binance capture loader: book rebuild against recorded bookTicker, gaps, pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.feed import CLEAR, DEPTH, TRADE
from venues.loaders import DataConfig, DataError, load_feed
from venues.loaders.binance import open_text, ts_scale
from venues.loaders.book import RefBook
from venues.loaders.testing import fut_diff, snapshot, trade, write_capture

T0 = 1_721_347_021_000_000_000


def _depth_u_by_ts(paths):
    """Map local ts (ns) of each depthUpdate line → its final update id ``u``."""
    out = {}
    for p in paths:
        scale = None
        with open_text(p) as fh:
            for raw in fh:
                sp = raw.find(" ")
                t = int(raw[:sp])
                scale = scale or ts_scale(t)
                if '"depthUpdate"' in raw:
                    out[t * scale] = json.loads(raw[sp + 1 :])["data"]["u"]
    return out


def _compare_with_book_ticker(paths):
    feed = load_feed(DataConfig(format="binance_ws", paths=tuple(paths)))
    u_at = _depth_u_by_ts(paths)
    ev = feed.events
    ts = ev["ts_local_ns"]
    bounds = np.flatnonzero(np.r_[ts[1:] != ts[:-1], True])
    book = RefBook()
    state = {}  # u of the last applied diff → (best_bid, bid_qty, best_ask, ask_qty)
    start = 0
    for end in bounds.tolist():
        book.apply(ev[start : end + 1])
        t = int(ts[end])
        start = end + 1
        u = u_at.get(t)
        if u is not None and book.best_bid() is not None and book.best_ask() is not None:
            bb, ba = book.best_bid(), book.best_ask()
            state[u] = (bb, book.bids[bb], ba, book.asks[ba])
    n = 0
    for row in feed.bbo:
        got = state.get(int(row["update_id"]))
        if got is None:
            continue
        n += 1
        want = (row["bid_px"], row["bid_qty"], row["ask_px"], row["ask_qty"])
        assert got == pytest.approx(want), f"update id {row['update_id']}: {got} != {want}"
    return feed, n


def test_usdm_rebuild_matches_book_ticker(bundled):
    """On the bundled USD-M pair, wherever a bookTicker carries the same update id as the last
    applied diff, the rebuilt best bid/ask (price and size) equal the recorded bookTicker."""
    paths = [bundled / "binance_usdm_ethusdt" / f"ethusdt_2024071{d}.gz" for d in (8, 9)]
    feed, n = _compare_with_book_ticker([str(p) for p in paths])
    assert feed.meta.venue == "binance_usdm" and feed.meta.symbol == "ETHUSDT"
    assert feed.meta.tick_size == 0.01 and feed.meta.lot_size == 0.001
    # the only note is the funding coverage one (venues.loaders.funding): these minutes span 00:00 UTC
    assert feed.gaps == () and [w for w in feed.warnings if not w.startswith("funding:")] == []
    assert n > 500  # thousands of comparison points in practice


def test_spot_rebuild_matches_book_ticker(shared):
    """Same check on the spot pair (spot bookTicker ``u`` is the same order-book update id, so
    it matches the final ``u`` of a depth@100ms batch whenever the batch ends on it)."""
    d = shared / "binance_ws_depth_trades_hftbacktest" / "spot"
    feed, n = _compare_with_book_ticker([str(d / "ethusdt_20240808.gz"),
                                         str(d / "ethusdt_20240809.gz")])
    assert feed.meta.venue == "binance_spot"
    assert n > 50


@pytest.mark.parametrize(
    ("sub", "files", "venue"),
    [
        ("usdm", ("btcusdt_20240808.gz",), "binance_usdm"),
        ("usdm", ("btcusdt_20230404.dat.gz", "btcusdt_20230405.dat.gz"), "binance_usdm"),
        ("cm", ("ethusd_perp_20240808.gz", "ethusd_perp_20240809.gz"), "binance_coinm"),
    ],
)
def test_shared_captures_load_clean(shared, sub, files, venue):
    """Every shared Binance capture loads without gaps or warnings, sorted by local time, with
    µs (2023) timestamps converted to ns."""
    d = shared / "binance_ws_depth_trades_hftbacktest" / sub
    feed = load_feed(DataConfig(format="binance_ws", paths=tuple(str(d / f) for f in files)))
    assert feed.meta.venue == venue and feed.gaps == ()
    assert [w for w in feed.warnings if not w.startswith("funding:")] == []  # funding notes: venues.loaders.funding
    ts = feed.events["ts_local_ns"]
    assert np.all(ts[1:] >= ts[:-1]) and ts[0] > 10**18
    assert (feed.events["kind"] == TRADE).sum() > 1000


def _broken(tmp_path):
    lines = [
        (T0 + 1, fut_diff(90, 99, 80, bids=[(100.0, 1)])),  # before the snapshot: dropped
        (T0 + 2, snapshot(100, [(100.0, 2), (99.0, 1)], [(101.0, 1), (102.0, 3)])),
        (T0 + 3, fut_diff(99, 105, 99, bids=[(100.0, 5)])),  # straddles 100
        (T0 + 4, trade(7, 101.0, 0.5, False)),
        (T0 + 5, fut_diff(106, 110, 105, asks=[(101.0, 0)])),
        (T0 + 6, fut_diff(115, 120, 112, asks=[(103.0, 4)])),  # pu 112 != 110: gap
        (T0 + 7, fut_diff(121, 125, 120, bids=[(99.5, 1)])),
    ]
    return write_capture(tmp_path / "cap.gz", lines)


def test_gap_stop_raises_naming_file_line_ids(tmp_path):
    """A futures diff whose pu != previous u raises with on_gap='stop', naming file, line,
    the expected and the received id and the timestamps."""
    p = _broken(tmp_path)
    with pytest.raises(DataError) as ei:
        load_feed(DataConfig(format="binance_ws", paths=(p,), on_gap="stop"))
    msg = str(ei.value)
    assert p in msg and "line 6" in msg and "110" in msg and "112" in msg
    assert str(T0 + 6) in msg


def test_gap_resync_records_gap_and_clears_book(tmp_path):
    """With on_gap='resync' the gap is recorded with its timestamps, a warning is emitted, the
    book is cleared at the gap and later diffs are dropped (no later snapshot)."""
    p = _broken(tmp_path)
    feed = load_feed(DataConfig(format="binance_ws", paths=(p,)))
    assert len(feed.gaps) == 1 and feed.meta.n_gaps == 1
    g = feed.gaps[0]
    assert (g.ts_local_ns, g.expected_id, g.got_id, g.file, g.line) == (T0 + 6, 110, 112, p, 6)
    assert g.ts_exch_ns == 1_700_000_000_000 * 1_000_000
    assert any("gap" in w for w in feed.warnings)
    assert any("dropped" in w for w in feed.warnings)
    ev = feed.events
    # snapshot CLEAR + 4 levels, diff(line 3), trade, diff(line 5), CLEAR at the gap; nothing after
    assert ev["kind"].tolist() == [CLEAR, DEPTH, DEPTH, DEPTH, DEPTH, DEPTH, TRADE, DEPTH, CLEAR]
    assert ev["ts_local_ns"][-1] == T0 + 6
    assert ev["side"][6] == 1  # m false → taker buy
    book = RefBook()
    book.apply(ev[:-1])
    assert (book.best_bid(), book.bids[100.0], book.best_ask()) == (100.0, 5.0, 102.0)


def test_gap_resync_recovers_on_next_snapshot(tmp_path):
    """After a gap, a later snapshot line re-seeds the book and diffs chain again from it."""
    p = _broken(tmp_path)
    lines = [
        (T0 + 8, snapshot(130, [(99.0, 2)], [(101.5, 1)])),
        (T0 + 9, fut_diff(126, 131, 125, bids=[(99.2, 1)])),
        (T0 + 10, fut_diff(132, 133, 131, bids=[(99.3, 1)])),
    ]
    p2 = write_capture(tmp_path / "cap2.gz", lines)
    feed = load_feed(DataConfig(format="binance_ws", paths=(p, p2)))
    assert len(feed.gaps) == 1
    book = RefBook()
    book.apply(feed.events)
    assert (book.best_bid(), book.best_ask()) == (99.3, 101.5)
    assert 99.5 not in book.bids  # the diff after the gap was dropped, not applied


def test_no_snapshot_is_an_error(tmp_path):
    """A capture without any REST snapshot (e.g. only the second file of a pair) is refused."""
    p = write_capture(tmp_path / "x.gz", [(T0, fut_diff(1, 2, 0, bids=[(1.0, 1)]))])
    with pytest.raises(DataError, match="no REST depth snapshot"):
        load_feed(DataConfig(format="binance_ws", paths=(p,)))


def test_missing_file_named(tmp_path):
    """A missing file raises DataError naming it."""
    missing = str(tmp_path / "nope.gz")
    with pytest.raises(DataError, match="nope.gz"):
        load_feed(DataConfig(format="binance_ws", paths=(missing,)))
