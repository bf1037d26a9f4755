"""hftbacktest ``.npz`` event files → events.

hftbacktest stores market data as a NumPy structured array (``np.savez``, usually under key
``data``) with fields ``ev`` (u8, event type + flags), ``exch_ts`` (i8 ns), ``local_ts``
(i8 ns), ``px`` (f8), ``qty`` (f8), ``order_id`` (u8), ``ival`` (i8), ``fval`` (f8). The low
byte of ``ev`` is the event type; high bits are flags.

Mapping (types as documented in hftbacktest's ``types`` API reference):

* ``DEPTH_EVENT`` (1) and ``DEPTH_SNAPSHOT_EVENT`` (4) → ``DEPTH`` (absolute level size, 0
  deletes);
* ``TRADE_EVENT`` (2) → ``TRADE``; hftbacktest carries no vendor trade id, so ``trade_id`` is
  ``order_id`` when non-zero, else the 0-based ordinal of the trade in the stream (documented
  synthetic id);
* ``DEPTH_CLEAR_EVENT`` (3) → ``CLEAR`` of the flagged side (both when no side flag).
  hftbacktest clears a side *up to* ``px``; we clear the whole side (the next snapshot rows
  re-fill it), which only differs for levels beyond the snapshot's range — a warning says so;
* ``DEPTH_BBO_EVENT`` (5), Level-3 order events (10-13) and user events are skipped with a
  warning counting them.

Flags: ``BUY_EVENT`` (1 << 29, bid side / taker buy), ``SELL_EVENT`` (1 << 28, ask side /
taker sell), ``EXCH_EVENT`` (1 << 31), ``LOCAL_EVENT`` (1 << 30). When any row carries
``LOCAL_EVENT``, only rows with it are kept: hftbacktest's ``correct_event_order`` writes each
event either once with both flags or twice (an ``EXCH_EVENT``-only copy at its place in exchange
order and a ``LOCAL_EVENT``-only copy at its place in local order), so the local rows hold every
event exactly once, in local order, each with its ``exch_ts`` kept in ``ts_exch_ns``.

Messages. The files carry no message boundaries: hftbacktest's converters write one row per
price level, all bid levels of a depth message before its ask levels, so a book that is fine
after the whole message can look crossed half-way through it (a bid level moved up before the
ask level it replaces is deleted). The loader therefore treats a *batch* — consecutive rows with
the same ``exch_ts`` and ``local_ts`` (the rows of one exchange message share both) — as one
message: the crossed-book check of :func:`venues.loaders.parse_feed` runs after each batch, not
after each row. In error messages rows are named ``message at row N``, where N is the 1-based
array index of the batch's first row (errors raised here, such as out-of-order timestamps,
name the exact ``row N``).

See Also
--------
venues.loaders.binance : the raw captures these files are usually converted from.

References
----------
hftbacktest documentation, "Data" and "types" (event dtype and flags), hftbacktest.readthedocs.io.
"""

from __future__ import annotations

import zipfile

import numpy as np

from engine.feed import CLEAR, DEPTH, EVENT_DTYPE, TRADE
from venues.loaders._common import DataError, Parsed, bbo_array

DEPTH_EVENT = 1
TRADE_EVENT = 2
DEPTH_CLEAR_EVENT = 3
DEPTH_SNAPSHOT_EVENT = 4
DEPTH_BBO_EVENT = 5
EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28

HBT_DTYPE = np.dtype(
    [
        ("ev", "u8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("px", "f8"),
        ("qty", "f8"),
        ("order_id", "u8"),
        ("ival", "i8"),
        ("fval", "f8"),
    ],
    align=True,
)
"""hftbacktest's event dtype (64 bytes, aligned)."""

_NEEDED = ("ev", "exch_ts", "local_ts", "px", "qty")


def _load_array(path: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            if isinstance(z, np.ndarray):
                return z
            keys = list(z.keys())
            if not keys:
                raise DataError(f"{path}: row 0: empty .npz archive")
            return z["data"] if "data" in keys else z[keys[0]]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: row 0: not a readable .npz file ({exc})") from None


def parse(paths: list[str], symbol: str | None) -> Parsed:
    """Parse hftbacktest ``.npz`` files (concatenated in order) into a :class:`Parsed`.

    Parameters
    ----------
    paths : list of str
    symbol : str or None
        Recorded as the feed's symbol (the files carry none); default ``""``.

    Returns
    -------
    Parsed

    Raises
    ------
    DataError
        Missing fields, non-monotone ``local_ts`` within a file, a depth/trade row without a
        side flag; names file and row. Later checks (crossed book after a message batch, bad
        price/size, duplicate trade id) name the file and the batch's first row.
    """
    evs, fidxs, lines, warnings = [], [], [], []
    counts = {"bbo": 0, "other": 0, "clear": 0, "trades": 0}
    for fidx, path in enumerate(paths):
        a = _load_array(path)
        check_fields(a.dtype, path)
        rows = np.arange(1, a.size + 1, dtype=np.int64)
        keep_local = bool(np.any(a["ev"].astype(np.uint64) & np.uint64(LOCAL_EVENT)))
        out, line, _ = convert(a, rows, path, keep_local, counts, None)
        evs.append(out)
        fidxs.append(np.full(out.size, fidx, dtype=np.int32))
        lines.append(line)
    warnings.extend(count_warnings(counts))
    events = np.concatenate(evs) if evs else np.empty(0, dtype=EVENT_DTYPE)
    return Parsed(
        events=events,
        fidx=np.concatenate(fidxs) if fidxs else np.empty(0, np.int32),
        line=np.concatenate(lines) if lines else np.empty(0, np.int64),
        zero_ok=events["kind"] == DEPTH,
        bbo=bbo_array([]),
        paths=list(paths),
        symbol=symbol or "",
        venue="hftbacktest",
        unit="message at row",
        warnings=warnings,
        check_dup_trades=True,
    )


def check_fields(dtype: np.dtype, path: str) -> None:
    """Raise :class:`DataError` unless ``dtype`` has hftbacktest's needed fields."""
    if dtype.names is None or any(f not in dtype.names for f in _NEEDED):
        raise DataError(
            f"{path}: row 0: not hftbacktest's event dtype (fields {dtype.names}, need "
            f"{_NEEDED})"
        )


def convert(a: np.ndarray, rows: np.ndarray, path: str, keep_local: bool, counts: dict,
            prev: tuple[int, int, int] | None) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int] | None]:
    """Convert consecutive hftbacktest rows of one file (all of it, or one chunk) to events.

    Parameters
    ----------
    a : ndarray of hftbacktest's dtype, shape (n,)
        The rows, in file order.
    rows : ndarray of int64, shape (n,)
        Their 1-based row numbers in the file.
    path : str
        The file (for error messages).
    keep_local : bool
        Keep only rows flagged ``LOCAL_EVENT`` (the file has such rows; module docstring).
    counts : dict
        Running totals (mutated): ``bbo``, ``other``, ``clear`` rows skipped/mapped and
        ``trades`` (the ordinal of the next synthetic trade id).
    prev : tuple of int or None
        ``(local_ts, exch_ts, batch row)`` of the last kept row of the previous chunk of the
        same file; ``None`` at the start of a file.

    Returns
    -------
    events : ndarray of EVENT_DTYPE
        The kept rows.
    line : ndarray of int64
        The 1-based row of each event's message batch (its first row).
    last : tuple of int or None
        ``prev`` for the next chunk of the file.

    Raises
    ------
    DataError
        Non-monotone ``local_ts`` (also across the chunk boundary), a depth/trade row without a
        side flag; names file and row.
    """
    ev = a["ev"].astype(np.uint64)
    if keep_local:
        keep = (ev & np.uint64(LOCAL_EVENT)) != 0
        a, ev, rows = a[keep], ev[keep], rows[keep]
    lt = a["local_ts"].astype(np.int64)
    back = np.flatnonzero(lt[1:] < lt[:-1])
    if prev is not None and lt.size and lt[0] < prev[0]:
        raise DataError(backwards(path, int(rows[0]), int(lt[0]), int(prev[0])))
    if back.size:
        raise DataError(backwards(path, int(rows[back[0] + 1]), int(lt[back[0] + 1]), int(lt[back[0]])))
    typ = (ev & np.uint64(0xFF)).astype(np.int64)
    buy = (ev & np.uint64(BUY_EVENT)) != 0
    sell = (ev & np.uint64(SELL_EVENT)) != 0
    side = np.where(buy, 1, np.where(sell, -1, 0)).astype(np.int8)
    out = np.empty(a.size, dtype=EVENT_DTYPE)
    out["ts_local_ns"] = lt
    out["ts_exch_ns"] = a["exch_ts"]
    out["px"] = a["px"]
    out["qty"] = a["qty"]
    out["trade_id"] = -1
    out["side"] = side
    kind = np.zeros(a.size, dtype=np.int8)
    kind[(typ == DEPTH_EVENT) | (typ == DEPTH_SNAPSHOT_EVENT)] = DEPTH
    kind[typ == TRADE_EVENT] = TRADE
    kind[typ == DEPTH_CLEAR_EVENT] = CLEAR
    out["kind"] = kind
    # message batches: consecutive rows sharing exch_ts and local_ts; each row takes the
    # 1-based row number of its batch's first row (see the module docstring)
    et = a["exch_ts"].astype(np.int64)
    start = np.ones(a.size, dtype=bool)
    start[1:] = (lt[1:] != lt[:-1]) | (et[1:] != et[:-1])
    if prev is not None and a.size:
        start[0] = (lt[0] != prev[0]) | (et[0] != prev[1])
    if a.size:
        firsts = rows[np.flatnonzero(start)]
        if not start[0]:  # the batch began in the previous chunk
            firsts = np.concatenate([[prev[2]], firsts])
            batch_row = firsts[np.cumsum(start)]
        else:
            batch_row = firsts[np.cumsum(start) - 1]
    else:
        batch_row = rows
    last = (int(lt[-1]), int(et[-1]), int(batch_row[-1])) if a.size else prev
    tr = np.flatnonzero(kind == TRADE)
    if "order_id" in a.dtype.names:
        oid = a["order_id"][tr].astype(np.int64)
    else:
        oid = np.zeros(tr.size, dtype=np.int64)
    ordinal = counts["trades"]
    out["trade_id"][tr] = np.where(oid != 0, oid, np.arange(ordinal, ordinal + tr.size))
    counts["trades"] = ordinal + tr.size
    cl = kind == CLEAR
    out["px"][cl] = 0.0
    out["qty"][cl] = 0.0
    counts["clear"] += int(cl.sum())
    counts["bbo"] += int((typ == DEPTH_BBO_EVENT).sum())
    counts["other"] += int(((kind == 0) & (typ != DEPTH_BBO_EVENT)).sum())
    ok = kind != 0
    bad_side = ok & (kind != CLEAR) & (side == 0)
    if bad_side.any():
        raise DataError(no_side(path, int(rows[np.argmax(bad_side)])))
    if ok.all():
        return out, batch_row, last
    return out[ok], batch_row[ok], last


def backwards(path: str, row: int, ts: int, prev: int) -> str:
    """The message of :func:`convert` for a ``local_ts`` earlier than the previous row's."""
    return (f"{path}: row {row}: local_ts {ts} ns is earlier than the previous row's {prev} ns "
            "(out-of-order timestamps)")


def no_side(path: str, row: int) -> str:
    """The message of :func:`convert` for a depth/trade row without a side flag."""
    return f"{path}: row {row}: depth/trade event without BUY/SELL flag (key ev)"


def count_warnings(counts: dict) -> list[str]:
    """The parser's warnings from the running totals of :func:`convert`."""
    warnings = []
    n_bbo, n_other, n_clear = counts["bbo"], counts["other"], counts["clear"]
    if n_bbo:
        warnings.append(f"{n_bbo} DEPTH_BBO_EVENT row(s) skipped (not a full-depth update)")
    if n_other:
        warnings.append(f"{n_other} row(s) of other event types (L3/user) skipped")
    if n_clear:
        warnings.append(
            f"{n_clear} DEPTH_CLEAR_EVENT row(s) mapped to whole-side CLEAR (hftbacktest clears "
            "up to px)"
        )
    return warnings
