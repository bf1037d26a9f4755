"""Avellaneda–Stoikov depths against the paper's formulas, and the quoter on recorded data."""

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.trial import run_trial
from strategies.avellaneda_stoikov import ASConfig, AvellanedaStoikovQuoter, as_depths
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"


def test_as_depths_hand_computed():
    """q=2, σ=0.5, k=1.5, γ=0.1, τ=20: r offset = qγσ²τ = 1.0; δ = 0.25 + ln(1+1/15)/0.1."""
    inv = 2 * 0.1 * 0.25 * 20  # = 1.0
    half = 0.1 * 0.25 * 20 / 2 + math.log(1 + 0.1 / 1.5) / 0.1  # = 0.25 + 0.645385...
    bid, ask = as_depths(q=2, sigma=0.5, k=1.5, gamma=0.1, tau=20)
    assert bid == pytest.approx(half + inv) and ask == pytest.approx(half - inv)
    assert half == pytest.approx(0.8953852, rel=1e-6)


@given(
    q=st.floats(-10, 10),
    sigma=st.floats(0, 5),
    k=st.floats(0.01, 10),
    gamma=st.floats(0.001, 10),
    tau=st.floats(0, 100),
)
def test_as_properties(q, sigma, k, gamma, tau):
    """Half spread > 0, symmetric at q = 0, bid − ask = 2qγσ²τ (skew against inventory)."""
    bid, ask = as_depths(q, sigma, k, gamma, tau)
    assert bid + ask > 0
    assert bid - ask == pytest.approx(2 * q * gamma * sigma**2 * tau, abs=1e-9 * (1 + abs(bid) + abs(ask)))
    b0, a0 = as_depths(0.0, sigma, k, gamma, tau)
    assert b0 == a0


def test_bad_inputs():
    """Non-positive k or γ, or negative σ/τ, raise ValueError."""
    for args in [(0, 1, 0, 1, 1), (0, 1, 1, 0, 1), (0, -1, 1, 1, 1), (0, 1, 1, 1, -1)]:
        with pytest.raises(ValueError):
            as_depths(*args)


def test_quoter_runs_on_recorded_data(tmp_path):
    """The quoter trades the bundled sample inside its inventory limit, deterministically."""
    feed = load_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),)), cache_dir=tmp_path)
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001)
    cfg = ASConfig(gamma=0.05, horizon_s=30, order_qty=0.05, max_position=0.5, warmup_s=5)
    a = run_trial(feed, venue, cfg, AvellanedaStoikovQuoter, seed=1).metrics
    b = run_trial(feed, venue, cfg, AvellanedaStoikovQuoter, seed=1).metrics
    assert a == b
    assert a["n_fills"] > 0
    assert a["max_abs_q"] <= cfg.max_position + cfg.order_qty + 1e-9
