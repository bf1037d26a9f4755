"""Time in force, market orders, modify and self-trade prevention (issue 10 item 6; venue.py).

Every case is worked by hand from the documented rule (the venue's class notes and
:meth:`OrderBookVenue.modify`, citing Binance's and hftbacktest's rules). Book: asks 100.01 x 1,
100.02 x 2, 100.03 x 5; bids 100.00 x 1.5, 99.98 x 2.5, 99.97 x 5; latency 1 ms each way.
"""

from __future__ import annotations

import pytest

from components.orders import (
    Fill,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderModified,
    OrderRejected,
    TimeInForce,
)
from engine.testing import book_rows

T0 = 1_000_000_000
MS = 1_000_000
ASKS = [(100.01, 1.0), (100.02, 2.0), (100.03, 5.0)]
BIDS = [(100.0, 1.5), (99.98, 2.5), (99.97, 5.0)]


def _rows(*extra: tuple, asks=ASKS) -> list[tuple]:
    rows = book_rows(T0, BIDS, asks)
    rows += list(extra)
    rows.append((T0 + 100 * MS, "depth", 1, 99.90, 1.0))
    return rows


def _fills(h, coid):
    return [(f.px, f.qty, f.leaves_qty, f.liquidity) for f in h.of(Fill, coid)]


def _modify(h, ts, coid, px, qty):
    h.at(ts, lambda: h.venue.modify(coid, px, qty))


def _market(h, ts, coid, side, qty):
    h.at(ts, lambda: h.venue.submit_market(h._receive, coid, side, qty))


# -- FOK ----------------------------------------------------------------------------------------
def test_fok_fills_in_full_from_the_levels_up_to_its_limit(venue_harness):
    """FOK buy 3 @ 100.02: 1 + 2 available up to 100.02 = 3 → fills 1 @ 100.01, 2 @ 100.02."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.02, 3.0, TimeInForce.FOK)
    h.run()
    T = Liquidity.TAKER
    assert _fills(h, 1) == [(100.01, 1.0, 2.0, T), (100.02, 2.0, 0.0, T)]
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill, Fill]


@pytest.mark.parametrize(("px", "qty"), [(100.02, 3.5), (100.0, 0.5)])
def test_fok_that_cannot_fill_in_full_trades_nothing(venue_harness, px, qty):
    """FOK buy 3.5 @ 100.02 (only 3 there) or a FOK that does not cross: canceled "fok", no fill."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, px, qty, TimeInForce.FOK)
    h.run()
    assert [type(r) for r in h.reports] == [OrderAccepted, OrderCanceled]
    c = h.reports[1]
    assert (c.reason, c.leaves_qty) == ("fok", qty)
    assert h.account.n_fills == 0 and h.account.q == 0.0


# -- GTC crossing rests its remainder -----------------------------------------------------------
def test_gtc_crossing_remainder_rests_and_waits_for_a_seller(venue_harness):
    """GTC buy 4 @ 100.02 takes 1 @ 100.01 and 2 @ 100.02, rests 1 @ 100.02 (ahead 0). The
    recorded asks at 100.01/100.02 it took do not fill it again (the depth row at 30 ms touches
    another level); a sell print at 100.00 (through 100.02) at 50 ms fills the 1 as maker."""
    rows = _rows((T0 + 30 * MS, "depth", -1, 100.03, 4.0), (T0 + 50 * MS, "trade", -1, 100.0, 0.2))
    h = venue_harness(rows)
    h.submit(T0, 1, +1, 100.02, 4.0, TimeInForce.GTC)
    ahead = h.probe(T0 + 40 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    T, M = Liquidity.TAKER, Liquidity.MAKER
    assert _fills(h, 1) == [(100.01, 1.0, 3.0, T), (100.02, 2.0, 1.0, T), (100.02, 1.0, 0.0, M)]
    assert h.of(Fill, 1)[2].venue_ts_ns == T0 + 50 * MS
    assert ahead == [0.0]
    assert h.of(OrderCanceled) == []


def test_gtc_remainder_fills_when_the_feed_puts_sell_size_through_it(venue_harness):
    """After the walk the levels it took are empty in the matching book until the feed updates
    them: a depth row putting 3 back at 100.01 (below our 100.02 bid) fills the remainder."""
    h = venue_harness(_rows((T0 + 30 * MS, "depth", -1, 100.01, 3.0)))
    h.submit(T0, 1, +1, 100.02, 4.0, TimeInForce.GTC)
    h.run()
    last = h.of(Fill, 1)[-1]
    assert (last.px, last.qty, last.liquidity, last.venue_ts_ns) == (100.02, 1.0, Liquidity.MAKER, T0 + 30 * MS)


# -- post-only / market -------------------------------------------------------------------------
def test_gtx_and_post_only_are_alo():
    assert TimeInForce.GTX is TimeInForce.ALO and TimeInForce.POST_ONLY is TimeInForce.ALO


def test_market_buy_walks_the_book_until_filled(venue_harness):
    """Market buy 4: 1 @ 100.01, 2 @ 100.02, 1 @ 100.03, all taker; no cancel."""
    h = venue_harness(_rows())
    _market(h, T0, 1, +1, 4.0)
    h.run()
    assert [(p, q) for p, q, _, _ in _fills(h, 1)] == [(100.01, 1.0), (100.02, 2.0), (100.03, 1.0)]
    assert [type(r) for r in h.reports] == [OrderAccepted, Fill, Fill, Fill]


def test_market_sell_beyond_the_book_cancels_the_rest(venue_harness):
    """Market sell 10 against 1.5 + 2.5 + 5 = 9 of bids: 9 fill, 1 canceled "ioc"."""
    h = venue_harness(_rows())
    _market(h, T0, 1, -1, 10.0)
    h.run()
    assert sum(f.qty for f in h.of(Fill, 1)) == pytest.approx(9.0)
    (c,) = h.of(OrderCanceled, 1)
    assert (c.reason, c.leaves_qty) == ("ioc", pytest.approx(1.0))


def test_market_order_on_an_empty_side_and_min_notional(venue_harness):
    """No asks → rejected "no_liquidity"; the notional check uses the opposite best (100.00 × 0.04 < 5)."""
    h = venue_harness(book_rows(T0, BIDS, []) + [(T0 + 100 * MS, "depth", 1, 99.9, 1.0)], min_notional=5.0)
    _market(h, T0, 1, +1, 1.0)
    _market(h, T0, 2, -1, 0.04)
    _market(h, T0, 3, -1, 0.05)
    h.run()
    assert h.of(OrderRejected, 1)[0].reason == "no_liquidity"
    assert h.of(OrderRejected, 2)[0].reason == "min_notional"
    assert h.filled(3) == pytest.approx(0.05)


# -- modify -------------------------------------------------------------------------------------
def _resting(extra=()):
    """Bid 2 @ 100.00 joins behind 1.5; the level then grows to 3.0 at 5 ms (others join behind)."""
    return _rows((T0 + 5 * MS, "depth", 1, 100.0, 3.0), *extra)


def test_modify_size_down_keeps_the_queue_position(venue_harness):
    """Same price, 2 → 1: still 1.5 ahead (not 3.0); OrderModified(kept_priority=True)."""
    h = venue_harness(_resting())
    h.submit(T0, 1, +1, 100.0, 2.0)
    _modify(h, T0 + 10 * MS, 1, 100.0, 1.0)
    ahead = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    (m,) = h.of(OrderModified, 1)
    assert (m.px, m.qty, m.leaves_qty, m.kept_priority, m.venue_ts_ns) == (100.0, 1.0, 1.0, True, T0 + 11 * MS)
    assert ahead == [1.5]


@pytest.mark.parametrize(("px", "qty", "want_ahead"), [(100.0, 3.0, 3.0), (99.98, 2.0, 2.5)])
def test_modify_size_up_or_new_price_goes_to_the_back(venue_harness, px, qty, want_ahead):
    """2 → 3 at 100.00: behind the whole 3.0 now there; a move to 99.98: behind its 2.5."""
    h = venue_harness(_resting())
    h.submit(T0, 1, +1, 100.0, 2.0)
    _modify(h, T0 + 10 * MS, 1, px, qty)
    ahead = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    (m,) = h.of(OrderModified, 1)
    assert (m.px, m.qty, m.leaves_qty, m.kept_priority) == (px, qty, qty, False)
    assert ahead == [want_ahead]


def test_modify_counts_the_filled_part(venue_harness):
    """Bid 2 behind 1.5; a 2.5 sell print fills 1. Modify to 1.5 → open 0.5 (kept: smaller, same
    price); modify to 1.0 (= filled) → canceled "modify_below_filled" (Binance's rule)."""
    h = venue_harness(_rows((T0 + 5 * MS, "trade", -1, 100.0, 2.5)))
    h.submit(T0, 1, +1, 100.0, 2.0)
    _modify(h, T0 + 10 * MS, 1, 100.0, 1.5)
    _modify(h, T0 + 20 * MS, 1, 100.0, 1.0)
    h.run()
    assert h.filled(1) == pytest.approx(1.0)
    (m,) = h.of(OrderModified, 1)
    assert (m.qty, m.leaves_qty, m.kept_priority) == (1.5, 0.5, True)
    (c,) = h.of(OrderCanceled, 1)
    assert (c.reason, c.leaves_qty) == ("modify_below_filled", 0.5)


def test_modify_of_post_only_through_the_touch_cancels_it(venue_harness):
    """An ALO bid moved to 100.01 (the best ask) would trade: it is canceled (Binance GTX rule)."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, 1.0, TimeInForce.ALO)
    _modify(h, T0 + 10 * MS, 1, 100.01, 1.0)
    h.run()
    (c,) = h.of(OrderCanceled, 1)
    assert (c.reason, c.leaves_qty) == ("post_only_would_cross", 1.0)
    assert h.account.n_fills == 0


def test_modify_of_gtc_through_the_touch_takes_then_rests(venue_harness):
    """A GTC bid 2 moved to 100.01: takes the 1 there as taker, rests 1 at 100.01."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, 2.0)
    _modify(h, T0 + 10 * MS, 1, 100.01, 2.0)
    ahead = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert _fills(h, 1) == [(100.01, 1.0, 1.0, Liquidity.TAKER)]
    assert ahead == [0.0]


def test_bad_modify_is_rejected_and_the_order_kept(venue_harness):
    """An off-grid price is rejected "invalid_price"; the order rests unchanged. A modify of an
    order that is gone is "unknown_order"."""
    h = venue_harness(_rows())
    h.submit(T0, 1, +1, 100.0, 2.0)
    _modify(h, T0 + 10 * MS, 1, 100.005, 2.0)
    ahead = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.cancel(T0 + 30 * MS, 1)
    _modify(h, T0 + 40 * MS, 1, 100.0, 1.0)
    h.run()
    assert [r.reason for r in h.of(OrderRejected, 1)] == ["invalid_price", "unknown_order"]
    assert ahead == [1.5]
    (c,) = h.of(OrderCanceled, 1)
    assert (c.reason, c.leaves_qty) == ("canceled", 2.0)


# -- self-trade prevention ----------------------------------------------------------------------
def test_expire_maker_cancels_our_resting_order_the_taker_reaches(venue_harness):
    """Our ask 1 @ 100.02 rests; our IOC buy 2 @ 100.02 trades 1 @ 100.01 and 1 @ 100.02, so it
    reaches 100.02: our ask is canceled "self_trade" (Binance EXPIRE_MAKER) at the taker's time."""
    h = venue_harness(_rows())
    h.submit(T0, 1, -1, 100.02, 1.0)
    h.submit(T0 + 5 * MS, 2, +1, 100.02, 2.0, TimeInForce.IOC)
    h.run()
    (c,) = h.of(OrderCanceled, 1)
    assert (c.reason, c.leaves_qty, c.venue_ts_ns) == ("self_trade", 1.0, T0 + 6 * MS)
    assert [(p, q) for p, q, _, _ in _fills(h, 2)] == [(100.01, 1.0), (100.02, 1.0)]
    assert h.of(Fill, 1) == []


def test_expire_maker_spares_our_order_the_taker_does_not_reach(venue_harness):
    """IOC buy 0.5 @ 100.02 fills at 100.01 and never reaches our 100.02 ask: it stays."""
    h = venue_harness(_rows())
    h.submit(T0, 1, -1, 100.02, 1.0)
    h.submit(T0 + 5 * MS, 2, +1, 100.02, 0.5, TimeInForce.IOC)
    alive = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert h.of(OrderCanceled, 1) == []
    assert alive == [2.0]


def test_our_ask_inside_the_spread_is_reached_by_a_non_crossing_bid(venue_harness):
    """Asks start at 100.03; our ask 100.02 is the real best. Our GTC bid @ 100.02 crosses only
    our own ask: expire_maker cancels it and the bid rests; expire_taker cancels the bid
    instead; an ALO bid there is rejected as it would trade."""
    asks = [(100.03, 5.0)]
    for mode, gone in (("expire_maker", 1), ("expire_taker", 2)):
        h = venue_harness(_rows(asks=asks), self_trade=mode)
        h.submit(T0, 1, -1, 100.02, 1.0)
        h.submit(T0 + 4 * MS, 3, +1, 100.02, 1.0, TimeInForce.ALO)  # before the GTC: would trade
        h.submit(T0 + 5 * MS, 2, +1, 100.02, 1.0)
        h.run()
        (c,) = h.of(OrderCanceled)
        assert (c.client_order_id, c.reason) == (gone, "self_trade")
        assert h.of(OrderRejected, 3)[0].reason == "post_only_would_cross"
        assert h.account.n_fills == 0


def test_expire_taker_trades_only_ahead_of_our_order(venue_harness):
    """expire_taker: IOC buy 2 @ 100.02 with our ask at 100.02 trades 1 @ 100.01 only; the other
    1 is canceled "self_trade"; our ask stays. self_trade="none": our orders are invisible."""
    h = venue_harness(_rows(), self_trade="expire_taker")
    h.submit(T0, 1, -1, 100.02, 1.0)
    h.submit(T0 + 5 * MS, 2, +1, 100.02, 2.0, TimeInForce.IOC)
    h.run()
    assert [(p, q) for p, q, _, _ in _fills(h, 2)] == [(100.01, 1.0)]
    (c,) = h.of(OrderCanceled, 2)
    assert (c.reason, c.leaves_qty) == ("self_trade", 1.0)
    assert h.of(OrderCanceled, 1) == []
    h = venue_harness(_rows(), self_trade="none")
    h.submit(T0, 1, -1, 100.02, 1.0)
    h.submit(T0 + 5 * MS, 2, +1, 100.02, 2.0, TimeInForce.IOC)
    h.run()
    assert h.filled(2) == 2.0 and h.of(OrderCanceled, 1) == []
