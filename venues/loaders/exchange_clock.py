"""The exchange-clock copy of a memory-mapped feed, built in chunks and kept beside it on disk.

:func:`venues.orderbook.venue.exchange_clock` re-sorts a feed by exchange time for the matching
book (two timelines). In memory that is a full copy plus an argsort (~64 bytes per row); for a
feed mapped from the cache (:func:`venues.loaders.load_feed` with ``mmap=True``) this module
writes the same rows, in the same order, to ``<feed>.exch-<tag>.npy`` next to the feed file and
maps it, so neither copy sits in memory: :func:`exchange_clock_file` reads the feed a chunk at a
time (releasing the pages behind it) and merges by exchange time with a bounded buffer.

Exactness. A row's exchange time ``x`` is computed as in ``exchange_clock`` (recorded
``ts_exch_ns`` less the clock offset, or ``ts_local - feed latency``, then the snapshot barriers
of :func:`venues.orderbook._match_nb.snapshot_barriers_nb`, whose state is carried from chunk to
chunk here). A first pass finds the clock offset; a second the largest lag ``L = max(ts_local -
x)`` (``x <= ts_local`` always); the third sorts: once the rows received up to local time ``T``
are read, every later row has ``x >= max(T - L, barrier)``, so the buffered rows below that bound
are final and are written in stable order. Rows with equal ``x`` keep their local order, as the
stable argsort of the in-memory path does (a test compares the two).

The file is written once per feed and latency setting (``tag``: ``rec`` for recorded exchange
times, else the feed latency in ms), atomically, with its row count, size and row sha256 in
``<file>.json`` (checked on reuse, once per process).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from engine.feed import EVENT_DTYPE, PageReleaser, mapped_path
from engine.time import ms_to_ns
from venues.loaders._common import DataError
from venues.loaders.npyfile import NpyWriter, open_npy
from venues.orderbook._match_nb import barriers_nb, new_barrier_state

__all__ = ["CHUNK_ROWS", "exchange_clock_file"]

CHUNK_ROWS = 1 << 20
"""Rows per chunk (48 MiB of events; a pass holds a few times that)."""

def _raw_x(c: np.ndarray, latency_ns: int | None, offset: int) -> np.ndarray:
    ts_l = c["ts_local_ns"]
    if latency_ns is not None:
        return ts_l - latency_ns
    ts_e = c["ts_exch_ns"]
    return np.where(ts_e > 0, ts_e - offset, ts_l)


def _chunks(ev: np.ndarray, rel: PageReleaser):
    for lo in range(0, ev.size, CHUNK_ROWS):
        hi = min(ev.size, lo + CHUNK_ROWS)
        yield ev[lo:hi]
        rel.release_to(hi)


def exchange_clock_file(ev: np.ndarray, feed_latency_ms: float | None) -> tuple[np.ndarray | None, int] | None:
    """The exchange-clock rows of a file-backed feed, mapped from a file written beside it.

    Parameters
    ----------
    ev : ndarray of EVENT_DTYPE
        A feed mapped from an ``.npy`` file (:func:`engine.feed.mapped_path`), sorted by
        ``ts_local_ns``.
    feed_latency_ms : float or None
        ``VenueConfig.feed_latency_ms``.

    Returns
    -------
    tuple or None
        ``(events, clock_offset_ns)`` as :func:`venues.orderbook.venue.exchange_clock` returns
        them (``events`` ``None`` when both clocks agree on every row), the events a read-only
        map; ``None`` when ``ev`` is not file-backed or the file cannot be written beside it
        (the caller then builds the copy in memory).

    Raises
    ------
    DataError
        A file written earlier no longer matches its recorded digest and cannot be rebuilt.
    """
    src = mapped_path(ev)
    if src is None or ev.size == 0:
        return None
    tag = "rec" if feed_latency_ms is None else f"lat{float(feed_latency_ms)!r}ms"
    out = Path(src).with_name(f"{Path(src).stem}.exch-{tag}-{ev.size}.npy")  # a slice of the feed has its own
    side = out.with_name(out.name + ".json")
    try:
        info = json.loads(side.read_text())
        src_stat = os.stat(src)
        if info.get("source") == [src_stat.st_size, src_stat.st_mtime_ns] and info.get("rows") == _rows_key(ev):
            if info["digest"] is None:
                return None, int(info["offset"])
            return open_npy(out, EVENT_DTYPE, info["digest"]), int(info["offset"])
    except (OSError, ValueError, KeyError, TypeError, DataError):
        pass
    try:
        return _build(ev, src, out, side, feed_latency_ms)
    except OSError:
        return None


def _rows_key(ev: np.ndarray) -> list[int]:
    """Which rows of the mapped file ``ev`` is: a slice of a feed (e.g. the pilot's prefix,
    :mod:`experiments.pilot`) maps the same file but must not share its exchange-clock file."""
    return [int(ev.size), int(ev["ts_local_ns"][0]), int(ev["ts_local_ns"][-1])]


def _build(ev, src, out: Path, side: Path, feed_latency_ms):
    latency_ns = None if feed_latency_ms is None else ms_to_ns(feed_latency_ms)
    rel = PageReleaser(ev)
    offset = 0
    if latency_ns is None:  # pass 1: the clock offset (largest negative recorded latency)
        lo = None
        for c in _chunks(ev, rel):
            ts_e = c["ts_exch_ns"]
            has = ts_e > 0
            if has.any():
                m = int((c["ts_local_ns"][has] - ts_e[has]).min())
                lo = m if lo is None else min(lo, m)
        offset = max(0, -lo) if lo is not None else 0
    # pass 2: the largest lag ts_local - x after the barriers, and whether any row moves
    rel = PageReleaser(ev)
    state = new_barrier_state()
    lag = 0
    differs = False
    for c in _chunks(ev, rel):
        x = _raw_x(c, latency_ns, offset)
        barriers_nb(c["ts_local_ns"], x, c["kind"], state)
        d = c["ts_local_ns"] - x
        lag = max(lag, int(d.max()))
        differs = differs or bool(d.any())
    src_stat = os.stat(src)
    info = {"source": [src_stat.st_size, src_stat.st_mtime_ns], "rows": _rows_key(ev), "offset": offset,
            "digest": None}
    if not differs:
        _write_json(side, info)
        return None, offset
    # pass 3: merge by exchange time through a bounded buffer
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    w = NpyWriter(tmp, EVENT_DTYPE)
    try:
        rel = PageReleaser(ev)
        state = new_barrier_state()
        pend = np.empty(0, dtype=EVENT_DTYPE)
        for c in _chunks(ev, rel):
            x = _raw_x(c, latency_ns, offset)
            barriers_nb(c["ts_local_ns"], x, c["kind"], state)
            rows = c.copy()
            rows["ts_local_ns"] = x
            buf = np.concatenate([pend, rows])
            buf = buf[np.argsort(buf["ts_local_ns"], kind="stable")]
            bound = max(int(c["ts_local_ns"][-1]) - lag, int(state[0]))
            k = int(np.searchsorted(buf["ts_local_ns"], bound, side="left"))
            w.append(buf[:k])
            pend = buf[k:]
        w.append(pend)
        info["digest"] = w.close()
    except BaseException:
        w.abort()
        raise
    os.replace(tmp, out)
    _write_json(side, info)
    return open_npy(out, EVENT_DTYPE, info["digest"]), offset


def _write_json(path: Path, info: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, path)
