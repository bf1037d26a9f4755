"""Compiled helpers of the two-timeline venue (:mod:`venues.orderbook.venue`).

Pure kernels on plain arrays; they also run with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from engine.feed import CLEAR, DEPTH


@nb.njit(cache=True)
def snapshot_barriers_nb(ts_local, ts_x, kind):
    """Keep book snapshots whole and in place on the exchange clock (mutates ``ts_x``).

    Parameters
    ----------
    ts_local : ndarray of int64, shape (n,)
        Local receive times, non-decreasing (read only).
    ts_x : ndarray of int64, shape (n,)
        Exchange times of the same rows, ns (mutated).
    kind : ndarray of int8, shape (n,)
        ``engine.feed`` kinds (read only).

    Returns
    -------
    int
        Number of rows whose exchange time was changed.

    Notes
    -----
    A snapshot is a ``CLEAR`` row and the ``DEPTH`` rows (and the second side's ``CLEAR``) that
    follow it with the same local time. Rules, in one pass in local (received) order:

    * every row of a snapshot gets the exchange time of its first ``CLEAR`` (a snapshot is
      applied at once, as the replay kernel expects);
    * a snapshot is never earlier than the previous one, and a row received after a snapshot
      is never earlier than that snapshot on the exchange clock.

    The second rule is the one that matters for *pre-snapshot diffs*: Binance diffs received
    before the REST snapshot and applied right after it (the loader stamps them with the
    snapshot's receive time) carry exchange times older than the snapshot's; sorting them before
    the snapshot would let its ``CLEAR`` wipe them out. With the barrier they are applied just
    after the snapshot, as the local book applied them.
    """
    n = ts_local.size
    changed = 0
    barrier = np.iinfo(np.int64).min
    snap_x = barrier
    snap_l = np.int64(-1)
    in_snap = False
    for i in range(n):
        k = kind[i]
        x = ts_x[i]
        if k == CLEAR:
            if not (in_snap and ts_local[i] == snap_l):
                snap_x = x if x > barrier else barrier
                snap_l = ts_local[i]
                in_snap = True
                barrier = snap_x
            x = snap_x
        elif in_snap and k == DEPTH and ts_local[i] == snap_l:
            x = snap_x
        else:
            in_snap = False
            if x < barrier:
                x = barrier
        if x != ts_x[i]:
            ts_x[i] = x
            changed += 1
    return changed
