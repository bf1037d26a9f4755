"""Hyperliquid market data (S3 archive, raw websocket lines, collector CSVs) → events.

Formats
-------
``hyperliquid_archive``
    Hyperliquid's S3 archive ``market_data/<date>/<hour>/l2Book/<coin>.lz4`` (read as
    published, LZ4 frame through the ``lz4`` package; decompressed or gzip accepted too): JSONL,
    one full snapshot per line. ``time`` = local capture time (ISO-8601 UTC,
    up to ns, no zone or ``Z``), ``raw.data.time`` = exchange time (ms),
    ``raw.data.levels = [bids (desc), asks (asc)]`` of ``{px, sz, n}`` strings.
``hyperliquid_ws``
    hftbacktest collector lines ``<local_ns> <JSON>``: ``{"channel": "l2Book", "data":
    {coin, levels, time}}`` (full snapshot) or ``{"channel": "trades", "data": [{coin, px,
    side, sz, tid, time}]}`` (``side`` ``"B"`` = taker buy, ``"A"`` = taker sell; ms times).
``hyperliquid_collector``
    CSVs of the Hyperliquid_data_collector, detected by header: ``orderbooks_*``
    (``timestamp`` local float s, ``sequence``, ``exchange_timestamp`` ms,
    ``bid_price_i, bid_size_i, ask_price_i, ask_size_i``), ``trades_*`` (``timestamp, price,
    size, side (buy/sell = taker), trade_id, exchange_timestamp``), ``prices_*`` (BBO updates
    ``timestamp, price, size, side (bid/ask), exchange_timestamp``).

``hyperliquid_node_fills``
    The node's fill stream as published in ``s3://hl-mainnet-node-data``:
    ``node_fills/hourly/<date>/<hour>.lz4`` (each line ``[user, fill]``) or
    ``node_fills_by_block/hourly/<date>/<hour>.lz4`` (each line ``{local_time, block_time,
    block_number, events: [[user, fill], ...]}``); both may be mixed. A fill is ``{coin, px,
    sz, side, time (ms), crossed, tid, ...}``; every trade appears once per counterparty, so
    the trade tape is the **taker's** fill of each trade (``crossed: true``): ``side`` ``"B"``
    = taker buy, ``tid`` = trade id. ``ts_exch_ns`` = ``time``; ``ts_local_ns`` = the block's
    ``local_time`` (the node's receive time) when given, else ``time``.
``hyperliquid_node_trades``
    ``node_trades/hourly/<date>/<hour>.lz4``: one JSON object per trade, ``{coin, side
    (taker, "B"/"A"), time (naive ISO UTC), px, sz, hash, trade_dir_override, side_info:
    [buyer, seller]}``. No trade id is published: ``trade_id`` is a 63-bit BLAKE2b hash of
    ``hash``, both ``oid`` s, ``px`` and ``sz`` (exact re-deliveries are dropped with a
    warning). Both timestamps are ``time``.

The node formats carry trades only (no book): a feed of them alone is book-only's opposite
and :func:`venues.loaders.load_feed` warns about it through the data checks. Asset contexts
(funding, mark, open interest; ``asset_ctxs/<date>.csv.lz4``) are not events: read them with
:func:`load_asset_ctxs` / :func:`funding_arrays`.

Every snapshot becomes ``CLEAR(0)`` + ``DEPTH`` rows at its local time. Snapshot levels must
have positive sizes. Prices are USD(C), sizes coin units. Local float-second timestamps are
converted to ns from their decimal text (no float rounding).

Collector trade timestamps (documented quirk): the collector stamps trades with its local time,
which at start-up lags ``exchange_timestamp`` by seconds (it catches up on a backlog). We keep
the recorded local time as ``ts_local_ns`` — that *is* when the data was available locally,
it is monotone in the file, and sim time is the local time for every feed — and emit one
warning counting trades whose local time exceeds exchange time by more than 1 s. Collector BBO
rows (``prices_*``) are one side per row; they are combined into ``BBO_DTYPE`` rows by carrying
the other side forward, starting once both sides have been seen.

Validation: local timestamps going backwards within a file → :class:`DataError` (none in the
shared data). Trade ids must be unique (Hyperliquid ``tid``), with one documented exception: the
collector occasionally writes the same trade twice a few ms apart (a re-delivery: identical
``trade_id``, price, size, side and ``exchange_timestamp``; seen once in each of the shared ETH
and SOL trade files). The later copy is dropped and a warning records it; two rows with the same
id but different content are a :class:`DataError`.

See Also
--------
venues.loaders.binance : Binance captures.
venues.hyperliquid : price/size validity rules (szDecimals).

References
----------
Hyperliquid Docs, "Historical data" (S3 archive: ``market_data``, ``asset_ctxs``, node fills),
"Nodes → L1 data schemas" (``node_trades``, fills) and "WebSocket → Subscriptions"
(``l2Book``, ``trades``), hyperliquid.gitbook.io; "Funding" (hourly settlement).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import attrs
import numpy as np

from engine.feed import TRADE
from venues.loaders._common import (
    Builder,
    DataError,
    Parsed,
    bbo_array,
    check_local_order,
    drop_redelivered_trades,
    open_text,
)

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$")
_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


def iso_to_ns(s: str) -> int:
    """ISO-8601 UTC timestamp (``YYYY-MM-DDTHH:MM:SS[.fffffffff][Z]``) → ns since the epoch."""
    m = _ISO.match(s)
    if m is None:
        raise ValueError(f"not an ISO-8601 UTC timestamp: {s!r}")
    sec = int((np.datetime64(m.group(1), "s") - _EPOCH).astype(np.int64))
    frac = (m.group(2) or "").ljust(9, "0")
    return sec * 1_000_000_000 + int(frac or 0)


def seconds_to_ns(s: str) -> int:
    """Decimal seconds text (``1756904112.7963579``) → integer ns, exactly."""
    s = s.strip()
    if "e" in s or "E" in s:
        return int(round(float(s) * 1e9))
    whole, _, frac = s.partition(".")
    return int(whole) * 1_000_000_000 + int((frac[:9]).ljust(9, "0") or 0)


def _book(b: Builder, levels, ts, ts_e, fidx, line) -> None:
    bids, asks = levels[0], levels[1]
    b.clear(ts, ts_e, 0, fidx, line)
    b.levels(ts, ts_e, 1, [float(x["px"]) for x in bids], [float(x["sz"]) for x in bids],
             fidx, line, False)
    b.levels(ts, ts_e, -1, [float(x["px"]) for x in asks], [float(x["sz"]) for x in asks],
             fidx, line, False)


class _Sym:
    def __init__(self, want):
        self.want = want.upper() if want else None
        self.seen: set[str] = set()

    def keep(self, coin, path, line) -> bool:
        if coin is None:
            return True
        if self.want is not None:
            return coin.upper() == self.want
        if coin not in self.seen:
            self.seen.add(coin)
            if len(self.seen) > 1:
                raise DataError(
                    f"{path}: line {line}: more than one coin ({sorted(self.seen)}); set "
                    "DataConfig.symbol"
                )
        return True

    def name(self) -> str:
        return self.want or (next(iter(self.seen)) if self.seen else "")


def _each_line(paths, what, parse):
    """Call ``parse(raw, fidx, path, line, prev_ts)`` on every non-blank line of every file.

    ``parse`` returns the line's local timestamp (ns) once it checked its order against
    ``prev_ts``, or ``None`` for a line it skipped. A parse error becomes a :class:`DataError`
    naming the file, the line and ``what`` the line should have been.
    """
    for fidx, path in enumerate(paths):
        prev = -(2**63)
        with open_text(path) as fh:
            for line, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    ts = parse(raw, fidx, path, line, prev)
                except DataError:
                    raise
                except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
                    raise DataError(f"{path}: line {line}: malformed {what} ({type(exc).__name__}: {exc})") from None
                if ts is not None:
                    prev = ts


def _archive(paths, b, sym):
    def parse(raw, fidx, path, line, prev):
        rec = json.loads(raw)
        ts = iso_to_ns(rec["time"])
        data = rec["raw"]["data"]
        if rec["raw"].get("channel", "l2Book") != "l2Book" or not sym.keep(data.get("coin"), path, line):
            return None
        check_local_order(ts, prev, paths, fidx, line)
        _book(b, data["levels"], ts, int(data["time"]) * 1_000_000, fidx, line)
        return ts

    _each_line(paths, "l2Book archive record", parse)


def _ws(paths, b, sym):
    def parse(raw, fidx, path, line, prev):
        sp = raw.find(" ")
        ts = int(raw[:sp])
        msg = json.loads(raw[sp + 1 :])
        check_local_order(ts, prev, paths, fidx, line)
        ch = msg.get("channel")
        data = msg.get("data")
        if ch == "l2Book":
            if sym.keep(data.get("coin"), path, line):
                _book(b, data["levels"], ts, int(data["time"]) * 1_000_000, fidx, line)
        elif ch == "trades":
            for t in data:
                if sym.keep(t.get("coin"), path, line):
                    b.row(ts, int(t["time"]) * 1_000_000, float(t["px"]), float(t["sz"]),
                          int(t["tid"]), TRADE, _taker_side(t), fidx, line)
        return ts

    _each_line(paths, "websocket line", parse)


def _taker_side(t) -> int:
    """+1 for a buy taker (``side == "B"``), -1 for a sell taker (``"A"``); ValueError otherwise."""
    side = {"B": 1, "A": -1}.get(t["side"])
    if side is None:
        raise ValueError(f"key side: {t['side']!r} is not 'B' or 'A'")
    return side


def _collector(paths, b, sym, warnings):
    bbo_rows: list[tuple] = []
    for fidx, path in enumerate(paths):
        m = re.match(r"^(?:orderbooks|trades|prices)_([A-Za-z0-9]+)\.csv", Path(path).name)
        coin = m.group(1) if m else None
        if coin is not None and not sym.keep(coin, path, 1):
            continue
        with open_text(path) as fh:
            rd = csv.reader(fh)
            try:
                header = next(rd)
            except StopIteration:
                raise DataError(f"{path}: line 1: empty file (no CSV header)") from None
            col = {h.strip(): i for i, h in enumerate(header)}
            if "bid_price_0" in col:
                kind = "book"
                nlev = 0
                while f"bid_price_{nlev}" in col:
                    nlev += 1
                lev_cols = [
                    (col[f"bid_price_{i}"], col[f"bid_size_{i}"],
                     col[f"ask_price_{i}"], col[f"ask_size_{i}"]) for i in range(nlev)
                ]
            elif "trade_id" in col:
                kind = "trades"
            elif {"price", "size", "side"} <= set(col):
                kind = "prices"
            else:
                raise DataError(
                    f"{path}: line 1: unrecognised collector CSV header {header[:6]} (expected "
                    "orderbooks_*, trades_* or prices_* columns)"
                )
            prev = -(2**63)
            n_lag = 0
            max_lag = 0
            last_b = last_a = None
            for line, row in enumerate(rd, 2):
                if not row:
                    continue
                try:
                    ts = seconds_to_ns(row[col["timestamp"]])
                    ts_e = int(float(row[col["exchange_timestamp"]])) * 1_000_000
                    check_local_order(ts, prev, paths, fidx, line)
                    prev = ts
                    if kind == "book":
                        bp, bq, ap, aq = [], [], [], []
                        for ib, ibs, ia, ias in lev_cols:
                            if row[ib] != "":
                                bp.append(float(row[ib]))
                                bq.append(float(row[ibs]))
                            if row[ia] != "":
                                ap.append(float(row[ia]))
                                aq.append(float(row[ias]))
                        b.clear(ts, ts_e, 0, fidx, line)
                        b.levels(ts, ts_e, 1, bp, bq, fidx, line, False)
                        b.levels(ts, ts_e, -1, ap, aq, fidx, line, False)
                    elif kind == "trades":
                        s = row[col["side"]].strip().lower()
                        side = {"buy": 1, "sell": -1, "b": 1, "a": -1}.get(s)
                        if side is None:
                            raise ValueError(f"key side: {s!r} is not buy/sell")
                        b.row(ts, ts_e, float(row[col["price"]]), float(row[col["size"]]),
                              int(row[col["trade_id"]]), TRADE, side, fidx, line)
                        lag = ts - ts_e
                        if lag > 1_000_000_000:
                            n_lag += 1
                            max_lag = max(max_lag, lag)
                    else:
                        s = row[col["side"]].strip().lower()
                        px, q = float(row[col["price"]]), float(row[col["size"]])
                        if s == "bid":
                            last_b = (px, q)
                        elif s == "ask":
                            last_a = (px, q)
                        else:
                            raise ValueError(f"key side: {s!r} is not bid/ask")
                        if last_b is not None and last_a is not None:
                            bbo_rows.append((ts, ts_e, -1, *last_b, *last_a))
                except DataError:
                    raise
                except (ValueError, KeyError, IndexError) as exc:
                    raise DataError(
                        f"{path}: line {line}: malformed {kind} row ({type(exc).__name__}: {exc})"
                    ) from None
            if n_lag:
                warnings.append(
                    f"{path}: {n_lag} trade(s) stamped locally more than 1 s after their "
                    f"exchange_timestamp (max {max_lag / 1e9:.3f} s): collector catch-up at "
                    "start; ts_local_ns keeps the recorded local time"
                )
    return bbo_rows


def _fill_row(b: Builder, fill: dict, ts_local: int | None, fidx: int, line: int) -> None:
    ts_e = int(fill["time"]) * 1_000_000
    b.row(ts_e if ts_local is None else ts_local, ts_e, float(fill["px"]), float(fill["sz"]),
          int(fill["tid"]), TRADE, _taker_side(fill), fidx, line)


def _node_fills(paths, b, sym, warnings):
    n_maker = 0
    for fidx, path in enumerate(paths):
        prev = -(2**63)
        with open_text(path) as fh:
            for line, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                    if isinstance(rec, dict):  # node_fills_by_block
                        ts_l = iso_to_ns(rec["local_time"]) if rec.get("local_time") else None
                        events = rec["events"]
                    else:  # node_fills: [user, fill]
                        ts_l, events = None, [rec]
                    for _user, fill in events:
                        if not fill.get("crossed", False):
                            n_maker += 1
                            continue
                        if not sym.keep(fill.get("coin"), path, line):
                            continue
                        t = ts_l if ts_l is not None else int(fill["time"]) * 1_000_000
                        check_local_order(t, prev, paths, fidx, line)
                        prev = t
                        _fill_row(b, fill, ts_l, fidx, line)
                except DataError:
                    raise
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise DataError(
                        f"{path}: line {line}: malformed node fill record ({type(exc).__name__}: {exc})"
                    ) from None
    if n_maker:
        warnings.append(f"{n_maker} maker-side fill(s) (crossed=false) skipped: each trade is kept once, "
                        "as its taker's fill")


def _trade_hash(t: dict) -> int:
    import hashlib

    oids = ":".join(str(x.get("oid")) for x in t.get("side_info", []))
    key = f"{t.get('hash')}:{oids}:{t['px']}:{t['sz']}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") & ((1 << 63) - 1)


def _node_trades(paths, b, sym):
    def parse(raw, fidx, path, line, prev):
        t = json.loads(raw)
        if not sym.keep(t.get("coin"), path, line):
            return None
        side = _taker_side(t)
        ts = iso_to_ns(t["time"])
        check_local_order(ts, prev, paths, fidx, line)
        b.row(ts, ts, float(t["px"]), float(t["sz"]), _trade_hash(t), TRADE, side, fidx, line)
        return ts

    _each_line(paths, "node_trades record", parse)


ASSET_CTX_COLUMNS = ("time", "coin", "funding", "open_interest", "prev_day_px", "day_ntl_vlm", "premium",
                     "oracle_px", "mark_px", "mid_px", "impact_bid_px", "impact_ask_px")
"""Columns of the S3 archive's ``asset_ctxs/<date>.csv.lz4`` (one row per coin per minute)."""

HOUR_NS = 3_600_000_000_000


@attrs.frozen(kw_only=True)
class AssetCtxs:
    """Hyperliquid asset contexts of one coin, ascending in time.

    Attributes
    ----------
    coin : str
    ts_ns : ndarray of int64
        Snapshot time, ns since the epoch (the archive's ``time``, whole seconds UTC).
    funding : ndarray of float64
        The running hourly funding rate (decimal fraction per hour; positive = longs pay) of
        the settlement that closes the current hour.
    mark_px, oracle_px, mid_px : ndarray of float64
        USD(C); NaN where empty.
    open_interest : ndarray of float64
        Coin units.
    premium : ndarray of float64
    """

    coin: str
    ts_ns: np.ndarray = attrs.field(eq=False)
    funding: np.ndarray = attrs.field(eq=False)
    mark_px: np.ndarray = attrs.field(eq=False)
    oracle_px: np.ndarray = attrs.field(eq=False)
    mid_px: np.ndarray = attrs.field(eq=False)
    open_interest: np.ndarray = attrs.field(eq=False)
    premium: np.ndarray = attrs.field(eq=False)


def _num(x) -> float:
    return float(x) if x not in (None, "") else float("nan")


def load_asset_ctxs(paths: str | list[str], coin: str) -> AssetCtxs:
    """Read Hyperliquid ``asset_ctxs`` archive CSVs (``asset_ctxs/<date>.csv.lz4``) for one coin.

    Parameters
    ----------
    paths : str or list of str
        Daily files (LZ4 as published, gzip or plain), any order.
    coin : str
        Coin name (``BTC``), case-insensitive.

    Returns
    -------
    AssetCtxs
        Rows of ``coin`` sorted by time (stable).

    Raises
    ------
    DataError
        Header not the documented 12 columns, malformed row or timestamp, or no row of
        ``coin``; the message names the file and line.
    """
    paths = [paths] if isinstance(paths, str) else list(paths)
    want = coin.upper()
    rows: list[tuple] = []
    for path in paths:
        with open_text(path) as fh:
            rd = csv.reader(fh)
            header = [h.strip() for h in next(rd, [])]
            missing = [c for c in ("time", "coin", "funding", "mark_px") if c not in header]
            if missing:
                raise DataError(f"{path}: line 1: not a Hyperliquid asset_ctxs CSV (missing column(s) "
                                f"{missing}; expected {','.join(ASSET_CTX_COLUMNS)})")
            col = {h: i for i, h in enumerate(header)}
            for line, row in enumerate(rd, 2):
                if not row or row[col["coin"]].upper() != want:
                    continue
                try:
                    rows.append((iso_to_ns(row[col["time"]]), *(
                        _num(row[col[c]]) if c in col else float("nan")
                        for c in ("funding", "mark_px", "oracle_px", "mid_px", "open_interest", "premium"))))
                except (ValueError, IndexError) as exc:
                    raise DataError(f"{path}: line {line}: malformed asset_ctxs row ({exc})") from None
    if not rows:
        raise DataError(f"{', '.join(paths)}: no asset_ctxs rows for coin {coin!r}")
    arr = np.array(rows, dtype=object)
    ts = arr[:, 0].astype(np.int64)
    order = np.argsort(ts, kind="stable")
    f = [arr[order, i].astype(np.float64) for i in range(1, 7)]
    return AssetCtxs(coin=want, ts_ns=ts[order], funding=f[0], mark_px=f[1], oracle_px=f[2], mid_px=f[3],
                     open_interest=f[4], premium=f[5])


def funding_arrays(paths: str | list[str], coin: str):
    """Funding observations from ``asset_ctxs`` files, for charging funding.

    Returns
    -------
    tuple of ndarray
        ``(ts_ns int64, funding_rate float64, mark_px float64, next_funding_ts_ns int64)``;
        ``next_funding_ts_ns`` is the next whole UTC hour after ``ts_ns`` (Hyperliquid settles
        funding every hour on the hour; the context's rate is the running estimate for that
        settlement).

    Raises
    ------
    DataError
        See :func:`load_asset_ctxs`.
    """
    a = load_asset_ctxs(paths, coin)
    nxt = (a.ts_ns // HOUR_NS + 1) * HOUR_NS
    return a.ts_ns, a.funding, a.mark_px, nxt


def parse(fmt: str, paths: list[str], symbol: str | None) -> Parsed:
    """Parse Hyperliquid files of format ``fmt`` into a :class:`Parsed`.

    Parameters
    ----------
    fmt : {"hyperliquid_archive", "hyperliquid_ws", "hyperliquid_collector", \
"hyperliquid_node_fills", "hyperliquid_node_trades"}
    paths : list of str
        Files, in replay order (they are merged by local time afterwards).
    symbol : str or None
        Coin to keep; ``None``: the files must hold one coin.

    Returns
    -------
    Parsed

    Raises
    ------
    DataError
        Malformed line/row, unknown CSV header, out-of-order local timestamps, several coins;
        names the file and line.
    """
    b = Builder()
    sym = _Sym(symbol)
    warnings: list[str] = []
    bbo_rows: list[tuple] = []
    if fmt == "hyperliquid_archive":
        _archive(paths, b, sym)
    elif fmt == "hyperliquid_ws":
        _ws(paths, b, sym)
    elif fmt == "hyperliquid_collector":
        bbo_rows = _collector(paths, b, sym, warnings)
    elif fmt == "hyperliquid_node_fills":
        _node_fills(paths, b, sym, warnings)
    elif fmt == "hyperliquid_node_trades":
        _node_trades(paths, b, sym)
    else:  # pragma: no cover - guarded by DataConfig
        raise ValueError(fmt)
    ev, fidx, line, zero_ok = b.arrays()
    p = Parsed(
        events=ev, fidx=fidx, line=line, zero_ok=zero_ok, bbo=bbo_array(bbo_rows),
        paths=list(paths), symbol=sym.name(), venue="hyperliquid", warnings=warnings,
    )
    drop_redelivered_trades(p)
    return p
