"""Many resting orders, and the open-order limit checked before the ack (issue 10 item 4; venue.py, _book_nb.py)."""

from __future__ import annotations

from components.orders import Fill, OrderAccepted, OrderCanceled, OrderRejected, TimeInForce

T0 = 1_000_000_000
MS = 1_000_000


def _rows() -> list[tuple]:
    return [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, 1.0),
        (T0, "depth", -1, 100.01, 1.0),
        (T0 + 20 * MS, "trade", -1, 99.5, 0.001),  # sells through every bid above 99.50
        (T0 + 30 * MS, "trade", 1, 100.51, 0.001),  # buys through every ask below 100.51
        (T0 + 200 * MS, "depth", 1, 95.0, 1.0),
    ]


def test_ladder_of_250_resting_orders(venue_harness):
    """125 bids (99.99 down to 98.75) and 125 asks (100.02 up to 101.26) of 0.002, one tick apart:
    all rest. The sell print of 0.001 at 99.50 fills the 49 bids above it whole and, with no
    recorded size ahead at 99.50, one lot of the bid there; the buy print at 100.51 likewise (49
    asks whole, one lot at 100.51). The cancels then report the rest with its leaves."""
    h = venue_harness(_rows())
    bids = [(1 + k, +1, (9_999 - k) / 100) for k in range(125)]
    asks = [(126 + k, -1, (10_002 + k) / 100) for k in range(125)]
    for coid, side, px in bids + asks:
        h.submit(T0 + 1 * MS, coid, side, px, 0.002)
    for coid, _, _ in bids + asks:
        h.cancel(T0 + 50 * MS, coid)
    h.run()
    assert len(h.of(OrderAccepted)) == 250
    whole = {c for c, _, px in bids if px > 99.5} | {c for c, _, px in asks if px < 100.51}
    at_print = {c for c, _, px in bids if px == 99.5} | {c for c, _, px in asks if px == 100.51}
    assert len(whole) == 98 and len(at_print) == 2
    fills = {f.client_order_id: (f.qty, f.leaves_qty) for f in h.of(Fill)}
    assert len(h.of(Fill)) == 100
    assert fills == {**{c: (0.002, 0.0) for c in whole}, **{c: (0.001, 0.001) for c in at_print}}
    canceled = {c.client_order_id: c.leaves_qty for c in h.of(OrderCanceled)}
    rest = {c for c, _, _ in bids + asks} - whole - at_print
    assert canceled == {**{c: 0.002 for c in rest}, **{c: 0.001 for c in at_print}}
    rejects = h.of(OrderRejected)  # only the late cancels of the orders filled whole
    assert {r.client_order_id for r in rejects} == whole and {r.reason for r in rejects} == {"unknown_order"}
    assert abs(h.account.q) < 1e-12  # 49.5 lots of 0.002 bought, as many sold


def test_order_over_the_open_order_limit_is_rejected_without_an_ack(venue_harness):
    """At the limit a GTC order gets one report, the reject; an IOC still trades; after a cancel
    a new order rests again."""
    h = venue_harness(_rows())
    h.venue.max_open_orders = 3
    for coid in (1, 2, 3, 4):
        h.submit(T0 + 1 * MS, coid, +1, 99.0 - coid / 100, 0.001)
    h.submit(T0 + 2 * MS, 5, +1, 100.01, 0.001, TimeInForce.IOC)
    h.cancel(T0 + 3 * MS, 1)
    h.submit(T0 + 5 * MS, 6, +1, 98.5, 0.001)
    h.run()
    assert [type(e).__name__ for e in h.reports if e.client_order_id == 4] == ["OrderRejected"]
    (rej,) = h.of(OrderRejected, 4)
    assert rej.reason == "too_many_orders"
    assert [type(e) for e in h.reports if e.client_order_id == 5] == [OrderAccepted, Fill]
    assert [type(e) for e in h.reports if e.client_order_id == 6] == [OrderAccepted]
