"""Recorded funding rates → :class:`FundingRates` (settlement time, rate, mark price).

Funding is charged from **recorded** rates only (:mod:`components.funding` applies them). The
sources read here:

``hyperliquid_history``
    Hyperliquid ``POST /info {"type": "fundingHistory", ...}`` answers: a JSON list of
    ``{coin, fundingRate, premium, time}`` (``time`` in ms), or the same as CSV with header
    ``coin,time_ms,fundingRate,premium`` (the bundled ``hyperliquid_meta_funding`` set). Rates are
    per funding interval (1 h since 2023; the earliest rows are 8 h apart). No mark price: the
    venue's mid at the settlement time stands in for the oracle price.
``hyperliquid_asset_ctxs``
    Hyperliquid asset contexts: the websocket ``allDexsAssetCtxs`` / ``activeAssetCtx``
    message (``funding``, ``oraclePx``, ``markPx``; no timestamp, index-aligned to a ``meta``
    universe) — read with :func:`load_asset_ctx`, one snapshot — or the S3 archive's
    ``asset_ctxs`` CSV (header with ``time``, ``coin``, ``funding``, ``oracle_px``), read as a
    series: at each whole hour the latest row at or before it gives the rate and the oracle
    price.
``binance_rest``
    Binance ``GET /fapi/v1/fundingRate`` (or ``/dapi``) answers, JSON or CSV with
    ``fundingTime``, ``fundingRate`` and optionally ``markPrice`` and ``symbol``.
``binance_vision``
    data.binance.vision monthly ``fundingRate`` CSVs: ``calc_time,funding_interval_hours,
    last_funding_rate``.
``tardis_derivative_ticker``
    tardis.dev ``derivative_ticker`` CSVs (``funding_timestamp``, ``funding_rate``,
    ``mark_price``), given as ``[data] funding`` or among a ``tardis_csv`` feed's paths; read by
    the same rule as the ``markPrice`` stream below (:func:`from_tardis_derivative_ticker`).
``binance_markprice``
    The ``<symbol>@markPrice`` stream inside a Binance capture (:func:`from_binance_markprice`):
    each ``markPriceUpdate`` carries the current rate ``r``, the next funding time ``T`` and the
    mark price ``p``. For each ``T`` seen, the rate settled at ``T`` is the ``r`` of the last
    update stamped (``E``) strictly before ``T`` that announced that ``T``, and the mark price
    is the last ``p`` stamped at or before ``T``.

Every error is a :class:`~venues.loaders.DataError` naming the file and line or key.

References
----------
Hyperliquid GitBook, "Trading › Funding" and "API › Info endpoint › Retrieve historical
funding rates"; Binance Developers, "USDⓈ-M Futures › Mark Price Stream" and "Get Funding Rate
History"; Binance FAQ 360033525031 "Introduction to Binance Futures Funding Rates".
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from pathlib import Path

import attrs
import numpy as np

from components.funding import nominal_funding_times  # the venues' funding clocks live with the schedule
from venues.loaders._common import DataError

__all__ = [
    "FundingRates",
    "detect_funding",
    "from_binance_markprice",
    "from_tardis_derivative_ticker",
    "load_asset_ctx",
    "load_funding",
    "nominal_funding_times",
]

_MS = 1_000_000
_HOUR_NS = 3600 * 10**9


@attrs.frozen(kw_only=True)
class FundingRates:
    """Recorded funding settlements of one instrument.

    Attributes
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Settlement times, ns since the epoch, ascending and unique.
    rate : ndarray of float64, shape (n,)
        Funding rate per interval, decimal fraction (``0.0001`` = 0.01 %); positive: longs pay.
    mark : ndarray of float64, shape (n,)
        Mark (Binance) or oracle (Hyperliquid) price at the settlement, quote units per base
        unit; NaN when the source has none (the venue's mid stands in).
    source : str
        ``"<kind>: <file>[, <file>...]"``.
    """

    ts_ns: np.ndarray = attrs.field(eq=False)
    rate: np.ndarray = attrs.field(eq=False)
    mark: np.ndarray = attrs.field(eq=False)
    source: str

    def __attrs_post_init__(self) -> None:
        """Check shapes, order and finiteness."""
        n = self.ts_ns.shape[0]
        if self.rate.shape != (n,) or self.mark.shape != (n,):
            raise ValueError("FundingRates: ts_ns, rate and mark must have the same length")
        if n > 1 and not np.all(np.diff(self.ts_ns) > 0):
            raise ValueError(f"FundingRates ({self.source}): settlement times must be strictly increasing")
        if not np.all(np.isfinite(self.rate)):
            raise ValueError(f"FundingRates ({self.source}): non-finite rate")

    def __len__(self) -> int:
        """Number of settlements."""
        return int(self.ts_ns.shape[0])

    def within(self, start_ns: int, end_ns: int) -> np.ndarray:
        """Indices of the settlements with ``start_ns < ts_ns <= end_ns``."""
        lo = np.searchsorted(self.ts_ns, start_ns, side="right")
        hi = np.searchsorted(self.ts_ns, end_ns, side="right")
        return np.arange(lo, hi)


def _make(rows: list[tuple[int, float, float]], source: str, path: str) -> FundingRates:
    if not rows:
        raise DataError(f"{path}: no funding rows")
    rows.sort(key=lambda r: r[0])
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    dup = np.flatnonzero(np.diff(ts) == 0)
    if dup.size:
        raise DataError(f"{path}: two funding rows at the same time {int(ts[dup[0]])} ns")
    return FundingRates(
        ts_ns=ts,
        rate=np.array([r[1] for r in rows], dtype=np.float64),
        mark=np.array([r[2] for r in rows], dtype=np.float64),
        source=f"{source}: {path}",
    )


def _read_text(path: str) -> str:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{path}: funding file not found ([data] funding)")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:4] == b"\x04\x22\x4d\x18":  # lz4 frame (Hyperliquid S3 archive)
        import lz4.frame

        raw = lz4.frame.decompress(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc})") from None


def _num(value, path: str, where: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: {where}: not a number: {value!r}") from None
    if not math.isfinite(x):
        raise DataError(f"{path}: {where}: not finite: {value!r}")
    return x


def _time_ns(value, path: str, where: str) -> int:
    """Epoch time in s, ms, µs or ns (by magnitude) or ISO-8601 text → ns."""
    try:
        t = int(float(value))
    except (TypeError, ValueError):
        import datetime as dt

        try:
            d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise DataError(f"{path}: {where}: not a time: {value!r}") from None
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.UTC)
        return int(round(d.timestamp() * 1e9))
    if t < 10**11:
        return t * 10**9
    if t < 10**14:
        return t * _MS
    if t < 10**17:
        return t * 1000
    return t


def load_funding(path: str, symbol: str | None = None) -> FundingRates:
    """Read a funding-rate file, detecting its kind (module docstring) from its content.

    Parameters
    ----------
    path : str
        JSON or CSV (optionally gzip or lz4), see the module docstring.
    symbol : str or None, default None
        Keep only rows of this coin/symbol (case-insensitive) when the file names one per row
        (``coin``, ``symbol``); ``None``: the file must hold one instrument.

    Returns
    -------
    FundingRates

    Raises
    ------
    DataError
        Missing or unreadable file, unknown layout, a bad number or time (file, line and
        column named), several instruments without ``symbol``, duplicate times, no rows.
    """
    text = _read_text(path)
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            obj = json.loads(stripped)
        except ValueError as exc:
            raise DataError(f"{path}: invalid JSON ({exc})") from None
        return _from_json(obj, path, symbol)
    return _from_csv(text, path, symbol)


def _pick(sym_of_row: str | None, symbol: str | None, seen: set, path: str, where: str) -> bool:
    if sym_of_row is None:
        return True
    s = sym_of_row.upper()
    if symbol is not None:
        return s == symbol.upper()
    seen.add(s)
    if len(seen) > 1:
        raise DataError(f"{path}: {where}: more than one instrument ({sorted(seen)}); set the symbol")
    return True


def _from_json(obj, path: str, symbol: str | None) -> FundingRates:
    if isinstance(obj, dict) and "data" in obj and isinstance(obj["data"], list):
        obj = obj["data"]
    if not isinstance(obj, list):
        raise DataError(f"{path}: expected a JSON list of funding records (fundingHistory / fundingRate)")
    rows: list[tuple[int, float, float]] = []
    seen: set[str] = set()
    kind = "json"
    for i, rec in enumerate(obj):
        where = f"record {i}"
        if not isinstance(rec, dict):
            raise DataError(f"{path}: {where}: not an object")
        if "fundingRate" in rec and "time" in rec:  # Hyperliquid fundingHistory
            kind = "hyperliquid_history"
            if not _pick(rec.get("coin"), symbol, seen, path, where):
                continue
            rows.append((_time_ns(rec["time"], path, where + ".time"),
                         _num(rec["fundingRate"], path, where + ".fundingRate"), math.nan))  # fmt: skip
        elif "fundingRate" in rec and "fundingTime" in rec:  # Binance REST
            kind = "binance_rest"
            if not _pick(rec.get("symbol"), symbol, seen, path, where):
                continue
            mark = rec.get("markPrice")
            rows.append((_time_ns(rec["fundingTime"], path, where + ".fundingTime"),
                         _num(rec["fundingRate"], path, where + ".fundingRate"),
                         _num(mark, path, where + ".markPrice") if mark not in (None, "") else math.nan))  # fmt: skip
        else:
            raise DataError(f"{path}: {where}: missing key fundingRate and time/fundingTime")
    return _make(rows, kind, path)


def _from_csv(text: str, path: str, symbol: str | None) -> FundingRates:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataError(f"{path}: empty funding file") from None
    cols = {h: i for i, h in enumerate(header)}

    def col(*names):
        for n in names:
            if n in cols:
                return cols[n]
        return None

    t_i = col("time_ms", "fundingTime", "calc_time", "time", "timestamp")
    r_i = col("fundingRate", "last_funding_rate", "funding", "funding_rate")
    if t_i is None or r_i is None:
        raise DataError(
            f"{path}: line 1: unknown funding CSV header {header} (expected e.g. coin,time_ms,fundingRate "
            "or symbol,fundingTime,fundingRate[,markPrice] or calc_time,funding_interval_hours,last_funding_rate "
            "or an asset_ctxs header with time,coin,funding,oracle_px)"
        )
    m_i = col("markPrice", "mark_price", "oracle_px", "oraclePx")
    s_i = col("coin", "symbol")
    ctxs = header[r_i] == "funding" and col("oracle_px", "oraclePx") is not None
    kind = "hyperliquid_asset_ctxs" if ctxs else (
        "binance_vision" if header[t_i] == "calc_time" else
        "binance_rest" if header[t_i] == "fundingTime" else "hyperliquid_history")  # fmt: skip
    rows: list[tuple[int, float, float]] = []
    seen: set[str] = set()
    for line, rec in enumerate(reader, 2):
        if not rec or not "".join(rec).strip():
            continue
        if len(rec) < len(header):
            raise DataError(f"{path}: line {line}: {len(rec)} columns, header has {len(header)}")
        if s_i is not None and not _pick(rec[s_i], symbol, seen, path, f"line {line}"):
            continue
        ts = _time_ns(rec[t_i], path, f"line {line}: {header[t_i]}")
        rate = _num(rec[r_i], path, f"line {line}: {header[r_i]}")
        mark = _num(rec[m_i], path, f"line {line}: {header[m_i]}") if m_i is not None and rec[m_i] else math.nan
        rows.append((ts, rate, mark))
    if ctxs:
        rows = _hourly_from_ctxs(rows, path)
    return _make(rows, kind, path)


def _hourly_from_ctxs(rows, path: str):
    """Asset-context series → one settlement per whole hour (latest context at or before it)."""
    if not rows:
        return rows
    rows.sort(key=lambda r: r[0])
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    first = -(-int(ts[0]) // _HOUR_NS) * _HOUR_NS
    out = []
    for h in range(first, int(ts[-1]) + 1, _HOUR_NS):
        k = int(np.searchsorted(ts, h, side="right")) - 1
        out.append((h, rows[k][1], rows[k][2]))
    return out


def load_asset_ctx(path: str, coin: str, meta_path: str | None = None, index: int | None = None) -> dict:
    """One Hyperliquid asset context (``funding``, ``oraclePx``, ``markPx`` ...) from a ws message.

    Parameters
    ----------
    path : str
        ``allDexsAssetCtxs`` (``data.ctxs = [[dex, [ctx...]], ...]``, main dex ``""``),
        ``webData2``-style ``assetCtxs`` list, or ``activeAssetCtx`` (``data.ctx``) JSON, gzip ok.
    coin : str
        The asset's name.
    meta_path : str or None, default None
        ``meta`` JSON whose ``universe`` order the contexts follow (they carry no names).
    index : int or None, default None
        Position of ``coin`` in the universe, when no meta file is given.

    Returns
    -------
    dict
        ``funding`` (hourly rate), ``oracle_px``, ``mark_px`` (floats) and ``raw`` (the dict).

    Raises
    ------
    DataError
        Unknown layout, coin not in the meta, index out of range, missing keys.
    """
    try:
        obj = json.loads(_read_text(path))
    except ValueError as exc:
        raise DataError(f"{path}: invalid JSON ({exc})") from None
    data = obj.get("data", obj) if isinstance(obj, dict) else obj
    if isinstance(data, dict) and "ctx" in data:
        ctx = data["ctx"]
    else:
        ctxs = data.get("ctxs", data.get("assetCtxs")) if isinstance(data, dict) else data
        if isinstance(ctxs, list) and ctxs and isinstance(ctxs[0], list):  # [[dex, [ctx...]]]
            main = [c for dex, c in ctxs if dex == ""]
            ctxs = main[0] if main else ctxs[0][1]
        if not isinstance(ctxs, list):
            raise DataError(f"{path}: no asset contexts (data.ctxs / assetCtxs / data.ctx)")
        if meta_path is not None:
            meta = json.loads(_read_text(meta_path))
            universe = meta["universe"] if isinstance(meta, dict) else meta[0]["universe"]
            names = [a.get("name", "").upper() for a in universe]
            if coin.upper() not in names:
                raise DataError(f"{meta_path}: coin {coin!r} not in the meta universe")
            index = names.index(coin.upper())
        if index is None:
            raise DataError(f"{path}: contexts carry no coin names: give meta_path or index for {coin!r}")
        if not 0 <= index < len(ctxs):
            raise DataError(f"{path}: context index {index} out of range (0..{len(ctxs) - 1})")
        ctx = ctxs[index]
    try:
        return {
            "funding": _num(ctx["funding"], path, "funding"),
            "oracle_px": _num(ctx["oraclePx"], path, "oraclePx"),
            "mark_px": _num(ctx["markPx"], path, "markPx"),
            "raw": ctx,
        }
    except KeyError as exc:
        raise DataError(f"{path}: asset context misses key {exc}") from None


def from_binance_markprice(paths, symbol: str | None = None) -> FundingRates | None:
    """Settlements announced by the ``markPrice`` stream of a Binance capture (module docstring).

    Parameters
    ----------
    paths : sequence of str
        The capture files in replay order (``<local_ts> <JSON>`` lines).
    symbol : str or None, default None
        Only this symbol's updates.

    Returns
    -------
    FundingRates or None
        ``None`` when the capture has no ``markPriceUpdate`` or none of its announced funding
        times falls inside it (no settlement happened while recording).

    Raises
    ------
    DataError
        A malformed ``markPriceUpdate`` (file and line named).
    """
    from venues.loaders.binance import open_text

    want = symbol.upper() if symbol else None
    upd: list[tuple[int, int, float, float]] = []  # (E ns, T ns, r, p)
    for path in paths:
        with open_text(path) as fh:
            for line, raw in enumerate(fh, 1):
                if "markPriceUpdate" not in raw:
                    continue
                try:
                    d = json.loads(raw[raw.find(" ") + 1 :])["data"]
                    if want is not None and str(d.get("s", "")).upper() != want:
                        continue
                    upd.append((int(d["E"]) * _MS, int(d["T"]) * _MS, float(d["r"]), float(d["p"])))
                except (KeyError, ValueError, TypeError) as exc:
                    raise DataError(
                        f"{path}: line {line}: malformed markPriceUpdate ({type(exc).__name__}: {exc})"
                    ) from None
    if not upd:
        return None
    return _settlements(upd, "binance_markprice", ", ".join(str(p) for p in paths))


def _settlements(upd, kind: str, where: str) -> FundingRates | None:
    """Announcements ``(ts, next_funding_ts, rate, mark)`` → the settlements reached while recording.

    For each announced funding time ``T`` not after the last announcement: the rate of the last
    announcement of ``T`` stamped strictly before ``T``, the mark of the last one at or before ``T``.
    """
    upd = sorted(upd, key=lambda u: u[0])
    e = np.array([u[0] for u in upd], dtype=np.int64)
    rows = []
    for t in sorted({u[1] for u in upd if u[1] > 0}):
        if t > e[-1]:
            continue  # announced but not reached while recording
        before = [u for u in upd if u[1] == t and u[0] < t]
        if not before:
            continue
        k = int(np.searchsorted(e, t, side="right")) - 1
        marks = [u[3] for u in upd[: k + 1] if math.isfinite(u[3])]
        rows.append((t, before[-1][2], marks[-1] if marks else math.nan))
    if not rows:
        return None
    return _make(rows, kind, where)


def from_tardis_derivative_ticker(paths, symbol: str | None = None) -> FundingRates | None:
    """Settlements in tardis.dev ``derivative_ticker`` CSVs (``funding_timestamp`` = next funding
    time, ``funding_rate``, ``mark_price``), by the same rule as :func:`from_binance_markprice`.

    Parameters
    ----------
    paths : sequence of str
        ``derivative_ticker`` files (other tardis files are skipped by their header).
    symbol : str or None, default None

    Returns
    -------
    FundingRates or None
        ``None`` when no file is a ``derivative_ticker`` or no settlement was reached.

    Raises
    ------
    DataError
        From :func:`venues.loaders.tardis.funding_arrays`.
    """
    from venues.loaders._common import open_text

    ticker = []
    for p in paths:
        try:
            with open_text(p) as fh:
                head = fh.readline()
        except (OSError, ValueError, EOFError):
            continue
        if "funding_rate" in head and "funding_timestamp" in head:
            ticker.append(str(p))
    if not ticker:
        return None
    from venues.loaders.tardis import funding_arrays

    ts, rate, mark, nxt = funding_arrays(ticker, symbol)
    upd = list(zip(ts.tolist(), nxt.tolist(), rate.tolist(), mark.tolist(), strict=True))
    return _settlements(upd, "tardis_derivative_ticker", ", ".join(ticker)) if upd else None


def detect_funding(fmt: str, paths, symbol: str | None, funding_path: str | None) -> FundingRates | None:
    """The funding data of a run: ``[data] funding`` if given, else what the capture holds.

    Parameters
    ----------
    fmt : str
        ``DataConfig.format``.
    paths : sequence of str
        The capture files.
    symbol : str or None
        The instrument (filters multi-instrument funding files).
    funding_path : str or None
        ``DataConfig.funding``.

    Returns
    -------
    FundingRates or None
        ``None`` when there is no funding file and the capture records none (Binance captures
        without a ``markPrice`` stream, Hyperliquid book archives).

    Raises
    ------
    DataError
        From :func:`load_funding` / :func:`from_binance_markprice`.
    """
    if funding_path:
        tardis = from_tardis_derivative_ticker([funding_path], symbol)
        return tardis if tardis is not None else load_funding(funding_path, symbol)
    if fmt == "binance_ws":
        return from_binance_markprice(paths, symbol)
    if fmt == "tardis_csv":
        return from_tardis_derivative_ticker(paths, symbol)
    return None


def attach_funding(cfg, feed):
    """Attach the run's recorded funding (:func:`detect_funding`) to a loaded feed.

    When the feed's venue has funding (Binance futures, Hyperliquid perps) and its span covers
    a nominal funding time with no recorded rate, a warning saying so is added to
    ``feed.warnings`` (which the CLI prints at start; never a silent zero).

    Parameters
    ----------
    cfg : venues.loaders.DataConfig
    feed : venues.loaders.Feed

    Returns
    -------
    venues.loaders.Feed
        A copy with ``funding`` set (``None`` when there is none).

    Raises
    ------
    DataError
        An unreadable funding file (named).
    """
    paths = [str(Path(p).expanduser()) for p in cfg.paths]
    rates = detect_funding(cfg.format, paths, feed.meta.symbol or cfg.symbol, getattr(cfg, "funding", None))
    ev = feed.events
    notes = list(feed.warnings)
    if ev.size:
        start, end = int(ev["ts_local_ns"][0]), int(ev["ts_local_ns"][-1])
        due = nominal_funding_times(feed.meta.venue, start, end)
        if due.size and (rates is None or rates.within(start - _HOUR_NS, end).size == 0):
            import datetime as dt

            first = dt.datetime.fromtimestamp(int(due[0]) / 1e9, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            msg = (
                f"funding: the data span {due.size} funding time(s) of {feed.meta.venue} "
                f"(first {first}) but no funding rates were found for {feed.meta.symbol or 'the symbol'}; "
                "cost_funding will not include them (set [data] funding = PATH)"
            )
            if msg not in notes:
                notes.append(msg)
    return attrs.evolve(feed, funding=rates, warnings=tuple(notes))
