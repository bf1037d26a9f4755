"""The DuckDB store: schema, one transaction per trial, columns added as they appear."""

from __future__ import annotations

import math

import duckdb

from experiments.store import STANDARD_METRICS, ResultStore


def _begin(store, **over):
    kw = dict(
        name="s", config_path="/x/s.toml", config_toml="[sweep]\n", root_seed=1, replicates=1,
        n_trials=2, workers=1, strategy_kind="glft", strategy_class="strategies.glft:GLFTQuoter",
        data_format="binance_ws", data_paths=["/d/a.gz"], data_sha256=["ab"], symbol="ETHUSDT",
        code_version="0.1.0", param_columns={"gamma": "DOUBLE", "queue_model": "VARCHAR"},
    )
    kw.update(over)
    return store.begin_sweep(**kw)


def test_tables_columns_and_rows(tmp_path):
    """sweeps/trials/metrics exist with typed parameter and metric columns, one row each."""
    store = ResultStore(tmp_path / "sub" / "r.duckdb")
    sid = _begin(store)
    store.record_trial(sid, trial_id="a" * 16, trial_index=0,
                       params={"gamma": 0.1, "queue_model": "risk_averse"}, replicate=0, seed=5,
                       status="done", wall_s=0.5, metrics={"pnl": 1.0, "fees": math.inf})
    store.record_trial(sid, trial_id="b" * 16, trial_index=1,
                       params={"gamma": 0.2, "queue_model": "risk_averse"}, replicate=0, seed=6,
                       status="failed", wall_s=0.1, error="ValueError: x")
    store.finish_sweep(sid, "done")
    store.close()
    con = duckdb.connect(str(tmp_path / "sub" / "r.duckdb"), read_only=True)
    types = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name='trials'"
    ).fetchall())
    assert types["gamma"] == "DOUBLE" and types["queue_model"] == "VARCHAR"
    assert types["seed"] == "BIGINT" and types["wall_s"] == "DOUBLE"
    mcols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name='metrics'"
    ).fetchall()]
    assert set(STANDARD_METRICS) <= set(mcols)
    assert con.execute("SELECT pnl, fees FROM metrics").fetchall() == [(1.0, None)]
    assert con.execute("SELECT status, error FROM trials ORDER BY trial_id").fetchall() == [
        ("done", None), ("failed", "ValueError: x"),
    ]
    assert con.execute("SELECT status, finished_at IS NOT NULL FROM sweeps").fetchone() == (
        "done", True,
    )


def test_second_sweep_with_new_parameters_adds_columns(tmp_path):
    """A later sweep into the same file with other parameters adds the missing columns."""
    store = ResultStore(tmp_path / "r.duckdb")
    s1 = _begin(store)
    s2 = _begin(store, param_columns={"half_spread_bps": "DOUBLE"})
    store.record_trial(s2, trial_id="c" * 16, trial_index=0, params={"half_spread_bps": 2.0},
                       replicate=0, seed=1, status="done", wall_s=0.0, metrics={"pnl": 2.0})
    names, rows = store.top_trials(s2, "pnl_per_1k_notional", ["half_spread_bps"])
    store.close()
    assert s1 != s2
    assert names[:3] == ["trial_id", "half_spread_bps", "pnl_per_1k_notional"]
    assert rows == [("c" * 16, 2.0, None, 2.0, None, None, None)]


def test_parts_left_by_a_crash_after_the_final_commit_are_dropped(tmp_path):
    """A sweep marked done whose parts survived (crash during the final checkpoint): the next
    writer removes them, so readers never race on stale parts; a running sweep's stay."""
    import shutil

    from experiments.store import parts_dir

    path = tmp_path / "r.duckdb"
    store = ResultStore(path)
    done = _begin(store)
    store.record_trial(done, trial_id="a", trial_index=0, params={"gamma": 0.1, "queue_model": "q"},
                       replicate=0, seed=1, status="done", wall_s=0.1, metrics={"pnl": 1.0})
    keep = shutil.copytree(parts_dir(path) / done, tmp_path / "saved")
    store.finish_sweep(done, "done")
    other = _begin(store)
    store.close()
    shutil.copytree(keep, parts_dir(path) / done)  # as if the crash came before the rmtree
    assert (parts_dir(path) / done).is_dir() and (parts_dir(path) / other).is_dir()
    ResultStore(path).close()
    assert not (parts_dir(path) / done).exists()
    assert (parts_dir(path) / other).is_dir()


def test_retried_trial_replaces_its_failed_rows_in_one_transaction(tmp_path):
    store = ResultStore(tmp_path / "r.duckdb", parts=False)
    sid = _begin(store)
    kw = dict(trial_id="a", trial_index=0, params={"gamma": 0.1, "queue_model": "q"},
              replicate=0, seed=1, wall_s=0.1)
    store.record_trial(sid, status="failed", error="ProcessExpired: worker process died", **kw)
    with __import__("pytest").raises(duckdb.ConstraintException):
        store.record_trial(sid, status="done", metrics={"pnl": 2.0}, **kw)
    store.record_trial(sid, status="done", metrics={"pnl": 2.0}, replace=True, **kw)
    assert store.con.execute("SELECT status, error FROM trials").fetchall() == [("done", None)]
    assert store.con.execute("SELECT pnl FROM metrics").fetchall() == [(2.0,)]
    store.close()
