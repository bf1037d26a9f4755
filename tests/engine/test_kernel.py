"""Kernel rules: same-timestamp priorities, timers, dispatch order, feeds interleaving."""

import pytest

from components.base import Component
from engine.events import Priority, Timer
from engine.kernel import Simulation


def test_priority_table_order():
    """KERNEL < VENUE_MATCH < MARKET_DATA < EXECUTION_REPORT < TIMER < STRATEGY."""
    order = [Priority.KERNEL, Priority.VENUE_MATCH, Priority.MARKET_DATA,
             Priority.EXECUTION_REPORT, Priority.TIMER, Priority.STRATEGY]  # fmt: skip
    assert order == sorted(order)


def test_same_timestamp_events_run_by_priority_then_schedule_order():
    """At one timestamp, lower priority runs first; equal priority in scheduling order."""
    sim = Simulation(seed=0)
    seen = []
    for name, prio in [("timer1", Priority.TIMER), ("report", Priority.EXECUTION_REPORT),
                       ("match", Priority.VENUE_MATCH), ("timer2", Priority.TIMER)]:  # fmt: skip
        sim.schedule(100, prio, name, target=seen.append)
    sim.run(until_ns=1000)
    assert seen == ["match", "report", "timer1", "timer2"]


def test_type_dispatch_in_subscription_order():
    """Published events reach subscribers of exactly their type, in subscription order."""
    sim = Simulation(seed=0)
    seen = []
    sim.subscribe(Timer, lambda e: seen.append(("a", e.name)))
    sim.subscribe(Timer, lambda e: seen.append(("b", e.name)))
    sim.subscribe(int, lambda e: seen.append(("int", e)))
    sim.schedule(5, Priority.STRATEGY, Timer(5, "x"))
    sim.run(until_ns=10)
    assert seen == [("a", "x"), ("b", "x")]


class _Ticker(Component):
    def __init__(self, sim):
        super().__init__(sim, "ticker")
        self.fired = []

    def on_start(self):
        self.set_timer("t", every_ns=10)
        self.set_timer("once", at_ns=25)

    def on_timer(self, event):
        self.fired.append((event.ts_ns, event.name))
        if event.ts_ns == 30:
            self.cancel_timer("t")


def test_periodic_and_one_shot_timers_and_cancel():
    """A periodic timer fires every period until cancelled; a one-shot fires once."""
    sim = Simulation(seed=0)
    c = _Ticker(sim)
    sim.run(until_ns=100)
    assert c.fired == [(10, "t"), (20, "t"), (25, "once"), (30, "t")]


def test_set_timer_rejects_bad_arguments():
    """set_timer needs a positive period or an absolute time."""
    c = Component(Simulation(seed=0), "c")
    with pytest.raises(ValueError):
        c.set_timer("x")
    with pytest.raises(ValueError):
        c.set_timer("x", every_ns=0)


class _Feed:
    """A fake feed consumer that records the horizons it is asked to replay to."""

    def __init__(self, times):
        self.times = list(times)
        self.start_ns, self.end_ns = self.times[0], self.times[-1]
        self.replayed = []

    def advance(self, until_ns, inclusive):
        while self.times and (
            self.times[0] < until_ns or (inclusive and self.times[0] == until_ns)
        ):
            self.replayed.append(self.times.pop(0))
        return True


def test_feed_is_replayed_before_later_events_and_after_venue_matches():
    """Data at t is replayed before a TIMER at t but after a VENUE_MATCH at t."""
    sim = Simulation(seed=0)
    feed = _Feed([100, 200, 300])
    sim.add_feed(feed)
    log = []
    sim.schedule(
        200, Priority.VENUE_MATCH, "match", target=lambda e: log.append((e, list(feed.replayed)))
    )
    sim.schedule(
        200, Priority.TIMER, "timer", target=lambda e: log.append((e, list(feed.replayed)))
    )
    sim.run()
    assert log == [("match", [100]), ("timer", [100, 200])]
    assert feed.replayed == [100, 200, 300]


def test_clock_starts_at_first_recorded_event():
    """With a feed, timers set in on_start are relative to the data's first timestamp."""
    sim = Simulation(seed=0)
    sim.add_feed(_Feed([1_000_000, 1_000_050]))
    c = _Periodic(sim)
    sim.run()
    assert c.fired == [1_000_010, 1_000_020, 1_000_030, 1_000_040, 1_000_050]


class _Periodic(Component):
    def __init__(self, sim):
        super().__init__(sim, "periodic")
        self.fired = []

    def on_start(self):
        self.set_timer("t", every_ns=10)

    def on_timer(self, event):
        self.fired.append(event.ts_ns)
