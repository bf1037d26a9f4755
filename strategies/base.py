"""The ``Strategy`` base class: trading commands, execution hooks, and the local order state.

A strategy never touches venue or account state: it sends commands (which take effect after
the venue's entry latency) and learns outcomes from reports (after the response latency). Its
inventory ``q`` is the sum of the fills it has been told about.

Subclass it, set ``config_class``, override hooks; name it in TOML as ``kind = "module:Class"``.

Hooks (all optional)
--------------------
``on_start()``, ``on_stop()``, ``on_timer(Timer)``, ``on_order_accepted(OrderAccepted)``,
``on_order_rejected(OrderRejected)``, ``on_order_canceled(OrderCanceled)``,
``on_order_modified(OrderModified)``, ``on_fill(Fill)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from components.base import Component
from components.orders import (
    Fill,
    OrderAccepted,
    OrderCanceled,
    OrderModified,
    OrderRejected,
    Side,
    TimeInForce,
)
from engine.kernel import Simulation
from strategies.config import StrategyConfig


class LocalOrder:
    """The strategy's own record of an order it sent.

    Attributes
    ----------
    client_order_id : int
    side : int
        +1 buy, -1 sell.
    px : float
        Limit price, quote units.
    leaves_qty : float
        Open size as far as the strategy knows, base units.
    is_acked : bool
        The venue's ack arrived.
    is_cancel_pending : bool
        A cancel was sent and no outcome has arrived yet.
    is_modify_pending : bool
        A modify was sent and no outcome has arrived yet (``px``/``leaves_qty`` still the old ones).
    """

    __slots__ = ("client_order_id", "side", "px", "leaves_qty", "is_acked", "is_cancel_pending", "is_modify_pending")

    def __init__(self, client_order_id: int, side: int, px: float, qty: float) -> None:
        self.client_order_id = client_order_id
        self.side = side
        self.px = px
        self.leaves_qty = qty
        self.is_acked = False
        self.is_cancel_pending = False
        self.is_modify_pending = False


class Strategy(Component):
    """Base of trading strategies on one order-book venue.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    config : StrategyConfig
        An instance of ``type(self).config_class``.
    venue : venues.orderbook.venue.OrderBookVenue
    name : str, default "strategy"

    Attributes
    ----------
    q : float
        Inventory from the fills reported so far, base units (long > 0).
    open_orders : dict of int to LocalOrder
        Orders sent and not known to be done, by client order id.
    last_quote_ns : int or None
        Sim time of the last :meth:`quote` call (a requote), ns; ``None`` before the first.
    is_halted : bool
        :meth:`halt` was called: quotes are pulled and no more are sent this run.
    halt_reason : str or None
        The reason given to :meth:`halt`.

    Warnings
    --------
    Hooks are called by the kernel; do not call them directly. Never mutate the venue or the
    account; use the commands.
    """

    config_class: ClassVar[type[StrategyConfig]] = StrategyConfig

    def __init__(
        self, sim: Simulation, config: StrategyConfig, venue: Any, name: str = "strategy"
    ) -> None:
        super().__init__(sim, name)
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.venue = venue
        self.q = 0.0
        self.open_orders: dict[int, LocalOrder] = {}
        self._order_qty: float | None = None  # order_qty on the venue's lot grid, set on first use
        self.last_quote_ns: int | None = None
        self.is_halted = False
        self.halt_reason: str | None = None

    # -- commands ---------------------------------------------------------------------------
    def submit_limit(
        self, *, side: int, px: float, qty: float, tif: TimeInForce = TimeInForce.ALO
    ) -> int:
        """Send a limit order.

        Parameters
        ----------
        side : int
            ``Side.BUY`` (+1) or ``Side.SELL`` (-1).
        px : float
            Limit price on the venue's grid, quote units.
        qty : float
            Size on the lot grid, base units.
        tif : TimeInForce, default ALO
            Post-only by default (market makers should not cross by accident).

        Returns
        -------
        int
            The client order id.
        """
        coid: int = self.venue.new_order_id()
        self.open_orders[coid] = LocalOrder(coid, int(side), px, qty)
        self.venue.submit(self._on_report, coid, int(side), px, qty, tif)
        return coid

    def cancel(self, client_order_id: int) -> None:
        """Cancel an open order (no-op when it is unknown or a cancel is already pending)."""
        order = self.open_orders.get(client_order_id)
        if order is None or order.is_cancel_pending:
            return
        order.is_cancel_pending = True
        self.venue.cancel(client_order_id)

    def submit_market(self, *, side: int, qty: float) -> int:
        """Send a market order of ``qty`` (base units); returns its client order id.

        It takes from the opposite side outwards and its remainder is canceled
        (:meth:`venues.orderbook.venue.OrderBookVenue.submit_market`).
        """
        coid: int = self.venue.new_order_id()
        self.open_orders[coid] = LocalOrder(coid, int(side), float("nan"), qty)
        self.venue.submit_market(self._on_report, coid, int(side), qty)
        return coid

    def modify(self, client_order_id: int, px: float, qty: float) -> None:
        """Amend a resting order's price and/or size (no-op when it is unknown or a cancel or
        modify is pending).

        ``qty`` is the order's new total size (filled part included), as Binance's amend. The
        local record changes when :class:`components.orders.OrderModified` arrives; the queue rule
        (kept on a same-price size decrease, lost otherwise) is the venue's
        (:meth:`venues.orderbook.venue.OrderBookVenue.modify`).
        """
        order = self.open_orders.get(client_order_id)
        if order is None or order.is_cancel_pending or order.is_modify_pending:
            return
        order.is_modify_pending = True
        self.venue.modify(client_order_id, px, qty)

    def cancel_all(self) -> None:
        """Cancel every open order."""
        for coid in list(self.open_orders):
            self.cancel(coid)

    def halt(self, reason: str) -> None:
        """Stop quoting for the rest of the run: cancel every open order and every timer.

        After a halt :meth:`quote` (and so :meth:`quote_around_touch`) does nothing; explicit
        :meth:`submit_limit` calls still go through (a risk monitor flattens with an IOC that
        way). Calling it again only keeps the first reason.

        Parameters
        ----------
        reason : str
            Why (e.g. ``"risk: drawdown 12.5 > 10"``); kept in :attr:`halt_reason`.

        Warnings
        --------
        Command: called by risk monitors (:mod:`strategies.risk`) or by the strategy itself.
        """
        if not self.is_halted:
            self.is_halted = True
            self.halt_reason = reason
        self._timers.clear()
        self.cancel_all()

    def quote(self, *, bid_px: float | None, ask_px: float | None, qty: float) -> None:
        """Make the resting orders one bid at ``bid_px`` and one ask at ``ask_px``.

        Orders already at the wanted price are kept (their queue position too); others are
        cancelled; a missing side is sent as ALO. ``None`` means no order on that side.
        Records the time in :attr:`last_quote_ns`; does nothing once :meth:`halt` was called.

        Parameters
        ----------
        bid_px, ask_px : float or None
            Wanted prices on the venue's grid, quote units.
        qty : float
            Size of each new order, base units.
        """
        if self.is_halted:
            return
        self.last_quote_ns = self.sim.now_ns
        keep_bid = keep_ask = False  # one pass: this runs at every decision
        for order in list(self.open_orders.values()):
            if order.is_cancel_pending:
                continue
            if order.side == 1:
                if bid_px is not None and not keep_bid and order.px == bid_px:
                    keep_bid = True
                    continue
            elif ask_px is not None and not keep_ask and order.px == ask_px:
                keep_ask = True
                continue
            self.cancel(order.client_order_id)
        if bid_px is not None and not keep_bid:
            self.submit_limit(side=Side.BUY, px=bid_px, qty=qty)
        if ask_px is not None and not keep_ask:
            self.submit_limit(side=Side.SELL, px=ask_px, qty=qty)

    def quote_around_touch(
        self, bid_px: float, ask_px: float, best_bid: float, best_ask: float
    ) -> None:
        """Quote ``order_qty`` at ``bid_px`` / ``ask_px`` after the rules every quoter applies.

        Prices are rounded outwards onto the venue's grid (bids down, asks up), pulled back so
        they never cross the touch (a bid stays below the best ask, an ask above the best bid),
        and a side is dropped at the inventory limit (no bid at ``q >= max_position``, no ask at
        ``q <= -max_position``).

        Parameters
        ----------
        bid_px, ask_px : float
            Raw wanted prices, quote units.
        best_bid, best_ask : float
            The touch the decision was made on (``venue.touch()``), quote units.
        """
        prof = self.venue.profile
        bb, ba = best_bid, best_ask
        bid = prof.round_bid(bid_px)
        ask = prof.round_ask(ask_px)
        if bid >= ba:
            bid = prof.round_bid(ba - prof.tick_at(ba))
        if ask <= bb:
            ask = prof.round_ask(bb + prof.tick_at(bb))
        q_max = self.config.max_position
        qty = self._order_qty
        if qty is None:
            qty = self._order_qty = prof.round_qty(self.config.order_qty)
        self.quote(
            bid_px=bid if self.q < q_max - 1e-12 else None,
            ask_px=ask if self.q > -q_max + 1e-12 else None,
            qty=qty,
        )

    # -- reports ----------------------------------------------------------------------------
    def _on_report(self, event: Any) -> None:
        coid = event.client_order_id
        order = self.open_orders.get(coid)
        if type(event) is Fill:
            self.q += event.side * event.qty
            if order is not None:
                order.leaves_qty = event.leaves_qty
                if event.leaves_qty <= 1e-12:
                    del self.open_orders[coid]
            self.on_fill(event)
        elif type(event) is OrderAccepted:
            if order is not None:
                order.is_acked = True
            self.on_order_accepted(event)
        elif type(event) is OrderCanceled:
            self.open_orders.pop(coid, None)
            self.on_order_canceled(event)
        elif type(event) is OrderModified:
            if order is not None:
                order.is_modify_pending = False
                order.px, order.leaves_qty = event.px, event.leaves_qty
            self.on_order_modified(event)
        elif type(event) is OrderRejected:
            if order is not None:
                if order.is_cancel_pending and event.reason in ("unknown_order", "rejected_in_transit"):
                    # the cancel lost the race (fills follow or came) or never reached the venue
                    order.is_cancel_pending = False
                    if order.leaves_qty <= 1e-12:
                        del self.open_orders[coid]
                elif order.is_modify_pending:
                    # a rejected amend leaves the original order as it was (Binance "Modify Order")
                    order.is_modify_pending = False
                    if event.reason == "unknown_order" and order.leaves_qty <= 1e-12:
                        del self.open_orders[coid]
                else:  # the order itself was rejected
                    del self.open_orders[coid]
            self.on_order_rejected(event)

    # -- hooks --------------------------------------------------------------------------------
    def on_fill(self, event: Fill) -> None:
        """Hook: part or all of one of our orders traded (``self.q`` is already updated)."""

    def on_order_accepted(self, event: OrderAccepted) -> None:
        """Hook: the venue accepted an order."""

    def on_order_rejected(self, event: OrderRejected) -> None:
        """Hook: the venue rejected an order or a cancel."""

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """Hook: an order left the book unfilled (cancel, IOC remainder)."""

    def on_order_modified(self, event: OrderModified) -> None:
        """Hook: the venue applied a modify (``event.kept_priority`` says whether the order kept
        its queue position)."""
