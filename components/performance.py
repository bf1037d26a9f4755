"""Per-trial performance, risk, adverse-selection, inventory and cost metrics (pure NumPy).

Every function here is a pure function of arrays (plus, for :func:`cost_breakdown`, the
ledger objects it reconciles against); :func:`trial_performance` assembles them all from a
:class:`components.metrics.PnLRecorder` into the flat ``dict[str, float]`` a trial stores.

Conventions
-----------
Units
    Money in quote units (USDT/USDC), sizes in base units, times in ns unless a name says
    ``_s`` (seconds) or ``_ms``.
Sampling clock
    Risk/return statistics use the mark-to-mid equity resampled on a **fixed clock** of period
    ``Δ`` = ``[sweep] metric_interval`` (1 s by default; :func:`pnl_series`): ticks are the
    whole multiples of ``Δ`` (``t_k = ⌈t_0/Δ⌉·Δ + k·Δ``, so every trial of a sweep shares the
    same ticks) from the first equity row ``t_0`` while ``t_k ≤`` the last row; the value at a
    tick is the last equity row at or before it (so fills at exactly ``t_k`` are included).
    Leading and trailing partial periods are dropped.
PnL increments, not returns
    Sharpe, Sortino, VaR and Calmar are computed on **PnL increments** ``ΔE_k = E_k − E_{k−1}``
    in quote units per period, not on percentage returns: a market maker has no fixed
    capital base (margin is a small, strategy-dependent fraction of notional), so a "return
    on capital" would depend on an arbitrary denominator. The ratios are dimensionless;
    VaR is in quote units per period.
Annualisation
    Crypto trades all year round, so a year is 365 days of 86,400 s:
    ``periods_per_year = 365 · 86400 / Δ_s`` (31,536,000 for Δ = 1 s). Sharpe and Sortino
    scale by ``√periods_per_year`` (i.i.d. increments); Calmar's annual PnL is
    ``mean(ΔE) · periods_per_year``. **Rule**: the annualised ``sharpe``, ``sortino`` and
    ``calmar`` are computed only when the run spans enough samples,
    ``n ≥ annualise_min_samples(Δ) = max(30, ⌈86400 s / Δ⌉)`` increments (at least 30, and at
    least one day of data); otherwise they are NaN/NULL with ``annualised = 0`` in the trial's
    metrics (the reason: the run is too short to extrapolate to a year; an 8-minute replay
    scaled by √31,536,000 gave Sharpe ratios in the thousands). The per-interval ratios
    ``sharpe_per_interval`` / ``sortino_per_interval`` (not annualised) are always reported
    when defined: rank short runs by those (or by ``pnl_per_1k_notional``).
Value at Risk (the one definition)
    ``VaR_α`` over horizon ``h`` is the **loss quantile of the PnL increments over ``h``**,
    reported as a positive number for a loss: ``VaR_α = −Q_{1−α}(ΔE)``, with ``Q`` the
    empirical quantile with linear interpolation (Hyndman & Fan type 7, numpy's default).
    The trial metrics ``var_95_hist`` / ``var_99_hist`` use ``h = Δ`` (the metric interval);
    the risk monitor (:class:`strategies.risk.VaRMonitor`) uses ``h`` = its check period over
    a rolling window; both call :func:`value_at_risk`.
Undefined values
    Every statistic that divides by zero or needs more data than it has is NaN (stored as
    ``NULL`` in DuckDB), never ±inf.

References
----------
.. [1] W. F. Sharpe, "The Sharpe Ratio", J. Portfolio Management 21(1), 1994.
.. [2] F. A. Sortino and L. N. Price, "Performance Measurement in a Downside Risk
   Framework", J. Investing 3(3), 1994.
.. [3] T. W. Young, "Calmar Ratio: A Smoother Tool", Futures 20(1), 1991.
.. [4] P. Jorion, *Value at Risk*, 3rd ed., McGraw-Hill, 2007, ch. 5 (historical and
   delta-normal VaR); J.P. Morgan/Reuters, *RiskMetrics Technical Document*, 4th ed., 1996.
.. [5] Á. Cartea, S. Jaimungal, J. Penalva, *Algorithmic and High-Frequency Trading*,
   CUP 2015, §4.2 and §10 (markouts / adverse selection, inventory).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from components._performance_nb import markout_moves_nb

if TYPE_CHECKING:
    from components.account import Account
    from components.metrics import PnLRecorder
    from strategies.hedger import Hedger

__all__ = [
    "SECONDS_PER_YEAR",
    "ANNUALISE_MIN_SPAN_S",
    "ANNUALISE_MIN_INCREMENTS",
    "DEFAULT_SAMPLE_NS",
    "WATERFALL_STEPS",
    "annualise_min_samples",
    "waterfall",
    "COST_KEYS",
    "periods_per_year",
    "pnl_series",
    "pnl_increments",
    "sharpe_ratio",
    "downside_deviation",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "value_at_risk",
    "markouts",
    "inventory_stats",
    "fill_ratio",
    "cost_breakdown",
    "identity_residual",
    "check_identity",
    "trial_performance",
]

SECONDS_PER_YEAR = 365 * 86_400
"""Seconds in the 365-day crypto year used for annualisation."""

ANNUALISE_MIN_SPAN_S = 86_400
"""Shortest run (seconds of metric-interval samples) whose ratios are annualised: one day."""

ANNUALISE_MIN_INCREMENTS = 30
"""Fewest metric-interval increments whose ratios are annualised."""

DEFAULT_SAMPLE_NS = 1_000_000_000
"""Default clock of :func:`pnl_series`: 1 s."""

COST_KEYS = (
    "gross_spread_capture",
    "inventory_pnl",
    "fees",
    "rebates",
    "hedge_slippage",
    "hedge_pool_fee",
    "bribes",
    "gas",
    "funding",
    "net_pnl",
)
"""Keys of :func:`cost_breakdown`, in the order of the identity."""

WATERFALL_STEPS = (
    ("gross_spread_capture", "spread capture", +1.0),
    ("inventory_pnl", "inventory (held to the final mid)", +1.0),
    ("fees", "fees paid", -1.0),
    ("rebates", "maker rebates", +1.0),
    ("hedge_pool_fee", "pool fees", -1.0),
    ("hedge_slippage", "slippage", -1.0),
    ("bribes", "bribes", -1.0),
    ("gas", "gas", -1.0),
    ("funding", "funding paid", -1.0),
)
"""Steps of the PnL waterfall (:func:`waterfall`): cost key, label, sign of its contribution.
Spread capture → fees → slippage → bribes → funding → net PnL; the signed steps add up to
``net_pnl`` (the identity of :func:`cost_breakdown`)."""

_SERIES_DTYPE = np.dtype(
    [("ts_ns", np.int64), ("equity", np.float64), ("q", np.float64), ("mid", np.float64)]
)


def periods_per_year(sample_ns: int | float) -> float:
    """Number of sampling periods in a 365-day year.

    Parameters
    ----------
    sample_ns : int or float
        Sampling period, ns (``> 0``).

    Returns
    -------
    float
        ``365 · 86400 · 1e9 / sample_ns`` (31,536,000 for 1 s).

    Examples
    --------
    >>> periods_per_year(1_000_000_000)
    31536000.0
    """
    if not sample_ns > 0:
        raise ValueError(f"sample_ns must be > 0, got {sample_ns!r}")
    return SECONDS_PER_YEAR * 1e9 / float(sample_ns)


def annualise_min_samples(sample_ns: int) -> int:
    """Fewest increments on a ``sample_ns`` clock whose ratios are annualised.

    ``max(ANNUALISE_MIN_INCREMENTS, ⌈ANNUALISE_MIN_SPAN_S · 1e9 / sample_ns⌉)``: at least 30
    increments and at least one day of data (86,400 at 1 s, 1,440 at 1 min, 30 at 1 h).

    Parameters
    ----------
    sample_ns : int
        Sampling period, ns (``> 0``).

    Returns
    -------
    int

    Examples
    --------
    >>> annualise_min_samples(1_000_000_000), annualise_min_samples(3_600_000_000_000)
    (86400, 30)
    """
    sample_ns = int(sample_ns)
    if sample_ns <= 0:
        raise ValueError(f"sample_ns must be > 0, got {sample_ns!r}")
    return max(ANNUALISE_MIN_INCREMENTS, -(-ANNUALISE_MIN_SPAN_S * 1_000_000_000 // sample_ns))


def pnl_series(equity_curve: npt.NDArray[np.void], sample_ns: int = DEFAULT_SAMPLE_NS) -> npt.NDArray[np.void]:
    """Resample an equity curve on a fixed clock (last value at or before each tick).

    Parameters
    ----------
    equity_curve : ndarray of components.metrics.EQUITY_DTYPE
        Rows ``(ts_ns, equity, q, mid)`` in time order (e.g. :meth:`PnLRecorder.equity_curve`,
        sampled every 100 ms and after every fill).
    sample_ns : int, default 1_000_000_000
        Clock period, ns (1 s by default).

    Returns
    -------
    ndarray with fields ``ts_ns``, ``equity``, ``q``, ``mid``
        One row per tick ``t_k = ⌈t_0 / sample_ns⌉·sample_ns + k·sample_ns`` (``t_0`` = the
        first row's time: ticks are whole multiples of the clock, shared by every curve; while
        ``t_k ≤`` the last row's time); each field is the value of the **last** curve row
        with ``ts_ns ≤ t_k`` (so several rows at the same time resolve to the one after the
        fills). Empty for an empty curve or one shorter than a clock period.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([(0, 0.0, 0.0, 10.0), (1_500, 2.0, 1.0, 11.0), (2_000, 3.0, 1.0, 12.0)],
    ...              dtype=[("ts_ns", "i8"), ("equity", "f8"), ("q", "f8"), ("mid", "f8")])
    >>> pnl_series(c, 1_000)["equity"].tolist()
    [0.0, 0.0, 3.0]
    """
    sample_ns = int(sample_ns)
    if sample_ns <= 0:
        raise ValueError(f"sample_ns must be > 0, got {sample_ns!r}")
    curve = np.asarray(equity_curve)
    out = np.empty(0 if curve.size == 0 else 1, dtype=_SERIES_DTYPE)
    if curve.size == 0:
        return out
    ts = curve["ts_ns"].astype(np.int64)
    first = -(-int(ts[0]) // sample_ns) * sample_ns  # the first whole multiple of the clock
    if first > ts[-1]:
        return np.empty(0, dtype=_SERIES_DTYPE)
    n = int((ts[-1] - first) // sample_ns) + 1
    ticks = first + np.arange(n, dtype=np.int64) * sample_ns
    idx = np.searchsorted(ts, ticks, side="right") - 1
    out = np.empty(n, dtype=_SERIES_DTYPE)
    out["ts_ns"] = ticks
    for f in ("equity", "q", "mid"):
        out[f] = curve[f][idx]
    return out


def pnl_increments(series: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """PnL increments ``E_k − E_{k−1}`` of a resampled series, quote units per period.

    Parameters
    ----------
    series : ndarray
        Output of :func:`pnl_series` (or any array with an ``equity`` field, or a plain 1-D
        float array of equity values).

    Returns
    -------
    ndarray of float64
        Length ``len(series) − 1`` (empty for fewer than two rows).
    """
    arr = np.asarray(series)
    eq = arr["equity"] if arr.dtype.names else arr
    return np.diff(np.asarray(eq, dtype=np.float64))


def sharpe_ratio(returns: npt.NDArray[np.float64], periods_per_year: float) -> float:
    """Annualised Sharpe ratio of per-period PnL increments (zero risk-free rate).

    Parameters
    ----------
    returns : array_like of float
        PnL increments, quote units per period (see the module Notes: increments, not
        returns on capital).
    periods_per_year : float
        Periods per 365-day year (:func:`periods_per_year`).

    Returns
    -------
    float
        ``mean(x) / std(x, ddof=1) · √periods_per_year`` [1]_; NaN for fewer than 2
        increments or a zero standard deviation.

    Examples
    --------
    >>> round(sharpe_ratio([1.0, -1.0, 2.0, 0.0], 4.0), 6)   # mean .5, sd 1.290994
    0.774597
    """
    x = np.asarray(returns, dtype=np.float64)
    if x.size < 2:
        return math.nan
    scale = float(np.max(np.abs(x)))
    if not scale > 0:
        return math.nan
    x = x / scale  # the ratio is scale-free; unit scale keeps tiny values out of underflow
    sd = float(np.std(x, ddof=1))
    # a std at rounding level relative to the values is a constant series: undefined, not huge
    if not sd > 1e-12:
        return math.nan
    return float(np.mean(x)) / sd * math.sqrt(periods_per_year)


def downside_deviation(returns: npt.NDArray[np.float64], target: float = 0.0) -> float:
    """Downside deviation below ``target``: ``√(mean(min(x − target, 0)²))`` over all periods.

    The mean runs over **all** ``n`` observations (periods above target contribute 0), as in
    Sortino & Price [2]_.

    Parameters
    ----------
    returns : array_like of float
        PnL increments, quote units per period.
    target : float, default 0.0
        Minimum acceptable increment, quote units per period.

    Returns
    -------
    float
        Quote units per period; NaN for an empty input.
    """
    x = np.asarray(returns, dtype=np.float64)
    if x.size == 0:
        return math.nan
    d = np.minimum(x - target, 0.0)
    return math.sqrt(float(np.mean(d * d)))


def sortino_ratio(returns: npt.NDArray[np.float64], periods_per_year: float, target: float = 0.0) -> float:
    """Annualised Sortino ratio of per-period PnL increments against a 0 target.

    Parameters
    ----------
    returns : array_like of float
        PnL increments, quote units per period.
    periods_per_year : float
        Periods per 365-day year.
    target : float, default 0.0
        Minimum acceptable increment (0: any loss is downside).

    Returns
    -------
    float
        ``(mean(x) − target) / downside_deviation(x, target) · √periods_per_year`` [2]_; NaN
        for fewer than 2 increments or no period below target (zero downside deviation).

    Examples
    --------
    >>> round(sortino_ratio([1.0, -1.0, 2.0, 0.0], 4.0), 6)   # .5 / √(1/4) · 2
    2.0
    """
    x = np.asarray(returns, dtype=np.float64)
    if x.size < 2:
        return math.nan
    scale = float(np.max(np.abs(x - target)))
    if not scale > 0:
        return math.nan
    dd = downside_deviation(x / scale, target / scale)  # scale-free, as for the Sharpe ratio
    if not dd > 0:
        return math.nan
    return (float(np.mean(x)) - target) / scale / dd * math.sqrt(periods_per_year)


def max_drawdown(equity: npt.NDArray[np.float64]) -> float:
    """Largest fall of an equity path below its running maximum.

    Parameters
    ----------
    equity : array_like of float
        Equity (cumulative PnL) path, quote units, in time order.

    Returns
    -------
    float
        ``max_k (max_{j≤k} E_j − E_k) ≥ 0``, quote units; 0 for an empty path.

    Examples
    --------
    >>> max_drawdown([0.0, 3.0, 1.0, 4.0, 0.5, 2.0])
    3.5
    """
    e = np.asarray(equity, dtype=np.float64)
    if e.size == 0:
        return 0.0
    return float(np.max(np.maximum.accumulate(e) - e))


def calmar_ratio(returns: npt.NDArray[np.float64], periods_per_year: float, max_dd: float | None = None) -> float:
    """Calmar ratio: annualised PnL over maximum drawdown.

    Parameters
    ----------
    returns : array_like of float
        PnL increments, quote units per period.
    periods_per_year : float
        Periods per 365-day year.
    max_dd : float, optional
        Maximum drawdown to divide by, quote units. Default: that of the path
        ``[0, cumsum(returns)]`` (:func:`max_drawdown`). :func:`trial_performance` passes
        the drawdown of the full-resolution equity curve (100 ms + every fill), the trial's
        ``max_drawdown`` metric, which is at least the drawdown seen at 1 s.

    Returns
    -------
    float
        ``mean(x) · periods_per_year / max_dd`` [3]_ (dimensionless); NaN for an empty
        input or a zero drawdown.

    Examples
    --------
    >>> calmar_ratio([2.0, -3.0, 1.0, 4.0], 10.0)   # mean 1 → 10/yr; drawdown 3
    3.3333333333333335
    """
    x = np.asarray(returns, dtype=np.float64)
    if x.size == 0:
        return math.nan
    if max_dd is None:
        max_dd = max_drawdown(np.concatenate([[0.0], np.cumsum(x)]))
    if not max_dd > 0:
        return math.nan
    return float(np.mean(x)) * periods_per_year / max_dd


def value_at_risk(pnl_increments: npt.NDArray[np.float64], level: float = 0.95, method: str = "historical") -> float:
    """Value at Risk of PnL increments over their horizon, reported as a positive loss.

    The one VaR of mmsim (trial metrics and :class:`strategies.risk.VaRMonitor` both call it):
    the loss not exceeded with probability ``level`` over the horizon ``h`` the increments
    span (the metric interval for the trial metrics, the check period for the monitor).

    Parameters
    ----------
    pnl_increments : array_like of float
        PnL increments ``E(t + h) − E(t)``, quote units per horizon (gains > 0).
    level : float, default 0.95
        Confidence level ``α`` in (0, 1), e.g. 0.95 or 0.99.
    method : {"historical", "parametric"}
        ``"historical"``: ``VaR = −Q(1 − α)`` with ``Q`` the empirical quantile with linear
        interpolation between order statistics (Hyndman & Fan 1996 type 7, numpy's default):
        for sorted ``x_(0) ≤ … ≤ x_(n−1)`` (0-based) and ``p = 1 − α``, ``Q(p) = x_(j) +
        g·(x_(j+1) − x_(j))`` with ``j = ⌊(n − 1)p⌋``, ``g = (n − 1)p − j``.
        ``"parametric"``: Gaussian ("delta-normal") VaR ``−(μ + z·σ)`` with ``μ`` the sample
        mean, ``σ`` the sample standard deviation (``ddof=1``) and ``z = Φ⁻¹(1 − α)``
        (−1.6449 at 95 %, −2.3263 at 99 %) [4]_.

    Returns
    -------
    float
        Quote units per horizon. **Sign: positive = a loss**; negative when even the
        ``1 − α`` quantile is a gain. NaN for an empty input (parametric: fewer than 2).

    Raises
    ------
    ValueError
        ``level`` outside (0, 1) or an unknown ``method``.

    Examples
    --------
    >>> round(value_at_risk([-3.0, -1.0, 0.0, 2.0, 5.0], 0.75), 12)   # Q(.25) = x_(1) = −1
    1.0
    >>> round(value_at_risk([-2.0, -1.0, 0.0, 1.0, 2.0], 0.95), 12)   # Q(.05) = −2 + .2·1
    1.8
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    x = np.asarray(pnl_increments, dtype=np.float64)
    if method == "historical":
        if x.size == 0:
            return math.nan
        return -float(np.quantile(x, 1.0 - level))
    if method == "parametric":
        if x.size < 2:
            return math.nan
        z = NormalDist().inv_cdf(1.0 - level)
        return -(float(np.mean(x)) + z * float(np.std(x, ddof=1)))
    raise ValueError(f"method must be 'historical' or 'parametric', got {method!r}")


def markouts(fills: npt.NDArray[np.void], mid_ts_ns: npt.NDArray[np.int64], mid: npt.NDArray[np.float64],
             horizons_s: Sequence[float] = (1, 10, 60)) -> dict[float, dict[str, float]]:  # fmt: skip
    """Mean markout of the fills at each horizon (adverse selection).

    For a fill at ``t`` of side ``s`` (+1 buy, −1 sell), price ``px`` and size ``qty``, the
    markout at horizon ``h`` is::

        bps   = s · (mid(t + h) − px) / px · 1e4
        quote = s · (mid(t + h) − px) · qty

    where ``mid(t + h)`` is the last mid at or before ``t + h``. Positive = the market moved
    our way after we traded; **negative = adverse selection** (we bought before a fall /
    sold before a rise) [5]_. A fill with ``t + h`` after the last mid sample is excluded
    (no future mid) and counted in ``n_excluded``.

    Parameters
    ----------
    fills : ndarray of components.metrics.FILL_DTYPE
        Needs ``ts_ns``, ``side``, ``px``, ``qty``.
    mid_ts_ns, mid : ndarray
        Mid path in time order, ns and quote units (e.g. the equity curve's ``ts_ns``/``mid``).
    horizons_s : sequence of float, default (1, 10, 60)
        Horizons, seconds.

    Returns
    -------
    dict of float to dict of str to float
        Per horizon: ``bps`` (mean over fills, unweighted), ``quote`` (mean per fill, quote
        units), ``total_quote`` (sum, quote units), ``n`` (fills used), ``n_excluded``.
        ``bps``/``quote`` are NaN when no fill is used.
    """
    f = np.asarray(fills)
    ts = np.asarray(mid_ts_ns, dtype=np.int64)
    m = np.asarray(mid, dtype=np.float64)
    out: dict[float, dict[str, float]] = {}
    bps = np.empty(f.size, dtype=np.float64)
    quote = np.empty(f.size, dtype=np.float64)
    for h in horizons_s:
        if f.size == 0 or ts.size == 0:
            out[h] = {"bps": math.nan, "quote": math.nan, "total_quote": 0.0, "n": 0.0,
                      "n_excluded": float(f.size)}  # fmt: skip
            continue
        n = markout_moves_nb(f["ts_ns"].astype(np.int64, copy=False), f["side"], f["px"], f["qty"], ts, m,
                             int(round(h * 1e9)), bps, quote)  # fmt: skip
        out[h] = {
            "bps": float(np.mean(bps[:n])) if n else math.nan,
            "quote": float(np.mean(quote[:n])) if n else math.nan,
            "total_quote": float(np.sum(quote[:n])),
            "n": float(n),
            "n_excluded": float(f.size - n),
        }
    return out


def inventory_stats(
    equity_curve: npt.NDArray[np.void], q_max: float, sample_ns: int = DEFAULT_SAMPLE_NS
) -> dict[str, float]:
    """Inventory statistics of a trial.

    Parameters
    ----------
    equity_curve : ndarray of components.metrics.EQUITY_DTYPE
        Needs ``ts_ns`` and ``q`` (base units), time order; ``q`` is a step function, each
        row's value held until the next row.
    q_max : float
        Inventory limit, base units (the strategy's ``max_position``).
    sample_ns : int, default 1 s
        Clock for ``mean_abs_q`` and the AR(1) fit (:func:`pnl_series`).

    Returns
    -------
    dict
        ``mean_abs_q``
            Mean of ``|q|`` over the fixed-clock samples, base units.
        ``time_weighted_abs_q``
            ``∫|q| dt / T`` over the curve's span (step function), base units; the last row
            has zero weight. Equals the last ``|q|`` for a zero span.
        ``time_at_limit``
            Fraction of time (step function, as above) with ``|q| ≥ q_max − 1e-12``, in [0, 1].
        ``q_ar1_phi``
            AR(1) coefficient ``φ`` of ``q`` on the fixed clock: the OLS slope (with an
            intercept) of ``q_k`` on ``q_{k−1}``, ``cov(q_{k−1}, q_k) / var(q_{k−1})``.
            NaN for fewer than 3 samples or a constant ``q_{k−1}``.
        ``q_half_life_s``
            Mean-reversion half-life ``−ln 2 / ln φ · Δ_s`` seconds; NaN unless ``0 < φ < 1``
            (no reversion, or an oscillating fit).
    """
    curve = np.asarray(equity_curve)
    nan = math.nan
    if curve.size == 0:
        return {"mean_abs_q": nan, "time_weighted_abs_q": nan, "time_at_limit": nan,
                "q_ar1_phi": nan, "q_half_life_s": nan}  # fmt: skip
    ts = curve["ts_ns"].astype(np.int64)
    aq = np.abs(curve["q"].astype(np.float64))
    dt = np.diff(ts).astype(np.float64)
    span = float(dt.sum())
    at_limit = aq >= q_max - 1e-12
    if span > 0:
        tw = float(np.dot(aq[:-1], dt)) / span
        frac = float(np.dot(at_limit[:-1].astype(np.float64), dt)) / span
    else:
        tw, frac = float(aq[-1]), float(at_limit[-1])
    qs = pnl_series(curve, sample_ns)["q"]
    phi = half = nan
    if qs.size >= 3:
        x, y = qs[:-1], qs[1:]
        xc = x - x.mean()
        var = float(np.dot(xc, xc))
        if var > 0:
            phi = float(np.dot(xc, y - y.mean())) / var
            if 0.0 < phi < 1.0:
                half = -math.log(2.0) / math.log(phi) * sample_ns / 1e9
    return {
        "mean_abs_q": float(np.mean(np.abs(qs))),
        "time_weighted_abs_q": tw,
        "time_at_limit": frac,
        "q_ar1_phi": phi,
        "q_half_life_s": half,
    }


def fill_ratio(n_fills: float, n_orders: float) -> float:
    """Fills per order sent: ``n_fills / n_orders`` (NaN when no order was sent).

    A partially filled order counts once per fill, so the ratio can exceed 1.
    """
    return float(n_fills) / float(n_orders) if n_orders > 0 else math.nan


def cost_breakdown(fills: npt.NDArray[np.void], final_mid: float, account: Account,
                   hedge_costs: dict[str, float] | None = None, funding: float | None = None, *,
                   hedge_trades: Sequence[tuple[int, int, float, float, float]] | None = None,
                   hedge_account: Account | None = None,
                   hedge_on_book: bool = False) -> dict[str, float]:  # fmt: skip
    """Split the net PnL into spread capture, inventory PnL and costs, adding up exactly.

    Book fills ``i`` (side ``s_i``, price ``p_i``, size ``v_i``, fee ``f_i``, mid at the fill
    ``m_i``), final mid ``M``::

        gross_spread_capture = Σ s_i (m_i − p_i) v_i      edge vs mid at each fill
        inventory_pnl        = Σ s_i v_i (M − m_i)        holding what the fills left, to M
        fees                 = Σ max(f_i, 0)             paid (≥ 0)
        rebates              = Σ max(−f_i, 0)            received, i.e. negative maker fees (≥ 0)

    The algebra: ``gross + inventory = Σ s_i v_i (M − p_i) = q·M − Σ s_i p_i v_i`` (the ``m_i``
    cancel) and ``cash = −Σ s_i p_i v_i − Σ f_i − funding`` (:class:`Account`), so::

        gross_spread_capture + inventory_pnl − fees + rebates − funding = cash + q·M = net_pnl

    **On-chain hedges** (``hedge_account`` = the hedger's ``onchain`` wallet, ``hedge_trades``
    its ``trades`` ``(ts, side, qty, px, mid)``, ``hedge_costs`` its ``costs``): the wallet
    has ``cash = −Σ s_j p_j v_j − bribe − gas`` and the hedger records
    ``slippage + pool_fee = Σ s_j (p_j − m_j) v_j`` against the same ``m_j``, so its equity
    ``cash + q_h M = −slippage − pool_fee − bribe − gas + Σ s_j v_j (M − m_j)``; the last
    term is added to ``inventory_pnl`` (the desk's inventory) and ``net_pnl`` is the desk
    PnL (book + wallet, both marked to ``M``)::

        gross_spread_capture + inventory_pnl − fees + rebates
            − hedge_slippage − hedge_pool_fee − bribes − gas − funding = net_pnl

    **Order-book hedges** (``hedge_on_book=True``): the hedger's IOC fills are book fills,
    already in ``fills``, ``fees`` and the account; its recorded ``slippage`` (vs the mid it
    saw) is moved out of ``gross_spread_capture`` into ``hedge_slippage`` (added to one,
    subtracted as the other), its taker ``fees`` stay in ``fees``.

    ``net_pnl`` is computed from the ledgers (``cash + q·M``), not from the terms, so the
    identity is a real check (:func:`check_identity`): it holds to floating-point rounding.

    Parameters
    ----------
    fills : ndarray of components.metrics.FILL_DTYPE
        Every book fill of the account (``side``, ``px``, ``qty``, ``fee``, ``mid``).
    final_mid : float
        Mark ``M``, quote units (the trial marks to the last mid of its equity curve).
    account : components.account.Account
        The book account the fills were booked in (``cash``, ``q``, ``funding_paid``).
    hedge_costs : dict of str to float, optional
        The hedger's ``costs`` (``slippage``, ``pool_fee``, ``bribe``, ``gas``, ``fees``).
    funding : float, optional
        Funding paid (quote units, negative = received). Default: ``account.funding_paid``,
        which is what ``account.cash`` contains (passing another value breaks the identity
        by the difference).
    hedge_trades : sequence of tuple, optional
        On-chain hedges ``(ts_ns, side, qty, px, mid)``.
    hedge_account : components.account.Account, optional
        The on-chain wallet (its PnL joins ``net_pnl``).
    hedge_on_book : bool, default False
        Whether ``hedge_costs`` come from a ``venue = "book"`` hedger.

    Returns
    -------
    dict of str to float
        :data:`COST_KEYS`, quote units (coin for an inverse account: ``account.contract_size``
        set, the terms use ``1/price``). Costs (``fees``, ``hedge_*``, ``bribes``, ``gas``,
        ``funding``) are positive when paid; ``rebates`` positive when received.
    """
    f = np.asarray(fills)
    M = float(final_mid)
    c = getattr(account, "contract_size", None)
    if f.size:
        s = f["side"].astype(np.float64)
        v = f["qty"]
        m = f["mid"]
        if c is None:
            gross = float(np.sum(s * (m - f["px"]) * v))
            inv = float(np.sum(s * v * (M - m)))
        else:  # inverse (coin): the same terms in x = 1/price, side −s, size v·C (Account Notes)
            gross = float(np.sum(-s * (1.0 / m - 1.0 / f["px"]) * v * c))
            inv = float(np.sum(-s * v * c * (1.0 / M - 1.0 / m)))
        fees = float(np.sum(np.maximum(f["fee"], 0.0)))
        rebates = float(np.sum(np.maximum(-f["fee"], 0.0)))
    else:
        gross = inv = fees = rebates = 0.0
    funding = float(account.funding_paid) if funding is None else float(funding)
    net = float(account.equity(M)) if c is not None else float(account.cash + account.q * M)
    hc = hedge_costs or {}
    slip = float(hc.get("slippage", 0.0))
    pool_fee = bribes = gas = 0.0
    if hedge_on_book:
        gross += slip
    elif hedge_costs is not None or hedge_account is not None or hedge_trades:
        pool_fee = float(hc.get("pool_fee", 0.0))
        bribes = float(hc.get("bribe", 0.0))
        gas = float(hc.get("gas", 0.0))
        if hedge_trades:
            t = np.asarray([(tr[1], tr[2], tr[4]) for tr in hedge_trades], dtype=np.float64)
            inv += float(np.sum(t[:, 0] * t[:, 1] * (M - t[:, 2])))
        if hedge_account is not None:
            net += float(hedge_account.cash + hedge_account.q * M)
    return {
        "gross_spread_capture": gross,
        "inventory_pnl": inv,
        "fees": fees,
        "rebates": rebates,
        "hedge_slippage": slip,
        "hedge_pool_fee": pool_fee,
        "bribes": bribes,
        "gas": gas,
        "funding": funding,
        "net_pnl": net,
    }


def waterfall(breakdown: dict[str, float]) -> list[tuple[str, str, float]]:
    """The signed steps of a cost breakdown from spread capture to net PnL.

    Parameters
    ----------
    breakdown : dict of str to float
        A :func:`cost_breakdown` (keys of :data:`COST_KEYS`, costs positive when paid); the
        ``cost_<key>`` metrics of a trial with the prefix removed also work. Missing keys
        count as 0 (NaN too).

    Returns
    -------
    list of (key, label, value)
        One entry per :data:`WATERFALL_STEPS` item, ``value`` = its **signed** contribution to
        net PnL, quote units (fees, slippage, bribes, gas and funding paid are negative), then
        ``("net_pnl", "net PnL", net)``. ``Σ values[:-1] = net`` up to rounding
        (:func:`identity_residual`).

    Examples
    --------
    >>> w = waterfall({"gross_spread_capture": 5.0, "inventory_pnl": -1.0, "fees": 1.5,
    ...                "funding": 0.5, "net_pnl": 2.0})
    >>> [(k, v) for k, _, v in w if v]
    [('gross_spread_capture', 5.0), ('inventory_pnl', -1.0), ('fees', -1.5), ('funding', -0.5), ('net_pnl', 2.0)]
    """

    def get(k: str) -> float:
        v = breakdown.get(k, 0.0)
        v = 0.0 if v is None else float(v)
        return v if math.isfinite(v) else 0.0

    steps = [(k, label, sign * get(k) + 0.0) for k, label, sign in WATERFALL_STEPS]
    steps.append(("net_pnl", "net PnL", get("net_pnl")))
    return steps


def identity_residual(breakdown: dict[str, float]) -> float:
    """``terms − net_pnl`` of a :func:`cost_breakdown` (0 up to rounding), quote units."""
    b = breakdown
    terms = (b["gross_spread_capture"] + b["inventory_pnl"] - b["fees"] + b["rebates"] - b["hedge_slippage"]
             - b["hedge_pool_fee"] - b["bribes"] - b["gas"] - b["funding"])  # fmt: skip
    return terms - b["net_pnl"]


def check_identity(breakdown: dict[str, float], tol: float = 0.005) -> None:
    """Assert that a cost breakdown adds up to its net PnL within ``tol`` (half a cent).

    Raises
    ------
    AssertionError
        With the residual and every term, if ``|identity_residual(breakdown)| > tol``.
    """
    r = identity_residual(breakdown)
    if not abs(r) <= tol:
        terms = ", ".join(f"{k}={breakdown[k]!r}" for k in COST_KEYS)
        raise AssertionError(f"cost breakdown off by {r!r} (tol {tol}): {terms}")


def trial_performance(recorder: PnLRecorder, *, n_orders: float, q_max: float, sample_ms: float = 1000.0,
                      hedger: Hedger | None = None, final_mid: float | None = None,
                      horizons_s: Sequence[float] = (1, 10, 60)) -> dict[str, float]:  # fmt: skip
    """Every per-trial performance metric of this module, from a :class:`PnLRecorder`.

    Parameters
    ----------
    recorder : components.metrics.PnLRecorder
        After the run (its ``equity_curve()``, ``fills()`` and ``account``).
    n_orders : float
        Orders sent to the venue (``book.n_orders``), for the fill ratio.
    q_max : float
        Inventory limit, base units (the strategy's ``max_position``; NaN/inf gives
        ``time_at_limit = 0``).
    sample_ms : float, default 1000.0
        Clock of the Sharpe/Sortino/VaR/Calmar series and of the inventory AR(1) fit, ms
        (the sweep's ``[sweep] metric_interval``).
    hedger : strategies.hedger.Hedger, optional
        Its costs, trades and on-chain wallet join the cost breakdown (``cost_net_pnl`` then
        is the desk PnL).
    final_mid : float, optional
        Mark for the cost breakdown; default the last mid of the equity curve (the mark of
        the trial's ``pnl``).
    horizons_s : sequence of float, default (1, 10, 60)
        Markout horizons, seconds.

    Returns
    -------
    dict of str to float
        ``metric_interval_s`` (the clock Δ, seconds), ``n_metric_samples`` (increments on
        it), ``annualised`` (1 when ``n_metric_samples ≥ annualise_min_samples(Δ)``, else 0),
        ``sharpe_per_interval``, ``sortino_per_interval`` (not annualised), ``sharpe``,
        ``sortino``, ``calmar`` (annualised; NaN when ``annualised`` is 0), ``var_95_hist``,
        ``var_99_hist``, ``var_95_param``, ``var_99_param`` (:func:`value_at_risk` of the
        increments: positive = loss, quote units per Δ),
        ``perf_max_drawdown`` (of the full curve), ``markout_{h}s_bps``,
        ``markout_{h}s_quote`` (mean per fill), ``markout_{h}s_n_excluded``,
        ``mean_abs_q``, ``time_weighted_abs_q``, ``time_at_limit``, ``q_ar1_phi``,
        ``q_half_life_s``, ``fill_ratio``, ``n_maker_fills``, ``n_taker_fills``,
        ``maker_volume``, ``taker_volume`` (quote units, ``Σ px·qty``), the cost breakdown
        as ``cost_<key>`` for every key of :data:`COST_KEYS`, and ``cost_residual``
        (:func:`identity_residual`).
    """
    sample_ns = int(round(sample_ms * 1e6))
    ppy = periods_per_year(sample_ns)
    curve = recorder.equity_curve()
    fills = recorder.fills()
    series = pnl_series(curve, sample_ns)
    x = pnl_increments(series)
    mdd = max_drawdown(curve["equity"]) if curve.size else math.nan
    annualised = x.size >= annualise_min_samples(sample_ns)
    nan = math.nan
    out: dict[str, float] = {
        "metric_interval_s": sample_ns / 1e9,
        "n_metric_samples": float(x.size),
        "annualised": float(annualised),
        "sharpe_per_interval": sharpe_ratio(x, 1.0),
        "sortino_per_interval": sortino_ratio(x, 1.0),
        "sharpe": sharpe_ratio(x, ppy) if annualised else nan,
        "sortino": sortino_ratio(x, ppy) if annualised else nan,
        "calmar": calmar_ratio(x, ppy, max_dd=mdd) if annualised else nan,
        "var_95_hist": value_at_risk(x, 0.95, "historical"),
        "var_99_hist": value_at_risk(x, 0.99, "historical"),
        "var_95_param": value_at_risk(x, 0.95, "parametric"),
        "var_99_param": value_at_risk(x, 0.99, "parametric"),
    }
    mk = markouts(fills, curve["ts_ns"], curve["mid"], horizons_s)
    for h, r in mk.items():
        name = f"{h:g}s"
        out[f"markout_{name}_bps"] = r["bps"]
        out[f"markout_{name}_quote"] = r["quote"]
        out[f"markout_{name}_n_excluded"] = r["n_excluded"]
    out.update(inventory_stats(curve, q_max, sample_ns))
    maker = fills["is_maker"] if fills.size else np.zeros(0, dtype=bool)
    acct = recorder.account
    out.update(
        fill_ratio=fill_ratio(fills.size, n_orders),
        n_maker_fills=float(np.count_nonzero(maker)),
        n_taker_fills=float(np.count_nonzero(~maker)),
        maker_volume=float(acct.maker_volume),
        taker_volume=float(acct.taker_volume),
    )
    if final_mid is None:
        final_mid = float(curve["mid"][-1]) if curve.size else math.nan
    if hedger is not None:
        on_book = hedger.config.venue == "book"
        cb = cost_breakdown(fills, final_mid, recorder.account, hedger.costs, hedge_on_book=on_book,
                            hedge_trades=None if on_book else hedger.trades,
                            hedge_account=None if on_book else hedger.onchain)  # fmt: skip
    elif curve.size:
        cb = cost_breakdown(fills, final_mid, recorder.account)
    else:
        cb = dict.fromkeys(COST_KEYS, 0.0)
    out.update({f"cost_{k}": v for k, v in cb.items()})
    out["cost_residual"] = identity_residual(cb)
    return {k: float(v) for k, v in out.items()}
