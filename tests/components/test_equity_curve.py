"""The equity curve's row order (components/metrics.py:PnLRecorder.equity_curve).

Touch samples and fills are both logged in time order; the curve places them by a merge, a
sample before a fill with the same timestamp. Checked against a lexicographic sort of the rows
(numpy's ``lexsort`` on ``(ts, is_fill, position)``) and hand-worked equity values.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from components.account import Account
from components.metrics import FILL_DTYPE, PnLRecorder


class _Venue:
    is_closed = True
    mid = float("nan")

    def __init__(self, ts, bid, ask):
        self.fill_listeners: list = []
        self._s = np.zeros(len(ts), dtype=[("ts_ns", "i8"), ("best_bid", "f8"), ("best_ask", "f8")])
        self._s["ts_ns"], self._s["best_bid"], self._s["best_ask"] = ts, bid, ask

    def touch_samples(self):
        return self._s


def _recorder(sample_ts, fill_ts, fill_q, cash):
    venue = _Venue(sample_ts, 99.0 + np.arange(len(sample_ts)), 101.0 + np.arange(len(sample_ts)))
    rec = PnLRecorder(Account(), venue)
    log = np.zeros(len(fill_ts), dtype=FILL_DTYPE)
    log["ts_ns"], log["q_after"], log["mid"] = fill_ts, fill_q, 50.0 + np.arange(len(fill_ts))
    rec.add_fills(log, np.asarray(cash, dtype=np.float64))
    return rec


def test_hand_worked_curve():
    """Samples at 0, 10, 20 (mids 100, 101, 102); fills at 10 (q 1, cash -100, mid 50) and 15
    (q 2, cash -201, mid 51). The sample at 10 comes before the fill at 10 and still sees no
    position; the sample at 20 sees q 2 and cash -201: -201 + 2 × 102 = 3."""
    rec = _recorder([0, 10, 20], [10, 15], [1.0, 2.0], [-100.0, -201.0])
    curve = rec.equity_curve()
    assert curve["ts_ns"].tolist() == [0, 10, 10, 15, 20]
    assert curve["mid"].tolist() == [100.0, 101.0, 50.0, 51.0, 102.0]
    assert curve["q"].tolist() == [0.0, 0.0, 1.0, 2.0, 2.0]
    assert curve["equity"].tolist() == [0.0, 0.0, -50.0, -99.0, 3.0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=40), st.lists(st.integers(0, 30), max_size=40))
def test_rows_are_ordered_as_a_lexicographic_sort(samples, fills):
    s_ts, f_ts = np.sort(np.array(samples, dtype=np.int64)), np.sort(np.array(fills, dtype=np.int64))
    q = np.arange(1, f_ts.size + 1, dtype=np.float64)
    rec = _recorder(s_ts, f_ts, q, -q * 100.0)
    curve = rec.equity_curve()
    ts = np.concatenate([s_ts, f_ts])
    is_fill = np.concatenate([np.zeros(s_ts.size), np.ones(f_ts.size)])
    mids = np.concatenate([100.0 + np.arange(s_ts.size), 50.0 + np.arange(f_ts.size)])
    order = np.lexsort((np.arange(ts.size), is_fill, ts))
    assert curve["ts_ns"].tolist() == ts[order].tolist()
    assert curve["mid"].tolist() == mids[order].tolist()
