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
check (price → size maps and lazy heaps of the best prices, compiled), the distinct prices and
sizes (for ``tick_size`` / ``lot_size``), per file the first and last priced-row index of each
distinct price (for the mixed-tick warning of :mod:`venues.loaders.quality`), the trade ids with
their file and row (duplicate check at the end), the time gaps over
:data:`venues.loaders.quality.GAP_WARN_S`, and the vendor parser's running totals.

Each chunk is converted and checked in one compiled pass (:func:`_rows_nb`: the rules of
:func:`venues.loaders.hftbacktest.convert` and :func:`venues.loaders._common.validate`, the
crossed-book check, the tables above), run without the GIL while one helper thread computes the
CRC-32 of the ``.npz`` bytes read (zipfile's check) and hashes and writes the events of the
previous chunk; buffers are reused from small pools.

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

import math
import os
import queue
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba as nb
import numpy as np

from engine.feed import CLEAR, DEPTH, EVENT_DTYPE, TRADE
from venues.loaders._common import DataError, bad_price, bad_size, infer_increment, where
from venues.loaders.npyfile import NpyWriter, iter_rows, read_chunks

__all__ = ["CHUNK_ROWS", "STREAM_FORMATS", "NotStreamable", "stream_to_npy"]

CHUNK_ROWS = 1 << 18
"""Source rows parsed per chunk (16 MB of hftbacktest rows); the stream holds at most three chunks
of rows and three of events (about 100 MB), whatever the length of the data."""

STREAM_FORMATS = ("hftbacktest_npz",)
"""Formats :func:`stream_to_npy` parses chunk by chunk."""


class NotStreamable(Exception):
    """The files cannot be parsed in one pass in file order (e.g. they overlap in time)."""


# -- compiled hash tables (open addressing, linear probing) over float64 keys -----------------
# A table is [keys float64[cap], used uint8[cap], val float64[cap], first int64[cap],
# last int64[cap], n int64[1]];
# cap is a power of two and kernels stop (returning where) when a table is more than half full,
# so that Python can grow it (_grow) and resume. Much faster than numba.typed.Dict.


@nb.njit(cache=True, inline="always")
def _h(x, mask):
    v = np.int64(x * 1048576.0)
    return ((v * np.int64(-7046029254386353131)) >> np.int64(17)) & mask


@nb.njit(cache=True, inline="always")
def _find(keys, used, x):
    mask = keys.size - 1
    j = _h(x, mask)
    while used[j] and keys[j] != x:
        j = (j + 1) & mask
    return j


def _table(cap: int = 1 << 12, values: bool = True) -> list:
    """A table of ``cap`` slots; ``values=False``: a set (no ``val``/``first``/``last``)."""
    m = cap if values else 0
    return [np.zeros(cap), np.zeros(cap, np.uint8), np.zeros(m), np.zeros(m, np.int64),
            np.zeros(m, np.int64), np.zeros(1, np.int64)]


@nb.njit(cache=True)
def _rehash(keys, used, val, v1, v2, nk, nu, nv, nv1, nv2):
    for i in range(keys.size):
        if used[i]:
            j = _find(nk, nu, keys[i])
            nu[j] = 1
            nk[j] = keys[i]
            if val.size:
                nv[j] = val[i]
                nv1[j] = v1[i]
                nv2[j] = v2[i]


def _grow(t: list) -> None:
    n = _table(t[0].size * 2, values=t[2].size > 0)
    _rehash(*t[:5], *n[:5])
    n[5][0] = t[5][0]
    t[:5] = n[:5]


def _full(t: list) -> bool:
    return 2 * int(t[5][0]) + 2 > t[0].size


def _tkeys(t: list) -> np.ndarray:
    return t[0][t[1] != 0]


# -- compiled crossed-book check (the rule of venues.loaders._common.check_crossed) ---------------
# inlined into _rows_nb: a call passing arrays costs reference-count updates of each (~20 % of the pass)
# a book side: a table px -> size (val; used and size > 0 only) and a heap of candidate best
# prices (bids stored negated) with lazy deletion: heap[0] is the best once stale tops are popped.
_ST_HAS_PREV, _ST_PREV_F, _ST_PREV_LINE, _ST_SNAP, _ST_N_CROSS, _ST_X_F, _ST_X_LINE, _ST_WARN = range(8)
_ST_BHN, _ST_AHN = 8, 9  # heap lengths
_ST_BOK, _ST_AOK = 11, 12  # the cached best bid / ask (out[4], out[5]) is valid


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


@nb.njit(cache=True, inline="always")
def _best(keys, used, heap, st, hn, sign, out):
    """Best price of one side (``sign`` +1 bids: heap of -px; -1 asks: heap of px); NaN if empty.
    Cached in ``out[4]``/``out[5]`` while valid (``st[_ST_BOK]``/``st[_ST_AOK]``), as
    :class:`venues.loaders.book.RefBook` caches it."""
    ok, o = (_ST_BOK, 4) if sign > 0 else (_ST_AOK, 5)
    if st[ok]:
        return out[o]
    best = np.nan
    while st[hn] > 0:
        p = -heap[0] if sign > 0 else heap[0]
        if used[_find(keys, used, p)]:
            best = p
            break
        st[hn] = _hpop(heap, st[hn])
    out[o] = best
    st[ok] = 1
    return best


@nb.njit(cache=True, inline="always")
def _del(keys, used, val, j):
    """Remove slot ``j`` of a linear-probing table (backward-shift deletion)."""
    mask = keys.size - 1
    used[j] = 0
    k = (j + 1) & mask
    while used[k]:
        h = _h(keys[k], mask)
        # move k back to j when its home h is not in (j, k] cyclically
        if (j < k and (h <= j or h > k)) or (j > k and (h <= j and h > k)):
            keys[j] = keys[k]
            val[j] = val[k]
            used[j] = 1
            used[k] = 0
            j = k
        k = (k + 1) & mask


@nb.njit(cache=True, inline="always")
def _set(keys, used, val, n, heap, st, hn, sign, p, q, out):
    ok, o = (_ST_BOK, 4) if sign > 0 else (_ST_AOK, 5)
    j = _find(keys, used, p)
    if q > 0:
        if not used[j]:
            used[j] = 1
            keys[j] = p
            n[0] += 1
            st[hn] = _hpush(heap, st[hn], -p if sign > 0 else p)
        val[j] = q
        b = out[o]
        if st[ok] and (np.isnan(b) or (p > b if sign > 0 else p < b)):
            out[o] = p
    elif used[j]:
        _del(keys, used, val, j)
        n[0] -= 1
        if p == out[o]:
            st[ok] = 0


@nb.njit(cache=True, inline="always")
def _clear_side(keys, used, n, st, hn, sign, out):
    used[:] = 0
    n[0] = 0
    st[hn] = 0
    st[_ST_BOK if sign > 0 else _ST_AOK] = 1
    out[4 if sign > 0 else 5] = np.nan


@nb.njit(cache=True)
def _compact(keys, used, heap, st, hn, sign):
    """Rebuild a heap from its table's keys (drops the stale entries of deleted levels)."""
    m = 0
    for i in range(keys.size):
        if used[i]:
            m = _hpush(heap, m, -keys[i] if sign > 0 else keys[i])
    st[hn] = m


@nb.njit(cache=True, inline="always")
def _check(bk, bu, bh, ak, au, ah, st, out):
    """Check the book after the message that just ended; 1 if it is an error (out = bb, ba)."""
    bb = _best(bk, bu, bh, st, _ST_BHN, 1, out)
    ba = _best(ak, au, ah, st, _ST_AHN, -1, out)
    err = 0
    if not np.isnan(bb) and not np.isnan(ba) and bb >= ba:
        if st[_ST_SNAP] != 0 or st[_ST_WARN] == 0:
            out[0] = bb
            out[1] = ba
            err = 1
        else:
            st[_ST_N_CROSS] += 1
            if st[_ST_N_CROSS] == 1:
                st[_ST_X_F] = st[_ST_PREV_F]
                st[_ST_X_LINE] = st[_ST_PREV_LINE]
                out[2] = bb
                out[3] = ba
    st[_ST_SNAP] = 0
    return err


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
             cs, fs, gs, bk, bu, bv, bn, bh, ak, au, av, an, ah, st, out, pk, pu, pfirst, plast, pn, qk, qu, qn, qf,
             base):
    """One pass over a chunk of hftbacktest rows: the rules of
    :func:`venues.loaders.hftbacktest.convert` (LOCAL rows only when ``keep_local``, message
    batches, event kinds and sides, synthetic trade ids, skipped-row counts), the row checks of
    :func:`venues.loaders._common.validate`, the crossed-book check after each message
    (consecutive book rows of one source ``(file, batch row)``; TRADE rows skipped), the
    distinct prices (first/last file-relative priced index) and sizes, the time gaps, and the
    events written out.

    The rows are ``ru``/``ri``/``rf``: the chunk's bytes seen as uint64, int64 and float64, one
    row of 8-byte words per source row, and ``col`` the words of ``ev``, ``local_ts``,
    ``exch_ts``, ``px``, ``qty`` and ``order_id`` (``row0``: the 1-based file row of the first).
    ``qf`` is a small direct-mapped filter in front of the set of sizes ``qk``/``qu``: a size
    found in its slot is already in the set.
    The events are written to ``oi``/``of``/``ob``, the ``EVENT_DTYPE`` buffer seen as int64,
    float64 (6 words a row) and int8 (48 bytes a row); ``o_line`` gets each event's batch row.
    Two-dimensional contiguous views whatever the field layout and the number of rows: one
    compiled signature.

    Returns 0 (done), 2 (a table or heap needs to grow: resume, ``cs[_C_I]`` is the row) or 3
    (a ``local_ts`` goes backwards: ``cs[_C_TS_ROW]``). The other problems are recorded, the
    first of each kind, and the pass goes on (the caller reports them in the order of the
    in-memory parse): a depth/trade row without a side (``cs[_C_SIDE_ROW]``, file row), a bad
    price or size (``cs[_C_PX]``, ``cs[_C_QTY]``, event index), a crossed book
    (``cs[_C_CROSS]``: 1 after an update, 2 after a snapshot; ``st``/``out`` as :func:`_check`
    leaves them). After the first problem the book and the tables are left alone (the stream
    stops).
    """
    n = ru.shape[0]
    c_ev, c_lt, c_et, c_px, c_qty, c_oid = col[0], col[1], col[2], col[3], col[4], col[5]
    i, j, ntr, ngap = cs[_C_I], cs[_C_J], cs[_C_NTR], cs[_C_NGAP]
    ok = cs[_C_OFF] == 0
    while i < n:
        e = ru[i, c_ev]
        if keep_local and (e & _LOCAL) == _NONE:
            i += 1
            continue
        if ok and (2 * bn[0] + 2 > bk.size or 2 * an[0] + 2 > ak.size or 2 * pn[0] + 2 > pk.size
                   or 2 * qn[0] + 2 > qk.size or st[_ST_BHN] + 1 >= bh.size or st[_ST_AHN] + 1 >= ah.size):
            cs[_C_I], cs[_C_J], cs[_C_NTR], cs[_C_NGAP] = i, j, ntr, ngap
            return 2
        t = ri[i, c_lt]
        x = ri[i, c_et]
        if fs[_F_HAS] != 0 and t < fs[_F_LT]:
            cs[_C_TS_ROW], cs[_C_TS], cs[_C_TS_PREV] = row0 + i, t, fs[_F_LT]
            cs[_C_I], cs[_C_J], cs[_C_NTR], cs[_C_NGAP] = i, j, ntr, ngap
            return 3
        if fs[_F_HAS] == 0 or t != fs[_F_LT] or x != fs[_F_ET]:
            fs[_F_BATCH] = row0 + i
        fs[_F_HAS], fs[_F_LT], fs[_F_ET] = 1, t, x
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
        ln = fs[_F_BATCH]
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
        if gs[_G_HAS_LAST] != 0:
            d = t - gs[_G_LAST]
            if d > gap_ns:
                gap_j[ngap] = j
                gap_dt[ngap] = d
                ngap += 1
        gs[_G_HAS_LAST] = 1
        gs[_G_LAST] = t
        if ok:
            if k != CLEAR:  # priced: occurrences and sizes
                h = _find(pk, pu, p)
                if not pu[h]:
                    pu[h] = 1
                    pk[h] = p
                    pfirst[h] = base[0]
                    pn[0] += 1
                plast[h] = base[0]
                base[0] += 1
                f = _h(q, qf.size - 1)
                if qf[f] != q:  # not a size seen lately: the set (large; rarely in cache)
                    qf[f] = q
                    h = _find(qk, qu, q)
                    if not qu[h]:
                        qu[h] = 1
                        qk[h] = q
                        qn[0] += 1
            if k != TRADE:
                if st[_ST_HAS_PREV] != 0 and (fidx != st[_ST_PREV_F] or ln != st[_ST_PREV_LINE]):
                    snap = st[_ST_SNAP]
                    if _check(bk, bu, bh, ak, au, ah, st, out):
                        cs[_C_CROSS] = 2 if snap != 0 else 1
                        ok = False
                if ok:
                    if k == CLEAR:
                        if s >= 0:
                            _clear_side(bk, bu, bn, st, _ST_BHN, 1, out)
                        if s <= 0:
                            _clear_side(ak, au, an, st, _ST_AHN, -1, out)
                        st[_ST_SNAP] = 1
                    elif s == 1:
                        _set(bk, bu, bv, bn, bh, st, _ST_BHN, 1, p, q, out)
                        if st[_ST_BHN] > 4 * bn[0] + 1024:
                            _compact(bk, bu, bh, st, _ST_BHN, 1)
                    else:
                        _set(ak, au, av, an, ah, st, _ST_AHN, -1, p, q, out)
                        if st[_ST_AHN] > 4 * an[0] + 1024:
                            _compact(ak, au, ah, st, _ST_AHN, -1)
                    st[_ST_HAS_PREV] = 1
                    st[_ST_PREV_F] = fidx
                    st[_ST_PREV_LINE] = ln
        j += 1
        i += 1
    if not ok:
        cs[_C_OFF] = 1
    cs[_C_I], cs[_C_J], cs[_C_NTR], cs[_C_NGAP] = i, j, ntr, ngap
    return 0


class _State:
    """The running state of a stream (tables, heaps, scalars), grown by Python when full."""

    def __init__(self) -> None:
        self.bids, self.asks, self.qtys = _table(), _table(), _table(values=False)
        self.qf = np.full(1 << 15, -1.0)  # sizes are >= 0 (checked before they get here)
        self.bheap, self.aheap = np.zeros(1 << 12), np.zeros(1 << 12)
        self.st = np.zeros(13, dtype=np.int64)
        self.st[_ST_BOK] = self.st[_ST_AOK] = 1  # empty book: best NaN, valid
        self.out = np.full(6, np.nan)
        self.pxs: set[float] = set()
        self.file()

    def file(self) -> None:
        """Start a file: fresh per-file price occurrences."""
        self.occ = _table()
        self.base = np.zeros(1, dtype=np.int64)

    def rows(self, words: tuple, row0: int, keep_local: bool, fidx: int, gap_ns: float, out: tuple,
             cs: np.ndarray, fs: np.ndarray, gs: np.ndarray) -> int:
        """Run :func:`_rows_nb` over a chunk, growing tables as needed; returns 0 or 3."""
        while True:
            b, a, o, q = self.bids, self.asks, self.occ, self.qtys
            code = _rows_nb(*words, row0, keep_local, fidx, gap_ns, *out, cs, fs, gs,
                            b[0], b[1], b[2], b[5], self.bheap, a[0], a[1], a[2], a[5], self.aheap, self.st,
                            self.out, o[0], o[1], o[3], o[4], o[5], q[0], q[1], q[5], self.qf, self.base)
            if code != 2:
                return code
            for t in (b, a, o, q):
                if _full(t):
                    _grow(t)
            if self.st[_ST_BHN] + 1 >= self.bheap.size:
                self.bheap = np.concatenate([self.bheap, np.zeros(self.bheap.size)])
            if self.st[_ST_AHN] + 1 >= self.aheap.size:
                self.aheap = np.concatenate([self.aheap, np.zeros(self.aheap.size)])

    def check(self) -> int:
        """The check after the last message of the stream: 0, or 1 (crossed after an update) or 2
        (after a snapshot)."""
        if not self.st[_ST_HAS_PREV]:
            return 0
        b, a = self.bids, self.asks
        snap = int(self.st[_ST_SNAP])
        return (1 + (snap != 0)) * _check(b[0], b[1], self.bheap, a[0], a[1], self.aheap, self.st, self.out)


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


def _write(writer: NpyWriter, buf: np.ndarray, m: int) -> None:
    writer.append(buf[:m])


def _stream(paths, symbol, out_path, chunk_rows) -> dict:
    """The parse: this thread reads each chunk and runs :func:`_rows_nb` over it (without the
    GIL) while one helper thread, in order, computes the CRC-32 of the chunks read (``.npz``
    members), hashes and writes the events of the chunks done, and hands their buffers back."""
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
    ins = _Pool(3, bytearray)
    outs = _Pool(3, lambda _: np.zeros(chunk_rows, dtype=EVENT_DTYPE))  # padding bytes stay 0
    writer = NpyWriter(out_path, EVENT_DTYPE)
    bg = ThreadPoolExecutor(1, thread_name_prefix="mmsim-stream")
    writes: list = []
    try:
        for fidx, path in enumerate(paths):
            keep_local = None
            started = False
            S.file()
            fs = np.zeros(4, dtype=np.int64)
            for start, a, verify in read_chunks(path, chunk_rows, ins.get, bg.submit):
                buf = ins.last
                if keep_local is None:  # the file's first chunk
                    if verify is not None and not _fields_ok(a.dtype):
                        verify()
                    H.check_fields(a.dtype, path)
                    keep_local = bool(np.any(a["ev"].astype(np.uint64) & np.uint64(H.LOCAL_EVENT)))
                    if not keep_local and a.size == chunk_rows:
                        if verify is not None:
                            verify()
                        keep_local = _has_local(path, chunk_rows)
                words = _words(a)
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
                bg.submit(ins.put, buf)  # after this chunk's CRC job
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
                writes.append(bg.submit(_write, writer, ev, m))
                bg.submit(outs.put, ev)
                if writes[0].done():
                    writes.pop(0).result()  # a failed write stops the stream
            if S.base[0]:
                _file_ticks(S, fidx, path, chunk_rows, keep_local, ticks, tick_notes, loc)
        crossed = S.check()
        if crossed:
            _crossed(S, paths, unit, crossed == 2)
        _dup_trades(tr_id, tr_f, tr_line, paths, unit)
        bg.shutdown(wait=True)
        for w in writes:
            w.result()
        digest = writer.close()
    except BaseException:
        bg.shutdown(wait=True, cancel_futures=True)
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
        "lot_size": infer_increment(_tkeys(S.qtys)) if S.qtys[5][0] else math.nan,
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
    o = S.occ
    used = o[1] != 0
    u, fi, la = o[0][used], o[3][used], o[4][used]
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
