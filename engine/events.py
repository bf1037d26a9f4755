"""Kernel events and the same-timestamp priority table.

Events are frozen attrs records with an integer-nanosecond ``ts_ns``. Venue and strategy event
types (fills, acks, ...) live in :mod:`components.orders`; this module holds only what the kernel
itself needs.

Same-timestamp ordering (lowest value first), checked by ``tests/engine/test_kernel.py``:

============================  =====  ===============================================
``Priority``                  value  what runs at that priority
============================  =====  ===============================================
``KERNEL``                    0      stop and control
``VENUE_MATCH``               10     commands arriving at a venue (after entry latency)
``MARKET_DATA``               20     recorded market data replayed by a venue
``EXECUTION_REPORT``          30     acks, rejects, cancels and fills reaching a strategy
``TIMER``                     40     component timers (e.g. the quoter's requote clock)
``STRATEGY``                  50     anything else a component schedules
============================  =====  ===============================================

So an order that reaches a venue at ``t`` is matched against the book as it was *before* the
market data stamped ``t``, and a timer at ``t`` sees the book *after* it.
"""

from __future__ import annotations

from enum import IntEnum

import attrs


class Priority(IntEnum):
    """Tie-break between events with the same ``ts_ns`` (lower runs first)."""

    KERNEL = 0
    VENUE_MATCH = 10
    MARKET_DATA = 20
    EXECUTION_REPORT = 30
    TIMER = 40
    STRATEGY = 50


@attrs.frozen(slots=True)
class Event:
    """Base of every event.

    Attributes
    ----------
    ts_ns : int
        Simulated time at which the event takes effect, ns since the epoch.
    """

    ts_ns: int


@attrs.frozen(slots=True)
class Timer(Event):
    """A component timer fired.

    Attributes
    ----------
    name : str
        The name given to :meth:`components.base.Component.set_timer`.
    """

    name: str
