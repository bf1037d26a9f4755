"""The simulated order-book venue: replays a recorded L2 feed and matches the strategy's orders.

Commands from a strategy reach the venue after the entry latency; acks, rejects, cancels and
fills reach the strategy after the response latency. Between decision points the recorded feed
is replayed in compiled bulk by :func:`venues.orderbook._book_nb.advance_nb`.

What this module deliberately does not hold: exchange rules and fees (:mod:`venues.profiles`),
queue arithmetic (:mod:`components.queue`), accounting (:mod:`components.account`).
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING

import numpy as np

from components.account import Account
from components.base import Component
from components.latency import ConstantLatency
from components.orders import (
    Fill,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    TimeInForce,
)
from components.queue import QUEUE_MODEL_CODES
from engine.events import Priority
from engine.feed import CLEAR
from engine.kernel import Simulation
from engine.time import END_OF_TIME, ms_to_ns
from venues.orderbook import _book_nb as K
from venues.orderbook.config import VenueConfig
from venues.profiles import VenueProfile, make_profile

if TYPE_CHECKING:
    from venues.loaders import Feed

MAX_BOOK_TICKS = 50_000_000
BOOK_WINDOW = 2.0
"""The dense book covers prices within a factor ``BOOK_WINDOW`` of the feed's median price."""


def venue_class(kind: str) -> type:
    """The venue class named by ``VenueConfig.kind``.

    Parameters
    ----------
    kind : str
        ``"orderbook"`` or a dotted ``"module:Class"`` path (the module must be importable).

    Returns
    -------
    type
        :class:`OrderBookVenue` or a subclass of it.

    Raises
    ------
    ValueError
        If the module or class cannot be imported or is not an :class:`OrderBookVenue` subclass.
    """
    if kind == "orderbook":
        return OrderBookVenue
    module_name, _, qualname = kind.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # noqa: BLE001 - any import failure is a config problem
        raise ValueError(f"cannot import venue {kind!r} ({type(exc).__name__}: {exc})") from None
    if not (isinstance(obj, type) and issubclass(obj, OrderBookVenue)):
        raise ValueError(f"venue {kind!r} is not a subclass of venues.orderbook.venue.OrderBookVenue")
    return obj


def venue_profile(config: VenueConfig, feed: Feed) -> VenueProfile:
    """Build the venue's rules from its config, falling back to what the feed recorded.

    Parameters
    ----------
    config : VenueConfig
    feed : venues.loaders.Feed
        Supplies ``tick_size``, ``lot_size`` and ``sz_decimals`` when the config leaves them out.

    Returns
    -------
    venues.profiles.VenueProfile
    """
    meta = feed.meta
    sz_decimals = config.sz_decimals if config.sz_decimals is not None else meta.sz_decimals
    if config.profile != "hyperliquid":
        sz_decimals = None
    if config.profile == "hyperliquid":
        tick = config.tick_size
        lot = (
            config.lot_size
            if config.lot_size is not None
            else (None if sz_decimals is not None else meta.lot_size)
        )
    else:
        tick = config.tick_size if config.tick_size is not None else meta.tick_size
        lot = config.lot_size if config.lot_size is not None else meta.lot_size
    return make_profile(
        config.profile,
        tick_size=tick,
        lot_size=lot,
        sz_decimals=sz_decimals,
        maker_fee_bps=config.maker_fee_bps,
        taker_fee_bps=config.taker_fee_bps,
        min_notional=config.min_notional,
    )


class OrderBookVenue(Component):
    """A central-limit-order-book venue replaying one recorded feed.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    feed : venues.loaders.Feed
        Recorded events (``engine.feed.EVENT_DTYPE``), sorted by ``ts_local_ns``.
    config : VenueConfig
    account : components.account.Account
        Account credited and debited by this venue's fills.
    name : str, default "venue"
    sample_ms : float, default 100.0
        Period of the best bid/ask samples taken during replay (:meth:`touch_samples`), ms.

    Raises
    ------
    ValueError
        If the feed is empty, or its prices do not lie on the venue's price grid, or span more
        than ``MAX_BOOK_TICKS`` ticks.

    Notes
    -----
    * Sim time is the feed's local receive time; the strategy's view of the book is the
      replayed book at the current sim time.
    * Resting orders hold a queue position (:mod:`components.queue`); they fill on trades at or
      through their price and when the opposite side moves through it, always at their own
      price, as maker.
    * The book is a dense array over prices within a factor :data:`BOOK_WINDOW` of the feed's
      median price; recorded levels outside it are ignored (counted in
      :attr:`n_rows_outside_book`) and orders priced outside it are rejected.
    * Marketable orders (GTC crossing, IOC) take liquidity level by level from the replayed book
      without depleting it (no market impact): keep taker sizes small relative to the touch.
    """

    def __init__(
        self,
        sim: Simulation,
        feed: Feed,
        config: VenueConfig,
        account: Account,
        name: str = "venue",
        sample_ms: float = 100.0,
    ) -> None:
        super().__init__(sim, name)
        ev = feed.events
        if ev.size == 0:
            raise ValueError("the feed has no events")
        self.config = config
        self.account = account
        self.profile = venue_profile(config, feed)
        self.latency = ConstantLatency(
            entry_ns=ms_to_ns(config.entry_latency_ms),
            response_ns=ms_to_ns(config.response_latency_ms),
        )
        self._model = QUEUE_MODEL_CODES[config.queue_model]
        self._power = float(config.queue_power)

        priced = ev["px"][ev["kind"] != CLEAR]
        # the book's price window: [ref/2, 2·ref] around the median recorded price (levels
        # further away, e.g. stray far orders in a 1000-level snapshot, are not kept)
        ref_px = float(np.median(priced[:: max(1, priced.size // 50_000)]))
        roi_lo_px = max(float(priced.min()), ref_px / BOOK_WINDOW)
        self.tick_size = tick = min(self.profile.tick_at(roi_lo_px), feed.meta.tick_size)
        _, _, bad_row = K.scan_prices_nb(ev, 1.0 / tick)
        if bad_row >= 0:
            raise ValueError(
                f"feed row {bad_row}: price {ev['px'][bad_row]} is not on the venue's {tick} price grid"
            )
        base = int(math.floor(ref_px / BOOK_WINDOW / tick))
        n_ticks = int(math.ceil(ref_px * BOOK_WINDOW / tick)) - base + 1
        if n_ticks > MAX_BOOK_TICKS:
            raise ValueError(
                f"the book window spans {n_ticks} ticks of {tick} (> {MAX_BOOK_TICKS}): check tick_size"
            )
        self._ev = ev
        self._ts = ev["ts_local_ns"]  # view, for the cheap "anything to replay?" check
        self._n = int(ev.size)
        self._inv_tick = 1.0 / tick
        per_unit = round(1.0 / tick)
        self._ticks_per_unit = per_unit if abs(1.0 / tick - per_unit) < 1e-9 * per_unit else 0
        self._base = base
        self.start_ns = int(ev["ts_local_ns"][0])
        self.end_ns = int(ev["ts_local_ns"][-1])
        self._i = 0
        self._next_ts = self.start_ns  # time of row _i (END_OF_TIME when replayed to the end)
        self._book = np.zeros((2, n_ticks), dtype=np.float64)
        self._bids = self._book[0]
        self._asks = self._book[1]
        sample_ns = ms_to_ns(sample_ms)
        self._st = K.new_state(n_ticks, base, self.start_ns, sample_ns)
        self._samples = np.zeros(
            ((self.end_ns - self.start_ns) // sample_ns + 2, 3), dtype=np.int64
        )
        self._orders = np.zeros(K.MAX_ORDERS, dtype=K.ORDER_DTYPE)
        self._fills = np.zeros((2 * K.MAX_ORDERS, 2), dtype=np.float64)
        self._take_idx = np.zeros(256, dtype=np.int64)
        self._take_qty = np.zeros(256, dtype=np.float64)
        self._owner: dict[int, object] = {}  # client order id -> report target
        self.n_orders = 0
        self.n_rejects = 0
        self._last_order_id = 0
        self.is_closed = False  # set by close(): the book and samples are released
        self.fill_listeners: list = []  # callables(Fill) run at the venue after each fill is booked
        sim.add_feed(self)

    def close(self) -> None:
        """Drop the dense book, the order rows and the callbacks (end of the trial)."""
        self.is_closed = True
        self._book = self._bids = self._asks = None
        self._samples = self._orders = None
        self._owner.clear()
        self.fill_listeners.clear()

    # -- the strategy's read-only view ----------------------------------------------------
    def _px(self, j) -> float:
        """Price of book index ``j``, quote units.

        With ``1/tick_size`` an integer (0.01, 0.5, ...) the price is ``ticks / (1/tick)``, a
        correctly rounded division, so it is the very float that parsing the price text gives.
        """
        if self._ticks_per_unit:
            return (int(j) + self._base) / self._ticks_per_unit
        return (int(j) + self._base) * self.tick_size

    def touch(self) -> tuple[float, float]:
        """``(best_bid, best_ask)`` in quote units; NaN for an empty side."""
        b, a = self._st[:2].tolist()  # BEST_BID, BEST_ASK
        return (
            self._px(b) if b != K.NO_PRICE else math.nan,
            self._px(a) if a != K.NO_PRICE else math.nan,
        )

    @property
    def best_bid(self) -> float:
        """Best bid price (quote units), NaN when the bid side is empty."""
        return self.touch()[0]

    @property
    def best_ask(self) -> float:
        """Best ask price (quote units), NaN when the ask side is empty."""
        return self.touch()[1]

    @property
    def best_bid_qty(self) -> float:
        """Size at the best bid, base units (0 when empty)."""
        j = self._st[K.BEST_BID]
        return float(self._bids[j]) if j != K.NO_PRICE else 0.0

    @property
    def best_ask_qty(self) -> float:
        """Size at the best ask, base units (0 when empty)."""
        j = self._st[K.BEST_ASK]
        return float(self._asks[j]) if j != K.NO_PRICE else 0.0

    @property
    def mid(self) -> float:
        """``(best_bid + best_ask) / 2``, NaN if either side is empty."""
        bb, ba = self.touch()
        return 0.5 * (bb + ba)

    def touch_samples(self) -> np.ndarray:
        """Best bid/ask sampled on the venue's clock during the replay (so far).

        Returns
        -------
        ndarray of shape (n,), dtype [("ts_ns", int64), ("best_bid", float64), ("best_ask", float64)]
            The book just before the first recorded row at or after each sample time; NaN where
            a side was empty. Call after the run for the whole span.
        """
        K.finish_samples_nb(
            self._st, self._samples, self.sim.now_ns if self._i >= self._ev.size else -1
        )
        n = int(self._st[K.N_SAMPLES])
        raw = self._samples[:n]
        out = np.empty(
            n, dtype=[("ts_ns", np.int64), ("best_bid", np.float64), ("best_ask", np.float64)]
        )
        out["ts_ns"] = raw[:, 0]
        for col, field in ((1, "best_bid"), (2, "best_ask")):
            j = raw[:, col]
            ticks = (j + self._base).astype(np.float64)
            px = ticks / self._ticks_per_unit if self._ticks_per_unit else ticks * self.tick_size
            out[field] = np.where(j != K.NO_PRICE, px, np.nan)
        return out

    @property
    def n_events(self) -> int:
        """Number of recorded rows replayed so far."""
        return int(self._st[K.N_EVENTS])

    @property
    def n_rows_outside_book(self) -> int:
        """Replayed rows priced outside the book's window (:data:`BOOK_WINDOW`), ignored."""
        return int(self._st[K.N_OUTSIDE])

    def level_qty(self, side: int, px: float) -> float:
        """Recorded size resting at ``px`` on ``side`` (+1 bids, -1 asks), base units."""
        j = self._index(px)
        if j < 0 or j >= self._bids.size:
            return 0.0
        return float((self._bids if side == 1 else self._asks)[j])

    def queue_ahead(self, client_order_id: int) -> float:
        """Estimated recorded size ahead of a resting order (NaN if not resting), base units.

        Our own earlier orders at the same price are also ahead of it but not counted here: a
        print's excess goes to them first (arrival order).
        """
        slot = self._find_resting(client_order_id)
        return float(self._orders[slot]["ahead"]) if slot >= 0 else math.nan

    def take_trade_extremes(self) -> tuple[float, float]:
        """Highest buy-taker and lowest sell-taker trade price since the last call, then reset.

        Returns
        -------
        tuple of float
            ``(max_buy_px, min_sell_px)`` in quote units; NaN where there was no such trade.
        """
        st = self._st
        b, s = st[K.MAX_BUY_TRADE : K.MIN_SELL_TRADE + 1].tolist()
        st[K.MAX_BUY_TRADE : K.MIN_SELL_TRADE + 1] = K.NO_PRICE
        return (
            self._px(b) if b != K.NO_PRICE else math.nan,
            self._px(s) if s != K.NO_PRICE else math.nan,
        )

    # -- replay ---------------------------------------------------------------------------
    def advance(self, until_ns: int, inclusive: bool) -> bool:
        """Kernel hook: replay recorded rows up to ``until_ns`` (see :class:`engine.kernel.FeedConsumer`).

        Returns
        -------
        bool
            ``True`` when every row before the horizon was replayed; ``False`` when the replay
            stopped at a row that filled us (the fill is booked and its report scheduled).
        """
        until_excl = until_ns + 1 if inclusive else until_ns
        if self._next_ts >= until_excl:
            return True
        i, nf = K.advance_nb(
            self._ev, self._i, until_excl, self._inv_tick, self._book, self._st, self._orders,
            self._model, self._power, self._fills, self._samples,
        )  # fmt: skip
        self._i = i
        self._next_ts = int(self._ts[i]) if i < self._n else END_OF_TIME
        if not nf:
            return True
        ts_fill = int(self._ts[i - 1])
        for f in range(nf):
            slot = int(self._fills[f, 0])
            row = self._orders[slot]
            coid = int(row["coid"])
            self._fill(ts_fill, coid, int(row["side"]), self._px(int(row["idx"])), float(self._fills[f, 1]),
                       float(row["leaves"]), Liquidity.MAKER)  # fmt: skip
        return False

    # -- commands (called by strategies; take effect after the entry latency) --------------
    def new_order_id(self) -> int:
        """A client order id unique on this venue (strategies sharing a venue never collide)."""
        self._last_order_id += 1
        return self._last_order_id

    def submit(
        self, owner, client_order_id: int, side: int, px: float, qty: float, tif: TimeInForce
    ) -> None:
        """Send a limit order; it reaches the venue after ``entry_ns``.

        Parameters
        ----------
        owner : callable
            Receiver of this order's reports (the strategy's report handler).
        client_order_id : int
            Unique id chosen by the strategy.
        side : int
            +1 buy, -1 sell.
        px : float
            Limit price, quote units (must be on the venue's price grid).
        qty : float
            Size, base units (must be on the lot grid).
        tif : TimeInForce
        """
        self.n_orders += 1
        self._owner[client_order_id] = owner
        self.sim.schedule(
            self.sim.now_ns + self.latency.entry_ns, Priority.VENUE_MATCH,
            (client_order_id, side, px, qty, tif), self._on_submit,
        )  # fmt: skip

    def cancel(self, client_order_id: int) -> None:
        """Send a cancel; it reaches the venue after ``entry_ns``."""
        self.sim.schedule(
            self.sim.now_ns + self.latency.entry_ns,
            Priority.VENUE_MATCH,
            client_order_id,
            self._on_cancel,
        )

    # -- venue side -------------------------------------------------------------------------
    def _find_resting(self, client_order_id: int) -> int:
        """Row of a resting (active) order, ``-1`` if it is not resting."""
        n = int(self._st[K.N_USED])
        rows = self._orders[:n]
        hit = np.flatnonzero((rows["coid"] == client_order_id) & (rows["active"] != 0))
        return int(hit[0]) if hit.size else -1

    def _index(self, px: float) -> int:
        return int(round(px / self.tick_size)) - self._base

    def _report(self, client_order_id: int, event) -> None:
        owner = self._owner[client_order_id]
        self.sim.schedule(event.ts_ns, Priority.EXECUTION_REPORT, event, owner)

    def _reject(self, now: int, coid: int, reason: str) -> None:
        self.n_rejects += 1
        self._report(coid, OrderRejected(now + self.latency.response_ns, coid, reason, now))

    def _fill(
        self, ts: int, coid: int, side: int, px: float, qty: float, leaves: float, liq: Liquidity
    ) -> None:
        is_maker = liq == Liquidity.MAKER
        fee = self.profile.fee(px, qty, is_maker)
        self.account.on_fill(side, px, qty, fee, is_maker)
        fill = Fill(ts + self.latency.response_ns, coid, side, px, qty, liq, fee, leaves, ts)
        for listener in self.fill_listeners:
            listener(fill)
        self._report(coid, fill)

    def _on_submit(self, cmd) -> None:
        coid, side, px, qty, tif = cmd
        now = self.sim.now_ns
        prof = self.profile
        if not (qty > 0) or abs(prof.round_qty(qty) - qty) > 1e-9 * max(qty, 1.0):
            return self._reject(now, coid, "invalid_size")
        if not prof.is_valid_price(px):
            return self._reject(now, coid, "invalid_price")
        if px * qty < prof.min_notional:
            return self._reject(now, coid, "min_notional")
        j = self._index(px)
        st = self._st
        opp_best = st[K.BEST_ASK] if side == 1 else st[K.BEST_BID]
        crosses = opp_best != K.NO_PRICE and (
            (side == 1 and j >= opp_best) or (side == -1 and j <= opp_best)
        )
        if crosses and tif == TimeInForce.ALO:
            return self._reject(now, coid, "post_only_would_cross")
        if not crosses and (j < 0 or j >= self._bids.size):
            return self._reject(now, coid, "price_out_of_range")
        self._report(coid, OrderAccepted(now + self.latency.response_ns, coid, now))
        leaves = qty
        if crosses:
            book = self._asks if side == 1 else self._bids
            n = K.take_nb(book, st, side == 1, j, qty, self._take_idx, self._take_qty)
            for f in range(n):
                take = float(self._take_qty[f])
                leaves = max(leaves - take, 0.0)
                fill_px = self._px(int(self._take_idx[f]))
                self._fill(now, coid, side, fill_px, take, leaves, Liquidity.TAKER)
        if leaves <= 1e-12:
            return None
        if tif == TimeInForce.IOC or crosses:
            # IOC remainder, or a GTC that swept every level up to its limit in our
            # non-depleting book view: cancel the rest rather than rest it through the touch.
            return self._report(
                coid, OrderCanceled(now + self.latency.response_ns, coid, leaves, now)
            )
        if st[K.N_USED] >= K.MAX_ORDERS:
            K.compact_orders(self._orders, st)
            used = self._orders[: st[K.N_USED]]
            self._slot_of = {int(c): n for n, c in enumerate(used["coid"].tolist())}
            if st[K.N_USED] >= K.MAX_ORDERS:
                return self._reject(now, coid, "too_many_orders")
        slot = int(st[K.N_USED])
        st[K.N_USED] = slot + 1
        row = self._orders[slot]
        row["coid"] = coid
        row["idx"] = j
        row["side"] = side
        row["leaves"] = leaves
        row["ahead"] = (self._bids if side == 1 else self._asks)[j]
        row["active"] = 1
        return None

    def _on_cancel(self, coid: int) -> None:
        now = self.sim.now_ns
        slot = self._find_resting(coid)
        if slot < 0:
            return self._reject(now, coid, "unknown_order")
        leaves = float(self._orders[slot]["leaves"])
        self._orders[slot]["active"] = 0
        self._report(coid, OrderCanceled(now + self.latency.response_ns, coid, leaves, now))
        return None
