"""Feed-wide scans at venue start are remembered for read-only feeds (venues/orderbook/venue.py:_scan_once).

A sweep worker builds a venue per batch (or trial) on the same memory-mapped feed; the price
window and the grid check read the whole feed, so they run once per feed, not per venue. A
writeable array may change between venues: it is scanned every time.
"""

from __future__ import annotations

import numpy as np

from engine.feed import DEPTH, EVENT_DTYPE
from venues.orderbook import venue as V


def _events(px: list[float]) -> np.ndarray:
    ev = np.zeros(len(px), dtype=EVENT_DTYPE)
    ev["ts_local_ns"] = np.arange(len(px))
    ev["kind"], ev["side"], ev["px"], ev["qty"] = DEPTH, 1, px, 1.0
    return ev


def test_read_only_feed_is_scanned_once_and_a_writeable_one_each_time():
    calls: list[int] = []

    def scan(ev, *args):
        calls.append(ev.size)
        return V.feed_price_window(ev)

    scan.__name__ = "feed_price_window"
    ro = _events([100.0, 101.0, 99.0])
    ro.flags.writeable = False
    assert V._scan_once(ro, scan) == V._scan_once(ro, scan) == (100.0, 99.0)
    assert calls == [3]
    other = _events([10.0, 12.0])  # another feed: its own scan
    other.flags.writeable = False
    assert V._scan_once(other, scan) == (11.0, 10.0)
    rw = _events([100.0, 101.0, 99.0])
    V._scan_once(rw, scan)
    rw["px"][:] = [50.0, 50.0, 50.0]
    assert V._scan_once(rw, scan) == (50.0, 50.0)
    assert calls == [3, 2, 3, 3]
    assert V._scan_once(ro, V.first_off_grid, 100.0) == -1  # arguments are part of the key
    assert V._scan_once(ro, V.first_off_grid, 1.0) == -1
    assert V._scan_once(_events([100.005]), V.first_off_grid, 100.0) == 0
