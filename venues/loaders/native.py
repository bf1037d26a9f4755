"""mmsim's own event files (``mmsim data convert`` output) → events, and the writer.

Two containers, both holding :data:`engine.feed.EVENT_DTYPE` rows sorted by ``ts_local_ns``
and the feed's facts as JSON (``symbol``, ``venue``, ``source_sha256``, ``warnings``, the
loader version):

``.npz``
    ``np.savez_compressed`` with arrays ``events`` (EVENT_DTYPE), ``bbo`` (BBO_DTYPE) and
    ``meta`` (0-d unicode array holding the JSON). Read with ``allow_pickle=False``.
``.parquet``
    One column per EVENT_DTYPE field (the same layout as the loaders' cache entries'
    ``events.parquet``), the JSON under the schema metadata key ``mmsim``. The recorded BBO is
    not kept (use ``.npz`` for it).

Format name in ``[data]``: ``mmsim_events``. Re-reading a converted file gives the events of
the original load bit for bit (tested).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from engine.feed import BBO_DTYPE, EVENT_DTYPE
from venues.loaders._common import DataError, Parsed, bbo_array

__all__ = ["parse", "write"]


def _meta_json(feed) -> str:
    from venues.loaders import LOADER_VERSION

    m = feed.meta
    return json.dumps({
        "loader_version": LOADER_VERSION, "symbol": m.symbol, "venue": m.venue,
        "source_sha256": list(m.source_sha256), "warnings": list(feed.warnings),
    })


def write(feed, out: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``feed`` to ``out`` (``.npz`` or ``.parquet``), atomically.

    Parameters
    ----------
    feed : Feed
    out : path-like
        Destination; its suffix picks the container.
    force : bool, default False
        Replace an existing file.

    Returns
    -------
    Path

    Raises
    ------
    FileExistsError
        ``out`` exists and ``force`` is false.
    ValueError
        Unknown suffix.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".npz", ".parquet"):
        raise ValueError(f"{out}: output must end in .npz or .parquet")
    if out.exists() and not force:
        raise FileExistsError(f"{out}: exists (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if suffix == ".npz":
                np.savez_compressed(f, events=np.ascontiguousarray(feed.events),
                                    bbo=np.ascontiguousarray(feed.bbo), meta=np.array(_meta_json(feed)))
            else:
                ev = feed.events
                table = pa.table({name: pa.array(ev[name]) for name in EVENT_DTYPE.names})
                table = table.replace_schema_metadata({"mmsim": _meta_json(feed)})
                pq.write_table(table, f)
        os.replace(tmp, out)  # readers see no file or a complete one
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _read(path: str) -> tuple[np.ndarray, np.ndarray, dict]:
    with open(path, "rb") as f:
        magic = f.read(4)
    try:
        if magic[:2] == b"PK":
            with np.load(path, allow_pickle=False) as z:
                if "events" not in z.files:
                    raise DataError(f"{path}: row 0: not an mmsim event file (no 'events' array; has {z.files})")
                ev, bbo = z["events"], z["bbo"] if "bbo" in z.files else bbo_array([])
                meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
        elif magic == b"PAR1":
            t = pq.read_table(path)
            missing = [n for n in EVENT_DTYPE.names if n not in t.column_names]
            if missing:
                raise DataError(f"{path}: row 0: not an mmsim event file (missing columns {missing})")
            ev = np.empty(t.num_rows, dtype=EVENT_DTYPE)
            for n in EVENT_DTYPE.names:
                ev[n] = t.column(n).to_numpy()
            md = t.schema.metadata or {}
            meta = json.loads(md.get(b"mmsim", b"{}"))
            bbo = bbo_array([])
        else:
            raise DataError(f"{path}: row 0: not an mmsim event file (.npz or .parquet)")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, pa.ArrowException) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: row 0: unreadable mmsim event file ({type(exc).__name__}: {exc})") from None
    if ev.dtype != EVENT_DTYPE:
        raise DataError(f"{path}: row 0: events dtype {ev.dtype} is not EVENT_DTYPE")
    if bbo.dtype != BBO_DTYPE:
        raise DataError(f"{path}: row 0: bbo dtype {bbo.dtype} is not BBO_DTYPE")
    return ev, bbo, meta


def parse(paths: list[str], symbol: str | None) -> Parsed:
    """Read mmsim event files (see the module docstring) into a :class:`Parsed`.

    Rows are numbered from 1 in errors (the first row of the message: rows sharing a
    ``ts_local_ns``). The original load's warnings stay in the file's
    metadata (``mmsim data inspect`` shows them); this load's data checks run afresh.

    Raises
    ------
    DataError
        Not an mmsim event file, wrong dtype, events of another symbol than ``symbol``.
    """
    evs, fidx, rows, bbos = [], [], [], []
    sym = venue = None
    for i, path in enumerate(paths):
        ev, bbo, meta = _read(path)
        s = meta.get("symbol", "")
        if symbol is not None and s and s.upper() != symbol.upper():
            raise DataError(f"{path}: row 0: holds symbol {s!r}, not {symbol!r}")
        sym, venue = sym or s, venue or meta.get("venue", "")
        evs.append(ev)
        fidx.append(np.full(ev.size, i, np.int32))
        # rows of one timestamp form one message (the book is checked after each, as at load)
        r = np.arange(1, ev.size + 1, dtype=np.int64)
        brk = np.ones(ev.size, dtype=bool)
        brk[1:] = ev["ts_local_ns"][1:] != ev["ts_local_ns"][:-1]
        rows.append(r[np.maximum.accumulate(np.where(brk, np.arange(ev.size), 0))] if ev.size else r)
        bbos.append(bbo)
    ev = np.concatenate(evs)
    return Parsed(events=ev, fidx=np.concatenate(fidx), line=np.concatenate(rows),
                  zero_ok=np.ones(ev.size, dtype=bool), bbo=np.concatenate(bbos), paths=list(paths),
                  symbol=symbol or sym or "", venue=venue or "", unit="row",
                  warnings=[],
                  cross_is_warning=True, check_dup_trades=False)
