"""``load_data(cfg)``: the research layer's data entry point (recorded files → bars).

Sources (``SignalDataConfig.source``):

``binance_candles``
    Binance freqtrade candle CSVs, header ``open_time_ms,open,high,low,close,volume`` (UTC ms,
    USDT per ETH, ETH). Interval from the filename (``-1m_``, ``-5m_``, ``-1h_``, ``-1d_``...),
    else the smallest time step. Read by the same reader as ``ohlcv`` (any of its layouts is
    accepted), with strict ordering: rows must be ascending without duplicates.
``ohlcv``
    Candle files in any of these layouts, detected per file (:func:`read_ohlcv`):
    freqtrade JSON (``[[ts_ms, open, high, low, close, volume], ...]``), CryptoDataDownload
    CSV (a URL first line, then a header ``unix,date,symbol,open,high,low,close,Volume <base>,
    Volume <quote>[,tradecount]``, rows newest first, ``unix`` in seconds or milliseconds —
    CDD switched units within files), or a plain CSV ``timestamp,open,high,low,close,volume``
    (also freqtrade's ``date``/``open_time_ms`` first column; epoch s/ms/µs/ns by magnitude or
    ISO-8601 text). The result is ascending; rows repeating a candle's open time (CDD's
    seconds→milliseconds overlap) are dropped with a warning in :attr:`MarketData.warnings`.
``coinbase_minute``
    Coinbase LEAN minute bars, no header. ``*_trade.csv(.gz)``:
    ``ms_since_midnight_utc,open,high,low,close,volume``; ``*_quote.csv(.gz)``:
    ``ms,bid_open,bid_high,bid_low,bid_close,last_bid_size,ask_open,...,ask_close,last_ask_size``.
    The date is the filename's ``YYYYMMDD`` prefix; the time is the minute's *start* (LEAN's bar
    ``Time``). Quote files, when given, become the top of book at each trade bar's close.
``uniswap_minute``
    Uniswap v3 USDC/WETH per-minute pool aggregates (``timestamp,netAmount0,netAmount1,
    closeTick,openTick,lowestTick,highestTick,inAmount0,inAmount1,currentLiquidity``), see below.
``ticks``
    Recorded tick feeds through :func:`venues.loaders.load_feed` → trades → bars of
    :mod:`signals.bars`, plus the top of book replayed from the depth rows (or the recorded
    BBO) at each bar close.

Minute/candle sources give *time bars* only (``bar="time"``; ``bar_size`` 0 or the native
interval in seconds). Fields a source does not carry are NaN (``n_trades``: -1):
candles and LEAN bars have no ``dollar_volume``, ``buy_volume``, ``vwap`` or ``n_trades``.
For every time bar ``ts_open_ns`` is the interval start and ``ts_close_ns = ts_open_ns +
interval`` (when the bar is known).

This module does not compute features or labels (:mod:`signals.features` et al.) and keeps no
cache of its own: tick feeds go through the loaders' Parquet cache when ``cache_dir`` is set;
the minute files parse in well under a second.

See Also
--------
signals.bars : bar construction and :data:`BAR_DTYPE`.
venues.loaders : tick feed loaders and :class:`DataError`.
"""

from __future__ import annotations

import gzip
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from attrs import validators as v

from engine.feed import CLEAR, DEPTH
from signals._bars_nb import book_top_at_nb
from signals.bars import BAR_DTYPE, BAR_KINDS, empty_bars, make_bars, trades_from_events
from venues.loaders import FORMATS, DataConfig, load_feed
from venues.loaders._common import DataError

__all__ = [
    "OHLCV", "SOURCES", "TOP_DTYPE", "MarketData", "SignalDataConfig", "load_data", "read_ohlcv",
    "uniswap_tick_to_price",
]

SOURCES = ("binance_candles", "ohlcv", "coinbase_minute", "uniswap_minute", "ticks")
"""Accepted ``SignalDataConfig.source`` values."""

TOP_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),
        ("bid_px", np.float64),
        ("bid_qty", np.float64),
        ("ask_px", np.float64),
        ("ask_qty", np.float64),
    ],
    align=True,
)
"""Top of book sampled at a bar close: ``ts_ns`` (= the bar's ``ts_close_ns``), best bid/ask price
(quote units) and size (base units); NaN where that side is empty or unknown."""

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
_MAX_LEVELS = 20_000_000


def _to_tuple(x):
    if isinstance(x, str | os.PathLike):
        return (os.fspath(x),)
    return tuple(os.fspath(p) for p in x)


@attrs.frozen(kw_only=True)
class SignalDataConfig:
    """What :func:`load_data` loads and how it bars it (the ``[signal.data]`` table).

    Attributes
    ----------
    source : {"binance_candles", "ohlcv", "coinbase_minute", "uniswap_minute", "ticks"}
        File family of ``paths``.
    paths : tuple of str
        Files, concatenated in the given order (timestamps must increase strictly across them).
    bar : {"time", "tick", "volume", "dollar", "imbalance"}, default "time"
        Bar type; minute/candle sources accept ``"time"`` only.
    bar_size : float, default 0.0
        ``time``: seconds (0: the native interval of a minute/candle source; must be > 0 for
        ticks); ``tick``: trades; ``volume``: base units; ``dollar``: quote units;
        ``imbalance``: initial expected ticks per bar (:func:`signals.bars.tick_imbalance_bars`).
    tick_format : str, default "binance_ws"
        ``source="ticks"`` only: :data:`venues.loaders.FORMATS` entry.
    symbol : str or None, default None
        ``source="ticks"`` only: instrument to keep (see :class:`venues.loaders.DataConfig`).
    with_book : bool, default True
        ``source="ticks"``: sample the top of book at each bar close.
    cache_dir : str or None, default None
        ``source="ticks"``: the loaders' parsed-feed cache directory.
    """

    source: str = attrs.field(validator=v.in_(SOURCES))
    paths: tuple[str, ...] = attrs.field(
        converter=_to_tuple, validator=[v.min_len(1), v.deep_iterable(v.instance_of(str))]
    )
    bar: str = attrs.field(default="time", validator=v.in_(BAR_KINDS))
    bar_size: float = attrs.field(default=0.0, converter=float, validator=v.ge(0.0))
    tick_format: str = attrs.field(default="binance_ws", validator=v.in_(FORMATS))
    symbol: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    with_book: bool = attrs.field(default=True, validator=v.instance_of(bool))
    cache_dir: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))


@attrs.frozen(kw_only=True)
class MarketData:
    """Bars (and optionally the top of book at each bar close) for the research layer.

    Attributes
    ----------
    bars : ndarray, dtype BAR_DTYPE
        Sorted by ``ts_close_ns`` (strictly increasing). Unknown fields are NaN (``n_trades`` -1).
    top : ndarray of shape (len(bars),), dtype TOP_DTYPE, or None
        Best bid/ask at each bar's ``ts_close_ns``; ``None`` when the source has no book.
    cfg : SignalDataConfig
        The configuration that produced it.
    warnings : tuple of str, default ()
        Data-quality notes (e.g. duplicate candles dropped), each naming the file and lines.
    """

    bars: np.ndarray = attrs.field(eq=False)
    top: np.ndarray | None = attrs.field(eq=False)
    cfg: SignalDataConfig
    warnings: tuple[str, ...] = ()


def uniswap_tick_to_price(tick):
    """WETH price in USDC of a USDC/WETH Uniswap v3 pool tick: ``10**12 / 1.0001**tick``.

    token0 = USDC (6 decimals), token1 = WETH (18 decimals); the pool's raw price
    ``1.0001**tick`` is token1 per token0 in raw units, so WETH in USDC is
    ``10**(18-6) / 1.0001**tick``. The price *decreases* with the tick: a minute's high price is
    at its ``lowestTick``.

    Parameters
    ----------
    tick : float or ndarray of float64
        Pool tick(s).

    Returns
    -------
    float or ndarray of float64
        USDC per WETH.

    References
    ----------
    Uniswap v3 Core whitepaper (2021), §6.1 "Ticks" (``p(i) = 1.0001**i``).

    Examples
    --------
    >>> round(float(uniswap_tick_to_price(199045.0)), 2)
    2269.96
    """
    return 1e12 / np.power(1.0001, np.asarray(tick, dtype=np.float64))


# ---------------------------------------------------------------- CSV helpers


def _read_csv(path: str, names: list[str] | None) -> pa.Table:
    try:
        ro = pacsv.ReadOptions(column_names=names) if names else pacsv.ReadOptions()
        return pacsv.read_csv(path, read_options=ro)
    except (pa.ArrowInvalid, OSError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: unreadable CSV ({exc})") from None


def _col(tab: pa.Table, name: str, path: str) -> np.ndarray:
    if name not in tab.column_names:
        raise DataError(f"{path}: line 1: missing column {name!r} (have {tab.column_names})")
    col = tab.column(name)
    try:
        # integers beyond 2**53 (raw token amounts) round to the nearest float64 on purpose
        return pc.cast(col, pa.float64(), safe=not pa.types.is_integer(col.type)).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{path}: column {name!r} is not numeric ({exc})") from None


def _check_prices(path: str, cols: dict[str, np.ndarray], line0: int) -> None:
    for name, x in cols.items():
        bad = ~(np.isfinite(x) & (x > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{path}: line {i + line0}: {name} {float(x[i])!r} is not a finite positive price")


def _check_times(path: str, ts: np.ndarray, line0: int, prev: int | None) -> None:
    if prev is not None and ts.size and ts[0] <= prev:
        raise DataError(
            f"{path}: line {line0}: timestamp {int(ts[0])} ns is not after the previous file's last {prev} ns "
            "(out-of-order or duplicate timestamps across files)"
        )
    if ts.size > 1:
        bad = ts[1:] <= ts[:-1]
        if bad.any():
            i = int(np.argmax(bad)) + 1
            what = "duplicate" if ts[i] == ts[i - 1] else "out-of-order"
            raise DataError(
                f"{path}: line {i + line0}: {what} timestamp {int(ts[i])} ns (previous row {int(ts[i - 1])} ns)"
            )


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else empty_bars(0)


_INTERVAL_RE = re.compile(r"-(\d+)([smhdw])_")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _native_interval_ns(path: str, ts: np.ndarray) -> int:
    m = _INTERVAL_RE.search(Path(path).name)
    if m:
        return int(m.group(1)) * _UNIT_S[m.group(2)] * NS_PER_S
    if ts.size < 2:
        raise DataError(f"{path}: cannot infer the candle interval (no '-<n><unit>_' in the name, < 2 rows)")
    return int(np.diff(ts).min())


def _check_time_bar(cfg: SignalDataConfig, interval_ns: int, path: str) -> None:
    if cfg.bar != "time":
        raise ValueError(f"source {cfg.source!r} gives time bars only; got bar={cfg.bar!r}")
    if cfg.bar_size and round(cfg.bar_size * NS_PER_S) != interval_ns:
        raise ValueError(
            f"{path}: bar_size {cfg.bar_size} s differs from the native interval {interval_ns / NS_PER_S} s "
            "(resampling minute sources is not supported; use bar_size=0)"
        )


# ---------------------------------------------------------------- sources


_TS_NAMES = ("open_time_ms", "timestamp", "unix", "unix timestamp", "date", "time", "datetime", "open_time")
_OHLC = ("open", "high", "low", "close")


@attrs.frozen(kw_only=True)
class OHLCV:
    """Candles read by :func:`read_ohlcv` (ascending open times).

    Attributes
    ----------
    layout : {"freqtrade_json", "cdd_csv", "csv"}
    ts_ns : ndarray of int64
        Candle open time, ns since the epoch (UTC).
    open, high, low, close, volume : ndarray of float64
        Prices in quote units; volume in base units (CDD: the first ``Volume`` column).
    lines : ndarray of int64
        Source line (CSV, header included) or 1-based element (JSON) of each candle.
    warnings : tuple of str
    """

    layout: str
    ts_ns: np.ndarray = attrs.field(eq=False)
    open: np.ndarray = attrs.field(eq=False)
    high: np.ndarray = attrs.field(eq=False)
    low: np.ndarray = attrs.field(eq=False)
    close: np.ndarray = attrs.field(eq=False)
    volume: np.ndarray = attrs.field(eq=False)
    lines: np.ndarray = attrs.field(eq=False)
    warnings: tuple[str, ...] = ()


def _epoch_to_ns(x: float) -> int:
    """Epoch number → ns, unit chosen by magnitude: s (< 1e11), ms (< 1e14), µs (< 1e17), ns."""
    a = abs(x)
    if a < 1e11:
        return int(round(x * 1e9))
    if a < 1e14:
        return int(round(x)) * NS_PER_MS
    if a < 1e17:
        return int(round(x)) * 1000
    return int(x)


_ISO_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:Z|[+-]00:?00| UTC)?$")


def _ts_cell(cell: str, scale: int | None = None) -> tuple[int, bool]:
    """``(ns, was_milliseconds_or_finer)`` of a timestamp cell (epoch number or ISO-8601 UTC);
    ``scale`` (ns per unit) when the layout fixes the unit, else the unit follows the magnitude."""
    c = cell.strip()
    try:
        x = float(c)
    except ValueError:
        m = _ISO_TS.match(c)
        if m is None:
            raise ValueError(f"timestamp {cell!r} is neither an epoch number nor ISO-8601 UTC") from None
        t = np.datetime64(f"{m.group(1)}T{m.group(2)}", "ns")
        return int(t.astype(np.int64)), False
    if not np.isfinite(x):
        raise ValueError(f"timestamp {cell!r} is not finite")
    if scale is not None:
        return int(round(x)) * scale, scale < NS_PER_S
    return _epoch_to_ns(x), abs(x) >= 1e11


def _open_text(path: str):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rt", encoding="utf-8", newline="") if magic == b"\x1f\x8b" else open(
        path, encoding="utf-8", newline="")


def read_ohlcv(path: str, *, strict: bool = False) -> OHLCV:
    """Read one candle file in any supported layout (see the module docstring, ``ohlcv``).

    Parameters
    ----------
    path : str
        File (plain or gzip).
    strict : bool, default False
        ``True``: rows must be ascending with no repeated open time (errors name the line);
        ignored for CryptoDataDownload files, which are newest first by design.
        ``False``: rows are sorted ascending (stable); CryptoDataDownload files are read newest
        first as published; a repeated open time keeps the first row of the file and records a
        warning naming both lines and whether the values differ.

    Returns
    -------
    OHLCV

    Raises
    ------
    DataError
        The file is not one of the layouts (message names line 1 and the layouts expected), a
        row has the wrong number of fields, a non-numeric or non-finite value, a non-positive
        price or negative volume; the message names the file and the line (JSON: the element).
        With ``strict``: duplicate or out-of-order timestamps.
    """
    with _open_text(path) as fh:
        text = fh.read()
    stripped = text.lstrip()
    rows: list[tuple[int, str, list]] = []  # (line, ts cell, [o, h, l, c, v])
    if stripped.startswith("["):
        import json

        layout = "freqtrade_json"
        scale: int | None = NS_PER_MS
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DataError(f"{path}: not valid JSON ({exc}); expected freqtrade candles [[ts_ms,o,h,l,c,v],...]") \
                from None
        if not isinstance(data, list):
            raise DataError(f"{path}: row 1: expected a JSON list of [ts_ms, open, high, low, close, volume]")
        for i, r in enumerate(data, 1):
            if not isinstance(r, list) or len(r) < 6:
                raise DataError(f"{path}: row {i}: {str(r)[:60]!r} is not [ts_ms, open, high, low, close, volume] "
                                "(freqtrade JSON candles)")
            rows.append((i, str(r[0]), r[1:6]))
        unit = "row"
    else:
        import csv
        import io

        unit = "line"
        lines = list(csv.reader(io.StringIO(text)))
        first = ",".join(lines[0]) if lines else ""
        hdr_line = 1
        layout = "csv"
        scale = None
        if first.strip().lower().startswith(("http", "www.")) or "cryptodatadownload" in first.lower():
            layout, hdr_line = "cdd_csv", 2
        if len(lines) < hdr_line:
            raise DataError(f"{path}: line 1: empty file (no OHLCV header)")
        header = [h.strip().lower() for h in lines[hdr_line - 1]]
        col = {h: i for i, h in enumerate(header)}
        ts_col = next((col[n] for n in _TS_NAMES if n in col), None)
        vol_col = col.get("volume", next((i for i, h in enumerate(header) if h.startswith("volume")), None))
        missing = [n for n in _OHLC if n not in col]
        if ts_col is None or vol_col is None or missing:
            raise DataError(
                f"{path}: line {hdr_line}: not an OHLCV file (header {lines[hdr_line - 1][:8]}); expected "
                "a CSV timestamp,open,high,low,close,volume, a CryptoDataDownload CSV (URL line, then "
                "unix,date,symbol,open,high,low,close,Volume ...) or freqtrade JSON [[ts_ms,o,h,l,c,v],...]"
            )
        if layout == "cdd_csv" and "unix" in col:
            ts_col = col["unix"]
        suffix = header[ts_col].rsplit("_", 1)[-1] if "_" in header[ts_col] else ""
        scale = {"s": NS_PER_S, "ms": NS_PER_MS, "us": 1000, "ns": 1}.get(suffix)
        idx = [col[n] for n in _OHLC] + [vol_col]
        for ln, r in enumerate(lines[hdr_line:], hdr_line + 1):
            if not r or not "".join(r).strip():
                continue
            if len(r) != len(header):
                raise DataError(f"{path}: line {ln}: {len(r)} fields, the header has {len(header)} "
                                f"({','.join(r)[:80]!r})")
            rows.append((ln, r[ts_col], [r[i] for i in idx]))
    n = len(rows)
    ts = np.empty(n, np.int64)
    vals = np.empty((n, 5))
    fine = np.zeros(n, bool)
    line_no = np.array([r[0] for r in rows], dtype=np.int64)
    names = ("open", "high", "low", "close", "volume")
    for k, (ln, tcell, cells) in enumerate(rows):
        try:
            ts[k], fine[k] = _ts_cell(tcell, scale)
        except ValueError as exc:
            raise DataError(f"{path}: {unit} {ln}: {exc}") from None
        for j in range(5):
            try:
                x = float(cells[j])
            except (TypeError, ValueError):
                raise DataError(f"{path}: {unit} {ln}: {names[j]} {cells[j]!r} is not a number") from None
            if not (np.isfinite(x) and (x > 0 if j < 4 else x >= 0)):
                what = "finite positive price" if j < 4 else "finite non-negative number"
                raise DataError(f"{path}: {unit} {ln}: {names[j]} {x!r} is not a {what}")
            vals[k, j] = x
    warnings: list[str] = []
    if strict and layout != "cdd_csv":  # CDD publishes newest first: always sorted
        if n > 1:
            bad = ts[1:] <= ts[:-1]
            if bad.any():
                i = int(np.argmax(bad)) + 1
                what = "duplicate" if ts[i] == ts[i - 1] else "out-of-order"
                raise DataError(f"{path}: {unit} {line_no[i]}: {what} timestamp {int(ts[i])} ns "
                                f"(previous row {int(ts[i - 1])} ns)")
        order = np.arange(n)
    else:
        order = np.argsort(ts, kind="stable")
        s = ts[order]
        dup = np.flatnonzero(s[1:] == s[:-1]) + 1
        if dup.size:
            same = sum(bool(np.array_equal(vals[order[i]], vals[order[i - 1]])) for i in dup)
            a, b = order[dup[0] - 1], order[dup[0]]
            units = " (seconds and milliseconds: the file switched units)" if fine[a] != fine[b] else ""
            warnings.append(
                f"{path}: {dup.size} candle(s) repeat an earlier open time and were dropped "
                f"({same} with identical values); first at {unit} {line_no[b]} (same open time as "
                f"{unit} {line_no[a]}{units})"
            )
            keep = np.ones(n, bool)
            keep[dup] = False
            order = order[keep]
    v = vals[order]
    return OHLCV(layout=layout, ts_ns=ts[order], open=v[:, 0], high=v[:, 1], low=v[:, 2], close=v[:, 3],
                 volume=v[:, 4], lines=line_no[order], warnings=tuple(warnings))


_CDD_INTERVAL_RE = re.compile(r"_(d|1h|h|minute|1m|m)\.csv", re.IGNORECASE)
_CDD_UNIT_S = {"d": 86400, "1h": 3600, "h": 3600, "minute": 60, "1m": 60, "m": 60}


def _load_candles(cfg: SignalDataConfig) -> MarketData:
    parts, prev, warnings = [], None, []
    strict = cfg.source == "binance_candles"
    for path in cfg.paths:
        c = read_ohlcv(path, strict=strict)
        warnings.extend(c.warnings)
        ts = c.ts_ns
        if prev is not None and ts.size and ts[0] <= prev:
            raise DataError(
                f"{path}: line {int(c.lines[0])}: timestamp {int(ts[0])} ns is not after the previous file's last "
                f"{prev} ns (out-of-order or duplicate timestamps across files)"
            )
        m = _CDD_INTERVAL_RE.search(Path(path).name)
        if m and not _INTERVAL_RE.search(Path(path).name):
            interval = _CDD_UNIT_S[m.group(1).lower()] * NS_PER_S
        else:
            interval = _native_interval_ns(path, ts)
        _check_time_bar(cfg, interval, path)
        b = empty_bars(ts.size)
        b["ts_open_ns"], b["ts_close_ns"] = ts, ts + interval
        b["open"], b["high"], b["low"], b["close"], b["volume"] = c.open, c.high, c.low, c.close, c.volume
        parts.append(b)
        prev = int(ts[-1]) if ts.size else prev
    return MarketData(bars=_concat(parts), top=None, cfg=cfg, warnings=tuple(warnings))


_DATE_RE = re.compile(r"^(\d{8})_")


def _lean_day_ns(path: str) -> int:
    m = _DATE_RE.match(Path(path).name)
    if not m:
        raise DataError(f"{path}: LEAN minute file name must start with YYYYMMDD_ (the date of the bars)")
    d = datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=UTC)
    return int(d.timestamp()) * NS_PER_S


def _load_coinbase(cfg: SignalDataConfig) -> MarketData:
    trade_paths = [p for p in cfg.paths if "_trade" in Path(p).name]
    quote_paths = [p for p in cfg.paths if "_quote" in Path(p).name]
    other = set(cfg.paths) - set(trade_paths) - set(quote_paths)
    if other or not trade_paths:
        raise DataError(
            f"{sorted(other) or cfg.paths}: coinbase_minute needs *_trade.csv[.gz] (and optional *_quote) files"
        )
    interval = 60 * NS_PER_S
    _check_time_bar(cfg, interval, trade_paths[0])
    parts, prev = [], None
    for path in trade_paths:
        tab = _read_csv(path, ["ms", "open", "high", "low", "close", "volume"])
        ts = _lean_day_ns(path) + _col(tab, "ms", path).astype(np.int64) * NS_PER_MS
        o, h, lo, c, vol = (_col(tab, k, path) for k in ("open", "high", "low", "close", "volume"))
        _check_prices(path, {"open": o, "high": h, "low": lo, "close": c}, 1)
        _check_times(path, ts, 1, prev)
        b = empty_bars(ts.size)
        b["ts_open_ns"], b["ts_close_ns"] = ts, ts + interval
        b["open"], b["high"], b["low"], b["close"], b["volume"] = o, h, lo, c, vol
        parts.append(b)
        prev = int(ts[-1]) if ts.size else prev
    bars = _concat(parts)
    top = None
    if quote_paths:
        qparts, prev = [], None
        names = ["ms", "bid_open", "bid_high", "bid_low", "bid_close", "bid_size",
                 "ask_open", "ask_high", "ask_low", "ask_close", "ask_size"]  # fmt: skip
        for path in quote_paths:
            tab = _read_csv(path, names)
            ts = _lean_day_ns(path) + _col(tab, "ms", path).astype(np.int64) * NS_PER_MS
            bid, ask = _col(tab, "bid_close", path), _col(tab, "ask_close", path)
            _check_prices(path, {"bid_close": bid, "ask_close": ask}, 1)
            _check_times(path, ts, 1, prev)
            q = np.empty(ts.size, dtype=TOP_DTYPE)
            q["ts_ns"] = ts + interval
            q["bid_px"], q["bid_qty"] = bid, _col(tab, "bid_size", path)
            q["ask_px"], q["ask_qty"] = ask, _col(tab, "ask_size", path)
            qparts.append(q)
            prev = int(ts[-1]) if ts.size else prev
        quotes = np.concatenate(qparts)
        top = np.empty(bars.size, dtype=TOP_DTYPE)
        top["ts_ns"] = bars["ts_close_ns"]
        j = np.searchsorted(quotes["ts_ns"], bars["ts_close_ns"])
        hit = (j < quotes.size) & (quotes["ts_ns"][np.minimum(j, quotes.size - 1)] == bars["ts_close_ns"])
        for name in ("bid_px", "bid_qty", "ask_px", "ask_qty"):
            top[name] = np.where(hit, quotes[name][np.minimum(j, quotes.size - 1)], np.nan)
    return MarketData(bars=bars, top=top, cfg=cfg)


def _load_uniswap(cfg: SignalDataConfig) -> MarketData:
    interval = 60 * NS_PER_S
    _check_time_bar(cfg, interval, cfg.paths[0])
    parts, prev = [], None
    for path in cfg.paths:
        tab = _read_csv(path, None)
        if "timestamp" not in tab.column_names:
            raise DataError(f"{path}: line 1: missing column 'timestamp'")
        tcol = tab.column("timestamp")
        try:
            if not pa.types.is_timestamp(tcol.type):
                tcol = pc.strptime(tcol, format="%Y-%m-%d %H:%M:%S", unit="s")
            ts = pc.cast(tcol, pa.timestamp("ns")).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{path}: column 'timestamp' is not 'YYYY-MM-DD HH:MM:SS' ({exc})") from None
        ticks = {k: _col(tab, k, path) for k in ("openTick", "highestTick", "lowestTick", "closeTick")}
        for k, x in ticks.items():
            if not np.isfinite(x).all():
                i = int(np.argmax(~np.isfinite(x)))
                raise DataError(f"{path}: line {i + 2}: {k} {float(x[i])!r} is not a finite tick")
        net0, net1, in0, in1 = (_col(tab, k, path) for k in ("netAmount0", "netAmount1", "inAmount0", "inAmount1"))
        _check_times(path, ts, 2, prev)
        b = empty_bars(ts.size)
        b["ts_open_ns"], b["ts_close_ns"] = ts, ts + interval
        b["open"] = uniswap_tick_to_price(ticks["openTick"])
        b["high"] = uniswap_tick_to_price(ticks["lowestTick"])  # price falls as the tick rises
        b["low"] = uniswap_tick_to_price(ticks["highestTick"])
        b["close"] = uniswap_tick_to_price(ticks["closeTick"])
        _check_prices(path, {"open": b["open"], "high": b["high"], "low": b["low"], "close": b["close"]}, 2)
        # net = in - out from the pool's side; WETH volume = in1 + out1, USDC volume = in0 + out0
        out0, out1 = in0 - net0, in1 - net1
        b["volume"] = (in1 + out1) / 1e18
        b["dollar_volume"] = (in0 + out0) / 1e6
        b["buy_volume"] = out1 / 1e18  # takers buying WETH take it out of the pool
        with np.errstate(invalid="ignore", divide="ignore"):
            b["vwap"] = np.where(b["volume"] > 0, b["dollar_volume"] / b["volume"], np.nan)
        parts.append(b)
        prev = int(ts[-1]) if ts.size else prev
    return MarketData(bars=_concat(parts), top=None, cfg=cfg)


def book_top(feed, sample_ts: np.ndarray) -> np.ndarray | None:
    """Best bid/ask (prices and sizes) of a recorded feed at each of ``sample_ts`` (``TOP_DTYPE``).

    Replays the depth rows when the feed has them, else uses its recorded BBO; ``None`` when it
    has neither.
    """
    ev = feed.events
    top = np.empty(sample_ts.size, dtype=TOP_DTYPE)
    top["ts_ns"] = sample_ts
    depth = ev["kind"] == DEPTH
    tick = feed.meta.tick_size
    if depth.any() and tick > 0:
        rows = ev[depth | (ev["kind"] == CLEAR)]
        dpx = rows["px"][rows["kind"] == DEPTH]
        pmin, pmax = float(dpx.min()), float(dpx.max())
        n_levels = int(round((pmax - pmin) / tick)) + 1
        if n_levels <= _MAX_LEVELS:
            idx = np.where(rows["kind"] == DEPTH, np.rint((rows["px"] - pmin) / tick), 0).astype(np.int64)
            out_idx = np.empty((sample_ts.size, 2), np.int64)
            out_qty = np.empty((sample_ts.size, 2), np.float64)
            book_top_at_nb(
                np.ascontiguousarray(rows["ts_local_ns"]), np.ascontiguousarray(rows["kind"]),
                np.ascontiguousarray(rows["side"]), idx, np.ascontiguousarray(rows["qty"]),
                n_levels, sample_ts, out_idx, out_qty,
            )  # fmt: skip
            for c, (px_name, q_name) in enumerate((("bid_px", "bid_qty"), ("ask_px", "ask_qty"))):
                ok = out_idx[:, c] >= 0
                top[px_name] = np.where(ok, pmin + out_idx[:, c] * tick, np.nan)
                top[q_name] = np.where(ok, out_qty[:, c], np.nan)
            return top
    bbo = feed.bbo
    if bbo.size:
        j = np.searchsorted(bbo["ts_local_ns"], sample_ts, side="right") - 1
        ok = j >= 0
        jj = np.maximum(j, 0)
        for name, src in (("bid_px", "bid_px"), ("bid_qty", "bid_qty"), ("ask_px", "ask_px"), ("ask_qty", "ask_qty")):
            top[name] = np.where(ok, bbo[src][jj], np.nan)
        return top
    return None


def _load_ticks(cfg: SignalDataConfig) -> MarketData:
    if cfg.bar == "time" and not cfg.bar_size > 0:
        raise ValueError("source 'ticks' with bar='time' needs bar_size > 0 (seconds)")
    if cfg.bar != "time" and not cfg.bar_size > 0:
        raise ValueError(f"bar={cfg.bar!r} needs bar_size > 0")
    feed = load_feed(DataConfig(format=cfg.tick_format, paths=cfg.paths, symbol=cfg.symbol), cfg.cache_dir)
    trades = trades_from_events(feed.events)
    bars = make_bars(cfg.bar, *trades, cfg.bar_size)
    top = book_top(feed, np.ascontiguousarray(bars["ts_close_ns"])) if cfg.with_book else None
    return MarketData(bars=bars, top=top, cfg=cfg, warnings=tuple(feed.warnings))


def load_data(cfg: SignalDataConfig) -> MarketData:
    """Load recorded market data as bars (the research API's first adaptor).

    Parameters
    ----------
    cfg : SignalDataConfig
        Source family, files and bar specification.

    Returns
    -------
    MarketData
        ``bars`` of :data:`signals.bars.BAR_DTYPE` sorted by close time; ``top`` of
        :data:`TOP_DTYPE` for ``ticks`` (depth replay, else the recorded BBO) and for
        ``coinbase_minute`` with quote files (the quote minute ending at the bar close), else
        ``None``.

    Raises
    ------
    DataError
        Missing or unparseable file, NaN or non-positive price, out-of-order or duplicate
        timestamps (within a file or across ``paths``); the message names the file and the
        1-based line (header included). Tick sources: see :func:`venues.loaders.load_feed`.
    ValueError
        A bar specification the source does not support.

    Notes
    -----
    Information-driven bars (tick/volume/dollar/imbalance) need trades, so only ``ticks`` offers
    them (AFML ch. 2, §2.3). Uniswap prices come from ticks via :func:`uniswap_tick_to_price`;
    amounts are read as float64 (relative error ~1e-16, harmless for volumes).

    References
    ----------
    López de Prado (2018), *Advances in Financial Machine Learning*, ch. 2.

    Examples
    --------
    >>> cfg = SignalDataConfig(source="ticks", bar="dollar", bar_size=50_000.0,
    ...                        paths=("data/binance_usdm_ethusdt/ethusdt_20240718.gz",))
    >>> md = load_data(cfg)  # doctest: +SKIP
    """
    for p in cfg.paths:
        if not Path(p).expanduser().is_file():
            raise DataError(f"{p}: data file not found (SignalDataConfig.paths, source {cfg.source})")
    if cfg.source in ("binance_candles", "ohlcv"):
        md = _load_candles(cfg)
    elif cfg.source == "coinbase_minute":
        md = _load_coinbase(cfg)
    elif cfg.source == "uniswap_minute":
        md = _load_uniswap(cfg)
    else:
        md = _load_ticks(cfg)
    assert md.bars.dtype == BAR_DTYPE
    return md
