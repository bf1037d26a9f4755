"""The inclusion curve fitted on recorded blocks, beside the data, and used by the chain (`inclusion = "fitted"`)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from components.chain_events import SwapExecuted
from engine.kernel import Simulation
from venues.amm import PancakeV2Pool
from venues.chain import Chain, ChainConfig, PoolAdapter
from venues.inclusion import fit_inclusion_from_blocks, inclusion_curve

REPO = Path(__file__).resolve().parents[2]
FEES = REPO / "data" / "ethereum_block_fees" / "mev_inspect_txs_derived.csv.gz"
JSON_DIR = REPO.parent / "shared" / "data" / "ethereum_block_fees" / "mev_inspect_blocks"


@pytest.fixture(scope="module")
def fitted():
    return fit_inclusion_from_blocks(FEES)


def test_fitted_curve_matches_the_data_bin_by_bin(fitted):
    """Observed inclusion share vs mean fitted p per bribe bin: within 0.02 everywhere, rising."""
    fit, ds = fitted
    curve = inclusion_curve(ds, fit, n_bins=10)
    assert curve["n"].sum() == ds.bribes.size == 22_880
    assert np.all(np.abs(curve["empirical"] - curve["fitted"]) < 0.02), curve
    assert np.all(np.diff(curve["fitted"]) >= 0) and curve["empirical"][0] < 0.6 < curve["empirical"][-1]
    # the lowest bin: about 56 % of the rows there cleared the other blocks' marginal fee
    assert curve["empirical"][0] == pytest.approx(0.559, abs=0.001)


@pytest.mark.skipif(not JSON_DIR.is_dir(), reason="shared data not present")
def test_fit_on_raw_block_json_equals_fit_on_the_derived_csv(fitted):
    fit, _ = fitted
    fit_json, _ = fit_inclusion_from_blocks(str(JSON_DIR))
    assert (fit_json.a, fit_json.b) == (fit.a, fit.b)


def test_cli_prints_the_curve_and_fails_cleanly():
    ok = subprocess.run([sys.executable, "-m", "venues.inclusion", str(FEES), "--bins", "4"], capture_output=True,
                        text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and "observed" in ok.stdout and "a = -4.79" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "venues.inclusion", "nope.csv"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "nope.csv" in bad.stdout


def test_chain_draws_inclusion_from_the_fitted_curve(fitted):
    """`inclusion = "fitted"`: at the fee where the fit gives p = 1/2, about half the swaps land."""
    fit, _ = fitted
    x_half = -fit.a / fit.b  # gwei/gas
    gas, px = 100_000, 1000.0
    bribe = x_half * gas * 1e-9 * px  # USD per transaction paying x_half gwei/gas
    sim = Simulation(7)
    adapter = PoolAdapter(PancakeV2Pool(10**12, 10**21, fee_bps=25), base_token=1, decimals0=6, decimals1=18,
                          fee_bps=25)  # fmt: skip
    chain = Chain(sim, ChainConfig(inclusion="fitted", fee_data_path=str(FEES), gas_per_swap=gas, native_px=px),
                  {"p": adapter})  # fmt: skip
    assert (chain.fit.a, chain.fit.b) == (fit.a, fit.b)
    a, b = chain.inclusion_model("p")
    assert a + b * bribe == pytest.approx(0.0, abs=1e-9)  # the quote-unit model at the same point
    events = []
    n = 400
    for k in range(n):
        chain.submit_swap(events.append, pool="p", amount_in=10**12, zero_for_one=False, bribe=bribe,
                          arrival_ns=k * 2 * 10**9)  # fmt: skip
    sim.run(until_ns=(n + 1) * 2 * 10**9)
    landed = sum(isinstance(e, SwapExecuted) for e in events)
    assert len(events) == n
    assert abs(landed - n / 2) < 4 * np.sqrt(n / 4)  # binomial, 4 sigma
