"""Queue estimates across book resets (CLEAR / snapshots) (issue 10 item 3; _book_nb._end_snapshot).

Rule: a level beyond the depth a snapshot shows keeps its estimate; a level the snapshot shows
takes ``min(estimate, visible size)``; only a level that is visibly empty puts us first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.account import Account
from components.orders import Fill, OrderAccepted, TimeInForce
from engine.events import Priority
from engine.kernel import Simulation
from venues.loaders import DataConfig, load_feed
from venues.loaders.testing import fut_diff, snapshot, trade, write_capture
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue

REPO = Path(__file__).resolve().parents[3]
MS = 1_000_000
T0 = 1_721_347_021_000_000_000


class _Run:
    """A venue on a loaded feed, commands at chosen times, reports logged."""

    def __init__(self, feed, config: VenueConfig) -> None:
        self.sim = Simulation(seed=0)
        self.account = Account()
        self.venue = OrderBookVenue(self.sim, feed, config, self.account)
        self.reports: list = []

    def at(self, ts, fn):
        self.sim.schedule(ts, Priority.STRATEGY, None, target=lambda _: fn())

    def submit(self, ts, coid, side, px, qty):
        self.at(ts, lambda: self.venue.submit(self.reports.append, coid, side, px, qty, TimeInForce.GTC))

    def probe(self, ts, fn):
        out: list = []
        self.at(ts, lambda: out.append(fn()))
        return out


def _binance_feed(tmp_path, resync_bids):
    """Snapshot, one diff, a broken chain (gap: the loader emits a lone CLEAR and drops diffs), a
    sell print at 100.0 during the gap, then a REST snapshot with ``resync_bids``."""
    lines = [
        (T0 + 1 * MS, snapshot(100, [(100.0, 5), (99.0, 3)], [(101.0, 2), (102.0, 1)])),
        (T0 + 2 * MS, fut_diff(99, 105, 99, bids=[(99.5, 1)])),
        (T0 + 10 * MS, fut_diff(115, 120, 112, asks=[(103.0, 4)])),  # pu 112 != 105: gap
        (T0 + 20 * MS, trade(7, 100.0, 2, True)),  # buyer is maker: a taker sell of 2 at 100.0
        (T0 + 30 * MS, snapshot(130, resync_bids, [(101.0, 2), (102.0, 1)])),
        (T0 + 40 * MS, fut_diff(126, 131, 125, asks=[(102.0, 1.5)])),
        (T0 + 100 * MS, trade(8, 101.0, 0.001, False)),  # a taker buy at the ask ends the feed
    ]
    feed = load_feed(DataConfig(format="binance_ws", paths=(write_capture(tmp_path / "gap.gz", lines),)))
    assert len(feed.gaps) == 1
    return feed


def _binance_run(feed):
    # timeline="local": the capture helpers stamp every message with one fixed exchange time
    # (E = 2023-11-14), so only the receive clock orders these rows (issue 10 item 8)
    cfg = VenueConfig(profile="binance_usdm", tick_size=0.1, lot_size=0.001, min_notional=0.0,
                      entry_latency_ms=1.0, response_latency_ms=1.0, timeline="local")  # fmt: skip
    r = _Run(feed, cfg)
    r.submit(T0 + 3 * MS, 1, +1, 100.0, 1.0)  # rests at 4 ms behind 5
    probes = [r.probe(T0 + ms * MS, lambda: r.venue.queue_ahead(1)) for ms in (5, 15, 25, 35, 45)]
    r.sim.run()
    return r, [p[0] for p in probes]


def test_binance_gap_keeps_the_estimate_and_resync_caps_it(tmp_path):
    """The gap's lone CLEAR shows no level: we stay 5 back (not first). The print of 2 during the
    gap moves us to 3 and fills nothing; the resync snapshot shows 100.0 x 4: min(3, 4) = 3."""
    r, ahead = _binance_run(_binance_feed(tmp_path, [(100.0, 4), (99.0, 3)]))
    assert ahead == [5.0, 5.0, 3.0, 3.0, 3.0]
    assert [type(e) for e in r.reports] == [OrderAccepted]


def test_binance_resync_showing_our_level_empty_puts_us_first(tmp_path):
    """The resync snapshot's bids start at 99.5: our 100.0 is inside its range with no size, so
    it is visibly empty and we are first (0 ahead)."""
    r, ahead = _binance_run(_binance_feed(tmp_path, [(99.5, 1), (99.0, 3)]))
    assert ahead == [5.0, 5.0, 3.0, 0.0, 0.0]


def test_hyperliquid_truncated_snapshot_keeps_deep_estimate():
    """Bundled Hyperliquid ETH l2Book snapshots show 20 levels per side. We join the bid at 4342.6,
    the 20th (deepest) level of the snapshot at 1756904121562978300 (314.7085 ETH ahead). The next
    snapshot (…122076186700) starts its bids at 4342.9: 4342.6 is beyond its depth, so we keep
    314.7085. The first later snapshot whose bids reach 4342.6 again (…129789307800) shows 4.637
    there: min(314.7085, 4.637) = 4.637. No print at 4342.6 in between (recorded trades file)."""
    d = REPO / "data" / "hyperliquid_eth"
    paths = tuple(str(d / f"{k}_ETH.csv.gz") for k in ("orderbooks", "trades", "prices"))
    feed = load_feed(DataConfig(format="hyperliquid_collector", paths=paths,
                                meta_path=str(d / "sdk_cassette_meta_2023.json")))  # fmt: skip
    t_join, t_out, t_back = 1756904121562978300, 1756904122076186700, 1756904129789307800
    r = _Run(
        feed, VenueConfig(profile="hyperliquid", entry_latency_ms=0.0, response_latency_ms=0.0, timeline="local")
    )  # probes are timed on the receive clock
    r.submit(t_join, 1, +1, 4342.6, 0.01)
    probes = [r.probe(t, lambda: r.venue.queue_ahead(1)) for t in (t_join + 1, t_out, t_back - 1, t_back)]
    r.sim.run()
    got = [p[0] for p in probes]
    assert got == [pytest.approx(314.7085, abs=1e-9)] * 3 + [pytest.approx(4.637, abs=1e-9)]
    assert not [e for e in r.reports if isinstance(e, Fill) and e.venue_ts_ns <= t_back]
