"""Data-quality checks on a parsed feed: problems that do not stop a replay but change what it
means, reported as ``FILE:ROW: message`` warnings.

:func:`feed_warnings` runs inside :func:`venues.loaders.parse_feed` on the sorted events while
each row still knows its source file and line, so the warnings are cached with the feed and
every command (``validate``, ``run``, ``sweep``, ``data inspect``) shows the same ones. Errors
(unreadable files, unsorted timestamps, a diff stream without a snapshot, crossed snapshots)
are raised by the vendor parsers as :class:`~venues.loaders.DataError` instead.

Checks
------
* **book-only data**: no ``TRADE`` rows at all. Market makers then fill only when the recorded
  book moves through their quotes; queue positions never advance by trades.
* **trades-only data**: no ``DEPTH`` rows: there is no book to quote against.
* **time gaps**: consecutive events more than :data:`GAP_WARN_S` seconds apart (a recorder
  outage, a missing file); the largest ones are listed with their file and line.
* **mixed tick sizes**: the price increment inferred (:func:`~venues.loaders._common.infer_increment`)
  differs between files, or between the first and second half of a file (e.g. Hyperliquid's
  5-significant-figure rule when BTC crosses 100,000). Only compared when both parts have at
  least :data:`MIN_DISTINCT_PRICES` distinct prices, so a sparse sample is not mistaken for a
  coarser tick.
"""

from __future__ import annotations

import numpy as np

from engine.feed import DEPTH, TRADE
from venues.loaders._common import infer_increment

__all__ = ["GAP_WARN_S", "MIN_DISTINCT_PRICES", "feed_warnings", "loc"]

GAP_WARN_S = 60.0
"""Silence (seconds between consecutive events of the feed) reported as a gap."""

MIN_DISTINCT_PRICES = 50
"""Distinct prices each side of a tick comparison needs before a difference is reported."""


def loc(path: str, row: int | None) -> str:
    """``FILE:ROW`` (``FILE`` alone when the row is unknown)."""
    return f"{path}:{row}" if row is not None and row > 0 else path


def _tick(px: np.ndarray) -> float | None:
    u = np.unique(px)
    if u.size < MIN_DISTINCT_PRICES:
        return None
    return infer_increment(u)


def feed_warnings(events: np.ndarray, fidx: np.ndarray, line: np.ndarray, paths: list[str],
                  unit: str = "line") -> list[str]:
    """Data-quality warnings of a parsed feed.

    Parameters
    ----------
    events : ndarray, dtype EVENT_DTYPE
        Sorted by ``ts_local_ns``.
    fidx : ndarray of int32
        Source file index of each event (into ``paths``), same order.
    line : ndarray of int64
        1-based source line (or row) of each event, same order.
    paths : list of str
    unit : str, default "line"
        Unused in the text (rows print as ``FILE:ROW``); kept for symmetry with the parsers.

    Returns
    -------
    list of str
        ``FILE:ROW: message`` strings, in a fixed order (book/trade presence, gaps, ticks).
    """
    out: list[str] = []
    if events.size == 0:
        return out
    kind = events["kind"]
    is_trade = kind == TRADE
    is_depth = kind == DEPTH
    first_row = {int(f): int(line[np.argmax(fidx == f)]) for f in np.unique(fidx)}
    if not is_trade.any():
        for f in sorted(first_row):
            out.append(f"{loc(paths[f], first_row[f])}: no trades in the data (book-only): fills come only from "
                       "the recorded book moving through resting quotes, and queue positions never advance "
                       "by traded volume; add the trade stream for realistic fills")
    if not is_depth.any():
        for f in sorted(first_row):
            out.append(f"{loc(paths[f], first_row[f])}: no order-book rows (trades only): the venue has no book "
                       "to quote against")
    ts = events["ts_local_ns"]
    if ts.size > 1:
        dt = np.diff(ts)
        big = np.flatnonzero(dt > GAP_WARN_S * 1e9)
        if big.size:
            worst = big[np.argsort(-dt[big], kind="stable")[:3]]
            parts = [
                f"{dt[i] / 1e9:.1f} s before {loc(paths[int(fidx[i + 1])], int(line[i + 1]))}"
                for i in sorted(worst.tolist())
            ]
            i0 = int(big[0]) + 1
            out.append(
                f"{loc(paths[int(fidx[i0])], int(line[i0]))}: {big.size} gap(s) longer than {GAP_WARN_S:.0f} s "
                f"with no market data (largest: {'; '.join(parts)}); quotes rest on a stale book there"
            )
    priced = is_trade | is_depth
    ticks: dict[int, float] = {}
    for f in sorted(first_row):
        rows = np.flatnonzero(priced & (fidx == f))
        if rows.size == 0:
            continue
        t_all = _tick(events["px"][rows])
        if t_all is not None:
            ticks[f] = t_all
        half = rows.size // 2
        a, b = _tick(events["px"][rows[:half]]), _tick(events["px"][rows[half:]])
        if a is not None and b is not None and not np.isclose(a, b, rtol=1e-9, atol=0.0):
            out.append(f"{loc(paths[f], int(line[rows[half]]))}: mixed tick sizes: prices step by {a:g} before "
                       f"this row and by {b:g} from here on (the venue's tick changed, or the file mixes "
                       "instruments); the simulated venue uses one tick")
    if len(set(ticks.values())) > 1:
        desc = ", ".join(f"{paths[f]}: {t:g}" for f, t in ticks.items())
        f0 = next(iter(ticks))
        out.append(f"{loc(paths[f0], first_row[f0])}: mixed tick sizes across files ({desc})")
    return out
