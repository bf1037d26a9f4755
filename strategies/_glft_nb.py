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
    g = grid.size
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    m = 0
    c_first = -1
    c_last = -1
    for j in range(g):
        c = 0
        for i in range(n):
            if depths[i] >= grid[j]:
                c += 1
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
