"""The ``Component`` base: lifecycle, timers, random streams and subscriptions.

Strategies (:mod:`strategies.base`) and venues (:mod:`venues.orderbook.venue`) derive from it.
A component talks to the world only through its :class:`engine.kernel.Simulation`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.events import Priority, Timer
from engine.kernel import Simulation


class Component:
    """Base of everything that lives in a simulation.

    Parameters
    ----------
    sim : engine.kernel.Simulation
        The simulation this component belongs to; the component registers itself.
    name : str
        Unique, stable name; also the prefix of its random streams.

    Notes
    -----
    Hooks ``on_start`` and ``on_stop`` default to no-ops. ``start``/``stop`` are called by the
    kernel; do not override them.
    """

    def __init__(self, sim: Simulation, name: str) -> None:
        self.sim = sim
        self.name = name
        self._timers: dict[str, tuple[int, int]] = {}  # name -> (period_ns, generation)
        sim.add_component(self)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Kernel hook: run ``on_start``. Do not override."""
        self.on_start()

    def stop(self) -> None:
        """Kernel hook: run ``on_stop``. Do not override."""
        self.on_stop()

    def close(self) -> None:
        """Release large state at the end of a trial (called by :meth:`Simulation.close`).

        Components reference each other (venue ↔ strategy callbacks), so without this their
        memory would wait for Python's cyclic garbage collector. Default: nothing.
        """

    def on_start(self) -> None:
        """Hook: called once before the first event. Set timers and subscriptions here."""

    def on_stop(self) -> None:
        """Hook: called once at the end of the run."""

    # -- services --------------------------------------------------------------------------
    @property
    def now_ns(self) -> int:
        """Current simulated time, ns."""
        return self.sim.now_ns

    def rng(self, stream: str = "default") -> np.random.Generator:
        """This component's own random stream ``"<name>/<stream>"``."""
        return self.sim.rng.stream(f"{self.name}/{stream}")

    def subscribe(self, event_type: type, handler: Callable[[Any], None]) -> None:
        """Receive every published event of ``event_type`` in ``handler``."""
        self.sim.subscribe(event_type, handler)

    def set_timer(
        self, name: str, *, every_ns: int | None = None, at_ns: int | None = None
    ) -> None:
        """Start (or restart) a timer delivering :class:`engine.events.Timer` to ``on_timer``.

        Parameters
        ----------
        name : str
            Timer name (replaces a running timer of the same name).
        every_ns : int, optional
            Period in ns; the first firing is at ``at_ns`` or ``now + every_ns``.
        at_ns : int, optional
            Time of the (first) firing, ns.

        Raises
        ------
        ValueError
            If neither ``every_ns`` nor ``at_ns`` is given, or ``every_ns <= 0``.
        """
        if every_ns is None and at_ns is None:
            raise ValueError("set_timer needs every_ns or at_ns")
        if every_ns is not None and every_ns <= 0:
            raise ValueError(f"every_ns must be > 0, got {every_ns}")
        generation = self._timers.get(name, (0, 0))[1] + 1
        self._timers[name] = (every_ns or 0, generation)
        first = at_ns if at_ns is not None else self.sim.now_ns + int(every_ns)  # type: ignore[arg-type]
        self.sim.schedule(first, Priority.TIMER, (name, generation), self._fire_timer)

    def cancel_timer(self, name: str) -> None:
        """Stop the timer ``name`` (no-op when not running)."""
        self._timers.pop(name, None)

    def _fire_timer(self, payload: tuple[str, int]) -> None:
        name, generation = payload
        entry = self._timers.get(name)
        if entry is None or entry[1] != generation:
            return  # cancelled or replaced
        period, _ = entry
        now = self.sim.now_ns
        if period:
            self.sim.schedule(now + period, Priority.TIMER, payload, self._fire_timer)
        else:
            del self._timers[name]
        self.on_timer(Timer(now, name))

    def on_timer(self, event: Timer) -> None:
        """Hook: a timer set with :meth:`set_timer` fired."""
