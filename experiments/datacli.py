"""``mmsim data inspect FILE...`` and ``mmsim data convert IN... --to OUT``.

``inspect`` detects each file's format (:func:`detect_format`), loads it and prints the format,
rows, time span, symbol, venue, tick/lot and every data problem (``FILE:ROW: level:
message``, the same checks as ``mmsim validate``). Funding files (tardis.dev
``derivative_ticker``, Hyperliquid ``asset_ctxs``) and candle files (OHLCV) are summarised by
their own readers. ``--json`` prints one JSON object instead.

``convert`` loads market-data files (format detected, or ``--format``) and writes them as
mmsim's event file (``.npz`` with events + BBO, or ``.parquet`` with events;
:mod:`venues.loaders.native`), which ``[data] format = "mmsim_events"`` reads back. An existing
output is kept unless ``--force``; the output appears complete or not at all.

Exit codes: 0 ok (warnings allowed), 2 unreadable/unknown file or a data error.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_parser", "detect_format", "inspect_file", "main"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _head(path: str, n_bytes: int = 1 << 16) -> str:
    from venues.loaders._common import open_binary

    with open_binary(path) as fh:
        raw = fh.read(n_bytes)
    return raw.decode("utf-8", errors="replace")


def detect_format(path: str) -> str:
    """Format of a data file from its content (never its name).

    Returns
    -------
    str
        A :data:`venues.loaders.FORMATS` entry, or ``"ohlcv"`` (candles),
        ``"tardis_derivative_ticker"`` / ``"hyperliquid_asset_ctxs"`` (funding series).

    Raises
    ------
    venues.loaders.DataError
        Missing file, or a content that matches no known format (names line 1).
    """
    from venues.loaders import DataError

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{path}: data file not found")
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic == b"PAR1":
        return "mmsim_events"
    if magic[:2] == b"PK":
        try:
            with np.load(p, allow_pickle=False) as z:
                return "mmsim_events" if "events" in z.files and "meta" in z.files else "hftbacktest_npz"
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: row 0: unreadable .npz ({exc})") from None
    try:
        text = _head(path)
    except (OSError, EOFError, RuntimeError) as exc:
        raise DataError(f"{path}: line 1: unreadable ({type(exc).__name__}: {exc})") from None
    first = text.split("\n", 1)[0].strip()
    low = first.lower()
    if text.lstrip().startswith("[["):
        return "ohlcv"
    if low.startswith(("http", "www.")) or "cryptodatadownload" in low:
        return "ohlcv"
    header = [h.strip() for h in next(csv.reader(io.StringIO(first)), [])]
    from venues.loaders.tardis import detect_kind

    kind = detect_kind(header) if header else None
    if kind == "derivative_ticker":
        return "tardis_derivative_ticker"
    if kind is not None:
        return "tardis_csv"
    hl = {h.lower() for h in header}
    if {"time", "coin", "funding", "mark_px"} <= hl:
        return "hyperliquid_asset_ctxs"
    if "bid_price_0" in hl or "trade_id" in hl or {"price", "size", "side", "exchange_timestamp"} <= hl:
        return "hyperliquid_collector"
    if {"open", "high", "low", "close"} <= hl:
        return "ohlcv"
    sp = first.find(" ")
    if sp > 0 and first[:sp].isdigit():
        try:
            msg = json.loads(first[sp + 1:])
        except ValueError:
            msg = None
        if isinstance(msg, dict):
            if "channel" in msg:
                return "hyperliquid_ws"
            if "stream" in msg or "lastUpdateId" in msg:
                return "binance_ws"
    try:
        rec = json.loads(first)
    except ValueError:
        rec = None
    if isinstance(rec, dict):
        if "raw" in rec and "time" in rec:
            return "hyperliquid_archive"
        if "events" in rec and "block_number" in rec:
            return "hyperliquid_node_fills"
        if "side_info" in rec:
            return "hyperliquid_node_trades"
    if isinstance(rec, list) and len(rec) == 2 and isinstance(rec[1], dict) and "tid" in rec[1]:
        return "hyperliquid_node_fills"
    raise DataError(
        f"{path}: line 1: unknown data format ({first[:80]!r}); known: Binance websocket captures, "
        "Hyperliquid archive/websocket/collector/node files, tardis.dev CSV, hftbacktest .npz, "
        "mmsim event files, OHLCV candles (freqtrade, CryptoDataDownload, plain CSV)"
    )


def _iso(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns").astype("datetime64[ms]")) + "Z"


def _span(ts: np.ndarray) -> dict[str, Any]:
    if ts.size == 0:
        return {"first": None, "last": None, "seconds": 0.0}
    return {"first": _iso(ts.min()), "last": _iso(ts.max()), "seconds": float(ts.max() - ts.min()) / 1e9}


def inspect_file(path: str, fmt: str | None = None, symbol: str | None = None) -> dict[str, Any]:
    """Summary of one data file (what ``mmsim data inspect`` prints).

    Returns
    -------
    dict
        ``file``, ``format``, ``rows`` (dict of counts), ``span`` (``first``/``last`` ISO UTC,
        ``seconds``), ``symbols``, ``venue`` (feeds), ``tick_size``/``lot_size`` (feeds),
        ``problems`` (list of ``FILE:ROW: level: message`` strings), ``ok`` (no error).
    """
    from experiments.datacheck import feed_problems, problem_from_error
    from venues.loaders import DataConfig, DataError, parse_feed

    out: dict[str, Any] = {"file": path, "format": fmt, "rows": {}, "span": _span(np.empty(0, np.int64)),
                           "symbols": [], "problems": [], "ok": True}
    try:
        fmt = fmt or detect_format(path)
        out["format"] = fmt
        if fmt == "ohlcv":
            from signals.data import read_ohlcv

            c = read_ohlcv(path)
            out["layout"] = c.layout
            out["rows"] = {"candles": int(c.ts_ns.size)}
            out["span"] = _span(c.ts_ns)
            if c.ts_ns.size > 1:
                out["interval_s"] = float(np.diff(c.ts_ns).min()) / 1e9
            out["problems"] = [f"{w.split(': ', 1)[0]}: warning: {w.split(': ', 1)[1]}" for w in c.warnings]
        elif fmt == "tardis_derivative_ticker":
            from venues.loaders.tardis import load_derivative_ticker

            t = load_derivative_ticker(path, symbol)
            out["symbols"], out["venue"] = [t.symbol], t.exchange
            out["rows"] = {"ticker": int(t.ts_ns.size), "with_funding_rate": int(np.isfinite(t.funding_rate).sum()),
                           "with_mark_price": int(np.isfinite(t.mark_px).sum())}
            out["span"] = _span(t.ts_ns)
        elif fmt == "hyperliquid_asset_ctxs":
            out.update(_inspect_asset_ctxs(path, symbol))
        else:
            feed = parse_feed(DataConfig(format=fmt, paths=(path,), symbol=symbol))
            ev = feed.events
            k = ev["kind"]
            out["rows"] = {"depth": int((k == 1).sum()), "trade": int((k == 2).sum()),
                           "clear": int((k == 3).sum()), "bbo": int(feed.bbo.size)}
            out["span"] = _span(ev["ts_local_ns"])
            out["symbols"] = [feed.meta.symbol]
            out["venue"] = feed.meta.venue
            out["tick_size"], out["lot_size"] = feed.meta.tick_size, feed.meta.lot_size
            out["problems"] = [str(p) for p in feed_problems(feed)]
    except DataError as exc:
        m = re.search(r"more than one (?:symbol|coin) .*?\((\[[^\]]*\])", str(exc))
        if m and symbol is None:  # a multi-instrument file: list them, let the user pick one
            import ast

            out["symbols"] = list(ast.literal_eval(m.group(1)))
            out["problems"].append(f"{path}: warning: several instruments (at least {', '.join(out['symbols'])}); "
                                   "pass --symbol to inspect one")
        else:
            out["ok"] = False
            out["problems"].append(str(problem_from_error(exc)))
    return out


def _inspect_asset_ctxs(path: str, symbol: str | None) -> dict[str, Any]:
    from venues.loaders._common import open_text
    from venues.loaders.hyperliquid import load_asset_ctxs

    with open_text(path) as fh:
        rd = csv.reader(fh)
        header = [h.strip() for h in next(rd)]
        ci = header.index("coin")
        coins = sorted({r[ci] for r in rd if r})
    res: dict[str, Any] = {"symbols": coins, "venue": "hyperliquid"}
    if symbol or len(coins) == 1:
        a = load_asset_ctxs(path, symbol or coins[0])
        res["rows"] = {"asset_ctxs": int(a.ts_ns.size)}
        res["span"] = _span(a.ts_ns)
    return res


def _print_inspect(info: dict[str, Any]) -> None:
    print(f"{info['file']}")
    print(f"  format   {info['format']}" + (f" ({info['layout']})" if info.get("layout") else ""))
    rows = ", ".join(f"{k} {v:,}" for k, v in info["rows"].items()) or "-"
    print(f"  rows     {rows}")
    sp = info["span"]
    if sp["first"]:
        print(f"  span     {sp['first']} → {sp['last']} ({sp['seconds']:.3f} s)")
    if info.get("interval_s"):
        print(f"  interval {info['interval_s']:g} s")
    if info["symbols"]:
        print(f"  symbols  {', '.join(info['symbols'])}" + (f" (venue {info['venue']})" if info.get("venue") else ""))
    if info.get("tick_size") is not None:
        print(f"  tick/lot {info['tick_size']:g} / {info['lot_size']:g}")
    print(f"  problems {len(info['problems'])}")
    for p in info["problems"]:
        print(f"    {p}")


def _cmd_inspect(args: argparse.Namespace) -> int:
    infos = [inspect_file(f, args.format, args.symbol) for f in args.files]
    if args.json:
        print(json.dumps(infos if len(infos) > 1 else infos[0], indent=2, default=str))
    else:
        for info in infos:
            _print_inspect(info)
    return EXIT_OK if all(i["ok"] for i in infos) else EXIT_BAD_INPUT


def _cmd_convert(args: argparse.Namespace) -> int:
    from venues.loaders import FORMATS, DataConfig, DataError, parse_feed
    from venues.loaders.native import write

    try:
        fmts = {args.format} if args.format else {detect_format(f) for f in args.files}
        if len(fmts) != 1 or next(iter(fmts)) not in FORMATS:
            raise DataError(f"{', '.join(args.files)}: convert needs market-data files of one format "
                            f"(detected {sorted(fmts)}; candles and funding series are not events)")
        fmt = fmts.pop()
        feed = parse_feed(DataConfig(format=fmt, paths=tuple(args.files), symbol=args.symbol))
        out = write(feed, args.to, force=args.force)
    except (DataError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {out} ({feed.events.size:,} events, {feed.bbo.size:,} bbo rows, format {fmt}, "
          f"symbol {feed.meta.symbol}); read it with [data] format = \"mmsim_events\"")
    for w in feed.warnings:
        print(f"  warning: {w}", file=sys.stderr)
    return EXIT_OK


def add_parser(sub: Any) -> None:
    """Add the ``data`` command (``inspect``, ``convert``) to an argparse sub-parser set."""
    d = sub.add_parser("data", help="inspect or convert market-data files")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    i = dsub.add_parser("inspect", help="format, rows, span, symbols and problems of data files")
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--format", default=None, help="skip detection (a [data] format name)")
    i.add_argument("--symbol", default=None, help="instrument to keep in multi-symbol files")
    i.add_argument("--json", action="store_true", help="print JSON")
    c = dsub.add_parser("convert", help="write market-data files as mmsim's .npz/.parquet event file")
    c.add_argument("files", nargs="+", metavar="IN")
    c.add_argument("--to", required=True, metavar="OUT", help="output file, .npz or .parquet")
    c.add_argument("--format", default=None, help="skip detection (a [data] format name)")
    c.add_argument("--symbol", default=None, help="instrument to keep")
    c.add_argument("--force", action="store_true", help="replace OUT if it exists")


def main(args: argparse.Namespace) -> int:
    """Run ``mmsim data ACTION`` from parsed arguments; returns the exit code."""
    return _cmd_inspect(args) if args.data_command == "inspect" else _cmd_convert(args)
