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
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from components.account import Account
from components.base import Component
from components.latency import (
    ConstantLatency,
    LognormalLatency,
    RecordedLatency,
    RequestKind,
    load_order_latency,
)
from components.orders import (
    Fill,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderModified,
    OrderRejected,
    OrderType,
    TimeInForce,
)
from components.queue import queue_model_code
from engine.events import Event, Priority
from engine.feed import CLEAR, PageReleaser
from engine.kernel import Simulation
from engine.time import END_OF_TIME, ms_to_ns
from venues.orderbook import _book_nb as K
from venues.orderbook._match_nb import snapshot_barriers_nb
from venues.orderbook.config import VenueConfig
from venues.profiles import VenueProfile, profile_from_config

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
        Supplies ``symbol``, ``tick_size``, ``lot_size`` and ``sz_decimals`` when the config
        leaves them out.

    Returns
    -------
    venues.profiles.VenueProfile
        See :func:`venues.profiles.profile_from_config`.
    """
    return profile_from_config(config, feed.meta)


def venue_latency(
    config: VenueConfig, rng: np.random.Generator | None = None
) -> ConstantLatency | RecordedLatency | LognormalLatency:
    """The order latency model named by ``config.latency_model`` (:mod:`components.latency`).

    Parameters
    ----------
    config : VenueConfig
        ``constant``: ``entry_latency_ms``, ``response_latency_ms`` and the per-kind
        ``modify_entry_latency_ms`` / ``cancel_entry_latency_ms``; ``lognormal``: those as
        medians plus ``entry_latency_p99_ms`` / ``response_latency_p99_ms``; ``recorded``:
        ``latency_path``.
    rng : numpy.random.Generator or None
        The stream the ``lognormal`` model draws from (the venue passes
        ``sim.rng.stream("latency/<venue name>")``).

    Returns
    -------
    components.latency.ConstantLatency, RecordedLatency or LognormalLatency

    Raises
    ------
    ValueError
        If the latency file cannot be read (the message names it), ``recorded`` has no
        ``latency_path``, or ``lognormal`` gets no ``rng`` or lacks a ``*_latency_p99_ms``
        (:class:`VenueConfig` already rejects the last two).
    """

    def ns(ms: float | None) -> int | None:
        return None if ms is None else ms_to_ns(ms)

    if config.latency_model == "recorded":
        if config.latency_path is None:
            raise ValueError("latency_model = 'recorded' needs latency_path")
        return load_order_latency(config.latency_path)
    if config.latency_model == "lognormal":
        if rng is None:
            raise ValueError("latency_model = 'lognormal' needs a random stream")
        entry_p99, response_p99 = config.entry_latency_p99_ms, config.response_latency_p99_ms
        if entry_p99 is None or response_p99 is None:
            raise ValueError("latency_model = 'lognormal' needs entry_latency_p99_ms and response_latency_p99_ms")
        return LognormalLatency(
            rng, entry_median_ns=ms_to_ns(config.entry_latency_ms), entry_p99_ns=ms_to_ns(entry_p99),
            response_median_ns=ms_to_ns(config.response_latency_ms), response_p99_ns=ms_to_ns(response_p99),
            modify_median_ns=ns(config.modify_entry_latency_ms), cancel_median_ns=ns(config.cancel_entry_latency_ms),
        )  # fmt: skip
    return ConstantLatency(
        entry_ns=ms_to_ns(config.entry_latency_ms), response_ns=ms_to_ns(config.response_latency_ms),
        modify_entry_ns=ns(config.modify_entry_latency_ms), cancel_entry_ns=ns(config.cancel_entry_latency_ms),
    )  # fmt: skip


_EXCH_CACHE: dict[
    tuple[int, int, float | None], tuple[npt.NDArray[np.void], npt.NDArray[np.void] | None, int]
] = {}
"""Last few exchange-clock copies of feeds (a sweep worker replays one feed many times)."""


def exchange_clock(
    ev: npt.NDArray[np.void], timeline: str, feed_latency_ms: float | None
) -> tuple[npt.NDArray[np.void] | None, int]:
    """The feed on the exchange clock: the rows in matching order, each stamped with its exchange time.

    Parameters
    ----------
    ev : ndarray of engine.feed.EVENT_DTYPE
        The recorded feed, sorted by ``ts_local_ns`` (read only).
    timeline : {"two", "local"}
        ``VenueConfig.timeline``.
    feed_latency_ms : float or None
        ``VenueConfig.feed_latency_ms``.

    Returns
    -------
    events : ndarray of EVENT_DTYPE or None
        A copy of ``ev`` stably sorted by exchange time whose ``ts_local_ns`` field holds that
        exchange time (the compiled replay reads its clock from that field); ``None`` when the
        exchange clock equals the local one for every row (or ``timeline == "local"``): then
        one book serves both.
    clock_offset_ns : int
        How far the recorded exchange times were moved back so that no row arrives before it
        happened (the largest negative ``ts_local − ts_exch``, i.e. clock skew between the
        recorder and the exchange); 0 when there was none.

    Notes
    -----
    Exchange time of a row: ``ts_local − feed_latency_ms`` when that is set; else the recorded
    ``ts_exch_ns − clock_offset_ns``, and ``ts_local`` (feed latency 0) for rows without an
    exchange time (``ts_exch_ns <= 0``); then a book snapshot keeps one exchange time for all
    its rows and no row received after a snapshot moves before it
    (:func:`venues.orderbook._match_nb.snapshot_barriers_nb`: diffs received before a REST
    snapshot and applied after it stay after it). Rows with equal exchange times keep their
    recorded (local) order. A feed memory-mapped from the cache (``load_feed(..., mmap=True)``)
    gets its exchange-clock rows as a second mapped file written beside it, built in chunks
    (:func:`venues.loaders.exchange_clock.exchange_clock_file`, same rows in the same order), so
    neither the copy nor the argsort is held in memory. hftbacktest replays its exchange-side
    events at ``exch_ts`` and its local-side events at ``local_ts`` in the same way
    (``Processor::event_seen_timestamp``); its converters also shift local times when the
    recorded latency is negative (``correct_local_timestamp``).
    """
    if timeline == "local" or ev.size == 0:
        return None, 0
    key = (id(ev), ev.size, feed_latency_ms)
    hit = _EXCH_CACHE.get(key)
    if hit is not None and hit[0] is ev:
        return hit[1], hit[2]
    from venues.loaders.exchange_clock import exchange_clock_file

    mapped = exchange_clock_file(ev, feed_latency_ms)  # a mapped feed: the copy is a mapped file
    if mapped is not None:
        if len(_EXCH_CACHE) >= 2:
            _EXCH_CACHE.clear()
        _EXCH_CACHE[key] = (ev, mapped[0], mapped[1])
        return mapped
    ts_l = ev["ts_local_ns"]
    offset = 0
    if feed_latency_ms is not None:
        ts_x = ts_l - ms_to_ns(feed_latency_ms)
    else:
        ts_e = ev["ts_exch_ns"]
        has = ts_e > 0
        if has.any():
            offset = max(0, -int((ts_l[has] - ts_e[has]).min()))
        ts_x = np.where(has, ts_e - offset, ts_l)
    snapshot_barriers_nb(ts_l, ts_x, ev["kind"])
    if np.array_equal(ts_x, ts_l):
        out = None
    else:
        order = np.argsort(ts_x, kind="stable")
        out = ev[order]
        out["ts_local_ns"] = ts_x[order]
    if len(_EXCH_CACHE) >= 2:
        _EXCH_CACHE.clear()
    _EXCH_CACHE[key] = (ev, out, offset)
    return out, offset


WINDOW_ROWS = 1 << 20
"""Rows per chunk of the passes over a feed at venue start (:func:`feed_price_window`)."""


def _windows(ev: npt.NDArray[np.void]) -> Iterator[npt.NDArray[np.void]]:
    """Chunks of ``ev`` (views), with the pages of a mapped feed given back behind them."""
    rel = PageReleaser(ev)
    for lo in range(0, ev.size, WINDOW_ROWS):
        hi = min(ev.size, lo + WINDOW_ROWS)
        yield ev[lo:hi]
        rel.release_to(hi)


def feed_price_window(ev: npt.NDArray[np.void]) -> tuple[float, float]:
    """Reference and lowest price of a feed's ``DEPTH``/``TRADE`` rows, chunk by chunk.

    Parameters
    ----------
    ev : ndarray of engine.feed.EVENT_DTYPE
        The feed (read only; a memory map is read a chunk at a time and its pages given back).

    Returns
    -------
    ref_px : float
        Median of every ``max(1, n // 50_000)``-th priced row (``n`` priced rows), quote units.
    min_px : float
        Lowest priced row's price, quote units.

    Raises
    ------
    ValueError
        If the feed has no ``DEPTH`` or ``TRADE`` row.
    """
    n = 0
    lo = math.inf
    for c in _windows(ev):
        px = c["px"][c["kind"] != CLEAR]
        if px.size:
            n += px.size
            lo = min(lo, float(px.min()))
    if n == 0:
        raise ValueError("the feed has no priced (DEPTH or TRADE) rows")
    step = max(1, n // 50_000)
    picks, seen = [], 0
    for c in _windows(ev):
        px = c["px"][c["kind"] != CLEAR]
        picks.append(px[(-seen) % step :: step].copy())
        seen += px.size
    return float(np.median(np.concatenate(picks))), lo


def first_off_grid(ev: npt.NDArray[np.void], inv_tick: float) -> int:
    """First row whose price is off the ``1 / inv_tick`` grid (``K.scan_prices_nb``, chunk by
    chunk), ``-1`` if none."""
    base = 0
    for c in _windows(ev):
        _, _, bad = K.scan_prices_nb(c, inv_tick)
        if bad >= 0:
            return base + int(bad)
        base += c.size
    return -1


_SCANS: dict[tuple[Any, ...], tuple[weakref.ref[Any], Any]] = {}


def _scan_once(ev: npt.NDArray[np.void], scan: Any, *args: Any) -> Any:
    """``scan(ev, *args)``, remembered for a read-only feed (a sweep worker's memory-mapped
    one): every venue a worker builds on it (a batch, a trial) would otherwise read the whole
    feed again (~1.7 s on a 100 M-row day)."""
    if ev.flags.writeable:
        return scan(ev, *args)
    key = (id(ev), scan.__name__, args)
    hit = _SCANS.get(key)
    if hit is not None and hit[0]() is ev:
        return hit[1]
    out = scan(ev, *args)
    if len(_SCANS) >= 16:
        _SCANS.clear()
    _SCANS[key] = (weakref.ref(ev), out)
    return out


DATA_FIRST_PRIORITY = int(Priority.MARKET_DATA) + 5
"""Priority of a request reaching the venue with ``tie_order = "data_first"``: after the recorded
rows stamped at the same time, before the reports and timers (:mod:`engine.events`)."""


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
    * **Two timelines** (``timeline = "two"``, the default). Every recorded row has an exchange
      time and a local receive time (:func:`exchange_clock`). The venue keeps two books: the
      *matching* book replays rows at their exchange time and is what our orders meet, fill
      against and queue in; the *view* book replays the same rows at their local time and is
      what :meth:`touch`, :attr:`mid`, :meth:`level_qty`, :meth:`take_trade_extremes` and
      :meth:`touch_samples` (the equity marks) show. A request sent at local time ``t``
      reaches the matching book at ``t + entry`` and what happens there at ``u`` is reported at
      ``u + response`` (:mod:`components.latency`); sim time is one integer-ns axis for both
      clocks, as in hftbacktest. ``timeline = "local"`` matches on the receive clock (one book).
      :attr:`two_books` says whether two books are kept (not when the clocks agree on every
      row); :attr:`clock_offset_ns` is the clock skew taken out of the exchange times.
    * Requests reach the venue in the order they were sent and reports come back in the order
      they were made, whatever the latency draws (one connection; hftbacktest's ``OrderBus``).
    * Same-timestamp rule (``tie_order``): a request that reaches the venue at ``t`` meets the
      book before the rows stamped ``t`` (``"orders_first"``) or after them (``"data_first"``);
      a strategy callback at ``t`` always sees every row stamped ``<= t`` in local time.
    * Resting orders hold a queue position (:mod:`components.queue`); they fill on trades at or
      through their price and when the opposite side moves through it, always at their own
      price, as maker.
    * The book is a dense array over prices within a factor :data:`BOOK_WINDOW` of the feed's
      median price; recorded levels outside it are ignored (counted in
      :attr:`n_rows_outside_book`) and orders priced outside it are rejected.
    * Marketable orders (GTC crossing, IOC, FOK, market) take liquidity level by level from the
      replayed book without depleting it; with ``own_impact`` what they took stays taken (for
      later takers) until the recorded book updates that level. Time in force
      (:class:`components.orders.TimeInForce`): a crossing GTC rests its remainder at its limit
      after taking every level up to it, and those levels are emptied in the matching book
      until the feed next updates them (else the recorded, already-taken size would fill the
      remainder at once); IOC and market orders cancel their remainder; FOK fills in full or
      not at all; ALO/GTX (post-only) is rejected if it would trade.
    * Self-trade prevention (``self_trade``): an incoming order that would reach one of our own
      resting orders (opposite side, priced at or better than the deepest price the incoming
      order trades at, or than its limit when it does not fill in full) cancels the resting one
      (``expire_maker``, Binance's default) or its own remainder (``expire_taker``).
    * :meth:`modify` amends price and/or size: same price and a smaller size keeps the queue
      position; a new price or a larger size goes to the back of the queue (see
      :meth:`modify`).
    * Sizes of our orders are whole lots inside the venue (``leaves`` and fills in lots of
      ``profile.lot_size``); reports carry them in base units, exact multiples of the lot.
    * At most :attr:`max_open_orders` orders rest at once; a GTC/ALO order beyond it is rejected
      (``too_many_orders``) before any ack. The order rows grow as needed.
    """

    MAX_OPEN_ORDERS = 10_000
    """Default :attr:`max_open_orders`: a memory guard, not an exchange rule."""

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
        self.latency = venue_latency(
            config, sim.rng.stream(f"latency/{name}") if config.latency_model == "lognormal" else None
        )
        self._arrival_prio = Priority.VENUE_MATCH if config.tie_order == "orders_first" else DATA_FIRST_PRIORITY
        self._stp = config.self_trade
        self._last_arrival_ns = -1  # requests and reports stay in order (FIFO)
        self._last_report_ns = -1
        self._meta: dict[int, tuple[int, int]] = {}  # coid -> (tif, order size in lots) while resting
        self._model = queue_model_code(config.queue_model, config.queue_below_zero)
        self._power = float(config.queue_power)
        self._fill_rule = K.FILL_RULE_CODES[config.fill_rule]
        self.lot_size = lot = float(self.profile.lot_size)
        per_lot = round(1.0 / lot)
        self._lots_per_unit = per_lot if abs(1.0 / lot - per_lot) < 1e-9 * per_lot else 0
        self.max_open_orders = self.MAX_OPEN_ORDERS

        # the book's price window: [ref/2, 2·ref] around the median recorded price (levels
        # further away, e.g. stray far orders in a 1000-level snapshot, are not kept); computed
        # chunk by chunk, without a copy of the feed (feed_price_window)
        ref_px, min_px = _scan_once(ev, feed_price_window)
        roi_lo_px = max(min_px, ref_px / BOOK_WINDOW)
        self.tick_size = tick = min(self.profile.tick_at(roi_lo_px), feed.meta.tick_size)
        bad_row = _scan_once(ev, first_off_grid, 1.0 / tick)
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
        evx, self.clock_offset_ns = exchange_clock(ev, config.timeline, config.feed_latency_ms)
        self.two_books = evx is not None
        self._lev = ev  # the feed on the local clock (the strategy's view)
        self._ev = evx if evx is not None else ev  # the feed on the matching clock (evx: two_books)
        # memory-mapped feeds: pages behind the replay cursors are given back (in advance)
        self._rel = PageReleaser(self._ev)
        self._lrel = PageReleaser(ev) if self.two_books else None
        self._ts = self._ev["ts_local_ns"]  # view, for the cheap "anything to replay?" check
        self._n = int(ev.size)
        self._inv_tick = 1.0 / tick
        per_unit = round(1.0 / tick)
        self._ticks_per_unit = per_unit if abs(1.0 / tick - per_unit) < 1e-9 * per_unit else 0
        self._base = base
        self.start_ns = min(int(ev["ts_local_ns"][0]), int(self._ts[0]))
        self.end_ns = max(int(ev["ts_local_ns"][-1]), int(self._ts[-1]))
        self._i = 0
        self._next_ts = int(self._ts[0])  # time of row _i (END_OF_TIME when replayed to the end)
        self._il = 0  # next row of the view book (two books only)
        self._next_lts = int(ev["ts_local_ns"][0])
        self._book = np.zeros((2, n_ticks), dtype=np.float64)
        self._bids = self._book[0]
        self._asks = self._book[1]
        sample_ns = ms_to_ns(sample_ms)
        self._st = K.new_state(n_ticks, base, self.start_ns, sample_ns)
        self._samples = np.zeros(
            ((self.end_ns - self.start_ns) // sample_ns + 2, 3), dtype=np.int64
        )
        if self.two_books:  # the view book: replayed on the local clock, takes the samples
            self._lbook = np.zeros((2, n_ticks), dtype=np.float64)
            self._lst = K.new_state(n_ticks, base, self.start_ns, sample_ns)
            self._xsamples = np.zeros((0, 3), dtype=np.int64)  # the matching book takes none
            self._no_orders = np.zeros(1, dtype=K.ORDER_DTYPE)
            self._no_fills = np.zeros((1, 2), dtype=np.int64)
            self._no_impact = np.zeros((2, 0), dtype=np.float64)  # same array type as _impact
        else:
            self._lbook, self._lst, self._xsamples = self._book, self._st, self._samples
        self._lbids = self._lbook[0]
        self._lasks = self._lbook[1]
        self._orders = np.zeros(K.INITIAL_ORDERS, dtype=K.ORDER_DTYPE)  # grown by _grow_orders
        self._scratch = np.zeros(1, dtype=np.float64)  # advance_nb's per-trial work space (one trial)
        self._stamp = np.full(1, -1, dtype=np.int64)
        self._fills = np.zeros((K.INITIAL_ORDERS, 2), dtype=np.int64)  # (row, lots): one per order
        self._take_idx = np.zeros(256, dtype=np.int64)
        self._take_lots = np.zeros(256, dtype=np.int64)
        # own market impact: size our takers took per level since its last update (0 bids, 1 asks)
        self._impact = np.zeros((2, n_ticks) if config.own_impact else (2, 0), dtype=np.float64)
        self._owner: dict[int, Callable[[Any], None]] = {}  # client order id -> report target
        self.n_orders = 0
        self.n_rejects = 0
        self._last_order_id = 0
        self.is_closed = False  # set by close(): the book and samples are released
        self.fill_listeners: list[Callable[[Fill], None]] = []  # run at the venue after each fill is booked
        sim.add_feed(self)

    def close(self) -> None:
        """Drop the dense book, the order rows and the callbacks (end of the trial)."""
        self.is_closed = True
        # The arrays are typed as always present: the venue is not used after close(), so the
        # None below is never read and the replay hot path needs no Optional checks.
        self._book = self._bids = self._asks = None  # type: ignore[assignment]
        self._lbook = self._lbids = self._lasks = self._xsamples = None  # type: ignore[assignment]
        self._samples = self._orders = self._impact = None  # type: ignore[assignment]
        self._owner.clear()
        self.fill_listeners.clear()

    # -- the strategy's read-only view ----------------------------------------------------
    def _px(self, j: int) -> float:
        """Price of book index ``j``, quote units.

        With ``1/tick_size`` an integer (0.01, 0.5, ...) the price is ``ticks / (1/tick)``, a
        correctly rounded division, so it is the very float that parsing the price text gives.
        """
        if self._ticks_per_unit:
            return (int(j) + self._base) / self._ticks_per_unit
        return (int(j) + self._base) * self.tick_size

    def _qty(self, lots: int) -> float:
        """Size of ``lots`` lots, base units (with ``1/lot_size`` an integer, the very float that
        parsing its decimal text gives, e.g. ``3 / 10 == 0.3``)."""
        if self._lots_per_unit:
            return lots / self._lots_per_unit
        return lots * self.lot_size

    def _lots(self, qty: float) -> int:
        """Whole lots in ``qty`` (base units), rounded to nearest: for sizes checked to be on the grid."""
        return int(round(qty / self.lot_size))

    def n_open_orders(self) -> int:
        """Number of our orders resting at the venue now."""
        return int(np.count_nonzero(self._orders["active"][: int(self._st[K.N_USED])]))

    def touch(self) -> tuple[float, float]:
        """``(best_bid, best_ask)`` of the book the strategy sees (local clock), quote units; NaN
        for an empty side."""
        b, a = self._lst[:2].tolist()  # BEST_BID, BEST_ASK
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
        j = self._lst[K.BEST_BID]
        return float(self._lbids[j]) if j != K.NO_PRICE else 0.0

    @property
    def best_ask_qty(self) -> float:
        """Size at the best ask, base units (0 when empty)."""
        j = self._lst[K.BEST_ASK]
        return float(self._lasks[j]) if j != K.NO_PRICE else 0.0

    @property
    def mid(self) -> float:
        """``(best_bid + best_ask) / 2``, NaN if either side is empty."""
        bb, ba = self.touch()
        return 0.5 * (bb + ba)

    def touch_samples(self) -> npt.NDArray[np.void]:
        """Best bid/ask sampled on the venue's clock during the replay (so far).

        Returns
        -------
        ndarray of shape (n,), dtype [("ts_ns", int64), ("best_bid", float64), ("best_ask", float64)]
            The book the strategy sees (local clock) just before the first recorded row at or
            after each sample time; NaN where a side was empty; after the last row, the final
            book up to the end of the run (the final mark). Call after the run for the whole
            span.
        """
        done = self._i >= self._n and (not self.two_books or self._il >= self._n)
        K.finish_samples_nb(self._lst, self._samples, self.sim.now_ns if done else -1)
        n = int(self._lst[K.N_SAMPLES])
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
        """Number of recorded rows replayed so far (by the matching book)."""
        return int(self._st[K.N_EVENTS])

    @property
    def n_rows_outside_book(self) -> int:
        """Replayed rows priced outside the book's window (:data:`BOOK_WINDOW`), ignored."""
        return int(self._st[K.N_OUTSIDE])

    def level_qty(self, side: int, px: float) -> float:
        """Recorded size resting at ``px`` on ``side`` (+1 bids, -1 asks) in the book the
        strategy sees, base units."""
        j = self._index(px)
        if j < 0 or j >= self._bids.size:
            return 0.0
        return float((self._lbids if side == 1 else self._lasks)[j])

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
        st = self._lst  # prints the strategy has seen (local clock)
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
        nf = 0
        if self._next_ts < until_excl:  # the matching book, on the exchange clock
            i, nf = K.advance_nb(
                self._ev, self._i, until_excl, self._inv_tick, self._book, self._st, self._orders,
                self._model, self._power, self._fills, self._xsamples, self.lot_size, self._fill_rule,
                self._impact, self._scratch, self._stamp,
            )  # fmt: skip
            self._i = i
            self._next_ts = int(self._ts[i]) if i < self._n else END_OF_TIME
            self._rel.release_to(i)
        if self.two_books and self._next_lts < until_excl:
            # the view book, on the local clock: never past a fill the matching book stopped at
            # (its report is due at or after that time and must not see a later book)
            lim = until_excl if not nf else min(until_excl, int(self._ts[self._i - 1]) + 1)
            if self._next_lts < lim:
                self._advance_view(lim)
        if not nf:
            return True
        ts_fill = int(self._ts[self._i - 1])
        for f in range(nf):
            slot = int(self._fills[f, 0])
            row = self._orders[slot]
            coid = int(row["coid"])
            self._fill(ts_fill, coid, int(row["side"]), self._px(int(row["idx"])), self._qty(int(self._fills[f, 1])),
                       self._qty(int(row["leaves"])), Liquidity.MAKER)  # fmt: skip
        return False

    def _advance_view(self, until_excl: int) -> None:
        """Replay the view book (local clock) over rows with ``ts_local_ns < until_excl``."""
        il, _ = K.advance_nb(
            self._lev, self._il, until_excl, self._inv_tick, self._lbook, self._lst, self._no_orders,
            self._model, self._power, self._no_fills, self._samples, self.lot_size, self._fill_rule,
            self._no_impact, self._scratch, self._stamp,
        )  # fmt: skip
        self._il = il
        self._next_lts = int(self._lev["ts_local_ns"][il]) if il < self._n else END_OF_TIME
        if self._lrel is not None:
            self._lrel.release_to(il)

    # -- commands (called by strategies; take effect after the entry latency) --------------
    def new_order_id(self) -> int:
        """A client order id unique on this venue (strategies sharing a venue never collide)."""
        self._last_order_id += 1
        return self._last_order_id

    def submit(
        self, owner: Callable[[Any], None], client_order_id: int, side: int, px: float, qty: float, tif: TimeInForce,
        order_type: OrderType = OrderType.LIMIT,
    ) -> None:  # fmt: skip
        """Send an order; it reaches the venue after the entry latency of a new order.

        Parameters
        ----------
        owner : callable
            Receiver of this order's reports (the strategy's report handler).
        client_order_id : int
            Unique id chosen by the strategy.
        side : int
            +1 buy, -1 sell.
        px : float
            Limit price, quote units (must be on the venue's price grid; ignored for a market
            order).
        qty : float
            Size, base units (must be on the lot grid).
        tif : TimeInForce
            ``GTC``, ``ALO`` (= ``GTX``, post-only), ``IOC`` or ``FOK`` (see the class notes).
        order_type : OrderType, default LIMIT
            ``MARKET``: no limit; takes from the best level outwards through the visible book,
            the remainder is canceled (``tif`` is ignored).

        Notes
        -----
        Outcomes (reports, after the response latency): ``OrderRejected`` (``invalid_size``,
        ``invalid_price``, ``min_notional`` — for a market order at the opposite best —,
        ``post_only_would_cross``, ``price_out_of_range``, ``too_many_orders``,
        ``no_liquidity`` for a market order on an empty side, ``rejected_in_transit`` when a
        recorded latency says the request never reached the engine); otherwise
        ``OrderAccepted``, then taker ``Fill``s, then ``OrderCanceled`` with reason ``ioc``,
        ``fok`` or ``self_trade`` for what does not rest.
        """
        self.n_orders += 1
        self._owner[client_order_id] = owner
        self._send(RequestKind.NEW, (client_order_id, side, px, qty, tif, int(order_type)), self._on_submit,
                   client_order_id)  # fmt: skip

    def submit_market(self, owner: Callable[[Any], None], client_order_id: int, side: int, qty: float) -> None:
        """Send a market order of ``qty`` (base units); see :meth:`submit` with ``OrderType.MARKET``."""
        self.submit(owner, client_order_id, side, math.nan, qty, TimeInForce.IOC, OrderType.MARKET)

    def cancel(self, client_order_id: int) -> None:
        """Send a cancel; it reaches the venue after the entry latency of a cancel."""
        self._send(RequestKind.CANCEL, client_order_id, self._on_cancel, client_order_id)

    def modify(self, client_order_id: int, px: float, qty: float) -> None:
        """Send a modify (amend) of a resting order; it reaches the venue after the modify latency.

        Parameters
        ----------
        client_order_id : int
            The resting order.
        px : float
            New limit price, quote units (on the grid).
        qty : float
            New order size, base units: the filled part *plus* the new open size, as Binance's
            ``quantity`` (the open size becomes ``qty − filled``).

        Notes
        -----
        At the venue, in this order: an order that is not resting → ``OrderRejected``
        ``unknown_order``; an invalid price/size/notional → ``OrderRejected`` and the order is
        kept unchanged (Binance USDⓈ-M "Modify Order": a modify failing the filters is rejected
        and the original order stays); ``qty <= filled`` → ``OrderCanceled``
        ``modify_below_filled`` (Binance: "canceled if … the new quantity <= executedQty").

        Then the queue rule: the **same price with a smaller or equal size keeps the queue
        position** (only the open size changes; Binance Spot's "Order Amend Keep Priority" FAQ:
        reducing the quantity keeps time priority); **a new price or a larger size loses it**:
        the order leaves the queue and arrives again at the back, exactly like a new order of
        its time in force at the new price (Binance USDⓈ-M "Modify Order": the modified order is
        re-queued; hftbacktest's ``ack_modify`` resets the queue on a price change or a size
        increase). A post-only (ALO/GTX) order moved to a price that would trade is canceled
        (``OrderCanceled`` ``post_only_would_cross``, Binance's rule for GTX); a GTC one takes
        the liquidity it crosses and rests the rest. A successful modify reports
        :class:`components.orders.OrderModified` (``kept_priority`` says which case applied).
        """
        self._send(RequestKind.MODIFY, (client_order_id, px, qty), self._on_modify, client_order_id)

    def _send(self, kind: int, payload: Any, handler: Callable[[Any], None], coid: int) -> None:
        """Schedule a request's arrival at the venue: ``now + entry``, never before an earlier request."""
        now = self.sim.now_ns
        lat = int(self.latency.entry(now, kind))
        if lat < 0:  # rejected on the way (recorded overload): the strategy hears it after -lat
            self.n_rejects += 1
            t = max(now - lat, self._last_report_ns)
            self._last_report_ns = t
            self._report(coid, OrderRejected(t, coid, "rejected_in_transit", t))
            return
        t = max(now + lat, self._last_arrival_ns)
        self._last_arrival_ns = t
        self.sim.schedule(t, self._arrival_prio, payload, handler)

    # -- venue side -------------------------------------------------------------------------
    def _find_resting(self, client_order_id: int) -> int:
        """Row of a resting (active) order, ``-1`` if it is not resting."""
        n = int(self._st[K.N_USED])
        rows = self._orders[:n]
        hit = np.flatnonzero((rows["coid"] == client_order_id) & (rows["active"] != 0))
        return int(hit[0]) if hit.size else -1

    def _index(self, px: float) -> int:
        return int(round(px / self.tick_size)) - self._base

    def _resp_ts(self, venue_ts: int, kind: int = RequestKind.NEW) -> int:
        """When the strategy hears of what the venue did at ``venue_ts``: after the response
        latency, never before an earlier report."""
        t = max(venue_ts + int(self.latency.response(venue_ts, kind)), self._last_report_ns)
        self._last_report_ns = t
        return t

    def _report(self, client_order_id: int, event: Event) -> None:
        owner = self._owner[client_order_id]
        self.sim.schedule(event.ts_ns, Priority.EXECUTION_REPORT, event, owner)

    def _reject(self, now: int, coid: int, reason: str, kind: int = RequestKind.NEW) -> None:
        self.n_rejects += 1
        self._report(coid, OrderRejected(self._resp_ts(now, kind), coid, reason, now))

    def _canceled(self, now: int, coid: int, lots: int, reason: str, kind: int = RequestKind.NEW) -> None:
        self._report(coid, OrderCanceled(self._resp_ts(now, kind), coid, self._qty(lots), now, reason))

    def _fill(
        self, ts: int, coid: int, side: int, px: float, qty: float, leaves: float, liq: Liquidity
    ) -> None:
        is_maker = liq == Liquidity.MAKER
        fee = self.profile.fee(px, qty, is_maker)
        self.account.on_fill(side, px, qty, fee, is_maker)
        fill = Fill(self._resp_ts(ts), coid, side, px, qty, liq, fee, leaves, ts)
        for listener in self.fill_listeners:
            listener(fill)
        self._report(coid, fill)

    def _on_submit(self, cmd: tuple[int, int, float, float, TimeInForce, int]) -> None:
        coid, side, px, qty, tif, otype = cmd
        now = self.sim.now_ns
        prof = self.profile
        if not (qty > 0) or abs(prof.round_qty(qty) - qty) > 1e-9 * max(qty, 1.0):
            return self._reject(now, coid, "invalid_size")
        st = self._st
        is_mkt = otype == OrderType.MARKET
        if is_mkt:
            opp = st[K.BEST_ASK] if side == 1 else st[K.BEST_BID]
            if opp == K.NO_PRICE:
                return self._reject(now, coid, "no_liquidity")
            j = self._bids.size - 1 if side == 1 else 0  # no limit: the whole visible book
            ref_px = self._px(opp)
        else:
            if not prof.is_valid_price(px):
                return self._reject(now, coid, "invalid_price")
            j = self._index(px)
            ref_px = px
        if ref_px * qty < prof.min_notional:
            return self._reject(now, coid, "min_notional")
        may_rest = not is_mkt and tif in (TimeInForce.GTC, TimeInForce.ALO)
        return self._execute(coid, side, j, self._lots(qty), TimeInForce.IOC if is_mkt else tif, may_rest, now)

    def _own_crossed(self, side: int, j: int) -> npt.NDArray[np.intp]:
        """Rows of our resting orders on the other side that an order of ``side`` at index ``j`` reaches."""
        rows = self._orders[: int(self._st[K.N_USED])]
        m = (rows["active"] != 0) & (rows["side"] == -side)
        m &= (rows["idx"] <= j) if side == 1 else (rows["idx"] >= j)
        return np.flatnonzero(m)

    def _execute(self, coid: int, side: int, j: int, lots: int, tif: int, may_rest: bool, now: int,
                 amend: tuple[float, int] | None = None) -> None:  # fmt: skip
        """Match an order that reached the venue at ``now`` and rest what is left (if it may).

        ``amend`` is ``(px, order size in lots)`` for a modify that lost its queue place (then
        an ``OrderModified`` replaces the ``OrderAccepted``); ``lots`` is the open size.
        """
        st = self._st
        buy = side == 1
        kind = RequestKind.NEW if amend is None else RequestKind.MODIFY
        opp = st[K.BEST_ASK] if buy else st[K.BEST_BID]
        crosses = opp != K.NO_PRICE and ((buy and j >= opp) or (not buy and j <= opp))
        own = self._own_crossed(side, j) if self._stp != "none" else np.zeros(0, dtype=np.int64)
        if tif == TimeInForce.ALO and (crosses or own.size):
            if amend is None:
                return self._reject(now, coid, "post_only_would_cross")
            return self._canceled(now, coid, lots, "post_only_would_cross", kind)
        if not crosses and (j < 0 or j >= self._bids.size):
            return self._reject(now, coid, "price_out_of_range", kind)
        if may_rest and self.n_open_orders() >= self.max_open_orders:
            return self._reject(now, coid, "too_many_orders", kind)  # checked before any ack
        r = 1 if buy else 0  # the side we take from: asks for a buy
        n = 0
        if crosses:  # a read-only preview of the walk (FOK, self-trade reach)
            n = K.take_nb(self._book[r], st, buy, j, lots, self.lot_size, self._impact[r],
                          self._take_idx, self._take_lots)  # fmt: skip
        got = int(self._take_lots[:n].sum())
        limit = j
        if own.size:
            reach = int(self._take_idx[n - 1]) if (n and got >= lots) else j
            idx = self._orders["idx"][own]
            own = own[idx <= reach] if buy else own[idx >= reach]
            if own.size and self._stp == "expire_taker":  # trade only ahead of our own order
                best_own = int(self._orders["idx"][own].min() if buy else self._orders["idx"][own].max())
                limit = best_own - 1 if buy else best_own + 1
        if amend is None:
            self._report(coid, OrderAccepted(self._resp_ts(now), coid, now))
        else:
            self._report(coid, OrderModified(self._resp_ts(now, kind), coid, amend[0], self._qty(amend[1]),
                                             self._qty(lots), False, now))  # fmt: skip
        if tif == TimeInForce.FOK and got < lots:
            return self._canceled(now, coid, lots, "fok")
        if own.size and self._stp == "expire_maker":
            for slot in own.tolist():
                row = self._orders[slot]
                row["active"] = 0
                ocoid = int(row["coid"])
                self._meta.pop(ocoid, None)
                self._canceled(now, ocoid, int(row["leaves"]), "self_trade")
        leaves = lots
        taken: list[int] = []
        if crosses and ((buy and limit >= opp) or (not buy and limit <= opp)):
            took = self._take(side, limit, leaves)
            taken = self._take_idx[: len(took)].tolist()
            for fill_px, x in took:
                leaves -= x
                self._fill(now, coid, side, fill_px, self._qty(x), self._qty(leaves), Liquidity.TAKER)
        if leaves <= 0:
            return None
        if own.size and self._stp == "expire_taker":
            return self._canceled(now, coid, leaves, "self_trade")
        if not may_rest:
            return self._canceled(now, coid, leaves, "fok" if tif == TimeInForce.FOK else "ioc")
        if crosses:
            # the rest of a crossing GTC rests at its limit: the levels it emptied are taken out
            # of the matching book until the feed updates them (else the recorded size we just
            # took would fill the remainder at once)
            consumed = self._impact[r]
            for jt in taken:
                K._set_level(self._book, r, jt, 0.0, st)
                if consumed.size:
                    consumed[jt] = 0.0
            opp = st[K.BEST_ASK] if buy else st[K.BEST_BID]
            if opp != K.NO_PRICE and ((buy and j >= opp) or (not buy and j <= opp)):
                return self._canceled(now, coid, leaves, "no_room")  # walk cut at 256 levels
        self._rest(coid, side, j, leaves, tif, lots if amend is None else amend[1])
        return None

    def _rest(self, coid: int, side: int, j: int, leaves: int, tif: int, size_lots: int) -> None:
        """Append a resting order row (at the back of its queue: everything recorded there is ahead)."""
        st = self._st
        if st[K.N_USED] >= self._orders.size:
            self._grow_orders()
        slot = int(st[K.N_USED])
        st[K.N_USED] = slot + 1
        row = self._orders[slot]
        row["coid"] = coid
        row["idx"] = j
        row["side"] = side
        row["leaves"] = leaves
        row["ahead"] = (self._bids if side == 1 else self._asks)[j]
        row["traded"] = 0.0
        row["active"] = 1
        self._meta[coid] = (int(tif), int(size_lots))

    def _grow_orders(self) -> None:
        """Room for one more order row: drop done rows; if still full, double the arrays."""
        K.compact_orders_nb(self._orders, self._st)
        cap = self._orders.size
        if self._st[K.N_USED] >= cap:
            orders = np.zeros(2 * cap, dtype=K.ORDER_DTYPE)
            orders[:cap] = self._orders
            self._orders = orders
            self._fills = np.zeros((2 * cap, 2), dtype=np.int64)

    def _take(self, side: int, limit_idx: int, lots: int) -> list[tuple[float, int]]:
        """Take up to ``lots`` from the side opposite ``side``, best price first, up to ``limit_idx``.

        Returns
        -------
        list of (float, int)
            ``(price, lots)`` of each level taken (:func:`venues.orderbook._book_nb.take_nb`).
            With ``own_impact`` the size taken is marked consumed at each level until the
            recorded book updates it.
        """
        r = 1 if side == 1 else 0
        consumed = self._impact[r]
        n = K.take_nb(self._book[r], self._st, side == 1, limit_idx, lots, self.lot_size, consumed,
                      self._take_idx, self._take_lots)  # fmt: skip
        out = []
        for f in range(n):
            jf, x = int(self._take_idx[f]), int(self._take_lots[f])
            if consumed.size:
                consumed[jf] += x * self.lot_size
            out.append((self._px(jf), x))
        return out

    def _on_cancel(self, coid: int) -> None:
        now = self.sim.now_ns
        slot = self._find_resting(coid)
        if slot < 0:
            return self._reject(now, coid, "unknown_order", RequestKind.CANCEL)
        self._orders[slot]["active"] = 0
        self._meta.pop(coid, None)
        return self._canceled(now, coid, int(self._orders[slot]["leaves"]), "canceled", RequestKind.CANCEL)

    def _on_modify(self, cmd: tuple[int, float, float]) -> None:
        coid, px, qty = cmd
        now = self.sim.now_ns
        kind = RequestKind.MODIFY
        slot = self._find_resting(coid)
        if slot < 0:
            return self._reject(now, coid, "unknown_order", kind)
        prof = self.profile
        if not (qty > 0) or abs(prof.round_qty(qty) - qty) > 1e-9 * max(qty, 1.0):
            return self._reject(now, coid, "invalid_size", kind)
        if not prof.is_valid_price(px):
            return self._reject(now, coid, "invalid_price", kind)
        if px * qty < prof.min_notional:
            return self._reject(now, coid, "min_notional", kind)
        j = self._index(px)
        if j < 0 or j >= self._bids.size:
            return self._reject(now, coid, "price_out_of_range", kind)
        row = self._orders[slot]
        leaves = int(row["leaves"])
        tif, size = self._meta.get(coid, (int(TimeInForce.GTC), leaves))
        filled = size - leaves
        new_size = self._lots(qty)
        if new_size <= filled:
            row["active"] = 0
            self._meta.pop(coid, None)
            return self._canceled(now, coid, leaves, "modify_below_filled", kind)
        new_leaves = new_size - filled
        if j == int(row["idx"]) and new_size <= size:  # same price, not larger: keeps its place
            row["leaves"] = new_leaves
            self._meta[coid] = (tif, new_size)
            return self._report(coid, OrderModified(self._resp_ts(now, kind), coid, px, self._qty(new_size),
                                                    self._qty(new_leaves), True, now))  # fmt: skip
        row["active"] = 0  # loses its place: leaves the queue, arrives again at the back
        self._meta.pop(coid, None)
        return self._execute(coid, int(row["side"]), j, new_leaves, tif, True, now, (px, new_size))
