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
