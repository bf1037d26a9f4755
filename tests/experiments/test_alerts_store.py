"""Risk alerts travel from ``run_trial`` through the worker and the executor into ``alerts``."""

from __future__ import annotations

import sys
import types

import duckdb
import numpy as np
import pytest

from experiments.config import load_sweep
from experiments.executor import run_sweep
from experiments.progress import PlainReporter
from experiments.store import ResultStore, open_for_query, parts_dir
from strategies.risk import ALERT_DTYPE


def _alerts_for(gamma: float, seed: int) -> np.ndarray:
    """Two alerts (in time order, as ``RiskMonitors.alerts`` returns them) for gamma 0.01, one
    otherwise."""
    if gamma == 0.01:
        rows = [(1_000 + seed % 7, "drawdown", "drawdown", 4.0, 3.5, "halt"),
                (2_000, "inventory", "abs_q", 3.0, 3.0, "halt")]
    else:
        rows = [(5_000, "var", "var_99", 12.5, 10.0, "warn")]
    return np.array(rows, dtype=ALERT_DTYPE)


@pytest.fixture
def fake_trial(monkeypatch):
    """``experiments.trial`` stand-in whose results carry alerts; gamma >= 0.5 raises."""
    mod = types.ModuleType("experiments.trial")

    class TrialResult:
        def __init__(self, metrics, alerts):
            self.metrics, self.alerts = metrics, alerts
            self.equity = self.fills = None

    def run_trial(feed, venue, strategy, strategy_cls, seed, extras=None):
        if strategy.gamma >= 0.5:
            raise ZeroDivisionError("boom")
        return TrialResult({"pnl": 1.0}, _alerts_for(strategy.gamma, seed))

    mod.run_trial, mod.TrialResult = run_trial, TrialResult
    monkeypatch.setitem(sys.modules, "experiments.trial", mod)
    return mod


def test_alert_rows_are_stored_per_trial(write_sweep, base_toml, fake_trial, tmp_path):
    """Each done trial's alerts land in ``alerts`` with its sweep_id/trial_id; failed trials
    write none."""
    spec = load_sweep(write_sweep(base_toml))
    db = tmp_path / "r.duckdb"
    res = run_sweep(spec, results=db, workers=1, reporter=PlainReporter(open("/dev/null", "w")),
                    feed=object())  # fmt: skip
    assert (res.n_done, res.n_failed) == (4, 2)
    con = duckdb.connect(str(db), read_only=True)
    sweep_id = con.execute("SELECT sweep_id FROM sweeps").fetchone()[0]
    trials = con.execute("SELECT trial_id, gamma, seed, status FROM trials").fetchall()
    want = []
    for tid, gamma, seed, status in trials:
        if status == "done":
            want += [(sweep_id, tid, *map(lambda x: x.item(), r)) for r in _alerts_for(gamma, seed)]
    got = con.execute(
        'SELECT sweep_id, trial_id, ts_ns, monitor, metric, value, "limit", action FROM alerts '
        "ORDER BY trial_id, ts_ns").fetchall()
    assert got == sorted(want, key=lambda r: (r[1], r[2]))
    assert len(got) == 2 * 2 + 2 * 1
    failed = [t for t, _, _, s in trials if s == "failed"]
    assert con.execute(f"SELECT count(*) FROM alerts WHERE trial_id IN ({','.join('?' * len(failed))})",
                       failed).fetchone() == (0,)  # fmt: skip


def test_alerts_in_the_trial_transaction_and_parquet_parts(tmp_path):
    """record_trial writes alerts with the trial; while the sweep runs, the parts expose them."""
    store = ResultStore(tmp_path / "r.duckdb")
    sid = store.begin_sweep(
        name="s", config_path="/x/s.toml", config_toml="[sweep]\n", root_seed=1, replicates=1,
        n_trials=2, workers=1, strategy_kind="glft", strategy_class="strategies.glft:GLFTQuoter",
        data_format="binance_ws", data_paths=["/d/a.gz"], data_sha256=["ab"], symbol="ETHUSDT",
        code_version="0.1.0", param_columns={"gamma": "DOUBLE"},
    )
    alerts = np.array([(7, "data_gap", "time_since_data_s", 5.0, 4.0, "warn")], dtype=ALERT_DTYPE)
    store.record_trial(sid, trial_id="a" * 16, trial_index=0, params={"gamma": 0.1}, replicate=0,
                       seed=1, status="done", wall_s=0.1, metrics={"pnl": 1.0}, alerts=alerts)
    store.record_trial(sid, trial_id="b" * 16, trial_index=1, params={"gamma": 0.2}, replicate=0,
                       seed=2, status="done", wall_s=0.1, metrics={"pnl": 2.0},
                       alerts=np.zeros(0, dtype=ALERT_DTYPE))
    # alerts are written in the trial's transaction: a bad alerts array rolls the trial back
    with pytest.raises(ValueError):
        store.record_trial(sid, trial_id="c" * 16, trial_index=2, params={"gamma": 0.3},
                           replicate=0, seed=3, status="done", wall_s=0.1, metrics={"pnl": 3.0},
                           alerts=np.zeros(1, dtype=[("ts_ns", np.int64)]))
    assert store.con.execute("SELECT count(*) FROM trials WHERE trial_id = ?", ["c" * 16]).fetchone() == (0,)
    assert store.con.execute("SELECT count(*) FROM alerts").fetchone() == (1,)
    # readers while the sweep runs see the alerts in the Parquet parts (one file per trial)
    part_files = sorted((parts_dir(tmp_path / "r.duckdb") / sid / "alerts").glob("*.parquet"))
    assert [f.stem for f in part_files] == ["a" * 16, "b" * 16]
    listing = ", ".join(f"'{f}'" for f in part_files)
    rows = duckdb.connect().execute(
        'SELECT trial_id, ts_ns, monitor, metric, value, "limit", action '
        f"FROM read_parquet([{listing}])").fetchall()
    assert rows == [("a" * 16, 7, "data_gap", "time_since_data_s", 5.0, 4.0, "warn")]
    store.finish_sweep(sid, "interrupted")
    store.close()
    con, from_parts = open_for_query(tmp_path / "r.duckdb")
    assert not from_parts and con.execute("SELECT count(*) FROM alerts").fetchone() == (1,)
