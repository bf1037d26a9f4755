"""Bar features for the research layer: FFD, entropy, structural breaks, volatility, flow, book.

Follows López de Prado, *Advances in Financial Machine Learning* (Wiley, 2018; "AFML") unless a
docstring cites another source. Every feature is **causal**: its value at bar ``t`` is a function
of the inputs at bars ``0..t`` only (no centred windows, no full-sample normalisation, no
full-sample calibration), and computing it on ``x[:t+1]`` reproduces the value at ``t``
(``tests/signals/test_no_lookahead.py``). Values whose window is not yet full are NaN.

Blocks (each toggled by :class:`FeatureConfig`, assembled by :func:`make_features`):

* ``ffd`` — fixed-width-window fractional differentiation of log close (AFML §5.5);
  :func:`min_ffd_d` (AFML §5.6) calibrates ``d`` and must be run on the training span only.
* ``entropy`` — plug-in and Lempel–Ziv entropy of an encoded return series (AFML ch. 18).
* ``breaks`` — symmetric CUSUM filter state/events (AFML §2.5.2.1) and SADF (AFML §17.4.2).
* ``volatility`` — rolling realised volatility, a high/low regime label and the EWMA
  volatility of AFML Snippet 3.1.
* ``rsi`` — Wilder's relative strength index.
* ``order_flow`` — signed-volume imbalance and volatility-adjusted order flow.
* ``microstructure`` — VPIN, Kyle's λ (AFML ch. 19) and, when a book is given, order-book
  imbalance, Stoikov's micro-price and the relative spread.

Array conventions: inputs are 1-D array-likes converted to ``float64``; outputs are ``float64``
arrays of the input length (integer codes / events are ``int8`` / ``int64`` where stated).
Prices are in quote currency, volumes in base units, returns are log returns.

See Also
--------
signals.bars : the bars (``BAR_DTYPE``) these features are computed on.
signals.labels : triple-barrier labels (AFML ch. 3).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from attrs import validators as v

from signals import _features_nb as _nb

__all__ = [
    "FeatureConfig",
    "book_imbalance",
    "bulk_volume_buy_fraction",
    "cusum_events",
    "cusum_filter",
    "encode_binary",
    "encode_quantile",
    "ewma_vol",
    "ffd_adf_scan",
    "ffd_weights",
    "frac_diff_ffd",
    "kyle_lambda",
    "lempel_ziv_entropy",
    "log_returns",
    "make_features",
    "microprice",
    "min_ffd_d",
    "order_flow_imbalance",
    "plugin_entropy",
    "realized_vol",
    "rsi",
    "sadf",
    "signed_volume",
    "vol_adjusted_order_flow",
    "vol_regime",
    "vpin",
]

DAY_NS = 86_400_000_000_000
_MAX_FFD_WEIGHTS = 10_000_000


def _f64(x: Any, name: str = "series") -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    return a


def _pos_int(x: int, name: str, minimum: int = 1) -> int:
    if int(x) != x or x < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {x!r}")
    return int(x)


# --------------------------------------------------------------------------------------------
# Fractional differentiation (AFML ch. 5)
# --------------------------------------------------------------------------------------------


def ffd_weights(d: float, threshold: float = 1e-4, max_size: int | None = None) -> np.ndarray:
    """Weights of the fixed-width-window fractional difference (AFML §5.5, Snippet 5.3).

    ``w_0 = 1``, ``w_k = -w_{k-1}·(d - k + 1)/k``; weights are kept while ``|w_k| >= threshold``
    and generation stops at the first ``|w_k| < threshold``, which is excluded (FORMULAS.md §6).

    Parameters
    ----------
    d : float
        Order of differentiation (any real; ``0 <= d <= 1`` in practice).
    threshold : float
        Cut-off τ > 0 on ``|w_k|`` (unless ``max_size`` bounds the length).
    max_size : int, optional
        Stop after this many weights even if the threshold has not been reached (used by
        :func:`frac_diff_ffd` so a window longer than the series is detected without generating
        it in full).

    Returns
    -------
    numpy.ndarray
        ``float64``, shape ``(K+1,)``, ordered ``[w_0, w_1, ..., w_K]`` (``w_j`` multiplies
        ``x_{t-j}``; the book returns them reversed).

    Examples
    --------
    >>> ffd_weights(0.5, 0.05)
    array([ 1.    , -0.5   , -0.125 , -0.0625])
    """
    d = float(d)
    threshold = float(threshold)
    if not math.isfinite(d):
        raise ValueError(f"d must be finite, got {d!r}")
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    if max_size is None:
        if threshold <= 0:
            raise ValueError(f"threshold must be > 0 (got {threshold!r}) unless max_size is given")
        cap = _MAX_FFD_WEIGHTS
    else:
        cap = _pos_int(max_size, "max_size")
    w = [1.0]
    k = 1
    while len(w) < cap:
        w_k = -w[-1] * (d - k + 1) / k
        if abs(w_k) < threshold:
            break
        w.append(w_k)
        k += 1
    else:
        if max_size is None:
            raise ValueError(f"more than {_MAX_FFD_WEIGHTS} FFD weights for d={d}, threshold={threshold}")
    return np.asarray(w, dtype=np.float64)


def frac_diff_ffd(series: np.ndarray, d: float, threshold: float = 1e-4) -> np.ndarray:
    """Fixed-width-window fractional differentiation (AFML §5.5, Snippets 5.3–5.4).

    ``y_t = sum_{j=0..K} w_j · x_{t-j}`` for ``t >= K`` with the weights of
    :func:`ffd_weights` (``w_0 = 1, w_k = -w_{k-1}(d-k+1)/k`` kept while ``|w_k| >= threshold``);
    ``y_t`` is NaN for ``t < K`` (window of ``K+1`` observations not yet full). This is the
    public contract of DESIGN.md. ``d = 0`` returns the series (as float64); ``d = 1`` gives the
    first difference.

    Parameters
    ----------
    series : numpy.ndarray
        Shape ``(n,)`` (or ``(n, m)``: each column independently), any real dtype, in the units
        of the series (AFML applies it to log prices). NaNs propagate to every output whose
        window contains them (the book's Snippet 5.4 skips them instead).
    d : float
        Order of differentiation.
    threshold : float, default 1e-4
        Weight cut-off τ. If the window would be longer than the series, every output is NaN.

    Returns
    -------
    numpy.ndarray
        ``float64``, same shape as ``series``; the first ``K`` rows are NaN.
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"series must be 1-D or 2-D, got shape {x.shape}")
    n = x.shape[0]
    # Generate at most n+1 weights: a longer window can never be full (all-NaN output). This also
    # keeps threshold <= 0 (every weight kept, window never ends) from looping forever.
    w = ffd_weights(d, threshold, max_size=n + 1)
    out = np.full(x.shape, np.nan)
    width = w.shape[0]
    if width > n:
        return out
    K = width - 1
    acc = w[0] * x[K:n]
    for j in range(1, width):
        acc = acc + w[j] * x[K - j : n - j]
    out[K:] = acc
    return out


def ffd_adf_scan(
    series: np.ndarray,
    d_grid: Sequence[float] | np.ndarray | None = None,
    threshold: float = 1e-4,
    maxlag: int = 1,
    regression: str = "c",
) -> dict[str, np.ndarray]:
    """ADF test of the FFD series for each ``d`` of a grid (AFML §5.6, Snippet 5.4 ``plotMinFFD``).

    Parameters
    ----------
    series : numpy.ndarray
        Shape ``(n,)``; AFML uses log prices.
    d_grid : sequence of float, optional
        Orders to test, default ``0.0, 0.1, ..., 1.0``.
    threshold : float
        FFD weight cut-off.
    maxlag, regression
        Passed to ``statsmodels.tsa.stattools.adfuller`` with ``autolag=None`` (the book uses
        ``maxlag=1, regression='c'``).

    Returns
    -------
    dict
        ``d``, ``adf_stat``, ``p_value``, ``n_obs`` (non-NaN FFD points), ``corr`` (correlation
        of the FFD series with the original over the same points); float64 arrays of the grid
        length, NaN where the FFD series is too short for the test.
    """
    from statsmodels.tsa.stattools import adfuller

    x = _f64(series)
    grid = np.linspace(0.0, 1.0, 11) if d_grid is None else np.asarray(d_grid, dtype=np.float64)
    stats = np.full(grid.shape, np.nan)
    pvals = np.full(grid.shape, np.nan)
    nobs = np.zeros(grid.shape)
    corr = np.full(grid.shape, np.nan)
    for i, d in enumerate(grid):
        y = frac_diff_ffd(x, float(d), threshold)
        ok = np.isfinite(y) & np.isfinite(x)
        nobs[i] = ok.sum()
        if nobs[i] < maxlag + 4:
            continue
        try:
            with warnings.catch_warnings():  # statsmodels >= 0.15 warns about its future result object
                warnings.simplefilter("ignore", FutureWarning)
                res = adfuller(y[ok], maxlag=maxlag, regression=regression, autolag=None)
        except (ValueError, np.linalg.LinAlgError):
            continue
        stats[i], pvals[i] = res[0], res[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            corr[i] = np.corrcoef(y[ok], x[ok])[0, 1]
    return {"d": grid, "adf_stat": stats, "p_value": pvals, "n_obs": nobs, "corr": corr}


def min_ffd_d(
    series: np.ndarray,
    d_grid: Sequence[float] | np.ndarray | None = None,
    threshold: float = 1e-4,
    p_value: float = 0.05,
    maxlag: int = 1,
    regression: str = "c",
) -> float:
    """Smallest ``d`` on a grid whose FFD series rejects a unit root (AFML §5.6).

    Scans ``d_grid`` in increasing order with :func:`ffd_adf_scan` and returns the first ``d``
    whose ADF p-value is ``< p_value`` — the minimum differentiation that makes the series
    stationary while keeping as much memory as possible. Uses all of ``series``: run it on the
    training span only and pass the result to :class:`FeatureConfig` (``ffd_d``), or the
    feature would look ahead.

    Parameters
    ----------
    series : numpy.ndarray
        Shape ``(n,)``, typically log prices.
    d_grid : sequence of float, optional
        Default ``0.0, 0.1, ..., 1.0``; sorted ascending before the scan.
    threshold : float
        FFD weight cut-off.
    p_value : float
        ADF significance level.
    maxlag, regression
        ``adfuller`` arguments (``autolag=None``).

    Returns
    -------
    float
        The minimal passing ``d``, or NaN if none passes.
    """
    grid = np.sort(np.linspace(0.0, 1.0, 11) if d_grid is None else np.asarray(d_grid, dtype=np.float64))
    scan = ffd_adf_scan(series, grid, threshold, maxlag=maxlag, regression=regression)
    passing = np.flatnonzero(scan["p_value"] < p_value)
    return float(grid[passing[0]]) if passing.size else float("nan")


# --------------------------------------------------------------------------------------------
# Returns and encodings
# --------------------------------------------------------------------------------------------


def log_returns(close: np.ndarray) -> np.ndarray:
    """One-bar log returns ``r_t = ln(c_t / c_{t-1})``; ``r_0`` is NaN. Shape ``(n,)`` float64."""
    c = _f64(close, "close")
    r = np.full(c.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = np.log(c[1:]) - np.log(c[:-1])
    return r


def encode_binary(returns: np.ndarray) -> np.ndarray:
    """Binary encoding of returns (AFML §18.5.1): 1 if ``r_t > 0``, 0 if ``r_t < 0``.

    The book drops ``r_t = 0``; to keep bars aligned a zero return repeats the previous code (the
    tick rule, AFML §19.2). NaN returns, and zeros before any non-zero return, get code ``-1``
    (missing). Returns ``int64`` of shape ``(n,)``.
    """
    r = _f64(returns, "returns")
    out = np.full(r.shape, -1, dtype=np.int64)
    prev = -1
    for i, x in enumerate(r):
        if x > 0:
            prev = 1
        elif x < 0:
            prev = 0
        elif not x == 0:  # NaN
            out[i] = -1
            continue
        out[i] = prev
    return out


def encode_quantile(returns: np.ndarray, n_quantiles: int = 4, window: int = 100) -> np.ndarray:
    """Quantile encoding of returns (AFML §18.5.2), causal.

    The book draws quantile edges from an in-sample period; here ``r_t`` is coded by the
    ``k/n_quantiles`` quantiles (numpy ``"linear"``) of the trailing window ``r_{t-window+1..t}``:
    ``code_t = #{k : r_t > e_k}`` in ``0..n_quantiles-1``. ``-1`` (missing) until the window is
    full or where it holds a NaN. Returns ``int64`` of shape ``(n,)``.
    """
    r = _f64(returns, "returns")
    return _nb.encode_quantile_nb(r, _pos_int(window, "window"), _pos_int(n_quantiles, "n_quantiles", 2))


def _codes(codes: np.ndarray) -> tuple[np.ndarray, int]:
    c = np.ascontiguousarray(np.asarray(codes, dtype=np.int64))
    if c.ndim != 1:
        raise ValueError("codes must be 1-D")
    n_symbols = int(c.max()) + 1 if c.size and c.max() >= 0 else 1
    return c, max(n_symbols, 2)


# --------------------------------------------------------------------------------------------
# Entropy (AFML ch. 18)
# --------------------------------------------------------------------------------------------


def plugin_entropy(codes: np.ndarray, window: int, word_length: int = 1, n_symbols: int | None = None) -> np.ndarray:
    """Rolling plug-in (maximum-likelihood) entropy rate (AFML §18.3, Snippet 18.1).

    At bar ``t`` the message is ``codes[t-window+1 .. t]``; the empirical pmf ``p`` of its
    ``window - word_length + 1`` overlapping words of length ``word_length`` gives
    ``H_t = -sum_w p(w) log2 p(w) / word_length`` (bits per symbol; ``<= log2(n_symbols)``).
    Snippet 18.1 omits the message's last word; all words are used here.

    Parameters
    ----------
    codes : numpy.ndarray
        ``int`` symbols ``0..n_symbols-1`` (``-1`` missing), shape ``(n,)``, e.g. from
        :func:`encode_binary` / :func:`encode_quantile`.
    window : int
        Message length in bars.
    word_length : int
        Word length ``w`` (1 gives the Shannon entropy of the symbol frequencies).
    n_symbols : int, optional
        Alphabet size; default ``max(codes)+1`` (at least 2). Give it explicitly for causal use.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n,)``; NaN where the window is not full or holds a missing code.
    """
    c, ns = _codes(codes)
    ns = ns if n_symbols is None else _pos_int(n_symbols, "n_symbols", 2)
    if c.size and c.max() >= ns:
        raise ValueError("codes must be < n_symbols")
    window = _pos_int(window, "window")
    word_length = _pos_int(word_length, "word_length")
    if word_length > window:
        raise ValueError("word_length must be <= window")
    return _nb.rolling_plugin_entropy_nb(c, window, word_length, ns)


def lempel_ziv_entropy(codes: np.ndarray, window: int, n_symbols: int | None = None) -> np.ndarray:
    """Rolling Lempel–Ziv complexity (AFML §18.4, Snippet 18.2).

    The message ``codes[t-window+1 .. t]`` is parsed incrementally (LZ78): each new phrase is the
    shortest substring starting after the previous phrase that is not yet in the library. The
    feature is ``len(library) / window`` (as ``get_lempel_ziv_entropy`` of mlfinlab); a trailing
    partial phrase already in the library is not counted. Higher means less redundant (more
    random) order flow.

    Parameters
    ----------
    codes : numpy.ndarray
        ``int`` symbols ``>= 0`` (``-1`` missing), shape ``(n,)``.
    window : int
        Message length.
    n_symbols : int, optional
        Alphabet size; default ``max(codes)+1`` (at least 2).

    Returns
    -------
    numpy.ndarray
        float64 in ``(0, 1]``, shape ``(n,)``; NaN where the window is not full or holds a
        missing code.
    """
    c, ns = _codes(codes)
    ns = ns if n_symbols is None else _pos_int(n_symbols, "n_symbols", 2)
    if c.size and c.max() >= ns:
        raise ValueError("codes must be < n_symbols")
    return _nb.rolling_lz_nb(c, _pos_int(window, "window"), ns)


# --------------------------------------------------------------------------------------------
# Structural breaks (AFML ch. 17) and the CUSUM filter (AFML §2.5.2.1)
# --------------------------------------------------------------------------------------------


def cusum_filter(series: np.ndarray, h: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric CUSUM filter (AFML §2.5.2.1, Snippet 2.4), run bar by bar.

    With ``Δx_t = x_t - x_{t-1}``: ``S⁺_t = max(0, S⁺_{t-1} + Δx_t)``,
    ``S⁻_t = min(0, S⁻_{t-1} + Δx_t)``; if ``S⁻_t < -h_t`` an event ``-1`` is emitted and ``S⁻``
    reset to 0, **else** if ``S⁺_t > h_t`` an event ``+1`` with ``S⁺`` reset (one reset per bar, as
    in the snippet). A NaN increment leaves both sums unchanged (pandas' ``max(0, nan)`` would
    reset them); a NaN threshold emits no event.

    Parameters
    ----------
    series : numpy.ndarray
        Shape ``(n,)``; AFML filters (log) prices.
    h : float or numpy.ndarray
        Threshold ``> 0`` in the units of ``Δx``, scalar or per bar (shape ``(n,)``, e.g. a
        multiple of a causal volatility estimate).

    Returns
    -------
    event : numpy.ndarray
        ``int8``, shape ``(n,)``: -1, 0 or +1.
    s_pos, s_neg : numpy.ndarray
        float64, shape ``(n,)``: the sums after any reset.
    """
    x = _f64(series)
    diff = np.full(x.shape, np.nan)
    diff[1:] = x[1:] - x[:-1]
    hh = np.broadcast_to(np.asarray(h, dtype=np.float64), x.shape).astype(np.float64)
    return _nb.cusum_nb(diff, np.ascontiguousarray(hh))


def cusum_events(series: np.ndarray, h: float | np.ndarray) -> np.ndarray:
    """Bar positions sampled by the symmetric CUSUM filter (AFML Snippet 2.4 ``tEvents``).

    ``int64`` indices ``t`` where :func:`cusum_filter` emitted an event (either sign).
    """
    event, _, _ = cusum_filter(series, h)
    return np.flatnonzero(event).astype(np.int64)


_TRENDS = {"nc": -1, "c": 0, "ct": 1}


def sadf(
    log_price: np.ndarray,
    min_window: int,
    lags: int = 1,
    regression: str = "c",
    max_window: int | None = None,
) -> np.ndarray:
    """Supremum augmented Dickey–Fuller statistic (AFML §17.4.2, Snippets 17.1–17.4).

    For each end bar ``t``, every start ``t0`` with at least ``min_window`` regression rows in
    ``[t0, t]`` (and at most ``max_window``) gives the ADF t-statistic of ``β`` in
    ``Δy_i = β·y_{i-1} + Σ_{l=1..lags} γ_l·Δy_{i-l} [+ α] [+ δ·i] + ε_i``, ``i ∈ [t0, t]``,
    ``i >= lags+1``; ``SADF_t = sup_{t0} ADF_{t0,t}`` (a backward-expanding window). Explosive
    (bubble) behaviour shows as large positive values. Each window is solved from normal
    equations updated one row at a time, so the cost is ``O(n·W·k²)`` with ``W`` the number of
    starts per end (``O(n²)`` without ``max_window``; a few thousand bars take about a second).

    Parameters
    ----------
    log_price : numpy.ndarray
        Shape ``(n,)``, log prices.
    min_window : int
        Minimum number of regression rows (``> number of regressors``).
    lags : int
        Number of lagged differences ``Δy``.
    regression : {"c", "nc", "ct"}
        Constant, no constant, constant and linear trend (the book's ``constant`` argument).
    max_window : int, optional
        Longest window considered (bounds the cost on long series; ``None``: all starts back to
        the first bar, as in the book).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n,)``; NaN for ``t < lags + min_window`` or where every window is
        degenerate (e.g. constant prices).
    """
    y = _f64(log_price, "log_price")
    if regression not in _TRENDS:
        raise ValueError(f"regression must be one of {sorted(_TRENDS)}, got {regression!r}")
    lags = _pos_int(lags, "lags", 0)
    trend = _TRENDS[regression]
    k = 1 + lags + (0 if trend < 0 else 1) + (1 if trend > 0 else 0)
    min_window = _pos_int(min_window, "min_window", k + 1)
    mw = 0 if max_window is None else _pos_int(max_window, "max_window", min_window)
    return _nb.sadf_nb(y, min_window, lags, trend, mw)


# --------------------------------------------------------------------------------------------
# Volatility
# --------------------------------------------------------------------------------------------


def realized_vol(close: np.ndarray, window: int) -> np.ndarray:
    """Rolling realised volatility: ``sqrt(mean(r²))`` of the last ``window`` one-bar log returns.

    Per-bar units (multiply by ``sqrt(bars per year)`` to annualise); not demeaned. NaN for
    ``t < window``. Shape ``(n,)`` float64.
    """
    r = log_returns(close)
    return np.sqrt(_nb.rolling_sum_nb(r * r, _pos_int(window, "window")) / window)


def vol_regime(vol: np.ndarray, window: int, quantile: float = 0.5) -> np.ndarray:
    """High-volatility regime label: 1.0 if ``vol_t`` exceeds the ``quantile`` of its trailing window.

    The reference is the ``quantile`` (numpy ``"linear"``) of ``vol_{t-window+1..t}`` (default:
    the rolling median), else 0.0; NaN where that window is not full or holds a NaN.
    Shape ``(n,)`` float64.
    """
    x = _f64(vol, "vol")
    if not 0.0 <= quantile <= 1.0:
        raise ValueError("quantile must be in [0, 1]")
    ref = _nb.rolling_quantile_nb(x, _pos_int(window, "window"), float(quantile))
    out = (x > ref).astype(np.float64)
    out[np.isnan(ref)] = np.nan
    return out


def ewma_vol(
    close: np.ndarray,
    ts_ns: np.ndarray | None = None,
    span: float = 100,
    lookback_ns: int = DAY_NS,
) -> np.ndarray:
    """EWMA volatility of returns, AFML Snippet 3.1 (``getDailyVol``) as in FORMULAS.md §6.

    With ``ts_ns``: ``r_t = c_t / c_{ref(t)} - 1`` where ``ref(t)`` is the last bar with
    timestamp strictly before ``ts_t - lookback_ns`` (two bars back on a daily grid); NaN where
    there is none. Without ``ts_ns`` (the simpler variant): one-bar simple returns. Then the
    pandas ``ewm(span=span).std()``: ``α = 2/(span+1)``, weights ``(1-α)^age``, bias-corrected
    variance ``·(Σw)²/((Σw)² - Σw²)``.

    Parameters
    ----------
    close : numpy.ndarray
        Shape ``(n,)`` prices.
    ts_ns : numpy.ndarray, optional
        ``int64`` nanosecond timestamps, non-decreasing, shape ``(n,)``.
    span : float
        EWM span (book: 100).
    lookback_ns : int
        Return horizon in ns (book: one day).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n,)``: the standard deviation of the returns (a fraction).
    """
    c = _f64(close, "close")
    if not span >= 1:
        raise ValueError("span must be >= 1")
    if ts_ns is not None:
        from signals.labels import daily_vol  # the one implementation of Snippet 3.1

        ts = np.asarray(ts_ns, dtype=np.int64)
        if ts.shape != c.shape:
            raise ValueError("ts_ns and close must have the same shape")
        return daily_vol(ts, c, span=span, lookback_ns=int(lookback_ns))
    r = np.full(c.shape, np.nan)
    r[1:] = c[1:] / c[:-1] - 1.0
    return _nb.ewm_std_nb(r, 2.0 / (float(span) + 1.0))


# --------------------------------------------------------------------------------------------
# RSI and order flow
# --------------------------------------------------------------------------------------------


def rsi(close: np.ndarray, window: int = 14) -> np.ndarray:
    """Wilder's Relative Strength Index (Wilder, *New Concepts in Technical Trading Systems*, 1978).

    Gains/losses are the positive/negative parts of ``c_t - c_{t-1}``. The first averages (at
    ``t = window``) are simple means of the first ``window`` gains/losses, then Wilder smoothing
    ``A_t = (A_{t-1}·(window-1) + x_t)/window``; ``RSI = 100 - 100/(1 + A_gain/A_loss)`` (100 if
    no losses, 50 if the price did not move). NaN for ``t < window``. Inputs must be finite.
    Shape ``(n,)`` float64 in ``[0, 100]``.
    """
    c = _f64(close, "close")
    return _nb.rsi_wilder_nb(c, _pos_int(window, "window"))


def signed_volume(volume: np.ndarray, buy_volume: np.ndarray) -> np.ndarray:
    """Net taker flow per bar ``buy - sell = 2·buy_volume - volume`` (base units), shape ``(n,)``."""
    vol = _f64(volume, "volume")
    buy = _f64(buy_volume, "buy_volume")
    return 2.0 * buy - vol


def order_flow_imbalance(volume: np.ndarray, buy_volume: np.ndarray, window: int) -> np.ndarray:
    """Rolling order-flow imbalance ``Σ(buy - sell) / Σ volume`` over the last ``window`` bars.

    Dimensionless in ``[-1, 1]``; NaN until ``window`` bars or when the window has no volume.
    """
    window = _pos_int(window, "window")
    num = _nb.rolling_sum_nb(signed_volume(volume, buy_volume), window)
    den = _nb.rolling_sum_nb(_f64(volume, "volume"), window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~(den > 0)] = np.nan
    return out


def vol_adjusted_order_flow(flow: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """Volatility-adjusted order flow ``flow_t / σ_t`` (NaN where ``σ_t`` is not positive).

    ``flow`` is signed volume or an imbalance (e.g. :func:`order_flow_imbalance`) and ``σ`` a
    causal volatility (e.g. :func:`realized_vol`): the same net buying means more when the market
    is calm. :func:`make_features` uses ``order_flow_imbalance / realized_vol``.
    """
    f = _f64(flow, "flow")
    s = _f64(vol, "vol")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = f / s
    out[~(s > 0)] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Microstructure (AFML ch. 19; Stoikov 2018; Easley, López de Prado & O'Hara 2012)
# --------------------------------------------------------------------------------------------


def book_imbalance(bid_qty: np.ndarray, ask_qty: np.ndarray) -> np.ndarray:
    """Top-of-book imbalance ``(Q_bid - Q_ask) / (Q_bid + Q_ask)`` in ``[-1, 1]`` (NaN if empty)."""
    qb = _f64(bid_qty, "bid_qty")
    qa = _f64(ask_qty, "ask_qty")
    tot = qb + qa
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (qb - qa) / tot
    out[~(tot > 0)] = np.nan
    return out


def microprice(best_bid: np.ndarray, best_ask: np.ndarray, bid_qty: np.ndarray, ask_qty: np.ndarray) -> np.ndarray:
    """Stoikov's micro-price, first-order (weighted-mid) form.

    ``P = mid + S·(I - 1/2)`` with ``mid = (bid + ask)/2``, ``S = ask - bid`` and the imbalance
    weight ``I = Q_bid / (Q_bid + Q_ask)`` in ``[0, 1]``; equivalently ``I·ask + (1 - I)·bid``.
    This is the first approximation ``P¹`` (the weighted mid-price) in S. Stoikov, "The
    micro-price: a high-frequency estimator of future prices", *Quantitative Finance* 18(12),
    2018; the full micro-price adds the higher-order corrections ``g_i(I, S)`` estimated from
    the book's dynamics, which are not estimated here. NaN where both quantities are zero.
    Shape ``(n,)`` float64, in price units.
    """
    bid = _f64(best_bid, "best_bid")
    ask = _f64(best_ask, "best_ask")
    qb = _f64(bid_qty, "bid_qty")
    qa = _f64(ask_qty, "ask_qty")
    tot = qb + qa
    with np.errstate(divide="ignore", invalid="ignore"):
        w = qb / tot
    w[~(tot > 0)] = np.nan
    return 0.5 * (bid + ask) + (ask - bid) * (w - 0.5)


def bulk_volume_buy_fraction(close: np.ndarray, window: int) -> np.ndarray:
    """Bulk-volume classification (Easley, López de Prado & O'Hara 2012; AFML §19.3.3).

    Buy fraction of bar ``t``'s volume ``Φ(Δp_t / σ_Δp)``, with ``Δp_t = c_t - c_{t-1}`` and
    ``σ_Δp`` the sample std (ddof=1) of the last ``window`` price changes (causal; the paper uses
    the sample std). NaN until ``window`` changes are seen; 0.5 where ``σ = 0``.
    """
    c = _f64(close, "close")
    dp = np.full(c.shape, np.nan)
    dp[1:] = c[1:] - c[:-1]
    sd = _nb.rolling_std_nb(dp, _pos_int(window, "window", 2), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = dp / sd
    z[sd == 0] = 0.0
    from scipy.special import ndtr

    return ndtr(z)


def vpin(volume: np.ndarray, buy_volume: np.ndarray, bucket_volume: float, n_buckets: int = 50) -> np.ndarray:
    """Volume-synchronised probability of informed trading (Easley, López de Prado & O'Hara 2012).

    Bars are poured into equal-volume buckets of ``bucket_volume`` (a bar spills into the next
    bucket keeping its buy fraction); bucket ``τ`` has order imbalance ``|V_τ^B - V_τ^S| / V``;
    ``VPIN_t = (1/n) Σ`` over the last ``n = n_buckets`` buckets completed by the end of bar ``t``.
    Buy volume comes from the caller: the bars' taker ``buy_volume`` (exact trade signs) or
    ``volume · bulk_volume_buy_fraction`` (the paper's bulk-volume classification).

    Parameters
    ----------
    volume, buy_volume : numpy.ndarray
        Shape ``(n,)``, base units; ``0 <= buy_volume <= volume``.
    bucket_volume : float
        ``V`` (the paper uses one fiftieth of the average daily volume; choose it from past data).
    n_buckets : int
        Number of buckets averaged (paper: 50).

    Returns
    -------
    numpy.ndarray
        float64 in ``[0, 1]``, shape ``(n,)``; NaN until ``n_buckets`` buckets are complete.
    """
    vol = _f64(volume, "volume")
    buy = _f64(buy_volume, "buy_volume")
    if not (bucket_volume > 0 and math.isfinite(bucket_volume)):
        raise ValueError(f"bucket_volume must be > 0, got {bucket_volume!r}")
    return _nb.vpin_nb(vol, buy, float(bucket_volume), _pos_int(n_buckets, "n_buckets"))


def kyle_lambda(close: np.ndarray, signed_vol: np.ndarray, window: int) -> np.ndarray:
    """Kyle's λ by rolling regression (AFML §19.3.2): ``Δp_t = λ·(b_t V_t) + ε_t``, no intercept.

    OLS over the last ``window`` bars: ``λ_t = Σ Δp·s / Σ s²`` with ``Δp_t = c_t - c_{t-1}``
    (price units) and ``s_t`` the signed volume (base units; AFML signs volume with the tick
    rule, here the bars' net taker flow :func:`signed_volume` is used when available). Price
    impact per unit of net order flow; NaN until ``window`` price changes, or if ``Σ s² = 0``.
    """
    c = _f64(close, "close")
    s = _f64(signed_vol, "signed_vol")
    window = _pos_int(window, "window")
    dp = np.full(c.shape, np.nan)
    dp[1:] = c[1:] - c[:-1]
    sxy = _nb.rolling_sum_nb(dp * s, window)
    sxx = _nb.rolling_sum_nb(s * s, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sxy / sxx
    out[~(sxx > 0)] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Configuration and assembly
# --------------------------------------------------------------------------------------------

_pos = [v.instance_of(int), v.ge(1)]


@attrs.frozen(kw_only=True)
class FeatureConfig:
    """Which feature blocks :func:`make_features` computes, and their parameters.

    One boolean per block (``ffd``, ``entropy``, ``breaks``, ``volatility``, ``rsi``,
    ``order_flow``, ``microstructure``); windows are in bars. Fields are validated on
    construction (``ValueError`` / ``TypeError`` naming the field).

    Attributes
    ----------
    ffd, ffd_d, ffd_threshold
        FFD of log close with order ``d`` and weight cut-off (calibrate ``d`` with
        :func:`min_ffd_d` on the training span). Feature ``ffd_log_close``.
    entropy, entropy_window, entropy_encoding, entropy_n_quantiles, entropy_word_length
        Plug-in and Lempel–Ziv entropy over ``entropy_window`` bars of returns encoded
        ``"binary"`` or ``"quantile"`` (quantile edges from the same trailing window length).
        Features ``entropy_plugin``, ``entropy_lz``.
    breaks, cusum_h, cusum_vol_mult, sadf_min_window, sadf_lags, sadf_max_window
        CUSUM on log close with threshold ``cusum_h`` (log-return units) or, if ``None``,
        ``cusum_vol_mult × realized_vol(vol_window)`` per bar; SADF on log close. Features
        ``cusum_event`` (-1/0/1), ``cusum_pos``, ``cusum_neg`` (sums divided by the threshold),
        ``sadf``.
    volatility, vol_window, regime_window, regime_quantile, ewma_span, ewma_lookback_ns
        Features ``realized_vol``, ``vol_regime``, ``ewma_vol`` (Snippet 3.1; lookback ``None``
        uses one-bar returns).
    rsi, rsi_window
        Feature ``rsi``.
    order_flow, flow_window
        Features ``order_flow_imbalance``, ``vol_adj_order_flow`` (imbalance / realised vol
        over ``flow_window``).
    microstructure, vpin_n_buckets, vpin_bucket_volume, vpin_bars_per_bucket,
    vpin_calibration_bars, vpin_classification, kyle_window
        VPIN with bucket volume ``vpin_bucket_volume`` or, if ``None``, the mean volume of the
        first ``vpin_calibration_bars`` bars × ``vpin_bars_per_bucket`` (VPIN is NaN before
        those bars); buy volume from the bars (``"bars"``) or bulk-volume classification
        (``"bvc"``, σ over ``flow_window``). Kyle's λ over ``kyle_window``. With a book:
        ``book_imbalance``, ``microprice_dev_bps`` (``(micro - mid)/mid·1e4``), ``spread_bps``.
    """

    ffd: bool = attrs.field(default=True, validator=v.instance_of(bool))
    ffd_d: float = attrs.field(default=0.4, converter=float, validator=[v.ge(0.0), v.le(2.0)])
    ffd_threshold: float = attrs.field(default=1e-4, converter=float, validator=v.gt(0.0))

    entropy: bool = attrs.field(default=True, validator=v.instance_of(bool))
    entropy_window: int = attrs.field(default=100, validator=_pos)
    entropy_encoding: str = attrs.field(default="binary", validator=v.in_(("binary", "quantile")))
    entropy_n_quantiles: int = attrs.field(default=4, validator=[v.instance_of(int), v.ge(2)])
    entropy_word_length: int = attrs.field(default=2, validator=_pos)

    breaks: bool = attrs.field(default=True, validator=v.instance_of(bool))
    cusum_h: float | None = attrs.field(default=None, validator=v.optional(v.gt(0.0)))
    cusum_vol_mult: float = attrs.field(default=2.0, converter=float, validator=v.gt(0.0))
    sadf_min_window: int = attrs.field(default=50, validator=_pos)
    sadf_lags: int = attrs.field(default=1, validator=[v.instance_of(int), v.ge(0)])
    sadf_max_window: int | None = attrs.field(default=500, validator=v.optional(_pos))

    volatility: bool = attrs.field(default=True, validator=v.instance_of(bool))
    vol_window: int = attrs.field(default=50, validator=_pos)
    regime_window: int = attrs.field(default=500, validator=_pos)
    regime_quantile: float = attrs.field(default=0.5, converter=float, validator=[v.ge(0.0), v.le(1.0)])
    ewma_span: float = attrs.field(default=100.0, converter=float, validator=v.ge(1.0))
    ewma_lookback_ns: int | None = attrs.field(default=DAY_NS, validator=v.optional(_pos))

    rsi: bool = attrs.field(default=True, validator=v.instance_of(bool))
    rsi_window: int = attrs.field(default=14, validator=_pos)

    order_flow: bool = attrs.field(default=True, validator=v.instance_of(bool))
    flow_window: int = attrs.field(default=50, validator=[v.instance_of(int), v.ge(2)])

    microstructure: bool = attrs.field(default=True, validator=v.instance_of(bool))
    vpin_n_buckets: int = attrs.field(default=50, validator=_pos)
    vpin_bucket_volume: float | None = attrs.field(default=None, validator=v.optional(v.gt(0.0)))
    vpin_bars_per_bucket: float = attrs.field(default=5.0, converter=float, validator=v.gt(0.0))
    vpin_calibration_bars: int = attrs.field(default=100, validator=_pos)
    vpin_classification: str = attrs.field(default="bars", validator=v.in_(("bars", "bvc")))
    kyle_window: int = attrs.field(default=50, validator=_pos)

    @sadf_min_window.validator
    def _check_sadf(self, attribute: attrs.Attribute, value: int) -> None:
        k = 2 + self.sadf_lags
        if value <= k:
            raise ValueError(f"sadf_min_window must be > {k} (regressors), got {value}")


def _field(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    if isinstance(obj, np.ndarray) and obj.dtype.names is not None:
        return obj[key] if key in obj.dtype.names else None
    return getattr(obj, key, None)


def make_features(cfg: FeatureConfig, data: Any) -> tuple[list[str], np.ndarray]:
    """Compute the enabled feature blocks on bars (and an optional book) — the research adaptor.

    Parameters
    ----------
    cfg : FeatureConfig
        Block toggles and parameters.
    data : mapping or object
        ``bars``: structured array with the fields of ``signals.bars.BAR_DTYPE`` (``close``,
        ``volume``, ``buy_volume``, ``ts_close_ns`` are used), shape ``(n_bars,)``. Optional
        ``book``: mapping / structured array / object with ``best_bid``, ``best_ask``,
        ``bid_qty``, ``ask_qty`` arrays of shape ``(n_bars,)`` (the book at each bar's close);
        without it the book features are skipped (not NaN-filled).

    Returns
    -------
    names : list of str
        Column names, block by block in the order of :class:`FeatureConfig`.
    X : numpy.ndarray
        float64, shape ``(n_bars, len(names))``; NaN where a feature's window is not full. Row
        ``t`` depends only on bars (and book rows) ``0..t``.
    """
    bars = _field(data, "bars")
    if bars is None:
        raise ValueError("data must provide 'bars'")
    close = _f64(bars["close"], "bars['close']")
    n = close.shape[0]
    logc = np.log(close)
    r = log_returns(close)
    names: list[str] = []
    cols: list[np.ndarray] = []

    def add(name: str, col: np.ndarray) -> None:
        names.append(name)
        cols.append(np.asarray(col, dtype=np.float64))

    rv = realized_vol(close, cfg.vol_window)
    volume = _f64(bars["volume"], "bars['volume']") if (cfg.order_flow or cfg.microstructure) else None
    buy = None
    if cfg.order_flow or cfg.microstructure:
        buy = _f64(bars["buy_volume"], "bars['buy_volume']")

    if cfg.ffd:
        add("ffd_log_close", frac_diff_ffd(logc, cfg.ffd_d, cfg.ffd_threshold))

    if cfg.entropy:
        if cfg.entropy_encoding == "binary":
            codes, ns = encode_binary(r), 2
        else:
            codes, ns = encode_quantile(r, cfg.entropy_n_quantiles, cfg.entropy_window), cfg.entropy_n_quantiles
        add("entropy_plugin", plugin_entropy(codes, cfg.entropy_window, cfg.entropy_word_length, ns))
        add("entropy_lz", lempel_ziv_entropy(codes, cfg.entropy_window, ns))

    if cfg.breaks:
        h = np.full(n, cfg.cusum_h) if cfg.cusum_h is not None else cfg.cusum_vol_mult * rv
        event, s_pos, s_neg = cusum_filter(logc, h)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = np.isfinite(h) & (h > 0)
            add("cusum_event", np.where(ok, event, np.nan))
            add("cusum_pos", np.where(ok, s_pos / h, np.nan))
            add("cusum_neg", np.where(ok, s_neg / h, np.nan))
        add("sadf", sadf(logc, cfg.sadf_min_window, cfg.sadf_lags, "c", cfg.sadf_max_window))

    if cfg.volatility:
        add("realized_vol", rv)
        add("vol_regime", vol_regime(rv, cfg.regime_window, cfg.regime_quantile))
        ts = None
        if cfg.ewma_lookback_ns is not None:
            ts = np.asarray(bars["ts_close_ns"], dtype=np.int64)
        add("ewma_vol", ewma_vol(close, ts, cfg.ewma_span, cfg.ewma_lookback_ns or DAY_NS))

    if cfg.rsi:
        add("rsi", rsi(close, cfg.rsi_window))

    if cfg.order_flow:
        ofi = order_flow_imbalance(volume, buy, cfg.flow_window)
        add("order_flow_imbalance", ofi)
        add("vol_adj_order_flow", vol_adjusted_order_flow(ofi, realized_vol(close, cfg.flow_window)))

    if cfg.microstructure:
        if cfg.vpin_classification == "bars":
            vbuy = buy
        else:
            vbuy = volume * bulk_volume_buy_fraction(close, cfg.flow_window)
        m = cfg.vpin_calibration_bars
        if cfg.vpin_bucket_volume is not None:
            vp = vpin(volume, vbuy, cfg.vpin_bucket_volume, cfg.vpin_n_buckets)
        elif n >= m and np.mean(volume[:m]) > 0:
            vp = vpin(volume, vbuy, float(np.mean(volume[:m])) * cfg.vpin_bars_per_bucket, cfg.vpin_n_buckets)
            vp[: m - 1] = np.nan
        else:
            vp = np.full(n, np.nan)
        add("vpin", vp)
        add("kyle_lambda", kyle_lambda(close, signed_volume(volume, buy), cfg.kyle_window))
        book = _field(data, "book")
        if book is not None:
            bid = _f64(_field(book, "best_bid"), "book['best_bid']")
            ask = _f64(_field(book, "best_ask"), "book['best_ask']")
            qb = _f64(_field(book, "bid_qty"), "book['bid_qty']")
            qa = _f64(_field(book, "ask_qty"), "book['ask_qty']")
            if not (bid.shape == ask.shape == qb.shape == qa.shape == (n,)):
                raise ValueError(f"book arrays must have shape ({n},) like the bars")
            mid = 0.5 * (bid + ask)
            with np.errstate(divide="ignore", invalid="ignore"):
                add("book_imbalance", book_imbalance(qb, qa))
                add("microprice_dev_bps", (microprice(bid, ask, qb, qa) - mid) / mid * 1e4)
                add("spread_bps", (ask - bid) / mid * 1e4)

    X = np.column_stack(cols) if cols else np.empty((n, 0))
    return names, np.ascontiguousarray(X, dtype=np.float64)
