"""Kill -9 a running sweep, resume it, and get exactly the uninterrupted results; query a sweep
while it runs (the DuckDB file is locked by its writer: the Parquet parts are read instead)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from experiments.cli import main
from experiments.store import parts_dir

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FILE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"

SLOW_PLUGIN = '''
"""GLFT that sleeps before starting (MMSIM_TEST_SLEEP seconds): same results, slower trials."""
import os
import time

from strategies.glft import GLFTQuoter


class SlowQuoter(GLFTQuoter):
    def on_start(self):
        if os.environ.get("MMSIM_TEST_DIE_GAMMA") == repr(self.config.gamma):
            os._exit(9)  # the worker process dies (as if OOM-killed)
        time.sleep(float(os.environ.get("MMSIM_TEST_SLEEP", "0")))
        super().on_start()
'''

SWEEP = """
[sweep]
name = "killme"
seed = 5

[data]
format = "binance_ws"
paths = ["{sample}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001
queue_model = ["risk_averse", "prob_power"]

[strategy]
kind = "slow_plugin:SlowQuoter"
order_qty = 0.05
max_position = 0.5
gamma = [0.005, 0.01, 0.03, 0.1, 0.3, 1.0]
"""
N_TRIALS = 12


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume")
    (d / "slow_plugin.py").write_text(SLOW_PLUGIN)
    toml = d / "killme.toml"
    toml.write_text(textwrap.dedent(SWEEP).replace("{sample}", SAMPLE_FILE.as_posix()))
    env = dict(os.environ, MMSIM_CACHE_DIR=str(d / "cache"), PYTHONPATH=str(REPO),
               MMSIM_TEST_SLEEP="0")
    # the uninterrupted reference run (also warms the feed cache and the Numba cache)
    ref = d / "reference.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "sweep", str(toml), "--workers", "2",
         "--plain", "--results", str(ref)],
        cwd=d, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"dir": d, "toml": toml, "env": env, "reference": ref}


def _start_slow_sweep(sweep_dir, results: Path, sleep_s: float,
                      stdout=subprocess.DEVNULL) -> subprocess.Popen:
    env = dict(sweep_dir["env"], MMSIM_TEST_SLEEP=str(sleep_s))
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "sweep", str(sweep_dir["toml"]), "--workers",
         "2", "--plain", "--results", str(results)],
        cwd=sweep_dir["dir"], env=env, stdout=stdout, stderr=subprocess.PIPE,
        text=True, start_new_session=True,  # its own process group: the workers die with it
    )


def _committed(results: Path) -> int:
    return len(list(parts_dir(results).glob("*/trials/*.parquet")))


def _wait_committed(proc: subprocess.Popen, results: Path, n: int, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while _committed(results) < n:
        assert proc.poll() is None, f"sweep ended early: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no trials committed in time"
        time.sleep(0.05)


def _rows(db: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics' "
            "AND column_name NOT IN ('sweep_id', 'trial_id') ORDER BY column_name").fetchall()]
        rows = con.execute(
            f"SELECT t.trial_id, t.seed, t.status, {', '.join('m.' + c for c in cols)} "
            "FROM trials t LEFT JOIN metrics m USING (sweep_id, trial_id) ORDER BY trial_id"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.timeout(300)
def test_kill_9_then_resume_gives_the_uninterrupted_results(sweep_dir):
    """SIGKILL the sweep (parent and workers) after >= 3 commits; `mmsim resume` runs exactly
    the missing trials into the same sweep: every trial once, results equal the reference."""
    results = sweep_dir["dir"] / "killed.duckdb"
    proc = _start_slow_sweep(sweep_dir, results, sleep_s=0.5)
    try:
        _wait_committed(proc, results, 3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its worker processes
        proc.wait(timeout=30)
    before = _rows(results)
    assert 3 <= len(before) < N_TRIALS
    con = duckdb.connect(str(results), read_only=True)
    assert con.execute("SELECT status FROM sweeps").fetchall() == [("running",)]
    con.close()

    resumed = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "resume", str(results), "--workers", "2",
         "--plain"],
        cwd=sweep_dir["dir"], env=sweep_dir["env"], capture_output=True, text=True, timeout=240,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{len(before)} already stored" in resumed.stdout

    con = duckdb.connect(str(results), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT trial_id), count(DISTINCT sweep_id) "
                           "FROM trials").fetchone() == (N_TRIALS, N_TRIALS, 1)
        assert con.execute("SELECT count(*), any_value(status) FROM sweeps").fetchone() == (
            1, "done")
    finally:
        con.close()
    after = _rows(results)
    assert {k: after[k] for k in before} == before  # stored trials were not run again
    assert after == _rows(sweep_dir["reference"])
    assert not parts_dir(results).exists()  # a finished sweep leaves everything in DuckDB


@pytest.mark.timeout(300)
def test_query_while_a_sweep_runs_reads_the_committed_trials(sweep_dir, capsys):
    """While a sweep holds the DuckDB file, `mmsim query` reads its Parquet parts and sees the
    finished trials; after the sweep ends the same query reads the DuckDB file itself."""
    results = sweep_dir["dir"] / "live.duckdb"
    proc = _start_slow_sweep(sweep_dir, results, sleep_s=0.3)
    try:
        _wait_committed(proc, results, 2)
        with pytest.raises(duckdb.IOException):  # the writer's lock keeps readers out
            duckdb.connect(str(results), read_only=True)
        sql = ("SELECT 'n=' || count(*) AS n FROM trials JOIN metrics USING (sweep_id, trial_id) "
               "WHERE gamma IS NOT NULL AND pnl IS NOT NULL")
        assert main(["query", str(results), sql]) == 0
        captured = capsys.readouterr()
        assert "being written by a running sweep" in captured.err
        n_live = int(re.search(r"n=(\d+)", captured.out).group(1))
        assert 2 <= n_live <= N_TRIALS
    finally:
        _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert main(["query", str(results), "SELECT count(*) AS n FROM trials"]) == 0
    captured = capsys.readouterr()
    assert "running sweep" not in captured.err and str(N_TRIALS) in captured.out


@pytest.mark.timeout(300)
def test_ctrl_c_keeps_completed_trials_marks_interrupted_and_prints_the_hint(sweep_dir):
    """SIGINT: exit 130, running trials cancelled, completed kept, status 'interrupted', a
    one-line resume hint; `mmsim resume` then completes the sweep."""
    results = sweep_dir["dir"] / "ctrlc.duckdb"
    proc = _start_slow_sweep(sweep_dir, results, sleep_s=0.5, stdout=subprocess.PIPE)
    try:
        _wait_committed(proc, results, 2)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert f"resume with: mmsim resume {results}" in out.splitlines()
    con = duckdb.connect(str(results), read_only=True)
    status, n = con.execute("SELECT any_value(s.status), count(t.trial_id) FROM sweeps s "
                            "LEFT JOIN trials t USING (sweep_id)").fetchone()
    con.close()
    assert status == "interrupted" and 2 <= n < N_TRIALS
    resumed = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "resume", str(results), "--plain"],
        cwd=sweep_dir["dir"], env=sweep_dir["env"], capture_output=True, text=True, timeout=240,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _rows(results) == _rows(sweep_dir["reference"])


def test_resume_without_an_unfinished_sweep_is_bad_input(sweep_dir, capsys):
    """Nothing to resume (the reference sweep is done) or an unknown id: exit 2."""
    assert main(["resume", str(sweep_dir["reference"])]) == 2
    assert "no unfinished sweep" in capsys.readouterr().err
    assert main(["resume", str(sweep_dir["reference"]), "--sweep-id", "nope"]) == 2
    assert main(["resume", str(sweep_dir["dir"] / "missing.duckdb")]) == 2


# -- issue 12: SIGTERM, a second Ctrl-C, retried failures, changed data ---------------------


def _group_gone(pgid: int, timeout_s: float = 20.0) -> bool:
    """True once no process of the group is left (the parent and every worker)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_is_a_clean_stop_exit_143_and_no_worker_is_left(sweep_dir):
    """SIGTERM: exit 143 (not -15), the sweep marked 'interrupted', committed trials kept, no
    process of the sweep's group left; resume then finishes it."""
    results = sweep_dir["dir"] / "term.duckdb"
    proc = _start_slow_sweep(sweep_dir, results, sleep_s=0.5, stdout=subprocess.PIPE)
    try:
        _wait_committed(proc, results, 2)
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert _group_gone(proc.pid), "worker processes outlived the sweep"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    con = duckdb.connect(str(results), read_only=True)
    status, n = con.execute("SELECT any_value(s.status), count(t.trial_id) FROM sweeps s "
                            "LEFT JOIN trials t USING (sweep_id)").fetchone()
    con.close()
    assert status == "interrupted" and 2 <= n < N_TRIALS


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_second_ctrl_c_leaves_no_worker_running(sweep_dir):
    """Two SIGINTs in quick succession: still exit 130, 'interrupted', and no worker left."""
    results = sweep_dir["dir"] / "twice.duckdb"
    proc = _start_slow_sweep(sweep_dir, results, sleep_s=1.0)
    try:
        _wait_committed(proc, results, 1)
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
        assert _group_gone(proc.pid), "worker processes outlived the sweep"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    con = duckdb.connect(str(results), read_only=True)
    assert con.execute("SELECT status FROM sweeps").fetchall() == [("interrupted",)]
    con.close()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_resume_retries_trials_whose_worker_died(sweep_dir):
    """A worker that dies fails its trial; `resume --no-retry-failed` keeps it failed, a plain
    `resume` runs it once more and then every result equals the uninterrupted run."""
    results = sweep_dir["dir"] / "died.duckdb"
    env = dict(sweep_dir["env"], MMSIM_TEST_DIE_GAMMA="0.03")
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "sweep", str(sweep_dir["toml"]), "--workers",
         "2", "--plain", "--results", str(results)],
        cwd=sweep_dir["dir"], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = _rows(results)
    died = {k for k, v in rows.items() if v[1] == "failed"}
    assert len(died) == 2  # gamma 0.03 with both queue models
    con = duckdb.connect(str(results), read_only=True)
    errors = {r[0] for r in con.execute("SELECT error FROM trials WHERE status = 'failed'")
              .fetchall()}
    (sweep_id,) = con.execute("SELECT sweep_id FROM sweeps").fetchone()
    con.close()
    assert all("worker process died" in e for e in errors), errors

    def resume(*extra):
        return subprocess.run(
            [sys.executable, "-m", "experiments.cli", "resume", str(results), "--sweep-id",
             sweep_id, "--plain", *extra],
            cwd=sweep_dir["dir"], env=sweep_dir["env"], capture_output=True, text=True,
            timeout=240)

    kept = resume("--no-retry-failed")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert {k for k, v in _rows(results).items() if v[1] == "failed"} == died
    retried = resume()
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "2 failed trial(s) retried" in retried.stdout
    got, want = _rows(results), _rows(sweep_dir["reference"])
    assert got == want, {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                         if got.get(k) != want.get(k)}


def test_resume_refuses_changed_data(sweep_dir, capsys):
    """The stored data_sha256 no longer matches the file: exit 2 naming it, nothing run."""
    results = sweep_dir["dir"] / "changed_data.duckdb"
    results.write_bytes(sweep_dir["reference"].read_bytes())
    con = duckdb.connect(str(results))
    con.execute("UPDATE sweeps SET status = 'interrupted', data_sha256 = ?",
                ['["' + "ab" * 32 + '"]'])
    n_before = con.execute("SELECT count(*) FROM trials").fetchone()
    con.close()
    assert main(["resume", str(results)]) == 2
    err = capsys.readouterr().err
    assert f"data: {SAMPLE_FILE} changed since the sweep ran" in err
    assert "resuming would mix results computed on different data" in err
    con = duckdb.connect(str(results), read_only=True)
    assert con.execute("SELECT count(*) FROM trials").fetchone() == n_before
    assert con.execute("SELECT status FROM sweeps").fetchall() == [("interrupted",)]
    con.close()
