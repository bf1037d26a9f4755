"""Exchange fill rules partial_fill / no_partial_fill (issue 10 item 10; _book_nb.py, config.py).

Hand-worked from hftbacktest's published exchange models (``PartialFillExchange`` and
``NoPartialFillExchange`` in ``hftbacktest/src/backtest/proc``): a print through a resting order's
price fills it whole under both; a print *at* its price lowers the queue ahead of it, and once the
print's excess over the queue rounds to a lot or more (``is_filled``: ``round(-front / lot) > 0``),
``partial_fill`` fills the excess (shared by our orders at that price in arrival order) while
``no_partial_fill`` fills the order whole and judges each of our orders against the whole print.
(hftbacktest's partial fill gives *each* of several orders at one price the whole excess; mmsim
shares it in arrival order, so with two orders the partial_fill cases below differ from it for B.)
"""

from __future__ import annotations

import pytest

from components.orders import Fill
from venues.orderbook.config import VenueConfig

T0 = 1_000_000_000
MS = 1_000_000
BID = 100.0


def _run(venue_harness, rule, prints):
    rows = [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, BID, 5.0),
        (T0, "depth", -1, 100.01, 5.0),
    ]
    rows += [(T0 + ms * MS, "trade", -1, px, q) for ms, px, q in prints]
    rows.append((T0 + 200 * MS, "depth", 1, 99.0, 1.0))
    h = venue_harness(rows, fill_rule=rule)
    h.submit(T0, 1, +1, BID, 2.0)  # A: 5 ahead
    h.submit(T0 + 1 * MS, 2, +1, BID, 3.0)  # B: 5 recorded ahead, and A
    h.run()
    return {c: [(f.qty, f.leaves_qty, (f.venue_ts_ns - T0) // MS) for f in h.of(Fill, c)] for c in (1, 2)}


def test_print_one_past_the_queue(venue_harness):
    """Print of 6 at 100.00 behind 5 recorded: excess 1.
    partial_fill: A fills 1 (leaves 1), nothing is left for B.
    no_partial_fill: A (5 ahead, 6 printed) fills whole 2; B, judged against the whole print of 6
    too, fills whole 3."""
    assert _run(venue_harness, "partial_fill", [(10, BID, 6.0)]) == {1: [(1.0, 1.0, 10)], 2: []}
    assert _run(venue_harness, "no_partial_fill", [(10, BID, 6.0)]) == {1: [(2.0, 0.0, 10)], 2: [(3.0, 0.0, 10)]}


def test_print_exactly_clearing_the_queue_then_one_lot(venue_harness):
    """A print of 5 clears the 5 ahead exactly: no fill under either rule. A later print of one lot
    (0.001) fills one lot under partial_fill, and A whole then B whole under no_partial_fill."""
    prints = [(10, BID, 5.0), (20, BID, 0.001)]
    assert _run(venue_harness, "partial_fill", prints) == {1: [(0.001, 1.999, 20)], 2: []}
    assert _run(venue_harness, "no_partial_fill", prints) == {1: [(2.0, 0.0, 20)], 2: [(3.0, 0.0, 20)]}


def test_print_short_of_the_queue_fills_nothing(venue_harness):
    """A print of 4.999, short of the 5 ahead, fills nothing under either rule."""
    for rule in ("partial_fill", "no_partial_fill"):
        assert _run(venue_harness, rule, [(10, BID, 4.999)]) == {1: [], 2: []}


@pytest.mark.parametrize("rule", ["partial_fill", "no_partial_fill"])
def test_print_through_fills_whole_under_both_rules(venue_harness, rule):
    """A print of one lot at 99.99, below our bids, fills both orders whole at 100.00."""
    assert _run(venue_harness, rule, [(10, 99.99, 0.001)]) == {1: [(2.0, 0.0, 10)], 2: [(3.0, 0.0, 10)]}


def test_fill_rule_is_validated():
    """An unknown fill rule is refused when the config is built."""
    with pytest.raises(ValueError, match="fill_rule"):
        VenueConfig(fill_rule="sometimes")
    assert VenueConfig().fill_rule == "partial_fill" and VenueConfig().own_impact is False
