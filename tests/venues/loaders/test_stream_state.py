"""The streamed parse's running state against independent references (issue 13: parse speed).

* ``lot_size`` from the size summary of :mod:`venues.loaders.stream` (representative sizes plus
  a set of the irregular ones) equals :func:`venues.loaders._common.infer_increment` of every
  size, by hand and under hypothesis (decimals, tiny, huge, off-grid and near-tolerance sizes).
* The compiled crossed-book check (sets of prices, cached best prices, lazy heaps) names the
  same message, or passes, as the in-memory parse, whose check replays
  :class:`venues.loaders.book.RefBook` (:func:`venues.loaders._common.check_crossed`): small
  random feeds under hypothesis, and a long churning book that makes the sets grow and the heaps
  compact.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from venues.loaders import DataConfig, DataError, parse_feed, stream
from venues.loaders._common import infer_increment
from venues.loaders.hftbacktest import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    HBT_DTYPE,
    LOCAL_EVENT,
    SELL_EVENT,
    TRADE_EVENT,
)
from venues.loaders.testing import outcome


def _lot_of(values, reps_cap: int = 128) -> float:
    """``lot_size`` of ``values`` (the sizes > 0 of a stream, in order) through the stream's
    summary, as :func:`venues.loaders.stream._rows_nb` feeds it; the set starts tiny, so it grows."""
    reps, qk, qf = np.zeros(reps_cap), np.zeros(4), np.full(4, -1.0)
    ld, lg, nrep, qn = -1, 0, 0, 0
    for v in values:
        if stream._full(qk, qn):
            qk, = stream._grow(qk)
        ld, lg, nrep, qn = stream._lot_add(float(v), ld, lg, nrep, qn, reps, qk, qf)
    return stream._lot_from(reps[:nrep], qk[qk != 0.0])


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(("sizes", "lot"), [
    ([2.119, 3.34, 0.725], 0.001),  # 2119, 3340, 725 thousandths: gcd 1
    ([3.0, 6.0, 9.0], 3.0),  # integers: gcd 3
    ([0.5, 0.25], 0.25),  # 0.5 sets 1 decimal, then 0.25 needs 2: 50, 25 -> 25 hundredths
    ([0.25, 0.5], 0.25),  # either order
    ([1234567.891], 1234567.89),  # 123456789.1 is within a relative 1e-9 of 123456789 (2 decimals)
    ([0.5, 1e-12], 0.5),  # 1e-12 is within 1e-9 of 0 at one decimal: it adds 0 to the gcd
    ([1e-12], 0.0),  # within 1e-9 of 0 with no decimals: the gcd of [0] is 0
    ([0.1 + 0.2, 0.3], 0.3),  # 0.30000000000000004 is 3 tenths within the tolerance: gcd 3
    ([2.0**60, 3.0], 1.0),  # huge: its integer is exact, gcd(2**60, 3) = 1
])
def test_lot_size_by_hand(sizes, lot):
    """Hand-worked sizes (comments): the summary, the set and infer_increment agree."""
    assert infer_increment(np.array(sizes)) == lot
    assert _lot_of(sizes) == lot
    assert _lot_of(sizes, reps_cap=1) == lot  # reps full: the rest goes through the set


def test_lot_size_of_no_size_is_nan():
    assert math.isnan(_lot_of([]))


def _decimal_size(n: int, d: int) -> float:
    return n / 10.0**d


near_tolerance = st.builds(  # k * (1 + e): inside, at and beyond infer_increment's 1e-9 tolerance
    lambda k, e, d: k * (1.0 + e) / 10.0**d, st.integers(1, 10**9), st.sampled_from(
        [0.0, 1e-12, 4.9e-10, 5e-10, 5.1e-10, 9.99e-10, 1e-9, 1.01e-9, -5e-10, -1e-9, 3e-7]),
    st.integers(0, 10),
)
sizes = st.one_of(
    st.builds(_decimal_size, st.integers(1, 10**7), st.integers(0, 12)),
    st.floats(min_value=5e-324, max_value=1e20, allow_nan=False, allow_infinity=False).filter(lambda x: x > 0),
    st.floats(min_value=5e-324, max_value=1e-8).filter(lambda x: x > 0),
    st.floats(min_value=1e15, max_value=1e19),
    near_tolerance,
)


@given(st.lists(sizes, min_size=1, max_size=40), st.sampled_from([128, 3, 1]))
def test_lot_size_equals_infer_increment(values, reps_cap):
    """Any sizes, in any order, with repeats: the summary gives infer_increment's lot_size."""
    values = values + values[: len(values) // 3]  # repeats
    want = infer_increment(np.array(values))
    got = _lot_of(values, reps_cap)
    assert _same_float(got, want), (values, got, want)


@given(st.lists(st.builds(_decimal_size, st.integers(1, 10**5), st.integers(0, 6)), min_size=1, max_size=60))
def test_lot_size_of_lot_grid_sizes(values):
    """The usual case (sizes on a decimal lot, under 10**5 lots): the same lot_size, and the set
    stays empty (every size is regular; larger ones may go to the set, which is exact too)."""
    reps, qk, qf = np.zeros(128), np.zeros(4), np.full(4, -1.0)
    ld, lg, nrep, qn = -1, 0, 0, 0
    for v in values:
        ld, lg, nrep, qn = stream._lot_add(v, ld, lg, nrep, qn, reps, qk, qf)
    assert qn == 0
    assert stream._lot_from(reps[:nrep], qk[:0]) == infer_increment(np.array(values))


# -- the crossed-book check --------------------------------------------------------------------

BOTH = EXCH_EVENT | LOCAL_EVENT
_TYPES = {"depth": DEPTH_EVENT, "snap": DEPTH_SNAPSHOT_EVENT, "trade": TRADE_EVENT, "clear": DEPTH_CLEAR_EVENT}


def _rows(ops) -> np.ndarray:
    """hftbacktest rows of ``(kind, side, price tick, size, same message as the previous row)``."""
    r = np.zeros(len(ops), dtype=HBT_DTYPE)
    ts = 1_700_000_000_000_000_000
    for i, (kind, side, tick, q, same) in enumerate(ops):
        if i and not same:
            ts += 1_000
        flag = BUY_EVENT if side > 0 else SELL_EVENT
        if kind == "clear" and side == 0:
            flag = 0
        r[i] = (np.uint64(_TYPES[kind] | flag | BOTH), ts, ts, 2000.0 + tick * 0.5,
                q if kind != "trade" else max(q, 1.0), i + 1 if kind == "trade" else 0, 0, 0.0)
    return r


def _stream_equals_parse(rows: np.ndarray, chunk: int) -> None:
    """Streaming ``rows`` gives what the in-memory parse gives: the same events, tick, lot and
    warnings, or the same error message."""
    with tempfile.TemporaryDirectory() as d:
        path = str(Path(d) / "f.npz")
        np.savez(path, data=rows)
        ref = outcome(lambda: parse_feed(DataConfig(format="hftbacktest_npz", paths=(path,))))
        got = outcome(lambda: stream.stream_to_npy("hftbacktest_npz", [path], None, Path(d) / "ev.npy",
                                                   chunk_rows=chunk))
        assert got[0] == ref[0], (got, ref)
        if ref[0] == "error":
            assert got[1] == ref[1]
            return
        feed, res = ref[1], got[1]
        assert np.array_equal(np.load(Path(d) / "ev.npy"), feed.events)
        assert _same_float(res["tick_size"], feed.meta.tick_size)
        assert _same_float(res["lot_size"], feed.meta.lot_size)
        assert tuple(res["warnings"]) == feed.warnings


def _op(kind: str, side: int, depth: int, q: float, same: bool) -> tuple:
    """A row ``depth`` ticks away from the middle on its side: bids on ticks 1, 0, -1, ..., asks
    on -1, 0, 1, ...; the sides overlap on three ticks, so crosses are common. Side 0 (both)
    only for clears."""
    if kind != "clear":
        side = side or 1
    return kind, side, (1 - depth) if side > 0 else (depth - 1), q, same


ops = st.lists(
    st.builds(_op, st.sampled_from(["depth", "depth", "depth", "snap", "trade", "clear"]),
              st.sampled_from([1, -1, 0]), st.integers(0, 6), st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.25]),
              st.booleans()),  # the last: in the previous row's message
    min_size=1, max_size=50,
)


@given(ops, st.integers(1, 60))
def test_crossed_check_equals_the_reference_book(seq, chunk):
    """Random small books (bids and asks on overlapping ticks, deletes, clears, snapshots,
    multi-row messages, chunks of any size): the stream's crossed-book check passes or names
    the same row as the reference book's."""
    _stream_equals_parse(_rows(seq), chunk)


def test_crossed_check_on_a_long_churning_book():
    """3,000 levels a side in a snapshot (the price sets and heaps grow), most of them deleted,
    then levels near the touch deleted and re-added ~40,000 times (the heaps compact, the best
    level is often removed and stale heap tops popped), then a cross: the same events and the
    same message as the reference book."""
    rng = np.random.default_rng(13)
    ops = [("snap", 1, -t, 1.0, True) for t in range(1, 3001)]
    ops += [("snap", -1, t, 1.0, True) for t in range(1, 3001)]
    ops += [("depth", s, s * -t, 0.0, True) for t in range(100, 3001) for s in (1, -1)]
    for _ in range(40_000):
        side = 1 if rng.random() < 0.5 else -1
        depth = min(int(rng.geometric(0.05)), 3000)  # mostly near the touch
        q = 0.0 if rng.random() < 0.5 else float(rng.integers(1, 5))
        ops.append(("depth", side, -side * depth, q, rng.random() < 0.3))
    _stream_equals_parse(_rows(ops), 7_001)
    crossed = _rows([*ops, ("depth", 1, 3001, 1.0, False), ("depth", -1, 9, 1.0, True)])
    _stream_equals_parse(crossed, 7_001)
    with tempfile.TemporaryDirectory() as d:
        np.savez(Path(d) / "f.npz", data=crossed)
        with pytest.raises(DataError, match=f"row {crossed.size - 1}: crossed book after applying this update"):
            stream.stream_to_npy("hftbacktest_npz", [str(Path(d) / "f.npz")], None, Path(d) / "e.npy")
