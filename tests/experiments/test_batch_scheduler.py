"""The sweep scheduler's batches (experiments/backends/local.py, experiments/worker.py).

Trials the batch path supports go to workers in batches; the stored results must not depend on
how trials were batched (batch size, workers, in process or in a pool), and a failing trial
fails alone.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb

from experiments.backends.batching import BATCH_RESULT_BYTES, MAX_BATCH, PROBE_BATCH, auto_batch_size, outcome_bytes
from experiments.backends.local import LocalBackend
from experiments.config import load_sweep
from experiments.executor import load_data, run_sweep
from experiments.progress import PlainReporter
from experiments.worker import WorkerContext, run_batch_safely
from strategies.glft import GLFTQuoter

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"

GRID = """
[sweep]
name = "b"
seed = 5
{batch}

[data]
format = "binance_ws"
paths = ["{path}"]

[venue]
profile = "binance_usdm"
queue_model = "prob_log"
entry_latency_ms = [2.0, 20.0]

[strategy]
kind = "glft"
gamma = [0.005, 0.05, 0.5]
warmup_s = 5.0
window_s = 20.0
"""


def test_auto_batch_size_hand_worked():
    # before any batch was measured: at most PROBE_BATCH trials (a trial's fills are unknown)
    assert auto_batch_size(480.0, workers=2) == PROBE_BATCH == 8
    # 8 minutes of data, ~1,000 fills a trial: 480 x 16 B of samples + 2,000 x 32 B of equity
    # + 1,000 x 64 B of kernel fill records = 135,680 B per trial -> the 64 cap
    assert auto_batch_size(480.0, workers=2, trial_bytes=135_680) == MAX_BATCH
    # a known trial count is split over the workers: 20 trials, 2 workers -> 10
    assert auto_batch_size(480.0, workers=2, n_trials=20, trial_bytes=135_680) == 10
    # a busy day: 174k fills x 64 B + 86,400 x 16 B + 64,000 B = 12.60 MB -> 512 MiB / 12.60 MB = 42
    assert auto_batch_size(86_400.0, workers=2, trial_bytes=12_601_600) == BATCH_RESULT_BYTES // 12_601_600 == 42
    # a year of data without fills: the samples alone (504.6 MB) exceed the budget -> 1
    assert auto_batch_size(365 * 86_400.0, workers=1, trial_bytes=0) == 1


def test_batches_are_resized_from_measured_results(write_sweep):
    """The backend starts with probe-sized batches and resizes them from the results that come
    back (the largest trial seen), never above MAX_BATCH."""
    spec = load_sweep(write_sweep(GRID.format(batch="", path=SAMPLE.as_posix())))
    feed = load_data(spec)
    backend = LocalBackend(feed=feed, strategy_cls=GLFTQuoter, in_process=True)
    backend.start(WorkerContext(data=spec.data, cache_dir="", sys_path=(), strategy_path="", search_dir=""), workers=1)
    assert backend.batch_size == PROBE_BATCH
    for t in list(spec.trials)[:3]:
        backend.submit(t)
    got = backend.poll(0.0)
    assert [o.status for _, o in got] == ["done"] * 3
    biggest = max(outcome_bytes(o) for _, o in got)
    assert biggest > 0
    assert backend.batch_size == auto_batch_size(backend._batcher._span_s, 1, trial_bytes=biggest)


def _sweep(write_sweep, tmp_path, name: str, batch: str, workers: int):
    spec = load_sweep(write_sweep(GRID.format(batch=batch, path=SAMPLE.as_posix()), name=f"{name}.toml"))
    db = tmp_path / f"{name}.duckdb"
    res = run_sweep(spec, results=db, workers=workers, reporter=PlainReporter(io.StringIO(), ["gamma"]))
    assert (res.n_done, res.n_failed) == (6, 0)
    con = duckdb.connect(str(db), read_only=True)
    metrics = con.execute(
        "SELECT * EXCLUDE (sweep_id) FROM metrics ORDER BY trial_id").fetchall()
    fills = con.execute("SELECT * EXCLUDE (sweep_id) FROM fills ORDER BY trial_id, ts_ns, client_order_id").fetchall()
    equity = con.execute("SELECT * EXCLUDE (sweep_id) FROM equity ORDER BY trial_id, ts_ns").fetchall()
    walls = [r[0] for r in con.execute("SELECT wall_s FROM trials").fetchall()]
    con.close()
    return metrics, fills, equity, walls


def test_stored_results_do_not_depend_on_batching(write_sweep, tmp_path):
    alone = _sweep(write_sweep, tmp_path, "alone", "batch_size = 1", workers=1)
    batched = _sweep(write_sweep, tmp_path, "batched", "batch_size = 6", workers=1)
    pooled = _sweep(write_sweep, tmp_path, "pooled", "", workers=2)
    assert len(alone[1]) > 20  # trials that trade
    assert batched[:3] == alone[:3]
    assert pooled[:3] == alone[:3]
    # a batch's trials share its wall time: all six ran in one replay, two batches in the pool
    assert len(set(batched[3])) == 1
    assert len(set(pooled[3])) == 2
    assert len(set(alone[3])) == 6


def test_a_failing_trial_fails_alone_and_a_broken_batch_reruns_each_trial(write_sweep, monkeypatch):
    spec = load_sweep(write_sweep(GRID.format(batch="", path=SAMPLE.as_posix())))
    feed = load_data(spec)
    trials = list(spec.trials)[:3]
    import venues.orderbook.batch as batch

    real = batch.run_quoter_batch

    def one_fails(feed, venues, strategies, extras=None, strategy_cls=None, finish=None, fill_rows=0):
        out = real(feed, venues, strategies, extras, strategy_cls, finish, fill_rows)
        out[1] = ValueError("GLFT quote price rounds to 0")
        return out

    monkeypatch.setattr(batch, "run_quoter_batch", one_fails)
    got = run_batch_safely(feed, trials, GLFTQuoter)
    assert [o.status for o in got] == ["done", "failed", "done"]
    assert got[1].error == "ValueError: GLFT quote price rounds to 0"

    def broken(*args, **kwargs):
        raise RuntimeError("kernel bug")

    monkeypatch.setattr(batch, "run_quoter_batch", broken)
    again = run_batch_safely(feed, trials, GLFTQuoter)  # one by one, through run_trial
    assert [o.status for o in again] == ["done"] * 3
    assert [o.metrics for o in again][0] == got[0].metrics and again[2].metrics == got[2].metrics
