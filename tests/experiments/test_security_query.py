"""``mmsim query`` is read-only and confined to the results file (issue 12, item 4): each
attack with real files, on the DuckDB file itself and on the Parquet-parts fallback used while
a (real, separate) process holds the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from experiments.cli import main
from experiments.store import ResultStore, parts_dir


def _make_results(path: Path, *, finish: bool = True) -> str:
    store = ResultStore(path)
    sid = store.begin_sweep(
        name="q", config_path="/x/q.toml", config_toml="[sweep]\n", root_seed=1, replicates=1,
        n_trials=2, workers=1, strategy_kind="glft", strategy_class="strategies.glft:GLFTQuoter",
        data_format="binance_ws", data_paths=["/x/a.gz"], data_sha256=["0" * 64],
        symbol="ETHUSDT", code_version="t", param_columns={"gamma": "DOUBLE"})
    for i, g in enumerate((0.1, 0.2)):
        store.record_trial(sid, trial_id=f"t{i}", trial_index=i, params={"gamma": g},
                           replicate=0, seed=i, status="done", wall_s=0.1,
                           metrics={"pnl": 1.0 + i})
    if finish:
        store.finish_sweep(sid, "done")
    store.close()
    return sid


@pytest.fixture
def victim(tmp_path):
    """Files an attacker would like to touch: another DuckDB file, a CSV, a Parquet file."""
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE precious AS SELECT 42 AS answer")
    con.execute("COPY precious TO '" + str(tmp_path / "secret.parquet") + "' (FORMAT parquet)")
    con.close()
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    return tmp_path


def _attacks(d: Path) -> list[tuple[str, str]]:
    out = d / "stolen.csv"
    return [
        ("attach-rw", f"ATTACH '{d / 'other.duckdb'}' AS o (READ_WRITE)"),
        ("attach-delete", f"ATTACH '{d / 'other.duckdb'}' AS o; DELETE FROM o.precious"),
        ("copy-to", f"COPY (SELECT * FROM trials) TO '{out}'"),
        ("read-text", "SELECT * FROM read_text('/etc/passwd')"),
        ("read-csv", f"SELECT * FROM read_csv('{d / 'secret.csv'}')"),
        ("read-csv-replacement", f"SELECT * FROM '{d / 'secret.csv'}'"),
        ("read-parquet", f"SELECT * FROM read_parquet('{d / 'secret.parquet'}')"),
        ("glob", "SELECT * FROM glob('/etc/*')"),
        ("install", "INSTALL httpfs"),
        ("load", "LOAD httpfs"),
        ("unlock", "SET enable_external_access = true"),
        ("unlock-config", "SET lock_configuration = false"),
        ("export-db", f"EXPORT DATABASE '{d / 'dump'}'"),
        ("write", "DELETE FROM trials"),
    ]


def _assert_untouched(d: Path, results: Path) -> None:
    con = duckdb.connect(str(d / "other.duckdb"), read_only=True)
    assert con.execute("SELECT answer FROM precious").fetchall() == [(42,)]
    con.close()
    assert not (d / "stolen.csv").exists() and not (d / "dump").exists()


def _run_attacks(d: Path, results: Path, capsys) -> None:
    for name, sql in _attacks(d):
        rc = main(["query", str(results), sql])
        err = capsys.readouterr().err
        if name == "write" and rc == 0:
            # the parts fallback holds in-memory copies: a DELETE there changes no file
            pass
        else:
            assert rc == 2, (name, err)
            assert "Traceback" not in err
        _assert_untouched(d, results)
    # reading the results still works
    assert main(["query", str(results), "SELECT count(*) AS n FROM trials"]) == 0
    assert "│ 2 " in capsys.readouterr().out


def test_query_attacks_on_the_results_file(victim, capsys):
    """Every attack fails with exit 2 and changes/creates no file; the results stay intact."""
    results = victim / "r.duckdb"
    _make_results(results)
    before = results.read_bytes()
    _run_attacks(victim, results, capsys)
    assert results.read_bytes() == before


@pytest.mark.timeout(120)
def test_query_attacks_on_the_parts_fallback(victim, capsys):
    """While another process holds the results file, query reads the parts: same guarantees."""
    results = victim / "r.duckdb"
    _make_results(results, finish=False)
    assert parts_dir(results).is_dir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"c = duckdb.connect({str(results)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(results), read_only=True)
        parts_before = sorted((p, p.read_bytes()) for p in parts_dir(results).rglob("*.parquet"))
        _run_attacks(victim, results, capsys)
        assert sorted((p, p.read_bytes()) for p in parts_dir(results).rglob("*.parquet")) \
            == parts_before
    finally:
        holder.kill()
        holder.wait(10)


def test_parts_fallback_is_a_snapshot(tmp_path):
    """The fallback copies the parts into memory before locking the connection: it needs no
    file access afterwards, and a part deleted meanwhile (the sweep finished) breaks nothing."""
    from experiments.store import _parts_snapshot

    results = tmp_path / "r.duckdb"
    _make_results(results, finish=False)
    con = _parts_snapshot(parts_dir(results))
    for p in parts_dir(results).rglob("*.parquet"):
        p.unlink()
    assert con.execute("SELECT trial_id FROM trials ORDER BY trial_id").fetchall() == [("t0",),
                                                                                      ("t1",)]
    assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
    con.close()


def test_markup_in_data_does_not_crash_query(tmp_path, capsys):
    """A sweep name with rich markup ([/x]) prints verbatim."""
    results = tmp_path / "r.duckdb"
    _make_results(results)
    con = duckdb.connect(str(results))
    con.execute("UPDATE sweeps SET name = '[/x] [bold]oops'")
    con.close()
    assert main(["query", str(results), "SELECT name FROM sweeps"]) == 0
    assert "[/x] [bold]oops" in capsys.readouterr().out


def test_query_of_a_file_that_is_not_duckdb_is_bad_input(tmp_path, capsys):
    bad = tmp_path / "r.duckdb"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    assert main(["query", str(bad), "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert "cannot open as a results file" in err and "Traceback" not in err

