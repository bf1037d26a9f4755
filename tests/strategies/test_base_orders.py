"""The strategy base class keeps its local order record right through modify, market orders and
rejects (``strategies/base.py``), on a real venue with a scripted book.

Book: asks 100.01 x 1, 100.02 x 2; bids 100.00 x 1.5, 99.98 x 2.5; 1 ms latency each way.
Rules checked (the venue's documented ones, Binance USDⓈ-M "Modify Order"): a modify that the
venue applies changes the order's price and open size when the report arrives; a rejected modify
leaves the original order resting and known to the strategy; a cancel that never reached the
venue (rejected in transit) leaves the order open; a rejected new order is forgotten.
"""

from __future__ import annotations

from components.account import Account
from components.latency import RequestKind
from components.orders import OrderModified, OrderRejected, Side
from engine.events import Priority
from engine.kernel import Simulation
from engine.testing import book_rows, make_feed
from strategies.base import Strategy
from strategies.config import StrategyConfig
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue

T0 = 1_000_000_000
MS = 1_000_000


class Recorder(Strategy):
    """A strategy that only records the reports its hooks see."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen: list = []

    def on_order_modified(self, event):
        self.seen.append(event)

    def on_order_rejected(self, event):
        self.seen.append(event)


def _setup(cancel_in_transit: bool = False):
    sim = Simulation(seed=0)
    rows = book_rows(T0, [(100.0, 1.5), (99.98, 2.5)], [(100.01, 1.0), (100.02, 2.0)])
    rows.append((T0 + 100 * MS, "depth", 1, 99.90, 1.0))
    cfg = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, min_notional=0.0,
                      entry_latency_ms=1.0, response_latency_ms=1.0, timeline="local")  # fmt: skip
    venue = OrderBookVenue(sim, make_feed(rows), cfg, Account())
    if cancel_in_transit:  # a recorded-latency file saying the cancel never reached the engine
        model = venue.latency
        entry = model.entry

        class InTransit:
            def __getattr__(self, name):
                return getattr(model, name)

            def entry(self, now, kind):
                return -MS if kind == RequestKind.CANCEL else entry(now, kind)

        venue.latency = InTransit()
    strat = Recorder(sim, StrategyConfig(), venue)
    return sim, venue, strat


def _at(sim, ts, fn):
    sim.schedule(ts, Priority.STRATEGY, None, target=lambda _: fn())


def test_modify_updates_the_local_order_when_the_venue_applies_it():
    sim, venue, s = _setup()
    coid = []
    _at(sim, T0 + 1 * MS, lambda: coid.append(s.submit_limit(side=Side.BUY, px=99.98, qty=0.5)))
    _at(sim, T0 + 10 * MS, lambda: s.modify(coid[0], 99.99, 0.3))
    pending = []

    def look():
        order = s.open_orders[coid[0]]
        pending.append((order.px, order.is_modify_pending))

    _at(sim, T0 + 10 * MS, look)
    sim.run()
    assert pending == [(99.98, True)]  # nothing changes locally before the venue's report
    order = s.open_orders[coid[0]]
    assert (order.px, order.leaves_qty, order.is_modify_pending) == (99.99, 0.3, False)
    (mod,) = [e for e in s.seen if type(e) is OrderModified]
    assert mod.kept_priority is False  # a new price goes to the back of the queue


def test_rejected_modify_keeps_the_original_order():
    """A modify to an off-grid price is rejected; the order still rests at its old price."""
    sim, venue, s = _setup()
    coid = []
    _at(sim, T0 + 1 * MS, lambda: coid.append(s.submit_limit(side=Side.BUY, px=99.98, qty=0.5)))
    _at(sim, T0 + 10 * MS, lambda: s.modify(coid[0], 99.985, 0.5))
    resting = []
    _at(sim, T0 + 50 * MS, lambda: resting.append(venue.queue_ahead(coid[0])))
    sim.run()
    assert [type(e) for e in s.seen] == [OrderRejected]
    order = s.open_orders[coid[0]]
    assert (order.px, order.leaves_qty, order.is_modify_pending) == (99.98, 0.5, False)
    assert resting == [2.5]  # still in the venue's queue behind the recorded 2.5


def test_cancel_rejected_in_transit_leaves_the_order_open():
    sim, venue, s = _setup(cancel_in_transit=True)
    coid = []
    _at(sim, T0 + 1 * MS, lambda: coid.append(s.submit_limit(side=Side.BUY, px=99.98, qty=0.5)))
    _at(sim, T0 + 10 * MS, lambda: s.cancel(coid[0]))
    sim.run()
    assert [e.reason for e in s.seen] == ["rejected_in_transit"]
    order = s.open_orders[coid[0]]
    assert order.is_cancel_pending is False and order.leaves_qty == 0.5  # may be canceled again


def test_rejected_new_order_is_forgotten_and_market_order_fills():
    sim, venue, s = _setup()
    coid = []
    _at(sim, T0 + 1 * MS, lambda: coid.append(s.submit_limit(side=Side.BUY, px=100.015, qty=0.5)))
    _at(sim, T0 + 2 * MS, lambda: coid.append(s.submit_market(side=Side.BUY, qty=1.5)))
    sim.run()
    assert [e.reason for e in s.seen] == ["invalid_price"]
    assert coid[0] not in s.open_orders
    assert s.q == 1.5 and coid[1] not in s.open_orders  # 1 @ 100.01 + 0.5 @ 100.02, all filled
