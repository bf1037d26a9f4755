"""Orders, sides, time-in-force, and the execution events a venue sends back.

Prices are floats in quote units; sizes are floats in base units (already on the venue's lot
grid). Every event is a frozen attrs record with ``ts_ns`` = the time the *strategy* receives it
(after the response latency); ``venue_ts_ns`` is when it happened at the venue.
"""

from __future__ import annotations

from enum import IntEnum

import attrs

from engine.events import Event


class Side(IntEnum):
    """Order side; the sign lets ``q += side * qty``."""

    BUY = 1
    SELL = -1


class TimeInForce(IntEnum):
    """Time in force (Hyperliquid names, with the Binance aliases).

    ``GTC``
        Good till canceled: takes the liquidity it crosses on arrival, then rests the remainder
        at its limit price (Binance ``GTC``, Hyperliquid ``Gtc``).
    ``ALO`` = ``GTX`` = ``POST_ONLY``
        Add liquidity only: rejected (``"post_only_would_cross"``) if it would trade on
        arrival, else rests (Hyperliquid ``Alo``, Binance ``GTX``).
    ``IOC``
        Immediate or cancel: takes what it can up to its limit, the rest is canceled.
    ``FOK``
        Fill or kill: fills in full on arrival from the liquidity up to its limit, or is
        canceled without any fill (Binance ``FOK``).
    """

    GTC = 0
    ALO = 1
    GTX = 1
    POST_ONLY = 1
    IOC = 2
    FOK = 3


class OrderType(IntEnum):
    """``LIMIT`` (a price) or ``MARKET`` (no price: takes from the best level outwards until
    filled or the visible book is exhausted; the rest is canceled, as an IOC)."""

    LIMIT = 0
    MARKET = 1


class Liquidity(IntEnum):
    """Whether a fill added (``MAKER``) or removed (``TAKER``) liquidity."""

    MAKER = 0
    TAKER = 1


@attrs.frozen(slots=True)
class OrderAccepted(Event):
    """The venue accepted an order (it rests, or an IOC/GTC is about to take).

    Attributes
    ----------
    client_order_id : int
        Id returned by the strategy's submit command.
    venue_ts_ns : int
        Time of acceptance at the venue, ns.
    """

    client_order_id: int
    venue_ts_ns: int


@attrs.frozen(slots=True)
class OrderRejected(Event):
    """The venue rejected an order or a cancel.

    Attributes
    ----------
    client_order_id : int
    reason : str
        e.g. ``"post_only_would_cross"``, ``"min_notional"``, ``"invalid_price"``,
        ``"unknown_order"`` (cancel of an order no longer open).
    venue_ts_ns : int
    """

    client_order_id: int
    reason: str
    venue_ts_ns: int


@attrs.frozen(slots=True)
class OrderCanceled(Event):
    """An order left the book without (further) fills.

    Attributes
    ----------
    client_order_id : int
    leaves_qty : float
        Size that was still open, base units.
    venue_ts_ns : int
    reason : str, default "canceled"
        ``"canceled"`` (our cancel), ``"ioc"`` (IOC/market remainder), ``"fok"`` (a FOK that
        could not fill in full), ``"self_trade"`` (self-trade prevention expired it),
        ``"post_only_would_cross"`` (a modify moved a post-only order through the touch),
        ``"modify_below_filled"`` (a modify to a size not above the filled size),
        ``"no_room"`` (a GTC remainder that could not rest, see the venue).
    """

    client_order_id: int
    leaves_qty: float
    venue_ts_ns: int
    reason: str = "canceled"


@attrs.frozen(slots=True)
class OrderModified(Event):
    """The venue applied a modify (amend) of a resting order.

    Attributes
    ----------
    client_order_id : int
    px : float
        Limit price now, quote units.
    qty : float
        Order size now (filled + open), base units.
    leaves_qty : float
        Open size now, base units.
    kept_priority : bool
        ``True`` when the order kept its queue position (same price, size reduced).
    venue_ts_ns : int
    """

    client_order_id: int
    px: float
    qty: float
    leaves_qty: float
    kept_priority: bool
    venue_ts_ns: int


@attrs.frozen(slots=True)
class Fill(Event):
    """Part or all of an order traded.

    Attributes
    ----------
    client_order_id : int
    side : int
        +1 buy, -1 sell (our side).
    px : float
        Execution price, quote units.
    qty : float
        Executed size, base units.
    liquidity : Liquidity
        ``MAKER`` or ``TAKER``.
    fee : float
        Fee paid, quote units (negative = rebate).
    leaves_qty : float
        Size still open after this fill, base units.
    venue_ts_ns : int
        Time of the fill at the venue, ns.
    """

    client_order_id: int
    side: int
    px: float
    qty: float
    liquidity: Liquidity
    fee: float
    leaves_qty: float
    venue_ts_ns: int
