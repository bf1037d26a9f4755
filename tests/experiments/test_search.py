"""Trial sources: grid/random hand-out and resume, Bayesian (Optuna TPE) proposals, study
persistence and resume. Fake metrics only: no simulation runs here."""

from __future__ import annotations

import math

import pytest

from experiments.config import load_sweep
from experiments.search import (
    BayesSource,
    ListSource,
    TrialSource,
    journal_path,
    make_source,
)

BAYES_BODY = """
[sweep]
name = "b"
seed = 11
method = "bayes"
n_trials = {n_trials}
replicates = {replicates}

[data]
format = "binance_ws"
paths = ["a.gz"]

[venue]
queue_model = {{ choice = ["risk_averse", "prob_power"] }}
entry_latency_ms = {{ low = 0.0, high = 20.0, step = 5.0 }}

[strategy]
kind = "glft"
gamma = {{ low = 0.001, high = 1.0, log = true }}
recalibrate_every = {{ low = 1, high = 20 }}
"""


def fake_metrics(trial) -> dict[str, float]:
    """A smooth objective of the parameters, best near gamma = 0.05."""
    g = trial.params["gamma"]
    value = -abs(math.log(g / 0.05)) - 0.01 * trial.params["entry_latency_ms"]
    return {"pnl_per_1k_notional": value, "pnl": 10 * value}


def drain(source: TrialSource, batch: int, limit: int | None = None) -> list:
    """Run a source to the end (or ``limit`` trials), reporting each batch at once."""
    ran = []
    while not source.finished():
        trials = source.next_trials(batch)
        assert trials, "a source that is not finished with nothing running must propose"
        for t in trials:
            source.report(t, fake_metrics(t))
            ran.append(t)
            if limit is not None and len(ran) >= limit:
                return ran
    return ran


def _bayes_spec(write_sweep, n_trials=8, replicates=1, name="b.toml"):
    return load_sweep(write_sweep(BAYES_BODY.format(n_trials=n_trials, replicates=replicates),
                                  name))


def test_grid_source_hands_out_everything_once_and_skips_stored(write_sweep, base_toml, tmp_path):
    """A grid source hands out spec.trials in order; on resume, stored trials are skipped."""
    spec = load_sweep(write_sweep(base_toml))
    src = make_source(spec, results_path=tmp_path / "r.duckdb", sweep_id="s", already={})
    assert isinstance(src, ListSource) and isinstance(src, TrialSource) and src.total == 6
    ran = drain(src, batch=4)
    assert [t.trial_id for t in ran] == [t.trial_id for t in spec.trials]
    stored = {t.trial_id: {"pnl": 1.0} for t in spec.trials[:4]}
    stored[spec.trials[1].trial_id] = None  # a failed trial is stored too: not re-run
    src = make_source(spec, results_path=tmp_path / "r.duckdb", sweep_id="s", already=stored)
    assert src.total == 6
    assert [t.index for t in drain(src, batch=1)] == [4, 5]
    assert src.next_trials(3) == [] and src.finished()


def test_random_source_is_independent_of_batch_size(write_sweep, base_toml, tmp_path):
    """Random trials are fixed by the root seed: batches of 1 or 5, same trials, same order."""
    body = base_toml.replace("seed = 3", 'seed = 3\nmethod = "random"\nn_trials = 9').replace(
        "[0.01, 0.1, 1.0]", "{ low = 0.001, high = 1.0, log = true }")
    spec = load_sweep(write_sweep(body))
    again = load_sweep(write_sweep(body, "again.toml"))
    one = drain(make_source(spec, results_path=tmp_path / "r", sweep_id="a", already={}), 1)
    five = drain(make_source(again, results_path=tmp_path / "r", sweep_id="b", already={}), 5)
    assert [(t.trial_id, t.seed, t.strategy.gamma) for t in one] == \
        [(t.trial_id, t.seed, t.strategy.gamma) for t in five]
    assert len({t.trial_id for t in one}) == 9


def test_bayes_is_reproducible_from_seed_and_results(write_sweep, tmp_path):
    """Same root seed and same reported results → the same proposals (two fresh studies)."""
    spec = _bayes_spec(write_sweep)
    runs = []
    for name in ("one", "two"):
        src = make_source(spec, results_path=tmp_path / f"{name}.duckdb", sweep_id=name,
                          already={})
        assert isinstance(src, BayesSource) and src.total == 8
        runs.append([(t.trial_id, t.params["gamma"], t.params["queue_model"])
                     for t in drain(src, batch=1)])
        assert src.study.best_value is not None
    assert runs[0] == runs[1]
    assert len({r[0] for r in runs[0]}) == 8


def test_bayes_proposals_map_each_range_kind(write_sweep, tmp_path):
    """Step ranges land on their decimal points, int ranges are ints, log ranges in bounds."""
    spec = _bayes_spec(write_sweep, n_trials=12)
    src = make_source(spec, results_path=tmp_path / "r.duckdb", sweep_id="m", already={})
    trials = drain(src, batch=3)
    assert len(trials) == 12 and [t.index for t in trials] == list(range(12))
    for t in trials:
        assert t.params["entry_latency_ms"] in (0.0, 5.0, 10.0, 15.0, 20.0)
        assert type(t.params["recalibrate_every"]) is int
        assert 1 <= t.params["recalibrate_every"] <= 20
        assert 0.001 <= t.params["gamma"] <= 1.0
        assert t.params["queue_model"] in ("risk_averse", "prob_power")
    assert journal_path(tmp_path / "r.duckdb").name == "r.duckdb.optuna.journal"
    assert journal_path(tmp_path / "r.duckdb").is_file()


def test_bayes_waits_for_results_only_when_all_points_are_out(write_sweep, tmp_path):
    """Parallel proposals up to n_trials points; then [] until results come back."""
    spec = _bayes_spec(write_sweep, n_trials=3, replicates=2)
    src = make_source(spec, results_path=tmp_path / "r.duckdb", sweep_id="w", already={})
    assert src.total == 6
    out = src.next_trials(5)
    assert [t.replicate for t in out] == [0, 1, 0, 1, 0]
    assert [t.index for t in out] == [0, 1, 2, 3, 4]
    out += src.next_trials(5)
    assert len(out) == 6 and src.next_trials(5) == [] and not src.finished()
    for t in out:
        src.report(t, None if t.index == 0 else fake_metrics(t))
    assert src.finished()
    states = [t.state.name for t in src.study.get_trials()]
    assert states == ["COMPLETE"] * 3  # point 0 still has one good replicate
    src2 = make_source(spec, results_path=tmp_path / "f.duckdb", sweep_id="f", already={})
    trials = src2.next_trials(2)
    for t in trials:
        src2.report(t, {"pnl_per_1k_notional": float("nan")})
    assert src2.study.get_trials()[0].state.name == "FAIL"


def test_bayes_study_persists_and_resumes(write_sweep, tmp_path):
    """Run 5 points, drop the source, resume with the stored results: the study continues to
    n_trials points, never proposing a told point again; orphaned running points (a crash)
    are re-proposed with the same trial ids."""
    spec = _bayes_spec(write_sweep, n_trials=10)
    results = tmp_path / "r.duckdb"
    src = make_source(spec, results_path=results, sweep_id="p", already={})
    first_five = drain(src, batch=1, limit=5)
    stored = {t.trial_id: fake_metrics(t) for t in first_five}
    orphans = src.next_trials(2)  # handed out, never reported: the parent dies here
    del src

    resumed = make_source(spec, results_path=results, sweep_id="p", already=stored)
    assert resumed.total == 10
    first = resumed.next_trials(2)
    assert [t.trial_id for t in first] == [t.trial_id for t in orphans]
    assert [t.index for t in first] == [5, 6]
    for t in first:
        resumed.report(t, fake_metrics(t))
        stored[t.trial_id] = fake_metrics(t)
    rest = drain(resumed, batch=2)
    for t in rest:
        stored[t.trial_id] = fake_metrics(t)
    assert len(stored) == 10
    assert not {t.trial_id for t in rest} & {t.trial_id for t in first}
    trials = resumed.study.get_trials()
    assert sum(t.state.name == "COMPLETE" for t in trials if "values" in t.user_attrs["mmsim"]) \
        == 10

    # Everything stored: a further resume has nothing to do.
    done = make_source(spec, results_path=results, sweep_id="p", already=stored)
    assert done.next_trials(4) == [] and done.finished()

    # A fresh study with the same seed and results proposes the same first points.
    straight = make_source(spec, results_path=tmp_path / "s.duckdb", sweep_id="p", already={})
    assert [t.trial_id for t in drain(straight, batch=1, limit=5)] == \
        [t.trial_id for t in first_five]


def test_bayes_resume_told_but_missing_from_store_and_unknown_ids(write_sweep, tmp_path):
    """A told point missing from the store is re-run without re-telling; a stored trial the
    journal does not know, or a missing journal, is an error."""
    spec = _bayes_spec(write_sweep, n_trials=4)
    results = tmp_path / "r.duckdb"
    src = make_source(spec, results_path=results, sweep_id="q", already={})
    ran = drain(src, batch=1, limit=3)
    stored = {t.trial_id: fake_metrics(t) for t in ran[1:]}
    again = make_source(spec, results_path=results, sweep_id="q", already=stored)
    assert [t.trial_id for t in again.next_trials(1)] == [ran[0].trial_id]
    with pytest.raises(ValueError, match="not in the Optuna study"):
        make_source(spec, results_path=results, sweep_id="q",
                    already={**stored, "0123456789abcdef": None})
    with pytest.raises(ValueError, match="journal .* is missing"):
        make_source(spec, results_path=tmp_path / "other.duckdb", sweep_id="q", already=stored)


def test_bayes_small_discrete_space_never_duplicates(write_sweep, base_toml, tmp_path):
    """In a 6-point space, 6 bayes points are the 6 distinct points (duplicates re-asked)."""
    body = base_toml.replace("seed = 3", 'seed = 3\nmethod = "bayes"\nn_trials = 6')
    spec = load_sweep(write_sweep(body))
    src = make_source(spec, results_path=tmp_path / "r.duckdb", sweep_id="d", already={})
    trials = drain(src, batch=1)
    grid = load_sweep(write_sweep(base_toml, "g.toml"))
    assert sorted(t.trial_id for t in trials) == sorted(t.trial_id for t in grid.trials)
