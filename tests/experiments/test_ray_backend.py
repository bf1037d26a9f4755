"""The Ray backend against a local Ray instance started here: same results as in-process,
failing, timing-out and crashing trials end ``failed`` and the backend goes on."""

from __future__ import annotations

import builtins
import os
import sys
import textwrap
import time
import types
from pathlib import Path

import numba
import numpy as np
import pytest

ray = pytest.importorskip("ray")

from engine.gpu import GpuSlots, gpu_slot, install  # noqa: E402
from experiments.backends.ray import RayBackend  # noqa: E402
from experiments.config import load_sweep  # noqa: E402
from experiments.worker import WorkerContext, run_trial_safely  # noqa: E402
from venues.loaders import load_feed  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt"

SWEEP = """
[sweep]
name = "ray"
seed = 7

[data]
format = "binance_ws"
paths = ["{data}"]
symbol = "ETHUSDT"

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001
queue_model = "risk_averse"

[strategy]
kind = "{kind}"
order_qty = 0.05
max_position = 0.5
interval_ms = 100.0
gamma = {gammas}
"""

# gamma 0.25 holds a GPU slot and sleeps past any timeout; 0.3 kills its process; >= 0.5
# raises (ExplodingQuoter); anything else is plain GLFT.
TRICKY_PLUGIN = textwrap.dedent(
    """
    import os
    import time

    from engine.gpu import gpu_slot
    from strategies.glft import GLFTQuoter


    class TrickyQuoter(GLFTQuoter):
        # one self-contained module: a sweep imports only the module it names, not neighbours
        def on_start(self):
            if self.config.gamma >= 0.5:
                raise RuntimeError(f"exploding quoter: gamma={self.config.gamma} too large")
            if self.config.gamma == 0.25:
                with gpu_slot():
                    time.sleep(120)
            if self.config.gamma == 0.3:
                os._exit(3)
            super().on_start()
    """
)


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance for this module (2 CPUs), stopped at the end."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def _sweep(write_sweep, kind: str, gammas: list[float]):
    data = SAMPLE / "ethusdt_20240718.gz"
    path = write_sweep(SWEEP.format(data=data, kind=kind, gammas=gammas))
    spec = load_sweep(path)
    cache = os.environ["MMSIM_CACHE_DIR"]
    feed = load_feed(spec.data, cache_dir=cache)  # parsed once here; actors hit the cache
    ctx = WorkerContext(data=spec.data, cache_dir=cache, sys_path=tuple(sys.path),
                        strategy_path=spec.strategy_path, search_dir=str(spec.path.parent))
    return spec, feed, ctx


def _drain(backend, n: int, limit_s: float = 60.0):
    got = {}
    deadline = time.monotonic() + limit_s
    while len(got) < n:
        assert time.monotonic() < deadline, f"only {len(got)} of {n} trials came back"
        for trial, outcome in backend.poll(1.0):
            assert trial.trial_id not in got
            assert outcome.trial_id == trial.trial_id
            got[trial.trial_id] = outcome
    return got


def test_ray_results_equal_in_process_results(ray_local, write_sweep):
    """Three real GLFT trials on 2 actors: metrics and equity identical to in-process runs."""
    spec, feed, ctx = _sweep(write_sweep, "glft", [0.001, 0.01, 0.1])
    local = {t.trial_id: run_trial_safely(feed, t, spec.strategy_cls) for t in spec.trials}
    backend = RayBackend()
    backend.start(ctx, 2)
    try:
        for trial in spec.trials:
            backend.submit(trial, timeout_s=120)
        running = backend.running()
        assert len(running) == 2 and all(t0 <= time.monotonic() for _, t0 in running)
        got = _drain(backend, len(spec.trials))
        assert backend.running() == [] and backend.poll(0.1) == []
    finally:
        backend.shutdown()
    assert ray.is_initialized()  # not ours to stop
    for trial in spec.trials:
        here, remote = local[trial.trial_id], got[trial.trial_id]
        assert here.status == remote.status == "done", remote.error
        assert here.metrics and set(here.metrics) == set(remote.metrics)
        np.testing.assert_equal(remote.metrics, here.metrics)  # NaN == NaN here
        np.testing.assert_array_equal(remote.equity, here.equity)


def test_ray_runs_batches_with_the_results_of_single_trials(ray_local, write_sweep):
    """Given the feed and the strategy class, the Ray backend sends batchable trials as batch
    tasks (one replay each; its trials share the batch's wall time) and every trial's outcome
    equals the same trial run alone in process."""
    spec, feed, ctx = _sweep(write_sweep, "glft", [0.001, 0.003, 0.01, 0.03, 0.1, 0.3])
    local = {t.trial_id: run_trial_safely(feed, t, spec.strategy_cls) for t in spec.trials}
    backend = RayBackend(feed=feed, strategy_cls=spec.strategy_cls)
    backend.start(ctx, 2)
    try:
        assert backend.batch_size == 8  # the probe size: no batch measured yet
        for trial in spec.trials:
            backend.submit(trial, timeout_s=120)
        assert backend.running() == []  # held for a batch until the next poll
        got = _drain(backend, len(spec.trials))
        assert backend.batch_size > 8  # resized from the measured results
    finally:
        backend.shutdown()
    walls = {got[t.trial_id].wall_s for t in spec.trials}
    assert len(walls) == 2  # two batches of three, one per actor
    for trial in spec.trials:
        here, remote = local[trial.trial_id], got[trial.trial_id]
        assert here.status == remote.status == "done", remote.error
        np.testing.assert_equal(remote.metrics, here.metrics)
        np.testing.assert_array_equal(remote.equity, here.equity)
        np.testing.assert_array_equal(remote.fills, here.fills)


def test_failing_timing_out_and_crashing_trials(ray_local, write_sweep, tmp_path):
    """One actor: raise → failed; timeout → failed, actor replaced, its GPU slot given back;
    os._exit → failed, actor replaced; the last trial still runs and matches in-process."""
    (tmp_path / "mm_ray_plugins.py").write_text(TRICKY_PLUGIN)
    spec, feed, ctx = _sweep(write_sweep, "mm_ray_plugins:TrickyQuoter", [0.7, 0.25, 0.3, 0.001])
    explode, sleepy, crash, normal = spec.trials
    local = run_trial_safely(feed, normal, spec.strategy_cls)  # also warms Numba's disk cache
    gpu = GpuSlots(1)
    backend = RayBackend()
    backend.start(ctx, 1, gpu=gpu)
    try:
        for trial in spec.trials:
            backend.submit(trial, timeout_s=4.0)
        got = _drain(backend, 4)
        sem = gpu.ray_handle()
        assert ray.get(sem.count.remote()) == 0  # the killed actor's slot came back
        assert ray.get(sem.peak.remote()) == 1  # the sleepy trial did hold it
    finally:
        backend.shutdown()
        gpu.close()

    assert got[explode.trial_id].status == "failed"
    assert got[explode.trial_id].error == "RuntimeError: exploding quoter: gamma=0.7 too large"
    assert got[sleepy.trial_id].status == "failed"
    assert got[sleepy.trial_id].error == "TimeoutError: trial exceeded 4 s"
    assert got[crash.trial_id].status == "failed"
    assert got[crash.trial_id].error.startswith("ActorDiedError: The actor died unexpectedly")
    assert got[normal.trial_id].status == "done"
    np.testing.assert_equal(got[normal.trial_id].metrics, local.metrics)
    # Ray's tqdm support would have swapped builtins.print for a Python function here (the
    # actors' output reaches the driver), and Numba code with a print could not compile after it
    assert type(builtins.print) is types.BuiltinFunctionType
    numba.njit(lambda x: print(x))(0)


def test_start_fails_loudly_when_the_actor_cannot_start(ray_local, write_sweep):
    """A strategy the actors cannot import: start() raises with the actor's error."""
    spec, _feed, ctx = _sweep(write_sweep, "glft", [0.01])
    bad = WorkerContext(data=ctx.data, cache_dir=ctx.cache_dir, sys_path=ctx.sys_path,
                        strategy_path="no_such_module_xyz:Nope", search_dir=ctx.search_dir)
    backend = RayBackend()
    with pytest.raises(RuntimeError, match="failed to start.*no_such_module_xyz"):
        backend.start(bad, 1)
    assert ray.is_initialized()


def test_cancel_all_stops_running_trials(ray_local, write_sweep, tmp_path):
    """cancel_all drops the queue and kills busy actors; nothing comes back afterwards."""
    (tmp_path / "mm_ray_plugins.py").write_text(TRICKY_PLUGIN)
    spec, _feed, ctx = _sweep(write_sweep, "mm_ray_plugins:TrickyQuoter", [0.25, 0.001])
    backend = RayBackend()
    backend.start(ctx, 1)
    try:
        for trial in spec.trials:
            backend.submit(trial)
        assert [t.trial_id for t, _ in backend.running()] == [spec.trials[0].trial_id]
        assert backend.poll(0.5) == []
        backend.cancel_all()
        assert backend.running() == [] and backend.poll(0.2) == []
    finally:
        backend.shutdown()


def test_ray_gpu_semaphore(ray_local):
    """Ray tasks sharing a RaySemaphore of 2 slots: never more than 2 holders, 2 reached;
    release_holder gives back a dead holder's slots and refuses it new ones."""
    gpu = GpuSlots(2)
    sem = gpu.ray_handle()

    @ray.remote(num_cpus=0.25)
    def stage(handle):
        install(handle)
        with gpu_slot() as on_gpu:
            time.sleep(0.4)
        return on_gpu

    try:
        assert ray.get([stage.remote(sem) for _ in range(6)]) == [True] * 6
        assert ray.get(sem.peak.remote()) == 2
        assert ray.get(sem.count.remote()) == 0
        assert ray.get(sem.acquire.remote("dead-actor")) is True
        assert ray.get(sem.release_holder.remote("dead-actor")) == 1
        assert ray.get(sem.count.remote()) == 0
        assert ray.get(sem.acquire.remote("dead-actor", 0.1)) is False
        assert ray.get(sem.acquire.remote("a")) and ray.get(sem.acquire.remote("b"))
        assert ray.get(sem.acquire.remote("c", 0.2)) is False  # full: times out
    finally:
        gpu.close()


def test_sweep_on_ray_equals_sweep_on_local_pool(ray_local, write_sweep, tmp_path):
    """The same sweep through run_sweep with backend='ray' and 'local' stores identical tables."""
    import duckdb

    from experiments.executor import run_sweep
    from experiments.progress import make_reporter

    spec, feed, _ = _sweep(write_sweep, "glft", [0.01, 0.1])
    tables = {}
    for backend in ("local", "ray"):
        db = tmp_path / f"{backend}.duckdb"
        res = run_sweep(spec, results=db, workers=2, reporter=make_reporter([], plain=True),
                        feed=feed, backend=backend)
        assert res.n_done == 2 and res.n_failed == 0
        con = duckdb.connect(str(db), read_only=True)
        metrics = con.execute("SELECT * EXCLUDE (sweep_id) FROM metrics ORDER BY trial_id").fetchall()
        trials = con.execute("SELECT trial_id, seed, status FROM trials ORDER BY trial_id").fetchall()
        fills = con.execute("SELECT * EXCLUDE (sweep_id) FROM fills ORDER BY trial_id, ts_ns").fetchall()
        con.close()
        tables[backend] = (metrics, trials, fills)
    assert tables["local"] == tables["ray"]
