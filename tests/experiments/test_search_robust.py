"""Bayesian search under failure (issue 12, items 7-9): proposals do not depend on worker count
or completion order; a journal lock left by a killed process, or a journal cut mid-record,
does not block a resume. Fake metrics (no simulation); real processes for the dead owner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings

import pytest

from experiments.config import load_sweep
from experiments.search import BAYES_BATCH, PidFileLock, journal_path, make_source, repair_journal

BODY = """
[sweep]
name = "b"
seed = 11
method = "bayes"
n_trials = {n}
replicates = {r}

[data]
format = "binance_ws"
paths = ["a.gz"]

[venue]
queue_model = {{ choice = ["risk_averse", "prob_power"] }}
entry_latency_ms = {{ low = 0.0, high = 20.0, step = 5.0 }}

[strategy]
kind = "glft"
gamma = {{ low = 0.001, high = 1.0, log = true }}
"""


def _metrics(trial) -> dict[str, float]:
    """A smooth objective of the parameters (what a trial would report)."""
    import math

    v = -abs(math.log(trial.params["gamma"] / 0.05)) - 0.01 * trial.params["entry_latency_ms"]
    return {"pnl_per_1k_notional": v + 0.001 * trial.replicate}


def _spec(write_sweep, n=24, r=1):
    return load_sweep(write_sweep(BODY.format(n=n, r=r)), check_files=False)


def _simulate(source, workers: int, order: str, seed: int = 0) -> list[tuple]:
    """Drive a source like the executor: at most 2 x workers in flight; finished trials come
    back in ``order``: "fifo", "lifo" or a seeded "random" order."""
    import random

    rng = random.Random(seed)
    inflight: list = []
    proposed = []
    while not source.finished():
        new = source.next_trials(2 * workers - len(inflight))
        proposed += [(t.trial_id, t.params["gamma"], t.params["queue_model"]) for t in new]
        inflight += new
        if not inflight:
            raise AssertionError("nothing in flight and nothing proposed")
        k = {"fifo": 0, "lifo": len(inflight) - 1,
             "random": rng.randrange(len(inflight))}[order]
        t = inflight.pop(k)
        source.report(t, _metrics(t))
    return proposed


def test_bayes_is_the_same_for_any_worker_count_and_completion_order(write_sweep, tmp_path):
    """24 points (past TPE's 10 random start-up trials): one worker in order, 3 and 8 workers
    finishing in reverse or random order all propose the same points, in the same order."""
    spec = _spec(write_sweep)
    runs = {}
    for workers, order in [(1, "fifo"), (3, "lifo"), (8, "random"), (2, "random")]:
        src = make_source(spec, results_path=tmp_path / f"{workers}{order}.duckdb",
                          sweep_id=f"{workers}{order}", already={})
        runs[(workers, order)] = _simulate(src, workers, order, seed=workers)
    first = runs[(1, "fifo")]
    assert len(first) == 24 and len({p[0] for p in first}) == 24
    for key, got in runs.items():
        assert got == first, key


def test_bayes_round_waits_for_every_point(write_sweep, tmp_path):
    """A round of BAYES_BATCH points is handed out, then nothing until all are reported."""
    spec = _spec(write_sweep, n=10, r=2)
    src = make_source(spec, results_path=tmp_path / "r.duckdb", sweep_id="w", already={})
    first = src.next_trials(100)
    assert len(first) == BAYES_BATCH * 2
    for t in first[:-1]:
        src.report(t, _metrics(t))
    assert src.next_trials(100) == []
    src.report(first[-1], _metrics(first[-1]))
    assert len(src.next_trials(100)) == BAYES_BATCH * 2


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_lock_left_by_a_dead_process_is_removed(tmp_path):
    """<journal>.lock naming a pid that no longer runs: taken over at once, with a warning."""
    import socket

    journal = tmp_path / "j.journal"
    lock = PidFileLock(str(journal), timeout_s=5)
    with open(lock.lock_file, "w") as f:
        f.write(f"{socket.gethostname()} {_dead_pid()}\n")
    t0 = time.monotonic()
    with pytest.warns(UserWarning, match="stale Optuna journal lock"):
        assert lock.acquire()
    assert time.monotonic() - t0 < 2
    assert open(lock.lock_file).read().split() == [socket.gethostname(), str(os.getpid())]
    lock.release()
    assert not os.path.exists(lock.lock_file)


def test_a_lock_held_by_a_live_process_is_respected(tmp_path):
    import socket

    journal = tmp_path / "j.journal"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = PidFileLock(str(journal), timeout_s=0.5)
        with open(lock.lock_file, "w") as f:
            f.write(f"{socket.gethostname()} {holder.pid}\n")
        with pytest.raises(TimeoutError, match="held by a live process"):
            lock.acquire()
        assert os.path.exists(lock.lock_file)
    finally:
        holder.kill()
        holder.wait()


def test_relative_results_path_and_optunas_dangling_symlink_lock(write_sweep, tmp_path,
                                                                 monkeypatch):
    """The hang of the issue: a relative results path and a symlink lock left by a killed run
    (Optuna's default lock, whose relative target dangles). The study opens at once."""
    monkeypatch.chdir(tmp_path)
    spec = _spec(write_sweep, n=4)
    src = make_source(spec, results_path="sub/r.duckdb", sweep_id="s", already={})
    for t in src.next_trials(2):
        src.report(t, _metrics(t))
    journal = journal_path("sub/r.duckdb")
    # what Optuna's JournalFileSymlinkLock leaves after SIGKILL with a relative path
    os.symlink("sub/r.duckdb.optuna.journal", str(journal) + ".lock")
    assert not os.path.exists(str(journal) + ".lock")  # dangling: os.stat fails
    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src2 = make_source(spec, results_path="sub/r.duckdb", sweep_id="s",
                           already={})
        src2.next_trials(1)
    assert time.monotonic() - t0 < 10


def test_a_truncated_journal_is_cut_back_and_resumes(write_sweep, tmp_path):
    """A crash mid-append leaves half a record; the journal is cut to its last complete
    record (the original kept as .corrupt) and the study resumes from it."""
    spec = _spec(write_sweep, n=6)
    results = tmp_path / "r.duckdb"
    src = make_source(spec, results_path=results, sweep_id="t", already={})
    stored = {}
    for t in src.next_trials(BAYES_BATCH):
        m = _metrics(t)
        src.report(t, m)
        stored[t.trial_id] = m
    journal = journal_path(results)
    good = journal.read_bytes()
    assert all(json.loads(line) for line in good.splitlines())
    with open(journal, "ab") as f:
        f.write(b'{"op_code": 5, "worker_id": "x", "trial_id": 9, "val')  # cut mid-record
    with pytest.warns(UserWarning, match="dropped 52 byte"):
        src2 = make_source(spec, results_path=results, sweep_id="t", already=stored)
    now = journal.read_bytes()
    assert now.startswith(good) and b'"val' not in now[len(good):]
    assert all(json.loads(line) for line in now.splitlines())
    assert journal.with_name(journal.name + ".corrupt").read_bytes().startswith(good)
    rest = _simulate(src2, 2, "fifo")
    assert len(rest) == 6 - BAYES_BATCH
    assert repair_journal(journal) == 0  # intact now
