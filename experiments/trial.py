"""Run one trial: a feed, a venue and a strategy, wired on a fresh kernel, into metrics.

This is the only place that assembles a simulation from configs; the sweep executor calls
:func:`run_trial` in worker processes. It performs no I/O.
"""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import numpy as np

from components.account import Account
from components.funding import FundingSchedule
from components.metrics import PnLRecorder
from engine.kernel import Simulation
from engine.time import ns_to_s
from strategies.config import StrategyConfig
from strategies.risk import add_risk
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import venue_class, venue_profile
from venues.profiles import check_feed_profile


class Hedging:
    """The on-chain side of a hedged trial: chain, pool, arbitrageur, hedger and a band probe.

    Parameters
    ----------
    chain : venues.chain.Chain or None
    hedger : strategies.hedger.Hedger
    arbitrageur : strategies.arbitrageur.Arbitrageur or None
    """

    def __init__(self, chain, hedger, arbitrageur) -> None:
        self.chain = chain
        self.hedger = hedger
        self.arbitrageur = arbitrageur
        self.total_q: list[float] = []

    def probe(self) -> None:
        """Record the desk's total inventory (sampled at every block / hedge check)."""
        self.total_q.append(self.hedger.total_q)

    def metrics(self, book_pnl: float, mid: float) -> dict[str, float]:
        """Hedge metrics: costs (quote units), counts, desk PnL and inventory in the band.

        ``desk_pnl`` = order-book PnL + the on-chain wallet marked to the final mid; the hedge
        costs (``hedge_slippage``, ``hedge_pool_fee``, ``hedge_bribe``, ``hedge_gas``,
        ``hedge_fees``) are already inside it.
        """
        h = self.hedger
        q = np.abs(np.array(self.total_q)) if self.total_q else np.zeros(1)
        band = h.config.band + abs(h.config.target)
        out = {f"hedge_{k}": float(v) for k, v in h.costs.items()}
        out.update(
            desk_pnl=float(book_pnl + h.onchain.cash + h.onchain.q * mid),
            n_hedges=float(h.n_hedges),
            n_tx_dropped=float(h.n_dropped),
            n_arbs=float(self.arbitrageur.n_arbs if self.arbitrageur is not None else 0),
            n_background_swaps=float(self.chain.n_background_swaps if self.chain is not None else 0),
            n_sandwiches=float(self.chain.n_sandwiches if self.chain is not None else 0),
            mean_base_fee_gwei=float(np.mean(self.chain.base_fee_history) / 1e9
                                     if self.chain is not None and self.chain.base_fee_history else 0.0),
            gas_per_swap=float(self.chain.gas_for(h.config.pool) if self.chain is not None else 0),
            max_abs_total_q=float(q.max()),
            frac_outside_band=float(np.mean(q > band + 1e-12)),
            final_total_q=float(h.total_q),
        )
        return out


def add_signal(feed, quoter, cfg):
    """Give the quoter the walk-forward model signal of the feed when ``[signal]`` is set.

    Parameters
    ----------
    feed : venues.loaders.Feed
    quoter : strategies.base.Strategy
        Receives the :class:`components.signal.SignalFeed` as ``quoter.signal`` (the GLFT quoter
        skews by ``alpha × signal`` ticks).
    cfg : signals.pipeline.SignalConfig or None

    Returns
    -------
    signals.pipeline.SignalSeries or None
        The predictions (for metrics), ``None`` without a ``[signal]`` table.
    """
    if cfg is None:
        return None
    from components.signal import SignalFeed
    from signals.pipeline import signal_series

    series = signal_series(feed, cfg)
    quoter.signal = SignalFeed(series.ts_ns, series.value, latency_ns=int(cfg.latency_ms * 1e6))
    return series


PRIORITY_FEES_FILE = (
    Path(__file__).resolve().parents[1] / "data" / "ethereum_block_fees" / "mev_inspect_txs_derived.csv.gz"
)
"""Bundled recorded priority fees used by the hedger's percentile bribe policy."""


def recorded_priority_fees_gwei(path: str | None = None) -> np.ndarray:
    """Recorded priority fees, gwei per gas (positive ones).

    Parameters
    ----------
    path : str or None
        ``[hedger] fee_data_path``: mev-inspect ``mev_inspect_txs_derived.csv(.gz)`` or a directory
        of raw block JSONs; ``None``: the bundled sample (:data:`PRIORITY_FEES_FILE`).

    Raises
    ------
    venues.loaders.DataError
        If the file is missing or invalid.
    """
    from venues.chain import load_fee_data

    fees = load_fee_data(path if path is not None else str(PRIORITY_FEES_FILE))["priority_fee_per_gas_wei"] / 1e9
    return fees[fees > 0]


def add_hedging(sim, book, quoter, extras: dict):
    """Wire the optional hedger (and its chain, pool and arbitrageur) into a simulation.

    The pool is created at the first block, priced at the order book's mid then (times
    ``1 + premium``); the arbitrageur keeps it near mid; the chain's gas is valued at the mid.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    book : venues.orderbook.venue.OrderBookVenue
    quoter : strategies.base.Strategy
    extras : dict
        Resolved optional sections (``hedger``, ``chain``, ``pool``).

    Returns
    -------
    Hedging or None
        ``None`` when there is no ``hedger`` section.
    """
    hcfg = extras.get("hedger")
    if hcfg is None:
        return None
    from strategies.arbitrageur import Arbitrageur, ArbitrageurConfig
    from strategies.hedger import Hedger
    from venues.chain import Chain, ChainConfig, make_pool

    chain = arb = None
    if hcfg.venue == "pool":
        pcfg = extras["pool"]
        chain = Chain(sim, extras.get("chain") or ChainConfig(), {})
        arb = Arbitrageur(ArbitrageurConfig(pool=pcfg.name), book)

        def housekeeping(chain_, block_ts_ns: int) -> None:
            mid = book.mid
            if mid > 0:
                chain_.native_price(mid)
                if pcfg.name not in chain_.pools:
                    chain_.pools[pcfg.name] = make_pool(pcfg, mid)

        chain.participants += [housekeeping, arb]
        if pcfg.flow_path is not None:
            from venues.chain import CL_KINDS, recorded_flow, recorded_v3_calls

            if pcfg.kind in CL_KINDS:  # swaps, mints and burns as identified calls (issue 15)
                chain.add_v3_flow(pcfg.name, recorded_v3_calls(pcfg.flow_path), book.start_ns, pcfg.flow_scale)
            else:
                chain.add_background_flow(pcfg.name, *recorded_flow(pcfg.flow_path, book.start_ns, pcfg.flow_scale))
    fees = recorded_priority_fees_gwei(hcfg.fee_data_path) if hcfg.bribe_policy == "percentile" else None
    hedger = Hedger(sim, hcfg, book, chain=chain, quoter=quoter, recorded_priority_fees_gwei=fees)
    hedging = Hedging(chain, hedger, arb)
    if chain is not None:
        chain.participants.append(lambda chain_, ts: hedging.probe())
    else:  # no chain: sample at the hedger's own checks
        hedger.after_check = hedging.probe
    return hedging


def track_wallet(recorder: PnLRecorder, hedger) -> None:
    """Put an on-chain hedger's wallet into the trial's equity curve (the desk's equity).

    The wallet changes only when a hedge transaction's report arrives (a swap booked, or a
    dropped/reverted transaction's gas and bribe paid): the hedger's ``on_swap`` and
    ``on_tx_dropped`` hooks are wrapped to log the wallet after each, at the report's time.

    Parameters
    ----------
    recorder : components.metrics.PnLRecorder
    hedger : strategies.hedger.Hedger
        With ``venue = "pool"`` (a book hedger trades in the book account, already there).
    """
    changed = recorder.track_account(hedger.onchain)
    for name in ("on_swap", "on_tx_dropped"):
        hook = getattr(hedger, name)

        def logged(event, _hook=hook) -> None:
            _hook(event)
            changed(event.ts_ns)

        setattr(hedger, name, logged)


METRIC_INTERVAL_NS = 1_000_000_000
"""Default clock of the Sharpe/Sortino/VaR series (``[sweep] metric_interval``), ns."""

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
        The sampled equity curve of the desk (the book account and, with an on-chain hedger,
        its wallet: :func:`track_wallet`).
    fills : ndarray of components.metrics.FILL_DTYPE
        Every fill, in time order.
    alerts : ndarray of strategies.risk.ALERT_DTYPE
        Risk-monitor alerts, in time order (empty without a ``[risk]`` table).
    replay_wall_s : float
        Wall-clock time of the replay, seconds (not a metric: it differs between runs).
    pnl_currency : str
        Currency of ``pnl``, fees, funding and the cost breakdown (``USDT``, ``USDC``, or the
        coin for an inverse profile such as ``ETH``); ``""`` when unknown.
    warnings : tuple of str
        Trial-level notes (funding times in the span without recorded rates).
    """

    metrics: dict[str, float]
    equity: np.ndarray
    fills: np.ndarray
    alerts: np.ndarray
    replay_wall_s: float
    pnl_currency: str = ""
    warnings: tuple = ()


def run_trial(
    feed,
    venue: VenueConfig,
    strategy: StrategyConfig,
    strategy_cls: type,
    seed: int,
    extras: dict | None = None,
    compiled: bool = True,
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
    extras : dict, optional
        Resolved optional sections: ``hedger`` (:class:`strategies.hedger.HedgerConfig`), with
        ``chain`` (:class:`venues.chain.ChainConfig`) and ``pool``
        (:class:`venues.chain.PoolConfig`) for on-chain hedging (:func:`add_hedging`); ``risk``
        (:class:`strategies.risk.RiskConfig`) for risk monitors
        (:func:`strategies.risk.add_risk`); ``metric_interval_ns`` (int, the
        ``[sweep] metric_interval``; default :data:`METRIC_INTERVAL_NS`) for the clock of the
        risk/return metrics.
    compiled : bool, default True
        Run a trial the batch path supports (the builtin GLFT quoter on a plain order-book
        venue, :func:`venues.orderbook.batch.batch_unsupported`) as one compiled replay with
        no Python per decision; its result is bit-identical to ``compiled=False``, the
        per-trial event loop with the strategy's Python hooks.

    Returns
    -------
    TrialResult

    Raises
    ------
    ValueError, TypeError
        On inconsistent configs (e.g. prices off the venue's grid); anything a user strategy
        raises propagates.
    """
    if compiled:
        from venues.orderbook.batch import BatchUnsupported, batch_unsupported, run_quoter_batch

        if batch_unsupported(feed, venue, strategy_cls, extras) is None:
            try:
                out = run_quoter_batch(feed, [venue], [strategy], extras, strategy_cls)[0]
            except BatchUnsupported:
                pass
            else:
                if isinstance(out, Exception):
                    raise out
                return out
    sim = Simulation(seed)
    # contract type from the profile (inverse: PnL in coin); a profile of another kind than
    # the recorded feed (linear on a COIN-M capture, perp on spot) is refused
    profile = venue_profile(venue, feed)
    check_feed_profile(profile.name, feed.meta.venue, feed.meta.symbol)
    account = Account(contract_size=profile.contract_size if profile.is_inverse else None)
    book = venue_class(venue.kind)(sim, feed, venue, account, sample_ms=EQUITY_SAMPLE_MS)
    recorder = PnLRecorder(account, book)
    funding = FundingSchedule(sim, book, account, getattr(feed, "funding", None), feed.meta.venue,
                              on_payment=recorder.record_cash)  # fmt: skip
    quoter = strategy_cls(sim, strategy, book)
    signal = add_signal(feed, quoter, (extras or {}).get("signal"))
    hedging = add_hedging(sim, book, quoter, extras or {})
    if hedging is not None and hedging.hedger.config.venue == "pool":
        track_wallet(recorder, hedging.hedger)
    risk = add_risk(sim, book, quoter, account, hedging, (extras or {}).get("risk"), feed=feed)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    result = trial_result(
        recorder, strategy, extras, wall=wall, n_events=book.n_events, n_orders=book.n_orders,
        n_rejects=book.n_rejects, span_ns=book.end_ns - book.start_ns, risk=risk, funding=funding,
        pnl_currency=profile.settle_currency, hedging=hedging, signal=signal, final_mid=book.mid,
    )  # fmt: skip
    sim.close()
    return result


def trial_result(recorder: PnLRecorder, strategy: StrategyConfig, extras: dict | None, *, wall: float,
                 n_events: int, n_orders: int, n_rejects: int, span_ns: int, risk, funding, pnl_currency: str,
                 hedging: Hedging | None = None, signal=None,
                 final_mid: float = float("nan")) -> TrialResult:  # fmt: skip
    """Metrics, equity curve, fills and alerts of a finished trial (both execution paths).

    Parameters
    ----------
    recorder : components.metrics.PnLRecorder
        The trial's fills and equity.
    strategy : StrategyConfig
        Its ``max_position`` scales the inventory metrics.
    extras : dict or None
        As :func:`run_trial` (``metric_interval_ns``).
    wall : float
        Wall-clock seconds of the replay.
    n_events, n_orders, n_rejects : int
        Rows replayed, orders sent, requests rejected.
    span_ns : int
        Recorded span of the feed, ns.
    risk : strategies.risk.RiskMonitors
    funding : components.funding.FundingSchedule
    pnl_currency : str
    hedging : Hedging or None
    signal : signals.pipeline.SignalSeries or None
    final_mid : float
        The book's last mid (hedge metrics), quote units.
    """
    metrics = recorder.metrics()
    equity = recorder.equity_curve()
    metrics.update(
        n_events=float(n_events),
        n_orders=float(n_orders),
        n_rejects=float(n_rejects),
        sim_span_s=ns_to_s(span_ns),
    )
    if hedging is not None:
        metrics.update(hedging.metrics(metrics["pnl"], final_mid))
    metrics.update(
        recorder.performance(
            n_orders=n_orders,
            q_max=strategy.max_position,
            hedger=hedging.hedger if hedging is not None else None,
            final_mid=final_mid if hedging is not None else None,
            sample_ms=(extras or {}).get("metric_interval_ns", METRIC_INTERVAL_NS) / 1e6,
        )
    )
    metrics.update(risk.metrics())
    metrics.update(funding.metrics())
    if signal is not None:
        metrics.update(signal_hit_rate=signal.hit_rate, n_signal_events=float(signal.ts_ns.size),
                       n_signal_predictions=float(np.isfinite(signal.value).sum()))  # fmt: skip
    return TrialResult(metrics=metrics, equity=equity, fills=recorder.fills(), alerts=risk.alerts(), replay_wall_s=wall,
                       pnl_currency=pnl_currency, warnings=tuple(funding.warnings))  # fmt: skip
