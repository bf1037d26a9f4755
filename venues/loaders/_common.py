"""Shared pieces of the market-data loaders: errors, the row builder, validation, increments.

Nothing vendor-specific lives here; each vendor module (:mod:`venues.loaders.binance`,
:mod:`venues.loaders.hyperliquid`, :mod:`venues.loaders.hftbacktest`) turns its files into a
:class:`Parsed` and :func:`finish` validates, sorts and wraps it.

See Also
--------
venues.loaders.book : the plain-Python reference book used for the crossed-book check.
engine.feed : ``EVENT_DTYPE`` and ``BBO_DTYPE``.
"""

from __future__ import annotations

import math
import os

import attrs
import numpy as np

from engine.feed import BBO_DTYPE, CLEAR, DEPTH, EVENT_DTYPE, TRADE
from venues.loaders.book import RefBook


class DataError(ValueError):
    """A market-data file that cannot be used as it is.

    The message always names the file and the 1-based line (text files, header included) or row
    (``.npz``) that failed, and the key or field where relevant.
    """


@attrs.frozen(kw_only=True)
class Gap:
    """A break in a vendor's update-id chain (Binance ``pu``/``U`` mismatch).

    Attributes
    ----------
    ts_local_ns : int
        Local receive time of the diff that revealed the gap, ns since the epoch.
    ts_exch_ns : int
        Exchange time of that diff (``T``, else ``E``), ns; -1 if the message has none.
    expected_id : int
        The id the chain required (futures: previous ``u``; spot: previous ``u`` + 1; after a
        snapshot: ``lastUpdateId`` (futures) or ``lastUpdateId + 1`` (spot)).
    got_id : int
        The id the diff carried (futures ``pu``, spot ``U``; after a snapshot ``U``).
    file : str
        Source file of the diff.
    line : int
        1-based line of the diff in ``file``.
    """

    ts_local_ns: int
    ts_exch_ns: int
    expected_id: int
    got_id: int
    file: str
    line: int


GZIP_MAGIC = b"\x1f\x8b"
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"


def compression(path: str | os.PathLike) -> str:
    """Compression of a file from its first bytes: ``"gzip"``, ``"lz4"`` (LZ4 frame, as in
    Hyperliquid's S3 archive) or ``"none"``."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head == LZ4_FRAME_MAGIC:
        return "lz4"
    return "none"


def open_binary(path: str | os.PathLike):
    """Open a file for reading bytes, transparently decompressing gzip or LZ4 frames.

    LZ4 goes through the ``lz4`` package (:func:`lz4.frame.open`), gzip through :mod:`gzip`.
    """
    kind = compression(path)
    if kind == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if kind == "lz4":
        import lz4.frame

        return lz4.frame.open(path, "rb")
    return open(path, "rb")


def open_text(path: str | os.PathLike):
    """Open a UTF-8 text file, transparently decompressing gzip or LZ4 frames (by magic bytes,
    not by extension)."""
    import io

    return io.TextIOWrapper(open_binary(path), encoding="utf-8", newline="")


def where(paths: list[str], fidx: int, line: int, unit: str = "line") -> str:
    """Return ``"<file>: <unit> <n>"`` for error messages."""
    return f"{paths[fidx]}: {unit} {line}"


class Builder:
    """Accumulates event rows column-wise, with their source file index and line.

    ``zero_ok`` marks rows whose ``qty == 0`` is legitimate (a level delete in a diff).
    """

    def __init__(self) -> None:
        self.ts_l: list[int] = []
        self.ts_e: list[int] = []
        self.px: list[float] = []
        self.qty: list[float] = []
        self.tid: list[int] = []
        self.kind: list[int] = []
        self.side: list[int] = []
        self.fidx: list[int] = []
        self.line: list[int] = []
        self.zero_ok: list[bool] = []

    def levels(self, ts_l, ts_e, side, pxs, qtys, fidx, line, zero_ok) -> None:
        """Append DEPTH rows (absolute level sizes) for one side."""
        n = len(pxs)
        if n == 0:
            return
        self.ts_l.extend([ts_l] * n)
        self.ts_e.extend([ts_e] * n)
        self.px.extend(pxs)
        self.qty.extend(qtys)
        self.tid.extend([-1] * n)
        self.kind.extend([DEPTH] * n)
        self.side.extend([side] * n)
        self.fidx.extend([fidx] * n)
        self.line.extend([line] * n)
        self.zero_ok.extend([zero_ok] * n)

    def row(self, ts_l, ts_e, px, qty, tid, kind, side, fidx, line, zero_ok=False) -> None:
        """Append one row."""
        self.ts_l.append(ts_l)
        self.ts_e.append(ts_e)
        self.px.append(px)
        self.qty.append(qty)
        self.tid.append(tid)
        self.kind.append(kind)
        self.side.append(side)
        self.fidx.append(fidx)
        self.line.append(line)
        self.zero_ok.append(zero_ok)

    def clear(self, ts_l, ts_e, side, fidx, line) -> None:
        """Append a CLEAR row (side 0 = both sides)."""
        self.row(ts_l, ts_e, 0.0, 0.0, -1, CLEAR, side, fidx, line, True)

    def __len__(self) -> int:
        return len(self.ts_l)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(events, fidx, line, zero_ok)`` in insertion order."""
        n = len(self.ts_l)
        ev = np.empty(n, dtype=EVENT_DTYPE)
        ev["ts_local_ns"] = np.asarray(self.ts_l, dtype=np.int64)
        ev["ts_exch_ns"] = np.asarray(self.ts_e, dtype=np.int64)
        ev["px"] = np.asarray(self.px, dtype=np.float64)
        ev["qty"] = np.asarray(self.qty, dtype=np.float64)
        ev["trade_id"] = np.asarray(self.tid, dtype=np.int64)
        ev["kind"] = np.asarray(self.kind, dtype=np.int8)
        ev["side"] = np.asarray(self.side, dtype=np.int8)
        return (
            ev,
            np.asarray(self.fidx, dtype=np.int32),
            np.asarray(self.line, dtype=np.int64),
            np.asarray(self.zero_ok, dtype=bool),
        )


@attrs.define
class Parsed:
    """What a vendor parser hands to :func:`finish` (mutable, internal)."""

    events: np.ndarray
    fidx: np.ndarray
    line: np.ndarray
    zero_ok: np.ndarray
    bbo: np.ndarray
    paths: list[str]
    symbol: str
    venue: str
    unit: str = "line"
    gaps: list[Gap] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)
    cross_is_warning: bool = False
    check_dup_trades: bool = True


def bbo_array(rows: list[tuple]) -> np.ndarray:
    """Build a ``BBO_DTYPE`` array from ``(ts_l, ts_e, update_id, bpx, bqty, apx, aqty)`` rows."""
    out = np.empty(len(rows), dtype=BBO_DTYPE)
    if rows:
        cols = list(zip(*rows, strict=True))
        for name, col in zip(BBO_DTYPE.names, cols, strict=True):
            out[name] = np.asarray(col, dtype=BBO_DTYPE[name])
    return out


def check_local_order(ts: int, prev: int, paths: list[str], fidx: int, line: int) -> None:
    """Raise :class:`DataError` if a local timestamp goes backwards within a file."""
    if ts < prev:
        raise DataError(
            f"{paths[fidx]}: line {line}: local timestamp {ts} ns is earlier than the previous "
            f"line's {prev} ns (out-of-order timestamps within a file)"
        )


def validate(p: Parsed) -> None:
    """Vectorised row checks: prices finite and > 0, sizes finite and > 0 (0 only for deletes
    in diffs), duplicate trade ids. Raises :class:`DataError` naming file and line."""
    ev = p.events
    kind = ev["kind"]
    px, qty = ev["px"], ev["qty"]
    notclear = kind != CLEAR
    bad_px = notclear & ~(np.isfinite(px) & (px > 0))
    if bad_px.any():
        i = int(np.argmax(bad_px))
        raise DataError(bad_price(where(p.paths, p.fidx[i], p.line[i], p.unit), float(px[i]), kind[i] == TRADE))
    bad_q = notclear & ~(np.isfinite(qty) & ((qty > 0) | ((qty == 0) & p.zero_ok)))
    if bad_q.any():
        i = int(np.argmax(bad_q))
        raise DataError(bad_size(where(p.paths, p.fidx[i], p.line[i], p.unit), float(px[i]), float(qty[i])))
    if p.check_dup_trades:
        tr = np.flatnonzero(kind == TRADE)
        ids = ev["trade_id"][tr]
        if ids.size > 1:
            order = np.argsort(ids, kind="stable")
            s = ids[order]
            dup = np.flatnonzero(s[1:] == s[:-1])
            if dup.size:
                a, b = tr[order[dup[0]]], tr[order[dup[0] + 1]]
                first, second = (a, b) if a < b else (b, a)
                raise DataError(
                    f"{where(p.paths, p.fidx[second], p.line[second], p.unit)}: duplicate trade id "
                    f"{int(ids[order[dup[0]]])} (key trade_id; first seen at "
                    f"{where(p.paths, p.fidx[first], p.line[first], p.unit)})"
                )


def bad_price(loc: str, px: float, trade: bool) -> str:
    """The message of :func:`validate` for a price that is not finite and positive."""
    return f"{loc}: price {px!r} is not a finite positive number (key px, {'trade' if trade else 'level'})"


def bad_size(loc: str, px: float, qty: float) -> str:
    """The message of :func:`validate` for a size that is not allowed (0 only for diffs)."""
    what = "a snapshot level or trade" if qty == 0.0 else "any row"
    return (f"{loc}: size {qty!r} at px {px!r} is not allowed for {what} (key qty; only diffs may carry "
            "0 = delete)")


def check_crossed(p: Parsed, order: np.ndarray) -> None:
    """Replay DEPTH/CLEAR rows in sim order into a :class:`RefBook` and check that the book is
    not crossed (best_bid >= best_ask) after each message (rows of one source line) is applied.

    A crossed snapshot is always an error. A crossed book after a diff is an error too, unless
    ``p.cross_is_warning`` (see the vendor module for why), in which case it is counted and
    reported once as a warning.
    """
    ev = p.events[order]
    book_rows = np.flatnonzero(ev["kind"] != TRADE)
    ev = ev[book_rows]
    fidx = p.fidx[order][book_rows]
    line = p.line[order][book_rows]
    kind = ev["kind"].tolist()
    side = ev["side"].tolist()
    px = ev["px"].tolist()
    qty = ev["qty"].tolist()
    keys = fidx.astype(np.int64) * (1 << 40) + line
    end = np.ones(len(kind), dtype=bool)
    end[:-1] = keys[1:] != keys[:-1]
    end = end.tolist()
    book = RefBook()
    n_cross = 0
    first_cross = None
    snapshot_group = False
    for i in range(len(kind)):
        if kind[i] == CLEAR:
            book.clear(side[i])
            snapshot_group = True
        else:
            book.set(side[i], px[i], qty[i])
        if not end[i]:
            continue
        bb, ba = book.best_bid(), book.best_ask()
        if bb is not None and ba is not None and bb >= ba:
            loc = where(p.paths, int(fidx[i]), int(line[i]), p.unit)
            if snapshot_group or not p.cross_is_warning:
                raise DataError(
                    f"{loc}: crossed book after applying this "
                    f"{'snapshot' if snapshot_group else 'update'}: best_bid {bb} >= best_ask {ba}"
                )
            n_cross += 1
            if first_cross is None:
                first_cross = f"{loc} (best_bid {bb} >= best_ask {ba})"
        snapshot_group = False
    if n_cross:
        p.warnings.append(
            f"book crossed after {n_cross} diff message(s), first at {first_cross}; see the "
            "vendor module docstring (transient crosses between partial updates)"
        )


def infer_increment(values: np.ndarray, max_decimals: int = 10) -> float:
    """Smallest increment on which all ``values`` lie: the gcd of the values scaled by the
    smallest power of ten that makes them integers (e.g. prices 2683.80, 2683.81 → 0.01).

    Parameters
    ----------
    values : ndarray of float64
        Prices (quote units) or sizes (base units / contracts); zeros and non-finite ignored.
    max_decimals : int, default 10

    Returns
    -------
    float
        The increment; ``nan`` if there is no positive finite value.
    """
    v = np.unique(values[np.isfinite(values) & (values > 0)])
    if v.size == 0:
        return math.nan
    for d in range(max_decimals + 1):
        scaled = v * 10.0**d
        r = np.round(scaled)
        if np.all(np.abs(scaled - r) <= 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-3):
            break
    if np.max(r) > 2**62:
        return float(10.0**-d)
    g = int(np.gcd.reduce(r.astype(np.int64)))
    return float(round(g / 10.0**d, d))


_SHA_MEMO: dict[tuple, str] = {}


HASH_BLOCK = 1 << 23
"""Bytes :func:`file_sha256` reads and hashes at a time (8 MiB). Reading and hashing release the
GIL, but taking it back between two blocks waits up to the interpreter's switch interval (5 ms)
while another thread runs Python code (the streamed parse loads Numba meanwhile,
:func:`venues.loaders.cache.cache_key`): with 1 MiB blocks that wait, not the hashing, set the
pace."""


def file_sha256(path: str | os.PathLike, buf: bytearray | None = None) -> str:
    """Hex sha256 of a file's bytes (remembered per process for an unchanged file: same path,
    inode, size and modification time, so a multi-GB source is hashed once per load).

    ``buf``: the read buffer to use (:func:`files_sha256` gives each thread one); default one of
    the file's size, at most :data:`HASH_BLOCK`."""
    import hashlib

    try:
        s = os.stat(path)
        tag = (os.path.realpath(path), s.st_ino, s.st_size, s.st_mtime_ns)
    except OSError:
        tag = None
    if tag is not None and tag in _SHA_MEMO:
        return _SHA_MEMO[tag]
    h = hashlib.sha256()
    if buf is None:
        buf = bytearray(min(max(s.st_size if tag is not None else 0, 1), HASH_BLOCK))
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])  # both release the GIL (files_sha256 hashes in threads)
    if tag is not None:
        if len(_SHA_MEMO) > 4096:
            _SHA_MEMO.clear()
        _SHA_MEMO[tag] = h.hexdigest()
    return h.hexdigest()


def files_sha256(paths: list[str]) -> list[str]:
    """:func:`file_sha256` of each path, in order; several files are hashed in parallel threads
    (one per CPU, at most 8), each reading into one buffer of at most :data:`HASH_BLOCK` bytes."""
    try:
        block = min(max([os.path.getsize(p) for p in paths] + [1]), HASH_BLOCK)
    except OSError:  # file_sha256 names the file
        block = HASH_BLOCK
    workers = min(len(paths), os.cpu_count() or 1, 8)
    if workers < 2:
        buf = bytearray(block)
        return [file_sha256(p, buf) for p in paths]
    import queue
    from concurrent.futures import ThreadPoolExecutor

    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()

    def one(path: str) -> str:
        try:
            buf = free.get_nowait()
        except queue.Empty:  # at most one buffer per thread
            buf = bytearray(block)
        try:
            return file_sha256(path, buf)
        finally:
            free.put(buf)

    with ThreadPoolExecutor(workers, thread_name_prefix="mmsim-sha256") as pool:
        return list(pool.map(one, paths))


def drop_redelivered_trades(p: Parsed) -> None:
    """Drop later copies of trades that repeat an earlier trade exactly (same trade id, px, qty,
    side and exchange time) and record one warning; conflicting copies are left for
    :func:`validate` to reject."""
    ev = p.events
    tr = np.flatnonzero(ev["kind"] == TRADE)
    if tr.size < 2:
        return
    ids = ev["trade_id"][tr]
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    dup = np.flatnonzero(s[1:] == s[:-1])
    if dup.size == 0:
        return
    drop = []
    for k in dup.tolist():
        a, b = tr[order[k]], tr[order[k + 1]]
        ra, rb = ev[a], ev[b]
        if (ra["px"], ra["qty"], ra["side"], ra["ts_exch_ns"]) == (
            rb["px"], rb["qty"], rb["side"], rb["ts_exch_ns"]
        ):
            drop.append(max(a, b))
    if not drop:
        return
    first = min(drop)
    loc = where(p.paths, p.fidx[first], p.line[first], p.unit)
    p.warnings.append(
        f"{len(drop)} trade(s) re-delivered with an identical trade id, px, qty, side and "
        f"exchange time were dropped (first at {loc})"
    )
    keep = np.ones(ev.size, dtype=bool)
    keep[drop] = False
    p.events, p.fidx, p.line, p.zero_ok = ev[keep], p.fidx[keep], p.line[keep], p.zero_ok[keep]
