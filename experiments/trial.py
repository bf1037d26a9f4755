"""Run one trial: a feed, a venue and a strategy, wired on a fresh kernel, into metrics.

This is the only place that assembles a simulation from configs; the sweep executor calls
:func:`run_trial` in worker processes. It performs no I/O.
"""

from __future__ import annotations

import time

import attrs
import numpy as np

from components.account import Account
from components.metrics import PnLRecorder
from engine.kernel import Simulation
from engine.time import ns_to_s
from strategies.config import StrategyConfig
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import venue_class

EQUITY_SAMPLE_MS = 100.0
"""Clock of the equity curve (and so of max_drawdown), ms."""


@attrs.frozen(kw_only=True)
class TrialResult:
    """What one trial produced.

    Attributes
    ----------
    metrics : dict of str to float
        ``pnl``, ``pnl_per_1k_notional``, ``realized_pnl``, ``fees``, ``n_fills``,
        ``maker_volume``, ``taker_volume``, ``max_drawdown``, ``max_abs_q``, ``final_q``,
        ``peak_notional``, ``n_events``, ``n_orders``, ``n_rejects``, ``sim_span_s``
        (see :mod:`components.metrics` for definitions and units).
    equity : ndarray of components.metrics.EQUITY_DTYPE
        The sampled equity curve.
    fills : ndarray of components.metrics.FILL_DTYPE
        Every fill, in time order.
    replay_wall_s : float
        Wall-clock time of the replay, seconds (not a metric: it differs between runs).
    """

    metrics: dict[str, float]
    equity: np.ndarray
    fills: np.ndarray
    replay_wall_s: float


def run_trial(
    feed, venue: VenueConfig, strategy: StrategyConfig, strategy_cls: type, seed: int
) -> TrialResult:
    """Replay ``feed`` through one venue with one strategy and return its metrics.

    Parameters
    ----------
    feed : venues.loaders.Feed
        Recorded market data (shared read-only between trials).
    venue : VenueConfig
    strategy : StrategyConfig
        Instance of ``strategy_cls.config_class``.
    strategy_cls : type
        A :class:`strategies.base.Strategy` subclass.
    seed : int
        The trial's seed; every component draws from its own stream of it.

    Returns
    -------
    TrialResult

    Raises
    ------
    ValueError, TypeError
        On inconsistent configs (e.g. prices off the venue's grid); anything a user strategy
        raises propagates.
    """
    sim = Simulation(seed)
    account = Account()
    book = venue_class(venue.kind)(sim, feed, venue, account, sample_ms=EQUITY_SAMPLE_MS)
    recorder = PnLRecorder(account, book)
    strategy_cls(sim, strategy, book)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    metrics = recorder.metrics()
    equity = recorder.equity_curve()
    metrics.update(
        n_events=float(book.n_events),
        n_orders=float(book.n_orders),
        n_rejects=float(book.n_rejects),
        sim_span_s=ns_to_s(book.end_ns - book.start_ns),
    )
    sim.close()
    return TrialResult(metrics=metrics, equity=equity, fills=recorder.fills(), replay_wall_s=wall)
