"""Builders for tests and benchmarks: scripted feeds and a ready-wired venue.

Imported by ``tests/`` and ``bench/``; not used by the library itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt

from engine.feed import CLEAR, DEPTH, TRADE, empty_events

if TYPE_CHECKING:
    from venues.loaders import Feed

FeedRow: TypeAlias = tuple[int, str | int, int, float, float]
"""One scripted feed row ``(ts_ns, kind, side, px, qty)`` (see :func:`make_events`)."""


def make_events(rows: Iterable[FeedRow]) -> npt.NDArray[np.void]:
    """Build a feed from ``(ts_ns, kind, side, px, qty)`` tuples (``kind`` as a name or code).

    Parameters
    ----------
    rows : iterable of tuple
        ``kind`` is ``"depth"``/``"trade"``/``"clear"`` or the integer code; ``side`` is +1 bid/buy,
        -1 ask/sell, 0 both (clear only).

    Returns
    -------
    ndarray of engine.feed.EVENT_DTYPE
        In the given order (callers write rows in time order); trades get ids 1, 2, ...
    """
    codes: dict[str | int, int] = {"depth": DEPTH, "trade": TRADE, "clear": CLEAR}
    rows = list(rows)
    ev = empty_events(len(rows))
    n_trades = 0
    for i, (ts, kind, side, px, qty) in enumerate(rows):
        k = codes.get(kind, kind)
        ev[i]["ts_local_ns"] = ts
        ev[i]["ts_exch_ns"] = ts
        ev[i]["kind"] = k
        ev[i]["side"] = side
        ev[i]["px"] = px
        ev[i]["qty"] = qty
        if k == TRADE:
            n_trades += 1
            ev[i]["trade_id"] = n_trades
    return ev


def make_feed(
    rows: Iterable[FeedRow], tick_size: float = 0.01, lot_size: float = 0.001, symbol: str = "TEST"
) -> Feed:
    """Wrap :func:`make_events` rows in a :class:`venues.loaders.Feed`.

    Parameters
    ----------
    rows : iterable of tuple
        See :func:`make_events`.
    tick_size, lot_size : float
        Recorded grid of the synthetic instrument.
    symbol : str

    Returns
    -------
    venues.loaders.Feed
    """
    from venues.loaders import Feed, FeedMeta

    ev = make_events(rows)
    meta = FeedMeta(
        symbol=symbol, venue="test", tick_size=tick_size, lot_size=lot_size, sz_decimals=None,
        source_sha256=(), n_gaps=0,
    )  # fmt: skip
    from engine.feed import BBO_DTYPE

    return Feed(events=ev, bbo=np.zeros(0, dtype=BBO_DTYPE), meta=meta, gaps=(), warnings=())


def book_rows(
    ts: int, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]]
) -> list[FeedRow]:
    """Rows of a full snapshot at ``ts``: a CLEAR then one DEPTH row per ``(px, qty)`` level."""
    rows: list[FeedRow] = [(ts, "clear", 0, 0.0, 0.0)]
    rows += [(ts, "depth", 1, px, q) for px, q in bids]
    rows += [(ts, "depth", -1, px, q) for px, q in asks]
    return rows
