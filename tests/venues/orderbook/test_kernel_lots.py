"""Fills are whole lots: no phantom fills from binary residues (issue 10 item 1; _book_nb.py, venue.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.orders import Fill, OrderCanceled, TimeInForce

T0 = 1_000_000_000
MS = 1_000_000
LOT = Decimal("0.001")  # the harness's lot


def _on_grid(x: float) -> bool:
    return Decimal(repr(x)) % LOT == 0


def test_print_exactly_clearing_the_queue_fills_nothing(venue_harness):
    """Behind 0.3, prints of 0.1 and 0.2 clear the queue exactly (0.3 - 0.1 - 0.2 = -2.8e-17 in
    binary): no fill. A later print of 0.5 fills 0.5, and the position is 0.5."""
    rows = [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, 0.3),
        (T0, "depth", -1, 100.01, 1.0),
        (T0 + 10 * MS, "trade", -1, 100.0, 0.1),
        (T0 + 20 * MS, "trade", -1, 100.0, 0.2),
        (T0 + 30 * MS, "trade", -1, 100.0, 0.5),
        (T0 + 100 * MS, "depth", 1, 99.0, 1.0),
    ]
    h = venue_harness(rows)
    h.submit(T0, 1, +1, 100.0, 1.0)
    h.run()
    fills = h.of(Fill, 1)
    assert [(f.qty, f.leaves_qty, f.venue_ts_ns) for f in fills] == [(0.5, 0.5, T0 + 30 * MS)]
    assert h.account.n_fills == 1 and h.account.q == 0.5


def test_fractional_queue_estimate_fills_whole_lots(venue_harness):
    """prob_power (n=1) leaves 1/3 ahead; a print of 1.0 has excess 0.6667, which fills 0.667 (the nearest
    lot, hftbacktest's round(-front / lot)), not 0.6666666666666666."""
    rows = [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, 1.0),
        (T0, "depth", -1, 100.01, 1.0),
        (T0 + 5 * MS, "depth", 1, 100.0, 3.0),  # front 1, back 2
        # cancel of 2: p = 2/3, front = 1 - (1/3)·2 = 1/3
        (T0 + 10 * MS, "depth", 1, 100.0, 1.0),
        (T0 + 20 * MS, "trade", -1, 100.0, 1.0),
        (T0 + 100 * MS, "depth", 1, 99.0, 1.0),
    ]
    h = venue_harness(rows, queue_model="prob_power", queue_power=1.0)
    h.submit(T0, 1, +1, 100.0, 2.0)
    ahead = h.probe(T0 + 15 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert ahead[0] == pytest.approx(1 / 3, rel=1e-12)
    (f,) = h.of(Fill, 1)
    assert (f.qty, f.leaves_qty) == (0.667, 1.333)


def test_excess_under_half_a_lot_is_carried_to_the_next_print(venue_harness):
    """hftbacktest 2.4.4's ``is_filled``: behind 0.3, a print of 0.3003 passes the queue by 0.3 lot
    (rounds to 0: no fill, ``ahead = -0.0003`` is kept); a print of 0.0003 makes it 0.6 lot, which
    fills one lot (0.001). Before: the 0.3 lot was dropped and nothing filled."""
    rows = [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, 0.3),
        (T0, "depth", -1, 100.01, 1.0),
        (T0 + 10 * MS, "trade", -1, 100.0, 0.3003),
        (T0 + 20 * MS, "trade", -1, 100.0, 0.0003),
        (T0 + 100 * MS, "depth", 1, 99.0, 1.0),
    ]
    h = venue_harness(rows)
    h.submit(T0, 1, +1, 100.0, 1.0)
    ahead = h.probe(T0 + 15 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert ahead[0] == pytest.approx(-0.0003, abs=1e-12)
    assert [(f.qty, f.venue_ts_ns) for f in h.of(Fill, 1)] == [(0.001, T0 + 20 * MS)]
    assert h.account.q == 0.001


_QTY = st.sampled_from([0.1, 0.2, 0.3, 0.047, 0.007, 1.003, 0.5, 2.0])
_K = st.integers(-4, 4)


@st.composite
def _scenario(draw):
    rows = [(T0, "clear", 0, 0.0, 0.0)]
    rows += [(T0, "depth", 1, (10_000 - k) / 100, draw(_QTY)) for k in range(1, 6)]
    rows += [(T0, "depth", -1, (10_000 + k) / 100, draw(_QTY)) for k in range(1, 6)]
    for ms in range(1, draw(st.integers(1, 40)) + 1):
        kind = draw(st.sampled_from(["depth", "trade", "trade"]))
        k = draw(_K)
        if kind == "depth":
            side = 1 if k < 0 else -1
            k = k if k != 0 else -side
            q = draw(st.sampled_from([0.0, 0.1, 0.3, 0.047]))
            rows.append((T0 + ms * MS, "depth", side, (10_000 + k) / 100, q))
        else:
            rows.append((T0 + ms * MS, "trade", draw(st.sampled_from([1, -1])), (10_000 + k) / 100, draw(_QTY)))
    rows.append((T0 + 200 * MS, "depth", 1, 90.0, 1.0))
    orders = draw(
        st.lists(
            st.tuples(st.integers(0, 40), st.sampled_from([1, -1]), _K, _QTY, st.sampled_from(list(TimeInForce))),
            max_size=10,
        )
    )
    return rows, orders


@settings(max_examples=80, deadline=None)
@given(
    sc=_scenario(),
    model=st.sampled_from(["risk_averse", "prob_power", "prob_log"]),
    fill_rule=st.sampled_from(["partial_fill", "no_partial_fill"]),
)
def test_every_fill_is_a_positive_multiple_of_the_lot(venue_harness, sc, model, fill_rule):
    """Random books, prints and orders: every fill, leaves and cancel is on the 0.001 grid (exact
    decimal), positive fills, and the position is a whole number of lots."""
    rows, orders = sc
    extra = {} if fill_rule == "partial_fill" else {"fill_rule": fill_rule}
    h = venue_harness(rows, queue_model=model, **extra)
    for coid, (at, side, k, qty, tif) in enumerate(orders, start=1):
        h.submit(T0 + at * MS, coid, side, (10_000 + k) / 100, qty, tif)
    h.run()
    fills = h.of(Fill)
    for f in fills:
        assert f.qty > 0 and _on_grid(f.qty) and _on_grid(f.leaves_qty), f
    for c in h.of(OrderCanceled):
        assert _on_grid(c.leaves_qty), c
    for coid, (_at, _side, _k, qty, _tif) in enumerate(orders, start=1):
        assert sum(Decimal(repr(f.qty)) for f in h.of(Fill, coid)) <= Decimal(repr(qty))
    assert h.account.n_fills == len(fills)
    lots = h.account.q / 0.001
    assert abs(lots - round(lots)) < 1e-6
