"""Binance raw websocket captures (hftbacktest collector format) → market-data events.

Input: gzip (or plain) text, one line per message, ``<local_ts> <JSON>``. ``local_ts`` is the
local receive time in ns (2024 captures) or µs (2023 ``.dat.gz``); the unit is detected per file
from the magnitude of the first timestamp (< 1e14 ms, < 1e17 µs, else ns). The JSON is a
combined-stream message ``{"stream": ..., "data": {...}}`` — ``depthUpdate`` (USD-M/COIN-M
futures: ``U, u, pu, E, T, b, a``; spot: ``U, u, E, b, a``), ``trade`` (``t, p, q, T, m``),
``bookTicker`` (``u, b, B, a, A`` [+ ``T, E`` futures]), ``markPrice`` (not an event here: its
funding rate, next funding time and mark price are read by
:func:`venues.loaders.funding.from_binance_markprice`) — or, once per
session, the REST depth snapshot ``{"lastUpdateId", "bids", "asks"}``. The paths are one
continuous capture replayed in the given order (a day pair: only the first file holds the
snapshot).

The order book is rebuilt as Binance documents in "How to manage a local order book correctly"
(USD-M futures and spot WebSocket stream pages):

* diffs received before the snapshot are buffered; once the snapshot arrives, buffered diffs
  with ``u < lastUpdateId`` (futures) / ``u <= lastUpdateId`` (spot) are dropped;
* the first applied diff must straddle the snapshot: futures ``U <= lastUpdateId <= u``,
  spot ``U <= lastUpdateId + 1 <= u``;
* afterwards each futures diff must chain ``pu == previous u``; each spot diff
  ``U == previous u + 1``.

Emitted rows: the snapshot as ``CLEAR(0)`` + ``DEPTH`` rows at the snapshot line's local time;
each applied diff as ``DEPTH`` rows (absolute level sizes, ``qty == 0`` deletes) at its line's
local time — except buffered diffs applied right after the snapshot, which are stamped with the
snapshot's local time (the earliest moment a local book could have applied them); each trade
as a ``TRADE`` row (taker side = sell when ``m``, buyer-is-maker, is true), emitted whatever the
book state; each bookTicker as a :data:`engine.feed.BBO_DTYPE` row (``update_id = u``).
``ts_exch_ns`` is ``T`` (transaction time) when present, else ``E``, else -1 (spot snapshot and
spot bookTicker carry no exchange time).

Gaps (a broken chain, or a first diff that does not straddle the snapshot) become
:class:`~venues.loaders._common.Gap` records. ``on_gap="stop"`` raises :class:`DataError`.
``on_gap="resync"`` records the gap, emits ``CLEAR(0)`` at the gap (the book is unknown from
then on), warns, and **drops all depth diffs until the next REST snapshot line** in the stream,
then resumes with the standard snapshot procedure (buffered diffs since the gap are
reconciled against it). Why not rebuild from the later diffs alone: a diff carries only the
levels that changed, so after a gap levels that changed during the hole and never again stay
wrong, and a quiet best level that never changes would be missing — the top of book could be
silently wrong. An empty book is honest; a wrong one is not. Trades and bookTickers keep
flowing. If no later snapshot exists, the book stays empty to the end and a warning says how
many diffs were dropped. A stream with no snapshot at all is a :class:`DataError`.

A snapshot line that arrives while the book is in sync is applied (a fresh session) if its
``lastUpdateId`` is ahead of the last applied ``u``; a stale one (``lastUpdateId <= u``) is
ignored with a warning because applying it would move the book backwards.

Data-quality notes (see :func:`parse`): local timestamps never go backwards in the shared
captures; a backwards step is a :class:`DataError`. Crossed books after a diff are errors.

Venue: ``binance_coinm`` when the symbol has ``_`` (``ETHUSD_PERP``) or the diff has ``ps``;
``binance_usdm`` when diffs carry ``pu``; ``binance_spot`` otherwise. COIN-M quantities are
contracts (e.g. 10 USD each for ETHUSD_PERP), not base units.

See Also
--------
venues.loaders.hyperliquid : Hyperliquid formats.

References
----------
Binance, "How to manage a local order book correctly", USD-M Futures WebSocket Market Streams
and Spot WebSocket Streams documentation (developers.binance.com).
"""

from __future__ import annotations

import gzip
import json

from engine.feed import TRADE
from venues.loaders._common import (
    Builder,
    DataError,
    Gap,
    Parsed,
    bbo_array,
    check_local_order,
)

_WAIT_SNAPSHOT, _AWAIT_FIRST, _SYNCED = 0, 1, 2


def open_text(path: str):
    """Open a text file, transparently gunzipping when it starts with the gzip magic."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def ts_scale(ts: int) -> int:
    """Multiplier that turns a local timestamp of this magnitude into ns (ms, µs or ns)."""
    if ts < 10**14:
        return 1_000_000
    if ts < 10**17:
        return 1_000
    return 1


def _levels(side_list):
    return [float(x[0]) for x in side_list], [float(x[1]) for x in side_list]


class _Rebuild:
    def __init__(self, paths, on_gap, b: Builder):
        self.paths = paths
        self.on_gap = on_gap
        self.b = b
        self.mode = _WAIT_SNAPSHOT
        self.futures: bool | None = None
        self.snap_id = 0
        self.last_u = 0
        self.buffer: list[tuple] = []
        self.gaps: list[Gap] = []
        self.warnings: list[str] = []
        self.n_snapshots = 0
        self.dropped_after_gap = 0
        self.in_gap = False

    def _apply(self, d, ts, fidx, line):
        ts_e = d.get("T", d.get("E", -1))
        ts_e = ts_e * 1_000_000 if ts_e >= 0 else -1
        bp, bq = _levels(d["b"])
        ap, aq = _levels(d["a"])
        self.b.levels(ts, ts_e, 1, bp, bq, fidx, line, True)
        self.b.levels(ts, ts_e, -1, ap, aq, fidx, line, True)
        self.last_u = d["u"]

    def _gap(self, d, ts, fidx, line, expected, got):
        ts_e = d.get("T", d.get("E", -1))
        ts_e = ts_e * 1_000_000 if ts_e >= 0 else -1
        g = Gap(
            ts_local_ns=ts, ts_exch_ns=ts_e, expected_id=int(expected), got_id=int(got),
            file=self.paths[fidx], line=line,
        )
        if self.on_gap == "stop":
            raise DataError(
                f"{self.paths[fidx]}: line {line}: broken depth update-id chain: expected "
                f"{'pu' if self.futures else 'U'} = {expected}, got {got} "
                f"(ts_local_ns {ts}, ts_exch_ns {ts_e}); on_gap='stop'"
            )
        self.gaps.append(g)
        self.warnings.append(
            f"{self.paths[fidx]}: line {line}: depth gap (expected id {expected}, got {got}, "
            f"ts_local_ns {ts}); book cleared, diffs dropped until the next REST snapshot"
        )
        self.b.clear(ts, ts_e, 0, fidx, line)
        self.mode = _WAIT_SNAPSHOT
        self.in_gap = True
        self.buffer = [(ts, d, fidx, line)]

    def diff(self, d, ts, fidx, line):
        if self.futures is None:
            self.futures = "pu" in d
        U, u = d["U"], d["u"]
        if self.mode == _WAIT_SNAPSHOT:
            self.buffer.append((ts, d, fidx, line))
            return
        if self.mode == _AWAIT_FIRST:
            L = self.snap_id
            if (u < L) if self.futures else (u <= L):
                return  # older than the snapshot: dropped, as documented
            target = L if self.futures else L + 1
            if not (U <= target <= u):
                self._gap(d, ts, fidx, line, target, U)
                return
            self._apply(d, ts, fidx, line)
            self.mode = _SYNCED
            return
        if self.futures:
            ok, expected, got = d["pu"] == self.last_u, self.last_u, d["pu"]
        else:
            ok, expected, got = U == self.last_u + 1, self.last_u + 1, U
        if not ok:
            self._gap(d, ts, fidx, line, expected, got)
            return
        self._apply(d, ts, fidx, line)

    def snapshot(self, s, ts, fidx, line):
        L = s["lastUpdateId"]
        if self.mode == _SYNCED and L <= self.last_u:
            self.warnings.append(
                f"{self.paths[fidx]}: line {line}: REST snapshot lastUpdateId {L} is not ahead of "
                f"the book (last u {self.last_u}); stale snapshot ignored"
            )
            return
        self.n_snapshots += 1
        ts_e = s.get("T", s.get("E", -1))
        ts_e = ts_e * 1_000_000 if ts_e >= 0 else -1
        self.b.clear(ts, ts_e, 0, fidx, line)
        bp, bq = _levels(s["bids"])
        ap, aq = _levels(s["asks"])
        self.b.levels(ts, ts_e, 1, bp, bq, fidx, line, False)
        self.b.levels(ts, ts_e, -1, ap, aq, fidx, line, False)
        self.snap_id = L
        self.mode = _AWAIT_FIRST
        self.in_gap = False
        buf, self.buffer = self.buffer, []
        for _bts, d, bf, bl in buf:
            # applied no earlier than the snapshot's own receive time
            self.diff(d, ts, bf, bl)

    def finish(self):
        if self.n_snapshots == 0:
            raise DataError(
                f"{', '.join(self.paths)}: no REST depth snapshot line "
                "({\"lastUpdateId\", \"bids\", \"asks\"}) found; Binance diffs cannot be rebuilt "
                "into a book without one (replay the day pair starting with the file that holds "
                "the snapshot)"
            )
        if self.mode == _WAIT_SNAPSHOT and self.buffer:
            self.warnings.append(
                f"{len(self.buffer)} depth diff message(s) after the last gap were dropped: no "
                "later REST snapshot in the stream (book left empty from the gap on)"
            )


def parse(paths: list[str], symbol: str | None, on_gap: str) -> Parsed:
    """Parse a Binance capture (one or more files, one continuous stream) into a :class:`Parsed`.

    Parameters
    ----------
    paths : list of str
        Capture files in replay order.
    symbol : str or None
        Keep only messages of this symbol (case-insensitive); ``None``: the capture must hold
        exactly one symbol.
    on_gap : {"resync", "stop"}
        What to do on a broken update-id chain (see the module docstring).

    Returns
    -------
    Parsed

    Raises
    ------
    DataError
        Unparseable line, unknown message, out-of-order local timestamps, more than one symbol,
        no snapshot, or a gap with ``on_gap="stop"``; the message names file and line.
    """
    b = Builder()
    rb = _Rebuild(paths, on_gap, b)
    bbo_rows: list[tuple] = []
    want = symbol.upper() if symbol else None
    seen: set[str] = set()
    coinm = False
    any_diff = False
    loads = json.loads
    for fidx, path in enumerate(paths):
        scale = None
        prev = -(2**63)
        with open_text(path) as fh:
            for line, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                sp = raw.find(" ")
                try:
                    t0 = int(raw[:sp])
                    if scale is None:
                        scale = ts_scale(t0)
                    ts = t0 * scale
                    msg = loads(raw[sp + 1 :])
                except (ValueError, TypeError) as exc:
                    raise DataError(
                        f"{path}: line {line}: cannot parse '<local_ts> <JSON>': {exc}"
                    ) from None
                check_local_order(ts, prev, paths, fidx, line)
                prev = ts
                try:
                    data = msg.get("data")
                    if data is None:
                        if "lastUpdateId" in msg:
                            rb.snapshot(msg, ts, fidx, line)
                            continue
                        raise DataError(f"{path}: line {line}: unknown message (keys {list(msg)})")
                    if isinstance(data, list):
                        continue
                    s = data.get("s")
                    if s is not None:
                        if want is not None and s.upper() != want:
                            continue
                        if s not in seen:
                            seen.add(s)
                            if len(seen) > 1 and want is None:
                                raise DataError(
                                    f"{path}: line {line}: more than one symbol in the capture "
                                    f"({sorted(seen)}); set DataConfig.symbol"
                                )
                    e = data.get("e")
                    stream = msg.get("stream", "")
                    if e == "depthUpdate":
                        any_diff = True
                        if "ps" in data or (s is not None and "_" in s):
                            coinm = True
                        rb.diff(data, ts, fidx, line)
                    elif e == "trade":
                        T = data.get("T", data.get("E"))
                        b.row(
                            ts, T * 1_000_000, float(data["p"]), float(data["q"]), int(data["t"]),
                            TRADE, -1 if data["m"] else 1, fidx, line,
                        )
                    elif e == "bookTicker" or stream.endswith("@bookTicker"):
                        T = data.get("T", data.get("E"))
                        bbo_rows.append((
                            ts, T * 1_000_000 if T is not None else -1, int(data["u"]),
                            float(data["b"]), float(data["B"]), float(data["a"]), float(data["A"]),
                        ))
                    # markPrice, aggTrade, ... are not book/trade data: ignored
                except DataError:
                    raise
                except (KeyError, ValueError, TypeError) as exc:
                    raise DataError(
                        f"{path}: line {line}: malformed message ({type(exc).__name__}: {exc})"
                    ) from None
    if not any_diff:
        raise DataError(f"{', '.join(paths)}: no depthUpdate messages found")
    rb.finish()
    if coinm:
        venue = "binance_coinm"
    elif rb.futures:
        venue = "binance_usdm"
    else:
        venue = "binance_spot"
    ev, fidx_a, line_a, zero_ok = b.arrays()
    sym = want or (next(iter(seen)) if seen else "")
    return Parsed(
        events=ev, fidx=fidx_a, line=line_a, zero_ok=zero_ok, bbo=bbo_array(bbo_rows),
        paths=list(paths), symbol=sym, venue=venue, gaps=rb.gaps, warnings=rb.warnings,
    )
