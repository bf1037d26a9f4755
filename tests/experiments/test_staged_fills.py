"""Fill logs a worker writes to a file (``stage_fills``) instead of sending them to the parent."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from components.metrics import FILL_DTYPE
from experiments.store import STAGED_SUFFIX, ResultStore, parts_dir, stage_fills, staging_dir
from tests.experiments.test_store import _begin


def _fills(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = np.zeros(n, dtype=FILL_DTYPE)
    f["ts_ns"] = np.sort(rng.integers(0, 10**12, n))
    f["client_order_id"] = np.arange(n)
    f["side"] = rng.choice([-1, 1], n)
    f["is_maker"] = rng.random(n) < 0.8
    f["px"] = np.round(2500 + rng.standard_normal(n), 2)
    f["qty"] = 0.05
    f["fee"] = -f["px"] * 0.05 * 1e-4
    f["q_after"] = np.cumsum(f["side"] * 0.05)
    f["mid"] = f["px"] + 0.005
    return f


def _record(store, sid, tid, index, **kw):
    kw.setdefault("metrics", {"pnl": 1.0})
    kw.setdefault("params", {"gamma": 0.1})
    store.record_trials(sid, [dict(trial_id=tid, trial_index=index, replicate=0, seed=1, status="done", wall_s=0.0,
                                   **kw)])


def _rows(where):
    """The fills rows (without ``sweep_id``) of a store's connection or of a closed file."""
    con = where.con if isinstance(where, ResultStore) else duckdb.connect(str(where), read_only=True)
    rows = con.execute("SELECT * EXCLUDE (sweep_id) FROM fills ORDER BY trial_id, ts_ns, client_order_id").fetchall()
    if not isinstance(where, ResultStore):
        con.close()
    return rows


def test_a_staged_fill_log_is_stored_as_the_same_rows_and_becomes_the_trial_part(tmp_path):
    """The rows from the file equal those of the same fills sent as an array; after the commit the
    file is the trial's live-reader part, under the trial's name."""
    fills = {"a" * 16: _fills(500, 1), "b" * 16: _fills(300, 2)}
    sent = ResultStore(tmp_path / "sent.duckdb")
    sid = _begin(sent)
    for i, (tid, f) in enumerate(fills.items()):
        _record(sent, sid, tid, i, fills=f)
    sent.close()

    staged = ResultStore(tmp_path / "staged.duckdb")
    sid2 = _begin(staged)
    d = staging_dir(tmp_path / "staged.duckdb", sid2)
    files = [stage_fills(d, sid2, tid, f) for tid, f in fills.items()]
    assert all(p.startswith(str(d)) and p.endswith(STAGED_SUFFIX) for p in files)
    staged.record_trials(sid2, [dict(trial_id=tid, trial_index=i, params={"gamma": 0.1}, replicate=0, seed=1,
                                     status="done", wall_s=0.0, metrics={"pnl": 1.0}, fills_file=path)
                                for i, (tid, path) in enumerate(zip(fills, files, strict=True))])  # fmt: skip
    assert _rows(staged) == _rows(tmp_path / "sent.duckdb")
    assert len(_rows(staged)) == 800
    # the staged files were renamed into the parts: one per trial, none hidden left
    names = sorted(p.name for p in d.iterdir())
    assert names == sorted(f"{tid}.parquet" for tid in fills)
    part = pq.read_table(d / f"{'b' * 16}.parquet")
    assert part.num_rows == 300 and part.column("trial_id")[0].as_py() == "b" * 16
    staged.finish_sweep(sid2, "done")
    staged.close()
    assert not (parts_dir(tmp_path / "staged.duckdb") / sid2).exists()


def test_without_parts_a_staged_file_is_deleted_after_its_insert(tmp_path):
    store = ResultStore(tmp_path / "r.duckdb", parts=False)
    sid = _begin(store)
    path = stage_fills(staging_dir(tmp_path / "r.duckdb", sid), sid, "c" * 16, _fills(50, 3))
    _record(store, sid, "c" * 16, 0, fills_file=path)
    store.close()
    assert len(_rows(tmp_path / "r.duckdb")) == 50
    assert not any(staging_dir(tmp_path / "r.duckdb", sid).iterdir())


def test_a_failed_write_keeps_no_rows_and_an_interrupted_sweep_drops_uncommitted_files(tmp_path):
    """A transaction that fails leaves the staged file (the trial is not stored); stopping the sweep
    removes such files, which no live reader ever saw (hidden names)."""
    store = ResultStore(tmp_path / "r.duckdb")
    sid = _begin(store)
    d = staging_dir(tmp_path / "r.duckdb", sid)
    path = stage_fills(d, sid, "d" * 16, _fills(20, 4))
    with pytest.raises(duckdb.Error):  # the trial's row breaks a constraint: nothing is stored
        _record(store, sid, "d" * 16, 0, fills_file=path, params={"gamma": "not a number"})
    assert Path(path).exists()
    con = store.con
    assert con.execute("SELECT count(*) FROM fills").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM trials").fetchone() == (0,)
    store.finish_sweep(sid, "interrupted")
    store.close()
    assert not list(d.glob(f"*{STAGED_SUFFIX}"))
