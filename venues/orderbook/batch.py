"""Batch path: many GLFT trials on one feed in one compiled replay (issue 13).

:func:`run_quoter_batch` runs K trials of :class:`strategies.glft.GLFTQuoter` that share a feed and
a venue (they may differ in every GLFT setting, in ``interval_ms``, order size, inventory limit
and in the constant latencies) through :func:`venues.orderbook._batch_nb.run_batch_nb`:
the book is replayed once for all of them and no Python runs per decision. Each trial's
result is the :class:`experiments.trial.TrialResult` the per-trial path
(:func:`experiments.trial.run_trial` with ``compiled=False``) gives for it, bit for bit:
fills, equity curve and every metric (``tests/venues/orderbook/test_batch.py``).

What the batch path runs is decided by :func:`batch_unsupported`; everything else (user
strategies, risk monitors, hedging, signals, recorded or random latency, funding inside the
span, inverse contracts, own impact, price grids that vary with price) takes the per-trial path,
which costs one Python call per decision (~10–20 µs) on top of the compiled replay.
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import attrs
import numpy as np

from components._account_nb import LQ, LX, book_fills_nb
from components.account import Account
from components.funding import FundingSchedule
from components.metrics import FILL_DTYPE, PnLRecorder
from engine.feed import PageReleaser
from engine.kernel import Simulation
from engine.time import ms_to_ns
from venues.orderbook import _batch_nb as B
from venues.orderbook import _book_nb as K
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue, venue_profile
from venues.profiles import _steps_per_unit

WINDOW_ROWS = 1 << 20
"""Feed rows per call of the compiled loop; between calls the replayed pages of a mapped feed are
released (:class:`engine.feed.PageReleaser`), so a long replay's resident memory stays flat."""

def batch_key(venue: VenueConfig) -> VenueConfig:
    """The venue settings trials must share to run in one batch (latencies set aside)."""
    return attrs.evolve(venue, entry_latency_ms=0.0, response_latency_ms=0.0, cancel_entry_latency_ms=None,
                        modify_entry_latency_ms=None)  # fmt: skip


def batch_kinds() -> dict[type, int]:
    """The strategy classes the batch path runs, with their kernel code (``_batch_nb.KIND_*``)."""
    from strategies.avellaneda_stoikov import AvellanedaStoikovQuoter
    from strategies.fixed_spread import FixedSpreadQuoter
    from strategies.glft import GLFTQuoter

    return {GLFTQuoter: B.KIND_GLFT, AvellanedaStoikovQuoter: B.KIND_AS, FixedSpreadQuoter: B.KIND_FIXED}


def batch_unsupported(feed, venue: VenueConfig, strategy_cls: type, extras: dict | None) -> str | None:
    """Why a trial cannot take the batch path, or ``None`` when it can.

    Parameters
    ----------
    feed : venues.loaders.Feed
    venue : VenueConfig
    strategy_cls : type
        The trial's strategy class: one of :func:`batch_kinds` itself (a subclass's hooks are
        Python).
    extras : dict or None
        Resolved optional sections of the trial (:func:`experiments.trial.run_trial`).

    Returns
    -------
    str or None
        A short reason (e.g. ``"latency_model = 'recorded'"``), ``None`` when supported.
    """
    if strategy_cls not in batch_kinds():
        return f"strategy {strategy_cls.__name__} (the batch path runs the builtin GLFT, Avellaneda–Stoikov " \
               "and fixed-spread quoters, not subclasses)"
    for key in ("hedger", "risk", "signal"):
        if (extras or {}).get(key) is not None:
            return f"[{key}] section"
    if venue.kind != "orderbook":
        return f"venue kind {venue.kind!r}"
    if venue.latency_model != "constant":
        return f"latency_model = {venue.latency_model!r}"
    if venue.own_impact:
        return "own_impact = true"
    prof = venue_profile(venue, feed)
    if prof.is_inverse:
        return "inverse contract"
    if prof.price_rule != "fixed_tick" or not _steps_per_unit(prof.tick_size):
        return "price grid that is not a fixed tick of 1/n"
    if not _steps_per_unit(prof.lot_size):
        return "lot size that is not 1/n"
    return None


class BatchUnsupported(ValueError):
    """The trials cannot take the batch path (the message says why); run them one by one."""


class _Replayed:
    """What :class:`components.metrics.PnLRecorder` reads of a venue, for a finished batch trial."""

    is_closed = True

    def __init__(self, samples: np.ndarray) -> None:
        self.fill_listeners: list = []
        self.mid = math.nan
        self._samples = samples

    def touch_samples(self) -> np.ndarray:
        return self._samples


def _params(venue: OrderBookVenue, venues: list[VenueConfig], strategies: list, kinds: list[int],
            groups: dict[int, int]):
    """Per-trial parameter arrays of the kernel (``ip``, ``fp``, ``grid``)."""
    n = len(strategies)
    ip = np.zeros((n, B.N_IP), dtype=np.int64)
    fp = np.zeros((n, B.N_FP), dtype=np.float64)
    g_max = max([getattr(c, "max_fit_depth_ticks", 1) for c in strategies])
    grid = np.zeros((n, g_max), dtype=np.float64)
    prof = venue.profile
    for k, (v, c, kind) in enumerate(zip(venues, strategies, kinds, strict=True)):
        interval = ms_to_ns(c.interval_ms)
        entry = ms_to_ns(v.entry_latency_ms)
        ip[k, B.IP_KIND] = kind
        ip[k, B.IP_INTERVAL] = interval
        ip[k, B.IP_ENTRY_NEW] = entry
        ip[k, B.IP_ENTRY_CANCEL] = entry if v.cancel_entry_latency_ms is None else ms_to_ns(v.cancel_entry_latency_ms)
        ip[k, B.IP_RESPONSE] = ms_to_ns(v.response_latency_ms)
        qty = prof.round_qty(c.order_qty)
        ip[k, B.IP_LOTS] = venue._lots(qty)
        ip[k, B.IP_GROUP] = groups[interval]
        ip[k, B.IP_MAX_OPEN] = venue.max_open_orders
        ip[k, B.IP_WINDOW] = 2
        fp[k, B.FP_ORDER_QTY] = c.order_qty
        fp[k, B.FP_QTY] = qty
        fp[k, B.FP_MAX_POS] = c.max_position
        if kind == B.KIND_FIXED:
            fp[k, B.FP_HALF_BPS] = c.half_spread_bps
            fp[k, B.FP_SKEW_BPS] = c.skew_bps
            continue
        ip[k, B.IP_WARMUP] = int(math.ceil(c.warmup_s * 1000.0 / c.interval_ms))
        ip[k, B.IP_RECAL] = c.recalibrate_every
        ip[k, B.IP_WINDOW] = max(int(round(c.window_s * 1000.0 / c.interval_ms)), 2)
        ip[k, B.IP_GRID] = c.max_fit_depth_ticks
        grid[k, : c.max_fit_depth_ticks] = np.arange(c.max_fit_depth_ticks, dtype=np.float64) + 0.5
        fp[k, B.FP_GAMMA] = c.gamma
        fp[k, B.FP_XI] = c.gamma if c.xi is None else c.xi
        fp[k, B.FP_MIN_HALF] = c.min_half_spread_ticks
        fp[k, B.FP_MAX_DEPTH] = float(c.max_depth_ticks if c.max_depth_ticks is not None else c.max_fit_depth_ticks)
        fp[k, B.FP_BAND] = c.price_band
        fp[k, B.FP_PRIOR_A] = math.nan if c.prior_A is None else c.prior_A
        fp[k, B.FP_PRIOR_K] = math.nan if c.prior_k is None else c.prior_k
        if kind == B.KIND_AS:
            fp[k, B.FP_TAU] = c.horizon_s * 1000.0 / c.interval_ms
    # trials on one decision clock with the same window, warm-up, refit period and fit grid see
    # the same steps: they share one σ/A/k estimator (priors stay per trial)
    keys = [tuple(ip[k, [B.IP_GROUP, B.IP_WINDOW, B.IP_WARMUP, B.IP_RECAL, B.IP_GRID]].tolist()) for k in range(n)]
    est = {key: e for e, key in enumerate(dict.fromkeys(keys))}
    ip[:, B.IP_EST] = [est[key] for key in keys]
    return ip, fp, grid


def run_quoter_batch(feed, venues: list[VenueConfig], strategies: list, extras: dict | None = None,
                     strategy_cls: type | None = None, finish=None, fill_rows: int = 0) -> list:
    """Run quoter trials that share ``feed`` and a venue in one compiled replay.

    Parameters
    ----------
    feed : venues.loaders.Feed
    venues : list of VenueConfig
        One per trial; equal up to the latencies (:func:`batch_key`).
    strategies : list of StrategyConfig
        One per trial: ``GLFTConfig``, ``ASConfig`` or ``FixedSpreadConfig``.
    extras : dict, optional
        Shared optional sections (only ``metric_interval_ns`` is read; the others make a trial
        unsupported, :func:`batch_unsupported`).
    strategy_cls : type or None
        The trials' quoter class (:func:`batch_kinds`); ``None``: the one whose ``config_class``
        each config is.
    finish : callable or None
        ``finish(k, result)`` is called on trial ``k``'s :class:`experiments.trial.TrialResult`
        as soon as it is built, and its return value is kept instead: a sweep worker thins the
        result there (:func:`experiments.worker.run_batch_safely`), so a batch holds one full
        equity curve at a time, not K.
    fill_rows : int, default 0
        Fills the whole batch is expected to make: the kernel's fill table starts that large
        (64 bytes a row) instead of doubling from 1,024 rows up to as much as twice what it
        needs (a sweep worker passes what its earlier batches made per trial). It still grows
        past it.

    Returns
    -------
    list
        Per trial, in order: an :class:`experiments.trial.TrialResult` (or what ``finish``
        made of it) or the exception the per-trial path would have raised (a ``ValueError``),
        so one failing trial fails alone.

    Raises
    ------
    BatchUnsupported
        If the trials do not share their venue settings, or one is unsupported
        (:func:`batch_unsupported`, funding settlements inside the span, a feed grid finer
        than the profile's).
    """
    from experiments.trial import EQUITY_SAMPLE_MS, trial_result
    from strategies.risk import RiskMonitors
    from venues.profiles import check_feed_profile

    if not venues or len(venues) != len(strategies):
        raise BatchUnsupported("run_quoter_batch needs one venue config per strategy config (and at least one)")
    key = batch_key(venues[0])
    for v in venues[1:]:
        if batch_key(v) != key:
            raise BatchUnsupported("run_quoter_batch: trials of one batch must share the venue settings "
                                   "(latencies aside)")
    by_config = {cls.config_class: cls for cls in batch_kinds()}
    classes = [strategy_cls or by_config.get(type(c), type(c)) for c in strategies]
    reason = batch_unsupported(feed, venues[0], classes[0], extras)
    if reason is None and len(set(classes)) > 1:
        reason = "trials of several strategy classes"
    if reason is not None:
        raise BatchUnsupported(f"run_quoter_batch: not supported: {reason}")
    kinds = [batch_kinds()[cls] for cls in classes]
    sim = Simulation(0)  # builds the books and checks the feed exactly as a per-trial venue does
    profile = venue_profile(venues[0], feed)
    check_feed_profile(profile.name, feed.meta.venue, feed.meta.symbol)
    venue = OrderBookVenue(sim, feed, venues[0], Account(), sample_ms=EQUITY_SAMPLE_MS)
    rates = getattr(feed, "funding", None)
    due = FundingSchedule(sim, venue, Account(), rates, feed.meta.venue)._due  # settlements in the span
    settle_ts = rates.ts_ns[due] if due.size else np.zeros(0, dtype=np.int64)
    if due.size and not np.all((rates.mark[due] > 0) & np.isfinite(rates.mark[due])):
        raise BatchUnsupported("run_quoter_batch: not supported: a funding settlement without a recorded mark")
    per_tick = _steps_per_unit(venue.tick_size)
    if not per_tick or venue.tick_size != profile.tick_size:
        raise BatchUnsupported("run_quoter_batch: not supported: the feed's price grid differs from the profile's")
    intervals = sorted({ms_to_ns(c.interval_ms) for c in strategies})
    groups = {t: g for g, t in enumerate(intervals)}
    ip, fp, grid = _params(venue, venues, strategies, kinds, groups)
    cfg = venues[0]
    t0 = time.perf_counter()
    state = B.new_batch_state(ip, fp, len(groups), venue.start_ns, settle_ts)
    orders = np.zeros(K.INITIAL_ORDERS, dtype=K.ORDER_DTYPE)
    fills = np.zeros((K.INITIAL_ORDERS, 2), dtype=np.int64)
    if fill_rows > state["fr"].shape[0]:
        state["fr"] = np.zeros((int(fill_rows), B.N_FR), dtype=np.int64)
    fr, cur = state["fr"], state["cur"]
    tsx = venue._ev["ts_local_ns"]
    n = int(tsx.size)
    releasers = [PageReleaser(venue._ev)] + ([PageReleaser(venue._lev)] if venue.two_books else [])
    finished = False
    while not finished:  # windows of WINDOW_ROWS rows: a mapped feed's pages are given back behind
        i = int(cur[B.CUR_I])
        window_end = int(max(tsx[i + WINDOW_ROWS], tsx[i] + 1)) if i + WINDOW_ROWS < n else venue.end_ns
        orders, fills, fr, finished = B.run_batch_nb(
            venue._ev, venue._lev, venue.two_books, venue._inv_tick, venue.tick_size, per_tick,
            int(round(1.0 / venue.lot_size)), venue._base, venue._book, venue._st, venue._lbook, venue._lst,
            venue._samples, venue._model, venue._power, venue.lot_size, venue._fill_rule, float(profile.min_notional),
            cfg.self_trade != "none", int(venue._arrival_prio), venue.start_ns, venue.end_ns, ip, fp, grid,
            len(groups), orders, fills, state["si"], state["sf"], state["depths"], state["dmid"], state["hist"],
            state["est_i"], state["est_f"], state["lo"], state["lf"], state["acc_buy"], state["acc_sell"],
            state["snap_ts"], state["snap_buy"],
            state["snap_sell"], state["scratch"], state["stamp"], state["hq"], cur, fr, state["probe"], window_end,
        )  # fmt: skip
        for rel, row in zip(releasers, (cur[B.CUR_I], cur[B.CUR_IL]), strict=False):
            rel.release_to(int(row))
    si = state["si"]
    fr = fr[: int(cur[B.CUR_N_FR])]
    n_events = int(venue._st[K.N_EVENTS])
    wall = (time.perf_counter() - t0) / len(strategies)
    n_base = int(venue._lst[K.N_SAMPLES])
    end_now = np.maximum(si[:, B.SI_END_NOW], si[:, B.SI_LAST_ACK])  # the time of each trial's last event
    if settle_ts.size:  # a settlement is an event of every trial
        end_now = np.maximum(end_now, int(settle_ts[settle_ts <= venue.end_ns].max(initial=venue.start_ns)))
    probe = state["probe"]
    settle_mid = 0.5 * (np.where(probe[:, 0] != K.NO_PRICE, (probe[:, 0] + venue._base) / per_tick, np.nan)
                        + np.where(probe[:, 1] != K.NO_PRICE, (probe[:, 1] + venue._base) / per_tick, np.nan))
    sim._queue.now_ns = int(end_now.max())  # the final samples, up to the last event of any trial
    samples = venue.touch_samples()
    shared, tail = samples[:n_base], samples[n_base:]
    per_lot = int(round(1.0 / venue.lot_size))

    def px_of(j: np.ndarray) -> np.ndarray:
        return (j + venue._base) / per_tick  # as venue._px: the float of the tick count's decimal

    by_trial = np.argsort(fr[:, B.FR_TRIAL], kind="stable")
    starts = np.searchsorted(fr[by_trial, B.FR_TRIAL], np.arange(len(strategies) + 1))
    out: list = []
    for k, c in enumerate(strategies):
        err = int(si[k, B.SI_ERROR])
        if err == B.ERR_PRICE:
            out.append(ValueError("quote price rounds to 0 or is not finite on the venue's price grid"))
            continue
        if err == B.ERR_LOCAL:
            out.append(ValueError(f"more than {B.MAX_LOCAL} orders in flight"))
            continue
        account = Account()
        replayed = _Replayed(np.concatenate([shared, tail[tail["ts_ns"] <= end_now[k]]]))
        recorder = PnLRecorder(account, replayed)  # type: ignore[arg-type]
        replayed.profile, replayed.start_ns, replayed.end_ns = venue.profile, venue.start_ns, venue.end_ns
        trial_sim = Simulation(0)  # the batch's would keep every trial's recorder alive
        funding = FundingSchedule(trial_sim, replayed, account, rates, feed.meta.venue,  # type: ignore[arg-type]
                                  on_payment=recorder.record_cash)  # fmt: skip
        rows = fr[by_trial[starts[k] : starts[k + 1]]]
        # fills up to each settlement (its rows stamped <= the settlement time came first), the
        # settlement, and so on: the account as the per-trial path books it
        cuts = np.searchsorted(rows[:, B.FR_VENUE_TS], settle_ts, side="right")
        lo = 0
        for j, cut in enumerate([*cuts.tolist(), rows.shape[0]]):
            _book(rows[lo:cut], account, recorder, px_of, per_lot, profile.maker_fee_bps)
            lo = max(lo, cut)
            if j < len(due):
                replayed.mid = float(settle_mid[j])
                funding._settle(int(due[j]))
        risk = RiskMonitors([], SimpleNamespace(is_halted=False))
        result = trial_result(
            recorder, c, extras, wall=wall, n_events=int(n_events), n_orders=int(si[k, B.SI_ORDERS]),
            n_rejects=int(si[k, B.SI_REJECTS]), span_ns=venue.end_ns - venue.start_ns, risk=risk, funding=funding,
            pnl_currency=profile.settle_currency,
        )  # fmt: skip
        trial_sim.close()  # its cycles broken: this trial's arrays are freed now, not at the next collection
        replayed.fill_listeners.clear()
        out.append(result if finish is None else finish(k, result))
    sim.close()
    return out


def _book(rows: np.ndarray, account: Account, recorder: PnLRecorder, px_of, per_lot: int,
          maker_fee_bps: float) -> None:
    """Book fill records (``_batch_nb.FR_*`` rows) into ``account`` and log them in ``recorder``."""
    if not rows.size:
        return
    log = np.empty(rows.shape[0], dtype=FILL_DTYPE)
    log["ts_ns"] = rows[:, B.FR_VENUE_TS]
    log["client_order_id"] = rows[:, B.FR_COID]
    log["side"] = rows[:, B.FR_SIDE]
    log["is_maker"] = True
    log["px"] = px_of(rows[:, B.FR_IDX])
    log["qty"] = rows[:, B.FR_LOTS] / per_lot  # as venue._qty: the float of the lot count's decimal
    log["fee"] = log["px"] * log["qty"] * maker_fee_bps / 10_000.0  # profile.fee, linear, maker
    ledger = account.ledger()
    cash_after = np.empty(rows.shape[0])
    book_fills_nb(ledger, log["side"], log["px"], log["qty"], log["fee"], log["is_maker"], cash_after,
                  log["q_after"])  # fmt: skip
    account.set_ledger(ledger)
    account.q, account.avg_entry_px = float(ledger[LQ]), float(ledger[LX])
    bb, ba = rows[:, B.FR_VIEW_BID], rows[:, B.FR_VIEW_ASK]
    mid = 0.5 * (np.where(bb != K.NO_PRICE, px_of(bb), np.nan) + np.where(ba != K.NO_PRICE, px_of(ba), np.nan))
    log["mid"] = np.where(mid == mid, mid, log["px"])  # the view book's mid when the venue made the fill
    recorder.add_fills(log, cash_after)
