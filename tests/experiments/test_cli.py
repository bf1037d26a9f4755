"""The ``mmsim`` command line: bad input exits 2 and writes nothing; run, sweep and validate work
end to end on the bundled real sample; results do not depend on the worker count."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

from experiments.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FILE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
E2E_TIMEOUT_S = 240


def _bad(argv, capsys) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t.replace("seed = 3", "seed = = 3"), "invalid TOML"),
        (lambda t: t.replace("seed = 3", "seed = 3\nsed = 4"), "sweep.sed: unknown key"),
        (lambda t: t.replace("gamma = [", 'max_position = "big"\ngamma = ['),
         "strategy.max_position: expected a number, got string 'big'"),
        (lambda t: t.replace("[0.01, 0.1, 1.0]", "[0.01, -0.1, 1.0]"),
         "strategy.gamma[1]: must be > 0: -0.1"),
        (lambda t: t.replace('"b.gz"', '"gone.gz"'), "data.paths[1]: data file not found: gone.gz"),
        (lambda t: t.replace('"glft"', '"glfx"'), "strategy.kind: unknown strategy kind 'glfx'"),
    ],
    ids=["malformed", "unknown-key", "wrong-type", "axis-out-of-range", "missing-file",
         "unknown-kind"],
)
def test_bad_input_exits_2_and_writes_nothing(write_sweep, base_toml, tmp_path, capsys, edit,
                                              needle):
    """Every bad-input case: exit 2, the file and key path on stderr, no results file."""
    path = write_sweep(edit(base_toml))
    results = tmp_path / "res" / "r.duckdb"
    for argv in (["sweep", str(path), "--results", str(results)], ["validate", str(path)],
                 ["run", str(path)]):
        err = _bad(argv, capsys)
        assert f"{path}: " in err and needle in err
    assert not results.exists() and not results.parent.exists()


def test_corrupt_data_file_exits_2_and_writes_nothing(write_sweep, base_toml, tmp_path, capsys):
    """A data file the loader rejects is named with its line; nothing is written."""
    with gzip.open(tmp_path / "a.gz", "wt") as f:
        f.write("1721347021000000000 {not json\n")
    path = write_sweep(base_toml.replace(', "b.gz"', ""))
    results = tmp_path / "r.duckdb"
    err = _bad(["sweep", str(path), "--results", str(results)], capsys)
    assert "DataError" in err and "a.gz: line 1" in err
    assert not results.exists()


def test_validate_ok(write_sweep, base_toml, capsys, tmp_path):
    """``validate`` on a good file exits 0 and states the trial count and axes (it loads the
    data too, so the placeholders get the bundled day pair)."""
    path = write_sweep(base_toml)
    for name, day in (("a.gz", "ethusdt_20240718.gz"), ("b.gz", "ethusdt_20240719.gz")):
        shutil.copy(SAMPLE_FILE.parent / day, tmp_path / name)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK: 6 trials" in out and "strategy.gamma[3]" in out


def test_run_trial_out_of_range(write_sweep, base_toml, capsys):
    """``run --trial N`` outside the grid is bad input."""
    err = _bad(["run", str(write_sweep(base_toml)), "--trial", "6"], capsys)
    assert "--trial 6: out of range" in err


def test_shipped_gamma_toml_validates(capsys):
    """experiments/gamma.toml: >= 8 gamma values x 2 queue models on the bundled sample."""
    assert main(["validate", str(REPO / "experiments" / "gamma.toml")]) == 0
    out = capsys.readouterr().out
    assert "venue.queue_model[2]" in out and "strategy.gamma[" in out


# -- end to end on the bundled real sample (subprocesses: the real console entry point) ------

TINY = """
[sweep]
name = "tiny"
seed = 11

[data]
format = "binance_ws"
paths = ["{sample}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001

[strategy]
kind = "mm_test_plugins:ExplodingQuoter"   # a user subclass, by dotted path
order_qty = 0.05
max_position = 0.5
gamma = [0.01, 0.1, 0.9]                   # 0.9 raises in on_start: a failing trial
"""


def _mmsim(args, cwd, env):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=E2E_TIMEOUT_S,
    )
    return proc


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    """The tiny sweep run twice on the real sample: with 2 worker processes and with 1."""
    assert SAMPLE_FILE.is_file(), f"bundled sample missing: {SAMPLE_FILE}"
    d = tmp_path_factory.mktemp("e2e")
    shutil.copy(Path(__file__).with_name("mm_test_plugins.py"), d / "mm_test_plugins.py")
    toml = d / "tiny.toml"
    toml.write_text(textwrap.dedent(TINY).replace("{sample}", SAMPLE_FILE.as_posix()))
    env = dict(os.environ, MMSIM_CACHE_DIR=str(d / "cache"), PYTHONPATH=str(REPO))
    out = {"dir": d, "toml": toml, "env": env}
    for workers in (2, 1):
        db = d / f"w{workers}.duckdb"
        proc = _mmsim(["sweep", str(toml), "--workers", str(workers), "--results", str(db)],
                      cwd=d, env=env)
        out[workers] = (proc, db)
    return out


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        metric_cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics' "
            "AND column_name NOT IN ('sweep_id') ORDER BY ordinal_position").fetchall()]
        trial_cols = ["trial_id", "trial_index", "gamma", "queue_model", "replicate", "seed",
                      "status", "error"]
        return {
            "metrics": con.execute(
                f"SELECT {', '.join(metric_cols)} FROM metrics ORDER BY trial_id").fetchall(),
            "trials": con.execute(
                f"SELECT {', '.join(trial_cols)} FROM trials ORDER BY trial_id").fetchall(),
            "metric_cols": metric_cols,
        }
    finally:
        con.close()


def test_e2e_sweep_writes_one_row_per_trial(e2e):
    """`mmsim sweep` on real data: 3 trials, 2 done with metrics, 1 failed with its error."""
    proc, db = e2e[2]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"results: {db}" in proc.stdout and "top 2 by" in proc.stdout
    t = _tables(db)
    assert [(r[2], r[6]) for r in sorted(t["trials"], key=lambda r: r[2])] == [
        (0.01, "done"), (0.1, "done"), (0.9, "failed"),
    ]
    failed = next(r for r in t["trials"] if r[6] == "failed")
    assert failed[7].startswith("RuntimeError: exploding quoter: gamma=0.9")
    required = {"pnl", "pnl_per_1k_notional", "fees", "n_fills", "maker_volume",
                "max_drawdown", "max_abs_q", "final_q"}
    assert required <= set(t["metric_cols"])
    assert len(t["metrics"]) == 2
    con = duckdb.connect(str(db), read_only=True)
    sweep = con.execute("SELECT name, status, n_trials, root_seed, data_sha256 FROM sweeps"
                        ).fetchone()
    con.close()
    assert sweep[:4] == ("tiny", "done", 3, 11) and len(sweep[4]) > 10


def test_e2e_one_and_two_workers_give_identical_tables(e2e):
    """Determinism: the metrics and trials tables are identical with 1 and 2 workers."""
    (p2, db2), (p1, db1) = e2e[2], e2e[1]
    assert p2.returncode == 0 and p1.returncode == 0, p1.stdout + p1.stderr
    assert _tables(db1) == _tables(db2)


def test_e2e_run_prints_metrics(e2e):
    """`mmsim run CONFIG --trial 1` runs one trial in-process and prints its metrics."""
    proc = _mmsim(["run", str(e2e["toml"]), "--trial", "1"], cwd=e2e["dir"], env=e2e["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pnl_per_1k_notional" in proc.stdout and "gamma=0.1" in proc.stdout
    con = duckdb.connect(str(e2e[1][1]), read_only=True)
    (n_fills,) = con.execute(
        "SELECT n_fills FROM metrics JOIN trials USING (sweep_id, trial_id) WHERE gamma = 0.1"
    ).fetchone()
    con.close()
    assert f"{n_fills:.6g}" in proc.stdout


def test_e2e_run_of_a_failing_trial_exits_1(e2e):
    """`mmsim run` of a trial whose strategy raises prints the traceback and exits 1."""
    proc = _mmsim(["run", str(e2e["toml"]), "--trial", "2"], cwd=e2e["dir"], env=e2e["env"])
    assert proc.returncode == 1
    assert "exploding quoter" in proc.stderr


def test_query_prints_rows_and_rejects_bad_sql(tmp_path, capsys):
    """`mmsim query` runs read-only SQL on a results file; bad SQL or a missing file exits 2."""
    import duckdb

    from experiments.cli import main

    db = tmp_path / "r.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE trials AS SELECT 0.1 AS gamma, 'done' AS status")
    con.close()
    assert main(["query", str(db), "SELECT gamma, status FROM trials"]) == 0
    out = capsys.readouterr().out
    assert "gamma" in out and "0.1" in out and "1 row(s)" in out
    assert main(["query", str(db), "SELEC gamma"]) == 2
    assert "syntax error" in capsys.readouterr().err
    assert main(["query", str(tmp_path / "missing.duckdb"), "SELECT 1"]) == 2
    assert not (tmp_path / "missing.duckdb").exists()


def test_schema_prints_json_or_explains(tmp_path, capsys):
    """`mmsim schema` prints the JSON Schema of sweep files (or writes --out); without the
    schema module it exits 2 with one line."""
    import importlib.util
    import json

    rc = main(["schema"])
    if importlib.util.find_spec("experiments.jsonschema") is None:
        assert rc == 2 and "not available" in capsys.readouterr().err
        return
    assert rc == 0
    schema = json.loads(capsys.readouterr().out)
    assert isinstance(schema, dict) and schema
    out = tmp_path / "s.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == schema


def test_backend_flag_accepts_only_known_backends(write_sweep, base_toml, capsys):
    """--backend takes the names of experiments.backends.BACKENDS (argparse exits 2 otherwise)."""
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(write_sweep(base_toml)), "--backend", "slurm"])
    assert info.value.code == 2
    assert "invalid choice: 'slurm'" in capsys.readouterr().err


@pytest.mark.timeout(180)
def test_sweep_timeout_from_toml_fails_slow_trial_and_continues(tmp_path):
    """`[sweep] timeout_s` in the file: the slow trial is stored failed (TimeoutError), others done."""
    shutil.copy(Path(__file__).with_name("mm_test_plugins.py"), tmp_path / "mm_test_plugins.py")
    body = (
        textwrap.dedent(TINY)
        .replace("{sample}", SAMPLE_FILE.as_posix())
        .replace("ExplodingQuoter", "SleepyQuoter")
        .replace('seed = 11', 'seed = 11\ntimeout_s = 8.0')
    )
    toml = tmp_path / "slow.toml"
    toml.write_text(body)
    env = dict(os.environ, MMSIM_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    db = tmp_path / "slow.duckdb"
    proc = _mmsim(["sweep", str(toml), "--workers", "2", "--results", str(db), "--plain"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT gamma, status, error FROM trials ORDER BY gamma").fetchall()
    con.close()
    assert [(g, s) for g, s, _ in rows] == [(0.01, "done"), (0.1, "done"), (0.9, "failed")]
    assert rows[2][2].startswith("TimeoutError: trial exceeded 8")


# -- issue 12: every bad input exits 2 with one clear message and writes nothing ------------

BAD_BASE = """
[sweep]
name = "t"
seed = 3

[data]
format = "binance_ws"
paths = ["d.gz"]

[venue]
profile = "binance_usdm"

[strategy]
kind = "glft"
gamma = [0.01, 0.1]
"""

_SAMPLE_BYTES: list[bytes] = []


def _sample() -> bytes:
    if not _SAMPLE_BYTES:
        _SAMPLE_BYTES.append(SAMPLE_FILE.read_bytes())
    return _SAMPLE_BYTES[0]


BAD_DATA = {
    "non-utf8": (lambda: gzip.compress(b"\xff\xfe\x00not text\n" * 10),
                 "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff"),
    "truncated-gzip": (lambda: _sample()[:5000],
                       "EOFError: Compressed file ended before the end-of-stream marker"),
    "random-bytes": (lambda: bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
                     "cannot read the data"),
    "empty-gzip": (lambda: gzip.compress(b""), "no depthUpdate messages found"),
    "empty-file": (lambda: b"", "no depthUpdate messages found"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_files_exit_2_naming_the_file(tmp_path, capsys, case):
    """Undecodable, truncated, random or empty data: exit 2, the file named, no traceback,
    no results file."""
    make, needle = BAD_DATA[case]
    (tmp_path / "d.gz").write_bytes(make())
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(BAD_BASE))
    results = tmp_path / "r.duckdb"
    err = _bad(["sweep", str(toml), "--results", str(results)], capsys)
    assert needle in err and str(tmp_path / "d.gz") in err
    assert not results.exists()


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda t: t.replace("[0.01, 0.1]", "[0.01, inf]"), "strategy.gamma[1]: inf is not a finite number"),
    (lambda t: t.replace("[0.01, 0.1]", "nan"), "strategy.gamma: nan is not a finite number"),
    (lambda t: t.replace("gamma =", "interval_ms = inf\ngamma ="),
     "strategy.interval_ms: inf is not a finite number"),
    (lambda t: t.replace("seed = 3", 'seed = 3\nobjective = "pnll"'),
     "sweep.objective: 'pnll' is not a metric a trial reports (did you mean 'pnl'"),
    (lambda t: t.replace('"binance_ws"', '"nope"'), "data.format: must be in ("),
], ids=["gamma-inf", "gamma-nan", "interval-inf", "unknown-objective", "unknown-format"])
def test_bad_values_exit_2(tmp_path, capsys, edit, needle):
    (tmp_path / "d.gz").write_bytes(b"")
    toml = tmp_path / "s.toml"
    toml.write_text(edit(textwrap.dedent(BAD_BASE)))
    for argv in (["validate", str(toml)], ["sweep", str(toml), "--results", str(tmp_path / "r")]):
        err = _bad(argv, capsys)
        assert needle in err
        assert "data.format: 'format'" not in err  # no echo of the key as a second problem
    assert not (tmp_path / "r").exists()


def test_non_utf8_sweep_file_exits_2_with_its_position(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_bytes(textwrap.dedent(BAD_BASE).encode().replace(b'name = "t"', b'name = "t\xff"'))
    err = _bad(["validate", str(toml)], capsys)
    assert f"{toml}: not UTF-8 text: byte 0xff at offset 18 (line 3)" in err


def test_objective_names_cover_what_a_real_trial_reports(e2e):
    """Every metric column of a real sweep is accepted as an objective (the list cannot drift
    from what trials report)."""
    from experiments.executor import objective_problem

    proc, db = e2e[2]
    assert proc.returncode == 0, proc.stderr
    cols = [c for c in _tables(db)["metric_cols"] if c != "trial_id"]
    assert len(cols) > 30
    assert [c for c in cols if objective_problem(c)] == []


def test_results_path_that_is_another_duckdb_database_is_refused(tmp_path, capsys):
    """Someone else's DuckDB file with its own `sweeps` table: exit 2, the file unchanged."""
    other = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE sweeps (id INTEGER, broom VARCHAR)")
    con.execute("INSERT INTO sweeps VALUES (1, 'kitchen')")
    con.close()
    before = other.read_bytes()
    from experiments.store import ResultsFileError, ResultStore

    with pytest.raises(ResultsFileError, match="mmsim did not create"):
        ResultStore(other)
    assert other.read_bytes() == before
    (tmp_path / "d.gz").write_bytes(b"")
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(BAD_BASE))
    err = _bad(["sweep", str(toml), "--results", str(other)], capsys)
    assert f"results: {other} is a DuckDB database that mmsim did not create (tables: sweeps)" \
        in err
    assert other.read_bytes() == before


@pytest.mark.parametrize("case", ["under-a-file", "read-only-dir"])
def test_unusable_results_path_says_why(tmp_path, capsys, case):
    (tmp_path / "d.gz").write_bytes(b"")
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(BAD_BASE))
    if case == "under-a-file":
        (tmp_path / "file").write_text("x")
        results = tmp_path / "file" / "sub" / "r.duckdb"
        needle = f"results: cannot create {results}: {tmp_path / 'file'} is a file, not a directory"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write anywhere")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        results = ro / "r.duckdb"
        needle = f"results: {results} is not writable"
    err = _bad(["sweep", str(toml), "--results", str(results)], capsys)
    assert needle in err and "Errno" not in err


def test_trial_cap_is_checked_before_anything_is_built(tmp_path, capsys):
    """A 10^9-point grid: exit 2 at once, with little memory; --max-trials moves the cap."""
    import tracemalloc

    (tmp_path / "d.gz").write_bytes(b"")
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(BAD_BASE).replace(
        "gamma = [0.01, 0.1]",
        "gamma = { low = 0.001, high = 1.0, n = 1000 }\n"
        "interval_ms = { low = 10.0, high = 1000.0, n = 1000 }\n"
        "window_s = { low = 10.0, high = 100.0, n = 1000 }"))
    tracemalloc.start()
    try:
        err = _bad(["validate", str(toml)], capsys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "sweep: plans 1,000,000,000 trials, more than the cap of 100,000" in err
    assert "--max-trials" in err
    assert peak < 50e6, peak
    small = tmp_path / "small.toml"
    small.write_text(textwrap.dedent(BAD_BASE))  # 2 trials
    assert "cap of 1 " in _bad(["validate", str(small), "--max-trials", "1"], capsys)
    from experiments.config import load_sweep

    assert len(load_sweep(small, check_files=False, max_trials=2).trials) == 2
    random = tmp_path / "random.toml"
    random.write_text(textwrap.dedent(BAD_BASE).replace(
        "seed = 3", 'seed = 3\nmethod = "random"\nn_trials = 1000000000').replace(
        "[0.01, 0.1]", "{ low = 0.001, high = 1.0 }"))
    assert "plans 1,000,000,000 trials" in _bad(["validate", str(random)], capsys)


def test_integer_range_size_is_counted_not_built():
    """The size of a huge integer range is arithmetic (random/bayes checks call it)."""
    from experiments.config import Axis, Range

    a = Axis(section="strategy", key="k", column="k", values=(), kind="range",
             range=Range(low=1, high=10**12, integer=True))
    assert a.size == 10**12


def test_summary_does_not_depend_on_a_concurrent_reader(write_sweep, base_toml, tmp_path,
                                                        monkeypatch, capsys):
    """A reader (another process, read-only) holding the results file when the sweep prints
    its summary does not change the sweep's exit code."""
    import argparse

    from experiments import cli, executor
    from experiments.config import load_sweep
    from experiments.store import ResultStore

    results = tmp_path / "r.duckdb"
    store = ResultStore(results, parts=False)
    sid = store.begin_sweep(
        name="t", config_path="x", config_toml="", root_seed=1, replicates=1, n_trials=1,
        workers=1, strategy_kind="glft", strategy_class="strategies.glft:GLFTQuoter",
        data_format="binance_ws", data_paths=[], data_sha256=[], symbol=None, code_version="t",
        param_columns={"gamma": "DOUBLE", "queue_model": "VARCHAR"})
    store.record_trial(sid, trial_id="a", trial_index=0, params={"gamma": 0.1,
                       "queue_model": "[/x]"}, replicate=0, seed=1, status="done", wall_s=0.1,
                       metrics={"pnl": 1.0, "pnl_per_1k_notional": 2.0})
    store.finish_sweep(sid, "done")
    store.close()
    fake = executor.SweepResult(sweep_id=sid, results=results, n_done=1, n_failed=0, n_total=1,
                                interrupted=False, wall_s=0.1)
    monkeypatch.setattr(executor, "run_sweep", lambda *a, **k: fake)
    reader = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, time\n"
         f"c = duckdb.connect({str(results)!r}, read_only=True); print('r', flush=True); "
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "r"
        spec = load_sweep(write_sweep(base_toml), check_files=False)
        args = argparse.Namespace(config="s.toml", plain=True, backend=None)
        rc = cli._run_and_summarise(spec, args, results, 1, None, None)
    finally:
        reader.kill()
        reader.wait(10)
    out = capsys.readouterr().out
    assert rc == 0
    assert "[/x]" in out  # markup in data printed verbatim in the summary table
