"""Risk monitors: VaR, drawdown, inventory, stale-quote and data-gap guards with alerts and actions.

Each monitor is a :class:`~components.base.Component` on its own check clock
(``RiskConfig.check_ms``). At every check it evaluates one metric of the *desk* (the quoter's
account marked to the order-book mid, plus the hedger's on-chain wallet when a hedger is wired)
against its limit. A breach writes exactly one :class:`Alert` per crossing (the monitor re-arms
once the metric is back within its limit), logs it, publishes a :class:`RiskBreach` on the
kernel bus and runs the configured action: ``warn`` (alert only), ``halt`` (the quoter's
:meth:`strategies.base.Strategy.halt`) or ``flatten`` (halt, then trade the desk inventory to
zero through the hedger, or with IOC orders on the book when there is none).

This module computes no end-of-run performance metrics (see :mod:`components.metrics`) and never
touches the venue's state; monitors read only public views (``mid``, ``touch``, ``n_events``)
and the account.

See Also
--------
strategies.base : the ``halt`` command and ``last_quote_ns``.
experiments.store : the ``alerts`` table.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

import attrs
import numpy as np
from attrs import validators as v

from components.base import Component
from components.orders import Side, TimeInForce
from components.performance import value_at_risk
from engine.events import Event, Priority
from engine.time import ms_to_ns

__all__ = [
    "ACTIONS",
    "ALERT_DTYPE",
    "Alert",
    "DataGapGuard",
    "DrawdownMonitor",
    "InventoryMonitor",
    "RiskBreach",
    "RiskConfig",
    "RiskMonitor",
    "RiskMonitors",
    "StaleQuoteGuard",
    "VaRMonitor",
    "add_risk",
    "alerts_array",
    "historical_var",
    "parametric_var",
]

log = logging.getLogger(__name__)

ACTIONS = ("warn", "halt", "flatten")
"""Values of ``RiskConfig.action``."""

VAR_LEVELS = (0.95, 0.99)
VAR_METHODS = ("historical", "parametric")

FLATTEN_BAND = 1e-9
"""Hedger band (base units) used to trade the desk back to exactly zero on ``flatten``."""

ALERT_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),
        ("monitor", "U32"),
        ("metric", "U32"),
        ("value", np.float64),
        ("limit", np.float64),
        ("action", "U8"),
    ]
)
"""Alert rows: sim time (ns), monitor name, metric name, metric value and its limit (units of
the metric: quote units, base units or seconds) and the action taken."""


def _opt_positive(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"'{attribute.name}' must be > 0 or None: {value!r}")


def _var_window(inst: RiskConfig, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise ValueError(f"'var_window_s' must be > 0: {value!r}")
    if round(value * 1000.0 / inst.check_ms) < 2:
        raise ValueError(
            f"'var_window_s' ({value}) must hold at least 2 checks of check_ms={inst.check_ms}"
        )


@attrs.frozen(kw_only=True)
class RiskConfig:
    """Settings of the risk monitors: the ``[risk]`` TOML table (every field sweepable).

    A limit left out (``None``) turns its monitor off.

    Attributes
    ----------
    check_ms : float, default 1000.0
        Check clock of every monitor, ms. ``> 0``.
    var_level : {0.95, 0.99}, default 0.95
        Confidence level of the VaR.
    var_method : {"historical", "parametric"}, default "historical"
        Empirical quantile or Gaussian VaR (:func:`historical_var`, :func:`parametric_var`).
    var_window_s : float, default 60.0
        Rolling window of PnL increments (one per check) used for the VaR, seconds; must hold
        at least 2 checks.
    var_limit : float or None, default None
        Largest allowed one-check VaR, quote units (a loss, ``> 0``).
    drawdown_limit : float or None, default None
        Largest allowed fall of the desk PnL below its high-water mark, quote units. ``> 0``.
    inventory_limit : float or None, default None
        Inventory ``|q|`` of the desk counted as "at the limit", base units. ``> 0``.
    max_time_at_limit_s : float, default 0.0
        Time the desk may stay at ``|q| >= inventory_limit`` before the breach, seconds
        (measured on the check clock); ``0`` breaches as soon as a check sees it.
    stale_quote_s : float or None, default None
        Largest time without a requote while orders rest on the book, seconds. ``> 0``.
    data_gap_s : float or None, default None
        Largest time since the venue last replayed a market-data row, seconds. ``> 0``.
    action : {"warn", "halt", "flatten"}, default "warn"
        What a breach does besides the alert.
    """

    check_ms: float = attrs.field(default=1000.0, validator=v.gt(0))
    var_level: float = attrs.field(default=0.95, validator=v.in_(VAR_LEVELS))
    var_method: str = attrs.field(default="historical", validator=v.in_(VAR_METHODS))
    var_window_s: float = attrs.field(default=60.0, validator=_var_window)
    var_limit: float | None = attrs.field(default=None, validator=_opt_positive)
    drawdown_limit: float | None = attrs.field(default=None, validator=_opt_positive)
    inventory_limit: float | None = attrs.field(default=None, validator=_opt_positive)
    max_time_at_limit_s: float = attrs.field(default=0.0, validator=v.ge(0))
    stale_quote_s: float | None = attrs.field(default=None, validator=_opt_positive)
    data_gap_s: float | None = attrs.field(default=None, validator=_opt_positive)
    action: str = attrs.field(default="warn", validator=v.in_(ACTIONS))


@attrs.frozen(kw_only=True)
class Alert:
    """One breach of a risk limit.

    Attributes
    ----------
    ts_ns : int
        Sim time of the check that saw the breach, ns.
    monitor : str
        Name of the monitor (``"var"``, ``"drawdown"``, ``"inventory"``, ...).
    metric : str
        What was measured (``"var_95"``, ``"drawdown"``, ``"abs_q"``, ``"time_at_limit_s"``,
        ``"time_since_quote_s"``, ``"time_since_data_s"``).
    value : float
        The metric at the breach (quote units, base units or seconds).
    limit : float
        The limit it crossed, same units.
    action : str
        The action run: ``warn``, ``halt`` or ``flatten``.
    """

    ts_ns: int
    monitor: str
    metric: str
    value: float
    limit: float
    action: str

    def as_tuple(self) -> tuple:
        """The alert as a row of :data:`ALERT_DTYPE`."""
        return (self.ts_ns, self.monitor, self.metric, self.value, self.limit, self.action)


@attrs.frozen(slots=True)
class RiskBreach(Event):
    """A risk monitor saw a limit crossed (published on the kernel bus).

    Subscribe with ``self.subscribe(RiskBreach, handler)``; it is delivered at the breach's
    time with ``Priority.STRATEGY`` (after the monitor's own action ran).

    Attributes
    ----------
    monitor : str
    metric : str
    value : float
    limit : float
    action : str
        As in :class:`Alert`.
    """

    monitor: str
    metric: str
    value: float
    limit: float
    action: str


def alerts_array(alerts: Iterable[Alert]) -> np.ndarray:
    """Alerts as an array of :data:`ALERT_DTYPE`, sorted by time (stable: ties keep their order).

    Parameters
    ----------
    alerts : iterable of Alert

    Returns
    -------
    ndarray of ALERT_DTYPE
    """
    arr = np.array([a.as_tuple() for a in alerts], dtype=ALERT_DTYPE)
    return arr[np.argsort(arr["ts_ns"], kind="stable")]


def historical_var(increments: np.ndarray, level: float) -> float:
    """Historical Value-at-Risk of the increments: :func:`components.performance.value_at_risk`.

    The one VaR definition of mmsim: the loss quantile of the PnL increments over their
    horizon (here one check period), ``−Q_{1−level}`` with linear interpolation (numpy's
    default, Hyndman & Fan type 7); **positive = a loss**, quote units per horizon.

    Examples
    --------
    >>> round(historical_var(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), 0.95), 9)
    1.8
    """
    return value_at_risk(increments, level, "historical")


def parametric_var(increments: np.ndarray, level: float) -> float:
    """Gaussian Value-at-Risk of the increments: :func:`components.performance.value_at_risk`.

    ``z_level · s − m`` (mean ``m``, sample standard deviation ``s``), positive = a loss,
    quote units per horizon (RiskMetrics Technical Document, 4th ed., 1996, §6).

    Examples
    --------
    >>> round(parametric_var(np.array([-1.0, 1.0]), 0.95), 6)
    2.326174
    """
    return value_at_risk(increments, level, "parametric")


class RiskMonitor(Component):
    """Base of risk monitors: a check clock, one-alert-per-crossing, and the breach actions.

    Subclass it and override :meth:`evaluate` (and, rarely, :meth:`crossed`); add it to a
    :class:`RiskMonitors` holder so its alerts reach the trial's results.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    config : RiskConfig
    book : venues.orderbook.venue.OrderBookVenue
        The order book: the mid that marks the desk, the touch for flattening IOCs.
    quoter : strategies.base.Strategy
        The strategy halted on ``halt`` / ``flatten``.
    account : components.account.Account
        The order-book account (cash and ``q``) of the desk.
    hedger : strategies.hedger.Hedger or None, default None
        Its on-chain wallet is part of the desk; ``flatten`` trades through it.
    name : str or None, default None
        Component name; defaults to :attr:`monitor_name`.

    Attributes
    ----------
    alerts : list of Alert
        This monitor's alerts, in time order.
    is_breached : bool
        The last decisive check was a breach (the monitor is disarmed until it clears).

    Warnings
    --------
    Hooks (``on_start``, ``on_timer``, ``evaluate``) are called by the kernel. Monitors never
    mutate the venue or the account; they act only through the quoter's and hedger's commands.

    Notes
    -----
    At each check: ``evaluate()`` returns ``(metric, value, limit)`` or ``None`` (nothing to
    judge, e.g. a one-sided book: the armed state is unchanged). A value that :meth:`crossed`
    its limit while armed fires one alert and disarms; a value within the limit re-arms.
    """

    monitor_name: ClassVar[str] = "risk"

    def __init__(self, sim, config: RiskConfig, *, book, quoter, account, hedger=None,
                 name: str | None = None) -> None:  # fmt: skip
        super().__init__(sim, name or self.monitor_name)
        self.config = config
        self.book = book
        self.quoter = quoter
        self.account = account
        self.hedger = hedger
        self.alerts: list[Alert] = []
        self.is_breached = False
        self._flattening = False

    # -- desk views -----------------------------------------------------------------------
    def desk_pnl(self, mid: float) -> float:
        """Desk PnL at ``mid``: account cash + q·mid, plus the hedger's on-chain wallet, quote units."""
        a = self.account
        pnl = a.cash + a.q * mid
        h = self.hedger
        if h is not None:
            pnl += h.onchain.cash + h.onchain.q * mid
        return pnl

    def desk_q(self) -> float:
        """Desk inventory: the account's ``q`` plus the hedger's on-chain ``q``, base units."""
        q = self.account.q
        if self.hedger is not None:
            q += self.hedger.onchain.q
        return q

    # -- clock ----------------------------------------------------------------------------
    def on_start(self) -> None:
        """Start the check clock."""
        self.set_timer("risk", every_ns=ms_to_ns(self.config.check_ms))

    def on_timer(self, event) -> None:
        """One check: evaluate, alert on a new crossing, re-arm on a clear, keep flattening."""
        result = self.evaluate()
        if result is not None:
            metric, value, limit = result
            if not self.crossed(value, limit):
                self.is_breached = False
            elif not self.is_breached:
                self.is_breached = True
                self.breach(metric, float(value), float(limit))
        if self._flattening:
            self._flatten_step()

    def evaluate(self) -> tuple[str, float, float] | None:
        """Hook: measure the metric now.

        Returns
        -------
        tuple of (str, float, float) or None
            ``(metric, value, limit)``; ``None`` when there is nothing to judge at this check
            (the monitor's armed state is left as it is).
        """
        return None

    def crossed(self, value: float, limit: float) -> bool:
        """Whether ``value`` breaches ``limit`` (default: strictly above it)."""
        return value > limit

    # -- breach -----------------------------------------------------------------------------
    def breach(self, metric: str, value: float, limit: float) -> None:
        """Record, log and publish one alert, then run the configured action.

        Parameters
        ----------
        metric : str
        value, limit : float
            As in :class:`Alert`.

        Warnings
        --------
        Called by :meth:`on_timer` once per crossing; a subclass may call it for a custom rule.
        """
        now = self.now_ns
        action = self.config.action
        alert = Alert(ts_ns=now, monitor=self.monitor_name, metric=metric, value=value,
                      limit=limit, action=action)  # fmt: skip
        self.alerts.append(alert)
        log.warning("risk breach at ts_ns=%d: %s %s=%.6g > limit %.6g; action=%s",
                    now, self.monitor_name, metric, value, limit, action)  # fmt: skip
        self.sim.publish(RiskBreach(now, self.monitor_name, metric, value, limit, action),
                         Priority.STRATEGY)  # fmt: skip
        if action in ("halt", "flatten"):
            self.quoter.halt(f"risk: {self.monitor_name} {metric}={value:.6g} > {limit:.6g}")
        if action == "flatten":
            self._flattening = True
            if self.hedger is not None:
                h = self.hedger
                h.config = attrs.evolve(h.config, target=0.0, band=FLATTEN_BAND)

    def _flatten_step(self) -> None:
        """Without a hedger: one IOC at the touch for the quoter's inventory, when none is open."""
        if self.hedger is not None:
            return  # the hedger trades the desk to its new target (0) at its own checks
        quoter = self.quoter
        if quoter.open_orders:  # cancels or an earlier IOC still in flight
            return
        qty = self.book.profile.round_qty(abs(quoter.q))
        if not qty > 0:
            return
        bb, ba = self.book.touch()
        side = Side.SELL if quoter.q > 0 else Side.BUY
        px = bb if side == Side.SELL else ba
        if math.isfinite(px):
            quoter.submit_limit(side=side, px=px, qty=qty, tif=TimeInForce.IOC)


class VaRMonitor(RiskMonitor):
    """Rolling one-check Value-at-Risk of the desk's mark-to-mid PnL.

    At every check with a two-sided book the PnL increment since the previous such check
    (the first from the starting equity, 0) joins a window of ``round(var_window_s /
    check_ms)`` increments; once the window is full the VaR at ``var_level`` by ``var_method``
    is compared with ``var_limit``. Metric ``"var_95"`` / ``"var_99"``, quote units per check
    period, positive = a loss (:func:`components.performance.value_at_risk`, the same VaR
    as the trial metrics ``var_95_hist`` … over the metric interval).

    Parameters
    ----------
    sim, config, book, quoter, account, hedger, name
        As :class:`RiskMonitor`.

    Attributes
    ----------
    var : float
        The latest VaR (NaN until the window is full).
    """

    monitor_name = "var"

    def __init__(self, sim, config: RiskConfig, *, book, quoter, account, hedger=None,
                 name: str | None = None) -> None:  # fmt: skip
        super().__init__(sim, config, book=book, quoter=quoter, account=account, hedger=hedger,
                         name=name)  # fmt: skip
        n = int(round(config.var_window_s * 1000.0 / config.check_ms))
        self._increments: deque[float] = deque(maxlen=n)
        self._prev_pnl = 0.0
        self.var = math.nan
        self.metric = f"var_{int(round(config.var_level * 100))}"

    def evaluate(self) -> tuple[str, float, float] | None:
        """The VaR of the last window of PnL increments, or ``None`` until it is full."""
        mid = self.book.mid
        if not math.isfinite(mid):
            return None
        pnl = self.desk_pnl(mid)
        self._increments.append(pnl - self._prev_pnl)
        self._prev_pnl = pnl
        if len(self._increments) < self._increments.maxlen:
            return None
        x = np.fromiter(self._increments, dtype=np.float64)
        c = self.config
        self.var = value_at_risk(x, c.var_level, c.var_method)
        return self.metric, self.var, c.var_limit


class DrawdownMonitor(RiskMonitor):
    """Fall of the desk PnL below its high-water mark (which starts at the starting equity, 0).

    Checked on the check clock with a two-sided book. Metric ``"drawdown"``, quote units.

    Parameters
    ----------
    sim, config, book, quoter, account, hedger, name
        As :class:`RiskMonitor`.

    Attributes
    ----------
    high_water : float
        Highest desk PnL seen at a check, quote units.
    """

    monitor_name = "drawdown"

    def __init__(self, sim, config: RiskConfig, *, book, quoter, account, hedger=None,
                 name: str | None = None) -> None:  # fmt: skip
        super().__init__(sim, config, book=book, quoter=quoter, account=account, hedger=hedger,
                         name=name)  # fmt: skip
        self.high_water = 0.0

    def evaluate(self) -> tuple[str, float, float] | None:
        """``high_water − pnl`` at the mid, or ``None`` on a one-sided book."""
        mid = self.book.mid
        if not math.isfinite(mid):
            return None
        pnl = self.desk_pnl(mid)
        self.high_water = max(self.high_water, pnl)
        return "drawdown", self.high_water - pnl, self.config.drawdown_limit


class InventoryMonitor(RiskMonitor):
    """Desk inventory at its limit, and for how long; also estimates q's mean-reversion speed.

    With ``max_time_at_limit_s == 0`` the metric is ``"abs_q"`` (``|q|`` against
    ``inventory_limit``, base units); otherwise ``"time_at_limit_s"``: seconds since the first
    check of the current run of checks at ``|q| >= inventory_limit``, against
    ``max_time_at_limit_s``. Both breach at ``>=`` (a quoter stops exactly at its limit).

    Parameters
    ----------
    sim, config, book, quoter, account, hedger, name
        As :class:`RiskMonitor`.

    Attributes
    ----------
    q_samples : list of float
        Desk inventory at each check, base units.
    """

    monitor_name = "inventory"

    def __init__(self, sim, config: RiskConfig, *, book, quoter, account, hedger=None,
                 name: str | None = None) -> None:  # fmt: skip
        super().__init__(sim, config, book=book, quoter=quoter, account=account, hedger=hedger,
                         name=name)  # fmt: skip
        self.q_samples: list[float] = []
        self._since_ns: int | None = None

    def crossed(self, value: float, limit: float) -> bool:
        """``value >= limit`` (to a relative 1e-12)."""
        return value >= limit - 1e-12 * max(1.0, abs(limit))

    def evaluate(self) -> tuple[str, float, float]:
        """``|q|`` or the time spent at the limit, with its limit."""
        c = self.config
        q = self.desk_q()
        self.q_samples.append(q)
        at_limit = self.crossed(abs(q), c.inventory_limit)
        if c.max_time_at_limit_s == 0:
            return "abs_q", abs(q), c.inventory_limit
        if not at_limit:
            self._since_ns = None
            return "time_at_limit_s", 0.0, c.max_time_at_limit_s
        if self._since_ns is None:
            self._since_ns = self.now_ns
        return "time_at_limit_s", (self.now_ns - self._since_ns) / 1e9, c.max_time_at_limit_s

    def mean_reversion_per_s(self) -> float:
        """Mean-reversion speed κ of the desk inventory, per second (NaN when undefined).

        Returns
        -------
        float
            ``−ln(φ) / Δt`` where φ is the least-squares AR(1) slope of ``q_t`` on ``q_{t−1}``
            (with intercept) over the check samples and ``Δt`` the check period; the half-life
            is ``ln 2 / κ``. NaN with fewer than 3 samples, a constant q, or ``φ <= 0``.

        Notes
        -----
        The discretely sampled Ornstein–Uhlenbeck process ``dq = −κ q dt + σ dW`` is AR(1) with
        ``φ = exp(−κ Δt)``.
        """
        q = np.asarray(self.q_samples, dtype=np.float64)
        if q.size < 3:
            return math.nan
        x, y = q[:-1], q[1:]
        vx = float(np.var(x))
        if vx <= 0:
            return math.nan
        phi = float(np.mean((x - x.mean()) * (y - y.mean()))) / vx
        if phi <= 0:
            return math.nan
        return -math.log(phi) / (self.config.check_ms / 1000.0)


class StaleQuoteGuard(RiskMonitor):
    """Orders resting on the book with no requote for too long.

    Metric ``"time_since_quote_s"``: seconds since the quoter's last ``quote()`` call
    (:attr:`strategies.base.Strategy.last_quote_ns`) while it has open orders and is not
    halted; 0 otherwise. Breaches above ``stale_quote_s``.

    Parameters
    ----------
    sim, config, book, quoter, account, hedger, name
        As :class:`RiskMonitor`.
    """

    monitor_name = "stale_quote"

    def evaluate(self) -> tuple[str, float, float]:
        """Seconds since the last requote (0 when not quoting)."""
        q = self.quoter
        last = getattr(q, "last_quote_ns", None)
        if last is None or q.is_halted or not q.open_orders:
            value = 0.0
        else:
            value = (self.now_ns - last) / 1e9
        return "time_since_quote_s", value, self.config.stale_quote_s


class DataGapGuard(RiskMonitor):
    """No market data replayed for too long.

    Metric ``"time_since_data_s"``: seconds since the last recorded row the venue replayed.
    With the feed's timestamps that is exactly ``now − ts_local_ns[n_events − 1]``; without
    them, the time of the first check that saw ``book.n_events`` change (check-clock
    resolution). Breaches above ``data_gap_s``.

    Parameters
    ----------
    sim, config, book, quoter, account, hedger, name
        As :class:`RiskMonitor`.
    feed_ts_ns : ndarray of int64 or None, default None
        The replayed feed's ``ts_local_ns`` column (read-only).
    """

    monitor_name = "data_gap"

    def __init__(self, sim, config: RiskConfig, *, book, quoter, account, hedger=None,
                 name: str | None = None, feed_ts_ns: np.ndarray | None = None) -> None:  # fmt: skip
        super().__init__(sim, config, book=book, quoter=quoter, account=account, hedger=hedger,
                         name=name)  # fmt: skip
        self.feed_ts_ns = feed_ts_ns
        self._last_n = 0
        self._last_data_ns = int(book.start_ns)

    def evaluate(self) -> tuple[str, float, float]:
        """Seconds since the last replayed row."""
        n = self.book.n_events
        if self.feed_ts_ns is not None:
            if n > 0:
                self._last_data_ns = int(self.feed_ts_ns[n - 1])
        elif n != self._last_n:
            self._last_data_ns = self.now_ns
            self._last_n = n
        return "time_since_data_s", (self.now_ns - self._last_data_ns) / 1e9, self.config.data_gap_s


class RiskMonitors:
    """The risk monitors of one trial and their alerts.

    Parameters
    ----------
    monitors : list of RiskMonitor
        In registration order (ties at one check time alert in this order).
    quoter : strategies.base.Strategy or None, default None
        The monitored quoter (for :meth:`metrics`).

    Attributes
    ----------
    monitors : list of RiskMonitor
    """

    def __init__(self, monitors: list[RiskMonitor], quoter=None) -> None:
        self.monitors = list(monitors)
        self.quoter = quoter

    def add(self, monitor: RiskMonitor) -> RiskMonitor:
        """Register one more monitor (e.g. a user subclass) and return it."""
        self.monitors.append(monitor)
        return monitor

    def alerts(self) -> np.ndarray:
        """Every alert of every monitor as an :data:`ALERT_DTYPE` array sorted by time."""
        return alerts_array(a for m in self.monitors for a in m.alerts)

    def metrics(self) -> dict[str, float]:
        """Per-trial risk figures: ``n_risk_alerts``, ``risk_halted`` (0/1) and, with an
        inventory monitor, ``q_mean_reversion_per_s`` (see :meth:`InventoryMonitor.mean_reversion_per_s`)."""
        out = {"n_risk_alerts": float(sum(len(m.alerts) for m in self.monitors))}
        if self.quoter is not None:
            out["risk_halted"] = float(bool(getattr(self.quoter, "is_halted", False)))
        for m in self.monitors:
            if isinstance(m, InventoryMonitor):
                out["q_mean_reversion_per_s"] = m.mean_reversion_per_s()
                break
        return out


def add_risk(sim, book, quoter, account, hedging, config: RiskConfig | None, *,
             feed=None) -> RiskMonitors:  # fmt: skip
    """Wire the monitors enabled by ``config`` into a simulation.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    book : venues.orderbook.venue.OrderBookVenue
    quoter : strategies.base.Strategy
    account : components.account.Account
        The order-book account (the one given to ``book``).
    hedging : experiments.trial.Hedging or None
        From :func:`experiments.trial.add_hedging`; its ``hedger`` joins the desk.
    config : RiskConfig or None
        The ``[risk]`` table; ``None`` wires nothing.
    feed : venues.loaders.Feed or None, default None
        The replayed feed: gives :class:`DataGapGuard` exact row times.

    Returns
    -------
    RiskMonitors
        Empty when ``config`` is ``None``; monitors in the order VaR, drawdown, inventory,
        stale quote, data gap (those whose limit is set).

    Warnings
    --------
    Call after the quoter and the hedger are created and before ``sim.run()``.
    """
    if config is None:
        return RiskMonitors([], quoter)
    hedger = hedging.hedger if hedging is not None else None
    kw = {"book": book, "quoter": quoter, "account": account, "hedger": hedger}
    monitors: list[RiskMonitor] = []
    if config.var_limit is not None:
        monitors.append(VaRMonitor(sim, config, **kw, name="risk/var"))
    if config.drawdown_limit is not None:
        monitors.append(DrawdownMonitor(sim, config, **kw, name="risk/drawdown"))
    if config.inventory_limit is not None:
        monitors.append(InventoryMonitor(sim, config, **kw, name="risk/inventory"))
    if config.stale_quote_s is not None:
        monitors.append(StaleQuoteGuard(sim, config, **kw, name="risk/stale_quote"))
    if config.data_gap_s is not None:
        ts = None if feed is None else feed.events["ts_local_ns"]
        monitors.append(DataGapGuard(sim, config, **kw, name="risk/data_gap", feed_ts_ns=ts))
    return RiskMonitors(monitors, quoter)
