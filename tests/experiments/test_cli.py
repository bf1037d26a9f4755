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
         "strategy.gamma[1]: -0.1: must be > 0"),
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


def test_validate_ok(write_sweep, base_toml, capsys):
    """``validate`` on a good file exits 0 and states the trial count and axes."""
    assert main(["validate", str(write_sweep(base_toml))]) == 0
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
