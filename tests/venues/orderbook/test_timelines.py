"""Two timelines (issue 10 item 8; venue.py, venue.exchange_clock).

Matching runs on the exchange clock (each row at ``ts_exch_ns``), the strategy sees the book on
the local clock (``ts_local_ns``). Cases are worked by hand from that rule (hftbacktest's
exchange/local processors replay the same rows at ``exch_ts`` and ``local_ts``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from components.account import Account
from components.orders import Fill, OrderCanceled, TimeInForce
from engine.events import Priority
from engine.kernel import Simulation
from engine.testing import make_feed
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue, exchange_clock

T0 = 1_000_000_000
MS = 1_000_000


def _snapshot(ts):
    rows = [(ts, ts, "clear", 0, 0.0, 0.0)]
    rows += [(ts, ts, "depth", 1, px, q) for px, q in ((100.0, 5.0), (99.99, 5.0))]
    rows += [(ts, ts, "depth", -1, px, q) for px, q in ((100.01, 5.0), (100.02, 5.0))]
    return rows


class _Run:
    """A venue on rows ``(ts_local, ts_exch, kind, side, px, qty)``; reports logged."""

    def __init__(self, rows, **config) -> None:
        rows = sorted(rows, key=lambda r: r[0])
        feed = make_feed([(tl, k, s, px, q) for tl, _, k, s, px, q in rows])
        feed.events["ts_exch_ns"] = [te for _, te, *_ in rows]
        self.sim = Simulation(seed=0)
        self.account = Account()
        cfg = dict(profile="binance_usdm", tick_size=0.01, lot_size=0.001, min_notional=0.0,
                   entry_latency_ms=1.0, response_latency_ms=1.0)  # fmt: skip
        cfg.update(config)
        self.venue = OrderBookVenue(self.sim, feed, VenueConfig(**cfg), self.account)
        self.log: list = []

    def at(self, ts, fn):
        self.sim.schedule(ts, Priority.STRATEGY, None, target=lambda _: fn())

    def submit(self, ts, coid, side, px, qty, tif=TimeInForce.GTC):
        self.at(ts, lambda: self.venue.submit(lambda e: self.log.append((self.sim.now_ns, e)), coid, side, px,
                                              qty, tif))  # fmt: skip

    def probe(self, ts, fn):
        out: list = []
        self.at(ts, lambda: out.append(fn()))
        return out

    def of(self, cls):
        return [e for _, e in self.log if type(e) is cls]


END = (T0 + 300 * MS, T0 + 300 * MS, "depth", 1, 99.90, 1.0)


@pytest.mark.parametrize(("timeline", "fill_ms"), [("two", 20), ("local", 25)])
def test_resting_order_fills_at_the_exchange_time_of_the_print(timeline, fill_ms):
    """A sell print through our 100.00 bid happens at 20 ms (exchange) and is received at 25 ms.
    Two timelines: the fill is at 20 ms and its report reaches us at 21 ms, before we see the
    print (take_trade_extremes at 22 ms shows no sell yet; at 26 ms it does). One clock: 25 ms."""
    print_ = (T0 + 25 * MS, T0 + 20 * MS, "trade", -1, 99.99, 1.0)
    r = _Run(_snapshot(T0) + [print_, END], timeline=timeline)
    r.submit(T0, 1, +1, 100.0, 1.0)
    seen = [r.probe(T0 + ms * MS, lambda: r.venue.take_trade_extremes()[1]) for ms in (22, 26)]
    r.sim.run()
    (f,) = r.of(Fill)
    assert (f.venue_ts_ns, f.ts_ns, f.px) == (T0 + fill_ms * MS, T0 + (fill_ms + 1) * MS, 100.0)
    assert math.isnan(seen[0][0]) and seen[1][0] == 99.99


@pytest.mark.parametrize(("timeline", "filled"), [("two", 0.0), ("local", 1.0)])
def test_order_meets_the_exchange_book_while_the_view_lags(timeline, filled):
    """The 100.01 ask is deleted at 12 ms (exchange), seen at 18 ms. An IOC buy @ 100.01 sent at
    5 ms arrives at 15 ms: on the exchange clock the level is gone (no fill, canceled "ioc");
    on one clock it is still there. The strategy's view at 16 ms still shows 100.01."""
    gone = (T0 + 18 * MS, T0 + 12 * MS, "depth", -1, 100.01, 0.0)
    r = _Run(_snapshot(T0) + [gone, END], timeline=timeline, entry_latency_ms=10.0)
    r.submit(T0 + 5 * MS, 1, +1, 100.01, 1.0, TimeInForce.IOC)
    touch = r.probe(T0 + 16 * MS, r.venue.touch)
    r.sim.run()
    assert sum(f.qty for f in r.of(Fill)) == filled
    assert touch == [(100.0, 100.01)]
    if not filled:
        (c,) = r.of(OrderCanceled)
        assert c.reason == "ioc"


def test_configured_feed_latency_when_the_data_has_no_exchange_time():
    """Rows without an exchange time (ts_exch = -1): feed latency 0 by default (the IOC at 15 ms
    still finds 100.01, deleted at 18 ms); feed_latency_ms = 6 puts the deletion at 12 ms."""
    rows = [(*r[:1], -1, *r[2:]) for r in _snapshot(T0)]
    gone = (T0 + 18 * MS, -1, "depth", -1, 100.01, 0.0)
    got = []
    for lat in (None, 6.0):
        r = _Run(rows + [gone, (END[0], -1, *END[2:])], entry_latency_ms=10.0, feed_latency_ms=lat)
        r.submit(T0 + 5 * MS, 1, +1, 100.01, 1.0, TimeInForce.IOC)
        r.sim.run()
        got.append(sum(f.qty for f in r.of(Fill)))
        assert r.venue.two_books == (lat is not None)
    assert got == [1.0, 0.0]


def test_clock_skew_is_moved_out_of_the_exchange_times():
    """One row claims to happen 2 ms after it was received (recorder clock behind): every
    exchange time moves 2 ms earlier, so no row is received before it happens."""
    feed = make_feed([(T0, "depth", 1, 100.0, 1.0), (T0 + 10 * MS, "depth", 1, 100.0, 2.0),
                      (T0 + 20 * MS, "depth", 1, 100.0, 3.0)])  # fmt: skip
    feed.events["ts_exch_ns"] = [T0 - 1 * MS, T0 + 12 * MS, T0 + 15 * MS]
    ev, offset = exchange_clock(feed.events, "two", None)
    assert offset == 2 * MS
    assert ev["ts_local_ns"].tolist() == [T0 - 3 * MS, T0 + 10 * MS, T0 + 13 * MS]
    assert exchange_clock(feed.events, "local", None) == (None, 0)


def test_exchange_order_is_a_stable_sort_by_exchange_time():
    """Rows received in one order but stamped in another are matched in exchange order; equal
    exchange times keep the received order."""
    feed = make_feed([(T0 + k * MS, "depth", 1, 100.0 - k / 100, 1.0) for k in range(4)])
    feed.events["ts_exch_ns"] = [T0, T0 - 5 * MS, T0, T0 - 5 * MS]
    ev, _ = exchange_clock(feed.events, "two", None)
    assert ev["px"].tolist() == [99.99, 99.97, 100.0, 99.98]


@pytest.mark.parametrize(("tie", "filled"), [("orders_first", 1.0), ("data_first", 0.0)])
def test_same_timestamp_tie_order(tie, filled):
    """An IOC reaching the venue at 15 ms, the very time the 100.01 level is deleted: matched
    before that row ("orders_first", fills) or after it ("data_first", hftbacktest's order)."""
    gone = (T0 + 15 * MS, T0 + 15 * MS, "depth", -1, 100.01, 0.0)
    r = _Run(_snapshot(T0) + [gone, END], entry_latency_ms=10.0, tie_order=tie)
    r.submit(T0 + 5 * MS, 1, +1, 100.01, 1.0, TimeInForce.IOC)
    r.sim.run()
    assert sum(f.qty for f in r.of(Fill)) == filled


def test_equity_marks_sample_the_view_book():
    """The bid moves from 100.00 to 99.95 at 150 ms (exchange), seen at 250 ms: the 200 ms sample
    (book before the first local row at/after 200 ms) still shows 100.00; the 300 ms one 99.95.
    The final mark after the last row is the final view book."""
    move = [(T0 + 250 * MS, T0 + 150 * MS, "depth", 1, 100.0, 0.0),
            (T0 + 250 * MS, T0 + 150 * MS, "depth", 1, 99.99, 0.0),
            (T0 + 250 * MS, T0 + 150 * MS, "depth", 1, 99.95, 1.0)]  # fmt: skip
    end = (T0 + 350 * MS, T0 + 350 * MS, "depth", -1, 100.05, 1.0)
    r = _Run(_snapshot(T0) + move + [end])
    r.sim.run()
    s = r.venue.touch_samples()
    by_t = dict(zip(((s["ts_ns"] - T0) // MS).tolist(), s["best_bid"].tolist(), strict=True))
    assert by_t[200] == 100.0 and by_t[300] == 99.95
    assert s["ts_ns"][-1] == T0 + 300 * MS


def test_shared_clock_uses_one_book():
    """When every row's exchange time equals its local time, one book serves both (no cost)."""
    r = _Run(_snapshot(T0) + [END])
    assert not r.venue.two_books
    assert r.venue._lbook is r.venue._book
    assert np.array_equal(r.venue.touch(), (math.nan, math.nan), equal_nan=True)


def test_pre_snapshot_diffs_stay_after_their_snapshot():
    """A REST snapshot received at 100 ms (no exchange time) and a buffered diff applied right
    after it (received-stamped 100 ms, exchange time 90 ms) deleting the 100.01 ask. Sorted by
    exchange time alone the diff would come first and the snapshot's CLEAR would bring 100.01
    back; the snapshot barrier keeps it after: an IOC @ 100.01 arriving at 150 ms finds nothing."""
    snap = [(T0 + 100 * MS, -1, *r[2:]) for r in _snapshot(T0 + 100 * MS)]
    diff = (T0 + 100 * MS, T0 + 90 * MS, "depth", -1, 100.01, 0.0)
    r = _Run(_snapshot(T0) + snap + [diff, END])
    r.submit(T0 + 149 * MS, 1, +1, 100.01, 1.0, TimeInForce.IOC)
    r.sim.run()
    assert r.of(Fill) == []
    ev, _ = exchange_clock(r.venue._lev, "two", None)
    assert ev is None or (ev["ts_local_ns"][np.flatnonzero(ev["px"] == 100.01)[-1]] == T0 + 100 * MS)


def test_snapshot_rows_share_one_exchange_time():
    """A snapshot's DEPTH rows with scattered exchange stamps all take its CLEAR's exchange
    time, so the snapshot is applied at once on the exchange clock."""
    rows = _snapshot(T0)
    rows = [(tl, T0 - 5000 + k * 1000, *rest) for k, (tl, _, *rest) in enumerate(rows)]
    feed = make_feed([(tl, k, s, px, q) for tl, _, k, s, px, q in rows] + [(T0 + MS, "depth", 1, 99.9, 1.0)])
    feed.events["ts_exch_ns"] = [te for _, te, *_ in rows] + [T0 + MS]
    ev, _ = exchange_clock(feed.events, "two", None)
    assert ev["ts_local_ns"][:5].tolist() == [T0 - 5000] * 5


def test_bundled_binance_capture_matches_on_the_exchange_clock(tmp_path):
    """Bundled ETHUSDT capture (day 1): its recorded feed latency is negative (the recorder's
    clock runs about 1.52 s behind Binance's), so the exchange times are moved back by that skew.
    Every maker fill of a GLFT run happens at the exchange time of a replayed row, and the
    strategy hears of it one response latency later."""
    from experiments.trial import run_trial
    from strategies.glft import GLFTConfig, GLFTQuoter
    from venues.loaders import DataConfig, load_feed

    path = Path(__file__).resolve().parents[3] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
    feed = load_feed(DataConfig(format="binance_ws", paths=(str(path),)), cache_dir=tmp_path)
    ev, offset = exchange_clock(feed.events, "two", None)
    assert ev is not None and 1_400 * MS < offset < 1_600 * MS
    lat = feed.events["ts_local_ns"] - (feed.events["ts_exch_ns"] - offset)
    has = feed.events["ts_exch_ns"] > 0
    assert lat[has].min() == 0
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001)
    cfg = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, interval_ms=100)
    fills = run_trial(feed, venue, cfg, GLFTQuoter, seed=0).fills
    maker = fills[fills["is_maker"]]
    assert maker.size > 5
    assert np.isin(maker["ts_ns"], ev["ts_local_ns"]).all()
    assert not np.isin(maker["ts_ns"], feed.events["ts_local_ns"]).all()
