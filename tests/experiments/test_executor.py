"""The executor with a stand-in ``run_trial``: failures are recorded and the sweep goes on."""

from __future__ import annotations

import math
import sys
import types

import duckdb
import pytest

from experiments.config import load_sweep
from experiments.executor import resolve_workers, run_sweep
from experiments.progress import PlainReporter


@pytest.fixture
def fake_trial(monkeypatch):
    """Replace ``experiments.trial`` in this process: metrics from (seed, gamma); gamma >= 0.5
    raises; gamma == 0.1 reports a NaN ``pnl_per_1k_notional`` (never held inventory)."""
    mod = types.ModuleType("experiments.trial")

    class TrialResult:
        def __init__(self, metrics):
            self.metrics = metrics
            self.equity = None
            self.fills = None

    def run_trial(feed, venue, strategy, strategy_cls, seed):
        if strategy.gamma >= 0.5:
            raise ZeroDivisionError(f"fake failure at gamma={strategy.gamma}")
        per_1k = math.nan if strategy.gamma == 0.1 else seed % 1000 / 7.0
        return TrialResult({"pnl": seed % 997 * 0.5, "pnl_per_1k_notional": per_1k,
                            "n_fills": 3.0, "extra_metric": 1.5})

    mod.run_trial, mod.TrialResult = run_trial, TrialResult
    monkeypatch.setitem(sys.modules, "experiments.trial", mod)
    return mod


def test_failing_trials_are_recorded_and_the_sweep_goes_on(
    write_sweep, base_toml, fake_trial, tmp_path
):
    """A trial that raises is stored as 'failed' with 'Type: message'; the others finish."""
    spec = load_sweep(write_sweep(base_toml.replace('"glft"', '"mm_test_plugins:ExplodingQuoter"')))
    db = tmp_path / "out" / "r.duckdb"
    lines = []

    class Stream:
        def write(self, s):
            lines.append(s)

        def flush(self):
            pass

    res = run_sweep(spec, results=db, workers=1, reporter=PlainReporter(Stream(), ["gamma"]),
                    feed=object())
    assert (res.n_done, res.n_failed, res.n_total, res.interrupted) == (4, 2, 6, False)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT gamma, queue_model, status, error, traceback IS NOT NULL FROM trials "
        "WHERE status = 'failed' ORDER BY queue_model"
    ).fetchall()
    assert rows == [
        (1.0, "prob_power", "failed", "ZeroDivisionError: fake failure at gamma=1.0", True),
        (1.0, "risk_averse", "failed", "ZeroDivisionError: fake failure at gamma=1.0", True),
    ]
    assert con.execute("SELECT count(*) FROM metrics").fetchone() == (4,)
    # NaN metrics are stored as NULL so that ORDER BY ... DESC does not rank them first
    assert con.execute(
        "SELECT count(*) FROM metrics JOIN trials USING (sweep_id, trial_id) "
        "WHERE gamma = 0.1 AND pnl_per_1k_notional IS NULL"
    ).fetchone() == (2,)
    # metrics the schema did not know are added as DOUBLE columns
    assert con.execute("SELECT DISTINCT extra_metric FROM metrics").fetchall() == [(1.5,)]
    assert con.execute("SELECT status, n_trials, strategy_class FROM sweeps").fetchone() == (
        "done", 6, "mm_test_plugins:ExplodingQuoter"
    )
    text = "".join(lines)
    assert "[6/6]" in text and "failed" in text and "4 done, 2 failed" in text


def test_seeds_in_the_store_are_the_derived_ones(write_sweep, base_toml, fake_trial, tmp_path):
    """Every stored seed and id equals the spec's (derived from root seed and trial id)."""
    spec = load_sweep(write_sweep(base_toml))
    db = tmp_path / "r.duckdb"
    run_sweep(spec, results=db, workers=1, reporter=PlainReporter(open("/dev/null", "w")),
              feed=object())
    con = duckdb.connect(str(db), read_only=True)
    stored = dict(con.execute("SELECT trial_id, seed FROM trials").fetchall())
    assert stored == {t.trial_id: t.seed for t in spec.trials}


def test_resolve_workers(write_sweep, base_toml):
    """0 means all cores; never more workers than trials; an explicit value wins."""
    spec = load_sweep(write_sweep(base_toml))
    assert resolve_workers(1, spec) == 1
    assert resolve_workers(64, spec) == 6
    assert 1 <= resolve_workers(0, spec) <= 6
    assert resolve_workers(None, spec) == resolve_workers(0, spec)
