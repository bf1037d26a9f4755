"""Streaming parse: vendor files → validated events written straight to an ``.npy`` cache file.

:func:`venues.loaders.parse_feed` holds every row of a feed in memory several times over (the
vendor rows, the events, row numbers, masks, a sort order; ~270 bytes of RSS per row). For long
data that does not fit: a 100 M-row busy day would need ~27 GB. :func:`stream_to_npy` parses
the files a chunk of :data:`CHUNK_ROWS` rows at a time and appends each validated chunk to an
``.npy`` file (:class:`venues.loaders.npyfile.NpyWriter`, 48 bytes per event, written once), so
its memory is bounded by the chunk size plus the running state below, whatever the length of the
data. The result is the same feed, row for row, with the same warnings and meta, as the
in-memory parse (tests compare them).

Running state carried from chunk to chunk (all small): the reference book of the crossed-book
check (the set of prices of each side, the cached best prices and lazy heaps of candidates,
compiled), the distinct prices (for ``tick_size``), a summary of the sizes that gives the same
``lot_size`` as :func:`venues.loaders._common.infer_increment` of all of them (a few
representative sizes, and a set of the sizes that do not fit it), per file the first and last
priced-row index of each distinct price (for the mixed-tick warning of
:mod:`venues.loaders.quality`), the trade ids with their file and row (duplicate check at the
end), the time gaps over :data:`venues.loaders.quality.GAP_WARN_S`, and the vendor parser's
running totals.

Each chunk is converted and checked in one compiled pass (:func:`_rows_nb`: the rules of
:func:`venues.loaders.hftbacktest.convert` and :func:`venues.loaders._common.validate`, the
crossed-book check, the state above), run without the GIL while two helper threads compute the
CRC-32 of the ``.npz`` bytes read (zipfile's check) and hash and write the events of the
previous chunks; buffers are reused from small pools. The pass is loaded from Numba's cache
while the sources are hashed for the cache key (:func:`warm`).

hftbacktest files keep only their ``LOCAL_EVENT`` rows when any row has that flag
(:mod:`venues.loaders.hftbacktest`); a file whose first chunk has none is scanned once for the
flag before it is parsed.

Which feeds stream: formats in :data:`STREAM_FORMATS` whose files follow each other in time (each
file's first local time at or after the previous file's last). Otherwise
:class:`NotStreamable` is raised and the caller falls back to the in-memory parse, which merges
overlapping files by a stable sort.

Differences from the in-memory parse, errors only: the checks run chunk by chunk, so when a
feed has several problems the one reported is the first in file order rather than the first of
the in-memory check order (prices before sizes before duplicate trade ids).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import queue
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from engine.feed import CLEAR, DEPTH, EVENT_DTYPE, TRADE
from venues.loaders._common import DataError, bad_price, bad_size, infer_increment, where
from venues.loaders.npyfile import NpyWriter, iter_rows, read_chunks


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused: Numba's start-up (its import, and the first call
    of a process) makes about a million objects and no garbage, and the collections it triggers
    are a tenth of its time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


with _no_gc():
    import numba as nb

__all__ = ["CHUNK_ROWS", "STREAM_FORMATS", "NotStreamable", "stream_to_npy"]

CHUNK_ROWS = 1 << 16
"""Source rows parsed per chunk (4 MB of hftbacktest rows); the stream holds at most three chunks
of rows and three of events (about 25 MB), whatever the length of the data. Larger chunks are no
faster: fresh memory costs page faults (a third of a second per 100 MB on a virtual machine whose
host backs the pages on first touch), and the pipeline's fill and drain grow with the chunk."""

STREAM_FORMATS = ("hftbacktest_npz",)
"""Formats :func:`stream_to_npy` parses chunk by chunk."""


class NotStreamable(Exception):
    """The files cannot be parsed in one pass in file order (e.g. they overlap in time)."""


# -- compiled hash sets over float64 keys (open addressing, linear probing) ----------------------
# Every key is a price or size > 0 (checked before it gets here), so 0.0 marks an empty slot.
# The capacity is a power of two; kernels stop (returning where they were) when a set is more
# than half full, so that Python can grow it (_grow) and resume. Much faster than numba.typed.Dict.


@nb.njit(cache=True, inline="always")
def _h(x, mask):
    y = x * 1048576.0
    while y >= 4e18:  # a huge key (> 4e12): scaled down by 2**40 until it fits an int64
        y *= 9.094947017729282e-13
    v = np.int64(y)
    return ((v * np.int64(-7046029254386353131)) >> np.int64(17)) & mask


@nb.njit(cache=True, inline="always")
def _slot(keys, x):
    """Slot of ``x`` in ``keys``: where it is, else the empty slot where it goes."""
    mask = keys.size - 1
    j = _h(x, mask)
    while keys[j] != 0.0 and keys[j] != x:
        j = (j + 1) & mask
    return j


@nb.njit(cache=True, inline="always")
def _unset(keys, j):
    """Empty slot ``j`` (backward-shift deletion: the keys after it stay findable)."""
    mask = keys.size - 1
    keys[j] = 0.0
    k = (j + 1) & mask
    while keys[k] != 0.0:
        h = _h(keys[k], mask)
        # move k back to j when its home h is not in (j, k] cyclically
        if (j < k and (h <= j or h > k)) or (j > k and (h <= j and h > k)):
            keys[j] = keys[k]
            keys[k] = 0.0
            j = k
        k = (k + 1) & mask


@nb.njit(cache=True)
def _rehash(keys, first, last, nk, nfirst, nlast):
    """Insert the keys of a set into the empty set ``nk`` (with the ``first``/``last`` values of a
    price-occurrence table; empty arrays for a plain set)."""
    for i in range(keys.size):
        if keys[i] != 0.0:
            j = _slot(nk, keys[i])
            nk[j] = keys[i]
            if first.size:
                nfirst[j] = first[i]
                nlast[j] = last[i]


_NO_VALUES = np.zeros(0, dtype=np.int64)


def _grow(keys: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, ...]:
    """``keys`` (and its per-slot ``values``, int64) rehashed into twice the capacity."""
    nk = np.zeros(keys.size * 2)
    if not values:
        _rehash(keys, _NO_VALUES, _NO_VALUES, nk, _NO_VALUES, _NO_VALUES)
        return (nk,)
    nv = tuple(np.zeros(keys.size * 2, dtype=np.int64) for _ in values)
    _rehash(keys, values[0], values[1], nk, nv[0], nv[1])
    return (nk, *nv)


def _full(keys: np.ndarray, n: int) -> bool:
    return 2 * n + 2 > keys.size


# -- the crossed-book check (the rule of venues.loaders._common.check_crossed) ------------------
# A book side is the set of its prices with a size > 0 (the sizes themselves never matter: only
# the best price does) and a heap of candidate best prices (bids stored negated) with lazy
# deletion: a level is pushed when it appears, and stale tops are popped (and checked against
# the set) only when the best is wanted and was removed. The best bid / ask is cached (-inf /
# +inf for an empty side) and valid while its level stays, as venues.loaders.book.RefBook caches
# it; on this data under one row in a thousand needs the heap.
# _rows_nb keeps this state in locals and writes it back to st / out when it returns.
(_ST_HAS_PREV, _ST_PREV_F, _ST_PREV_LINE, _ST_SNAP, _ST_N_CROSS, _ST_X_F, _ST_X_LINE, _ST_WARN,  # check
 _ST_BHN, _ST_AHN, _ST_BN, _ST_AN, _ST_BOK, _ST_AOK,  # heap lengths, levels, cached best valid
 _ST_PN, _ST_LD, _ST_LG, _ST_NREP, _ST_QN) = range(19)  # distinct prices; lot_size state below
_ST_SIZE = 19
# out: [0, 1] best bid / ask of a crossed book (error), [2, 3] of the first counted cross (warning),
# [4, 5] the cached best bid / ask


@nb.njit(cache=True, inline="always")
def _hpush(heap, n, x):
    i = n
    heap[i] = x
    while i > 0:
        p = (i - 1) >> 1
        if heap[p] <= heap[i]:
            break
        heap[p], heap[i] = heap[i], heap[p]
        i = p
    return n + 1


@nb.njit(cache=True, inline="always")
def _hpop(heap, n):
    n -= 1
    heap[0] = heap[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap[c + 1] < heap[c]:
            c += 1
        if heap[i] <= heap[c]:
            break
        heap[c], heap[i] = heap[i], heap[c]
        i = c
    return n


@nb.njit(cache=True)
def _best(keys, heap, hn, sign):
    """``(best price, heap length)`` of a side whose cached best was removed: the heap's stale
    tops popped (``sign`` +1 bids, heap of -px: -inf if empty; -1 asks: +inf if empty)."""
    while hn > 0:
        p = -heap[0] if sign > 0 else heap[0]
        if keys[_slot(keys, p)] != 0.0:
            return p, hn
        hn = _hpop(heap, hn)
    return -np.inf * sign, hn


@nb.njit(cache=True)
def _compact(keys, heap, sign):
    """Rebuild a heap from its side's prices (drops the stale entries); returns its length."""
    m = 0
    for i in range(keys.size):
        if keys[i] != 0.0:
            m = _hpush(heap, m, -keys[i] if sign > 0 else keys[i])
    return m


# -- lot_size without the set of distinct sizes -------------------------------------------------
# infer_increment(sizes) takes the first number of decimals d (0..10) at which every size is
# within a relative 1e-9 of an integer (scaled by 10**d), and the gcd of those integers. A size
# v is *regular at level L* when s = v * 10**L (in floats) rounds to an integer r >= 1 with half
# that margin, r * 10**(10 - L) < 2**53 and (|s - r| + 2.3e-16 s) * 10**(10 - L) < 0.45: then at
# every level d >= L it passes infer_increment's test and rounds to exactly r * 10**(d - L) (v *
# 10**d in floats is within 10**(d - L) (|s - r| + 2.23e-16 s) < 0.5 of that integer, which is
# exact in floats, and that is under half the tolerance). The stream keeps
#   D   the level of the anchor: the last size that first passed at D, regular there;
#   G   the gcd of the integers at level D of the sizes summarised (all regular at D);
#   reps the anchors and every size that lowered G (at most ~100; when full, sizes go to the set);
#   a hash set of the other sizes (irregular: tiny, huge, more than 10 decimals), exactly.
# infer_increment(reps + the set) equals infer_increment(all sizes): below D the anchor fails, at
# D and above every summarised size passes, and at the level chosen the gcd of the summarised
# sizes is that of reps (tests/venues/loaders/test_stream_lot.py checks it against
# infer_increment itself). A size costs a multiply, a rounding and, while G > 1, one modulo.
_P10 = np.array([10.0**d for d in range(11)])
_I10 = np.array([10**d for d in range(11)], dtype=np.int64)
_RLIM = np.array([float(2**53 // 10 ** (10 - d)) for d in range(11)])  # r * 10**(10-d) < 2**53


@nb.njit(cache=True, inline="always")
def _regular(v, level):
    """The integer of ``v`` at ``level`` if ``v`` is regular there (see above), else 0."""
    s = v * _P10[level]
    r = np.rint(s)
    a = abs(s - r)
    if r >= 1.0 and r < _RLIM[level] and a <= 5e-10 * max(1.0, s) and (a + s * 2.3e-16) * _P10[10 - level] < 0.45:
        return np.int64(r)
    return np.int64(0)


@nb.njit(cache=True, inline="always")
def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


@nb.njit(cache=True)
def _lot_add(v, ld, lg, nrep, qn, reps, qk, qf):
    """Take the size ``v`` > 0 into the summary: ``(D, G, len(reps), len(set))`` updated (``D`` -1:
    no size yet). The set ``qk`` must have room for one more (``2 * qn + 2 <= qk.size``); ``qf``
    is a direct-mapped filter in front of it (a size found in its slot is in the set already)."""
    r = _regular(v, ld) if ld >= 0 else np.int64(0)
    if r != 0:  # regular at D
        if lg == 1 or r % lg == 0:
            return ld, lg, nrep, qn
        if nrep < reps.size:
            reps[nrep] = v
            return ld, _gcd(lg, r), nrep + 1, qn
    else:
        for d in range(11):  # the first level where v passes infer_increment's test
            s = v * _P10[d]
            if abs(s - np.rint(s)) <= 1e-6 * max(1.0, abs(s)) * 1e-3:
                if d > ld and nrep < reps.size:
                    r = _regular(v, d)
                    if r != 0:  # the new anchor
                        reps[nrep] = v
                        return d, (r if ld < 0 else _gcd(lg * _I10[d - ld], r)), nrep + 1, qn
                break
    f = _h(v, qf.size - 1)  # irregular (or reps full): into the set
    if qf[f] != v:
        qf[f] = v
        j = _slot(qk, v)
        if qk[j] == 0.0:
            qk[j] = v
            qn += 1
    return ld, lg, nrep, qn


def _lot_from(reps: np.ndarray, irregular: np.ndarray) -> float:
    """``lot_size`` of the sizes summarised in ``reps`` and the set ``irregular`` (see above):
    :func:`venues.loaders._common.infer_increment` of both; ``nan`` when both are empty."""
    v = np.concatenate([reps, irregular])
    return infer_increment(v) if v.size else math.nan


# per-chunk state and results of _rows_nb (cs), per-file state (fs), stream totals (gs)
_C_I, _C_J, _C_NTR, _C_NGAP, _C_OFF, _C_TS_ROW, _C_TS, _C_TS_PREV, _C_SIDE_ROW, _C_PX, _C_QTY, _C_CROSS = range(12)
_F_HAS, _F_LT, _F_ET, _F_BATCH = range(4)
_G_TRADES, _G_CLEAR, _G_BBO, _G_OTHER, _G_HAS_LAST, _G_LAST, _G_ANY_TRADE, _G_ANY_DEPTH, _G_NOUT = range(9)
_LOCAL, _BUY, _SELL = np.uint64(1 << 30), np.uint64(1 << 29), np.uint64(1 << 28)  # hftbacktest's flags
_TYPE, _NONE = np.uint64(0xFF), np.uint64(0)
_O_TL, _O_TE, _O_PX, _O_QTY, _O_TID = (EVENT_DTYPE.fields[n][1] // 8 for n in  # EVENT_DTYPE's words
                                       ("ts_local_ns", "ts_exch_ns", "px", "qty", "trade_id"))
_O_KIND, _O_SIDE = EVENT_DTYPE.fields["kind"][1], EVENT_DTYPE.fields["side"][1]  # and bytes


@nb.njit(cache=True, nogil=True)
def _rows_nb(ru, ri, rf, col, row0, keep_local, fidx, gap_ns, oi, of, ob, o_line, tr_id, tr_line, gap_j, gap_dt,
             cs, fs, gs, st, out, bk, bh, ak, ah, pk, pfirst, plast, base, reps, qk, qf):
    """One pass over a chunk of hftbacktest rows: the rules of
    :func:`venues.loaders.hftbacktest.convert` (LOCAL rows only when ``keep_local``, message
    batches, event kinds and sides, synthetic trade ids, skipped-row counts), the row checks of
    :func:`venues.loaders._common.validate`, the crossed-book check after each message
    (consecutive book rows of one source ``(file, batch row)``; TRADE rows skipped), the
    distinct prices (first/last file-relative priced index), the ``lot_size`` summary of the
    sizes, the time gaps, and the events written out.

    The rows are ``ru``/``ri``/``rf``: the chunk's bytes seen as uint64, int64 and float64, one
    row of 8-byte words per source row, and ``col`` the words of ``ev``, ``local_ts``,
    ``exch_ts``, ``px``, ``qty`` and ``order_id`` (``row0``: the 1-based file row of the first).
    The events are written to ``oi``/``of``/``ob``, the ``EVENT_DTYPE`` buffer seen as int64,
    float64 (6 words a row) and int8 (48 bytes a row); ``o_line`` gets each event's batch row.
    Two-dimensional contiguous views whatever the field layout and the number of rows: one
    compiled signature.

    The running state: ``st`` (int64, the ``_ST_*`` scalars) and ``out`` (float64[6]); the book
    sides ``bk``/``ak`` (sets of prices) and their heaps ``bh``/``ah``; the file's distinct
    prices ``pk`` with the first and last priced index of each (``pfirst``/``plast``; ``base``:
    the file's priced rows so far); the sizes' ``reps`` and set ``qk`` behind the direct-mapped
    filter ``qf`` (a size found in its slot is in the set already). See the comments above.

    Returns 0 (done), 2 (a set or heap needs to grow: resume, ``cs[_C_I]`` is the row) or 3
    (a ``local_ts`` goes backwards: ``cs[_C_TS_ROW]``). The other problems are recorded, the
    first of each kind, and the pass goes on (the caller reports them in the order of the
    in-memory parse): a depth/trade row without a side (``cs[_C_SIDE_ROW]``, file row), a bad
    price or size (``cs[_C_PX]``, ``cs[_C_QTY]``, event index), a crossed book
    (``cs[_C_CROSS]``: 1 after an update, 2 after a snapshot; ``out[0]``/``out[1]`` the best
    bid and ask, ``st[_ST_PREV_F]``/``st[_ST_PREV_LINE]`` the message). After the first problem
    the book and the tables are left alone (the stream stops).
    """
    n = ru.shape[0]
    c_ev, c_lt, c_et, c_px, c_qty, c_oid = col[0], col[1], col[2], col[3], col[4], col[5]
    i, j, ntr, ngap = cs[_C_I], cs[_C_J], cs[_C_NTR], cs[_C_NGAP]
    ok = cs[_C_OFF] == 0
    # the running state in locals (registers), written back below
    f_has, f_lt, f_et, ln = fs[_F_HAS], fs[_F_LT], fs[_F_ET], fs[_F_BATCH]
    has_last, last = gs[_G_HAS_LAST], gs[_G_LAST]
    has_prev, prev_f, prev_line, snap = st[_ST_HAS_PREV], st[_ST_PREV_F], st[_ST_PREV_LINE], st[_ST_SNAP]
    bhn, ahn, bn, an, bok, aok = st[_ST_BHN], st[_ST_AHN], st[_ST_BN], st[_ST_AN], st[_ST_BOK], st[_ST_AOK]
    pn, ld, lg, nrep, qn = st[_ST_PN], st[_ST_LD], st[_ST_LG], st[_ST_NREP], st[_ST_QN]
    bb, ba = out[4], out[5]
    nbase = base[0]
    code = 0
    while i < n:
        e = ru[i, c_ev]
        if keep_local and (e & _LOCAL) == _NONE:
            i += 1
            continue
        if ok and (2 * bn + 2 > bk.size or 2 * an + 2 > ak.size or 2 * pn + 2 > pk.size or 2 * qn + 2 > qk.size
                   or bhn + 1 >= bh.size or ahn + 1 >= ah.size):
            code = 2
            break
        t = ri[i, c_lt]
        x = ri[i, c_et]
        if f_has != 0 and t < f_lt:
            cs[_C_TS_ROW], cs[_C_TS], cs[_C_TS_PREV] = row0 + i, t, f_lt
            code = 3
            break
        if f_has == 0 or t != f_lt or x != f_et:
            ln = row0 + i
        f_has, f_lt, f_et = 1, t, x
        typ = np.int64(e & _TYPE)
        if typ == 1 or typ == 4:
            k = DEPTH
        elif typ == 2:
            k = TRADE
        elif typ == 3:
            k = CLEAR
        else:
            if typ == 5:
                gs[_G_BBO] += 1
            else:
                gs[_G_OTHER] += 1
            i += 1
            continue
        s = 1 if (e & _BUY) != _NONE else (-1 if (e & _SELL) != _NONE else 0)
        p = rf[i, c_px]
        q = rf[i, c_qty]
        tid = -1
        if k == CLEAR:
            p = 0.0
            q = 0.0
            gs[_G_CLEAR] += 1
        else:
            if s == 0 and cs[_C_SIDE_ROW] == 0:
                cs[_C_SIDE_ROW] = row0 + i
                ok = False
            if k == TRADE:
                o = ri[i, c_oid]
                tid = o if o != 0 else gs[_G_TRADES]
                gs[_G_TRADES] += 1
                gs[_G_ANY_TRADE] = 1
                tr_id[ntr] = tid
                tr_line[ntr] = ln
                ntr += 1
            else:
                gs[_G_ANY_DEPTH] = 1
            if not (np.isfinite(p) and p > 0):
                if cs[_C_PX] < 0:
                    cs[_C_PX] = j
                ok = False
            if not (np.isfinite(q) and (q > 0 or (q == 0 and k == DEPTH))):
                if cs[_C_QTY] < 0:
                    cs[_C_QTY] = j
                ok = False
        oi[j, _O_TL] = t
        oi[j, _O_TE] = x
        of[j, _O_PX] = p
        of[j, _O_QTY] = q
        oi[j, _O_TID] = tid
        ob[j, _O_KIND] = k
        ob[j, _O_SIDE] = s
        o_line[j] = ln
        if has_last != 0:
            d = t - last
            if d > gap_ns:
                gap_j[ngap] = j
                gap_dt[ngap] = d
                ngap += 1
        has_last = 1
        last = t
        if ok:
            if k != CLEAR:  # priced: occurrences and sizes
                h = _slot(pk, p)
                if pk[h] == 0.0:
                    pk[h] = p
                    pfirst[h] = nbase
                    pn += 1
                plast[h] = nbase
                nbase += 1
                if q > 0.0:
                    r = _regular(q, ld) if ld >= 0 else np.int64(0)
                    if r == 0 or (lg != 1 and r % lg != 0):  # else _lot_add would change nothing
                        ld, lg, nrep, qn = _lot_add(q, ld, lg, nrep, qn, reps, qk, qf)
            if k != TRADE:
                if has_prev != 0 and (fidx != prev_f or ln != prev_line):  # the previous message is whole
                    if bok == 0:
                        bb, bhn = _best(bk, bh, bhn, 1)
                        bok = 1
                    if aok == 0:
                        ba, ahn = _best(ak, ah, ahn, -1)
                        aok = 1
                    if bb >= ba:  # both sides non-empty (-inf / +inf otherwise)
                        if snap != 0 or st[_ST_WARN] == 0:
                            out[0] = bb
                            out[1] = ba
                            cs[_C_CROSS] = 2 if snap != 0 else 1
                            ok = False
                        else:
                            st[_ST_N_CROSS] += 1
                            if st[_ST_N_CROSS] == 1:
                                st[_ST_X_F] = prev_f
                                st[_ST_X_LINE] = prev_line
                                out[2] = bb
                                out[3] = ba
                    snap = 0
                if ok:
                    if k == CLEAR:
                        if s >= 0:
                            bk[:] = 0.0
                            bn, bhn, bok, bb = 0, 0, 1, -np.inf
                        if s <= 0:
                            ak[:] = 0.0
                            an, ahn, aok, ba = 0, 0, 1, np.inf
                        snap = 1
                    elif s == 1:
                        h = _slot(bk, p)
                        if q > 0:
                            if bk[h] == 0.0:
                                bk[h] = p
                                bn += 1
                                bhn = _hpush(bh, bhn, -p)
                                if bhn > 4 * bn + 1024:
                                    bhn = _compact(bk, bh, 1)
                                if bok != 0 and p > bb:
                                    bb = p
                        elif bk[h] != 0.0:
                            _unset(bk, h)
                            bn -= 1
                            if p == bb:
                                bok = 0
                    else:
                        h = _slot(ak, p)
                        if q > 0:
                            if ak[h] == 0.0:
                                ak[h] = p
                                an += 1
                                ahn = _hpush(ah, ahn, p)
                                if ahn > 4 * an + 1024:
                                    ahn = _compact(ak, ah, -1)
                                if aok != 0 and p < ba:
                                    ba = p
                        elif ak[h] != 0.0:
                            _unset(ak, h)
                            an -= 1
                            if p == ba:
                                aok = 0
                    has_prev, prev_f, prev_line = 1, fidx, ln
        j += 1
        i += 1
    if not ok:
        cs[_C_OFF] = 1
    cs[_C_I], cs[_C_J], cs[_C_NTR], cs[_C_NGAP] = i, j, ntr, ngap
    fs[_F_HAS], fs[_F_LT], fs[_F_ET], fs[_F_BATCH] = f_has, f_lt, f_et, ln
    gs[_G_HAS_LAST], gs[_G_LAST] = has_last, last
    st[_ST_HAS_PREV], st[_ST_PREV_F], st[_ST_PREV_LINE], st[_ST_SNAP] = has_prev, prev_f, prev_line, snap
    st[_ST_BHN], st[_ST_AHN], st[_ST_BN], st[_ST_AN], st[_ST_BOK], st[_ST_AOK] = bhn, ahn, bn, an, bok, aok
    st[_ST_PN], st[_ST_LD], st[_ST_LG], st[_ST_NREP], st[_ST_QN] = pn, ld, lg, nrep, qn
    out[4], out[5] = bb, ba
    base[0] = nbase
    return code


class _State:
    """The running state of a stream (sets, heaps, scalars), grown by Python when full."""

    def __init__(self) -> None:
        self.bids, self.asks, self.qtys = np.zeros(1 << 12), np.zeros(1 << 12), np.zeros(1 << 12)
        self.qf = np.full(1 << 15, -1.0)  # sizes are > 0 (checked before they get here)
        self.bheap, self.aheap = np.zeros(1 << 12), np.zeros(1 << 12)
        self.reps = np.zeros(128)
        self.st = np.zeros(_ST_SIZE, dtype=np.int64)
        self.st[_ST_BOK] = self.st[_ST_AOK] = 1  # empty book: best -inf / +inf, valid
        self.st[_ST_LD] = -1  # no size yet
        self.out = np.array([np.nan, np.nan, np.nan, np.nan, -np.inf, np.inf])
        self.pxs: set[float] = set()
        self.file()

    def file(self) -> None:
        """Start a file: fresh per-file price occurrences."""
        self.occ = (np.zeros(1 << 12), np.zeros(1 << 12, dtype=np.int64), np.zeros(1 << 12, dtype=np.int64))
        self.st[_ST_PN] = 0
        self.base = np.zeros(1, dtype=np.int64)

    def rows(self, words: tuple, row0: int, keep_local: bool, fidx: int, gap_ns: float, out: tuple,
             cs: np.ndarray, fs: np.ndarray, gs: np.ndarray) -> int:
        """Run :func:`_rows_nb` over a chunk, growing sets and heaps as needed; returns 0 or 3."""
        st = self.st
        while True:
            code = _rows_nb(*words, row0, keep_local, fidx, gap_ns, *out, cs, fs, gs, st, self.out,
                            self.bids, self.bheap, self.asks, self.aheap, *self.occ, self.base, self.reps,
                            self.qtys, self.qf)
            if code != 2:
                return code
            if _full(self.bids, st[_ST_BN]):
                self.bids, = _grow(self.bids)
            if _full(self.asks, st[_ST_AN]):
                self.asks, = _grow(self.asks)
            if _full(self.qtys, st[_ST_QN]):
                self.qtys, = _grow(self.qtys)
            if _full(self.occ[0], st[_ST_PN]):
                self.occ = _grow(*self.occ)
            if st[_ST_BHN] + 1 >= self.bheap.size:
                self.bheap = np.concatenate([self.bheap, np.zeros(self.bheap.size)])
            if st[_ST_AHN] + 1 >= self.aheap.size:
                self.aheap = np.concatenate([self.aheap, np.zeros(self.aheap.size)])

    def check(self) -> int:
        """The check after the last message of the stream: 0, or 1 (crossed after an update) or 2
        (after a snapshot); the best bid and ask in ``out[0]``/``out[1]``."""
        st = self.st
        if not st[_ST_HAS_PREV]:
            return 0
        bb = float(self.bids.max()) if st[_ST_BN] else -math.inf  # the prices are > 0, empty slots 0
        ba = float(self.asks[self.asks != 0.0].min()) if st[_ST_AN] else math.inf
        if bb < ba:
            return 0
        if st[_ST_SNAP] != 0 or st[_ST_WARN] == 0:
            self.out[0], self.out[1] = bb, ba
            return 1 + int(st[_ST_SNAP] != 0)
        st[_ST_N_CROSS] += 1
        if st[_ST_N_CROSS] == 1:
            st[_ST_X_F], st[_ST_X_LINE] = st[_ST_PREV_F], st[_ST_PREV_LINE]
            self.out[2], self.out[3] = bb, ba
        return 0

    def lot_size(self) -> float:
        """``lot_size`` of the sizes seen (:func:`_lot_from`)."""
        return _lot_from(self.reps[: self.st[_ST_NREP]], self.qtys[self.qtys != 0.0])


def warm() -> None:
    """Load the compiled pass (:func:`_rows_nb`, from Numba's cache) now, on an empty chunk of the
    argument types of a real one: the first call of a process costs ~0.7 s of Numba start-up
    (its implementation registries, scipy's BLAS probe), paid once per process.
    :func:`venues.loaders.cache.cache_key` runs it while the sources are being hashed (threads
    that do not hold the GIL), so that the parse starts with the pass loaded."""
    if not hasattr(_rows_nb, "overloads") or _rows_nb.overloads:  # NUMBA_DISABLE_JIT, or loaded already
        return
    from venues.loaders.hftbacktest import HBT_DTYPE

    ev = np.zeros(0, dtype=EVENT_DTYPE)
    raw = ev.view(np.uint8).reshape(-1)
    w = EVENT_DTYPE.itemsize
    o = (raw.view(np.int64).reshape(-1, w // 8), raw.view(np.float64).reshape(-1, w // 8),
         raw.view(np.int8).reshape(-1, w), *(np.empty(0, dtype=np.int64) for _ in range(5)))
    cs = np.zeros(12, dtype=np.int64)
    with _no_gc():
        _State().rows(_words(np.zeros(0, dtype=HBT_DTYPE)), 1, True, 0, 1.0, o, cs, np.zeros(4, dtype=np.int64),
                      np.zeros(9, dtype=np.int64))


def _tick(values: np.ndarray) -> float | None:
    from venues.loaders.quality import _tick as tick

    return tick(values)


def stream_to_npy(fmt: str, paths: list[str], symbol: str | None, out_path: str | os.PathLike,
                  chunk_rows: int = CHUNK_ROWS) -> dict:
    """Parse ``paths`` chunk by chunk into the ``.npy`` file ``out_path``.

    Parameters
    ----------
    fmt : str
        One of :data:`STREAM_FORMATS`.
    paths : list of str
        Source files, replayed in this order (already resolved).
    symbol : str or None
        Recorded as the feed's symbol (hftbacktest files carry none).
    out_path : str or path-like
        The events file written (``EVENT_DTYPE`` rows, :class:`venues.loaders.npyfile.NpyWriter`).
    chunk_rows : int, default CHUNK_ROWS

    Returns
    -------
    dict
        ``digest`` (of the events file: rows, size, data_sha256), ``symbol``, ``venue``,
        ``tick_size``, ``lot_size``, ``warnings`` (list of str), as
        :func:`venues.loaders.parse_feed` would report them.

    Raises
    ------
    DataError
        As :func:`venues.loaders.parse_feed` (names the file and row).
    NotStreamable
        The format does not stream, or a file starts before the previous one ends.
    """
    if fmt not in STREAM_FORMATS:
        raise NotStreamable(f"format {fmt} is parsed in memory")
    return _stream(paths, symbol, Path(out_path), chunk_rows)


def _has_local(path: str, chunk_rows: int) -> bool:
    """Whether any row of an hftbacktest file carries ``LOCAL_EVENT`` (a pass over the ``ev``
    column; only for files whose first chunk has none)."""
    from venues.loaders.hftbacktest import LOCAL_EVENT

    return any(bool(np.any(a["ev"].astype(np.uint64) & np.uint64(LOCAL_EVENT)))
               for _, a in iter_rows(path, chunk_rows))


_COLS = (("ev", np.dtype(np.uint64)), ("local_ts", np.dtype(np.int64)), ("exch_ts", np.dtype(np.int64)),
         ("px", np.dtype(np.float64)), ("qty", np.dtype(np.float64)), ("order_id", np.dtype(np.uint64)))


def _words(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """hftbacktest rows as :func:`_rows_nb` reads them: ``(uint64, int64, float64 views of shape
    (rows, words per row), the words of ev, local_ts, exch_ts, px, qty, order_id)``. The rows
    themselves when the file has hftbacktest's field types at 8-byte offsets (the usual case),
    else a copy in hftbacktest's dtype, the fields converted as
    :func:`venues.loaders.hftbacktest.convert` converts them (``ev`` to uint64, times and
    ``order_id`` to int64, prices and sizes to float64; no ``order_id``: 0)."""
    f = a.dtype.fields
    if not (a.flags.c_contiguous and a.flags.writeable and a.flags.aligned and a.dtype.itemsize % 8 == 0
            and all(name in f and f[name][0] == dt and f[name][1] % 8 == 0 for name, dt in _COLS)):
        from venues.loaders.hftbacktest import HBT_DTYPE

        b = np.empty(a.size, dtype=HBT_DTYPE)
        b["ev"] = a["ev"].astype(np.uint64)
        b["local_ts"] = a["local_ts"].astype(np.int64)
        b["exch_ts"] = a["exch_ts"].astype(np.int64)
        b["px"] = a["px"]
        b["qty"] = a["qty"]
        b["order_id"] = a["order_id"].astype(np.int64).view(np.uint64) if "order_id" in f else 0
        a, f = b, b.dtype.fields
    w = a.dtype.itemsize // 8
    raw = a.view(np.uint8).reshape(-1)
    col = np.array([f[name][1] // 8 for name, _ in _COLS], dtype=np.int64)
    return (raw.view(np.uint64).reshape(a.size, w), raw.view(np.int64).reshape(a.size, w),
            raw.view(np.float64).reshape(a.size, w), col)


class _Pool:
    """At most ``size`` reusable buffers; :meth:`get` waits for one to be put back when all are out."""

    def __init__(self, size: int, make) -> None:
        self.free: queue.SimpleQueue = queue.SimpleQueue()
        self.left, self.make, self.last = size, make, None

    def get(self, nbytes: int = 0):
        if self.left:
            self.left -= 1
            buf = self.make(nbytes)
        else:
            buf = self.free.get()
            if nbytes > len(buf):  # a file of wider rows
                buf = self.make(nbytes)
        self.last = buf
        return buf

    def put(self, buf) -> None:
        self.free.put(buf)


def _write(writer: NpyWriter, buf: np.ndarray, m: int, hs: ThreadPoolExecutor, outs: _Pool) -> None:
    """Write the first ``m`` events of ``buf`` (their hash job goes to ``hs``), then hand ``buf``
    back to ``outs`` once that job has run too."""
    writer.append(buf[:m])
    hs.submit(outs.put, buf)


def _stream(paths, symbol, out_path, chunk_rows) -> dict:
    """The parse: this thread reads each chunk and runs :func:`_rows_nb` over it (without the
    GIL) while three helper threads, each in order, compute the CRC-32 of the chunks read
    (``.npz`` members), write the events of the chunks done and hash them, and hand their buffers
    back (waiting for a file's CRC does not wait for the writes queued before it, and a slow
    write, e.g. of pages the system must first find, does not hold up the hashing)."""
    from venues.loaders import hftbacktest as H
    from venues.loaders.quality import GAP_WARN_S, loc

    S = _State()
    gs = np.zeros(9, dtype=np.int64)
    tr_id, tr_f, tr_line = [], [], []
    gaps: list[tuple[int, int, int, int]] = []  # (stream index of the row after, dt ns, fidx, line)
    first_row: dict[int, int] = {}
    ticks: dict[int, float] = {}
    tick_notes: list[str] = []
    unit = "message at row"
    gap_ns = GAP_WARN_S * 1e9
    scratch = tuple(np.empty(chunk_rows, dtype=np.int64) for _ in range(5))  # rows, trade ids/rows, gaps
    ins = _Pool(3, lambda n: np.empty(n, dtype=np.uint8))  # not zeroed: the reads fill them
    outs = _Pool(3, lambda _: np.zeros(chunk_rows, dtype=EVENT_DTYPE))  # padding bytes stay 0
    crc = ThreadPoolExecutor(1, thread_name_prefix="mmsim-crc")  # (threads start on first use)
    wr = ThreadPoolExecutor(1, thread_name_prefix="mmsim-write")
    hs = ThreadPoolExecutor(1, thread_name_prefix="mmsim-hash")
    writer = NpyWriter(out_path, EVENT_DTYPE, hash_on=hs.submit)
    writes: list = []
    try:
        for fidx, path in enumerate(paths):
            keep_local = None
            started = False
            S.file()
            fs = np.zeros(4, dtype=np.int64)
            for start, a, verify in read_chunks(path, chunk_rows, ins.get, crc.submit):
                buf = ins.last
                if keep_local is None:  # the file's first chunk
                    if verify is not None and not _fields_ok(a.dtype):
                        verify()
                    H.check_fields(a.dtype, path)
                words = _words(a)
                if keep_local is None:
                    keep_local = bool((words[0][:, words[3][0]] & np.uint64(H.LOCAL_EVENT)).any())  # ev as uint64
                    if not keep_local and a.size == chunk_rows:
                        if verify is not None:
                            verify()
                        keep_local = _has_local(path, chunk_rows)
                ev = outs.get()
                raw = ev.view(np.uint8).reshape(-1)
                w = EVENT_DTYPE.itemsize
                o = (raw.view(np.int64).reshape(-1, w // 8), raw.view(np.float64).reshape(-1, w // 8),
                     raw.view(np.int8).reshape(-1, w), *scratch)
                cs = np.zeros(12, dtype=np.int64)
                cs[_C_PX] = cs[_C_QTY] = -1
                had_last, last_ts = int(gs[_G_HAS_LAST]), int(gs[_G_LAST])
                code = S.rows(words, start + 1, keep_local, fidx, gap_ns, o, cs, fs, gs)
                del a, words
                crc.submit(ins.put, buf)  # after this chunk's CRC job
                if verify is not None:
                    verify()
                line = scratch[0]
                if code == 3:
                    raise DataError(H.backwards(path, int(cs[_C_TS_ROW]), int(cs[_C_TS]), int(cs[_C_TS_PREV])))
                if cs[_C_SIDE_ROW]:
                    raise DataError(H.no_side(path, int(cs[_C_SIDE_ROW])))
                m = int(cs[_C_J])
                if m == 0:
                    outs.put(ev)
                    continue
                if not started and had_last and int(ev["ts_local_ns"][0]) < last_ts:
                    raise NotStreamable(f"{path} starts before the previous file ends")
                started = True
                if cs[_C_PX] >= 0:
                    j = int(cs[_C_PX])
                    raise DataError(bad_price(where(paths, fidx, int(line[j]), unit), float(ev["px"][j]),
                                              int(ev["kind"][j]) == TRADE))
                if cs[_C_QTY] >= 0:
                    j = int(cs[_C_QTY])
                    raise DataError(bad_size(where(paths, fidx, int(line[j]), unit), float(ev["px"][j]),
                                             float(ev["qty"][j])))
                if cs[_C_CROSS]:
                    _crossed(S, paths, unit, int(cs[_C_CROSS]) == 2)
                ntr, ngap = int(cs[_C_NTR]), int(cs[_C_NGAP])
                tr_id.append(scratch[1][:ntr].copy())
                tr_f.append(np.full(ntr, fidx, dtype=np.int32))
                tr_line.append(scratch[2][:ntr].copy())
                first_row.setdefault(fidx, int(line[0]))
                n_out = int(gs[_G_NOUT])
                for j, dt in zip(scratch[3][:ngap].tolist(), scratch[4][:ngap].tolist(), strict=True):
                    gaps.append((n_out + j, dt, fidx, int(line[j])))
                gs[_G_NOUT] += m
                writes.append(wr.submit(_write, writer, ev, m, hs, outs))
                if writes[0].done():
                    writes.pop(0).result()  # a failed write stops the stream
            if S.base[0]:
                _file_ticks(S, fidx, path, chunk_rows, keep_local, ticks, tick_notes, loc)
        crossed = S.check()
        if crossed:
            _crossed(S, paths, unit, crossed == 2)
        _dup_trades(tr_id, tr_f, tr_line, paths, unit)
        crc.shutdown(wait=True)
        wr.shutdown(wait=True)
        hs.shutdown(wait=True)
        for w in writes:
            w.result()
        digest = writer.close()
    except BaseException:
        crc.shutdown(wait=True, cancel_futures=True)
        wr.shutdown(wait=True, cancel_futures=True)
        hs.shutdown(wait=True, cancel_futures=True)
        writer.abort()
        raise
    counts = {"bbo": int(gs[_G_BBO]), "other": int(gs[_G_OTHER]), "clear": int(gs[_G_CLEAR]),
              "trades": int(gs[_G_TRADES])}
    warnings = H.count_warnings(counts)
    st, xout = S.st, S.out
    if st[_ST_N_CROSS]:
        warnings.append(
            f"book crossed after {int(st[_ST_N_CROSS])} diff message(s), first at "
            f"{where(paths, int(st[_ST_X_F]), int(st[_ST_X_LINE]), unit)} (best_bid {xout[2]} >= "
            f"best_ask {xout[3]}); see the vendor module docstring (transient crosses between partial updates)"
        )
    warnings.extend(_quality(bool(gs[_G_ANY_TRADE]), bool(gs[_G_ANY_DEPTH]), first_row, gaps, ticks, tick_notes,
                             paths, loc, GAP_WARN_S))
    return {
        "digest": digest, "symbol": symbol or "", "venue": "hftbacktest",
        "tick_size": infer_increment(np.fromiter(S.pxs, np.float64, len(S.pxs))) if S.pxs else math.nan,
        "lot_size": S.lot_size(),
        "warnings": warnings,
    }


def _fields_ok(dtype: np.dtype) -> bool:
    from venues.loaders.hftbacktest import _NEEDED

    return dtype.names is not None and all(f in dtype.names for f in _NEEDED)


def _crossed(S: _State, paths: list[str], unit: str, snapshot: bool):
    lc = where(paths, int(S.st[_ST_PREV_F]), int(S.st[_ST_PREV_LINE]), unit)
    what = "snapshot" if snapshot else "update"
    raise DataError(f"{lc}: crossed book after applying this {what}: best_bid {S.out[0]} >= "
                    f"best_ask {S.out[1]}")


def _file_ticks(S: _State, fidx, path, chunk_rows, keep_local, ticks, notes, loc) -> None:
    """Whole-file and half-file tick of one file (the rule of :func:`quality.feed_warnings`)."""
    keys, first, last = S.occ
    used = keys != 0.0
    u, fi, la = keys[used], first[used], last[used]
    S.pxs.update(u.tolist())
    t_all = _tick(u)
    if t_all is not None:
        ticks[fidx] = t_all
    half = int(S.base[0]) // 2
    a, b = _tick(u[fi < half]), _tick(u[la >= half])
    if a is not None and b is not None and not np.isclose(a, b, rtol=1e-9, atol=0.0):
        row = _line_of_priced(path, half, chunk_rows, keep_local)
        notes.append((fidx, f"{loc(path, row)}: mixed tick sizes: prices step by {a:g} before "
                      f"this row and by {b:g} from here on (the venue's tick changed, or the file mixes "
                      "instruments); the simulated venue uses one tick"))


def _line_of_priced(path: str, k: int, chunk_rows: int, keep_local: bool) -> int:
    """Row (message batch) of the ``k``-th (0-based) priced event of a file: a second pass, only
    when a mixed-tick warning names it."""
    from venues.loaders import hftbacktest as H

    counts = {"bbo": 0, "other": 0, "clear": 0, "trades": 0}
    prev, seen = None, 0
    for start, a in iter_rows(path, chunk_rows):
        rows = np.arange(start + 1, start + a.size + 1, dtype=np.int64)
        ev, line, prev = H.convert(a, rows, path, keep_local, counts, prev)
        priced = np.flatnonzero(ev["kind"] != CLEAR)
        if seen + priced.size > k:
            return int(line[priced[k - seen]])
        seen += priced.size
    return 0


def _dup_trades(ids, fs, lines, paths, unit) -> None:
    """Duplicate trade ids over the whole stream (the rule of ``_common.validate``)."""
    if not ids:
        return
    ids = np.concatenate(ids)
    if ids.size < 2:
        return
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    dup = np.flatnonzero(s[1:] == s[:-1])
    if not dup.size:
        return
    fs, lines = np.concatenate(fs), np.concatenate(lines)
    a, b = order[dup[0]], order[dup[0] + 1]
    first, second = (a, b) if a < b else (b, a)
    raise DataError(
        f"{where(paths, fs[second], lines[second], unit)}: duplicate trade id {int(s[dup[0]])} (key "
        f"trade_id; first seen at {where(paths, fs[first], lines[first], unit)})"
    )


def _quality(any_trade, any_depth, first_row, gaps, ticks, tick_notes, paths, loc, gap_s) -> list[str]:
    """The warnings of :func:`venues.loaders.quality.feed_warnings`, from the streamed state."""
    out: list[str] = []
    if not first_row:
        return out
    if not any_trade:
        for f in sorted(first_row):
            out.append(f"{loc(paths[f], first_row[f])}: no trades in the data (book-only): fills come only from "
                       "the recorded book moving through resting quotes, and queue positions never advance "
                       "by traded volume; add the trade stream for realistic fills")
    if not any_depth:
        for f in sorted(first_row):
            out.append(f"{loc(paths[f], first_row[f])}: no order-book rows (trades only): the venue has no book "
                       "to quote against")
    if gaps:
        worst = sorted(range(len(gaps)), key=lambda j: (-gaps[j][1], j))[:3]
        parts = [f"{gaps[j][1] / 1e9:.1f} s before {loc(paths[gaps[j][2]], gaps[j][3])}" for j in sorted(worst)]
        out.append(
            f"{loc(paths[gaps[0][2]], gaps[0][3])}: {len(gaps)} gap(s) longer than {gap_s:.0f} s "
            f"with no market data (largest: {'; '.join(parts)}); quotes rest on a stale book there"
        )
    out.extend(note for _, note in tick_notes)
    if len(set(ticks.values())) > 1:
        desc = ", ".join(f"{paths[f]}: {t:g}" for f, t in ticks.items())
        f0 = next(iter(ticks))
        out.append(f"{loc(paths[f0], first_row[f0])}: mixed tick sizes across files ({desc})")
    return out
