"""Overfitting checks across a sweep: deflated Sharpe ratio, PBO by CSCV, Benjamini–Hochberg.

A sweep that tries many parameter points and keeps the best one reports a selection-biased
winner. This module quantifies how much of that winner is luck:

- :func:`probabilistic_sharpe_ratio` (PSR): the probability that the true Sharpe ratio exceeds
  a benchmark, given the sample length and the skewness and kurtosis of the returns
  (Bailey & López de Prado 2012).
- :func:`expected_max_sharpe`: the expected maximum of N Sharpe ratios whose true value is
  zero (the "False Strategy" benchmark of Bailey & López de Prado 2014).
- :func:`deflated_sharpe_ratio` / :func:`deflated_sharpe_ratio_from_stats` (DSR): the PSR of
  the best trial against that benchmark (Bailey & López de Prado 2014).
- :func:`pbo_cscv`: the probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado & Zhu 2017).
- :func:`sharpe_p_values` and :func:`benjamini_hochberg`: one-sided p-values of each trial's
  Sharpe ratio and their false-discovery-rate adjustment (Benjamini & Hochberg 1995), through
  :func:`statsmodels.stats.multitest.multipletests`.
- :func:`sweep_overfitting_report`: all of the above for a ``{trial_id: pnl_series}`` mapping,
  with a one-sentence interpretation for the report.

Conventions
-----------
Every Sharpe ratio here is **per observation, not annualised**: ``mean / std`` (``ddof=1``) of
the per-period PnL or returns on the fixed sampling clock. ``n_obs`` is the number of those
periods. ``kurtosis`` is the **full (non-excess) kurtosis**, 3 for a normal distribution (pass
``scipy.stats.kurtosis(x, fisher=False)``); a value below ``1 + skew**2`` is impossible for a
full kurtosis and is rejected as a probable excess kurtosis. All functions are pure; invalid
input raises :class:`ValueError`.

References
----------
.. [BLdP12] D. H. Bailey, M. López de Prado (2012), "The Sharpe ratio efficient frontier",
   Journal of Risk 15(2), 3–44, §3 "Probabilistic Sharpe ratio".
.. [BLdP14] D. H. Bailey, M. López de Prado (2014), "The deflated Sharpe ratio: correcting for
   selection bias, backtest overfitting and non-normality", Journal of Portfolio Management
   40(5), 94–107.
.. [BBLZ17] D. H. Bailey, J. M. Borwein, M. López de Prado, Q. J. Zhu (2017), "The probability
   of backtest overfitting", Journal of Computational Finance 20(4), 39–69 (SSRN 2326253,
   2015).
.. [BH95] Y. Benjamini, Y. Hochberg (1995), "Controlling the false discovery rate: a practical
   and powerful approach to multiple testing", J. R. Statist. Soc. B 57(1), 289–300.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import attrs
import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = [
    "BHResult",
    "PBOResult",
    "benjamini_hochberg",
    "deflated_sharpe_ratio",
    "deflated_sharpe_ratio_from_stats",
    "expected_max_sharpe",
    "pbo_cscv",
    "probabilistic_sharpe_ratio",
    "sharpe_p_values",
    "sharpe_ratio_columns",
    "sweep_overfitting_report",
]

#: Euler–Mascheroni constant γ.
EULER_GAMMA = float(np.euler_gamma)


# ---------------------------------------------------------------------------------------------
# PSR / expected maximum / DSR
# ---------------------------------------------------------------------------------------------


def _check_moments(skew, kurtosis) -> None:
    skew = np.asarray(skew, dtype=float)
    kurtosis = np.asarray(kurtosis, dtype=float)
    if not (np.all(np.isfinite(skew)) and np.all(np.isfinite(kurtosis))):
        raise ValueError(f"skew and kurtosis must be finite (got {skew=}, {kurtosis=})")
    if np.any(kurtosis < 1.0 + skew**2 - 1e-12):
        raise ValueError(
            f"kurtosis must be the full (non-excess) kurtosis, >= 1 + skew**2 "
            f"(got {kurtosis=}, {skew=}); pass scipy.stats.kurtosis(x, fisher=False), 3 for a normal"
        )


def _as_result(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


def probabilistic_sharpe_ratio(sr, sr_benchmark, n_obs, skew=0.0, kurtosis=3.0) -> float | np.ndarray:
    """Probabilistic Sharpe ratio: P(true SR > ``sr_benchmark``) given the observed ``sr``.

    .. math::

        \\mathrm{PSR}(SR^*) = \\Phi\\left(\\frac{(\\widehat{SR} - SR^*)\\sqrt{n - 1}}
        {\\sqrt{1 - \\gamma_3 \\widehat{SR} + \\frac{\\gamma_4 - 1}{4}\\widehat{SR}^2}}\\right)

    The denominator is the asymptotic standard deviation of the Sharpe-ratio estimator for
    non-normal i.i.d. returns (Mertens 2002), evaluated at the observed ``sr``.

    Parameters
    ----------
    sr : float or array_like
        Observed Sharpe ratio, **per observation** (not annualised): mean / std of the
        per-period returns or PnL.
    sr_benchmark : float or array_like
        Benchmark Sharpe ratio SR*, same units as ``sr``.
    n_obs : int or array_like
        Number of observations (periods) behind ``sr``; at least 2.
    skew : float or array_like, default 0
        Skewness γ₃ of the per-period returns.
    kurtosis : float or array_like, default 3
        **Full (non-excess)** kurtosis γ₄ of the per-period returns, 3 for a normal
        distribution. Must be ``>= 1 + skew**2``.

    Returns
    -------
    float or numpy.ndarray
        Probability in [0, 1]; an array when any input is an array (inputs broadcast).

    Raises
    ------
    ValueError
        Non-finite inputs, ``n_obs < 2``, a kurtosis below ``1 + skew**2`` (probably an
        excess kurtosis), or a non-positive variance term ``1 - γ₃ SR + (γ₄ - 1)/4 SR²``.

    References
    ----------
    Bailey & López de Prado (2012), "The Sharpe ratio efficient frontier", J. Risk 15(2),
    §3 (PSR definition). Restated as the building block of the DSR in Bailey & López de Prado
    (2014), J. Portfolio Management 40(5).

    Examples
    --------
    >>> round(probabilistic_sharpe_ratio(0.0, 0.0, 100), 6)
    0.5
    """
    sr = np.asarray(sr, dtype=float)
    sr_benchmark = np.asarray(sr_benchmark, dtype=float)
    n_obs = np.asarray(n_obs, dtype=float)
    if not (np.all(np.isfinite(sr)) and np.all(np.isfinite(sr_benchmark))):
        raise ValueError(f"sr and sr_benchmark must be finite (got {sr=}, {sr_benchmark=})")
    if not np.all(n_obs >= 2):
        raise ValueError(f"probabilistic_sharpe_ratio needs n_obs >= 2 (got {n_obs=})")
    _check_moments(skew, kurtosis)
    skew = np.asarray(skew, dtype=float)
    kurtosis = np.asarray(kurtosis, dtype=float)
    var_term = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    if np.any(var_term <= 0):
        raise ValueError(
            f"the Sharpe-ratio variance term 1 - skew*sr + (kurtosis-1)/4*sr^2 is not positive "
            f"(got {var_term}); check that sr is per observation, not annualised"
        )
    z = (sr - sr_benchmark) * np.sqrt(n_obs - 1.0) / np.sqrt(var_term)
    return _as_result(stats.norm.cdf(z))


def expected_max_sharpe(n_trials, var_sr, mean_sr=0.0) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratios drawn under the null (the DSR benchmark SR₀).

    .. math::

        E[\\max_n \\widehat{SR}_n] \\approx E[\\widehat{SR}_n] + \\sqrt{V[\\widehat{SR}_n]}
        \\left((1-\\gamma)\\,\\Phi^{-1}\\left(1 - \\tfrac{1}{N}\\right)
        + \\gamma\\,\\Phi^{-1}\\left(1 - \\tfrac{1}{N e}\\right)\\right)

    with γ the Euler–Mascheroni constant. This is the extreme-value (Gumbel) approximation of
    the expected maximum of N i.i.d. normal draws; it is accurate to about 1 % for N ≥ 10 and
    becomes loose for very small N.

    Parameters
    ----------
    n_trials : float
        Number of independent trials N (may be an effective, non-integer count); must be > 1.
    var_sr : float
        Variance across trials of the per-observation Sharpe ratios, V[SR_n]; >= 0.
    mean_sr : float, default 0
        Mean Sharpe ratio under the null; the DSR uses 0.

    Returns
    -------
    float
        Expected maximum Sharpe ratio, per observation (same units as ``sqrt(var_sr)``).

    Raises
    ------
    ValueError
        ``n_trials <= 1`` (the maximum of one trial has no selection bias; Φ⁻¹(0) = −∞),
        negative or non-finite ``var_sr``.

    References
    ----------
    Bailey & López de Prado (2014), "The deflated Sharpe ratio", J. Portfolio Management 40(5),
    the SR₀ of the DSR (expected maximum under the "False Strategy" null, derived in their
    appendix); first in Bailey, Borwein, López de Prado & Zhu (2014), "Pseudo-mathematics and
    financial charlatanism", Notices of the AMS 61(5), Proposition 1.

    Examples
    --------
    >>> round(expected_max_sharpe(100, 1.0), 4)
    2.5306
    """
    if not (math.isfinite(n_trials) and n_trials > 1):
        raise ValueError(f"expected_max_sharpe needs n_trials > 1 (got {n_trials=})")
    if not (math.isfinite(var_sr) and var_sr >= 0):
        raise ValueError(f"expected_max_sharpe needs a finite var_sr >= 0 (got {var_sr=})")
    z = (1.0 - EULER_GAMMA) * stats.norm.ppf(1.0 - 1.0 / n_trials) + EULER_GAMMA * stats.norm.ppf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return float(mean_sr + math.sqrt(var_sr) * z)


def deflated_sharpe_ratio_from_stats(sr_best, n_trials, var_sr, n_obs, skew=0.0, kurtosis=3.0) -> float:
    """Deflated Sharpe ratio from the number of trials and the variance of their Sharpe ratios.

    ``DSR = PSR(SR₀)`` with ``SR₀ = expected_max_sharpe(n_trials, var_sr)``: the probability
    that the best trial's true Sharpe ratio beats the best that ``n_trials`` zero-skill trials
    would show by luck.

    Parameters
    ----------
    sr_best : float
        Observed per-observation Sharpe ratio of the selected (best) trial.
    n_trials : float
        Number of (effectively independent) trials tried; > 1.
    var_sr : float
        Variance across trials of their per-observation Sharpe ratios.
    n_obs : int
        Number of observations behind ``sr_best``; >= 2.
    skew : float, default 0
        Skewness of the selected trial's per-period returns.
    kurtosis : float, default 3
        Full (non-excess) kurtosis of the selected trial's per-period returns.

    Returns
    -------
    float
        DSR, a probability in [0, 1]; >= 0.95 means significant at 95 % after the selection.

    Raises
    ------
    ValueError
        As :func:`expected_max_sharpe` and :func:`probabilistic_sharpe_ratio`.

    References
    ----------
    Bailey & López de Prado (2014), "The deflated Sharpe ratio", J. Portfolio Management 40(5),
    94–107: DSR = PSR(SR₀) and its numerical example (N = 100, T = 1250, γ₃ = −3, γ₄ = 10).
    """
    sr0 = expected_max_sharpe(n_trials, var_sr)
    return float(probabilistic_sharpe_ratio(sr_best, sr0, n_obs, skew, kurtosis))


def deflated_sharpe_ratio(sr_best, sr_trials, n_obs, skew=0.0, kurtosis=3.0) -> float:
    """Deflated Sharpe ratio of the best trial, given the Sharpe ratios of all trials.

    ``N = len(sr_trials)`` and ``V = var(sr_trials, ddof=1)``; then
    :func:`deflated_sharpe_ratio_from_stats`. Counting correlated trials as independent
    overstates N (a conservative DSR); pass an effective N to
    :func:`deflated_sharpe_ratio_from_stats` where one is known.

    Parameters
    ----------
    sr_best : float
        Observed per-observation Sharpe ratio of the selected trial (normally ``max(sr_trials)``).
    sr_trials : array_like, shape (N,)
        Per-observation Sharpe ratios of **all** trials tried, the selected one included; N >= 2.
    n_obs : int
        Number of observations behind ``sr_best``; >= 2.
    skew : float, default 0
        Skewness of the selected trial's per-period returns.
    kurtosis : float, default 3
        Full (non-excess) kurtosis of the selected trial's per-period returns.

    Returns
    -------
    float
        DSR, a probability in [0, 1].

    Raises
    ------
    ValueError
        Fewer than 2 trials, non-finite trial Sharpe ratios, or as
        :func:`deflated_sharpe_ratio_from_stats`.

    References
    ----------
    Bailey & López de Prado (2014), "The deflated Sharpe ratio", J. Portfolio Management 40(5),
    94–107.
    """
    sr_trials = np.asarray(sr_trials, dtype=float).ravel()
    if sr_trials.size < 2:
        raise ValueError(f"deflated_sharpe_ratio needs the Sharpe ratios of >= 2 trials (got {sr_trials.size})")
    if not np.all(np.isfinite(sr_trials)):
        raise ValueError("deflated_sharpe_ratio: sr_trials contains non-finite values")
    var_sr = float(np.var(sr_trials, ddof=1))
    return deflated_sharpe_ratio_from_stats(sr_best, sr_trials.size, var_sr, n_obs, skew, kurtosis)


# ---------------------------------------------------------------------------------------------
# Sharpe ratios of columns, p-values, Benjamini–Hochberg
# ---------------------------------------------------------------------------------------------


def sharpe_ratio_columns(x) -> np.ndarray:
    """Per-observation Sharpe ratio of each column: ``mean / std`` (``ddof=1``), not annualised.

    Parameters
    ----------
    x : array_like, shape (T, N) or (T,)
        Per-period PnL or returns; rows are periods, columns are trials.

    Returns
    -------
    numpy.ndarray, shape (N,)
        Sharpe ratio of each column (shape ``(1,)`` for a 1-D input).

    Raises
    ------
    ValueError
        Fewer than 2 rows, non-finite values, or a constant column (zero standard deviation:
        the Sharpe ratio is undefined).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"sharpe_ratio_columns needs a (T, N) array with T >= 2 (got shape {x.shape})")
    if not np.all(np.isfinite(x)):
        raise ValueError("sharpe_ratio_columns: input contains non-finite values")
    sd = x.std(axis=0, ddof=1)
    const = np.flatnonzero(sd <= 1e-14 * np.maximum(np.abs(x).max(axis=0), 1e-300))
    if const.size:
        raise ValueError(f"constant series in column(s) {const.tolist()}: the Sharpe ratio is undefined (std = 0)")
    return x.mean(axis=0) / sd


def sharpe_p_values(sr, n_obs, skew=0.0, kurtosis=3.0) -> float | np.ndarray:
    """One-sided p-values of H₀: true SR <= 0 against SR > 0, via the PSR with benchmark 0.

    ``p = 1 - PSR(0)``.

    Parameters
    ----------
    sr : float or array_like
        Per-observation Sharpe ratio(s).
    n_obs : int or array_like
        Number of observations behind each ``sr``; >= 2.
    skew : float or array_like, default 0
        Skewness of the per-period returns.
    kurtosis : float or array_like, default 3
        Full (non-excess) kurtosis of the per-period returns.

    Returns
    -------
    float or numpy.ndarray
        p-value(s) in [0, 1].

    Raises
    ------
    ValueError
        As :func:`probabilistic_sharpe_ratio`.

    References
    ----------
    Bailey & López de Prado (2012), "The Sharpe ratio efficient frontier", J. Risk 15(2), §3:
    PSR(0) is the confidence that the true SR is positive.
    """
    psr = np.asarray(probabilistic_sharpe_ratio(sr, 0.0, n_obs, skew, kurtosis), dtype=float)
    return _as_result(1.0 - psr)


class BHResult(NamedTuple):
    """Benjamini–Hochberg adjusted p-values (``q_values``) and the ``reject`` mask, input order."""

    q_values: np.ndarray
    reject: np.ndarray


def benjamini_hochberg(p_values, alpha: float = 0.05) -> BHResult:
    """Benjamini–Hochberg false-discovery-rate adjustment (step-up), via statsmodels.

    The adjusted p-value of the i-th smallest of m p-values is
    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)``; hypothesis i is rejected when
    ``q_i <= alpha``, which controls the FDR at ``alpha`` for independent (or positively
    dependent) tests.

    Parameters
    ----------
    p_values : array_like, shape (m,)
        p-values in [0, 1]; m >= 1.
    alpha : float, default 0.05
        False discovery rate, in (0, 1).

    Returns
    -------
    BHResult
        ``(q_values, reject)``: float array of adjusted p-values and boolean mask, both in the
        input order.

    Raises
    ------
    ValueError
        Empty input, p-values outside [0, 1] or NaN, or ``alpha`` outside (0, 1).

    References
    ----------
    Benjamini & Hochberg (1995), J. R. Statist. Soc. B 57(1), 289–300, §3 (the step-up
    procedure). Implementation: ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    if p.size == 0:
        raise ValueError("benjamini_hochberg needs at least one p-value")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"p-values must lie in [0, 1] (got {p})")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1) (got {alpha=})")
    reject, q, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
    return BHResult(q_values=np.asarray(q, dtype=float), reject=np.asarray(reject, dtype=bool))


# ---------------------------------------------------------------------------------------------
# PBO by CSCV
# ---------------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class PBOResult:
    """Result of :func:`pbo_cscv`, one entry per CSCV combination where arrays are concerned.

    Attributes
    ----------
    pbo : float
        Probability of backtest overfitting: the fraction of combinations whose logit λ <= 0
        (the in-sample winner ranks at or below the out-of-sample median).
    logits : numpy.ndarray, shape (C,)
        λ_c = ln(ω_c / (1 − ω_c)) with ω_c = rank / (N + 1) the relative out-of-sample rank
        (1 = worst, average ranks on ties) of the in-sample best trial.
    best_is_trial : numpy.ndarray of int, shape (C,)
        Column index of the in-sample best trial in each combination.
    is_performance : numpy.ndarray, shape (C,)
        In-sample metric of that trial.
    oos_performance : numpy.ndarray, shape (C,)
        Its out-of-sample metric.
    degradation_slope, degradation_intercept : float
        Least-squares fit ``oos = intercept + slope * is`` over the combinations
        (performance degradation); NaN when the in-sample values do not vary.
    prob_oos_loss : float
        Fraction of combinations where the in-sample winner's out-of-sample metric is < 0.
    n_splits : int
        Number of blocks S.
    n_combinations : int
        Number of combinations C = binom(S, S/2).
    rows_used : int
        Rows of ``performance`` used (the first ``T mod S`` rows are dropped).
    """

    pbo: float
    logits: np.ndarray
    best_is_trial: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    degradation_slope: float
    degradation_intercept: float
    prob_oos_loss: float
    n_splits: int
    n_combinations: int
    rows_used: int


def _block_sharpe_fast(blocks: np.ndarray, combos: np.ndarray, block_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Sharpe ratios of the IS and OOS halves of every combination from per-block moments.

    ``blocks`` has shape (S, L, N), already centred per column; ``combos`` is a (C, S) 0/1
    matrix of the in-sample blocks.
    """
    s1 = blocks.sum(axis=1)  # (S, N)
    s2 = (blocks**2).sum(axis=1)  # (S, N)
    half = combos.sum(axis=1)[0] * block_len
    out = []
    for mask in (combos, 1.0 - combos):
        sum1 = mask @ s1
        sum2 = mask @ s2
        mean = sum1 / half
        var = (sum2 - sum1 * mean) / (half - 1)
        out.append((mean, var))
    return out[0], out[1]


def pbo_cscv(
    performance,
    n_splits: int = 16,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    zero_if_flat: bool = False,
) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    Procedure ([BBLZ17] §2, CSCV steps 1–5 and the PBO definition):

    1. Drop the first ``T mod S`` rows and split the rows of the T×N matrix into S contiguous
       blocks of equal length.
    2. For each of the C = binom(S, S/2) ways of choosing S/2 blocks: the chosen blocks (in
       time order) form the in-sample (IS) matrix, the others the out-of-sample (OOS) matrix.
    3. Evaluate ``metric`` on each column of both; take the IS-best trial n* (the first on ties).
    4. ω = rank of n*'s OOS metric among all N OOS metrics (1 = worst, average ranks on ties)
       divided by N + 1; λ = ln(ω / (1 − ω)).
    5. PBO = fraction of combinations with λ <= 0.

    Also the performance degradation (least-squares slope of the IS winner's OOS metric on its
    IS metric) and the probability of an OOS loss (its OOS metric < 0).

    Parameters
    ----------
    performance : array_like, shape (T, N)
        Per-period performance (e.g. PnL on a fixed clock) of N trials over T periods, aligned
        in time. N >= 2.
    n_splits : int, default 16
        Number of blocks S: even, >= 2. C(16, 8) = 12,870 combinations.
    metric : callable, optional
        ``metric(x)`` with ``x`` of shape (rows, N) returns the N per-column performance values
        (higher is better). Default: :func:`sharpe_ratio_columns` (per-observation Sharpe ratio,
        computed for all combinations at once from per-block moments).
    zero_if_flat : bool, default False
        Default metric only: a trial whose PnL is exactly 0 over a whole half (it did not
        trade or hold inventory then) scores a Sharpe ratio of 0 in that half, instead of
        raising. A half that is constant but not 0 still raises.

    Returns
    -------
    PBOResult

    Raises
    ------
    ValueError
        Not a 2-D array, N < 2, non-finite values, ``n_splits`` odd or < 2, fewer than one row
        per block or fewer than 2 rows per half, a constant column in some half (default
        metric), or a metric returning the wrong shape or non-finite values.

    References
    ----------
    Bailey, Borwein, López de Prado & Zhu (2017), "The probability of backtest overfitting",
    J. Computational Finance 20(4), §2 (CSCV algorithm, logits λ_c, PBO = ∫_{−∞}^0 f(λ) dλ)
    and its performance-degradation and probability-of-loss statistics.
    """
    x = np.asarray(performance, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"pbo_cscv needs a (T, N) matrix (got shape {x.shape})")
    t, n = x.shape
    if n < 2:
        raise ValueError(f"pbo_cscv needs at least 2 trials (columns), got N = {n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("pbo_cscv: performance contains non-finite values")
    if not (isinstance(n_splits, int | np.integer) and n_splits >= 2 and n_splits % 2 == 0):
        raise ValueError(f"n_splits must be an even integer >= 2 (got {n_splits=})")
    block_len = t // n_splits
    if block_len < 1 or block_len * n_splits // 2 < 2:
        raise ValueError(
            f"pbo_cscv needs at least one row per block and 2 rows per half (T = {t}, n_splits = {n_splits})"
        )
    rows_used = block_len * n_splits
    x = x[t - rows_used :]
    blocks = x.reshape(n_splits, block_len, n)
    combos_idx = list(itertools.combinations(range(n_splits), n_splits // 2))
    c = len(combos_idx)
    combos = np.zeros((c, n_splits))
    for i, chosen in enumerate(combos_idx):
        combos[i, list(chosen)] = 1.0

    if metric is None:
        shift = x.mean(axis=0)
        scale = np.maximum(np.abs(x - shift).max(axis=0), 1e-300)
        (m_is, v_is), (m_oos, v_oos) = _block_sharpe_fast((blocks - shift) / scale, combos, block_len)
        # Moments from block sums lose precision when a half's variance is tiny relative to the
        # column's range; recompute those halves directly (and reject exactly constant ones).
        for (mean_h, var_h), is_half in (((m_is, v_is), True), ((m_oos, v_oos), False)):
            for ci, col in np.argwhere(var_h <= 1e-8):
                mask = combos[ci].astype(bool) if is_half else ~combos[ci].astype(bool)
                vals = ((blocks[mask, :, col] - shift[col]) / scale[col]).ravel()
                if np.ptp(vals) == 0 and zero_if_flat and not np.any(blocks[mask, :, col]):
                    mean_h[ci, col] = -shift[col] / scale[col]  # the Sharpe ratio below is 0
                    var_h[ci, col] = 1.0
                    continue
                if np.ptp(vals) == 0:
                    raise ValueError(
                        f"constant series: trial (column) {col} is constant over one half of CSCV "
                        f"combination {combos_idx[ci]}; the Sharpe ratio is undefined"
                    )
                mean_h[ci, col] = vals.mean()
                var_h[ci, col] = vals.var(ddof=1)
        # The shift and the scale cancel in mean / std except for the mean's shift.
        perf_is = (m_is + shift / scale) / np.sqrt(v_is)
        perf_oos = (m_oos + shift / scale) / np.sqrt(v_oos)
    else:
        perf_is = np.empty((c, n))
        perf_oos = np.empty((c, n))
        for i, chosen in enumerate(combos_idx):
            is_mask = np.zeros(n_splits, dtype=bool)
            is_mask[list(chosen)] = True
            for out, mask in ((perf_is, is_mask), (perf_oos, ~is_mask)):
                val = np.asarray(metric(blocks[mask].reshape(-1, n)), dtype=float)
                if val.shape != (n,):
                    raise ValueError(f"metric must return shape ({n},) (got {val.shape})")
                if not np.all(np.isfinite(val)):
                    raise ValueError(f"metric returned non-finite values on CSCV combination {chosen}")
                out[i] = val

    best = np.argmax(perf_is, axis=1)
    rows = np.arange(c)
    oos_ranks = stats.rankdata(perf_oos, method="average", axis=1)
    omega = oos_ranks[rows, best] / (n + 1.0)
    logits = np.log(omega / (1.0 - omega))
    is_best = perf_is[rows, best]
    oos_best = perf_oos[rows, best]
    if np.ptp(is_best) > 0:
        slope, intercept = np.polyfit(is_best, oos_best, 1)
    else:
        slope = intercept = math.nan
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        best_is_trial=best,
        is_performance=is_best,
        oos_performance=oos_best,
        degradation_slope=float(slope),
        degradation_intercept=float(intercept),
        prob_oos_loss=float(np.mean(oos_best < 0.0)),
        n_splits=int(n_splits),
        n_combinations=c,
        rows_used=rows_used,
    )


# ---------------------------------------------------------------------------------------------
# Sweep report
# ---------------------------------------------------------------------------------------------


def _interpretation(n_trials: int, best: str, sr: float, dsr: float, pbo: float, confidence: float) -> str:
    significant = dsr >= confidence
    conf_pct = f"{confidence * 100:.0f} %"
    median = "the out-of-sample median"
    if pbo < 0.1:
        ranking = f"the in-sample winner rarely ranks at or below {median}"
    elif pbo < 0.35:
        ranking = f"the in-sample winner ranks at or below {median} in {pbo * 100:.0f} % of the splits"
    elif pbo < 0.65:
        ranking = f"the in-sample winner ranks at or below {median} about half the time"
    else:
        ranking = f"the in-sample winner ranks at or below {median} most of the time"
    if significant and pbo < 0.2:
        verdict = "the sweep's winner looks like a genuine edge"
    elif not significant and pbo >= 0.35:
        verdict = "the sweep's winner is probably luck"
    else:
        verdict = "the evidence is mixed, so treat the winner with caution"
    return (
        f"With {n_trials} trials, the best Sharpe ratio of {sr:.2f} per period ({best}) has a deflated "
        f"Sharpe probability of {dsr:.2f}: {'significant' if significant else 'not significant'} at "
        f"{conf_pct}; PBO {pbo:.2f} means {ranking} — {verdict}."
    )


def sweep_overfitting_report(
    pnl_by_trial: Mapping[str, Any],
    *,
    n_splits: int = 16,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Overfitting checks of a whole sweep: DSR of the best trial, PBO, BH-significant trials.

    Every trial's per-period PnL (on the same fixed clock, aligned in time, equal length) gives
    a per-observation Sharpe ratio ``mean / std`` (``ddof=1``). **Every trial counts**: a
    trial whose PnL is exactly 0 throughout (it never traded or held inventory: a flat
    equity curve) has no edge, and its Sharpe ratio is taken as 0 (not dropped, which would
    shrink N and inflate the DSR); so it is in N, in V and in the PBO (a flat CSCV half also
    scores 0). The best trial is the one with the highest Sharpe ratio (the first in mapping
    order on ties). Its DSR uses N = the number of trials and V = the sample variance of the
    trials' Sharpe ratios, with the best trial's own skewness and full kurtosis
    (``scipy.stats`` sample moments). PBO comes from :func:`pbo_cscv` on the T×N PnL matrix
    with the Sharpe ratio as metric. Each trial's one-sided p-value of SR > 0
    (:func:`sharpe_p_values`, with its own moments; 0.5 for a flat trial) is adjusted by
    :func:`benjamini_hochberg`.

    Parameters
    ----------
    pnl_by_trial : mapping of str to array_like, each shape (T,)
        Trial id → per-period PnL (or returns); at least 2 trials, all of the same length T.
    n_splits : int, default 16
        CSCV blocks S (even); T must be >= S and give >= 2 rows per half.
    alpha : float, default 0.05
        FDR level of the Benjamini–Hochberg step.
    confidence : float, default 0.95
        DSR threshold of "significant" in the interpretation.

    Returns
    -------
    dict
        ``n_trials`` (int), ``n_obs`` (int, T), ``best_trial`` (str), ``best_sharpe`` (float,
        per period), ``best_skew``, ``best_kurtosis`` (full), ``sharpe_variance`` (V across
        trials), ``expected_max_sharpe`` (SR₀), ``dsr`` (float), ``dsr_significant`` (bool),
        ``pbo`` (float), ``pbo_degradation_slope`` (float), ``pbo_prob_oos_loss`` (float),
        ``pbo_n_combinations`` (int), ``n_flat`` (int) and ``flat_trials`` (list: trials
        whose PnL is 0 throughout, counted with Sharpe 0), ``sharpe_by_trial`` / ``p_value_by_trial`` /
        ``q_value_by_trial`` (dicts by trial id), ``bh_significant`` (list of trial ids with
        q <= ``alpha``, in mapping order), ``alpha``, ``confidence`` and ``interpretation``
        (one plain-English sentence).

    Raises
    ------
    ValueError
        Fewer than 2 trials, series of different lengths, non-finite values, a constant series
        that is not 0 (its Sharpe ratio is undefined; the message names the trials), every
        trial flat (no PnL variation at all: nothing to select), or as :func:`pbo_cscv`.

    References
    ----------
    Bailey & López de Prado (2014), J. Portfolio Management 40(5) (DSR); Bailey, Borwein,
    López de Prado & Zhu (2017), J. Computational Finance 20(4) (PBO); Benjamini & Hochberg
    (1995), J. R. Statist. Soc. B 57(1) (FDR).
    """
    ids = [str(k) for k in pnl_by_trial]
    if len(ids) < 2:
        raise ValueError(f"sweep_overfitting_report needs at least 2 trials (got {len(ids)})")
    series = [np.asarray(v, dtype=float).ravel() for v in pnl_by_trial.values()]
    lengths = {s.size for s in series}
    if len(lengths) != 1:
        raise ValueError(f"all trials' PnL series must have the same length (got lengths {sorted(lengths)})")
    x = np.column_stack(series)
    if not np.all(np.isfinite(x)):
        bad = [ids[j] for j in np.flatnonzero(~np.isfinite(x).all(axis=0))]
        raise ValueError(f"non-finite PnL values in trials {bad}")
    t = x.shape[0]
    if t < 2:
        raise ValueError(f"need at least 2 periods per trial (got {t})")
    sd = x.std(axis=0, ddof=1)
    flat = ~np.any(x, axis=0)
    const = [ids[j] for j in np.flatnonzero((sd == 0) & ~flat)]
    if const:
        raise ValueError(f"constant non-zero PnL series (Sharpe ratio undefined) in trials {const}")
    if flat.all():
        raise ValueError(f"all {len(ids)} trials have a flat equity curve (PnL 0 in every period): "
                         "no Sharpe ratio to select on")
    live = ~flat
    sr = np.zeros(len(ids))
    sr[live] = sharpe_ratio_columns(x[:, live])
    skews = np.zeros(len(ids))
    kurts = np.full(len(ids), 3.0)
    skews[live] = stats.skew(x[:, live], axis=0)
    kurts[live] = stats.kurtosis(x[:, live], axis=0, fisher=True) + 3.0
    ib = int(np.argmax(sr))
    var_sr = float(np.var(sr, ddof=1))
    sr0 = expected_max_sharpe(len(ids), var_sr)
    dsr = deflated_sharpe_ratio_from_stats(sr[ib], len(ids), var_sr, t, skews[ib], kurts[ib])
    pbo = pbo_cscv(x, n_splits=n_splits, zero_if_flat=True)
    pvals = np.asarray(sharpe_p_values(sr, t, skews, kurts), dtype=float)
    bh = benjamini_hochberg(pvals, alpha=alpha)
    return {
        "n_trials": len(ids),
        "n_obs": int(t),
        "best_trial": ids[ib],
        "best_sharpe": float(sr[ib]),
        "best_skew": float(skews[ib]),
        "best_kurtosis": float(kurts[ib]),
        "sharpe_variance": var_sr,
        "expected_max_sharpe": sr0,
        "dsr": dsr,
        "dsr_significant": bool(dsr >= confidence),
        "pbo": pbo.pbo,
        "pbo_degradation_slope": pbo.degradation_slope,
        "pbo_prob_oos_loss": pbo.prob_oos_loss,
        "pbo_n_combinations": pbo.n_combinations,
        "n_flat": int(flat.sum()),
        "flat_trials": [i for i, f in zip(ids, flat, strict=True) if f],
        "sharpe_by_trial": {i: float(v) for i, v in zip(ids, sr, strict=True)},
        "p_value_by_trial": {i: float(v) for i, v in zip(ids, pvals, strict=True)},
        "q_value_by_trial": {i: float(v) for i, v in zip(ids, bh.q_values, strict=True)},
        "bh_significant": [i for i, r in zip(ids, bh.reject, strict=True) if r],
        "alpha": alpha,
        "confidence": confidence,
        "interpretation": _interpretation(len(ids), ids[ib], float(sr[ib]), dsr, pbo.pbo, confidence),
    }
