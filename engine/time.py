"""Integer-nanosecond simulated time.

All timestamps in mmsim are ``int`` nanoseconds since the Unix epoch (``ts_ns``).
Floats never carry time: conversions happen once, at the edges (loaders, config).
"""

from __future__ import annotations

NS_PER_US: int = 1_000
NS_PER_MS: int = 1_000_000
NS_PER_S: int = 1_000_000_000
END_OF_TIME: int = 2**63 - 1
"""Sentinel later than any real timestamp (max int64)."""


def ms_to_ns(ms: float) -> int:
    """Convert milliseconds to integer nanoseconds (rounded to the nearest ns).

    Parameters
    ----------
    ms : float
        Duration or timestamp in milliseconds.

    Returns
    -------
    int
        The same quantity in nanoseconds.

    Examples
    --------
    >>> ms_to_ns(1.5)
    1500000
    """
    return int(round(ms * NS_PER_MS))


def ns_to_s(ns: int) -> float:
    """Convert integer nanoseconds to float seconds (for display and reporting only).

    Parameters
    ----------
    ns : int
        Nanoseconds.

    Returns
    -------
    float
        Seconds.
    """
    return ns / NS_PER_S
