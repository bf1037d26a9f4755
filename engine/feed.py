"""Market-data feeds: the one structured dtype every loader produces and every venue replays.

A feed is a NumPy structured array of :data:`EVENT_DTYPE`, sorted by ``ts_local_ns``
(stable, so vendor order is kept among equal timestamps). Loaders for vendor formats live in
:mod:`venues.loaders`; the compiled replay lives in :mod:`venues.orderbook`.

Event kinds
-----------
``DEPTH`` (1)
    Set the absolute resting size at price ``px`` on ``side`` (+1 bid, -1 ask) to ``qty``;
    ``qty == 0`` deletes the level (Binance diff semantics).
``TRADE`` (2)
    A print of ``qty`` at ``px``; ``side`` is the *taker* (aggressor) side: +1 buy, -1 sell.
``CLEAR`` (3)
    Empty one side of the book (``side`` +1 or -1) or both (``side`` 0). A full snapshot is a
    ``CLEAR`` followed by ``DEPTH`` rows with the same timestamps.

Two clocks. ``ts_local_ns`` is when the recorder received the row; ``ts_exch_ns`` is the
exchange's own event time (``<= 0`` when the source has none). Feeds are sorted by
``ts_local_ns``. The order-book venue matches on the exchange clock and shows the strategy the
book on the local clock (``[venue] timeline``, :func:`venues.orderbook.venue.exchange_clock`);
both are integer ns since the epoch on one simulated time axis, so the recorded feed latency
``ts_local_ns − ts_exch_ns`` is kept as it was observed.

Long feeds are memory-mapped from the loader cache (``load_feed(..., mmap=True)``);
:func:`mapped_path` names the file behind such an array and :class:`PageReleaser` gives back the
pages a replay has passed, so a replay's resident set does not grow with the feed's length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

DEPTH: int = 1
TRADE: int = 2
CLEAR: int = 3

BID: int = 1
ASK: int = -1

EVENT_DTYPE = np.dtype(
    [
        ("ts_local_ns", np.int64),
        ("ts_exch_ns", np.int64),
        ("px", np.float64),
        ("qty", np.float64),
        ("trade_id", np.int64),
        ("kind", np.int8),
        ("side", np.int8),
    ],
    align=True,
)
"""Structured dtype of one market-data event (48 bytes, aligned).

Fields: ``ts_local_ns`` int64 (local receive time, ns), ``ts_exch_ns`` int64 (exchange time,
ns), ``px`` float64 (price, quote units), ``qty`` float64 (size, base units or contracts),
``trade_id`` int64 (vendor trade id for ``TRADE`` rows, -1 otherwise), ``kind`` int8
(``DEPTH``/``TRADE``/``CLEAR``), ``side`` int8 (+1 bid/buy, -1 ask/sell, 0 both for ``CLEAR``).
"""

BBO_DTYPE = np.dtype(
    [
        ("ts_local_ns", np.int64),
        ("ts_exch_ns", np.int64),
        ("update_id", np.int64),
        ("bid_px", np.float64),
        ("bid_qty", np.float64),
        ("ask_px", np.float64),
        ("ask_qty", np.float64),
    ],
    align=True,
)
"""Structured dtype of a recorded best bid/offer (e.g. Binance ``bookTicker``), used to check
book rebuilds. ``update_id`` is the vendor's order-book update id, -1 where absent."""


def empty_events(n: int) -> npt.NDArray[np.void]:
    """Allocate ``n`` zeroed events.

    Parameters
    ----------
    n : int
        Number of rows.

    Returns
    -------
    ndarray of shape (n,), dtype EVENT_DTYPE
        ``trade_id`` is set to -1.
    """
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["trade_id"] = -1
    return ev


def sort_events(events: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    """Return ``events`` stably sorted by ``ts_local_ns`` (vendor order kept among ties).

    Parameters
    ----------
    events : ndarray, dtype EVENT_DTYPE

    Returns
    -------
    ndarray, dtype EVENT_DTYPE
        A sorted copy (or ``events`` itself when already sorted).
    """
    ts = events["ts_local_ns"]
    if ts.size < 2 or bool(np.all(ts[1:] >= ts[:-1])):
        return events
    return events[np.argsort(ts, kind="stable")]


def _mapping(ev: npt.NDArray[np.void]) -> np.memmap[Any, Any] | None:
    """The :class:`numpy.memmap` that ``ev`` views (following ``base``), or ``None``."""
    b: Any = ev
    while b is not None:
        if isinstance(b, np.memmap):
            return b
        b = getattr(b, "base", None)
    return None


def mapped_path(ev: npt.NDArray[np.void]) -> str | None:
    """Path of the file ``ev`` is memory-mapped from (``None`` for an in-memory array).

    Parameters
    ----------
    ev : ndarray
        E.g. the events of a feed loaded with ``load_feed(..., mmap=True)``.

    Returns
    -------
    str or None
    """
    mm = _mapping(ev)
    name = getattr(mm, "filename", None) if mm is not None else None
    return str(name) if name else None


RELEASE_BYTES = 64 << 20
""":class:`PageReleaser` gives pages back in steps of at least this many bytes (64 MiB)."""


class PageReleaser:
    """Give back the pages of a memory-mapped feed behind a replay cursor.

    Reading a file-backed map brings its pages into the process's resident set, where they stay
    until the map is dropped: a replay of a 30-day feed would end with the whole file resident.
    ``MADV_DONTNEED`` on the rows already replayed drops them from this process (they stay in the
    kernel's page cache, shared with the other processes of a sweep, and are read again on
    access), so the resident part of the feed stays within a window of about
    :data:`RELEASE_BYTES` behind the cursor.

    Parameters
    ----------
    ev : ndarray
        A 1-D array; a no-op unless it is (a view of) a read-only :class:`numpy.memmap` and the
        platform has ``mmap.madvise``.

    Notes
    -----
    Only ever used on read-only maps: ``MADV_DONTNEED`` on a private writable map would discard
    changes. Linux ``madvise(2)``: for shared file mappings, later accesses re-read the file.
    """

    def __init__(self, ev: npt.NDArray[np.void]) -> None:
        import mmap

        self._mm = None
        self._done = 0
        mm = _mapping(ev)
        raw = getattr(mm, "_mmap", None) if mm is not None else None
        if raw is None or not hasattr(raw, "madvise") or ev.flags.writeable or ev.ndim != 1:
            return
        start = np.frombuffer(raw, dtype=np.uint8).ctypes.data
        self._off0 = int(ev.ctypes.data) - start  # byte offset of row 0 in the map
        self._row = int(ev.strides[0]) if ev.size else 1
        self._len = len(raw)
        self._page = mmap.PAGESIZE
        self._mm = raw
        self._advice = mmap.MADV_DONTNEED

    @property
    def active(self) -> bool:
        """Whether pages are released (a read-only map on a platform with ``madvise``)."""
        return self._mm is not None

    def release_to(self, row: int, force: bool = False) -> None:
        """Release the whole pages holding rows ``< row`` (not yet released), once at least
        :data:`RELEASE_BYTES` have accumulated (or always with ``force``)."""
        if self._mm is None:
            return
        end = self._off0 + row * self._row
        end -= end % self._page
        if end <= self._done or (not force and end - self._done < RELEASE_BYTES):
            return
        start = self._done
        if start == 0:
            start = max(0, self._off0 - self._off0 % self._page)
        if end > start:
            self._mm.madvise(self._advice, start, min(end, self._len) - start)
        self._done = end
