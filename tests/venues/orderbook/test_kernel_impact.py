"""Own market impact of aggressive orders (issue 10 item 11; _book_nb.take_nb, venue.py)."""

from __future__ import annotations

import pytest

from components.orders import Fill, OrderCanceled, TimeInForce

T0 = 1_000_000_000
MS = 1_000_000


def _run(venue_harness, own_impact):
    rows = [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, 1.0),
        (T0, "depth", -1, 100.01, 1.0),
        (T0, "depth", -1, 100.02, 2.0),
        (T0 + 30 * MS, "depth", -1, 100.01, 1.0),  # the recorded book restates 100.01
        (T0 + 200 * MS, "depth", 1, 99.0, 1.0),
    ]
    h = venue_harness(rows, own_impact=own_impact)
    h.submit(T0 + 1 * MS, 1, +1, 100.02, 1.5, TimeInForce.IOC)
    h.submit(T0 + 10 * MS, 2, +1, 100.02, 1.5, TimeInForce.IOC)
    h.submit(T0 + 20 * MS, 3, +1, 100.02, 1.0, TimeInForce.IOC)
    h.submit(T0 + 40 * MS, 4, +1, 100.01, 1.0, TimeInForce.IOC)
    h.run()
    fills = {c: [(f.px, f.qty) for f in h.of(Fill, c)] for c in (1, 2, 3, 4)}
    canceled = {c.client_order_id: c.leaves_qty for c in h.of(OrderCanceled)}
    return fills, canceled


def test_without_impact_every_ioc_retakes_the_same_liquidity(venue_harness):
    """Default (own_impact=false): the replayed book is not depleted, so each IOC sees 1.0 @ 100.01 + 2.0 @ 100.02."""
    fills, canceled = _run(venue_harness, False)
    assert fills == {
        1: [(100.01, 1.0), (100.02, 0.5)],
        2: [(100.01, 1.0), (100.02, 0.5)],
        3: [(100.01, 1.0)],
        4: [(100.01, 1.0)],
    }
    assert canceled == {}


def test_with_impact_taken_liquidity_stays_gone_until_the_level_updates(venue_harness):
    """own_impact=true: IOC 1 takes 1.0 @ 100.01 and 0.5 @ 100.02; IOC 2 finds 100.01 empty and
    1.5 left at 100.02; IOC 3 finds nothing (canceled in full); the DEPTH row restating 100.01 at
    30 ms gives it back, so IOC 4 takes 1.0 @ 100.01 again."""
    fills, canceled = _run(venue_harness, True)
    assert fills == {
        1: [(100.01, 1.0), (100.02, 0.5)],
        2: [(100.02, 1.5)],
        3: [],
        4: [(100.01, 1.0)],
    }
    assert canceled == {3: 1.0}


def test_impact_does_not_change_the_recorded_book(venue_harness):
    """The strategy's view (touch, level sizes) stays the recorded book."""
    rows = [(T0, "clear", 0, 0.0, 0.0), (T0, "depth", 1, 100.0, 1.0), (T0, "depth", -1, 100.01, 1.0),
            (T0 + 200 * MS, "depth", 1, 99.0, 1.0)]  # fmt: skip
    h = venue_harness(rows, own_impact=True)
    h.submit(T0 + 1 * MS, 1, +1, 100.01, 1.0, TimeInForce.IOC)
    view = h.probe(T0 + 10 * MS, lambda: (h.venue.touch(), h.venue.level_qty(-1, 100.01)))
    h.run()
    assert view == [((100.0, 100.01), 1.0)]
    assert [f.qty for f in h.of(Fill, 1)] == [pytest.approx(1.0)]
