"""From a recorded feed to a quoting signal: bars → features → labels → purged walk-forward.

Used by the experiment runner when a sweep file has a ``[signal]`` table; every step is the
research API (:mod:`signals.api`). The predictions are **walk-forward**: the model that predicts
an event was trained only on earlier events whose labels ended before it (purged, embargoed),
so a simulated strategy never uses a model fitted on its own future. Fitted models are cached
by content hash (:mod:`signals.cache`), so a sweep over market-making parameters trains each
distinct model once.
"""

from __future__ import annotations

import attrs
import numpy as np
from attrs import validators as v

from components.signal import SignalFeed

BAR_KINDS = ("tick", "volume", "dollar", "imbalance", "time")


@attrs.frozen(kw_only=True)
class SignalConfig:
    """The ``[signal]`` table: how the quoting signal is built from the sweep's market data.

    Attributes
    ----------
    bar : {"tick", "volume", "dollar", "imbalance", "time"}, default "dollar"
        Bar type (:mod:`signals.bars`, AFML ch. 2).
    bar_size : float, default 50000.0
        Trades per bar, base units, quote units, initial expected ticks or ns, by bar type.
    vol_span : int, default 20
        EWMA span of the label target volatility (AFML Snippet 3.1), bars.
    vol_lookback_s : float, default 30.0
        Return horizon of that volatility, seconds.
    pt, sl : float, default 1.0
        Profit-take and stop-loss barriers in multiples of the target (AFML §3.4).
    vertical_s : float, default 30.0
        Vertical barrier, seconds after the event.
    model : {"xgboost", "hierarchy"}, default "xgboost"
        Model kind (:class:`signals.train.ModelConfig`).
    n_estimators : int, default 100
        Trees (XGBoost) of the model.
    epochs : int, default 5
        Training epochs (hierarchy).
    n_splits : int, default 5
        Walk-forward folds (the first one only trains).
    embargo_pct : float, default 0.01
        Embargo between training and test events, fraction of events.
    seed : int, default 0
        Model seed.
    latency_ms : float, default 0.0
        Delay before a prediction made at a bar close can be used, ms.
    microstructure : bool, default True
        Use the order-book features (imbalance, microprice, spread).
    """

    bar: str = attrs.field(default="dollar", validator=v.in_(BAR_KINDS))
    bar_size: float = attrs.field(default=50_000.0, validator=v.gt(0))
    vol_span: int = attrs.field(default=20, validator=v.ge(2))
    vol_lookback_s: float = attrs.field(default=30.0, validator=v.gt(0))
    pt: float = attrs.field(default=1.0, validator=v.gt(0))
    sl: float = attrs.field(default=1.0, validator=v.gt(0))
    vertical_s: float = attrs.field(default=30.0, validator=v.gt(0))
    model: str = attrs.field(default="xgboost", validator=v.in_(("xgboost", "hierarchy")))
    n_estimators: int = attrs.field(default=100, validator=v.ge(1))
    epochs: int = attrs.field(default=5, validator=v.ge(1))
    n_splits: int = attrs.field(default=5, validator=v.ge(2))
    embargo_pct: float = attrs.field(default=0.01, validator=[v.ge(0), v.lt(1)])
    seed: int = attrs.field(default=0, validator=v.ge(0))
    latency_ms: float = attrs.field(default=0.0, validator=v.ge(0))
    microstructure: bool = attrs.field(default=True)


@attrs.frozen(kw_only=True)
class SignalSeries:
    """The walk-forward predictions of one feed.

    Attributes
    ----------
    ts_ns : ndarray of int64
        Close time of each event bar (when its prediction is made), ns.
    value : ndarray of float64
        Signal in [−1, 1] (NaN for events in the first, training-only, fold).
    y : ndarray of int64
        The triple-barrier label of each event (−1, 0, 1), for evaluation.
    feature_names : list of str
    """

    ts_ns: np.ndarray
    value: np.ndarray
    y: np.ndarray
    feature_names: list

    @property
    def hit_rate(self) -> float:
        """Fraction of predicted events whose sign matched a non-zero label (out of sample)."""
        ok = np.isfinite(self.value) & (self.value != 0) & (self.y != 0)
        return float(np.mean(np.sign(self.value[ok]) == self.y[ok])) if ok.any() else float("nan")


def signal_series(feed, cfg: SignalConfig, *, cache_dir=None) -> SignalSeries:
    """Build the walk-forward signal of a recorded feed.

    Parameters
    ----------
    feed : venues.loaders.Feed
        Recorded ticks (trades; depth or BBO for the microstructure features).
    cfg : SignalConfig
    cache_dir : str or Path, optional
        Model cache (:func:`signals.cache.default_cache_dir` when ``None``).

    Returns
    -------
    SignalSeries

    Raises
    ------
    ValueError
        If the feed yields too few bars or labelled events for ``n_splits`` folds.
    """
    from signals.bars import make_bars, trades_from_events
    from signals.data import book_top
    from signals.features import FeatureConfig, make_features
    from signals.labels import daily_vol, triple_barrier_labels
    from signals.train import ModelConfig, walk_forward
    from signals.weights import average_uniqueness

    ts, px, qty, side = trades_from_events(feed.events)
    bars = make_bars(cfg.bar, ts, px, qty, side, cfg.bar_size)
    if bars.size < 4 * cfg.n_splits:
        raise ValueError(f"[signal] {bars.size} bars from the feed: too few for {cfg.n_splits} folds; use smaller bars")
    close_ts = bars["ts_close_ns"].astype(np.int64)
    top = book_top(feed, close_ts) if cfg.microstructure else None
    fcfg = FeatureConfig(microstructure=cfg.microstructure and top is not None, sadf_max_window=100)
    data = {"bars": bars}
    if top is not None:
        data["book"] = {"best_bid": top["bid_px"], "best_ask": top["ask_px"],
                        "bid_qty": top["bid_qty"], "ask_qty": top["ask_qty"]}  # fmt: skip
    names, X = make_features(fcfg, data)
    close = bars["close"].astype(np.float64)
    vol = daily_vol(close_ts, close, span=cfg.vol_span, lookback_ns=int(cfg.vol_lookback_s * 1e9))
    events = np.flatnonzero(np.isfinite(vol) & (vol > 0))
    labels = triple_barrier_labels(close_ts, close, events, vol, cfg.pt, cfg.sl, int(cfg.vertical_s * 1e9))
    if labels.size < 4 * cfg.n_splits:
        raise ValueError(f"[signal] {labels.size} labelled events: too few for {cfg.n_splits} folds")
    t0_idx, t1_idx = labels["t0_idx"], labels["t1_idx"]
    w = average_uniqueness(t0_idx, t1_idx)
    y = labels["label"].astype(np.int64)
    mcfg = ModelConfig(kind=cfg.model, seed=cfg.seed, n_splits=cfg.n_splits, embargo_pct=cfg.embargo_pct,
                       n_estimators=cfg.n_estimators, epochs=cfg.epochs)  # fmt: skip
    t0, t1 = labels["t0"].astype(np.int64), labels["t1"].astype(np.int64)

    value = walk_forward(mcfg, X[t0_idx], y, w, t0, t1, cache_dir=cache_dir)  # forward-only folds
    value = np.clip(np.asarray(value, dtype=np.float64), -1.0, 1.0)
    return SignalSeries(ts_ns=close_ts[t0_idx], value=value, y=y, feature_names=list(names))


def signal_feed(feed, cfg: SignalConfig, *, cache_dir=None) -> SignalFeed:
    """The :class:`components.signal.SignalFeed` of :func:`signal_series` (latency applied)."""
    s = signal_series(feed, cfg, cache_dir=cache_dir)
    return SignalFeed(s.ts_ns, s.value, latency_ns=int(cfg.latency_ms * 1e6))
