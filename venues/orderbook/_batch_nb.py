"""Compiled one-pass replay of a batch of quoter trials (GLFT, Avellaneda–Stoikov, fixed spread) over one feed.

One loop (:func:`run_batch_nb`) replays the matching book and the view book once and
advances every trial of the batch together: their orders share one order array (each row
carries its ``trial``) matched by :func:`venues.orderbook._book_nb.advance_nb`, the one matching
rule of the package; each trial has its own latency, event times, local orders, inventory and
GLFT state. The loop is the compiled twin of :meth:`engine.kernel.Simulation.run` driving an
:class:`venues.orderbook.venue.OrderBookVenue` (post-only orders, constant latency) and one of
the builtin quoters (:class:`strategies.glft.GLFTQuoter`,
:class:`strategies.avellaneda_stoikov.AvellanedaStoikovQuoter`,
:class:`strategies.fixed_spread.FixedSpreadQuoter`; ``ip[k, IP_KIND]``);
:mod:`venues.orderbook.batch` says which trials it runs and turns its output into the same
:class:`experiments.trial.TrialResult` as the per-trial path
(``tests/venues/orderbook/test_batch.py`` checks they are bit-identical).

Trials never interact: our orders do not change the replayed book (no own impact, and a
post-only order that would trade is rejected), FIFO floors and print sharing are per trial, and
events at one timestamp keep each trial's own order (``(ts, priority, seq)``).

Records and work arrays are plain int64/float64 arrays (columns listed below), so the kernel
also runs with ``NUMBA_DISABLE_JIT=1``.

The helpers called per event (the event queue, the decision, the order and report handlers)
and :func:`~venues.orderbook._book_nb.advance_nb` are compiled with Numba's ``_nrt=False``:
they allocate nothing, so they need no reference counts, and each call with array arguments
otherwise costs an atomic increment and decrement per array (27 % of a 23-trial busy-day batch
in ``perf``). Only :func:`run_batch_nb` (which grows its arrays) and the estimator step (whose
fit allocates) keep them.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from strategies._glft_nb import as_depths_nb, depth_bin_nb, glft_depths_nb, glft_estimate_hist_nb
from venues.orderbook._book_nb import (
    BEST_ASK,
    BEST_BID,
    MAX_BUY_TRADE,
    MIN_SELL_TRADE,
    N_USED,
    NO_PRICE,
    advance_nb,
    compact_orders_nb,
)

# event priorities (engine.events.Priority) and kinds
P_VENUE_MATCH, P_MARKET_DATA, P_DATA_FIRST, P_REPORT, P_TIMER = 10, 20, 25, 30, 40
EV_TIMER, EV_NEW, EV_CANCEL, EV_REJECT, EV_CANCELED, EV_FILL, EV_PROBE = 0, 1, 2, 4, 5, 6, 7  # (acks are not queued)
R_OTHER, R_UNKNOWN_ORDER = 0, 1
END_OF_TIME = np.int64(2**62)

# int parameters per trial (ip[k, ...])
IP_INTERVAL, IP_ENTRY_NEW, IP_ENTRY_CANCEL, IP_RESPONSE, IP_WARMUP, IP_RECAL = 0, 1, 2, 3, 4, 5
IP_WINDOW, IP_GRID, IP_LOTS, IP_GROUP, IP_MAX_OPEN, IP_KIND, IP_EST = 6, 7, 8, 9, 10, 11, 12
N_IP = 13
KIND_GLFT, KIND_AS, KIND_FIXED = 0, 1, 2
"""Quoter of a trial (``ip[k, IP_KIND]``)."""
# shared σ/A/k estimators (est_i[e, ...], est_f[e, ...]): trials with the same decision clock and
# the same window, warm-up, refit period and fit grid see the same steps, so they share one
EST_STEPS, EST_UNIDENTIFIED, EST_LAST_TS = 0, 1, 2
EST_PREV_MID, EST_SIGMA, EST_A, EST_K = 0, 1, 2, 3
# float parameters per trial (fp[k, ...])
FP_GAMMA, FP_XI, FP_ORDER_QTY, FP_QTY, FP_MAX_POS, FP_MIN_HALF, FP_MAX_DEPTH, FP_BAND = 0, 1, 2, 3, 4, 5, 6, 7
FP_PRIOR_A, FP_PRIOR_K, FP_TAU, FP_HALF_BPS, FP_SKEW_BPS = 8, 9, 10, 11, 12
N_FP = 13
# int state per trial (si[k, ...])
SI_COID, SI_ORDERS, SI_REJECTS, SI_LAST_ARRIVAL, SI_LAST_REPORT = 1, 2, 3, 4, 5
SI_OPEN, SI_LOCAL, SI_END_NOW, SI_ERROR, SI_LAST_ACK = 6, 7, 9, 10, 11
N_SI = 12
# float state per trial (sf[k, ...])
SF_Q = 0
N_SF = 1
# local order columns (lo[k, slot, ...]); leaves in lf[k, slot]
LO_COID, LO_SIDE, LO_TICKS, LO_CANCEL_PENDING = 0, 1, 2, 3
N_LO = 4
MAX_LOCAL = 64
"""Orders one trial may have sent and not heard the end of; more is an error (ERR_LOCAL)."""
# errors (si[k, SI_ERROR]); the driver turns them into the per-trial path's exceptions
ERR_NONE, ERR_LOCAL, ERR_PRICE = 0, 1, 2
# fill records (fr[f, ...])
FR_TRIAL, FR_VENUE_TS, FR_COID, FR_SIDE, FR_IDX, FR_LOTS, FR_VIEW_BID, FR_VIEW_ASK = range(8)
N_FR = 8


# The event queue: a binary min-heap over (ts, prio << 40 | seq) in three arrays (hk1, hk2, hp:
# the payload slot), payloads (trial, kind, a, b, c, d) in pl, free payload slots in free.
# ``hq = (hk1, hk2, hp, pl, free)``; counts and the next seq in ``cur``. Keys are unique (seq).
PL_TRIAL, PL_KIND, PL_A, PL_B, PL_C, PL_D = range(6)


def new_queue(capacity):
    """An empty event queue of ``capacity`` entries (``hq`` of :func:`run_batch_nb`)."""
    return (np.zeros(capacity, dtype=np.int64), np.zeros(capacity, dtype=np.int64),
            np.zeros(capacity, dtype=np.int64), np.zeros((capacity, 6), dtype=np.int64),
            np.arange(capacity - 1, -1, -1, dtype=np.int64))  # fmt: skip


@nb.njit(cache=True, _nrt=False)
def _push(hq, cur, ts, prio, k, kind, a, b, c, d):
    """Schedule an event (``seq`` from ``cur``: ties keep the order of scheduling)."""
    hk1, hk2, hp, pl, free = hq
    nf = cur[CUR_N_FREE]
    if nf == 0:
        raise RuntimeError("batch event queue full")
    slot = free[nf - 1]
    cur[CUR_N_FREE] = nf - 1
    pl[slot, PL_TRIAL] = k
    pl[slot, PL_KIND] = kind
    pl[slot, PL_A] = a
    pl[slot, PL_B] = b
    pl[slot, PL_C] = c
    pl[slot, PL_D] = d
    key2 = (np.int64(prio) << 40) | cur[CUR_SEQ]
    cur[CUR_SEQ] += 1
    i = cur[CUR_N_HEAP]
    while i > 0:
        up = (i - 1) >> 1
        if hk1[up] < ts or (hk1[up] == ts and hk2[up] < key2):
            break
        hk1[i] = hk1[up]
        hk2[i] = hk2[up]
        hp[i] = hp[up]
        i = up
    hk1[i] = ts
    hk2[i] = key2
    hp[i] = slot
    cur[CUR_N_HEAP] += 1


@nb.njit(cache=True, _nrt=False)
def _pop(hq, cur):
    """Remove the earliest event; returns its payload slot (free it with :func:`_free`)."""
    hk1, hk2, hp, pl, free = hq
    top = hp[0]
    n = cur[CUR_N_HEAP] - 1
    cur[CUR_N_HEAP] = n
    t1 = hk1[n]
    t2 = hk2[n]
    tp = hp[n]
    i = 0
    while True:
        m = 2 * i + 1
        if m >= n:
            break
        r = m + 1
        if r < n and (hk1[r] < hk1[m] or (hk1[r] == hk1[m] and hk2[r] < hk2[m])):
            m = r
        if t1 < hk1[m] or (t1 == hk1[m] and t2 < hk2[m]):
            break
        hk1[i] = hk1[m]
        hk2[i] = hk2[m]
        hp[i] = hp[m]
        i = m
    hk1[i] = t1
    hk2[i] = t2
    hp[i] = tp
    return top


@nb.njit(cache=True, _nrt=False)
def _free(hq, cur, slot):
    free = hq[4]
    free[cur[CUR_N_FREE]] = slot
    cur[CUR_N_FREE] += 1


@nb.njit(cache=True, _nrt=False)
def _resp_ts(si, k, venue_ts, ip):
    """Report time of what the venue did at ``venue_ts``: after the response latency, in order."""
    t = max(venue_ts + ip[k, IP_RESPONSE], si[k, SI_LAST_REPORT])
    si[k, SI_LAST_REPORT] = t
    return t


@nb.njit(cache=True, inline="always")
def _snap_ticks(x, per, down):
    """Whole ticks of the float fast path of :func:`venues.profiles._snap_round` (``1/step = per``).

    ``x`` within 4 ulps of a multiple of the step is that multiple; otherwise floor (``down``)
    or ceil. The price is ``n / per``.
    """
    r = x * per
    n = round(r)
    if abs(x - n / per) <= 4.0 * (np.nextafter(abs(x), np.inf) - abs(x)):
        return np.int64(n)
    return np.int64(math.floor(r)) if down else np.int64(math.ceil(r))


@nb.njit(cache=True, inline="always")
def _py_max(a, b):
    """Python's ``max(a, b)`` on floats (``a`` unless ``b > a``: NaN handling included)."""
    return b if b > a else a


@nb.njit(cache=True, inline="always")
def _py_min(a, b):
    """Python's ``min(a, b)`` on floats."""
    return b if b < a else a


@nb.njit(cache=True, _nrt=False)
def _local_delete(lo, lf, si, k, s):
    n = si[k, SI_LOCAL]
    for t in range(s, n - 1):
        for c in range(lo.shape[2]):
            lo[k, t, c] = lo[k, t + 1, c]
        lf[k, t] = lf[k, t + 1]
    si[k, SI_LOCAL] = n - 1


@nb.njit(cache=True, _nrt=False)
def _local_find(lo, si, k, coid):
    for s in range(si[k, SI_LOCAL]):
        if lo[k, s, LO_COID] == coid:
            return s
    return -1


@nb.njit(cache=True, _nrt=False)
def _find_resting(orders, st, k, coid):
    for o in range(st[N_USED]):
        if orders[o]["active"] != 0 and orders[o]["trial"] == k and orders[o]["coid"] == coid:
            return o
    return -1



def new_batch_state(ip, fp, n_groups, start_ns, probe_ts=()):
    """Fresh per-trial state of :func:`run_batch_nb` (a dict of arrays, mutated by the runs).

    Parameters
    ----------
    ip, fp : ndarray
        Per-trial parameters (``IP_*``, ``FP_*`` columns).
    n_groups : int
        Number of decision clocks.
    start_ns : int
        First time of the run (the requote timers start one interval later), ns.
    probe_ts : sequence of int
        Times at which to record the view book's touch (timer priority: after the rows stamped
        then), e.g. the funding settlements; ``state["probe"]`` gets ``(best_bid, best_ask)``
        indices at each.
    """
    K = ip.shape[0]
    W = max(2, int(ip[:, IP_WINDOW].max())) if K else 2
    E = int(ip[:, IP_EST].max()) + 1 if K else 1
    est_f = np.full((E, 4), np.nan)
    est_i = np.zeros((E, 3), dtype=np.int64)
    est_i[:, EST_LAST_TS] = -1
    si = np.zeros((K, N_SI), dtype=np.int64)
    si[:, SI_LAST_ARRIVAL] = -1
    si[:, SI_LAST_REPORT] = -1
    si[:, SI_END_NOW] = start_ns
    si[:, SI_LAST_ACK] = start_ns
    sf = np.zeros((K, N_SF), dtype=np.float64)
    n_probe = len(probe_ts)
    hq = new_queue(K * 512 + n_probe + 64)  # in flight per trial: its timer, and <= 3 per order it may hold
    cur = np.array([0, 0, -1, -1, 0, 0, 0, hq[0].size], dtype=np.int64)
    for j in range(n_probe):  # on_start: the probes, then each trial's requote timer
        _push(hq, cur, int(probe_ts[j]), P_TIMER, -1, EV_PROBE, j, 0, 0, 0)
    for k in range(K):
        _push(hq, cur, int(start_ns + ip[k, IP_INTERVAL]), P_TIMER, k, EV_TIMER, 0, 0, 0, 0)
    return {
        "si": si, "sf": sf, "depths": np.full((E, W), np.nan), "dmid": np.full((E, W), np.nan),
        "hist": np.zeros((E, max(1, int(ip[:, IP_GRID].max())) if K else 1), dtype=np.int64),
        "est_i": est_i, "est_f": est_f,
        "lo": np.zeros((K, MAX_LOCAL, N_LO), dtype=np.int64), "lf": np.zeros((K, MAX_LOCAL), dtype=np.float64),
        "acc_buy": np.full(n_groups, NO_PRICE, dtype=np.int64), "acc_sell": np.full(n_groups, NO_PRICE, dtype=np.int64),
        "snap_ts": np.full(n_groups, -1, dtype=np.int64), "snap_buy": np.full(n_groups, NO_PRICE, dtype=np.int64),
        "snap_sell": np.full(n_groups, NO_PRICE, dtype=np.int64), "scratch": np.zeros(K, dtype=np.float64),
        "stamp": np.full(K, -1, dtype=np.int64), "hq": hq,
        # cursor: feed rows i/il, their next times, fill records, event seq, queued events, free slots
        "cur": cur,
        "probe": np.full((max(n_probe, 1), 2), NO_PRICE, dtype=np.int64),
        "fr": np.zeros((1024, N_FR), dtype=np.int64),
    }  # fmt: skip


CUR_I, CUR_IL, CUR_NEXT_TS, CUR_NEXT_LTS, CUR_N_FR, CUR_SEQ, CUR_N_HEAP, CUR_N_FREE = range(8)


@nb.njit(cache=True)
def run_batch_nb(evx, evl, two_books, inv_tick, tick, per_tick, per_lot, base, book, st, lbook, lst, samples,
                 model, power, lot, fill_rule, min_notional, stp, arrival_prio, start_ns, until_ns,
                 ip, fp, grid, n_groups, orders, fills, si, sf, depths, dmid, hist, est_i, est_f, lo, lf, acc_buy,
                 acc_sell, snap_ts, snap_buy, snap_sell, scratch, stamp, hq, cur, fr, probe, window_end):  # fmt: skip
    """Advance a batch of quoter trials over one feed up to ``window_end``; see the module docstring.

    Parameters
    ----------
    evx, evl : ndarray of engine.feed.EVENT_DTYPE
        The feed on the matching (exchange) clock and on the local clock (the same array when
        ``two_books`` is false), each sorted by ``ts_local_ns``.
    two_books : bool
        Whether a separate view book replays ``evl``.
    inv_tick, tick : float
        ``1 / tick_size`` and ``tick_size``, quote units.
    per_tick, per_lot : int
        ``1 / tick_size`` and ``1 / lot_size``, whole numbers: a price of ``n`` ticks is
        ``n / per_tick`` quote units, ``m`` lots are ``m / per_lot`` base units.
    base : int
        Price in ticks of book index 0.
    book, st, lbook, lst, samples
        Matching book and scalars, view book and scalars, view samples (as the venue's
        ``_book``, ``_st``, ``_lbook``, ``_lst``, ``_samples``; ``lbook``/``lst`` are
        ``book``/``st`` with one book). Mutated.
    model, power, lot, fill_rule
        As :func:`venues.orderbook._book_nb.advance_nb`.
    min_notional : float
        Smallest order value, quote units.
    stp : bool
        Self-trade prevention on: a post-only order reaching one of the trial's own resting
        orders is rejected.
    arrival_prio : int
        Priority of a request reaching the venue (10 orders first, 25 data first).
    start_ns, until_ns : int
        First and last time of the run, ns.
    ip : ndarray of int64, shape (K, N_IP)
        Per-trial integer parameters (``IP_*`` columns; latencies in ns, sizes in lots).
    fp : ndarray of float64, shape (K, N_FP)
        Per-trial float parameters (``FP_*`` columns; depths in ticks, sizes in base units).
    grid : ndarray of float64, shape (K, G)
        Intensity-fit depths of each trial (its first ``ip[k, IP_GRID]`` entries), ticks.
    n_groups : int
        Number of distinct decision clocks (``ip[:, IP_GROUP]`` in ``0 .. n_groups-1``): trials
        of one group decide at the same times, so they share the trade extremes of each step.
    orders, fills : ndarray
        Order rows (:data:`~venues.orderbook._book_nb.ORDER_DTYPE`) and :func:`advance_nb`'s
        work space; grown as needed (returned).
    si, sf, depths, dmid, hist, est_i, est_f, lo, lf, acc_buy, acc_sell, snap_ts, snap_buy, snap_sell, scratch, stamp,
    hq, cur, fr, probe
        The batch state of :func:`new_batch_state` (mutated; ``fr`` returned, possibly grown):
        ``hq`` the event queue (:func:`new_queue`), ``cur`` the cursors and counts.
    window_end : int
        Stop before handling an event later than this, ns (``>= until_ns``: run to the end).
        The next call carries on from there: the caller may release replayed pages in between.

    Returns
    -------
    orders, fills, fr : ndarray
        The (possibly grown) arrays to pass to the next call.
    finished : bool
        The run reached its end (``si``: orders sent, rejects, last event
        time, error code; ``fr[:cur[CUR_N_FR]]``: every fill in the order the venue made them).
    """
    no_orders = np.zeros(1, dtype=orders.dtype)
    no_fills = np.zeros((1, 2), dtype=np.int64)
    no_impact = np.zeros((2, 0), dtype=np.float64)
    no_samples = np.zeros((0, 3), dtype=np.int64)
    vscratch = np.zeros(1, dtype=np.float64)
    vstamp = np.full(1, -1, dtype=np.int64)
    n_ticks = book.shape[1]
    n = evx.size
    tsx = evx["ts_local_ns"]
    tsl = evl["ts_local_ns"]
    i = cur[CUR_I]
    il = cur[CUR_IL]
    next_ts = cur[CUR_NEXT_TS]
    next_lts = cur[CUR_NEXT_LTS]
    if next_ts < 0:
        next_ts = tsx[i] if i < n else END_OF_TIME
        next_lts = tsl[il] if il < n else END_OF_TIME
    n_fr = cur[CUR_N_FR]
    hk1 = hq[0]
    hk2 = hq[1]
    pl = hq[3]
    finished = False
    while True:
        if cur[CUR_N_HEAP] > 0:
            ts = hk1[0]
            prio = hk2[0] >> 40
        else:
            ts = END_OF_TIME
            prio = np.int64(0)
        at_window = False
        if ts > window_end and window_end < until_ns:
            # replay the rows before the window's end, then hand back (the caller releases the
            # replayed pages and carries on): one more horizon, which changes nothing
            ts = window_end
            prio = np.int64(P_MARKET_DATA)
            at_window = True
        elif ts > until_ns:
            ts = until_ns
            prio = np.int64(P_MARKET_DATA + 1)
        until_excl = ts + 1 if prio > P_MARKET_DATA else ts
        # -- the venue's advance(): matching book, then the view book -------------------------
        nf = 0
        if not two_books:
            lst[MAX_BUY_TRADE] = NO_PRICE
            lst[MIN_SELL_TRADE] = NO_PRICE
        if next_ts < until_excl:
            i, nf = advance_nb(evx, i, until_excl, inv_tick, book, st, orders, model, power, fills,
                               samples if not two_books else no_samples, lot, fill_rule, no_impact, scratch,
                               stamp)  # fmt: skip
            next_ts = tsx[i] if i < n else END_OF_TIME
        if two_books and next_lts < until_excl:
            lim = until_excl if nf == 0 else min(until_excl, tsx[i - 1] + 1)
            if next_lts < lim:
                lst[MAX_BUY_TRADE] = NO_PRICE
                lst[MIN_SELL_TRADE] = NO_PRICE
                il, _ = advance_nb(evl, il, lim, inv_tick, lbook, lst, no_orders, model, power, no_fills, samples,
                                   lot, fill_rule, no_impact, vscratch, vstamp)  # fmt: skip
                next_lts = tsl[il] if il < n else END_OF_TIME
        b = lst[MAX_BUY_TRADE]
        s_ = lst[MIN_SELL_TRADE]
        if b != NO_PRICE or s_ != NO_PRICE:  # prints the strategies have now seen, per decision clock
            for g in range(n_groups):
                if b != NO_PRICE and (acc_buy[g] == NO_PRICE or b > acc_buy[g]):
                    acc_buy[g] = b
                if s_ != NO_PRICE and (acc_sell[g] == NO_PRICE or s_ < acc_sell[g]):
                    acc_sell[g] = s_
            lst[MAX_BUY_TRADE] = NO_PRICE
            lst[MIN_SELL_TRADE] = NO_PRICE
        if nf > 0:  # fills of the row the matching book stopped at: book them, report them
            ts_fill = tsx[i - 1]
            for f in range(nf):
                o = fills[f, 0]
                k = orders[o]["trial"]
                leaves = orders[o]["leaves"]
                if leaves <= 0:
                    si[k, SI_OPEN] -= 1
                t_rep = _resp_ts(si, k, ts_fill, ip)
                if n_fr >= fr.shape[0]:
                    bigger = np.zeros((2 * fr.shape[0], N_FR), dtype=np.int64)
                    bigger[:n_fr] = fr[:n_fr]
                    fr = bigger
                fr[n_fr, FR_TRIAL] = k
                fr[n_fr, FR_VENUE_TS] = ts_fill
                fr[n_fr, FR_COID] = orders[o]["coid"]
                fr[n_fr, FR_SIDE] = orders[o]["side"]
                fr[n_fr, FR_IDX] = orders[o]["idx"]
                fr[n_fr, FR_LOTS] = fills[f, 1]
                fr[n_fr, FR_VIEW_BID] = lst[BEST_BID]
                fr[n_fr, FR_VIEW_ASK] = lst[BEST_ASK]
                n_fr += 1
                _push(hq, cur, t_rep, P_REPORT, k, EV_FILL, orders[o]["coid"], np.int64(orders[o]["side"]),
                            fills[f, 1], leaves)  # fmt: skip
            continue
        if at_window:
            break
        if cur[CUR_N_HEAP] > 0:
            h0 = hk1[0]
            h1 = hk2[0] >> 40
            if h0 < ts or (h0 == ts and h1 < prio):
                continue  # a fill report scheduled something sooner: new horizon
            if h0 > until_ns:
                finished = True
                break
        else:
            finished = True
            break
        now = hk1[0]
        slot = _pop(hq, cur)
        k = pl[slot, PL_TRIAL]
        kind = pl[slot, PL_KIND]
        a = pl[slot, PL_A]
        bb_ = pl[slot, PL_B]
        c = pl[slot, PL_C]
        d = pl[slot, PL_D]
        _free(hq, cur, slot)
        if kind == EV_PROBE:  # the view book's touch now (a funding settlement's mark)
            probe[a, 0] = lst[BEST_BID]
            probe[a, 1] = lst[BEST_ASK]
            continue
        si[k, SI_END_NOW] = now
        if kind == EV_TIMER:
            _push(hq, cur, now + ip[k, IP_INTERVAL], P_TIMER, k, EV_TIMER, 0, 0, 0, 0)
            mid, buy_t, sell_t = _timer_prints(k, now, lst, base, ip, acc_buy, acc_sell, snap_ts, snap_buy, snap_sell)
            e = ip[k, IP_EST]
            if mid == mid and est_i[e, EST_LAST_TS] != now:  # the first trial of its estimator to decide
                est_i[e, EST_LAST_TS] = now  # now updates it
                _estimator_step(e, k, mid, buy_t, sell_t, ip, grid, depths, dmid, hist, est_i, est_f)
            _on_timer(k, now, mid, lst, base, per_tick, per_lot, tick, ip, fp, si, sf, est_f, lo, lf, hq, cur,
                      arrival_prio)  # fmt: skip
        elif kind == EV_NEW:
            coid, side, j, lots = a, bb_, c, d
            buy = side == 1
            if lots <= 0:
                _reject(hq, cur, si, k, now, coid, R_OTHER, ip)
            elif ((j + base) / per_tick) * (lots / per_lot) < min_notional:
                _reject(hq, cur, si, k, now, coid, R_OTHER, ip)
            else:
                opp = st[BEST_ASK] if buy else st[BEST_BID]
                crosses = opp != NO_PRICE and ((buy and j >= opp) or ((not buy) and j <= opp))
                own = False
                if stp and not crosses:
                    for o in range(st[N_USED]):
                        if orders[o]["active"] != 0 and orders[o]["trial"] == k and orders[o]["side"] == -side:
                            if (buy and orders[o]["idx"] <= j) or ((not buy) and orders[o]["idx"] >= j):
                                own = True
                                break
                if crosses or own or j < 0 or j >= n_ticks or si[k, SI_OPEN] >= ip[k, IP_MAX_OPEN]:
                    _reject(hq, cur, si, k, now, coid, R_OTHER, ip)  # post-only, range, count
                else:
                    # the ack changes nothing for the quoter: not queued, only its time kept (report
                    # order, and the last event time of the trial)
                    t_ack = _resp_ts(si, k, now, ip)
                    if t_ack <= until_ns:
                        si[k, SI_LAST_ACK] = t_ack
                    if st[N_USED] >= orders.size:
                        compact_orders_nb(orders, st)
                        if st[N_USED] >= orders.size:
                            grown = np.zeros(2 * orders.size, dtype=orders.dtype)
                            grown[: orders.size] = orders
                            orders = grown
                            fills = np.zeros((orders.size, 2), dtype=np.int64)
                    r = st[N_USED]
                    st[N_USED] = r + 1
                    orders[r]["coid"] = coid
                    orders[r]["idx"] = j
                    orders[r]["side"] = side
                    orders[r]["leaves"] = lots
                    orders[r]["ahead"] = book[0, j] if buy else book[1, j]
                    orders[r]["traded"] = 0.0
                    orders[r]["trial"] = k
                    orders[r]["active"] = 1
                    si[k, SI_OPEN] += 1
        elif kind == EV_CANCEL:
            o = _find_resting(orders, st, k, a)
            if o < 0:
                _reject(hq, cur, si, k, now, a, R_UNKNOWN_ORDER, ip)
            else:
                orders[o]["active"] = 0
                si[k, SI_OPEN] -= 1
                _push(hq, cur, _resp_ts(si, k, now, ip), P_REPORT, k, EV_CANCELED, a, 0, 0, 0)
        elif kind == EV_FILL:
            sf[k, SF_Q] += bb_ * (c / per_lot)
            s = _local_find(lo, si, k, a)
            if s >= 0:
                lf[k, s] = d / per_lot
                if lf[k, s] <= 1e-12:
                    _local_delete(lo, lf, si, k, s)
        elif kind == EV_CANCELED:
            s = _local_find(lo, si, k, a)
            if s >= 0:
                _local_delete(lo, lf, si, k, s)
        elif kind == EV_REJECT:
            s = _local_find(lo, si, k, a)
            if s >= 0:
                if lo[k, s, LO_CANCEL_PENDING] != 0 and bb_ == R_UNKNOWN_ORDER:
                    lo[k, s, LO_CANCEL_PENDING] = 0  # the cancel lost the race
                    if lf[k, s] <= 1e-12:
                        _local_delete(lo, lf, si, k, s)
                else:  # the order itself was rejected
                    _local_delete(lo, lf, si, k, s)
    cur[CUR_I] = i
    cur[CUR_IL] = il
    cur[CUR_NEXT_TS] = next_ts
    cur[CUR_NEXT_LTS] = next_lts
    cur[CUR_N_FR] = n_fr
    return orders, fills, fr, finished


@nb.njit(cache=True, _nrt=False)
def _reject(hq, cur, si, k, now, coid, reason, ip):
    si[k, SI_REJECTS] += 1
    _push(hq, cur, _resp_ts(si, k, now, ip), P_REPORT, k, EV_REJECT, coid, np.int64(reason), 0, 0)


@nb.njit(cache=True, _nrt=False)
def _send(hq, cur, si, k, now, lat, arrival_prio, kind, a, b, c, d):
    """A request reaching the venue after ``lat`` ns, never before an earlier one (FIFO)."""
    t = max(now + lat, si[k, SI_LAST_ARRIVAL])
    si[k, SI_LAST_ARRIVAL] = t
    _push(hq, cur, t, arrival_prio, k, kind, a, b, c, d)


@nb.njit(cache=True, inline="always")
def _estimator_step(e, k, mid, buy_t, sell_t, ip, grid, depths, dmid, hist, est_i, est_f):
    """One step of shared estimator ``e`` (trial ``k`` gives its window, warm-up, refit period
    and grid): the step's arrival depth and mid change into the rolling window, and every
    ``recalibrate_every`` steps σ and the A, k fit (``GLFTQuoter.on_timer``, steps 1–2)."""
    prev = est_f[e, EST_PREV_MID]
    w = ip[k, IP_WINDOW]
    if prev == prev:
        slot = est_i[e, EST_STEPS] % w
        if buy_t != buy_t:
            depth = prev - sell_t
        elif sell_t != sell_t:
            depth = buy_t - prev
        else:
            depth = _py_max(buy_t - prev, prev - sell_t)
        g_n = ip[k, IP_GRID]
        old_bin = depth_bin_nb(depths[e, slot], grid[k, :g_n])  # the rolling histogram of the fit
        if old_bin >= 0:
            hist[e, old_bin] -= 1
        new_bin = depth_bin_nb(depth, grid[k, :g_n])
        if new_bin >= 0:
            hist[e, new_bin] += 1
        depths[e, slot] = depth
        dmid[e, slot] = mid - prev
        est_i[e, EST_STEPS] += 1
        n_steps = est_i[e, EST_STEPS]
        if n_steps >= ip[k, IP_WARMUP] and n_steps % ip[k, IP_RECAL] == 0:
            sigma, A, kk = glft_estimate_hist_nb(hist[e, :g_n], dmid[e, :w], min(n_steps, w), grid[k, :g_n])
            est_f[e, EST_SIGMA] = sigma
            if 0.0 < A < math.inf and 0.0 < kk < math.inf:
                est_f[e, EST_A] = A
                est_f[e, EST_K] = kk
            else:
                est_i[e, EST_UNIDENTIFIED] += 1
    est_f[e, EST_PREV_MID] = mid


@nb.njit(cache=True, _nrt=False)
def _timer_prints(k, now, lst, base, ip, acc_buy, acc_sell, snap_ts, snap_buy, snap_sell):
    """The estimator inputs of trial ``k``'s decision at ``now``: ``(mid, buy_t, sell_t)`` in ticks
    (mid of the view book, highest buy and lowest sell print of the step, NaN without one).
    The first trial of its decision clock to decide now takes the step's prints. ``mid`` is NaN
    (nothing taken) when the book is empty or crossed or the quoter has no estimator."""
    bbj = lst[BEST_BID]
    baj = lst[BEST_ASK]
    if bbj == NO_PRICE or baj == NO_PRICE or not bbj < baj or ip[k, IP_KIND] == KIND_FIXED:
        return np.nan, np.nan, np.nan
    mid = 0.5 * (float(bbj + base) + float(baj + base))
    g = ip[k, IP_GROUP]
    if snap_ts[g] != now:  # the first trial of its clock to decide now takes the step's prints
        snap_ts[g] = now
        snap_buy[g] = acc_buy[g]
        snap_sell[g] = acc_sell[g]
        acc_buy[g] = NO_PRICE
        acc_sell[g] = NO_PRICE
    buy_t = float(snap_buy[g] + base) if snap_buy[g] != NO_PRICE else np.nan
    sell_t = float(snap_sell[g] + base) if snap_sell[g] != NO_PRICE else np.nan
    return mid, buy_t, sell_t


@nb.njit(cache=True, _nrt=False)
def _on_timer(k, now, mid, lst, base, per_tick, per_lot, tick, ip, fp, si, sf, est_f, lo, lf, hq, cur,
              arrival_prio):  # fmt: skip
    """One decision step of trial ``k`` after its estimator's step (``mid``: :func:`_timer_prints`'),
    the compiled twin of the quoter's ``on_timer`` (``GLFTQuoter``; ``AvellanedaStoikovQuoter``,
    its ``target_depths``; ``FixedSpreadQuoter``)."""
    bbj = lst[BEST_BID]
    baj = lst[BEST_ASK]
    if bbj == NO_PRICE or baj == NO_PRICE or not bbj < baj:  # empty or crossed book
        return
    if ip[k, IP_KIND] == KIND_FIXED:
        bb = (bbj + base) / per_tick
        ba = (baj + base) / per_tick
        mid_px = 0.5 * (bb + ba)  # quote units (``mid`` is in ticks)
        r = mid_px * (1.0 - fp[k, FP_SKEW_BPS] * 1e-4 * sf[k, SF_Q] / fp[k, FP_MAX_POS])
        half = mid_px * fp[k, FP_HALF_BPS] * 1e-4
        return _quote_around_touch(k, now, r - half, r + half, bbj, baj, base, per_tick, tick, ip, fp, si, sf, lo,
                                   lf, hq, cur, arrival_prio)  # fmt: skip
    e = ip[k, IP_EST]
    A = est_f[e, EST_A]  # the last identified fit (the estimators are shared) ...
    kk = est_f[e, EST_K]
    if not A == A:  # ... or this trial's prior until the first one
        A = fp[k, FP_PRIOR_A]
        kk = fp[k, FP_PRIOR_K]
    sigma = est_f[e, EST_SIGMA]
    if not (A > 0 and kk > 0 and sigma == sigma):
        return
    q = sf[k, SF_Q]
    if ip[k, IP_KIND] == KIND_AS:
        bid_d, ask_d = as_depths_nb(q / fp[k, FP_ORDER_QTY], sigma, kk, fp[k, FP_GAMMA], fp[k, FP_TAU])
    else:
        bid_d, ask_d = glft_depths_nb(q / fp[k, FP_ORDER_QTY], sigma, A, kk, fp[k, FP_GAMMA], fp[k, FP_XI], 1.0)
    floor = fp[k, FP_MIN_HALF]
    cap = _py_max(_py_min(fp[k, FP_MAX_DEPTH], fp[k, FP_BAND] * mid), floor)
    bid_raw = (mid - _py_min(_py_max(bid_d, floor), cap)) * tick
    ask_raw = (mid + _py_min(_py_max(ask_d, floor), cap)) * tick
    _quote_around_touch(k, now, bid_raw, ask_raw, bbj, baj, base, per_tick, tick, ip, fp, si, sf, lo, lf, hq, cur,
                        arrival_prio)  # fmt: skip


@nb.njit(cache=True, _nrt=False)
def _quote_around_touch(k, now, bid_raw, ask_raw, bbj, baj, base, per_tick, tick, ip, fp, si, sf, lo, lf, hq, cur,
                        arrival_prio):  # fmt: skip
    """``Strategy.quote_around_touch`` then ``Strategy.quote`` for trial ``k`` (prices in ticks)."""
    q = sf[k, SF_Q]
    # round outwards, never cross the touch, inventory limits
    if not (bid_raw > 0 and math.isfinite(bid_raw) and ask_raw > 0 and math.isfinite(ask_raw)):
        si[k, SI_ERROR] = ERR_PRICE
        return
    nbid = _snap_ticks(bid_raw, per_tick, True)
    nask = _snap_ticks(ask_raw, per_tick, False)
    if nbid <= 0 or nask <= 0:
        si[k, SI_ERROR] = ERR_PRICE
        return
    if nbid >= baj + base:
        nbid = _snap_ticks((baj + base) / per_tick - tick, per_tick, True)
    if nask <= bbj + base:
        nask = _snap_ticks((bbj + base) / per_tick + tick, per_tick, False)
    if nbid <= 0:
        si[k, SI_ERROR] = ERR_PRICE
        return
    q_max = fp[k, FP_MAX_POS]
    want_bid = q < q_max - 1e-12
    want_ask = q > -q_max + 1e-12
    # quote(): keep an order already at the wanted price, cancel the others, send the missing sides
    keep_bid = False
    keep_ask = False
    n_local = si[k, SI_LOCAL]
    for s in range(n_local):
        if lo[k, s, LO_CANCEL_PENDING] != 0:
            continue
        if lo[k, s, LO_SIDE] == 1:
            if want_bid and not keep_bid and lo[k, s, LO_TICKS] == nbid:
                keep_bid = True
                continue
        elif want_ask and not keep_ask and lo[k, s, LO_TICKS] == nask:
            keep_ask = True
            continue
        lo[k, s, LO_CANCEL_PENDING] = 1
        _send(hq, cur, si, k, now, ip[k, IP_ENTRY_CANCEL], arrival_prio, EV_CANCEL, lo[k, s, LO_COID], 0, 0, 0)
    lots = ip[k, IP_LOTS]
    for side in (1, -1):
        if side == 1 and not (want_bid and not keep_bid):
            continue
        if side == -1 and not (want_ask and not keep_ask):
            continue
        ticks = nbid if side == 1 else nask
        if si[k, SI_LOCAL] >= MAX_LOCAL:
            si[k, SI_ERROR] = ERR_LOCAL
            return
        si[k, SI_COID] += 1
        coid = si[k, SI_COID]
        s = si[k, SI_LOCAL]
        lo[k, s, LO_COID] = coid
        lo[k, s, LO_SIDE] = side
        lo[k, s, LO_TICKS] = ticks
        lo[k, s, LO_CANCEL_PENDING] = 0
        lf[k, s] = fp[k, FP_QTY]
        si[k, SI_LOCAL] = s + 1
        si[k, SI_ORDERS] += 1
        _send(hq, cur, si, k, now, ip[k, IP_ENTRY_NEW], arrival_prio, EV_NEW, coid, np.int64(side),
                    ticks - base, lots)  # fmt: skip
