"""Entry and response latency of the order-book venue (venue.py, engine/kernel.py)."""

from __future__ import annotations

import math

import pytest

from components.orders import Fill, Liquidity, OrderAccepted, OrderCanceled, OrderRejected, TimeInForce
from engine.testing import book_rows
from strategies.base import Strategy
from strategies.config import StrategyConfig

T0 = 1_000_000_000
MS = 1_000_000


def _rows(*extra: tuple) -> list[tuple]:
    rows = book_rows(T0, [(100.0, 5.0), (99.99, 5.0)], [(100.01, 5.0), (100.02, 5.0), (100.03, 5.0)])
    rows += list(extra)
    rows.append((T0 + 200 * MS, "depth", 1, 99.90, 1.0))
    return rows


def test_order_is_matched_against_the_book_at_arrival(venue_harness):
    """An IOC sent at t meets the book at t + entry: an ask level deleted in between is not taken."""
    gone = (T0 + 12 * MS, "depth", -1, 100.01, 0.0)
    h = venue_harness(_rows(gone), entry_latency_ms=10, response_latency_ms=3)
    h.submit(T0 + 5 * MS, 1, +1, 100.02, 1.0, TimeInForce.IOC)  # arrives at 15 ms
    h.submit(T0 + 5 * MS, 2, +1, 100.01, 1.0, TimeInForce.IOC)  # its only level is gone by 15 ms
    h.run()
    (ack,) = h.of(OrderAccepted, 1)
    assert ack.venue_ts_ns == T0 + 15 * MS
    (f,) = h.of(Fill, 1)
    assert (f.px, f.qty, f.liquidity, f.venue_ts_ns) == (100.02, 1.0, Liquidity.TAKER, T0 + 15 * MS)
    assert h.of(Fill, 2) == []
    (c,) = h.of(OrderCanceled, 2)
    assert (c.leaves_qty, c.venue_ts_ns) == (1.0, T0 + 15 * MS)


def test_order_arriving_at_t_precedes_market_data_stamped_t(venue_harness):
    """A command reaching the venue at t is matched before the recorded rows stamped t (Priority table)."""
    gone = (T0 + 15 * MS, "depth", -1, 100.01, 0.0)
    h = venue_harness(_rows(gone), entry_latency_ms=10, response_latency_ms=3)
    h.submit(T0 + 5 * MS, 1, +1, 100.01, 1.0, TimeInForce.IOC)  # arrives at 15 ms, same ts as the row
    h.run()
    (f,) = h.of(Fill, 1)
    assert (f.px, f.venue_ts_ns) == (100.01, T0 + 15 * MS)


def test_order_meets_level_sizes_as_of_arrival(venue_harness):
    """A level that shrank between submission and arrival is taken only up to its size at arrival."""
    shrink = (T0 + 8 * MS, "depth", -1, 100.01, 1.0)
    h = venue_harness(_rows(shrink), entry_latency_ms=10, response_latency_ms=0)
    h.submit(T0, 1, +1, 100.01, 2.0, TimeInForce.IOC)  # sent with 5.0 at 100.01; arrives at 10 ms
    h.run()
    (f,) = h.of(Fill, 1)
    assert (f.px, f.qty, f.leaves_qty) == (100.01, 1.0, 1.0)
    (c,) = h.of(OrderCanceled, 1)
    assert c.leaves_qty == 1.0


def test_resting_order_queue_is_the_level_at_arrival(venue_harness):
    """A resting order joins behind the level size at arrival, not at submission."""
    grow = (T0 + 5 * MS, "depth", 1, 100.0, 8.0)
    h = venue_harness(_rows(grow), entry_latency_ms=10)
    h.submit(T0 + 1 * MS, 1, +1, 100.0, 1.0)
    ahead = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert ahead == [8.0]


def test_cancel_reaches_the_venue_after_entry_latency(venue_harness):
    """A cancel sent at t does not stop a fill from a trade stamped before t + entry."""
    through = (T0 + 25 * MS, "trade", -1, 99.99, 1.0)
    h = venue_harness(_rows(through), entry_latency_ms=10, response_latency_ms=2)
    h.submit(T0, 1, +1, 100.0, 1.0)
    h.cancel(T0 + 20 * MS, 1)  # reaches the venue at 30 ms, after the trade at 25 ms
    h.run()
    (f,) = h.of(Fill, 1)
    assert f.venue_ts_ns == T0 + 25 * MS
    (rej,) = h.of(OrderRejected, 1)
    assert (rej.reason, rej.venue_ts_ns) == ("unknown_order", T0 + 30 * MS)


@pytest.mark.parametrize(("entry_ms", "response_ms"), [(0, 0), (1, 1), (10, 3), (2.5, 7)])
def test_reports_arrive_exactly_response_latency_after_the_venue_event(venue_harness, entry_ms, response_ms):
    """Every report's ts_ns - venue_ts_ns equals the response latency, and it is received at ts_ns."""
    rows = _rows(
        (T0 + 40 * MS, "trade", -1, 100.0, 7.0),
        (T0 + 60 * MS, "trade", 1, 100.04, 1.0),
    )
    h = venue_harness(rows, entry_latency_ms=entry_ms, response_latency_ms=response_ms)
    h.submit(T0, 1, +1, 100.0, 3.0)  # rests; partial fill at 40 ms
    h.submit(T0 + 1 * MS, 2, -1, 100.04, 1.0)  # rests on an empty level; buy print fills it
    h.submit(T0 + 2 * MS, 3, +1, 100.02, 11.0, TimeInForce.IOC)  # takes 100.01 and 100.02, cancels rest
    h.submit(T0 + 3 * MS, 4, -1, 100.0, 1.0, TimeInForce.ALO)  # rejected: would cross
    h.cancel(T0 + 70 * MS, 1)
    h.run()
    resp_ns = round(response_ms * MS)
    entry_ns = round(entry_ms * MS)
    kinds = {type(e).__name__ for e in h.reports}
    assert kinds == {"OrderAccepted", "OrderRejected", "OrderCanceled", "Fill"}
    for received_ns, event in h.log:
        assert event.ts_ns - event.venue_ts_ns == resp_ns
        assert received_ns == event.ts_ns
    sent = {1: T0, 2: T0 + 1 * MS, 3: T0 + 2 * MS, 4: T0 + 3 * MS}
    for event in h.reports:
        assert event.venue_ts_ns >= sent[event.client_order_id] + entry_ns
    for coid, t in sent.items():
        (first,) = [e for e in h.reports if e.client_order_id == coid][:1]
        assert first.venue_ts_ns == t + entry_ns


class _Recorder(Strategy):
    """Sends one resting bid at start and records (now_ns, event) in every hook."""

    def on_start(self) -> None:
        self.seen: list = []
        self.set_timer("send", at_ns=self.now_ns + 1 * MS)

    def on_timer(self, event) -> None:
        self.sent_ns = self.now_ns
        self.coid = self.submit_limit(side=+1, px=100.0, qty=1.0)

    def on_order_accepted(self, event) -> None:
        self.seen.append((self.now_ns, event))

    def on_fill(self, event) -> None:
        self.seen.append((self.now_ns, event))


def test_strategy_hooks_never_see_a_report_early(venue_harness):
    """Through the Strategy API: hooks run at venue time + response latency, commands arrive after entry."""
    h = venue_harness(_rows((T0 + 50 * MS, "trade", -1, 99.99, 1.0)), entry_latency_ms=4, response_latency_ms=6)
    s = _Recorder(h.sim, StrategyConfig(), h.venue)
    h.run()
    assert [type(e) for _, e in s.seen] == [OrderAccepted, Fill]
    ack, fill = (e for _, e in s.seen)
    assert ack.venue_ts_ns == s.sent_ns + 4 * MS
    for now, e in s.seen:
        assert now == e.venue_ts_ns + 6 * MS
    assert fill.venue_ts_ns == T0 + 50 * MS
    assert s.q == 1.0 and s.open_orders == {}
    assert math.isclose(h.account.q, 1.0)


def _in_flight_rows() -> list[tuple]:
    return _rows(
        (T0 + 10 * MS, "trade", -1, 99.99, 1.0),  # fills the resting bid (report due at 20 ms)
        (T0 + 12 * MS, "depth", -1, 100.01, 0.0),  # best ask level deleted
    )


_RESPONSE_MS = [0, 10]


@pytest.mark.parametrize("response_ms", _RESPONSE_MS)
def test_order_meets_current_book_while_a_fill_report_is_in_flight(venue_harness, response_ms):
    """An order arriving while an earlier fill's report is in flight meets the book as of arrival."""
    h = venue_harness(_in_flight_rows(), entry_latency_ms=6, response_latency_ms=response_ms)
    h.submit(T0, 1, +1, 100.0, 1.0)  # arrives 6 ms, rests, filled at 10 ms
    h.submit(T0 + 8 * MS, 2, +1, 100.02, 1.0, TimeInForce.IOC)  # arrives 14 ms
    h.run()
    assert h.filled(1) == 1.0
    (f,) = h.of(Fill, 2)
    assert f.px == 100.02  # 100.01 was deleted at 12 ms; got 100.01


@pytest.mark.parametrize("response_ms", _RESPONSE_MS)
def test_strategy_view_is_current_while_a_fill_report_is_in_flight(venue_harness, response_ms):
    """A callback at t sees every recorded row stamped <= t, even with a fill report in flight."""
    h = venue_harness(_in_flight_rows(), entry_latency_ms=6, response_latency_ms=response_ms)
    h.submit(T0, 1, +1, 100.0, 1.0)
    touch = h.probe(T0 + 13 * MS, h.venue.touch)
    h.run()
    assert touch == [(100.0, 100.02)]
