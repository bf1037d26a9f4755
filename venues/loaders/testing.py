"""Tiny synthetic Binance capture builders for tests and examples (not market data).

Used by ``tests/venues/loaders``; kept in the package because pytest's importlib mode does not
let test modules import each other.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def write_capture(path: Path, lines: list[tuple[int, dict]]) -> str:
    """Write ``<local_ts> <JSON>`` lines (gzip) and return the path as str."""
    with gzip.open(path, "wt") as f:
        for ts, msg in lines:
            f.write(f"{ts} {json.dumps(msg)}\n")
    return str(path)


def fut_diff(U, u, pu, bids=(), asks=(), E=1_700_000_000_000):
    """A USD-M futures depthUpdate combined-stream message."""
    return {
        "stream": "ethusdt@depth@0ms",
        "data": {
            "e": "depthUpdate",
            "E": E,
            "T": E,
            "s": "ETHUSDT",
            "U": U,
            "u": u,
            "pu": pu,
            "b": [[str(p), str(q)] for p, q in bids],
            "a": [[str(p), str(q)] for p, q in asks],
        },
    }


def snapshot(last_id, bids, asks):
    """A REST depth snapshot line."""
    return {
        "lastUpdateId": last_id,
        "E": 1_700_000_000_000,
        "T": 1_700_000_000_000,
        "bids": [[str(p), str(q)] for p, q in bids],
        "asks": [[str(p), str(q)] for p, q in asks],
    }


def trade(t, p, q, m, T=1_700_000_000_000):
    """A trade message (m = buyer is maker)."""
    return {
        "stream": "ethusdt@trade",
        "data": {
            "e": "trade",
            "E": T,
            "T": T,
            "s": "ETHUSDT",
            "t": t,
            "p": str(p),
            "q": str(q),
            "m": m,
        },
    }


def outcome(fn):
    """``("ok", fn())`` or ``("error", message)`` of a load that may raise
    :class:`venues.loaders.DataError` (warnings silenced): a stream and an in-memory parse of the
    same files compare equal through it, errors included."""
    import warnings

    from venues.loaders import DataError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", fn()
    except DataError as exc:
        return "error", str(exc)


def hbt_rows(ev, flags: int | None = None):
    """mmsim events (:data:`engine.feed.EVENT_DTYPE`) written as hftbacktest rows, the inverse of
    the loader's mapping: book rows as depth events, prints as trades (their id in ``order_id``),
    clears as depth clears, each with ``flags`` (default: both the exchange and local flags);
    ``exch_ts`` is the local time where the event has none."""
    import numpy as np

    from engine.feed import DEPTH, TRADE
    from venues.loaders.hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        HBT_DTYPE,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
    )

    flags = EXCH_EVENT | LOCAL_EVENT if flags is None else flags
    out = np.zeros(ev.size, dtype=HBT_DTYPE)
    kind, side = ev["kind"], ev["side"]
    typ = np.where(kind == DEPTH, DEPTH_EVENT, np.where(kind == TRADE, TRADE_EVENT, DEPTH_CLEAR_EVENT))
    sflag = np.where(side > 0, BUY_EVENT, np.where(side < 0, SELL_EVENT, 0))
    out["ev"] = (typ | sflag | flags).astype(np.uint64)
    out["exch_ts"] = np.where(ev["ts_exch_ns"] > 0, ev["ts_exch_ns"], ev["ts_local_ns"])
    out["local_ts"] = ev["ts_local_ns"]
    out["px"] = ev["px"]
    out["qty"] = ev["qty"]
    out["order_id"] = np.where(kind == TRADE, ev["trade_id"], 0).astype(np.uint64)
    return out
