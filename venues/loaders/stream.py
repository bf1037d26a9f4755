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
from pathlib import Path

import numba as nb
import numpy as np

from engine.feed import CLEAR, DEPTH, EVENT_DTYPE, TRADE
from venues.loaders._common import DataError, Parsed, infer_increment, validate, where
from venues.loaders.npyfile import NpyWriter, iter_rows

__all__ = ["CHUNK_ROWS", "STREAM_FORMATS", "NotStreamable", "stream_to_npy"]

CHUNK_ROWS = 1 << 20
"""Source rows parsed per chunk (about 64 MB of hftbacktest rows; peak memory ~5× that)."""

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
# a book side: a table px -> size (val; used and size > 0 only) and a heap of candidate best
# prices (bids stored negated) with lazy deletion: heap[0] is the best once stale tops are popped.
_ST_HAS_PREV, _ST_PREV_F, _ST_PREV_LINE, _ST_SNAP, _ST_N_CROSS, _ST_X_F, _ST_X_LINE, _ST_WARN = range(8)
_ST_BHN, _ST_AHN = 8, 9  # heap lengths
_ST_BOK, _ST_AOK = 11, 12  # the cached best bid / ask (out[4], out[5]) is valid


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def _scan_nb(i, kind, side, px, qty, fidx, line, bk, bu, bv, bn, bh, ak, au, av, an, ah, st, out,
             pk, pu, pfirst, plast, pn, qk, qu, qn, base):
    """One pass over a chunk from row ``i``: the crossed-book check after each message
    (consecutive book rows of one source ``(file, line)``; TRADE rows skipped) and, for priced
    rows, the first/last file-relative priced index of each price and the set of sizes.

    Returns ``(row, code)``: code 0 done (row = chunk size), 1 crossed-book error (``st`` names
    the message, ``out[:2]`` the prices), 2 a table or heap needs to grow (resume at ``row``).
    ``base`` (``st[10]``) is the file-relative index of the chunk's next priced row.
    """
    m = kind.size
    while i < m:
        if 2 * bn[0] + 2 > bk.size or 2 * an[0] + 2 > ak.size or 2 * pn[0] + 2 > pk.size \
                or 2 * qn[0] + 2 > qk.size or st[_ST_BHN] + 1 >= bh.size or st[_ST_AHN] + 1 >= ah.size:
            return i, 2
        k = kind[i]
        if k != CLEAR:  # priced: occurrences and sizes
            p = px[i]
            j = _find(pk, pu, p)
            if not pu[j]:
                pu[j] = 1
                pk[j] = p
                pfirst[j] = base[0]
                pn[0] += 1
            plast[j] = base[0]
            base[0] += 1
            q = qty[i]
            j = _find(qk, qu, q)
            if not qu[j]:
                qu[j] = 1
                qk[j] = q
                qn[0] += 1
        if k != TRADE:
            f = fidx[i]
            ln = line[i]
            if st[_ST_HAS_PREV] != 0 and (f != st[_ST_PREV_F] or ln != st[_ST_PREV_LINE]):
                if _check(bk, bu, bh, ak, au, ah, st, out):
                    return i, 1
            if k == CLEAR:
                s = side[i]
                if s >= 0:
                    _clear_side(bk, bu, bn, st, _ST_BHN, 1, out)
                if s <= 0:
                    _clear_side(ak, au, an, st, _ST_AHN, -1, out)
                st[_ST_SNAP] = 1
            elif side[i] == 1:
                _set(bk, bu, bv, bn, bh, st, _ST_BHN, 1, px[i], qty[i], out)
                if st[_ST_BHN] > 4 * bn[0] + 1024:
                    _compact(bk, bu, bh, st, _ST_BHN, 1)
            else:
                _set(ak, au, av, an, ah, st, _ST_AHN, -1, px[i], qty[i], out)
                if st[_ST_AHN] > 4 * an[0] + 1024:
                    _compact(ak, au, ah, st, _ST_AHN, -1)
            st[_ST_HAS_PREV] = 1
            st[_ST_PREV_F] = f
            st[_ST_PREV_LINE] = ln
        i += 1
    return i, 0


class _State:
    """The running state of a stream (tables, heaps, scalars), grown by Python when full."""

    def __init__(self) -> None:
        self.bids, self.asks, self.qtys = _table(), _table(), _table(values=False)
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

    def scan(self, kind, side, px, qty, fidx, line) -> int:
        """Run :func:`_scan_nb` over a chunk, growing tables as needed; returns 0 or 1 (error)."""
        i = 0
        while True:
            b, a, o, q = self.bids, self.asks, self.occ, self.qtys
            i, code = _scan_nb(i, kind, side, px, qty, fidx, line, b[0], b[1], b[2], b[5], self.bheap,
                               a[0], a[1], a[2], a[5], self.aheap, self.st, self.out,
                               o[0], o[1], o[3], o[4], o[5], q[0], q[1], q[5], self.base)
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
        """The check after the last message of the stream."""
        if not self.st[_ST_HAS_PREV]:
            return 0
        b, a = self.bids, self.asks
        return _check(b[0], b[1], self.bheap, a[0], a[1], self.aheap, self.st, self.out)


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


def _stream(paths, symbol, out_path, chunk_rows) -> dict:
    from venues.loaders import hftbacktest as H
    from venues.loaders.quality import GAP_WARN_S, loc

    S = _State()
    counts = {"bbo": 0, "other": 0, "clear": 0, "trades": 0}
    tr_id, tr_f, tr_line = [], [], []
    gaps: list[tuple[int, int, int, int]] = []  # (stream index of the row after, dt ns, fidx, line)
    first_row: dict[int, int] = {}
    ticks: dict[int, float] = {}
    tick_notes: list[str] = []
    any_trade = any_depth = False
    n_out = 0
    last_ts: int | None = None
    unit = "message at row"
    p_stub = dict(bbo=np.empty(0), paths=list(paths), symbol=symbol or "", venue="hftbacktest",
                  unit=unit, check_dup_trades=False)
    writer = NpyWriter(out_path, EVENT_DTYPE)
    try:
        for fidx, path in enumerate(paths):
            keep_local = None
            prev = None
            started = False
            S.file()
            for start, a in iter_rows(path, chunk_rows):
                if keep_local is None:  # the file's first chunk
                    H.check_fields(a.dtype, path)
                    keep_local = bool(np.any(a["ev"].astype(np.uint64) & np.uint64(H.LOCAL_EVENT)))
                    if not keep_local and a.size == chunk_rows:
                        keep_local = _has_local(path, chunk_rows)
                rows = np.arange(start + 1, start + a.size + 1, dtype=np.int64)
                ev, line, prev = H.convert(a, rows, path, keep_local, counts, prev)
                del a, rows
                if ev.size == 0:
                    continue
                ts = ev["ts_local_ns"]
                if not started and last_ts is not None and int(ts[0]) < last_ts:
                    raise NotStreamable(f"{path} starts before the previous file ends")
                started = True
                fx = np.full(ev.size, fidx, dtype=np.int32)
                kind = ev["kind"]
                validate(Parsed(events=ev, fidx=fx, line=line, zero_ok=kind == DEPTH, **p_stub))
                if S.scan(kind, ev["side"], ev["px"], ev["qty"], fx, line):
                    _crossed(S, paths, unit)
                is_tr = kind == TRADE
                any_trade = any_trade or bool(is_tr.any())
                any_depth = any_depth or bool((kind == DEPTH).any())
                tr = np.flatnonzero(is_tr)
                tr_id.append(ev["trade_id"][tr])
                tr_f.append(np.full(tr.size, fidx, dtype=np.int32))
                tr_line.append(line[tr])
                first_row.setdefault(fidx, int(line[0]))
                dt = np.diff(ts, prepend=ts[0] if last_ts is None else last_ts)
                for i in np.flatnonzero(dt > GAP_WARN_S * 1e9).tolist():
                    gaps.append((n_out + i, int(dt[i]), fidx, int(line[i])))
                last_ts = int(ts[-1])
                writer.append(ev)
                n_out += ev.size
            if S.base[0]:
                _file_ticks(S, fidx, path, chunk_rows, keep_local, ticks, tick_notes, loc)
        if S.check():
            _crossed(S, paths, unit)
        _dup_trades(tr_id, tr_f, tr_line, paths, unit)
        digest = writer.close()
    except BaseException:
        writer.abort()
        raise
    warnings = H.count_warnings(counts)
    st, xout = S.st, S.out
    if st[_ST_N_CROSS]:
        warnings.append(
            f"book crossed after {int(st[_ST_N_CROSS])} diff message(s), first at "
            f"{where(paths, int(st[_ST_X_F]), int(st[_ST_X_LINE]), unit)} (best_bid {xout[2]} >= "
            f"best_ask {xout[3]}); see the vendor module docstring (transient crosses between partial updates)"
        )
    warnings.extend(_quality(any_trade, any_depth, first_row, gaps, ticks, tick_notes, paths, loc, GAP_WARN_S))
    return {
        "digest": digest, "symbol": symbol or "", "venue": "hftbacktest",
        "tick_size": infer_increment(np.fromiter(S.pxs, np.float64, len(S.pxs))) if S.pxs else math.nan,
        "lot_size": infer_increment(_tkeys(S.qtys)) if S.qtys[5][0] else math.nan,
        "warnings": warnings,
    }


def _crossed(S: _State, paths: list[str], unit: str):
    lc = where(paths, int(S.st[_ST_PREV_F]), int(S.st[_ST_PREV_LINE]), unit)
    what = "snapshot" if S.st[_ST_SNAP] else "update"
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
