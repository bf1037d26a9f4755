"""Errors raised by the simulation kernel."""

from __future__ import annotations


class SimError(Exception):
    """Base class of kernel errors."""


class ScheduleInPastError(SimError, ValueError):
    """An event was scheduled earlier than the simulation clock (``ts_ns < now_ns``)."""


class DeterminismError(SimError):
    """Two runs that must be identical were not."""
