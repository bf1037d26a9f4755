"""MLflow logging into a local file store: one run per trial, params, metrics, tags."""

from __future__ import annotations

import math
import sys

import pytest

pytest.importorskip("mlflow")

from experiments.config import load_sweep  # noqa: E402
from experiments.mlflow_log import MlflowLogger  # noqa: E402
from experiments.progress import TrialOutcome  # noqa: E402


@pytest.fixture(autouse=True)
def _allow_file_store(monkeypatch):
    """Recent MLflow 3.x refuses ``file://`` tracking stores unless opted in."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


@pytest.fixture
def trials(write_sweep, base_toml):
    return load_sweep(write_sweep(base_toml)).trials[:3]


def test_three_trials_logged_and_read_back(tmp_path, trials):
    from mlflow.tracking import MlflowClient

    uri = f"file://{tmp_path}/mlruns"
    outcomes = [
        TrialOutcome(trial_id=trials[0].trial_id, status="done", wall_s=1.25,
                     metrics={"pnl": 12.5, "n_fills": 3.0, "pnl_per_1k_notional": math.nan}),
        TrialOutcome(trial_id=trials[1].trial_id, status="done", wall_s=0.5,
                     metrics={"pnl": -4.0, "n_fills": 7.0, "pnl_per_1k_notional": 0.25}),
        TrialOutcome(trial_id=trials[2].trial_id, status="failed", wall_s=0.1,
                     error="RuntimeError: exploding quoter"),
    ]
    with MlflowLogger(uri, "mm-sweep") as log:
        run_ids = [log.log_trial(t, o, "sweep-123") for t, o in zip(trials, outcomes, strict=True)]
        assert all(run_ids) and log.n_logged == 3 and log.n_errors == 0
    with pytest.raises(RuntimeError, match="closed"):
        log.log_trial(trials[0], outcomes[0], "sweep-123")

    # a second logger on the same experiment reuses it
    assert MlflowLogger(uri, "mm-sweep").experiment_id == log.experiment_id

    client = MlflowClient(tracking_uri=uri)
    runs = {r.data.tags["trial_id"]: r for r in client.search_runs([log.experiment_id])}
    assert set(runs) == {t.trial_id for t in trials}
    for trial, outcome in zip(trials, outcomes, strict=True):
        run = runs[trial.trial_id]
        expected_params = {k: str(v) for k, v in trial.params.items()}
        expected_params.update(seed=str(trial.seed), replicate=str(trial.replicate))
        assert run.data.params == expected_params
        expected_metrics = {k: v for k, v in outcome.metrics.items() if not math.isnan(v)}
        expected_metrics["wall_s"] = outcome.wall_s
        assert run.data.metrics == pytest.approx(expected_metrics)
        assert run.data.tags["sweep_id"] == "sweep-123"
        assert run.data.tags["status"] == outcome.status
        assert run.data.tags["trial_index"] == str(trial.index)
        assert run.info.run_name == trial.trial_id
        assert run.info.status == ("FINISHED" if outcome.status == "done" else "FAILED")
    assert "pnl_per_1k_notional" not in runs[trials[0].trial_id].data.metrics  # NaN skipped
    assert runs[trials[2].trial_id].data.tags["error"] == "RuntimeError: exploding quoter"
    assert "error" not in runs[trials[0].trial_id].data.tags
    # queryable by tag, as a user would
    found = client.search_runs([log.experiment_id], "tags.status = 'failed'")
    assert [r.data.tags["trial_id"] for r in found] == [trials[2].trial_id]


def test_logging_failures_warn_once_unless_strict(tmp_path, trials, monkeypatch):
    log = MlflowLogger(f"file://{tmp_path}/mlruns", "x")
    outcome = TrialOutcome(trial_id=trials[0].trial_id, status="done", metrics={"pnl": 1.0})

    def boom(*a, **k):
        raise OSError("store unreachable")

    monkeypatch.setattr(log._client, "create_run", boom)
    with pytest.warns(RuntimeWarning, match="store unreachable"):
        assert log.log_trial(trials[0], outcome, "s") is None
    assert log.log_trial(trials[1], outcome, "s") is None  # counted, not warned again
    assert (log.n_logged, log.n_errors) == (0, 2)
    log.strict = True
    with pytest.raises(OSError, match="store unreachable"):
        log.log_trial(trials[0], outcome, "s")


def test_missing_mlflow_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow → ImportError
    with pytest.raises(ImportError, match=r"pip install 'mmsim\[mlflow\]'"):
        MlflowLogger("file:///nowhere", "x")
