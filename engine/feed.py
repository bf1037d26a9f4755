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
"""

from __future__ import annotations

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
