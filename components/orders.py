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
    """Time in force, Hyperliquid names.

    ``GTC`` rests (takes first if it crosses); ``ALO`` (add-liquidity-only, post-only) is
    rejected if it would cross on arrival; ``IOC`` takes what it can and cancels the rest.
    """

    GTC = 0
    ALO = 1
    IOC = 2


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
    """

    client_order_id: int
    leaves_qty: float
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
