"""Property tests of the replayed book and of our fills on random scripted feeds (venue.py, _book_nb.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.orders import Fill, Liquidity, OrderAccepted, OrderCanceled, OrderRejected, TimeInForce

T0 = 1_000_000_000
MS = 1_000_000
BASE_TICKS = 10_000  # 100.00 at tick 0.01
SPAN = 15  # prices 99.85 ... 100.15


def px_of(k: int) -> float:
    """Price of tick offset ``k`` from 100.00 (the same float the venue reports)."""
    return (BASE_TICKS + k) / 100


_qty = st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.5, 7.0])
_depth_op = st.tuples(st.just("depth"), st.sampled_from([1, -1]), st.integers(-SPAN, SPAN), _qty)
_clear_op = st.tuples(st.just("clear"), st.sampled_from([1, -1, 0]), st.just(0), st.just(0.0))
_snap_op = st.tuples(
    st.just("snapshot"),
    st.integers(-SPAN, SPAN - 1),  # bids at <= split, asks above
    st.lists(st.integers(-SPAN, SPAN), max_size=6),
    st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=6, max_size=6),
)
_book_ops = st.lists(st.one_of(_depth_op, _depth_op, _depth_op, _clear_op, _snap_op), min_size=1, max_size=40)


class BruteBook:
    """Dict-of-levels reference book."""

    def __init__(self) -> None:
        self.side = {1: {}, -1: {}}

    def best(self, side: int):
        levels = [k for k, q in self.side[side].items() if q > 0]
        if not levels:
            return None
        return max(levels) if side == 1 else min(levels)

    def touch(self) -> tuple[float, float]:
        b, a = self.best(1), self.best(-1)
        return (px_of(b) if b is not None else math.nan, px_of(a) if a is not None else math.nan)

    def would_cross(self, side: int, k: int, qty: float) -> bool:
        if qty <= 0:
            return False
        opp = self.best(-side)
        return opp is not None and (k >= opp if side == 1 else k <= opp)

    def set(self, side: int, k: int, qty: float) -> None:
        if qty > 0:
            self.side[side][k] = qty
        else:
            self.side[side].pop(k, None)

    def clear(self, side: int) -> None:
        for s in (1, -1):
            if side in (0, s):
                self.side[s].clear()


def script_feed(ops) -> tuple[list[tuple], list[tuple[int, tuple[float, float]]], BruteBook]:
    """Rows for ``ops`` (crossing DEPTH rows dropped) and the reference touch after each op.

    One op per millisecond; a snapshot is a CLEAR plus DEPTH rows sharing one timestamp; trade
    prints do not change the recorded book.
    """
    book = BruteBook()
    rows: list[tuple] = [(T0, "depth", 1, px_of(-1), 1.0), (T0, "depth", -1, px_of(1), 1.0)]
    book.set(1, -1, 1.0)
    book.set(-1, 1, 1.0)
    expected = [(T0, book.touch())]
    for i, op in enumerate(ops):
        ts = T0 + (i + 1) * MS
        if op[0] == "depth":
            _, side, k, qty = op
            if book.would_cross(side, k, qty):
                continue
            rows.append((ts, "depth", side, px_of(k), qty))
            book.set(side, k, qty)
        elif op[0] == "trade":
            _, side, k, qty = op
            rows.append((ts, "trade", side, px_of(k), qty))
        elif op[0] == "clear":
            rows.append((ts, "clear", op[1], 0.0, 0.0))
            book.clear(op[1])
        else:
            _, split, ks, qtys = op
            rows.append((ts, "clear", 0, 0.0, 0.0))
            book.clear(0)
            for k, q in zip(ks, qtys, strict=False):
                side = 1 if k <= split else -1
                rows.append((ts, "depth", side, px_of(k), q))
                book.set(side, k, q)
        expected.append((ts, book.touch()))
    # closing row well after every op, order, cancel and report of the tests
    rows.append((T0 + 100 * MS, "depth", 1, px_of(-SPAN), 0.25))
    return rows, expected, book


def _same_touch(a, b) -> bool:
    return all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


@settings(max_examples=60, deadline=None)
@given(ops=_book_ops)
def test_touch_matches_brute_force_book(venue_harness, ops):
    """After every recorded update the venue's touch equals the best bid/ask of a dict book."""
    rows, expected, book = script_feed(ops)
    h = venue_harness(rows)
    probes = [(exp, h.probe(ts, h.venue.touch)) for ts, exp in expected]
    h.run()
    for exp, got in probes:
        assert _same_touch(got[0], exp), (got[0], exp)
    for side in (1, -1):
        for k in range(-SPAN, SPAN + 1):
            want = book.side[side].get(k, 0.0)
            if side == 1 and k == -SPAN:
                want = 0.25  # the closing row
            assert h.venue.level_qty(side, px_of(k)) == want


_order = st.tuples(
    st.integers(0, 39),  # op index after which it is sent
    st.sampled_from([1, -1]),
    st.integers(-6, 6),
    st.sampled_from([0.3, 1.0, 2.0]),
    st.sampled_from(list(TimeInForce)),
    st.one_of(st.none(), st.integers(1, 15)),  # cancel this many ms later
)
_trade_op = st.tuples(
    st.just("trade"), st.sampled_from([1, -1]), st.integers(-SPAN, SPAN), st.sampled_from([0.2, 1.0, 4.0])
)


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(st.one_of(_depth_op, _depth_op, _trade_op, _snap_op), min_size=1, max_size=40),
    orders=st.lists(_order, max_size=12),
    model=st.sampled_from(["risk_averse", "prob_power", "prob_log"]),
    entry_ms=st.integers(0, 3),
    response_ms=st.integers(0, 3),
)
def test_fills_respect_order_limits_and_account(venue_harness, ops, orders, model, entry_ms, response_ms):
    """Fills never exceed the order size, maker fills are at the limit, takers no worse, and q = signed sum of fills."""
    rows, _, _ = script_feed(ops)
    h = venue_harness(rows, queue_model=model, entry_latency_ms=entry_ms, response_latency_ms=response_ms)
    sent = {}
    for coid, (at, side, k, qty, tif, cancel_after) in enumerate(orders, start=1):
        ts = T0 + at * MS
        sent[coid] = (side, px_of(k), qty, tif)
        h.submit(ts, coid, side, px_of(k), qty, tif)
        if cancel_after is not None:
            h.cancel(ts + cancel_after * MS, coid)
    h.run()
    signed = 0.0
    for coid, (side, px, qty, _tif) in sent.items():
        fills = h.of(Fill, coid)
        total = sum(f.qty for f in fills)
        assert total <= qty + 1e-9
        done = 0.0
        for f in fills:
            assert f.side == side and f.qty > 0
            done += f.qty
            assert f.leaves_qty == pytest.approx(qty - done, abs=1e-9)
            if f.liquidity == Liquidity.MAKER:
                assert f.px == px
            else:
                assert (f.px <= px) if side == 1 else (f.px >= px)
            signed += side * f.qty
        for c in h.of(OrderCanceled, coid):
            assert c.leaves_qty == pytest.approx(qty - total, abs=1e-9)
            assert c.leaves_qty > 0
        # life cycle: rejected alone, or accepted first; nothing after a terminal report
        mine = [e for e in h.reports if e.client_order_id == coid and type(e) is not OrderRejected]
        if mine:
            assert type(mine[0]) is OrderAccepted
            ends = [
                i for i, e in enumerate(mine) if type(e) is OrderCanceled or (type(e) is Fill and e.leaves_qty <= 1e-12)
            ]
            assert len(ends) <= 1 and (not ends or ends[0] == len(mine) - 1)
    assert h.account.q == pytest.approx(signed, abs=1e-9)
    assert h.account.n_fills == len(h.of(Fill))
