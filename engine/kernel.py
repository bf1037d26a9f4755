"""The discrete-event kernel: clock, event queue, type-keyed dispatch, feeds and components.

Recorded market data does not go through the queue event by event. A *feed consumer* (a venue)
replays its recorded feed in compiled bulk up to the next scheduled event; Python only runs at
decision points (timers, order arrivals, fills, reports). See :meth:`Simulation.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from engine.events import Priority
from engine.queue import EventQueue
from engine.rng import RngStreams
from engine.time import END_OF_TIME


class FeedConsumer(Protocol):
    """Something that replays recorded data up to a horizon (a venue).

    ``advance(until_ns, inclusive)`` replays every recorded event with ``ts < until_ns``
    (``<=`` when ``inclusive``) and returns ``True``, *or* stops earlier (e.g. after a row that
    filled an order; it may schedule events at or after that row's time) and returns ``False``;
    the kernel then asks again with the possibly earlier new horizon. ``start_ns`` / ``end_ns``
    are the first and last recorded timestamps.
    """

    start_ns: int
    end_ns: int

    def advance(self, until_ns: int, inclusive: bool) -> bool:
        """Replay recorded rows up to the horizon; ``False`` if it stopped early (see above)."""
        ...


class Simulation:
    """One deterministic simulation run.

    Parameters
    ----------
    seed : int
        Seed of the trial; every component draws from its own named stream of it
        (:class:`engine.rng.RngStreams`).

    Notes
    -----
    The loop (:meth:`run`) repeats: peek the earliest scheduled ``(ts, priority)``; let every
    feed consumer replay recorded data up to it (data stamped ``ts`` is replayed first only when
    the event's priority is after ``MARKET_DATA``), again with the new earliest event if a feed
    stopped early or scheduled something sooner; pop and dispatch the earliest event. Ties are
    broken by ``(ts_ns, priority, seq)``; nothing depends on wall-clock time or hash order.

    Examples
    --------
    >>> sim = Simulation(seed=1)
    >>> seen = []
    >>> sim.schedule(10, Priority.TIMER, "late", target=seen.append)
    >>> sim.schedule(10, Priority.VENUE_MATCH, "early", target=seen.append)
    >>> sim.run(until_ns=100)
    >>> seen
    ['early', 'late']
    """

    def __init__(self, seed: int) -> None:
        self.rng = RngStreams(seed)
        self._queue = EventQueue()
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self._feeds: list[FeedConsumer] = []
        self._components: list[Any] = []
        self._stopped = False

    @property
    def now_ns(self) -> int:
        """Current simulated time, ns."""
        return self._queue.now_ns

    def schedule(
        self,
        ts_ns: int,
        priority: int,
        event: Any,
        target: Callable[[Any], None] | None = None,
    ) -> None:
        """Schedule ``event`` at ``ts_ns``.

        Parameters
        ----------
        ts_ns : int
            When it takes effect, ns (``>= now_ns``).
        priority : int
            A :class:`engine.events.Priority`.
        event : object
            Payload.
        target : callable, optional
            Direct receiver. When omitted, the event is delivered to every handler subscribed to
            ``type(event)``, in subscription order.

        Raises
        ------
        engine.errors.ScheduleInPastError
            If ``ts_ns`` is earlier than :attr:`now_ns`.
        """
        self._queue.push(ts_ns, priority, target, event)

    def subscribe(self, event_type: type, handler: Callable[[Any], None]) -> None:
        """Deliver every published event of exactly ``event_type`` to ``handler`` (in order)."""
        self._handlers.setdefault(event_type, []).append(handler)

    def publish(self, event: Any, priority: int = Priority.STRATEGY, delay_ns: int = 0) -> None:
        """Schedule ``event`` for its subscribers at ``now_ns + delay_ns``."""
        self._queue.push(self._queue.now_ns + delay_ns, priority, None, event)

    def add_feed(self, feed: FeedConsumer) -> None:
        """Register a feed consumer; feeds advance in registration order."""
        self._feeds.append(feed)

    def add_component(self, component: Any) -> None:
        """Register a component; its ``start()`` runs at the beginning of :meth:`run`."""
        self._components.append(component)

    def stop(self) -> None:
        """Stop the run after the event being dispatched."""
        self._stopped = True

    def close(self) -> None:
        """Drop every reference to components, feeds and pending events.

        Components point back at the simulation; clearing the lists breaks those cycles so a
        finished trial's memory (e.g. a venue's book) is freed at once, not at the next GC pass.
        """
        for c in self._components:
            close = getattr(c, "close", None)
            if close is not None:
                close()
        self._components.clear()
        self._feeds.clear()
        self._handlers.clear()
        self._queue._heap.clear()

    def run(self, until_ns: int | None = None) -> None:
        """Run until ``until_ns`` (default: the last recorded timestamp of all feeds).

        Parameters
        ----------
        until_ns : int, optional
            Events scheduled after this time are not dispatched. Defaults to the latest
            ``end_ns`` of the registered feeds (or :data:`engine.time.END_OF_TIME` without feeds).

        Notes
        -----
        On a fresh simulation with feeds, the clock starts at the earliest feed ``start_ns``.
        """
        if until_ns is None:
            until_ns = max((f.end_ns for f in self._feeds), default=END_OF_TIME)
        if self._feeds and self._queue.now_ns == 0 and not len(self._queue):
            # the clock starts at the first recorded event, so timers set in on_start are
            # relative to the data, not to the epoch
            self._queue.now_ns = min(f.start_ns for f in self._feeds)
        for c in self._components:
            c.start()
        queue = self._queue
        heap = queue._heap  # peeked directly: this loop runs once per dispatched event
        feeds = self._feeds
        handlers = self._handlers
        market_data = int(Priority.MARKET_DATA)
        while not self._stopped:
            if heap:
                head = heap[0]
                ts, prio = head[0], head[1]
            else:
                ts, prio = END_OF_TIME, 0
            if ts > until_ns:
                ts, prio = until_ns, market_data + 1  # replay the data through until_ns
            inclusive = prio > market_data
            reached = True
            for f in feeds:
                if not f.advance(ts, inclusive):
                    reached = False
            if not reached:
                continue  # a feed stopped early: new horizon
            if heap:
                head = heap[0]
                if head[0] < ts or (head[0] == ts and head[1] < prio):
                    continue  # a feed scheduled something sooner: new horizon
                if head[0] > until_ns:
                    break
            else:
                break
            ts_ns, _, _, target, event = queue.pop()
            if target is not None:
                target(event)
            else:
                for h in handlers.get(type(event), ()):
                    h(event)
        for c in self._components:
            c.stop()
