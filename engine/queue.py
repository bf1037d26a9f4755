"""The event queue: a binary heap keyed by ``(ts_ns, priority, seq)``.

``seq`` is a per-queue counter, so events with equal time and priority come out in the order
they were scheduled — on every run (the simpy design, with integer ns instead of float time).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from engine.errors import ScheduleInPastError
from engine.time import END_OF_TIME


class EventQueue:
    """Deterministic priority queue of ``(ts_ns, priority, seq, target, event)`` entries.

    ``target`` is the callable that receives ``event`` when it is popped, or ``None`` for
    events dispatched by type to subscribers.

    Examples
    --------
    >>> q = EventQueue()
    >>> q.push(5, 1, None, "b"); q.push(5, 0, None, "a"); q.push(1, 9, None, "c")
    >>> [q.pop()[4] for _ in range(3)]
    ['c', 'a', 'b']
    """

    __slots__ = ("_heap", "_seq", "now_ns")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, Callable[[Any], None] | None, Any]] = []
        self._seq = itertools.count()
        self.now_ns = 0

    def push(
        self, ts_ns: int, priority: int, target: Callable[[Any], None] | None, event: Any
    ) -> None:
        """Schedule ``event`` at ``ts_ns``.

        Parameters
        ----------
        ts_ns : int
            Time in ns; must not be earlier than the time of the last popped entry.
        priority : int
            Tie-break among equal ``ts_ns`` (a :class:`engine.events.Priority`).
        target : callable or None
            Receiver of the event, or ``None`` for type-dispatched events.
        event : object
            The payload.

        Raises
        ------
        ScheduleInPastError
            If ``ts_ns < now_ns``.
        """
        if ts_ns < self.now_ns:
            raise ScheduleInPastError(
                f"cannot schedule at {ts_ns} ns: the clock is at {self.now_ns} ns"
            )
        heapq.heappush(self._heap, (ts_ns, priority, next(self._seq), target, event))

    def pop(self) -> tuple[int, int, int, Callable[[Any], None] | None, Any]:
        """Remove and return the earliest entry, advancing ``now_ns`` to its time.

        Raises
        ------
        IndexError
            If the queue is empty.
        """
        entry = heapq.heappop(self._heap)
        self.now_ns = entry[0]
        return entry

    def peek_key(self) -> tuple[int, int]:
        """Return ``(ts_ns, priority)`` of the earliest entry, ``(END_OF_TIME, 0)`` when empty."""
        if not self._heap:
            return END_OF_TIME, 0
        head = self._heap[0]
        return head[0], head[1]

    def __len__(self) -> int:
        return len(self._heap)
