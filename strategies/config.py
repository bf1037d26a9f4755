"""Frozen base configuration shared by all strategy components."""

from __future__ import annotations

import attrs
from attrs import validators as v


@attrs.frozen(kw_only=True)
class StrategyConfig:
    """Settings every quoting strategy has.

    Subclass it (``@attrs.frozen(kw_only=True)``) to add parameters; the TOML table
    ``[strategy]`` is structured into the subclass named by the strategy's ``config_class``.

    Attributes
    ----------
    order_qty : float, default 0.01
        Size of each quote, in base units (rounded down to the venue's lot size).
    max_position : float, default 0.1
        Inventory limit ``q_max`` in base units: no bid is quoted at ``q >= q_max`` and no ask at
        ``q <= -q_max``.
    interval_ms : float, default 100.0
        Requote interval, in milliseconds (the strategy's decision clock).
    """

    order_qty: float = attrs.field(default=0.01, validator=v.gt(0))
    max_position: float = attrs.field(default=0.1, validator=v.gt(0))
    interval_ms: float = attrs.field(default=100.0, validator=v.gt(0))
