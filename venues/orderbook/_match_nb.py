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
    barriers_nb(ts_local, ts_x, kind, new_barrier_state())


@nb.njit(cache=True)
def barriers_nb(ts_local, ts_x, kind, state):
    """:func:`snapshot_barriers_nb` over one chunk of a feed, its state carried to the next
    (the streamed exchange clock, :mod:`venues.loaders.exchange_clock`).

    Parameters
    ----------
    ts_local, ts_x, kind : ndarray
        As in :func:`snapshot_barriers_nb` (``ts_x`` mutated).
    state : ndarray of int64, shape (4,)
        ``(barrier, snapshot exchange time, snapshot local time, in a snapshot)``; start from
        :func:`new_barrier_state` and pass the same array for the next chunk (mutated).
    """
    barrier = state[0]
    snap_x = state[1]
    snap_l = state[2]
    in_snap = state[3] != 0
    for i in range(ts_local.size):
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
        ts_x[i] = x
    state[0] = barrier
    state[1] = snap_x
    state[2] = snap_l
    state[3] = 1 if in_snap else 0


@nb.njit(cache=True)
def new_barrier_state():
    """Initial state of :func:`barriers_nb`: no barrier, no snapshot."""
    i64_min = np.iinfo(np.int64).min
    return np.array([i64_min, i64_min, -1, 0], dtype=np.int64)
