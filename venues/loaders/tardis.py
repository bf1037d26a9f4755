"""tardis.dev normalised CSV datasets → market-data events (and funding/mark series).

Every tardis.dev CSV starts with ``exchange,symbol,timestamp,local_timestamp``: the
exchange's id (``binance-futures``, ``deribit``...), the instrument, the exchange time and the
local receive time, both in **microseconds** since the epoch (converted to ns here; the local
time is the sim clock, the exchange time goes to ``ts_exch_ns``). The data type of a file is
detected from the rest of its header, never from its name:

``incremental_book_L2``
    ``is_snapshot,side,price,amount``: ``side`` ``bid``/``ask``; ``amount`` is the *new
    absolute* size of the level (0 = delete). Rows with ``is_snapshot=true`` that follow a
    non-snapshot row (or start the file) begin a new snapshot: tardis.dev documents that the
    existing book must then be discarded, so a ``CLEAR(0)`` is emitted before them. Rows of
    one message share ``local_timestamp``; the crossed-book check runs after each message
    (errors name the message's first line). Diffs that arrive before the stream's first
    snapshot cannot be applied to a known book: they are dropped with a warning; a stream
    with no snapshot at all is a :class:`DataError`.
``trades``
    ``id,side,price,amount``: ``side`` is the taker side (``buy``/``sell``; ``unknown`` rows
    are dropped with a warning counting them). Integer ids are kept; other ids (BitMEX UUIDs)
    become a stable 63-bit BLAKE2b hash of the id text, so duplicate ids are still caught.
``book_snapshot_N`` (N = 5, 10, 25...)
    ``asks[i].price,asks[i].amount,bids[i].price,bids[i].amount`` for ``i < N``: each row is a
    full top-N snapshot → ``CLEAR(0)`` + ``DEPTH`` rows (empty cells = missing levels).
``quotes``
    ``ask_amount,ask_price,bid_price,bid_amount``: the top of book → ``BBO_DTYPE`` rows. When
    no file of the feed carries depth (``incremental_book_L2`` / ``book_snapshot_N``), each
    quote also becomes a one-level snapshot so that the feed can be replayed (with a warning:
    the venue then sees one level per side).
``derivative_ticker``
    ``funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,
    index_price,mark_price`` (any may be empty): not market events; read it with
    :func:`load_derivative_ticker` (funding rate, mark price, next funding time). In a feed it
    is accepted and skipped with a warning.

Several files of one feed are merged by local time (stable: file order among equal
timestamps). Within a file, ``local_timestamp`` must not go backwards (:class:`DataError`
naming the line). One symbol per feed (``DataConfig.symbol`` picks one of several).

Venue names: ``binance-futures`` → ``binance_usdm``, ``binance-delivery`` →
``binance_coinm``, ``binance`` → ``binance_spot``, ``hyperliquid`` → ``hyperliquid``; any
other exchange id is kept as it is (``deribit``, ``bitmex``...).

References
----------
tardis.dev documentation, "Downloadable CSV files" → data types ``incremental_book_L2``,
``trades``, ``book_snapshot_25``/``book_snapshot_5``, ``quotes``, ``derivative_ticker``
(docs.tardis.dev/downloadable-csv-files).

See Also
--------
venues.loaders.binance : Binance raw captures.
"""

from __future__ import annotations

import csv
import hashlib
import re

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from engine.feed import CLEAR, DEPTH, EVENT_DTYPE, TRADE
from venues.loaders._common import DataError, Parsed, bbo_array, open_binary, open_text

__all__ = [
    "KINDS",
    "DerivativeTicker",
    "detect_kind",
    "first_local_ts_ns",
    "funding_arrays",
    "load_derivative_ticker",
    "parse",
]

KINDS = ("incremental_book_L2", "trades", "book_snapshot", "quotes", "derivative_ticker")
"""Data types recognised from the header (``book_snapshot`` covers every depth N)."""

_BASE = ["exchange", "symbol", "timestamp", "local_timestamp"]
_TAILS = {
    "incremental_book_L2": ["is_snapshot", "side", "price", "amount"],
    "trades": ["id", "side", "price", "amount"],
    "quotes": ["ask_amount", "ask_price", "bid_price", "bid_amount"],
}
_DERIV = {"funding_timestamp", "funding_rate", "mark_price"}
_SNAP_RE = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")
_VENUES = {
    "binance-futures": "binance_usdm",
    "binance-delivery": "binance_coinm",
    "binance": "binance_spot",
    "hyperliquid": "hyperliquid",
}


def _header(path: str) -> list[str]:
    with open_text(path) as fh:
        row = next(csv.reader(fh), None)
    if not row:
        raise DataError(f"{path}: line 1: empty file (no tardis.dev CSV header)")
    return [h.strip() for h in row]


def detect_kind(header: list[str]) -> str | None:
    """tardis.dev data type of a CSV header (one of :data:`KINDS`), or ``None``."""
    if header[:4] != _BASE:
        return None
    tail = header[4:]
    for kind, cols in _TAILS.items():
        if tail == cols:
            return kind
    if _DERIV <= set(tail):
        return "derivative_ticker"
    if tail and all(_SNAP_RE.match(c) for c in tail):
        return "book_snapshot"
    return None


def _kind_of(path: str) -> str:
    header = _header(path)
    kind = detect_kind(header)
    if kind is None:
        raise DataError(
            f"{path}: line 1: not a tardis.dev CSV header ({','.join(header[:8])}); expected "
            "exchange,symbol,timestamp,local_timestamp followed by the columns of "
            "incremental_book_L2, trades, book_snapshot_N, quotes or derivative_ticker"
        )
    return kind


def _types(path: str, kind: str) -> dict[str, pa.DataType]:
    t: dict[str, pa.DataType] = {"exchange": pa.string(), "symbol": pa.string(),
                                 "timestamp": pa.int64(), "local_timestamp": pa.int64()}
    if kind == "incremental_book_L2":
        t.update(is_snapshot=pa.string(), side=pa.string(), price=pa.float64(), amount=pa.float64())
    elif kind == "trades":
        t.update(id=pa.string(), side=pa.string(), price=pa.float64(), amount=pa.float64())
    elif kind == "quotes":
        t.update({c: pa.float64() for c in _TAILS["quotes"]})
    else:
        for c in _header(path)[4:]:
            t[c] = pa.int64() if c == "funding_timestamp" else pa.float64()
    return t


def _locate_bad_cell(path: str, types: dict[str, pa.DataType]) -> str:
    """Find the first cell that does not convert (pyarrow's error lacks the line)."""
    with open_text(path) as fh:
        rd = csv.reader(fh)
        header = next(rd)
        for line, row in enumerate(rd, 2):
            if len(row) != len(header):
                return f"line {line}: {len(row)} fields, header has {len(header)}"
            for name, cell in zip(header, row, strict=True):
                typ = types.get(name.strip())
                if cell == "" or typ is None or pa.types.is_string(typ):
                    continue
                try:
                    int(cell) if pa.types.is_integer(typ) else float(cell)
                except ValueError:
                    return f"line {line}: column {name!r}: {cell!r} is not a number"
    return "a row could not be read"


def _read(path: str, kind: str) -> pa.Table:
    types = _types(path, kind)
    try:
        with open_binary(path) as fh:
            return pacsv.read_csv(
                fh,
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
            )
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        where = _locate_bad_cell(path, types)
        raise DataError(f"{path}: {where} (tardis.dev {kind} CSV; {str(exc).splitlines()[0]})") from None


def _np(tab: pa.Table, name: str) -> np.ndarray:
    col = tab.column(name)
    if pa.types.is_floating(col.type):
        return col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return col.to_numpy(zero_copy_only=False)


def _eq(tab: pa.Table, name: str, value: str) -> np.ndarray:
    """Boolean mask ``column == value`` (case-insensitive, surrounding spaces ignored)."""
    import pyarrow.compute as pc

    col = pc.utf8_lower(pc.utf8_trim_whitespace(tab.column(name)))
    return pc.equal(col, value).to_numpy(zero_copy_only=False).astype(bool)


def _ts_ns(tab: pa.Table, name: str, path: str, lines: np.ndarray, required: bool = True) -> np.ndarray:
    col = tab.column(name)
    if col.null_count:
        if required:
            i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(f"{path}: line {int(lines[i])}: empty {name} (microseconds since the epoch)")
        col = col.fill_null(-1)
    us = col.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(us >= 0, us * 1000, -1)


def first_local_ts_ns(path: str) -> int | None:
    """``local_timestamp`` (ns) of the first data row of a tardis.dev CSV, ``None`` if empty."""
    with open_text(path) as fh:
        rd = csv.reader(fh)
        header = [h.strip() for h in next(rd, [])]
        if "local_timestamp" not in header:
            return None
        i = header.index("local_timestamp")
        for row in rd:
            if row and row[i]:
                try:
                    return int(row[i]) * 1000
                except ValueError:
                    return None
    return None


def _symbol_rows(tab: pa.Table, path: str, want: str | None, seen: dict[str, str]) -> np.ndarray:
    """Row mask of the wanted symbol; records symbols/exchanges seen (``seen``)."""
    import pyarrow.compute as pc

    for e in pc.unique(tab.column("exchange")).to_pylist():
        seen.setdefault("exchange:" + e, path)
    if want is not None:
        return _eq(tab, "symbol", want.lower())
    for s in pc.unique(tab.column("symbol")).to_pylist():
        if s not in seen:
            seen[s] = path
    syms = [k for k in seen if not k.startswith("exchange:")]
    if len(syms) > 1:
        other = next(s for s in syms[1:])
        rows = np.flatnonzero(pc.equal(tab.column("symbol"), other).to_numpy(zero_copy_only=False))
        line = int(rows[0]) + 2 if rows.size else 1
        raise DataError(
            f"{seen[other]}: line {line}: more than one symbol in the feed ({sorted(syms)}); set "
            "DataConfig.symbol"
        )
    return np.ones(tab.num_rows, dtype=bool)


def _check_order(path: str, ts: np.ndarray, lines: np.ndarray) -> None:
    if ts.size > 1:
        bad = np.flatnonzero(ts[1:] < ts[:-1])
        if bad.size:
            i = int(bad[0]) + 1
            raise DataError(
                f"{path}: line {int(lines[i])}: local_timestamp {int(ts[i]) // 1000} µs is earlier than "
                f"the previous row's {int(ts[i - 1]) // 1000} µs (out-of-order timestamps within a file)"
            )


@attrs.define
class _Out:
    ev: list[np.ndarray] = attrs.Factory(list)
    fidx: list[np.ndarray] = attrs.Factory(list)
    line: list[np.ndarray] = attrs.Factory(list)
    zero_ok: list[np.ndarray] = attrs.Factory(list)

    def add(self, ts_l, ts_e, px, qty, tid, kind, side, fidx, line, zero_ok) -> None:
        n = len(ts_l)
        ev = np.empty(n, dtype=EVENT_DTYPE)
        ev["ts_local_ns"], ev["ts_exch_ns"] = ts_l, ts_e
        ev["px"], ev["qty"], ev["trade_id"] = px, qty, tid
        ev["kind"], ev["side"] = kind, side
        self.ev.append(ev)
        self.fidx.append(np.full(n, fidx, dtype=np.int32))
        self.line.append(np.asarray(line, dtype=np.int64))
        self.zero_ok.append(np.broadcast_to(np.asarray(zero_ok, dtype=bool), (n,)).copy())


def _snapshot_rows(ts_l, ts_e, lines, bid_px, bid_q, ask_px, ask_q):
    """Per-row full snapshots → flattened CLEAR + DEPTH rows (NaN levels skipped).

    ``bid_px`` etc. have shape (n, L). Returns column arrays in message order.
    """
    n, nl = bid_px.shape
    width = 1 + 2 * nl
    px = np.zeros((n, width))
    qty = np.zeros((n, width))
    kind = np.full((n, width), DEPTH, dtype=np.int8)
    side = np.zeros((n, width), dtype=np.int8)
    kind[:, 0] = CLEAR
    px[:, 1 : 1 + nl], qty[:, 1 : 1 + nl], side[:, 1 : 1 + nl] = bid_px, bid_q, 1
    px[:, 1 + nl :], qty[:, 1 + nl :], side[:, 1 + nl :] = ask_px, ask_q, -1
    keep = np.ones((n, width), dtype=bool)
    keep[:, 1:] = np.isfinite(px[:, 1:]) | np.isfinite(qty[:, 1:])
    rep = lambda a: np.repeat(a, width).reshape(n, width)[keep]  # noqa: E731
    return rep(ts_l), rep(ts_e), px[keep], qty[keep], kind[keep], side[keep], rep(lines)


def _tid(ids: list[str]) -> np.ndarray:
    out = np.empty(len(ids), dtype=np.int64)
    for i, s in enumerate(ids):
        if s.isdigit() and len(s) < 19:
            out[i] = int(s)
        else:
            h = hashlib.blake2b(s.encode(), digest_size=8).digest()
            out[i] = int.from_bytes(h, "little") & ((1 << 63) - 1)
    return out


def parse(paths: list[str], symbol: str | None) -> Parsed:
    """Parse tardis.dev CSV files (any mix of the supported data types) into a :class:`Parsed`.

    Parameters
    ----------
    paths : list of str
        CSV files (plain, gzip or LZ4), each of one data type (detected by header).
    symbol : str or None
        Instrument to keep (case-insensitive); ``None``: the files must hold exactly one.

    Returns
    -------
    Parsed
        Events in file order (the caller sorts by local time), the BBO of ``quotes`` files.

    Raises
    ------
    DataError
        Unknown header, unconvertible cell, empty timestamp, ``side`` not bid/ask (book),
        local timestamps going backwards in a file, several symbols or exchanges, an
        ``incremental_book_L2`` stream with no snapshot; the message names the file and line.
    """
    want = symbol.upper() if symbol else None
    kinds = [_kind_of(p) for p in paths]
    has_depth = any(k in ("incremental_book_L2", "book_snapshot") for k in kinds)
    out = _Out()
    bbo_rows: list[np.ndarray] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    n_unknown = 0
    n_quote_books = 0
    any_snapshot = False
    n_pre_snapshot = 0
    first_pre: str | None = None
    # incremental files are applied in time order: whether a file's leading diffs follow a
    # snapshot depends on the files before it in time
    order = sorted(range(len(paths)), key=lambda i: (first_local_ts_ns(paths[i]) or 0, i))
    for fidx in order:
        path, kind = paths[fidx], kinds[fidx]
        if kind == "derivative_ticker":
            warnings.append(f"{path}: derivative_ticker (funding/mark) holds no book or trade events; "
                            "skipped here (read it with venues.loaders.tardis.load_derivative_ticker)")
            continue
        tab = _read(path, kind)
        lines_all = np.arange(2, tab.num_rows + 2, dtype=np.int64)
        keep = _symbol_rows(tab, path, want, seen)
        tab = tab.filter(pa.array(keep))
        lines = lines_all[keep]
        if tab.num_rows == 0:
            continue
        ts_l = _ts_ns(tab, "local_timestamp", path, lines)
        ts_e = _ts_ns(tab, "timestamp", path, lines, required=False)
        _check_order(path, ts_l, lines)
        if kind == "incremental_book_L2":
            snap = _eq(tab, "is_snapshot", "true")
            side = _eq(tab, "side", "bid").astype(np.int8) - _eq(tab, "side", "ask").astype(np.int8)
            if (side == 0).any():
                i = int(np.argmax(side == 0))
                bad = tab.column("side")[i].as_py()
                raise DataError(f"{path}: line {int(lines[i])}: side {bad!r} is not 'bid' or 'ask'")
            px, amt = _np(tab, "price"), _np(tab, "amount")
            n = ts_l.size
            prev_snap = np.concatenate([[False], snap[:-1]])
            start = snap & ~prev_snap
            if not any_snapshot:
                first = int(np.argmax(start)) if start.any() else n
                if first:
                    n_pre_snapshot += first
                    first_pre = first_pre or f"{path}: line {int(lines[0])}"
                    ts_l, ts_e, snap, side, px, amt, lines, start = (
                        a[first:] for a in (ts_l, ts_e, snap, side, px, amt, lines, start))
                    n = ts_l.size
                if n:
                    any_snapshot = True
            if n == 0:
                continue
            # one message = a run of rows with the same local time and snapshot flag
            brk = np.ones(n, dtype=bool)
            brk[1:] = (ts_l[1:] != ts_l[:-1]) | (snap[1:] != snap[:-1])
            msg_line = lines[np.maximum.accumulate(np.where(brk, np.arange(n), 0))]
            ns = int(start.sum())
            pos = np.flatnonzero(start) + np.arange(ns)  # CLEAR rows' slots in the output
            total = n + ns
            is_clear = np.zeros(total, dtype=bool)
            is_clear[pos] = True
            o_ts_l = np.empty(total, np.int64)
            o_ts_e = np.empty(total, np.int64)
            o_line = np.empty(total, np.int64)
            o_px = np.zeros(total)
            o_q = np.zeros(total)
            o_kind = np.full(total, DEPTH, np.int8)
            o_side = np.zeros(total, np.int8)
            o_zero = np.ones(total, dtype=bool)
            rows = ~is_clear
            o_ts_l[rows], o_ts_e[rows], o_line[rows] = ts_l, ts_e, msg_line
            o_px[rows], o_q[rows], o_side[rows] = px, amt, side
            o_zero[rows] = ~snap
            src = np.flatnonzero(start)
            o_ts_l[pos], o_ts_e[pos], o_line[pos] = ts_l[src], ts_e[src], msg_line[src]
            o_kind[pos] = CLEAR
            out.add(o_ts_l, o_ts_e, o_px, o_q, -1, o_kind, o_side, fidx, o_line, o_zero)
        elif kind == "book_snapshot":
            cols = tab.column_names
            nl = 1 + max(int(_SNAP_RE.match(c).group(2)) for c in cols if _SNAP_RE.match(c))

            def grid(which, field, cols=cols, nl=nl, tab=tab):
                g = np.full((tab.num_rows, nl), np.nan)
                for i in range(nl):
                    name = f"{which}[{i}].{field}"
                    if name in cols:
                        g[:, i] = _np(tab, name)
                return g

            r = _snapshot_rows(ts_l, ts_e, lines, grid("bids", "price"), grid("bids", "amount"),
                               grid("asks", "price"), grid("asks", "amount"))
            out.add(r[0], r[1], r[2], r[3], -1, r[4], r[5], fidx, r[6], False)
        elif kind == "quotes":
            bp, bq = _np(tab, "bid_price"), _np(tab, "bid_amount")
            ap, aq = _np(tab, "ask_price"), _np(tab, "ask_amount")
            b = np.empty(ts_l.size, dtype=bbo_array([]).dtype)
            b["ts_local_ns"], b["ts_exch_ns"], b["update_id"] = ts_l, ts_e, -1
            b["bid_px"], b["bid_qty"], b["ask_px"], b["ask_qty"] = bp, bq, ap, aq
            bbo_rows.append(b)
            if not has_depth:
                r = _snapshot_rows(ts_l, ts_e, lines, bp[:, None], bq[:, None], ap[:, None], aq[:, None])
                out.add(r[0], r[1], r[2], r[3], -1, r[4], r[5], fidx, r[6], False)
                n_quote_books += ts_l.size
        else:  # trades
            side = _eq(tab, "side", "buy").astype(np.int8) - _eq(tab, "side", "sell").astype(np.int8)
            ok = side != 0
            n_unknown += int((~ok).sum())
            ids = [x for x, k in zip(tab.column("id").to_pylist(), ok, strict=True) if k]
            out.add(ts_l[ok], ts_e[ok], _np(tab, "price")[ok], _np(tab, "amount")[ok], _tid(ids),
                    TRADE, side[ok], fidx, lines[ok], False)
    if "incremental_book_L2" in kinds and not any_snapshot:
        raise DataError(
            f"{', '.join(p for p, k in zip(paths, kinds, strict=True) if k == 'incremental_book_L2')}: "
            "no is_snapshot=true rows: an incremental_book_L2 stream cannot be rebuilt into a book "
            "without a snapshot (tardis.dev files start with one; replay from the file that holds it)"
        )
    if n_pre_snapshot:
        warnings.append(f"{n_pre_snapshot} incremental_book_L2 row(s) before the first snapshot were "
                        f"dropped (book unknown until then; first at {first_pre})")
    if n_unknown:
        warnings.append(f"{n_unknown} trade(s) with side 'unknown' (taker side not published by the "
                        "exchange) were dropped")
    if n_quote_books:
        warnings.append(f"no depth file in the feed: {n_quote_books} quote(s) replayed as one-level "
                        "snapshots (the venue sees only the top of book)")
    exchanges = sorted(k.split(":", 1)[1] for k in seen if k.startswith("exchange:"))
    if len(exchanges) > 1:
        raise DataError(f"{', '.join(paths)}: files from several exchanges ({exchanges}); one venue per feed")
    syms = [k for k in seen if not k.startswith("exchange:")]
    if not out.ev:
        what = f"symbol {symbol!r}" if want else "data rows"
        raise DataError(f"{', '.join(paths)}: no book, trade or quote rows ({what} not found)")
    ev = np.concatenate(out.ev)
    exch = exchanges[0] if exchanges else ""
    return Parsed(
        events=ev, fidx=np.concatenate(out.fidx), line=np.concatenate(out.line),
        zero_ok=np.concatenate(out.zero_ok),
        bbo=np.concatenate(bbo_rows) if bbo_rows else bbo_array([]),
        paths=list(paths), symbol=want or (syms[0] if syms else ""), venue=_VENUES.get(exch, exch),
        warnings=warnings, cross_is_warning=True,
    )


@attrs.frozen(kw_only=True)
class DerivativeTicker:
    """A tardis.dev ``derivative_ticker`` series for one instrument (rows in file order).

    Attributes
    ----------
    exchange, symbol : str
    ts_ns : ndarray of int64
        Exchange time of each row (``timestamp``), ns since the epoch.
    ts_local_ns : ndarray of int64
        Local receive time (``local_timestamp``), ns.
    funding_rate : ndarray of float64
        Current funding rate (decimal fraction per the exchange's funding interval, e.g.
        ``0.0001`` = 0.01 %); NaN where the row has none.
    predicted_funding_rate, mark_px, index_px, last_px, open_interest : ndarray of float64
        NaN where empty. Prices in quote units; open interest in the exchange's unit
        (contracts or base units).
    next_funding_ts_ns : ndarray of int64
        ``funding_timestamp``: the next funding event, ns; -1 where empty.
    """

    exchange: str
    symbol: str
    ts_ns: np.ndarray = attrs.field(eq=False)
    ts_local_ns: np.ndarray = attrs.field(eq=False)
    funding_rate: np.ndarray = attrs.field(eq=False)
    predicted_funding_rate: np.ndarray = attrs.field(eq=False)
    mark_px: np.ndarray = attrs.field(eq=False)
    index_px: np.ndarray = attrs.field(eq=False)
    last_px: np.ndarray = attrs.field(eq=False)
    open_interest: np.ndarray = attrs.field(eq=False)
    next_funding_ts_ns: np.ndarray = attrs.field(eq=False)


def load_derivative_ticker(paths: str | list[str], symbol: str | None = None) -> DerivativeTicker:
    """Read tardis.dev ``derivative_ticker`` CSVs (funding rate, mark/index price, OI).

    Parameters
    ----------
    paths : str or list of str
        Files in time order (plain, gzip or LZ4).
    symbol : str or None, default None
        Instrument to keep; ``None``: the files must hold exactly one.

    Returns
    -------
    DerivativeTicker
        Concatenated rows; the exchange timestamp ``ts_ns`` is non-decreasing.

    Raises
    ------
    DataError
        Not a derivative_ticker header, unconvertible cell, several symbols, local timestamps
        going backwards (file and line named).
    """
    paths = [paths] if isinstance(paths, str) else list(paths)
    want = symbol.upper() if symbol else None
    seen: dict[str, str] = {}
    parts: dict[str, list[np.ndarray]] = {}
    for path in paths:
        kind = _kind_of(path)
        if kind != "derivative_ticker":
            raise DataError(f"{path}: line 1: a tardis.dev {kind} file, not derivative_ticker")
        tab = _read(path, kind)
        lines = np.arange(2, tab.num_rows + 2, dtype=np.int64)
        keep = _symbol_rows(tab, path, want, seen)
        tab, lines = tab.filter(pa.array(keep)), lines[keep]
        ts_l = _ts_ns(tab, "local_timestamp", path, lines)
        _check_order(path, ts_l, lines)
        cols = {
            "ts_ns": _ts_ns(tab, "timestamp", path, lines),
            "ts_local_ns": ts_l,
            "next_funding_ts_ns": (_ts_ns(tab, "funding_timestamp", path, lines, required=False)
                                   if "funding_timestamp" in tab.column_names else np.full(ts_l.size, -1)),
        }
        for name, src in (("funding_rate", "funding_rate"), ("predicted_funding_rate", "predicted_funding_rate"),
                          ("mark_px", "mark_price"), ("index_px", "index_price"), ("last_px", "last_price"),
                          ("open_interest", "open_interest")):
            cols[name] = (_np(tab, src) if src in tab.column_names else np.full(ts_l.size, np.nan))
        for k, a in cols.items():
            parts.setdefault(k, []).append(a)
    exchanges = sorted(k.split(":", 1)[1] for k in seen if k.startswith("exchange:"))
    syms = [k for k in seen if not k.startswith("exchange:")]
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    return DerivativeTicker(exchange=exchanges[0] if exchanges else "", symbol=want or (syms[0] if syms else ""),
                            **arrays)


def funding_arrays(paths: str | list[str], symbol: str | None = None):
    """Funding observations of a ``derivative_ticker`` series, for charging funding.

    Returns
    -------
    tuple of ndarray
        ``(ts_ns int64, funding_rate float64, mark_px float64, next_funding_ts_ns int64)``:
        only rows that carry a funding rate; the rate is the exchange's current rate for the
        funding event at ``next_funding_ts_ns`` (-1 where the exchange publishes no next
        funding time), ``mark_px`` NaN where absent.

    Raises
    ------
    DataError
        See :func:`load_derivative_ticker`.
    """
    t = load_derivative_ticker(paths, symbol)
    ok = np.isfinite(t.funding_rate)
    return t.ts_ns[ok], t.funding_rate[ok], t.mark_px[ok], t.next_funding_ts_ns[ok]
