"""Compiled calibration kernels of the GLFT quoter, with their plain-NumPy reference twins.

Inputs are never mutated. Tested against the references in ``tests/strategies/test_glft_fit.py``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True)
def fit_intensity_nb(depths, n, grid):
    """Fit ``log λ(δ) = log A − kδ`` to the arrival depths of the last ``n`` steps.

    Parameters
    ----------
    depths : ndarray of float64, shape (window,)
        Arrival depth of each step, ticks (NaN: no trade in that step). Only ``depths[:n]`` is
        read.
    n : int
        Number of valid steps (``1 <= n <= window``).
    grid : ndarray of float64, shape (g,)
        Depths δ at which λ is measured, ticks, increasing.

    Returns
    -------
    A : float
        Intensity at zero depth, per step. NaN when the fit is not identified: fewer than 3
        depths have λ > 0, or λ is the same at every such depth (every arrival reached at
        least as far as the deepest of them, so the data carry no information on the decay).
    k : float
        Decay, per tick (NaN when not identified, as ``A``). Otherwise ``> 0``: λ is
        non-increasing in δ, so a non-constant λ has a strictly negative least-squares slope.

    Notes
    -----
    ``λ(δ)`` is the fraction of steps whose arrival depth was ``>= δ``; the fit is ordinary
    least squares of ``log λ`` on δ over the points with ``λ > 0``. Reference twin:
    :func:`fit_intensity`. Without the flat-λ rule a flat λ gives a slope of ±1e-16 from
    rounding, a "k" of 2e-16 per tick and GLFT depths of 1e13 ticks (issue 10, item 7).
    """
    hist = np.zeros(grid.size, dtype=np.int64)
    for i in range(n):
        j = depth_bin_nb(depths[i], grid)
        if j >= 0:
            hist[j] += 1
    return fit_intensity_hist_nb(hist, n, grid)


@nb.njit(cache=True)
def depth_bin_nb(d, grid):
    """Index of the last grid point an arrival depth ``d`` reaches (``grid[j] <= d``); ``-1`` for
    none (``d < grid[0]`` or NaN). Binary search, ``grid`` increasing."""
    if not d >= grid[0]:
        return -1
    return np.searchsorted(grid, d, side="right") - 1


@nb.njit(cache=True)
def fit_intensity_hist_nb(hist, n, grid):
    """:func:`fit_intensity_nb` from the histogram of the depths' bins (:func:`depth_bin_nb`).

    ``hist[j]`` counts the steps whose arrival depth reached grid point ``j`` but not ``j + 1``;
    ``λ(δ_j)`` is the suffix sum over ``n`` steps. A caller that keeps the histogram of a
    rolling window up to date (add a step's bin, remove the overwritten one) fits in O(g)
    instead of O(n log g); the counts, hence the fit, are the same integers and floats.
    """
    g = grid.size
    counts = hist.copy()
    for j in range(g - 2, -1, -1):
        counts[j] += counts[j + 1]
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    m = 0
    c_first = -1
    c_last = -1
    for j in range(g):
        c = counts[j]
        if c > 0:
            if c_first < 0:
                c_first = c
            c_last = c
            x = grid[j]
            y = math.log(c / n)
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
            m += 1
    if m < 3 or c_first == c_last:
        return math.nan, math.nan
    den = m * sxx - sx * sx
    slope = (m * sxy - sx * sy) / den
    intercept = (sy - slope * sx) / m
    return math.exp(intercept), -slope


def fit_intensity(depths: np.ndarray, n: int, grid: np.ndarray) -> tuple[float, float]:
    """Reference twin of :func:`fit_intensity_nb` (NumPy, ``np.polyfit``); same contract."""
    d = depths[:n]
    with np.errstate(invalid="ignore"):
        counts = (d[:, None] >= grid[None, :]).sum(axis=0)
    lam = counts / float(n)
    ok = lam > 0
    if ok.sum() < 3 or np.unique(counts[ok]).size == 1:
        return math.nan, math.nan
    slope, intercept = np.polyfit(grid[ok], np.log(lam[ok]), 1)
    return float(math.exp(intercept)), float(-slope)


@nb.njit(cache=True)
def glft_depths_nb(q, sigma, A, k, gamma, xi, delta):
    """Compiled body of :func:`strategies.glft.glft_depths` (``xi`` resolved: ``gamma`` for ``None``).

    Inputs are not checked here (the Python wrapper validates them). Returns ``(bid_depth,
    ask_depth)`` in the units of ``sigma`` and ``1/k``; formula and sources in
    :func:`strategies.glft.glft_depths` (Guéant 2017, eqs. 4.6–4.7).
    """
    if xi == 0.0:
        c1 = 1.0 / k
        c2 = math.sqrt(gamma * math.e / (2.0 * A * delta * k))
    else:
        r = xi * delta / k
        c1 = math.log1p(r) / (xi * delta)
        c2 = math.sqrt(gamma / (2.0 * A * delta * k) * math.exp((k / (xi * delta) + 1.0) * math.log1p(r)))
    half_spread = c1 + 0.5 * delta * sigma * c2
    skew = sigma * c2
    return half_spread + skew * q, half_spread - skew * q


@nb.njit(cache=True)
def glft_estimate_nb(depths, dmid, n, grid):
    """``(sigma, A, k)`` of the GLFT quoter's rolling window (the default :meth:`GLFTQuoter.estimate`).

    Parameters
    ----------
    depths, dmid : ndarray of float64, shape (window,)
        Ring buffers of the arrival depth (ticks, NaN without a trade) and mid change (ticks)
        per step; the first ``n`` entries are valid.
    n : int
        Number of valid entries (``1 <= n <= window``).
    grid : ndarray of float64, shape (g,)
        Depths of the intensity fit, ticks.

    Returns
    -------
    tuple of float
        σ = population standard deviation of ``dmid[:n]`` (ticks per √step), and A (per step),
        k (per tick) from :func:`fit_intensity_nb` (NaN when not identified).
    """
    sigma = np.std(dmid[:n])
    A, k = fit_intensity_nb(depths, n, grid)
    return sigma, A, k


@nb.njit(cache=True)
def glft_estimate_hist_nb(hist, dmid, n, grid):
    """:func:`glft_estimate_nb` with the depths given as their histogram (:func:`fit_intensity_hist_nb`)."""
    sigma = np.std(dmid[:n])
    A, k = fit_intensity_hist_nb(hist, n, grid)
    return sigma, A, k


@nb.njit(cache=True)
def as_depths_nb(q, sigma, k, gamma, tau):
    """Compiled body of :func:`strategies.avellaneda_stoikov.as_depths` (inputs not checked).

    Avellaneda & Stoikov (2008), eqs. (29)–(30): ``bid = qγσ²τ + δ``, ``ask = δ − qγσ²τ`` with
    ``δ = γσ²τ/2 + ln(1 + γ/k)/γ``; depths in the units of ``sigma`` and ``1/k``.
    """
    inventory_term = gamma * sigma * sigma * tau
    half_spread = 0.5 * inventory_term + math.log1p(gamma / k) / gamma
    return half_spread + q * inventory_term, half_spread - q * inventory_term
