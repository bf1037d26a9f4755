"""Configuration of the simulated order-book venue (frozen attrs, built from TOML by cattrs).

Venue *rules* (price grid, fee schedule) live in the profile modules
(:mod:`venues.hyperliquid`, :mod:`venues.binance`); this module only holds the knobs a user sets.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

QUEUE_MODELS = ("risk_averse", "prob_power", "prob_log")
QUEUE_BELOW_ZERO = ("clamp", "allow")
FILL_RULES = ("partial_fill", "no_partial_fill")
LATENCY_MODELS = ("constant", "recorded", "lognormal")
TIMELINES = ("two", "local")
TIE_ORDERS = ("orders_first", "data_first")
SELF_TRADE_MODES = ("expire_maker", "expire_taker", "none")
PROFILES = ("hyperliquid", "hyperliquid_perp", "binance_usdm", "binance_coinm", "binance_spot")


@attrs.frozen(kw_only=True)
class VenueConfig:
    """Settings of one simulated order-book venue.

    Attributes
    ----------
    kind : str, default "orderbook"
        The venue class: ``"orderbook"`` (:class:`venues.orderbook.venue.OrderBookVenue`) or a
        dotted ``"module:Class"`` path to a user subclass of it (same constructor and config).
    profile : {"hyperliquid", "hyperliquid_perp", "binance_usdm", "binance_coinm", "binance_spot"}, \
default "hyperliquid"
        Exchange rules, contract type and default fee schedule (see :mod:`venues.profiles`;
        ``hyperliquid`` = ``hyperliquid_perp``). Must match the data: an inverse (COIN-M) or
        spot capture with another kind of profile is refused.
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
    fee_tier : int, default 0
        Fee tier of the default rates (Binance VIP 0..9, Hyperliquid 0..6;
        :data:`venues.profiles.FEE_TIERS`); explicit ``*_fee_bps`` override it.
    staking_discount, referral_discount : float, default 0.0
        Hyperliquid fee discounts, fractions in ``[0, 1)`` (staking 0.05..0.40, referral 0.04).
    contract_size : float or None, default None
        ``binance_coinm``: USD per contract; ``None``: 100 for BTCUSD, else 10.
    entry_latency_ms : float, default 10.0
        Strategy → venue latency of every command (order, modify, cancel), in milliseconds
        (the median with ``latency_model = "lognormal"``).
    response_latency_ms : float, default 10.0
        Venue → strategy latency of acks, rejects, cancels and fills, in milliseconds (the
        median with ``latency_model = "lognormal"``).
    latency_model : {"constant", "recorded", "lognormal"}, default "constant"
        Order latency model (:mod:`components.latency`): fixed values; interpolated from the
        recorded round trips in ``latency_path`` (hftbacktest's ``IntpOrderLatency`` rule); or
        seeded lognormal draws (median ``*_latency_ms``, 99th percentile ``*_latency_p99_ms``)
        from the trial's ``latency/<venue>`` random stream, so replicates differ.
    modify_entry_latency_ms, cancel_entry_latency_ms : float or None, default None
        Entry latency (median for ``lognormal``) of a modify / cancel request, ms; ``None``:
        ``entry_latency_ms``. Not used by ``recorded``.
    entry_latency_p99_ms, response_latency_p99_ms : float or None, default None
        ``lognormal`` only (required there): 99th percentile of the entry / response latency,
        ms, ``>=`` the median.
    latency_path : str or None, default None
        ``recorded`` only (required there): ``.npz``/``.npy``/``.csv`` file of
        ``req_ts, exch_ts, resp_ts`` rows in ns (:func:`components.latency.load_order_latency`);
        relative to the sweep file.
    timeline : {"two", "local"}, default "two"
        ``"two"``: matching runs on the exchange clock (each row at its ``ts_exch_ns``) while the
        strategy sees the book at the local receive clock (``ts_local_ns``), so the market can
        move against a resting order before the strategy sees it (hftbacktest's exchange/local
        processors). ``"local"``: one clock, matching on ``ts_local_ns`` (zero feed latency, the
        behaviour before issue 10; faster, and identical when the two clocks agree).
    feed_latency_ms : float or None, default None
        ``timeline = "two"``: ``None`` uses the recorded feed latency ``ts_local − ts_exch`` of
        each row (rows without an exchange time, ``ts_exch_ns <= 0``, get latency 0); a value
        sets every row's exchange time to ``ts_local − feed_latency_ms`` instead.
    tie_order : {"orders_first", "data_first"}, default "orders_first"
        What happens first when a request reaches the venue at the same nanosecond as recorded
        rows stamped then: ``"orders_first"`` matches the request against the book before those
        rows (recorded stamps are truncated to ms/µs, so a row stamped ``t`` happened in
        ``[t, t + 1 unit)``); ``"data_first"`` applies the rows first (hftbacktest's order).
    self_trade : {"expire_maker", "expire_taker", "none"}, default "expire_maker"
        Self-trade prevention when a new order would trade against one of our own resting
        orders: cancel the resting one(s) (Binance's default ``EXPIRE_MAKER``), cancel the
        incoming order's remainder (``EXPIRE_TAKER``), or ignore our own orders (``none``).
    queue_model : {"risk_averse", "prob_power", "prob_log"}, default "risk_averse"
        Queue-position model for resting orders (see :mod:`components.queue`).
    queue_power : float, default 3.0
        Exponent ``n`` of the ``prob_power`` model, ``f(x) = x**n``.
    queue_below_zero : {"clamp", "allow"}, default "clamp"
        ``prob_power`` / ``prob_log`` only. ``"clamp"``: a cancel never puts the queue estimate
        below 0 (a cancel cannot fill us). ``"allow"``: hftbacktest 2.4.4's ``ProbQueueModel``
        arithmetic as it is: the share of a cancel put ahead of us may exceed what is there, the
        estimate goes below 0 (the next print at the price fills us with its size plus that
        overshoot), and a later decrease evaluated at a negative position can move the order
        back, with ``prob_log`` to the back of the level. Use it only to reproduce hftbacktest
        runs (:mod:`components.queue`).
    fill_rule : {"partial_fill", "no_partial_fill"}, default "partial_fill"
        What a print at a resting order's price does once it has cleared the queue ahead
        (:func:`venues.orderbook._book_nb.advance_nb`, Notes). ``"partial_fill"`` (hftbacktest's
        ``PartialFillExchange``): the excess, in whole lots, fills our orders at that price in
        arrival order; the better assumption for liquid markets with deep touches and prints
        reported per execution. ``"no_partial_fill"`` (hftbacktest's ``NoPartialFillExchange``):
        the order fills whole and the print is not used up by it; the better assumption for a
        small order on a thick queue, optimistic when our size is large next to the prints.
        A print through the price fills the order whole under both.
    own_impact : bool, default False
        ``True``: liquidity our aggressive orders take stays taken until the recorded book
        updates that level (a ``DEPTH`` row at that price), so repeated takers cannot take the
        same size again. The book the strategy sees and resting queues are unchanged. ``False``
        (default, comparable with hftbacktest): every taker sees the full recorded book.
    """

    kind: str = attrs.field(default="orderbook", validator=v.matches_re(r"orderbook|[\w.]+:[\w.]+"))
    profile: str = attrs.field(default="hyperliquid", validator=v.in_(PROFILES))
    tick_size: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    lot_size: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    sz_decimals: int | None = attrs.field(default=None, validator=v.optional([v.ge(0), v.le(8)]))
    maker_fee_bps: float | None = attrs.field(default=None, validator=v.optional(v.gt(-100)))
    taker_fee_bps: float | None = attrs.field(default=None, validator=v.optional(v.gt(-100)))
    min_notional: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    fee_tier: int = attrs.field(default=0, validator=[v.ge(0), v.le(9)])
    staking_discount: float = attrs.field(default=0.0, validator=[v.ge(0), v.lt(1)])
    referral_discount: float = attrs.field(default=0.0, validator=[v.ge(0), v.lt(1)])
    contract_size: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    entry_latency_ms: float = attrs.field(default=10.0, validator=v.ge(0))
    response_latency_ms: float = attrs.field(default=10.0, validator=v.ge(0))
    latency_model: str = attrs.field(default="constant", validator=v.in_(LATENCY_MODELS))
    modify_entry_latency_ms: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    cancel_entry_latency_ms: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    entry_latency_p99_ms: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    response_latency_p99_ms: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    latency_path: str | None = attrs.field(default=None)
    timeline: str = attrs.field(default="two", validator=v.in_(TIMELINES))
    feed_latency_ms: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    tie_order: str = attrs.field(default="orders_first", validator=v.in_(TIE_ORDERS))
    self_trade: str = attrs.field(default="expire_maker", validator=v.in_(SELF_TRADE_MODES))
    queue_model: str = attrs.field(default="risk_averse", validator=v.in_(QUEUE_MODELS))
    queue_power: float = attrs.field(default=3.0, validator=v.gt(0))
    queue_below_zero: str = attrs.field(default="clamp", validator=v.in_(QUEUE_BELOW_ZERO))
    fill_rule: str = attrs.field(default="partial_fill", validator=v.in_(FILL_RULES))
    own_impact: bool = attrs.field(default=False, validator=v.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        """Cross-field checks of the latency keys (each error names the key to fix).

        Keys a model does not use are ignored (so ``latency_model`` can be a grid axis).
        """
        if self.latency_model == "recorded" and not self.latency_path:
            raise ValueError("'latency_path' must name a latency file when latency_model = \"recorded\"")
        for key, median in (("entry_latency_p99_ms", self.entry_latency_ms),
                            ("response_latency_p99_ms", self.response_latency_ms)):  # fmt: skip
            p99 = getattr(self, key)
            if self.latency_model == "lognormal":
                if p99 is None:
                    raise ValueError(f"'{key}' must be set when latency_model = \"lognormal\"")
                if p99 < median:
                    raise ValueError(f"'{key}' must be >= the median ({median} ms), got {p99}")
