"""Time in force, validation rejects and cancels of the order-book venue (venue.py)."""

from __future__ import annotations

import pytest

from components.orders import (
    Fill,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    TimeInForce,
)
from engine.testing import book_rows

T0 = 1_000_000_000
MS = 1_000_000
ASKS = [(100.01, 1.0), (100.02, 2.0), (100.03, 5.0)]
BIDS = [(100.0, 1.5), (99.98, 2.5), (99.97, 5.0)]


def _rows(*extra: tuple) -> list[tuple]:
    rows = book_rows(T0, BIDS, ASKS)
    rows += list(extra)
    rows.append((T0 + 100 * MS, "depth", 1, 99.90, 1.0))
    return rows


@pytest.mark.parametrize(("side", "px"), [(+1, 100.01), (+1, 100.03), (-1, 100.0), (-1, 99.97)])
def test_alo_crossing_the_touch_is_rejected(venue_harness, side, px):
    """An ALO at or through the opposite best is rejected with "post_only_would_cross", no fill."""
    h = venue_harness(_rows())
    h.submit(T0, 1, side, px, 1.0, TimeInForce.ALO)
    h.run()
    (r,) = h.reports
    assert type(r) is OrderRejected
    assert r.reason == "post_only_would_cross"
    assert h.account.n_fills == 0 and h.venue.n_rejects == 1


def test_alo_not_crossing_rests(venue_harness):
    """An ALO joining its own side's best is accepted and rests behind that level's size."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, 1.0, TimeInForce.ALO)
    h.submit(T0, 2, -1, 100.01, 1.0, TimeInForce.ALO)  # joins the 100.01 ask
    ahead = h.probe(T0 + 10 * MS, lambda: (h.venue.queue_ahead(1), h.venue.queue_ahead(2)))
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, OrderAccepted]
    assert ahead == [(1.5, 1.0)]


def test_ioc_buy_walks_the_asks_up_to_its_limit_and_cancels_the_rest(venue_harness):
    """An IOC buy takes level by level at the level prices as taker (taker fee), then cancels leaves."""
    h = venue_harness(_rows(), taker_fee_bps=5.0, maker_fee_bps=-1.0)
    h.submit(T0, 1, +1, 100.02, 4.5, TimeInForce.IOC)
    h.run()
    fills = h.of(Fill, 1)
    assert [(f.px, f.qty, f.leaves_qty) for f in fills] == [(100.01, 1.0, 3.5), (100.02, 2.0, 1.5)]
    for f in fills:
        assert f.liquidity == Liquidity.TAKER and f.side == 1
        assert f.fee == pytest.approx(f.px * f.qty * 5.0 / 10_000, rel=1e-12)
    (c,) = h.of(OrderCanceled, 1)
    assert c.leaves_qty == pytest.approx(1.5)
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill, Fill, OrderCanceled]
    assert h.account.q == pytest.approx(3.0)
    assert h.account.taker_volume == pytest.approx(100.01 + 2 * 100.02)
    assert h.account.fees_paid == pytest.approx(sum(f.fee for f in fills))


def test_ioc_sell_walks_the_bids_down_to_its_limit(venue_harness):
    """An IOC sell takes bids from the best down to its limit, skipping empty price indices."""
    h = venue_harness(_rows())
    h.submit(T0, 1, -1, 99.98, 10.0, TimeInForce.IOC)
    h.run()
    fills = h.of(Fill, 1)
    assert [(f.px, f.qty) for f in fills] == [(100.0, 1.5), (99.98, 2.5)]
    assert all(f.liquidity == Liquidity.TAKER and f.side == -1 for f in fills)
    (c,) = h.of(OrderCanceled, 1)
    assert c.leaves_qty == pytest.approx(6.0)
    assert h.account.q == pytest.approx(-4.0)


def test_ioc_fully_filled_sends_no_cancel(venue_harness):
    """An IOC filled in full by the touch ends with its last fill (leaves 0), no OrderCanceled."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.05, 0.4, TimeInForce.IOC)
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill]
    assert h.reports[1].leaves_qty == 0.0 and h.reports[1].px == 100.01


def test_ioc_not_crossing_is_canceled_in_full(venue_harness):
    """An IOC that does not reach the opposite best trades nothing and is canceled with full leaves."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, 2.0, TimeInForce.IOC)
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, OrderCanceled]
    assert h.reports[1].leaves_qty == 2.0
    assert h.account.n_fills == 0


def test_gtc_crossing_takes_then_rests_rest(venue_harness):
    """A crossing GTC takes what it crosses and rests the remainder at its limit (issue 10 item 6;
    it used to cancel it). Buy 3 @ 100.01 vs asks 100.01 x 1: 1 as taker, 2 rest first in line."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.01, 3.0, TimeInForce.GTC)
    ahead = h.probe(T0 + 10 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill]
    assert h.reports[1].liquidity == Liquidity.TAKER
    assert (h.reports[1].px, h.reports[1].qty, h.reports[1].leaves_qty) == (100.01, 1.0, 2.0)
    assert ahead == [0.0]


def test_gtc_not_crossing_rests_and_fills_as_maker(venue_harness):
    """A non-crossing GTC rests, then fills at its own price as maker (maker fee) when traded through."""
    rows = _rows((T0 + 30 * MS, "trade", -1, 99.98, 0.1))
    h = venue_harness(rows, maker_fee_bps=-0.5)
    h.submit(T0, 1, +1, 99.99, 2.0, TimeInForce.GTC)  # an empty price index inside the spread
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill]
    f = h.reports[1]
    assert (f.px, f.qty, f.leaves_qty, f.liquidity) == (99.99, 2.0, 0.0, Liquidity.MAKER)
    assert f.fee == pytest.approx(-0.5 * 99.99 * 2.0 / 10_000, rel=1e-12)
    assert h.account.maker_volume == pytest.approx(199.98)


@pytest.mark.parametrize(("qty", "accepted"), [(0.4, False), (0.499, False), (0.5, True), (1.0, True)])
def test_min_notional(venue_harness, qty, accepted):
    """Orders with px * qty below the profile's min_notional are rejected "min_notional"."""
    h = venue_harness(_rows(), min_notional=50.0)
    h.submit(T0, 1, +1, 100.0, qty, TimeInForce.GTC)
    h.run()
    (r,) = h.reports
    if accepted:
        assert type(r) is OrderAccepted
    else:
        assert type(r) is OrderRejected and r.reason == "min_notional"


def test_profile_default_min_notional_applies(venue_harness):
    """With min_notional left unset, the binance_usdm default (5 USDT) applies."""
    h = venue_harness(_rows(), min_notional=None)
    h.submit(T0, 1, +1, 100.0, 0.01, TimeInForce.GTC)  # 1 USDT
    h.submit(T0, 2, +1, 100.0, 0.05, TimeInForce.GTC)  # 5 USDT
    h.run()
    assert h.of(OrderRejected, 1)[0].reason == "min_notional"
    assert len(h.of(OrderAccepted, 2)) == 1


@pytest.mark.parametrize("px", [100.005, 99.9999, -100.0, 0.0, float("nan")])
def test_invalid_price_is_rejected(venue_harness, px):
    """A price off the 0.01 grid (or not finite and > 0) is rejected "invalid_price"."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, px, 1.0, TimeInForce.GTC)
    h.run()
    (r,) = h.reports
    assert type(r) is OrderRejected and r.reason == "invalid_price"


@pytest.mark.parametrize("qty", [0.0, -1.0, 0.0005, 1.0001])
def test_invalid_size_is_rejected(venue_harness, qty):
    """A size that is not > 0 on the 0.001 lot grid is rejected "invalid_size"."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, qty, TimeInForce.GTC)
    h.run()
    (r,) = h.reports
    assert type(r) is OrderRejected and r.reason == "invalid_size"


def test_cancel_of_resting_order_reports_its_leaves(venue_harness):
    """Canceling a resting order reports OrderCanceled with its open size; it then never fills."""
    rows = _rows((T0 + 20 * MS, "trade", -1, 100.0, 2.5), (T0 + 60 * MS, "trade", -1, 99.97, 9.0))
    h = venue_harness(rows)
    h.submit(T0, 1, +1, 100.0, 3.0)  # ahead 1.5: the 2.5 print fills 1.0
    h.cancel(T0 + 40 * MS, 1)
    gone = h.probe(T0 + 50 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill, OrderCanceled]
    assert h.reports[1].qty == pytest.approx(1.0)
    c = h.reports[2]
    assert c.leaves_qty == pytest.approx(2.0)
    assert c.venue_ts_ns == T0 + 41 * MS
    assert h.filled(1) + c.leaves_qty == pytest.approx(3.0)
    assert gone[0] != gone[0]  # NaN: not resting any more
    assert h.account.q == pytest.approx(1.0)


def test_cancel_after_full_fill_is_unknown_order(venue_harness):
    """Canceling an order that already filled in full is rejected "unknown_order"."""
    h = venue_harness(_rows((T0 + 20 * MS, "trade", -1, 99.97, 1.0)))
    h.submit(T0, 1, +1, 100.0, 1.0)
    h.cancel(T0 + 40 * MS, 1)
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill, OrderRejected]
    assert h.reports[2].reason == "unknown_order"


def test_double_cancel_and_cancel_of_unknown_id(venue_harness):
    """A second cancel of the same order, and a cancel of an id never sent, are "unknown_order"."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, 1.0)
    h.cancel(T0 + 10 * MS, 1)
    h.cancel(T0 + 20 * MS, 1)
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, OrderCanceled, OrderRejected]
    assert h.reports[2].reason == "unknown_order"


def test_slot_reuse_after_cancel_keeps_orders_apart(venue_harness):
    """An order placed in a slot freed by a cancel gets its own queue and its own fills."""
    rows = _rows((T0 + 50 * MS, "trade", 1, 100.03, 0.1))
    h = venue_harness(rows)
    h.submit(T0, 1, +1, 100.0, 1.0)
    h.cancel(T0 + 10 * MS, 1)
    h.submit(T0 + 20 * MS, 2, -1, 100.02, 1.0)
    h.run()
    assert h.of(Fill, 1) == []
    (f,) = h.of(Fill, 2)
    assert (f.side, f.px, f.qty) == (-1, 100.02, 1.0)
