"""Compiled (Numba) replay of an L2 feed against the strategy's resting orders.

Pure kernels on plain arrays. Inputs that are mutated are listed per function; nothing else is.
The plain-Python reference of the queue arithmetic is :func:`components.queue.queue_update`.

Book layout: dense arrays ``bids[j]`` / ``asks[j]`` of resting size (base units) at price index
``j = ticks - base_tick`` over the price range of the recorded feed. ``st`` holds int64 scalars
(indices below). Best prices are indices, ``-1`` when that side is empty.

Our orders are rows of :data:`ORDER_DTYPE` in *arrival order*: rows ``0 .. st[N_USED]-1`` are
in use (some may be inactive, i.e. done); new orders are appended, and each replay call first
compacts the rows (so row numbers change between calls: find an order by ``coid``).
Arrival order gives FIFO among our own orders at one price: ``ahead`` is the *recorded*
(other participants') size in front of an order, and a print's excess goes to our orders at
that price earliest first.

Records are accessed as ``row["field"]`` so the kernels also run with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from engine.feed import CLEAR, DEPTH, TRADE

MAX_ORDERS = 64
ORDER_DTYPE = np.dtype(
    [
        ("coid", np.int64),  # client order id
        ("idx", np.int64),  # price index
        ("leaves", np.float64),  # open size, base units
        ("ahead", np.float64),  # size ahead in the queue, base units
        ("prev_level", np.float64),  # level size when a snapshot began (for the queue update)
        ("side", np.int8),  # +1 buy, -1 sell
        ("active", np.int8),
    ],
    align=True,
)

# st[] slots
BEST_BID, BEST_ASK, BID_LO, BID_HI, ASK_LO, ASK_HI = 0, 1, 2, 3, 4, 5
N_EVENTS, MAX_BUY_TRADE, MIN_SELL_TRADE, IN_SNAPSHOT, SNAP_TS, N_TRADES = 6, 7, 8, 9, 10, 11
NEXT_SAMPLE_TS, SAMPLE_PERIOD_NS, N_SAMPLES, BASE_TICK, N_USED, N_OUTSIDE = 12, 13, 14, 15, 16, 17
N_STATE = 18
NO_PRICE = -1
_EPS = 1e-12


def new_state(
    n_ticks: int, base_tick: int, first_sample_ns: int, sample_period_ns: int
) -> np.ndarray:
    """Fresh ``st`` array for a book of ``n_ticks`` price indices (all sides empty).

    Parameters
    ----------
    n_ticks : int
        Number of price indices of the dense book.
    base_tick : int
        Price in ticks of index 0.
    first_sample_ns, sample_period_ns : int
        Clock of the best-bid/ask samples taken during replay, ns.
    """
    st = np.zeros(N_STATE, dtype=np.int64)
    st[BASE_TICK] = base_tick
    st[NEXT_SAMPLE_TS] = first_sample_ns
    st[SAMPLE_PERIOD_NS] = sample_period_ns
    st[BEST_BID] = NO_PRICE
    st[BEST_ASK] = NO_PRICE
    st[BID_LO] = n_ticks
    st[BID_HI] = -1
    st[ASK_LO] = n_ticks
    st[ASK_HI] = -1
    st[MAX_BUY_TRADE] = NO_PRICE
    st[MIN_SELL_TRADE] = NO_PRICE
    return st


@nb.njit(cache=True, inline="always")
def queue_update_nb(ahead, prev_qty, new_qty, model, power):
    """Compiled twin of :func:`components.queue.queue_update` (same arguments and result)."""
    if new_qty >= prev_qty or model == 0:
        return min(ahead, new_qty)
    chg = prev_qty - new_qty
    front = ahead
    back = max(prev_qty - front, 0.0)
    if model == 1:
        f_front = front**power
        f_back = back**power
    else:
        f_front = math.log1p(front)
        f_back = math.log1p(back)
    total = f_front + f_back
    share = f_front / total if total > 0 else 1.0
    return min(max(front - share * chg, 0.0), new_qty)


@nb.njit(cache=True)
def _set_level(book, j, q, is_bid, st):
    """Set ``book[j] = q`` and maintain best / bounds for that side. Returns the previous size."""
    prev = book[j]
    book[j] = q
    if is_bid:
        best, lo, hi = BEST_BID, BID_LO, BID_HI
    else:
        best, lo, hi = BEST_ASK, ASK_LO, ASK_HI
    if q > 0.0:
        if j < st[lo]:
            st[lo] = j
        if j > st[hi]:
            st[hi] = j
        b = st[best]
        if b == NO_PRICE or (is_bid and j > b) or ((not is_bid) and j < b):
            st[best] = j
    elif j == st[best]:
        # the best level vanished: scan towards the far side for the next non-empty level
        nb_ = NO_PRICE
        if is_bid:
            k = j - 1
            while k >= st[lo]:
                if book[k] > 0.0:
                    nb_ = k
                    break
                k -= 1
        else:
            k = j + 1
            while k <= st[hi]:
                if book[k] > 0.0:
                    nb_ = k
                    break
                k += 1
        st[best] = nb_
    return prev


@nb.njit(cache=True)
def _clear_side(book, is_bid, st):
    if is_bid:
        lo, hi, best = BID_LO, BID_HI, BEST_BID
    else:
        lo, hi, best = ASK_LO, ASK_HI, BEST_ASK
    if st[hi] >= st[lo]:
        book[st[lo] : st[hi] + 1] = 0.0
    st[lo] = book.size
    st[hi] = -1
    st[best] = NO_PRICE


@nb.njit(cache=True)
def _record_fill(orders, o, qty, nf, fill_slot, fill_qty):
    orders[o]["leaves"] -= qty
    if orders[o]["leaves"] <= _EPS:
        orders[o]["leaves"] = 0.0
        orders[o]["active"] = 0
    fill_slot[nf] = o
    fill_qty[nf] = qty
    return nf + 1


@nb.njit(cache=True)
def _compact_nb(orders, st):
    """Drop done rows from ``orders[:st[N_USED]]``, keeping arrival order (mutates both)."""
    n = st[N_USED]
    w = 0
    for o in range(n):
        if orders[o]["active"] != 0:
            if w != o:
                orders[w] = orders[o]
            w += 1
    for o in range(w, n):
        orders[o]["active"] = 0
    st[N_USED] = w


@nb.njit(cache=True)
def _check_through(orders, st, nf, fill_slot, fill_qty):
    """Fill every resting order the opposite side of the book has moved through."""
    bb = st[BEST_BID]
    ba = st[BEST_ASK]
    for o in range(st[N_USED]):
        if orders[o]["active"] == 0:
            continue
        if orders[o]["side"] == 1:
            if ba != NO_PRICE and ba <= orders[o]["idx"]:
                nf = _record_fill(orders, o, orders[o]["leaves"], nf, fill_slot, fill_qty)
        elif bb != NO_PRICE and bb >= orders[o]["idx"]:
            nf = _record_fill(orders, o, orders[o]["leaves"], nf, fill_slot, fill_qty)
    return nf


@nb.njit(cache=True)
def advance_nb(ev, i, until_excl, inv_tick, book, st, orders, model, power, fills, samples):
    """Replay feed rows ``i, i+1, ...`` with ``ts < until_excl``; stop after a row that fills us.

    Parameters
    ----------
    ev : ndarray of engine.feed.EVENT_DTYPE, shape (n,)
        The recorded feed, sorted by ``ts_local_ns`` (read only).
    i : int
        First row to replay.
    until_excl : int
        Replay rows with ``ts_local_ns < until_excl`` only, ns.
    inv_tick : float
        ``1 / tick_size``; a row's price index is ``round(px * inv_tick) - st[BASE_TICK]``.
    book : ndarray of float64, shape (2, n_ticks)
        Resting size per price index, row 0 bids, row 1 asks (mutated).
    st : ndarray of int64, shape (N_STATE,)
        Book scalars (mutated).
    orders : ndarray of ORDER_DTYPE, shape (MAX_ORDERS,)
        Our resting orders: queue position, leaves and active flag are mutated.
    model : int
        Queue model code (:mod:`components.queue`).
    power : float
        Exponent of the power queue model.
    fills : ndarray of float64, shape (2*MAX_ORDERS, 2)
        Output (mutated): ``(order slot, filled size)`` of each fill of the row that stopped.
    samples : ndarray of int64, shape (n_samples, 3)
        Output (mutated): ``(sample_ts, best_bid_idx, best_ask_idx)`` taken on the clock in
        ``st[NEXT_SAMPLE_TS]``/``st[SAMPLE_PERIOD_NS]``: the book as it was just before the first
        row at or after each sample time. ``st[N_SAMPLES]`` counts them.

    Returns
    -------
    i : int
        Next row to replay.
    n_fills : int
        Number of rows written to ``fills`` (0 when the horizon was reached).

    Notes
    -----
    Trades at our price consume the queue ahead of us, and their excess fills our orders at
    that price in arrival order (never more than the excess in total); trades
    through our price, and an opposite best price at or through our price, fill us in full
    (at our price, as maker). Queue positions follow the model on every level decrease; a
    snapshot (``CLEAR`` + ``DEPTH`` rows with one timestamp) updates queues and checks fills
    once, at its end. Our orders never change the replayed book (no market impact). Rows priced
    outside the book's window are skipped and counted in ``st[N_OUTSIDE]``.
    """
    _compact_nb(orders, st)
    bids = book[0]
    asks = book[1]
    n_ticks = bids.size
    base = st[BASE_TICK]
    fill_slot = fills[:, 0]
    fill_qty = fills[:, 1]
    n = ev.size
    nf = 0
    start = i
    n_samp_max = samples.shape[0]
    while i < n and ev[i]["ts_local_ns"] < until_excl:
        row = ev[i]
        t = row["ts_local_ns"]
        while t >= st[NEXT_SAMPLE_TS] and st[N_SAMPLES] < n_samp_max:
            m = st[N_SAMPLES]
            samples[m, 0] = st[NEXT_SAMPLE_TS]
            samples[m, 1] = st[BEST_BID]
            samples[m, 2] = st[BEST_ASK]
            st[N_SAMPLES] = m + 1
            st[NEXT_SAMPLE_TS] += st[SAMPLE_PERIOD_NS]
        k = row["kind"]
        s = row["side"]
        if k != CLEAR:
            j = np.int64(round(row["px"] * inv_tick)) - base
            if j < 0 or j >= n_ticks:  # outside the book's price window: ignored, counted
                st[N_OUTSIDE] += 1
                k = 0
        if k == DEPTH:
            q = row["qty"]
            is_bid = s == 1
            prev = _set_level(bids if is_bid else asks, j, q, is_bid, st)
            if st[IN_SNAPSHOT] == 0:
                floor = 0.0  # FIFO: a later order of ours never has less in front of it
                for o in range(st[N_USED]):
                    if orders[o]["active"] != 0 and orders[o]["idx"] == j and orders[o]["side"] == s:
                        a = max(queue_update_nb(orders[o]["ahead"], prev, q, model, power), floor)
                        orders[o]["ahead"] = a
                        floor = a
                nf = _check_through(orders, st, nf, fill_slot, fill_qty)
        elif k == TRADE:
            st[N_TRADES] += 1
            if s == 1:
                if st[MAX_BUY_TRADE] == NO_PRICE or j > st[MAX_BUY_TRADE]:
                    st[MAX_BUY_TRADE] = j
            elif st[MIN_SELL_TRADE] == NO_PRICE or j < st[MIN_SELL_TRADE]:
                st[MIN_SELL_TRADE] = j
            used = 0.0  # size of this print already given to our earlier orders at this price
            for o in range(st[N_USED]):
                if orders[o]["active"] == 0 or orders[o]["side"] != -s:
                    continue
                oj = orders[o]["idx"]
                through = (s == -1 and j < oj) or (s == 1 and j > oj)
                if through:
                    nf = _record_fill(orders, o, orders[o]["leaves"], nf, fill_slot, fill_qty)
                elif oj == j:
                    a = orders[o]["ahead"] - (row["qty"] - used)
                    if a < 0.0:
                        orders[o]["ahead"] = 0.0
                        take = min(-a, orders[o]["leaves"])
                        used += take
                        nf = _record_fill(orders, o, take, nf, fill_slot, fill_qty)
                    else:
                        orders[o]["ahead"] = a
        elif k == CLEAR:
            if st[IN_SNAPSHOT] == 0:
                for o in range(st[N_USED]):
                    if orders[o]["active"] != 0:
                        side_book = bids if orders[o]["side"] == 1 else asks
                        orders[o]["prev_level"] = side_book[orders[o]["idx"]]
            if s >= 0:
                _clear_side(bids, True, st)
            if s <= 0:
                _clear_side(asks, False, st)
            st[IN_SNAPSHOT] = 1
            st[SNAP_TS] = t
        i += 1
        if st[IN_SNAPSHOT] != 0 and (i >= n or ev[i]["ts_local_ns"] != t or ev[i]["kind"] != DEPTH):
            st[IN_SNAPSHOT] = 0
            for o in range(st[N_USED]):
                if orders[o]["active"] != 0:
                    side_book = bids if orders[o]["side"] == 1 else asks
                    a = queue_update_nb(
                        orders[o]["ahead"], orders[o]["prev_level"], side_book[orders[o]["idx"]], model, power
                    )
                    for p in range(o):  # FIFO among our orders at the same price
                        if orders[p]["active"] != 0 and orders[p]["idx"] == orders[o]["idx"]:
                            if orders[p]["side"] == orders[o]["side"] and orders[p]["ahead"] > a:
                                a = orders[p]["ahead"]
                    orders[o]["ahead"] = a
            nf = _check_through(orders, st, nf, fill_slot, fill_qty)
        if nf > 0:
            break
    st[N_EVENTS] += i - start
    return i, nf


@nb.njit(cache=True)
def finish_samples_nb(st, samples, end_ns):
    """Take the remaining samples up to ``end_ns`` with the final book (mutates ``st``, ``samples``)."""
    n_samp_max = samples.shape[0]
    while st[NEXT_SAMPLE_TS] <= end_ns and st[N_SAMPLES] < n_samp_max:
        m = st[N_SAMPLES]
        samples[m, 0] = st[NEXT_SAMPLE_TS]
        samples[m, 1] = st[BEST_BID]
        samples[m, 2] = st[BEST_ASK]
        st[N_SAMPLES] = m + 1
        st[NEXT_SAMPLE_TS] += st[SAMPLE_PERIOD_NS]


@nb.njit(cache=True)
def take_nb(book, st, is_buy, limit_idx, qty, out_idx, out_qty):
    """Walk the opposite side from its best price up to ``limit_idx``, taking up to ``qty``.

    Parameters
    ----------
    book : ndarray of float64
        The opposite side (asks for a buy), read only: taking does not deplete the replayed book.
    st : ndarray of int64
        Book scalars, read only.
    is_buy : bool
        Taker side.
    limit_idx : int
        Worst acceptable price index.
    qty : float
        Size to take, base units.
    out_idx : ndarray of int64, out_qty : ndarray of float64
        Output: price index and size of each partial fill (mutated).

    Returns
    -------
    int
        Number of partial fills written.
    """
    nfill = 0
    left = qty
    if is_buy:
        j = st[BEST_ASK]
        if j == NO_PRICE:
            return 0
        while left > _EPS and j <= limit_idx and j <= st[ASK_HI] and nfill < out_idx.size:
            if book[j] > 0.0:
                take = min(book[j], left)
                out_idx[nfill] = j
                out_qty[nfill] = take
                nfill += 1
                left -= take
            j += 1
    else:
        j = st[BEST_BID]
        if j == NO_PRICE:
            return 0
        while left > _EPS and j >= limit_idx and j >= st[BID_LO] and nfill < out_idx.size:
            if book[j] > 0.0:
                take = min(book[j], left)
                out_idx[nfill] = j
                out_qty[nfill] = take
                nfill += 1
                left -= take
            j -= 1
    return nfill


@nb.njit(cache=True)
def scan_prices_nb(ev, inv_tick):
    """One pass over a feed: price range in ticks and the first row off the tick grid.

    Parameters
    ----------
    ev : ndarray of engine.feed.EVENT_DTYPE
        The feed (read only).
    inv_tick : float
        ``1 / tick_size``.

    Returns
    -------
    lo_tick, hi_tick : int
        Smallest and largest price in ticks over DEPTH and TRADE rows (0, -1 if none).
    bad_row : int
        First row whose price is not within ``1e-6`` tick of the grid, ``-1`` if none.
    """
    lo = np.int64(0)
    hi = np.int64(-1)
    bad = -1
    first = True
    for i in range(ev.size):
        if ev[i]["kind"] == CLEAR:
            continue
        x = ev[i]["px"] * inv_tick
        t = np.int64(round(x))
        if bad < 0 and abs(x - t) > 1e-6 + 1e-12 * abs(x):
            bad = i
        if first:
            lo = t
            hi = t
            first = False
        elif t < lo:
            lo = t
        elif t > hi:
            hi = t
    return lo, hi, bad
