"""EventQueue ordering: (ts_ns, priority, seq), and no scheduling into the past."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ScheduleInPastError
from engine.queue import EventQueue


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), max_size=200))
def test_pop_order_is_time_then_priority_then_scheduling_order(entries):
    """Popped keys are non-decreasing in (ts, priority); equal keys come out in push order."""
    q = EventQueue()
    for n, (ts, prio) in enumerate(entries):
        q.push(ts, prio, None, n)
    out = [q.pop() for _ in range(len(entries))]
    keys = [(e[0], e[1], e[4]) for e in out]
    assert keys == sorted(keys)  # payload n = push order breaks ties
    assert len(q) == 0


def test_schedule_in_past_raises():
    """Scheduling earlier than the last popped time raises ScheduleInPastError."""
    q = EventQueue()
    q.push(10, 0, None, "a")
    q.pop()
    q.push(10, 0, None, "same time is fine")
    with pytest.raises(ScheduleInPastError):
        q.push(9, 0, None, "past")


def test_peek_key_of_empty_queue_is_end_of_time():
    """An empty queue reports END_OF_TIME so feeds replay to their end."""
    from engine.time import END_OF_TIME

    assert EventQueue().peek_key() == (END_OF_TIME, 0)
