"""Configuration of the simulated order-book venue (frozen attrs, built from TOML by cattrs).

Venue *rules* (price grid, fee schedule) live in the profile modules
(:mod:`venues.hyperliquid`, :mod:`venues.binance`); this module only holds the knobs a user sets.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

QUEUE_MODELS = ("risk_averse", "prob_power", "prob_log")
PROFILES = ("hyperliquid", "binance_usdm")


@attrs.frozen(kw_only=True)
class VenueConfig:
    """Settings of one simulated order-book venue.

    Attributes
    ----------
    kind : str, default "orderbook"
        The venue class: ``"orderbook"`` (:class:`venues.orderbook.venue.OrderBookVenue`) or a
        dotted ``"module:Class"`` path to a user subclass of it (same constructor and config).
    profile : {"hyperliquid", "binance_usdm"}, default "hyperliquid"
        Exchange rules and default fee schedule (see :mod:`venues.profiles`).
    tick_size : float or None, default None
        Price increment (quote units). ``None``: taken from the profile/feed (Hyperliquid uses
        its 5-significant-figure grid; Binance the feed's inferred tick).
    lot_size : float or None, default None
        Size increment (base units). ``None``: ``10**-sz_decimals`` or the feed's inferred lot.
    sz_decimals : int or None, default None
        Hyperliquid ``szDecimals`` of the asset; ``None``: from the feed's recorded ``meta``.
    maker_fee_bps, taker_fee_bps : float or None, default None
        Fees in basis points of notional (negative = rebate); ``None``: the profile's tier-0 fee.
    min_notional : float or None, default None
        Minimum order value in quote units; ``None``: the profile's ($10 on Hyperliquid).
    entry_latency_ms : float, default 10.0
        Strategy → venue latency of every command (order, cancel), in milliseconds.
    response_latency_ms : float, default 10.0
        Venue → strategy latency of acks, rejects, cancels and fills, in milliseconds.
    queue_model : {"risk_averse", "prob_power", "prob_log"}, default "risk_averse"
        Queue-position model for resting orders (see :mod:`components.queue`).
    queue_power : float, default 3.0
        Exponent ``n`` of the ``prob_power`` model, ``f(x) = x**n``.
    """

    kind: str = attrs.field(default="orderbook", validator=v.matches_re(r"orderbook|[\w.]+:[\w.]+"))
    profile: str = attrs.field(default="hyperliquid", validator=v.in_(PROFILES))
    tick_size: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    lot_size: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    sz_decimals: int | None = attrs.field(default=None, validator=v.optional([v.ge(0), v.le(8)]))
    maker_fee_bps: float | None = attrs.field(default=None, validator=v.optional(v.gt(-100)))
    taker_fee_bps: float | None = attrs.field(default=None, validator=v.optional(v.gt(-100)))
    min_notional: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    entry_latency_ms: float = attrs.field(default=10.0, validator=v.ge(0))
    response_latency_ms: float = attrs.field(default=10.0, validator=v.ge(0))
    queue_model: str = attrs.field(default="risk_averse", validator=v.in_(QUEUE_MODELS))
    queue_power: float = attrs.field(default=3.0, validator=v.gt(0))
