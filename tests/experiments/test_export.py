"""``mmsim export``: each results table as Parquet or CSV, one sweep or all, never over an
existing file without ``--force``."""

from __future__ import annotations

import csv

import duckdb
import pyarrow.parquet as pq
import pytest

from experiments.cli import main
from experiments.store import ResultStore


def _results(path, sweeps=("a", "b")):
    store = ResultStore(path, parts=False)
    ids = []
    for n, name in enumerate(sweeps):
        sid = store.begin_sweep(
            name=name, config_path=f"/x/{name}.toml", config_toml="[sweep]\n", root_seed=n,
            replicates=1, n_trials=2, workers=1, strategy_kind="glft",
            strategy_class="strategies.glft:GLFTQuoter", data_format="binance_ws",
            data_paths=["/x/a.gz"], data_sha256=["0" * 64], symbol="ETHUSDT", code_version="t",
            param_columns={"gamma": "DOUBLE"})
        for i, g in enumerate((0.1, 0.2)):
            store.record_trial(sid, trial_id=f"{name}{i}", trial_index=i, params={"gamma": g},
                               replicate=0, seed=7 * i + n, status="done", wall_s=0.1,
                               metrics={"pnl": 10.0 * n + i})
        store.finish_sweep(sid, "done")
        ids.append(sid)
    store.close()
    return ids


def _direct(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_export_parquet_every_table_equals_the_database(tmp_path, capsys):
    results = tmp_path / "r.duckdb"
    _results(results)
    out = tmp_path / "out"
    assert main(["export", str(results), "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert {"sweeps.parquet", "trials.parquet", "metrics.parquet"} <= set(written)
    assert not [n for n in written if n.startswith(".")]  # no temporary leftovers
    got = pq.read_table(out / "metrics.parquet").to_pylist()
    want = _direct(results, "SELECT sweep_id, trial_id, pnl FROM metrics")
    assert sorted((r["sweep_id"], r["trial_id"], r["pnl"]) for r in got) == sorted(want)
    assert pq.read_table(out / "trials.parquet").num_rows == 4


def test_export_csv_one_sweep(tmp_path):
    results = tmp_path / "r.duckdb"
    a, _b = _results(results)
    out = tmp_path / "csv"
    assert main(["export", str(results), "--out", str(out), "--format", "csv",
                 "--sweep", a]) == 0
    with open(out / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["trial_id"] for r in rows] == ["a0", "a1"] and {r["sweep_id"] for r in rows} == {a}
    assert [float(r["gamma"]) for r in rows] == [0.1, 0.2]
    with open(out / "sweeps.csv", newline="") as f:
        (sweep,) = list(csv.DictReader(f))
    assert sweep["name"] == "a" and sweep["data_paths"] == '["/x/a.gz"]'


def test_export_never_overwrites_without_force(tmp_path, capsys):
    results = tmp_path / "r.duckdb"
    _results(results)
    out = tmp_path / "out"
    out.mkdir()
    (out / "trials.parquet").write_bytes(b"mine")
    assert main(["export", str(results), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "trials.parquet" in err and "--force" in err
    assert (out / "trials.parquet").read_bytes() == b"mine"
    assert sorted(p.name for p in out.iterdir()) == ["trials.parquet"]  # nothing else written
    assert main(["export", str(results), "--out", str(out), "--force"]) == 0
    assert pq.read_table(out / "trials.parquet").num_rows == 4


@pytest.mark.parametrize(("argv", "needle"), [
    (["--sweep", "nope"], "--sweep 'nope': no such sweep"),
])
def test_export_bad_requests_exit_2(tmp_path, capsys, argv, needle):
    results = tmp_path / "r.duckdb"
    _results(results)
    assert main(["export", str(results), "--out", str(tmp_path / "o"), *argv]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["export", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path / "o")]) == 2
