"""Compiled (Numba) replay of an L2 feed against the strategy's resting orders.

Pure kernels on plain arrays. Inputs that are mutated are listed per function; nothing else is.
The queue arithmetic is :func:`components.queue.queue_update` (one compiled implementation,
used here and callable from Python).

Book layout: dense arrays ``bids[j]`` / ``asks[j]`` of resting size (base units, as recorded)
at price index ``j = ticks - base_tick`` over the price range of the recorded feed. ``st``
holds int64 scalars (indices below). Best prices are indices, ``-1`` when that side is empty.

Sizes of *our* orders are integers: ``leaves`` and every fill are counts of ``lot_size``
(int64). Recorded sizes and queue estimates stay in base units (float64); an amount of them is
turned into whole lots by :func:`lots_nearest` (a print's excess over the queue, hftbacktest's
rule) or :func:`lots_floor` (size a level offers a taker), so no fill is ever a fraction of a
lot or a binary residue such as ``0.3 - 0.1 - 0.2 = -2.8e-17``.

Our orders are rows of :data:`ORDER_DTYPE` in *arrival order*: rows ``0 .. st[N_USED]-1`` are
in use (some may be inactive, i.e. done); new orders are appended, and each replay call first
compacts the rows (:func:`compact_orders_nb`; row numbers change between calls: find an order
by ``coid``). The array has no fixed size: the venue doubles it when it is full.
Arrival order gives FIFO among our own orders at one price: ``ahead`` is the *recorded*
(other participants') size in front of an order, and a print's excess goes to our orders at
that price earliest first (``partial_fill``).

Records are accessed as ``row["field"]`` so the kernels also run with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from components.queue import RISK_AVERSE, queue_update
from engine.feed import CLEAR, DEPTH, TRADE

INITIAL_ORDERS = 64
"""Initial number of order rows; the venue doubles the array whenever it is full."""
MAX_ORDERS = INITIAL_ORDERS  # kept for callers of the old name: the *initial* capacity only
ORDER_DTYPE = np.dtype(
    [
        ("coid", np.int64),  # client order id
        ("idx", np.int64),  # price index
        ("leaves", np.int64),  # open size, lots
        ("ahead", np.float64),  # recorded size ahead in the queue, base units
        ("traded", np.float64),  # printed size at our level since the level's last update, base units
        ("trial", np.int64),  # which trial of a batch owns the order (0 for a lone venue)
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

PARTIAL_FILL: int = 0
NO_PARTIAL_FILL: int = 1
FILL_RULE_CODES: dict[str, int] = {"partial_fill": PARTIAL_FILL, "no_partial_fill": NO_PARTIAL_FILL}
"""Exchange fill rules (``VenueConfig.fill_rule``); see :func:`advance_nb`, Notes."""

LOT_TOL = 1e-6
"""Tolerance, in lots, of :func:`lots_floor` (absorbs binary rounding of recorded sizes)."""


def new_state(n_ticks: int, base_tick: int, first_sample_ns: int, sample_period_ns: int) -> np.ndarray:
    """Fresh ``st`` array for a book of ``n_ticks`` price indices (all sides empty).

    Parameters
    ----------
    n_ticks : int
        Number of price indices of the dense book.
    base_tick : int
        Price in ticks of index 0.
    first_sample_ns, sample_period_ns : int
        Clock of the best-bid/ask samples taken during replay, ns.

    Returns
    -------
    ndarray of int64, shape (N_STATE,)
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


@nb.njit(cache=True)
def lots_floor(size, lot):
    """Whole lots in ``size``: ``floor(size / lot + LOT_TOL)``, and 0 for a non-positive size.

    Parameters
    ----------
    size : float
        Base units.
    lot : float
        Lot size, base units (> 0).

    Returns
    -------
    int
        Number of lots (int64, ``>= 0``).
    """
    if size <= 0.0:
        return np.int64(0)
    return np.int64(math.floor(size / lot + LOT_TOL))


@nb.njit(cache=True)
def lots_nearest(size, lot):
    """Nearest whole number of lots in ``size`` (halves up), and 0 for a non-positive size.

    hftbacktest 2.4.4's ``is_filled`` rule (``(-front / lot).round()``, Rust's round: halves away
    from zero; ``models/queue.rs``): the excess of a print over the queue ahead fills this many
    lots. Binary residues (``1e-17``) give 0.

    Parameters
    ----------
    size : float
        Base units.
    lot : float
        Lot size, base units (> 0).

    Returns
    -------
    int
        Number of lots (int64, ``>= 0``).
    """
    if size <= 0.0:
        return np.int64(0)
    y = size / lot
    r = math.floor(y)
    if y - r >= 0.5:  # exact (``y + 0.5`` would round 0.49999999999999994 up; Rust's round does not)
        r += 1.0
    return np.int64(r)


@nb.njit(cache=True, inline="always", _nrt=False)
def _set_level(book, r, j, q, st):
    """Set ``book[r, j] = q`` (``r``: 0 bids, 1 asks) and maintain best / bounds for that side.
    Returns the previous size. (Inlined, and given the 2-D book rather than one side's view: a
    call per book row with a fresh array view costs two reference-count updates per argument.)"""
    prev = book[r, j]
    book[r, j] = q
    is_bid = r == 0
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
                if book[r, k] > 0.0:
                    nb_ = k
                    break
                k -= 1
        else:
            k = j + 1
            while k <= st[hi]:
                if book[r, k] > 0.0:
                    nb_ = k
                    break
                k += 1
        st[best] = nb_
    return prev


@nb.njit(cache=True, _nrt=False)
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


@nb.njit(cache=True, _nrt=False)
def _record_fill(orders, o, lots, nf, fills):
    """Fill ``lots`` (> 0) of order row ``o``; append ``(o, lots)`` to ``fills``."""
    left = orders[o]["leaves"] - lots
    if left <= 0:
        left = 0
        orders[o]["active"] = 0
    orders[o]["leaves"] = left
    fills[nf, 0] = o
    fills[nf, 1] = lots
    return nf + 1


@nb.njit(cache=True, _nrt=False)
def compact_orders_nb(orders, st):
    """Drop done rows from ``orders[:st[N_USED]]``, keeping arrival order.

    Parameters
    ----------
    orders : ndarray of ORDER_DTYPE
        Order rows (mutated: active rows move to the front, the rest are marked inactive).
    st : ndarray of int64
        Book scalars (mutated: ``st[N_USED]`` becomes the number of active rows).
    """
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


@nb.njit(cache=True, _nrt=False)
def _order_levels(orders, st):
    """Where our active orders rest: ``(buy_lo, buy_hi, buy_bits, sell_lo, sell_hi, sell_bits)``.

    ``*_lo``/``*_hi`` bound the price indices of each side's orders (``hi < lo`` without any);
    bit ``idx % 64`` of ``*_bits`` is set for each order's index. A book row at index ``j`` can
    only touch an order of that side when ``lo <= j <= hi`` and bit ``j % 64`` is set, so
    :func:`advance_nb` skips its scan of the orders otherwise (orders rest near the touch: the
    test is exact when a side's orders span fewer than 64 ticks). Orders are only added between
    calls of :func:`advance_nb` and fills only retire them, so the bounds hold for a whole call.
    """
    buy_lo, buy_hi, sell_lo, sell_hi = np.int64(1) << 62, np.int64(-1), np.int64(1) << 62, np.int64(-1)
    buy_bits, sell_bits = np.int64(0), np.int64(0)
    for o in range(st[N_USED]):
        if orders[o]["active"] == 0:
            continue
        j = orders[o]["idx"]
        if orders[o]["side"] == 1:
            buy_lo, buy_hi = min(buy_lo, j), max(buy_hi, j)
            buy_bits |= np.int64(1) << (j & 63)
        else:
            sell_lo, sell_hi = min(sell_lo, j), max(sell_hi, j)
            sell_bits |= np.int64(1) << (j & 63)
    return buy_lo, buy_hi, buy_bits, sell_lo, sell_hi, sell_bits


@nb.njit(cache=True, inline="always", _nrt=False)
def _may_rest_at(j, lo, hi, bits):
    """Whether an order of a side with :func:`_order_levels` ``lo, hi, bits`` may rest at ``j``."""
    return lo <= j <= hi and (bits >> (j & 63)) & 1 != 0


@nb.njit(cache=True, inline="always", _nrt=False)
def _may_cross(st, buy_hi, sell_lo):
    """Whether the touch may have moved through an order (a buy at or above the best ask, a sell
    at or below the best bid), given :func:`_order_levels` bounds."""
    ba = st[BEST_ASK]
    bb = st[BEST_BID]
    return (ba != NO_PRICE and ba <= buy_hi) or (bb != NO_PRICE and bb >= sell_lo)


@nb.njit(cache=True, _nrt=False)
def _check_through(orders, st, nf, fills):
    """Fill every resting order the opposite side of the book has moved through."""
    bb = st[BEST_BID]
    ba = st[BEST_ASK]
    for o in range(st[N_USED]):
        if orders[o]["active"] == 0:
            continue
        if orders[o]["side"] == 1:
            if ba != NO_PRICE and ba <= orders[o]["idx"]:
                nf = _record_fill(orders, o, orders[o]["leaves"], nf, fills)
        elif bb != NO_PRICE and bb >= orders[o]["idx"]:
            nf = _record_fill(orders, o, orders[o]["leaves"], nf, fills)
    return nf


@nb.njit(cache=True, _nrt=False)
def _end_snapshot(orders, st, bids, asks):
    """Queue positions after a snapshot (``CLEAR`` + ``DEPTH`` rows) has been applied.

    A level the snapshot shows (between its best and its deepest price on that side) takes
    ``min(estimate, visible size)``: 0 when it is visibly empty. A level beyond the deepest
    price of a truncated snapshot, or on a side the snapshot left empty (e.g. the lone
    ``CLEAR`` of a resync after a gap), is not visible: its estimate is kept.
    """
    for o in range(st[N_USED]):
        if orders[o]["active"] == 0:
            continue
        j = orders[o]["idx"]
        if orders[o]["side"] == 1:
            visible = st[BID_HI] >= 0 and j >= st[BID_LO]
            q = bids[j]
        else:
            visible = st[ASK_HI] >= 0 and j <= st[ASK_HI]
            q = asks[j]
        if visible:
            if q < orders[o]["ahead"]:
                orders[o]["ahead"] = q
            orders[o]["traded"] = 0.0


@nb.njit(cache=True, _nrt=False)
def advance_nb(ev, i, until_excl, inv_tick, book, st, orders, model, power, fills, samples, lot, fill_rule, impact,
               scratch, stamp):
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
        Resting size per price index, row 0 bids, row 1 asks, base units (mutated).
    st : ndarray of int64, shape (N_STATE,)
        Book scalars (mutated).
    orders : ndarray of ORDER_DTYPE, shape (capacity,)
        Our resting orders: queue position, leaves and active flag are mutated; rows are
        compacted first (:func:`compact_orders_nb`).
    model : int
        Queue model code (:data:`components.queue.QUEUE_MODEL_CODES`).
    power : float
        Exponent of the power queue model.
    fills : ndarray of int64, shape (>= capacity, 2)
        Output (mutated): ``(order row, filled lots)`` of each fill of the row that stopped
        (at most one per order).
    samples : ndarray of int64, shape (n_samples, 3)
        Output (mutated): ``(sample_ts, best_bid_idx, best_ask_idx)`` taken on the clock in
        ``st[NEXT_SAMPLE_TS]``/``st[SAMPLE_PERIOD_NS]``: the book as it was just before the first
        row at or after each sample time. ``st[N_SAMPLES]`` counts them.
    lot : float
        Lot size, base units: fills are whole lots (:func:`lots_nearest` of a print's excess).
    fill_rule : int
        :data:`PARTIAL_FILL` or :data:`NO_PARTIAL_FILL`.
    impact : ndarray of float64, shape (2, n_ticks) or (2, 0)
        Own market impact (size our aggressive orders took per level, row 0 bids, row 1 asks,
        base units); a ``DEPTH`` row at a level sets it back to 0 there (mutated). Shape
        ``(2, 0)`` when the venue does not model its impact.
    scratch : ndarray of float64, shape (n_trials,)
        Work space, one slot per trial (mutated): the queue floor (depth rows) or the size of a
        print already given (trade rows) of each trial's earlier orders at the row's price.
        Orders of several trials may share ``orders`` (a batch, :mod:`engine.batch`); they
        never interact: FIFO floors and print sharing are per ``orders["trial"]``.
    stamp : ndarray of int64, shape (n_trials,)
        Work space (mutated): the feed row that last wrote ``scratch[trial]``; a slot written
        by an earlier row counts as empty. Start it at ``-1``.

    Returns
    -------
    i : int
        Next row to replay.
    n_fills : int
        Number of rows written to ``fills`` (0 when the horizon was reached).

    Notes
    -----
    Trades through our price, and an opposite best price at or through our price, fill us in
    full (at our price, as maker), under both fill rules. A trade *at* our price first consumes
    the queue ahead of us; what is left of it (its excess) depends on the fill rule:

    ``partial_fill`` (hftbacktest's ``PartialFillExchange``)
        The excess, rounded to whole lots, fills our orders at that price in arrival order, never
        more than the excess in total (hftbacktest gives each of our orders at the price the whole
        excess; the two agree with one order per price). The better assumption when prints are reported per
        execution and the touch is deep relative to our size (liquid perps).
    ``no_partial_fill`` (hftbacktest's ``NoPartialFillExchange``)
        Once a print's excess over the queue ahead of an order rounds to a lot or more, that order
        fills whole, and the print is not used up by it: each of our orders at the price is
        judged against the whole print. The better assumption for small orders on a thick queue,
        where a print that reaches us would have taken the whole order, and for comparing with
        hftbacktest runs that use it; it overstates fills when our size is large next to prints.

    A print's excess becomes lots by :func:`lots_nearest` (hftbacktest 2.4.4's ``is_filled``:
    ``round(-front / lot)``); once that is a lot or more, ``ahead`` is reset to 0 (the rounding
    is absorbed). An excess under half a lot fills nothing and is carried to the next print
    (``ahead`` stays negative, as in hftbacktest), so rounding never loses printed size: two
    prints past the queue by 0.3 lot each fill one lot.

    Queue positions follow the model on every level decrease, net of the size printed at that
    level since its last update (a print shows up again as the depth decrease it causes; it is
    applied once). A snapshot (``CLEAR`` + ``DEPTH`` rows with one timestamp) updates queues
    (:func:`_end_snapshot`) and checks fills once, at its end. Our orders never change the
    replayed book; ``impact`` only limits what later takers can take (:func:`take_nb`). Rows
    priced outside the book's window are skipped and counted in ``st[N_OUTSIDE]``.
    """
    compact_orders_nb(orders, st)
    buy_lo, buy_hi, buy_bits, sell_lo, sell_hi, sell_bits = _order_levels(orders, st)
    bids = book[0]
    asks = book[1]
    n_ticks = bids.size
    base = st[BASE_TICK]
    has_impact = impact.shape[1] > 0
    partial = fill_rule == PARTIAL_FILL
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
        j = np.int64(0)
        if k != CLEAR:
            j = np.int64(round(row["px"] * inv_tick)) - base
            if j < 0 or j >= n_ticks:  # outside the book's price window: ignored, counted
                st[N_OUTSIDE] += 1
                k = 0
        if k == DEPTH:
            q = row["qty"]
            is_bid = s == 1
            prev = _set_level(book, 0 if is_bid else 1, j, q, st)
            if has_impact:
                impact[0 if is_bid else 1, j] = 0.0
            if st[IN_SNAPSHOT] == 0:
                if is_bid:
                    mine = _may_rest_at(j, buy_lo, buy_hi, buy_bits)
                else:
                    mine = _may_rest_at(j, sell_lo, sell_hi, sell_bits)
                for o in range(st[N_USED] if mine else 0):
                    if orders[o]["active"] != 0 and orders[o]["idx"] == j and orders[o]["side"] == s:
                        a = queue_update(orders[o]["ahead"], prev, q, orders[o]["traded"], model, power)
                        k_ = orders[o]["trial"]
                        if stamp[k_] == i:  # FIFO: a later order of ours never has less in front of it
                            a = max(a, scratch[k_])
                        orders[o]["ahead"] = a
                        orders[o]["traded"] = 0.0
                        scratch[k_] = a
                        stamp[k_] = i
                if _may_cross(st, buy_hi, sell_lo):
                    nf = _check_through(orders, st, nf, fills)
        elif k == TRADE:
            st[N_TRADES] += 1
            if s == 1:
                if st[MAX_BUY_TRADE] == NO_PRICE or j > st[MAX_BUY_TRADE]:
                    st[MAX_BUY_TRADE] = j
            elif st[MIN_SELL_TRADE] == NO_PRICE or j < st[MIN_SELL_TRADE]:
                st[MIN_SELL_TRADE] = j
            pq = row["qty"]
            # a sell print reaches our buys at or above it, a buy print our sells at or below it
            reach = (s == -1 and j <= buy_hi) or (s == 1 and j >= sell_lo)
            for o in range(st[N_USED] if reach else 0):
                if orders[o]["active"] == 0 or orders[o]["side"] != -s:
                    continue
                oj = orders[o]["idx"]
                through = (s == -1 and j < oj) or (s == 1 and j > oj)
                if through:
                    nf = _record_fill(orders, o, orders[o]["leaves"], nf, fills)
                elif oj == j:
                    if model != RISK_AVERSE:
                        orders[o]["traded"] += pq
                    k_ = orders[o]["trial"]
                    used = scratch[k_] if stamp[k_] == i else 0.0  # given to this trial's earlier orders
                    a = orders[o]["ahead"] - (pq - used)
                    x = lots_nearest(-a, lot)  # lots of the print past the queue (0 unless a <= -lot/2)
                    if x > 0:
                        orders[o]["ahead"] = 0.0
                        if partial:
                            take = min(x, orders[o]["leaves"])
                            scratch[k_] = used + take * lot
                            stamp[k_] = i
                        else:
                            take = orders[o]["leaves"]
                        nf = _record_fill(orders, o, take, nf, fills)
                    else:
                        orders[o]["ahead"] = a  # an excess under half a lot is carried to the next print
        elif k == CLEAR:
            if s >= 0:
                _clear_side(bids, True, st)
            if s <= 0:
                _clear_side(asks, False, st)
            st[IN_SNAPSHOT] = 1
            st[SNAP_TS] = t
        i += 1
        if st[IN_SNAPSHOT] != 0 and (i >= n or ev[i]["ts_local_ns"] != t or ev[i]["kind"] != DEPTH):
            st[IN_SNAPSHOT] = 0
            _end_snapshot(orders, st, bids, asks)
            nf = _check_through(orders, st, nf, fills)
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
def take_nb(book, st, is_buy, limit_idx, lots, lot, consumed, out_idx, out_lots):
    """Walk the opposite side from its best price up to ``limit_idx``, taking up to ``lots``.

    Parameters
    ----------
    book : ndarray of float64
        The opposite side (asks for a buy), base units, read only: taking does not change the
        replayed book.
    st : ndarray of int64
        Book scalars, read only.
    is_buy : bool
        Taker side.
    limit_idx : int
        Worst acceptable price index.
    lots : int
        Size to take, lots.
    lot : float
        Lot size, base units: a level offers ``lots_floor(book[j] - consumed[j], lot)`` lots.
    consumed : ndarray of float64, shape (n_ticks,) or (0,)
        Own market impact on that side (read only): size already taken from each level by our
        earlier orders since the level's last update; empty when impact is not modelled. The
        caller adds what it takes (``out_lots * lot``) once it commits the fills.
    out_idx : ndarray of int64, out_lots : ndarray of int64
        Output: price index and lots of each partial fill (mutated).

    Returns
    -------
    int
        Number of partial fills written (at most ``out_idx.size``).
    """
    nfill = 0
    left = lots
    has_impact = consumed.size > 0
    if is_buy:
        j = st[BEST_ASK]
        if j == NO_PRICE:
            return 0
        while left > 0 and j <= limit_idx and j <= st[ASK_HI] and nfill < out_idx.size:
            avail = book[j] - consumed[j] if has_impact else book[j]
            x = lots_floor(avail, lot)
            if x > 0:
                take = min(x, left)
                out_idx[nfill] = j
                out_lots[nfill] = take
                nfill += 1
                left -= take
            j += 1
    else:
        j = st[BEST_BID]
        if j == NO_PRICE:
            return 0
        while left > 0 and j >= limit_idx and j >= st[BID_LO] and nfill < out_idx.size:
            avail = book[j] - consumed[j] if has_impact else book[j]
            x = lots_floor(avail, lot)
            if x > 0:
                take = min(x, left)
                out_idx[nfill] = j
                out_lots[nfill] = take
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
