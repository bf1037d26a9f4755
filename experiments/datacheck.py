"""Data checks of a sweep: what ``mmsim validate`` reports and ``run``/``sweep`` print once at
start and store in the results file's ``warnings`` table.

Each problem is a :class:`Problem` printed as ``FILE:ROW: level: message`` (``FILE`` alone when
no row applies). Two sources:

* the feed itself (:mod:`venues.loaders.quality` and the vendor parsers): unreadable or unsorted
  files and a diff stream without a snapshot are **errors** (the load raises
  :class:`~venues.loaders.DataError`); files given out of time order (replayed sorted), broken
  update-id chains, transient crossed books, book-only or trades-only data, time gaps and mixed
  tick sizes are **warnings**;
* the sweep against the feed (:func:`spec_problems`): the run spans funding times but no funding
  source is configured or found in the capture (warning: funding would count as 0; when the feed
  was loaded with its funding attached, :mod:`venues.loaders.funding` words that warning and this
  check stays silent), and order
  sizes below the instrument's lot or minimum notional (every such order is rejected or sized
  to 0: an **error** when it holds for every trial, else a warning naming how many trials).

See Also
--------
venues.loaders.quality : the feed-level checks.
experiments.cli : prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

__all__ = [
    "FUNDING_INTERVAL_NS",
    "Problem",
    "check_sweep",
    "feed_problems",
    "format_problems",
    "problem_from_error",
    "spec_problems",
    "stored_problems",
]

HOUR_NS = 3_600_000_000_000
FUNDING_INTERVAL_NS = {
    "hyperliquid": HOUR_NS,          # Hyperliquid Docs, "Funding": paid every hour
    "hyperliquid_perp": HOUR_NS,
    "binance_usdm": 8 * HOUR_NS,     # Binance USD-M "Funding rate": 00:00, 08:00, 16:00 UTC
    "binance_coinm": 8 * HOUR_NS,
}
"""Funding interval by venue (default schedule; some Binance symbols settle every 4 h)."""

_LOC = re.compile(r"^(?P<file>[^\s:][^:]*?)(?::(?P<row>\d+)|: (?:line|row) (?P<row2>\d+))?: (?P<msg>.*)$", re.S)


@attrs.frozen
class Problem:
    """One data problem.

    Attributes
    ----------
    level : {"error", "warning"}
    file : str
        Data file (or the sweep file for configuration-level problems); ``""`` if none applies.
    row : int or None
        1-based line (text files, header included) or row; ``None`` for file-level problems.
    message : str
    """

    level: str
    file: str
    row: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        return f"{where}: {self.level}: {self.message}" if where else f"{self.level}: {self.message}"


def _split(text: str, level: str) -> Problem:
    m = _LOC.match(text)
    if m and ("/" in m["file"] or "." in m["file"]) and " " not in m["file"].strip():
        row = m["row"] or m["row2"]
        return Problem(level, m["file"], int(row) if row else None, m["msg"])
    return Problem(level, "", None, text)


def problem_from_error(exc: BaseException) -> Problem:
    """A :class:`~venues.loaders.DataError` (``"FILE: line N: message"``) as an error problem."""
    return _split(str(exc), "error")


def feed_problems(feed: Any) -> list[Problem]:
    """The loader's warnings of a feed (cached with it) as :class:`Problem` s."""
    return [_split(w, "warning") for w in getattr(feed, "warnings", ())]


def _span(feed: Any) -> tuple[int, int] | None:
    ts = feed.events["ts_local_ns"]
    return (int(ts[0]), int(ts[-1])) if ts.size else None


def _iso(ns: int) -> str:
    return str(np.datetime64(ns, "ns").astype("datetime64[s]")) + "Z"


def _capture_has_funding(paths: Iterable[str], fmt: str) -> bool:
    """Whether a capture carries its own funding stream (Binance ``markPrice`` messages, which
    hold the rate ``r`` and next funding time ``T``); reads the first 4 MB of each file."""
    if fmt != "binance_ws":
        return False
    from venues.loaders._common import open_binary

    for p in paths:
        try:
            with open_binary(p) as fh:
                if b"markPrice" in fh.read(4 << 20):
                    return True
        except OSError:
            continue
    return False


def _funding_configured(spec: Any) -> bool:
    data = spec.data
    for key in ("funding", "funding_path", "funding_paths"):
        val = getattr(data, key, None)
        if val:
            return True
    return False


def spec_problems(spec: Any, feed: Any) -> list[Problem]:
    """Problems of the sweep's settings against its data: funding coverage, order sizes.

    Parameters
    ----------
    spec : SweepSpec
    feed : Feed

    Returns
    -------
    list of Problem
    """
    out: list[Problem] = []
    paths = list(spec.data.paths)
    first = paths[0] if paths else str(spec.path)
    span = _span(feed)
    venue = feed.meta.venue
    profiles = {str(getattr(t.venue, "profile", "")) for t in spec.trials} or {""}
    perp_venue = venue if venue in FUNDING_INTERVAL_NS else next(
        (p for p in sorted(profiles) if p in FUNDING_INTERVAL_NS), None)
    # a feed loaded through venues.loaders.funding carries its funding (or its own warning)
    handled = hasattr(feed, "funding")
    if span is not None and perp_venue is not None and venue != "binance_spot" and not handled:
        every = FUNDING_INTERVAL_NS[perp_venue]
        n = span[1] // every - span[0] // every
        if n > 0 and not _funding_configured(spec) and not _capture_has_funding(paths, spec.data.format):
            t1 = (span[0] // every + 1) * every
            out.append(Problem(
                "warning", first, None,
                f"the data spans {n} funding time(s) of {perp_venue} (every {every // HOUR_NS} h; first "
                f"{_iso(t1)}) but no funding source is configured ([data] funding) or found in the capture: "
                "funding will count as 0 in PnL",
            ))
    out.extend(_order_size_problems(spec, feed, str(spec.path)))
    return out


def _ref_price(feed: Any) -> float | None:
    """Median trade price of the feed (median depth price without trades), read chunk by chunk:
    a memory-mapped feed's pages are given back behind the scan (a 100 M-row day would otherwise
    stay resident in the parent, ~5 GB)."""
    from engine.feed import PageReleaser

    ev = feed.events
    rel = PageReleaser(ev)
    trades, depths = [], []
    step = 1 << 20
    for lo in range(0, ev.size, step):
        c = ev[lo : lo + step]
        kind = c["kind"]
        trades.append(c["px"][kind == 2])
        if not any(t.size for t in trades):
            depths.append(c["px"][kind == 1])
        rel.release_to(min(lo + step, ev.size))
    tr = np.concatenate(trades) if trades else np.zeros(0)
    if tr.size:
        return float(np.median(tr))
    dp = np.concatenate(depths) if depths else np.zeros(0)
    return float(np.median(dp)) if dp.size else None


def _order_size_problems(spec: Any, feed: Any, where: str) -> list[Problem]:
    try:
        from venues.orderbook.venue import venue_profile
    except ImportError:  # pragma: no cover
        return []
    px = _ref_price(feed)
    below_lot: list[Any] = []
    below_min: list[Any] = []
    seen: dict[tuple, tuple[bool, bool, Any]] = {}
    n = 0
    for t in spec.trials:
        qty = getattr(t.strategy, "order_qty", None)
        if qty is None:
            continue
        n += 1
        key = (repr(t.venue), float(qty))
        if key not in seen:
            try:
                prof = venue_profile(t.venue, feed)
            except (ValueError, TypeError) as exc:
                return [Problem("error", where, None, f"venue profile cannot be built for this data: {exc}")]
            q = prof.round_qty(float(qty))
            lot_bad = q <= 0
            min_bad = (not lot_bad) and px is not None and not prof.meets_min_notional(px, q)
            seen[key] = (lot_bad, min_bad, prof)
        lot_bad, min_bad, prof = seen[key]
        if lot_bad:
            below_lot.append((t, prof))
        elif min_bad:
            below_min.append((t, prof))
    out = []
    for rows, what in ((below_lot, "lot"), (below_min, "min_notional")):
        if not rows:
            continue
        t, prof = rows[0]
        level = "error" if len(rows) == n else "warning"
        if what == "lot":
            msg = (f"strategy.order_qty {t.strategy.order_qty:g} is below the instrument's lot size "
                   f"{prof.lot_size:g}: orders round to 0 and are never sent")
        else:
            msg = (f"strategy.order_qty {t.strategy.order_qty:g} at the data's median price {px:g} is "
                   f"{t.strategy.order_qty * px:.4g} in notional, below the minimum notional {prof.min_notional:g}: "
                   "every order is rejected")
        out.append(Problem(level, where, None, f"{msg} ({len(rows)} of {n} trial(s))"))
    return out


def check_sweep(spec: Any, *, feed: Any = None, cache_dir: Any = None) -> tuple[Any, list[Problem]]:
    """Load a sweep's data (unless ``feed`` is given) and list every data problem.

    Parameters
    ----------
    spec : SweepSpec
    feed : Feed or None
        Already loaded; ``None`` loads it through the cache at ``cache_dir``.
    cache_dir : path-like or None

    Returns
    -------
    (Feed or None, list of Problem)
        The feed is ``None`` when it could not be loaded (then the list holds that error).
    """
    from venues.loaders import DataError, load_feed

    if feed is None:
        try:
            feed = load_feed(spec.data, cache_dir)
        except DataError as exc:
            return None, [problem_from_error(exc)]
    problems = feed_problems(feed)
    try:
        problems += spec_problems(spec, feed)
    except Exception as exc:  # noqa: BLE001 - a check must never stop a run it only comments on
        problems.append(Problem("warning", str(spec.path), None,
                                f"the settings-vs-data checks could not run ({type(exc).__name__}: {exc})"))
    return feed, problems


def stored_problems(con: Any, sweep_id: str) -> list[Problem]:
    """The data problems a sweep stored (its ``warnings`` rows, in printing order), for reports.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection to the results file (read-only is enough).
    sweep_id : str

    Returns
    -------
    list of Problem
        Empty when the file has no ``warnings`` table (results written before it existed).
    """
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "warnings" not in tables:
        return []
    rows = con.execute("SELECT level, file, row, message FROM warnings WHERE sweep_id = ? ORDER BY seq",
                       [sweep_id]).fetchall()
    return [Problem(lv, f or "", int(r) if r is not None else None, m) for lv, f, r, m in rows]


def format_problems(problems: Iterable[Problem]) -> list[str]:
    """One ``FILE:ROW: level: message`` line per problem, errors first (stable)."""
    ps = list(problems)
    return [str(p) for p in sorted(ps, key=lambda p: p.level != "error")]
