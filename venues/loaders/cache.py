"""Parquet cache of parsed feeds, keyed by content hash, written atomically.

Layout: ``<cache_dir>/<key>/`` holding ``events.parquet`` and ``bbo.parquet`` (one column per
dtype field) and ``feed.json`` (``FeedMeta``, gaps, warnings, loader version), plus, once a
reader asked for ``mmap=True``, ``events.npy`` (the events uncompressed, memory-mappable and
shared read-only by every process of a sweep). The size and sha256 of every file are recorded
when it is written (``feed.json`` ``files``; ``events.npy.json``) and checked on every reuse: a
truncated or altered entry is rebuilt, with a warning. The entry is
written into a temporary sibling directory and moved in place with :func:`os.replace`, so a
crash leaves either no entry or a complete one (temporary leftovers are ignored). The key is the
sha256 of :data:`venues.loaders.LOADER_VERSION`, the format, symbol and on_gap options, the
meta file's bytes and every source file's bytes in order.

Streamed entries (``feed.json`` ``"layout": "npy"``, :func:`write_streamed`): long feeds are
parsed chunk by chunk (:mod:`venues.loaders.stream`) straight into ``events.npy`` (48 bytes per
event, written once, no Parquet copy) beside an empty ``bbo.npy``; ``feed.json`` ``files``
records each file's row count, size and the sha256 of its rows, checked on reuse (once per
process and file version). Such an entry is always read as a memory map; a truncated or altered
file is a miss with a warning naming the file and what is wrong, and the entry is rebuilt.

See Also
--------
venues.loaders.load_feed : the only caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.feed import BBO_DTYPE, EVENT_DTYPE
from venues.loaders._common import Gap, file_sha256, files_sha256

if TYPE_CHECKING:
    import pyarrow as pa


def _arrow() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, imported on first use: streamed entries need neither (and
    the import is a tenth of a second of a streamed parse)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def cache_key(cfg, paths: list[str]) -> str:
    """Hex sha256 identifying the parse of ``paths`` with the options of ``cfg``.

    The sources are hashed in threads (:func:`venues.loaders._common.files_sha256`, which do not
    hold the GIL); for a format that streams, this thread meanwhile loads the compiled parse
    (:func:`venues.loaders.stream.warm`, ~0.7 s of Numba start-up in a fresh process), which a
    miss needs next and a replay after a hit needs too (Numba's start-up is once per process).
    """
    from concurrent.futures import ThreadPoolExecutor

    from venues.loaders import LOADER_VERSION

    with ThreadPoolExecutor(1, thread_name_prefix="mmsim-key") as pool:
        hashed = pool.submit(files_sha256, paths)
        from venues.loaders import stream

        if cfg.format in stream.STREAM_FORMATS:
            stream.warm()
        sources = hashed.result()
    h = hashlib.sha256()
    opts = {
        "loader_version": LOADER_VERSION,
        "format": cfg.format,
        "symbol": cfg.symbol,
        "on_gap": cfg.on_gap,
        "meta": file_sha256(cfg.meta_path) if cfg.meta_path and Path(cfg.meta_path).is_file()
        else cfg.meta_path,
        "sources": sources,
    }
    h.update(json.dumps(opts, sort_keys=True).encode())
    return h.hexdigest()


def _table(arr: np.ndarray) -> pa.Table:
    pa, _ = _arrow()
    return pa.table({name: pa.array(arr[name]) for name in arr.dtype.names})


def _array(table: pa.Table, dtype: np.dtype) -> np.ndarray:
    out = np.empty(table.num_rows, dtype=dtype)
    for name in dtype.names:
        out[name] = table.column(name).to_numpy()
    return out


def _digest(path: Path) -> dict:
    """``{"size", "sha256"}`` of a cache file (recorded at write, checked on every reuse)."""
    return {"size": path.stat().st_size, "sha256": file_sha256(path)}


def _intact(path: Path, want: dict | None) -> bool:
    """The file exists with the recorded size and sha256 (size first: cheap)."""
    try:
        return (want is not None and path.stat().st_size == want["size"]
                and file_sha256(path) == want["sha256"])
    except (OSError, KeyError, TypeError):
        return False


def _events_npy(d: Path) -> np.ndarray:
    """Read-only memory map of ``d/events.npy``, written from the Parquet entry if missing or
    if it no longer matches the size and sha256 recorded beside it (``events.npy.json``)."""
    npy = d / "events.npy"
    side = d / "events.npy.json"
    if npy.is_file():
        try:
            want = json.loads(side.read_text())
        except (OSError, ValueError):
            want = None
        if not _intact(npy, want):
            warnings.warn(f"feed cache: {npy} is corrupt or unverified; rebuilding it", stacklevel=3)
            with contextlib.suppress(OSError):
                npy.unlink()
    if not npy.is_file():
        _, pq = _arrow()
        events = _array(pq.read_table(d / "events.parquet"), EVENT_DTYPE)
        fd, tmp = tempfile.mkstemp(prefix=".events.", suffix=".npy", dir=d)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, events, allow_pickle=False)
            tmp_side = side.with_name(f".{side.name}.{os.getpid()}")
            tmp_side.write_text(json.dumps(_digest(Path(tmp))))
            os.replace(tmp_side, side)
            os.replace(tmp, npy)  # atomic: readers see no file or a complete one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    mm = np.load(npy, mmap_mode="r", allow_pickle=False)
    if mm.dtype != EVENT_DTYPE:
        raise ValueError(f"{npy}: dtype {mm.dtype} is not EVENT_DTYPE")
    return np.asarray(mm)  # plain read-only ndarray view of the map (Numba takes it)


def read(cache_dir, key: str, *, mmap: bool = False):
    """Return the cached :class:`~venues.loaders.Feed` for ``key``, or ``None`` on a miss.

    With ``mmap=True`` the events are a read-only memory map of ``events.npy`` beside the
    Parquet files (created from them on first use), or of a streamed entry's ``events.npy``
    (:func:`write_streamed`; read into memory when ``mmap=False``). A corrupt entry is a miss,
    with a warning naming the file and what is wrong.
    """
    from venues.loaders import LOADER_VERSION

    d = Path(cache_dir) / key
    try:
        info = json.loads((d / "feed.json").read_text())
        if info.get("loader_version") != LOADER_VERSION:
            return None
        recorded = info.get("files", {})
        if info.get("layout") == "npy":
            return _read_npy(d, info, mmap)
    except (OSError, ValueError, KeyError):
        return None
    pa, pq = _arrow()
    try:
        bad = [n for n in ("events.parquet", "bbo.parquet") if not _intact(d / n, recorded.get(n))]
        if bad:  # truncated, altered or (older entry) unrecorded: a miss, load_feed rebuilds it
            if recorded:
                warnings.warn(f"feed cache entry {d} is corrupt ({', '.join(bad)} changed "
                              "since written); rebuilding it", stacklevel=2)
            return None
        if mmap:
            events = _events_npy(d)
        else:
            events = _array(pq.read_table(d / "events.parquet"), EVENT_DTYPE)
        bbo = _array(pq.read_table(d / "bbo.parquet"), BBO_DTYPE)
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None
    return _feed(info, events, bbo)


def _feed(info: dict, events: np.ndarray, bbo: np.ndarray):
    from venues.loaders import Feed, FeedMeta

    m = info["meta"]
    meta = FeedMeta(
        symbol=m["symbol"], venue=m["venue"], tick_size=m["tick_size"], lot_size=m["lot_size"],
        sz_decimals=m["sz_decimals"], source_sha256=tuple(m["source_sha256"]),
        n_gaps=m["n_gaps"],
    )
    return Feed(
        events=events, bbo=bbo, meta=meta,
        gaps=tuple(Gap(**g) for g in info["gaps"]), warnings=tuple(info["warnings"]),
    )


def write(cache_dir, key: str, feed) -> None:
    """Store ``feed`` under ``key`` atomically (temp directory + :func:`os.replace`)."""
    from venues.loaders import LOADER_VERSION

    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    _, pq = _arrow()
    try:
        pq.write_table(_table(feed.events), tmp / "events.parquet")
        pq.write_table(_table(feed.bbo), tmp / "bbo.parquet")
        m = feed.meta
        info = {
            "loader_version": LOADER_VERSION,
            "files": {n: _digest(tmp / n) for n in ("events.parquet", "bbo.parquet")},
            "meta": {
                "symbol": m.symbol, "venue": m.venue, "tick_size": m.tick_size,
                "lot_size": m.lot_size, "sz_decimals": m.sz_decimals,
                "source_sha256": list(m.source_sha256), "n_gaps": m.n_gaps,
            },
            "gaps": [
                {"ts_local_ns": g.ts_local_ns, "ts_exch_ns": g.ts_exch_ns,
                 "expected_id": g.expected_id, "got_id": g.got_id, "file": g.file,
                 "line": g.line}
                for g in feed.gaps
            ],
            "warnings": list(feed.warnings),
        }
        (tmp / "feed.json").write_text(json.dumps(info))
        final = root / key
        if final.exists():  # an unreadable/outdated entry (read() missed): replace it
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            pass  # another process won the race; its entry is equivalent
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _open_checked(path: Path, dtype: np.dtype, want: dict | None) -> np.ndarray:
    from venues.loaders import DataError
    from venues.loaders.npyfile import open_npy

    if want is None:
        raise DataError(f"{path}: no size/sha256 recorded in feed.json: unverified cache file")
    return open_npy(path, dtype, want)


def _read_npy(d: Path, info: dict, mmap: bool):
    """A streamed entry: events (and bbo) mapped from ``.npy`` files after checking them; a
    corrupt file is a miss with a warning (``None``)."""
    from venues.loaders import DataError

    files = info.get("files", {})
    try:
        events = _open_checked(d / "events.npy", EVENT_DTYPE, files.get("events.npy"))
        bbo = np.array(_open_checked(d / "bbo.npy", BBO_DTYPE, files.get("bbo.npy")))
    except DataError as exc:
        warnings.warn(f"feed cache entry {d} is corrupt ({exc}); rebuilding it", stacklevel=3)
        return None
    if not mmap:
        events = np.array(events)
    return _feed(info, events, bbo)


def write_streamed(cache_dir, key: str, cfg, paths: list[str]) -> bool:
    """Parse ``paths`` chunk by chunk straight into a new entry ``key`` (bounded memory).

    Parameters
    ----------
    cache_dir : str or path-like
    key : str
        :func:`cache_key` of ``cfg`` and ``paths``.
    cfg : venues.loaders.DataConfig
    paths : list of str
        Resolved source files.

    Returns
    -------
    bool
        ``True`` when the entry was written (or another process wrote it meanwhile); ``False``
        when the files do not stream (:class:`venues.loaders.stream.NotStreamable`): the caller
        parses in memory.

    Raises
    ------
    DataError
        As :func:`venues.loaders.parse_feed`; nothing is left in the cache.
    """
    from venues.loaders import LOADER_VERSION, _sz_decimals, stream
    from venues.loaders.npyfile import NpyWriter, remember_verified

    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    try:
        try:
            res = stream.stream_to_npy(cfg.format, paths, cfg.symbol, tmp / "events.npy",
                                       chunk_rows=stream.CHUNK_ROWS)
        except stream.NotStreamable:
            return False
        bw = NpyWriter(tmp / "bbo.npy", BBO_DTYPE)
        bbo_digest = bw.close()
        info = {
            "loader_version": LOADER_VERSION,
            "layout": "npy",
            "files": {"events.npy": res["digest"], "bbo.npy": bbo_digest},
            "meta": {
                "symbol": res["symbol"], "venue": res["venue"], "tick_size": res["tick_size"],
                "lot_size": res["lot_size"], "sz_decimals": _sz_decimals(cfg, res["symbol"]),
                "source_sha256": [file_sha256(p) for p in cfg_paths(cfg)], "n_gaps": 0,
            },
            "gaps": [],
            "warnings": res["warnings"],
        }
        (tmp / "feed.json").write_text(json.dumps(info))
        written = (tmp / "events.npy").stat().st_ino
        final = root / key
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            return True  # another process won the race; its entry is equivalent
        # the rows were hashed as they were written: reading them back in this process needs no
        # second pass over the file (checked again, like any entry, in every other process)
        remember_verified(final / "events.npy", written, res["digest"])
        return True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cfg_paths(cfg) -> list[str]:
    """The source files of ``cfg`` as given (``FeedMeta.source_sha256`` is in this order)."""
    return [str(Path(p).expanduser()) for p in cfg.paths]
