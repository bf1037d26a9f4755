"""A hedged sweep ([chain], [pool], [hedger] tables) end to end into DuckDB."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"

TOML = f"""
[sweep]
name = "hedged"
seed = 4
objective = "desk_pnl"

[data]
format = "binance_ws"
paths = ["{SAMPLE.as_posix()}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001

[strategy]
kind = "glft"
gamma = 0.001
order_qty = 0.05
max_position = 2.0
warmup_s = 5.0

[chain]
inclusion_b = 4.0

[pool]
kind = ["pancake_v2", "aerodrome_volatile"]

[hedger]
band = 0.05
bribe_policy = "fixed"
"""


@pytest.mark.timeout(240)
def test_hedged_sweep_stores_hedge_metrics(tmp_path):
    """Both pool kinds run; hedge costs, desk PnL and the band statistics land in `metrics`."""
    toml = tmp_path / "hedged.toml"
    toml.write_text(TOML)
    db = tmp_path / "h.duckdb"
    env = dict(os.environ, MMSIM_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "experiments.cli", "sweep", str(toml), "--results", str(db), "--plain"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    cur = con.execute("SELECT * FROM trials JOIN metrics USING (sweep_id, trial_id)")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    con.close()
    assert len(rows) == 2
    for r in rows:
        assert r["status"] == "done"
        assert r["n_hedges"] > 0 and r["hedge_pool_fee"] > 0 and r["hedge_bribe"] > 0
        assert r["desk_pnl"] != r["pnl"]
        assert r["max_abs_total_q"] < 2.0


FLOW = REPO / "data" / "uniswap_v3_usdc_weth"


def test_recorded_pool_flow_is_replayed_between_our_swaps(tmp_path):
    """`[pool] flow_path` replays recorded Uniswap v3 swaps on the hedging pool (one trial)."""
    from experiments.config import load_sweep
    from experiments.worker import run_trial_safely
    from venues.loaders import load_feed

    flow = next(FLOW.glob("ethereum-*.pool.tick.csv.gz"))
    body = TOML.replace('kind = ["pancake_v2", "aerodrome_volatile"]', f'kind = "pancake_v2"\nflow_path = "{flow}"\n'
                        "flow_scale = 0.01")
    toml = tmp_path / "flow.toml"
    toml.write_text(body)
    spec = load_sweep(toml)
    assert spec.trials[0].extras["pool"].flow_path == str(flow)
    outcome = run_trial_safely(load_feed(spec.data, cache_dir=tmp_path), spec.trials[0], spec.strategy_cls)
    assert outcome.status == "done", outcome.error
    assert outcome.metrics["n_background_swaps"] > 0
    bad = tmp_path / "bad.toml"
    bad.write_text(body.replace(str(flow), "missing.csv.gz"))
    from experiments.config import ConfigError

    with pytest.raises(ConfigError, match="pool.flow_path: file not found"):
        load_sweep(bad)


def test_signal_table_runs_and_stores_signal_metrics(tmp_path):
    """`[signal]` builds the walk-forward signal; alpha is a sweep axis; hit rate is stored."""
    from experiments.config import load_sweep
    from experiments.worker import run_trial_safely
    from venues.loaders import load_feed

    body = (
        TOML.split("[chain]")[0].replace("gamma = 0.001", "gamma = 0.01\nalpha = [0.0, 1.0]")
        + "\n[signal]\nn_estimators = 20\n"
    )
    toml = tmp_path / "sig.toml"
    toml.write_text(body)
    spec = load_sweep(toml)
    assert [t.strategy.alpha for t in spec.trials] == [0.0, 1.0]
    feed = load_feed(spec.data, cache_dir=tmp_path)
    os.environ["MMSIM_MODEL_CACHE"] = str(tmp_path / "models")
    try:
        outcomes = [run_trial_safely(feed, t, spec.strategy_cls) for t in spec.trials]
    finally:
        del os.environ["MMSIM_MODEL_CACHE"]
    assert all(o.status == "done" for o in outcomes), [o.error for o in outcomes]
    assert all(0.0 <= o.metrics["signal_hit_rate"] <= 1.0 for o in outcomes)
    assert outcomes[0].metrics["n_signal_predictions"] > 0


FEES = REPO / "data" / "ethereum_block_fees"
V3_DAY = next((REPO / "data" / "uniswap_v3_usdc_weth").glob("ethereum-*.pool.tick.csv.gz"))


def test_chain_profile_auction_and_v3_pool_in_one_trial(tmp_path):
    """Issue 15 through the sweep path: Ethereum profile, replayed base fees, the recorded-competitor
    auction, a Uniswap v3 pool initialised from recorded state with its recorded flow, sandwiches."""
    from experiments.config import load_sweep
    from experiments.worker import run_trial_safely
    from venues.fees import RECORDED_SWAP_GAS
    from venues.loaders import load_feed
    from venues.loaders.eth_blocks import load_etl_blocks

    (tmp_path / "d").mkdir()
    body = TOML.replace(
        "[chain]\ninclusion_b = 4.0",
        f'[chain]\nprofile = "ethereum"\nbase_fee = "replay"\nbase_fee_path = "{(FEES / ETL_NAME).as_posix()}"\n'
        f'inclusion = "auction"\nfee_data_path = "../{FEES.name}/mev_inspect_txs_derived.csv.gz"\nsandwich = true',
    ).replace(
        'kind = ["pancake_v2", "aerodrome_volatile"]',
        f'kind = "uniswap_v3"\nstate_path = "{V3_DAY.as_posix()}"\nflow_path = "{V3_DAY.as_posix()}"\n'
        "flow_scale = 0.01\nliquidity_scale = 0.01",
    ).replace('bribe_policy = "fixed"', 'bribe_policy = "percentile"\nbribe_percentile = 90.0\n'
              f'fee_data_path = "{(FEES / "mev_inspect_txs_derived.csv.gz").as_posix()}"')
    # the chain's fee_data_path is relative to the sweep file
    fees_dir = tmp_path / FEES.name
    fees_dir.mkdir()
    (fees_dir / "mev_inspect_txs_derived.csv.gz").write_bytes((FEES / "mev_inspect_txs_derived.csv.gz").read_bytes())
    toml = tmp_path / "d" / "chain.toml"
    toml.write_text(body)
    spec = load_sweep(toml)
    chain = spec.trials[0].extras["chain"]
    assert chain.fee_data_path == str(fees_dir / "mev_inspect_txs_derived.csv.gz")
    outcome = run_trial_safely(load_feed(spec.data, cache_dir=tmp_path), spec.trials[0], spec.strategy_cls)
    assert outcome.status == "done", outcome.error
    m = outcome.metrics
    assert m["gas_per_swap"] == RECORDED_SWAP_GAS["v3"]
    # 8 minutes of 12 s blocks replay the first ~40 recorded base fees (tens of gwei in Sep 2022)
    recorded = load_etl_blocks(FEES / ETL_NAME)["base_fee_per_gas"][:45] / 1e9
    assert recorded.min() <= m["mean_base_fee_gwei"] <= recorded.max()
    assert m["n_hedges"] > 0 and m["hedge_gas"] > 0 and m["hedge_bribe"] > 0
    assert m["n_background_swaps"] > 0
    assert m["hedge_sandwich"] >= 0.0


ETL_NAME = "ethereum_etl_blocks_15533942_15534999.csv.gz"


def test_chain_keys_are_checked_at_load(tmp_path):
    from experiments.config import ConfigError, load_sweep

    cases = [
        ("[chain]\ninclusion_b = 4.0", '[chain]\ninclusion = "fitted"\nfee_data_path = "nope.csv.gz"',
         "chain.fee_data_path: file not found"),
        ("[chain]\ninclusion_b = 4.0", '[chain]\nbase_fee = "eip1559"', "needs a gas limit"),
        ('bribe_policy = "fixed"', 'bribe_policy = "percentile"\nfee_data_path = "nope"', "hedger.fee_data_path"),
        ('kind = ["pancake_v2", "aerodrome_volatile"]', 'kind = "uniswap_v3"\nstate_path = "x.csv"',
         "pool.state_path: file not found"),
    ]
    for old, new, message in cases:
        toml = tmp_path / "c.toml"
        toml.write_text(TOML.replace(old, new))
        with pytest.raises(ConfigError, match=message):
            load_sweep(toml)


def test_solana_profile_with_a_raydium_pool_in_a_trial(tmp_path):
    """`[chain] profile = "solana"` (400 ms slots, fees in SOL, Jito tip as the bribe) on a Raydium CPMM pool."""
    from experiments.config import load_sweep
    from experiments.worker import run_trial_safely
    from venues.loaders import load_feed

    body = TOML.replace(
        "[chain]\ninclusion_b = 4.0",
        '[chain]\nprofile = "solana"\nnative_px = 150.0\ncompute_unit_price_micro_lamports = 10000\ninclusion_b = 4.0',
    ).replace('kind = ["pancake_v2", "aerodrome_volatile"]', 'kind = "raydium_cpmm"\ndecimals1 = 8')
    toml = tmp_path / "sol.toml"
    toml.write_text(body)
    spec = load_sweep(toml)
    outcome = run_trial_safely(load_feed(spec.data, cache_dir=tmp_path), spec.trials[0], spec.strategy_cls)
    assert outcome.status == "done", outcome.error
    m = outcome.metrics
    assert m["n_hedges"] > 0
    # every landed or reverted hedge paid 7,000 lamports (5,000 + 10,000 µlamports × 200,000 CU) at 150 USD/SOL
    n_paid = m["n_hedges"] + m["n_tx_dropped"]
    assert m["hedge_gas"] / 7000e-9 / 150.0 == pytest.approx(round(m["hedge_gas"] / 7000e-9 / 150.0))
    assert m["hedge_gas"] <= n_paid * 7000e-9 * 150.0 + 1e-12
