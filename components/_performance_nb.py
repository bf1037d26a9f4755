"""Compiled passes of the per-trial metrics over time-ordered logs: the equity curve's merge of
the touch samples and the account log (:meth:`components.metrics.PnLRecorder.equity_curve`) and
the markouts' mid lookups (:func:`components.performance.markouts`). One pass over both logs
instead of a binary search of every row of one into the other.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

Vec = npt.NDArray[Any]
"""A 1-D array (any stride): the kernels read and write columns of structured arrays in place."""


@nb.njit(cache=True)
def merge_curve_nb(ts: Vec, mid: Vec, fts: Vec, fcash: Vec, fq: Vec, fmid: Vec, out_ts: Vec, out_cash: Vec,
                   out_q: Vec, out_mid: Vec) -> None:  # fmt: skip
    """Write the equity curve's rows: samples and account rows in time order, a sample before an
    account row with the same time.

    Parameters
    ----------
    ts, mid : ndarray of int64, float64, shape (n,)
        Touch samples with a two-sided book: time (ns) and mid (quote units), ``ts`` never
        decreasing.
    fts, fcash, fq, fmid : ndarray of int64, float64, float64, float64, shape (m,)
        The account after each fill or cash change: time (ns, never decreasing), cash (quote
        units), inventory (base units) and mid at that row.
    out_ts, out_cash, out_q, out_mid : ndarray, shape (n + m,)
        Filled in (any stride, e.g. the fields of a structured array). A sample carries the
        cash and inventory of the last account row strictly before it (0 before the first).
    """
    m = fts.size
    j = 0
    r = 0
    cash = 0.0
    q = 0.0
    for i in range(ts.size):
        t = ts[i]
        while j < m and fts[j] < t:
            cash = fcash[j]
            q = fq[j]
            out_ts[r] = fts[j]
            out_cash[r] = cash
            out_q[r] = q
            out_mid[r] = fmid[j]
            j += 1
            r += 1
        out_ts[r] = t
        out_cash[r] = cash
        out_q[r] = q
        out_mid[r] = mid[i]
        r += 1
    while j < m:
        out_ts[r] = fts[j]
        out_cash[r] = fcash[j]
        out_q[r] = fq[j]
        out_mid[r] = fmid[j]
        j += 1
        r += 1


@nb.njit(cache=True)
def markout_moves_nb(fts: Vec, side: Vec, px: Vec, qty: Vec, ts: Vec, mid: Vec, h_ns: int, bps: Vec,
                     quote: Vec) -> int:  # fmt: skip
    """Each fill's markout at horizon ``h_ns``, in fill order, for the fills that have a mid to
    mark against (``components.performance.markouts``: ``s · (mid(t + h) − px)``).

    Parameters
    ----------
    fts, side, px, qty : ndarray of int64, int8, float64, float64, shape (m,)
        Fill time (ns), side (+1 buy, −1 sell), price (quote units) and size (base units).
    ts, mid : ndarray of int64, float64, shape (n,), n >= 1
        Mid path, ``ts`` never decreasing.
    h_ns : int
        Horizon, ns.
    bps, quote : ndarray of float64, shape (m,)
        Written: ``move / px · 1e4`` and ``move · qty`` of the used fills, at the front.

    Returns
    -------
    int
        Number of fills used: those with ``t + h`` at or after the first sample and at or
        before the last one; ``mid(t + h)`` is the last sample at or before it.
    """
    n = ts.size
    last = ts[n - 1]
    k = -1
    t_prev = np.iinfo(np.int64).min
    used = 0
    for i in range(fts.size):
        t = fts[i] + h_ns
        if t > last:
            continue
        if t >= t_prev:  # fills in time order: move on from the last sample found
            while k + 1 < n and ts[k + 1] <= t:
                k += 1
        else:
            k = np.searchsorted(ts, t, side="right") - 1
        t_prev = t
        if k < 0:
            continue
        move = np.float64(side[i]) * (mid[k] - px[i])
        bps[used] = move / px[i] * 1e4
        quote[used] = move * qty[i]
        used += 1
    return used
