"""Probabilistic queue models count a print once (issue 10 item 2; components/queue.py, _book_nb.py).

Expected values are worked by hand from hftbacktest's published ``ProbQueueModel`` rule
(``hftbacktest/src/backtest/models/queue.rs``): a print at our level lowers ``front`` by its size
and adds it to ``cum_trade_qty``; the next depth update of the level uses the net decrease
``chg = prev - new - cum_trade_qty`` (then resets it); for ``chg >= 0`` with ``back = prev - front``
and ``p = f(back) / (f(back) + f(front))``: ``front' = min(front - (1-p)·chg + min(back - p·chg, 0), new)``;
for ``chg < 0``: ``front' = min(front, new)``.
"""

from __future__ import annotations

import pytest

from components.orders import Fill, Liquidity
from components.queue import PROB_LOG, PROB_POWER, RISK_AVERSE, UNBOUNDED, queue_model_code, queue_update
from venues.orderbook._book_nb import lots_nearest

T0 = 1_000_000_000
MS = 1_000_000
BID = 100.0


def _rows() -> list[tuple]:
    return [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, BID, 10.0),
        (T0, "depth", 1, 99.99, 3.0),
        (T0, "depth", -1, 100.01, 5.0),
        (T0 + 10 * MS, "depth", 1, BID, 20.0),  # 10 join behind us: front 10, back 10
        (T0 + 20 * MS, "trade", -1, BID, 4.0),  # print of 4 at our bid: front 6, cum 4
        (T0 + 30 * MS, "depth", 1, BID, 14.0),  # -6 of which 4 is the print: net cancel 2
        (T0 + 40 * MS, "trade", -1, BID, 4.0),  # print of 4: cum 4
        (T0 + 50 * MS, "depth", 1, BID, 12.0),  # -2 < the print of 4: no cancel (chg = -2)
        (T0 + 60 * MS, "trade", -1, BID, 2.0),  # print of 2 clears the queue, excess fills us
        (T0 + 200 * MS, "depth", 1, 99.0, 1.0),
    ]


# Hand-worked at 30 ms: front = 6, back = prev - front = 20 - 6 = 14, chg = 20 - 14 - 4 = 2.
#   power n=1: p = 14 / (14 + 6) = 0.7;               front' = 6 - 0.3·2 = 5.4
#   power n=3: p = 14³ / (14³ + 6³) = 2744 / 2960;    front' = 6 - (216/2960)·2 = 5.854054054...
#   log:       p = ln 15 / (ln 15 + ln 7) = 0.581881;  front' = 6 - 0.418119·2 = 5.163762...
# (back - p·chg >= 0 in all three, so the second term is 0.)  Counting the print twice, as the
# old code did (chg = 6), would give 4.2, 5.562 and 3.491.
# At 40 ms: front' - 4.  At 50 ms: chg = 14 - 12 - 4 = -2 < 0 -> front = min(front, 12), unchanged.
# At 60 ms: front - 2 < 0; the excess 2 - front, rounded to the 0.001 lot (hftbacktest's is_filled:
# round(-front / lot)), fills us (of 1.0):
#   n=1: 2 - 1.4 = 0.6;  n=3: 2 - 1.854054 = 0.145946 -> 0.146;  log: 2 - 1.163762 = 0.836238 -> 0.836
CASES = [
    ("prob_power", 1.0, 5.4, 1.4, 0.6),
    ("prob_power", 3.0, 5.854054054054054, 1.854054054054054, 0.146),
    ("prob_log", 3.0, 5.163761612627641, 1.163761612627641, 0.836),
]


@pytest.mark.parametrize(("model", "power", "at_35", "at_55", "fill_qty"), CASES)
def test_print_then_depth_decrease_is_counted_once(venue_harness, model, power, at_35, at_55, fill_qty):
    """The depth decrease a print causes does not move us a second time (hftbacktest ProbQueueModel)."""
    h = venue_harness(_rows(), queue_model=model, queue_power=power)
    h.submit(T0, 1, +1, BID, 1.0)  # arrives at 1 ms: front = 10
    probes = [h.probe(T0 + ms * MS, lambda: h.venue.queue_ahead(1)) for ms in (5, 15, 25, 35, 45, 55)]
    h.run()
    got = [p[0] for p in probes]
    assert got[:3] == [10.0, 10.0, 6.0]
    assert got[3] == pytest.approx(at_35, rel=1e-12)
    assert got[4] == pytest.approx(at_35 - 4.0, rel=1e-12)
    assert got[5] == pytest.approx(at_55, rel=1e-12)
    (f,) = h.of(Fill, 1)
    assert (f.px, f.qty, f.liquidity, f.venue_ts_ns) == (BID, fill_qty, Liquidity.MAKER, T0 + 60 * MS)
    assert f.leaves_qty == pytest.approx(1.0 - fill_qty, abs=1e-12)


def test_risk_averse_ignores_the_print_size_on_depth_updates(venue_harness):
    """risk_averse: prints move us, depth only caps us at the level: 10, 6, 6 (14 > 6), 2, 2, fill 0."""
    h = venue_harness(_rows(), queue_model="risk_averse")
    h.submit(T0, 1, +1, BID, 1.0)
    probes = [h.probe(T0 + ms * MS, lambda: h.venue.queue_ahead(1)) for ms in (15, 25, 35, 45, 55)]
    h.run()
    assert [p[0] for p in probes] == [10.0, 6.0, 6.0, 2.0, 2.0]
    assert h.of(Fill, 1) == []  # a print of 2 exactly clears the 2 ahead: nothing left for us


@pytest.mark.parametrize(
    ("args", "want"),
    [
        # no prints: chg = 10 - 8 = 2, front 5, back 5, p = 0.5 -> 5 - 0.5·2 = 4
        ((5.0, 10.0, 8.0, 0.0, PROB_POWER, 1.0), 4.0),
        # the whole decrease was the print: chg = 10 - 8 - 2 = 0 -> front unchanged
        ((3.0, 10.0, 8.0, 2.0, PROB_POWER, 3.0), 3.0),
        # print larger than the decrease: chg = -1 < 0 -> min(front, new)
        ((3.0, 10.0, 8.0, 3.0, PROB_LOG, 3.0), 3.0),
        # back too small for its share: front 4, back 1, chg 4, n=1: p = 0.2,
        # 4 - 0.8·4 + min(1 - 0.8, 0) = 0.8, capped at new = 1 -> 0.8
        ((4.0, 5.0, 1.0, 0.0, PROB_POWER, 1.0), 0.8),
        # risk averse: min(front, new) whatever the prints
        ((5.0, 10.0, 4.0, 3.0, RISK_AVERSE, 3.0), 4.0),
        # an increase never moves us
        ((5.0, 10.0, 12.0, 0.0, PROB_LOG, 3.0), 5.0),
    ],
)
def test_queue_update_hand_worked(args, want):
    """`queue_update` on hand-worked cases of the published rule."""
    assert queue_update(*args) == pytest.approx(want, abs=1e-12)


# hftbacktest 2.4.4 ProbQueueModel::depth without a floor (queue_below_zero = "allow"), worked by hand:
#   front 1, back 9, chg 8 (10 -> 2), n=1: p = 0.9, 1 - 0.1·8 + min(9 - 7.2, 0) = 0.2 (as clamp)
#   front 0.5, back 95.5, chg 18, log: p = 0.918503 -> 0.5 - 0.081497·18 = -0.967007 (clamp: 0)
#   front -0.5, back 10.5, chg 2, n=3: p = 10.5³ / (10.5³ - 0.125) = 1.000108, front' = -0.5 + 0.000108·2
#   front -0.5, n=2.5: (-0.5)^2.5 is NaN -> Rust's NaN.min(new) = new = 8
#   front -1 (log): ln 0 = -inf, p = -0.0 -> front' = -1 - 2 + min(11 - 0, 0) = -3
#   front -2 (log): ln(-1) is NaN -> new
#   front 0, back 0, chg 0 (0 -> 0, no print): p = 0/0 NaN -> new = 0
UNBOUNDED_CASES = [
    ((1.0, 10.0, 2.0, 0.0, PROB_POWER | UNBOUNDED, 1.0), 0.2),
    ((0.5, 96.0, 78.0, 0.0, PROB_LOG | UNBOUNDED, 3.0), -0.9670070430257469),
    ((-0.5, 10.0, 8.0, 0.0, PROB_POWER | UNBOUNDED, 3.0), -0.5 + 2 * 0.125 / (10.5**3 - 0.125)),
    ((-0.5, 10.0, 8.0, 0.0, PROB_POWER | UNBOUNDED, 2.5), 8.0),
    ((-1.0, 10.0, 8.0, 0.0, PROB_LOG | UNBOUNDED, 3.0), -3.0),
    ((-2.0, 10.0, 8.0, 0.0, PROB_LOG | UNBOUNDED, 3.0), 8.0),
    ((0.0, 0.0, 0.0, 0.0, PROB_LOG | UNBOUNDED, 3.0), 0.0),
    # an increase, or a decrease that was the print, never moves us, negative or not
    ((-0.7, 10.0, 12.0, 0.0, PROB_LOG | UNBOUNDED, 3.0), -0.7),
    ((-0.7, 10.0, 8.0, 2.0, PROB_LOG | UNBOUNDED, 3.0), -0.7),
]


@pytest.mark.parametrize(("args", "want"), UNBOUNDED_CASES)
def test_unbounded_queue_update_hand_worked(args, want):
    """`queue_below_zero = "allow"`: hftbacktest's arithmetic, negative positions and NaN included."""
    assert queue_update(*args) == pytest.approx(want, abs=1e-12)
    py = getattr(queue_update, "py_func", queue_update)  # the interpreted kernel (NUMBA_DISABLE_JIT)
    assert py(*args) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("model", [PROB_POWER, PROB_LOG, RISK_AVERSE])
def test_clamp_keeps_a_carried_excess_and_never_goes_below_zero(model):
    """Default: a cancel leaves an order at the front (a carried print excess, ahead < 0) where it
    is, and never pushes a positive estimate below 0 (the 18-cancel of the case above gives 0)."""
    assert queue_update(-0.0003, 10.0, 6.0, 0.0, model, 3.0) == -0.0003
    want = 0.0 if model == PROB_LOG else pytest.approx(0.5, abs=1e-3)
    assert queue_update(0.5, 96.0, 78.0, 0.0, model, 3.0) == want


def test_queue_model_code():
    """`allow` sets the UNBOUNDED bit of a probabilistic model only; bad names are refused by key."""
    assert queue_model_code("prob_log") == PROB_LOG
    assert queue_model_code("prob_log", "allow") == PROB_LOG | UNBOUNDED
    assert queue_model_code("prob_power", "allow") == PROB_POWER | UNBOUNDED
    assert queue_model_code("risk_averse", "allow") == RISK_AVERSE
    with pytest.raises(ValueError, match="queue_below_zero"):
        queue_model_code("prob_log", "keep")
    with pytest.raises(ValueError, match="queue_model"):
        queue_model_code("fifo")


@pytest.mark.parametrize(
    ("size", "lot", "want"),
    [
        (0.0004999, 0.001, 0),
        (0.0005, 0.001, 1),
        (0.0025, 0.001, 3),
        (0.0015, 0.001, 2),
        (0.00149999, 0.001, 1),
        (-0.002, 0.001, 0),
        (0.49999999999999994, 1.0, 0),
        (2.5, 1.0, 3),
    ],
)
def test_lots_nearest_rounds_halves_up_exactly(size, lot, want):
    """hftbacktest's ``(-front / lot).round()``: Rust rounds halves away from zero (2.5 -> 3, not
    banker's 2), and 0.49999999999999994 lot is 0 (``floor(x + 0.5)`` would give 1)."""
    assert lots_nearest(size, lot) == want
    assert getattr(lots_nearest, "py_func", lots_nearest)(size, lot) == want


def test_orders_far_apart_on_one_side_keep_their_queues(venue_harness):
    """The replay skips its scan of our orders for book rows at levels where none of ours rests
    (``_book_nb._order_levels``: bounds per side and a bit per ``index % 64``). Buys 64 ticks
    apart share a bit and buys 70 ticks apart span more than 64 ticks: each order's queue still
    follows its own level (risk_averse: ``ahead = min(ahead, new size)``) and a level between them
    changes none. Hand-worked."""
    rows = [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, 0.5),
        (T0, "depth", 1, 99.36, 0.8),
        (T0, "depth", 1, 99.30, 0.9),
        (T0, "depth", -1, 100.01, 1.0),
        (T0 + 10 * MS, "depth", 1, 99.36, 0.3),  # 64 ticks below 100.00
        (T0 + 20 * MS, "depth", 1, 99.50, 2.0),  # no order of ours there
        (T0 + 30 * MS, "depth", 1, 99.30, 0.4),  # 70 ticks below 100.00
        (T0 + 40 * MS, "depth", 1, 100.0, 0.2),
        (T0 + 100 * MS, "depth", -1, 100.02, 1.0),
    ]
    h = venue_harness(rows)
    for coid, px in ((1, 100.0), (2, 99.36), (3, 99.30)):
        h.submit(T0, coid, +1, px, 0.1)
    ahead = h.probe(T0 + 50 * MS, lambda: [h.venue.queue_ahead(c) for c in (1, 2, 3)])
    h.run()
    assert ahead[0] == pytest.approx([0.2, 0.3, 0.4], abs=1e-12)
    assert h.filled(1) == h.filled(2) == h.filled(3) == 0.0
