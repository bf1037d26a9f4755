"""Calibration kernels of the GLFT quoter: compiled fit equals its reference and recovers A, k."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies._glft_nb import fit_intensity, fit_intensity_nb

GRID = np.arange(20, dtype=np.float64) + 0.5


@settings(deadline=None)
@given(
    depths=st.lists(
        st.one_of(st.floats(0, 30, allow_nan=False), st.just(math.nan)), min_size=1, max_size=300
    ),
)
def test_fit_kernel_matches_reference(depths):
    """fit_intensity_nb equals the np.polyfit reference (rtol 1e-9), NaN where unfit."""
    d = np.array(depths)
    got = fit_intensity_nb(d, d.size, GRID)
    want = fit_intensity(d, d.size, GRID)
    if math.isnan(want[0]):
        assert math.isnan(got[0]) and math.isnan(got[1])
    else:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_fit_recovers_exponential_intensity():
    """Depths drawn so that P(depth >= δ) = A·exp(−kδ) give back A and k."""
    A, k = 0.8, 0.6
    rng = np.random.default_rng(0)
    n = 200_000
    # with probability A a trade arrives, its depth exponential with rate k
    depths = np.where(rng.random(n) < A, rng.exponential(1 / k, n), np.nan)
    a_hat, k_hat = fit_intensity_nb(depths, n, GRID[:8])
    assert abs(a_hat - A) / A < 0.05
    assert abs(k_hat - k) / k < 0.05
