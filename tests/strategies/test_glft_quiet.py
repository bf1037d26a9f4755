"""GLFT on a quiet market (issue 10, item 7): an unidentified intensity fit never leads to
absurd quotes.

Data: the bundled Hyperliquid ETH collector capture (``data/hyperliquid_eth``, real recorded
20-level snapshots + trades), with the trade tape thinned to every 10th trade (from the 3rd) —
78 trades in 9 minutes, a quiet coin's tape — and the settings of ``experiments/hyperliquid_eth.toml``
(100 ms decisions, 120 s window, 30 s warm-up, 0.01 ETH orders, entry latency 10 / 400 ms).
On this tape most refits see λ(δ) flat over the depths reached (every arrival went at least as
far as the deepest grid point with a count); before the fix such a fit gave k ≈ 2e-16 per
tick, depths of ~1e14 ticks and orders priced ~3e16 USD away from a 4,300 USD mid.
"""

from __future__ import annotations

import gzip
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from experiments.trial import run_trial
from strategies._glft_nb import fit_intensity, fit_intensity_nb
from strategies.glft import GLFTConfig, GLFTQuoter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig

ROOT = Path(__file__).resolve().parents[2]
HL = ROOT / "data" / "hyperliquid_eth"


@pytest.fixture(scope="module")
def quiet_feed(tmp_path_factory):
    d = tmp_path_factory.mktemp("quiet")
    lines = gzip.open(HL / "trades_ETH.csv.gz", "rt").read().splitlines()
    (d / "trades_ETH.csv").write_text("\n".join([lines[0], *lines[3::10]]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # funding / local-lag notes of this capture
        return load_feed(
            DataConfig(
                format="hyperliquid_collector",
                paths=(str(HL / "orderbooks_ETH.csv.gz"), str(d / "trades_ETH.csv")),
                symbol="ETH",
                meta_path=str(HL / "sdk_cassette_meta_2023.json"),
            ),
            cache_dir=str(d),
        )


class _Recording(GLFTQuoter):
    """GLFT that logs every order it sends with the venue's mid at that moment."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent: list[tuple[float, float]] = []

    def submit_limit(self, *, side, px, qty, tif=None):
        self.sent.append((px, self.venue.mid))
        return super().submit_limit(side=side, px=px, qty=qty) if tif is None else super().submit_limit(
            side=side, px=px, qty=qty, tif=tif
        )


def _run(feed, gamma, entry_ms, **kw):
    holder = {}

    class Q(_Recording):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            holder["q"] = self

    venue = VenueConfig(profile="hyperliquid", entry_latency_ms=entry_ms, response_latency_ms=5.0)
    kw = {"order_qty": 0.01, "max_position": 0.1, "interval_ms": 100.0, "window_s": 120.0, "warmup_s": 30.0,
          "gamma": gamma, **kw}  # fmt: skip
    cfg = GLFTConfig(**kw)
    res = run_trial(feed, venue, cfg, Q, seed=11)
    return res, holder["q"]


@pytest.mark.parametrize("entry_ms", [10.0, 400.0])
@pytest.mark.parametrize("gamma", [0.005, 1.0])
def test_quiet_tape_quotes_stay_in_band(quiet_feed, gamma, entry_ms):
    """Every order price is positive and within 5% of the mid (the default band, plus one
    5-significant-figure tick of rounding), unidentified fits happen and are counted, and the
    quoter still trades."""
    res, q = _run(quiet_feed, gamma, entry_ms)
    px = np.array([p for p, _ in q.sent])
    mid = np.array([m for _, m in q.sent])
    assert px.size > 0 and np.all(px > 0)
    assert np.all(np.abs(px - mid) <= 0.05 * mid + 1.0), (px - mid)[np.abs(px - mid) > 0.05 * mid + 1.0][:5]
    # depths capped at max_fit_depth_ticks = 50 ticks (tick 0.1 USD at ~4,300 USD)
    assert np.all(np.abs(px - mid) <= 50 * 0.1 + 0.1 + 1e-9)
    assert res.metrics["n_fills"] > 0
    assert q.n_unidentified_fits > 0  # the window really is too quiet for some refits
    assert 0 < q.k < math.inf and 0 < q.A < math.inf


def test_flat_intensity_is_not_identified():
    """Hand case: 600 steps, two arrivals that both reached 3.0 ticks. λ(0.5) = λ(1.5) =
    λ(2.5) = 2/600 and λ(δ ≥ 3.5) = 0: three equal points, no decay to fit → NaN (before the
    fix: A = 2/600, k ≈ 1e-16). One more arrival at 1.0 tick makes λ decrease → identified."""
    depths = np.full(600, np.nan)
    depths[[10, 20]] = 3.0
    grid = np.arange(50, dtype=np.float64) + 0.5
    for fit in (fit_intensity_nb, fit_intensity):
        a, k = fit(depths, 600, grid)
        assert math.isnan(a) and math.isnan(k)
    depths[30] = 1.0
    for fit in (fit_intensity_nb, fit_intensity):
        a, k = fit(depths, 600, grid)
        # log λ = log(3/600), log(2/600), log(2/600) at δ = 0.5, 1.5, 2.5: OLS slope −ln(1.5)/2
        assert k == pytest.approx(math.log(1.5) / 2, rel=1e-12)
        y_mean = (math.log(3 / 600) + 2 * math.log(2 / 600)) / 3
        assert a == pytest.approx(math.exp(y_mean + 1.5 * k), rel=1e-12)  # intercept ȳ − slope·x̄


def test_prior_quotes_before_first_fit(quiet_feed):
    """With prior_A/prior_k the quoter quotes during the warm-up-to-first-fit gap; without,
    it waits. A prior needs both values and a cap below the floor is refused."""
    _, without = _run(quiet_feed, 0.05, 10.0, warmup_s=300.0)
    _, with_prior = _run(quiet_feed, 0.05, 10.0, warmup_s=300.0, prior_A=0.05, prior_k=0.3)
    assert len(with_prior.sent) > len(without.sent)
    with pytest.raises(ValueError, match="prior_A and prior_k"):
        GLFTConfig(order_qty=0.01, max_position=0.1, prior_A=0.1)
    with pytest.raises(ValueError, match="max_depth_ticks"):
        GLFTConfig(order_qty=0.01, max_position=0.1, max_depth_ticks=0.25)
