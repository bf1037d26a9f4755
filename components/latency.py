"""Latency models: how long a command takes to reach the venue and a report to come back."""

from __future__ import annotations

import attrs
from attrs import validators as v


@attrs.frozen(kw_only=True)
class ConstantLatency:
    """Fixed entry and response latency.

    Attributes
    ----------
    entry_ns : int
        Strategy → venue delay of every command, ns (``>= 0``).
    response_ns : int
        Venue → strategy delay of every report (ack, reject, cancel, fill), ns (``>= 0``).

    Notes
    -----
    The order-entry/response split follows hftbacktest's latency models ("Latency Models"
    page of its documentation): a command sent at ``t`` is seen by the venue at
    ``t + entry_ns``; what the venue does at ``u`` is seen by the strategy at
    ``u + response_ns``.
    """

    entry_ns: int = attrs.field(default=0, validator=v.ge(0))
    response_ns: int = attrs.field(default=0, validator=v.ge(0))
