"""The worker side of a sweep: load the data once per process, then run trials on request.

Every backend (the local process pool, Ray) starts its workers with :func:`init_worker` and a
:class:`WorkerContext`, then calls :func:`run_one` per trial. Nothing here writes results: the
outcome goes back to the parent, the only DuckDB writer.
"""

from __future__ import annotations

import gc
import io
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import attrs
from threadpoolctl import threadpool_limits

from experiments.config import TrialSpec, resolve_strategy
from experiments.progress import TrialOutcome

__all__ = ["WorkerContext", "error_text", "init_worker", "init_worker_gpu", "route_output",
           "run_one", "run_trial_safely", "worker_strategy"]


@attrs.frozen(kw_only=True)
class WorkerContext:
    """Everything a worker process needs to run the trials of one sweep (picklable).

    Attributes
    ----------
    data : venues.loaders.DataConfig
        The sweep's data; the worker loads it from ``cache_dir`` (the parent parsed it).
    cache_dir : str
        Parsed-feed cache directory (:func:`experiments.executor.cache_dir`).
    sys_path : tuple of str
        The parent's ``sys.path`` (so user strategy modules import the same way).
    strategy_path : str
        ``module:Class`` of the strategy.
    search_dir : str
        Directory of the sweep file (user modules next to it are importable).
    user_modules : tuple of experiments.plugins.UserModule, default ()
        User modules the parent imported (with their SHA-256): each worker loads exactly these
        files, verifying each hash before running it (:func:`experiments.plugins.load_recorded`).
    log_queue : multiprocessing queue or None, default None
        Where the worker's ``print`` output, warnings and log records go, one line per item, so
        the parent prints them through its live view's console (``None``: inherited streams).
    mmap : bool, default True
        Memory-map the cached events (``events.npy`` beside the Parquet cache entry, written
        by the parent) read-only instead of reading the Parquet into private memory: every
        worker then shares one copy of the events through the page cache, and nothing about
        the feed is pickled per trial.
    fills_dir, sweep_id : str or None, str
        Where the worker writes each finished trial's fill log for the parent
        (:func:`experiments.store.stage_fills`, the sweep's :func:`experiments.store.staging_dir`),
        and the sweep's id for its rows. ``None``: fills are sent back in the outcome (a
        backend whose workers may not share the parent's disk).
    """

    data: Any
    cache_dir: str
    sys_path: tuple[str, ...]
    strategy_path: str
    search_dir: str
    mmap: bool = True
    user_modules: tuple = ()
    fills_dir: str | None = None
    sweep_id: str = ""
    log_queue: Any = attrs.field(default=None, eq=False, repr=False)


_STATE: dict[str, Any] = {}
_HOST = socket.gethostname()


def error_text(exc: BaseException) -> str:
    """``"Type: message"`` of an exception (the last line of its formatted form)."""
    lines = traceback.format_exception_only(type(exc), exc)
    last = lines[-1].strip() if lines else type(exc).__name__
    return last if last.startswith(type(exc).__name__) else f"{type(exc).__name__}: {last}"


def run_trial_safely(feed: Any, trial: TrialSpec, strategy_cls: type, *, compiled: bool = True) -> TrialOutcome:
    """Run one trial, turning any exception into a ``failed`` outcome.

    Parameters
    ----------
    feed : Feed
        The loaded market data.
    trial : TrialSpec
        The trial.
    strategy_cls : type
        The strategy class.
    compiled : bool, default True
        As :func:`experiments.trial.run_trial` (``False``: the per-trial event loop).

    Returns
    -------
    TrialOutcome
        ``done`` with the metrics, or ``failed`` with ``"Type: message"`` and the traceback.
    """
    from experiments.trial import run_trial

    t0 = time.perf_counter()
    try:
        result = run_trial(feed, trial.venue, trial.strategy, strategy_cls, trial.seed, trial.extras,
                           **({} if compiled else {"compiled": False}))
        metrics = {str(k): float(v) for k, v in dict(result.metrics).items()}
    except Exception as exc:  # noqa: BLE001 - a failing trial is data, not a crash
        return TrialOutcome(
            trial_id=trial.trial_id,
            status="failed",
            wall_s=time.perf_counter() - t0,
            error=error_text(exc),
            traceback=traceback.format_exc(),
            host=_HOST,
        )
    return done_outcome(trial, result, metrics, time.perf_counter() - t0)


def done_outcome(trial: TrialSpec, result: Any, metrics: dict[str, float], wall_s: float) -> TrialOutcome:
    """The outcome of a finished trial, as small as the store needs it.

    The equity curve is thinned here to the rows the store keeps
    (:data:`experiments.store.EQUITY_MAX_ROWS`), after the metric-interval samples were taken
    from the full curve (:func:`experiments.store.metric_samples`): a day at 100 ms is ~864k rows
    (~28 MB) a trial, which need not cross the process boundary. In a worker told where
    (:class:`WorkerContext` ``fills_dir``), the fill log is written to a file for the parent
    instead of being sent (``fills_file``).
    """
    from experiments.store import EQUITY_MAX_ROWS, downsample, metric_samples, stage_fills

    equity = result.equity
    samples = metric_samples(equity, metrics) if equity is not None else None
    fills, fills_file = result.fills, None
    to = _STATE.get("fills_to")
    if to is not None and fills is not None and len(fills):
        fills, fills_file = None, stage_fills(to[0], to[1], trial.trial_id, fills)
    return TrialOutcome(
        trial_id=trial.trial_id,
        status="done",
        metrics=metrics,
        wall_s=wall_s,
        equity=downsample(equity, EQUITY_MAX_ROWS) if equity is not None else None,
        equity_samples=samples,
        fills=fills,
        fills_file=fills_file,
        host=_HOST,
        alerts=getattr(result, "alerts", None),
        pnl_currency=getattr(result, "pnl_currency", None) or None,
    )


def run_batch_safely(feed: Any, trials: list[TrialSpec], strategy_cls: type) -> list[TrialOutcome]:
    """Run trials that share the feed and venue settings in one compiled replay.

    The batch path (:func:`venues.orderbook.batch.run_quoter_batch`) replays the data once for
    all of them; trials the path refuses run alone through :func:`run_trial_safely`, and when
    the batch itself raises, each trial runs again on the per-trial event loop
    (``compiled=False``), so a failing trial fails alone.

    Parameters
    ----------
    feed : Feed
    trials : list of TrialSpec
        Trials with equal :func:`venues.orderbook.batch.batch_key` and extras.
    strategy_cls : type

    Returns
    -------
    list of TrialOutcome
        One per trial, in order; ``wall_s`` of a batched trial is its share of the batch.
    """
    from venues.orderbook.batch import BatchUnsupported, run_quoter_batch

    t0 = time.perf_counter()

    def finish(k: int, result: Any) -> TrialOutcome:  # the stored form at once: one full curve at a time
        n = len(result.fills) if result.fills is not None else 0
        _STATE["fills_per_trial"] = max(_STATE.get("fills_per_trial", 0), n)
        return done_outcome(trials[k], result, {str(m): float(v) for m, v in result.metrics.items()}, 0.0)

    # the kernel's fill table sized from this worker's earlier batches (a quarter over the most
    # fills a trial made), so it is not grown by doubling
    fill_rows = int(1.25 * len(trials) * _STATE.get("fills_per_trial", 0))
    try:
        results = run_quoter_batch(feed, [t.venue for t in trials], [t.strategy for t in trials], trials[0].extras,
                                   strategy_cls, finish=finish, fill_rows=fill_rows)
    except BatchUnsupported:
        return [run_trial_safely(feed, t, strategy_cls) for t in trials]
    except Exception:  # noqa: BLE001 - the batch path broke: each trial runs on the per-trial loop
        return [run_trial_safely(feed, t, strategy_cls, compiled=False) for t in trials]
    wall = (time.perf_counter() - t0) / len(trials)
    out = []
    for trial, result in zip(trials, results, strict=True):
        if isinstance(result, Exception):
            out.append(TrialOutcome(trial_id=trial.trial_id, status="failed", wall_s=wall, error=error_text(result),
                                    traceback="".join(traceback.format_exception(result)), host=_HOST))  # fmt: skip
            continue
        out.append(attrs.evolve(result, wall_s=wall))
    return out


def init_worker(ctx: WorkerContext, *, ignore_sigint: bool = True) -> None:
    """Prepare this process to run trials: import paths, strategy class, feed (once).

    Parameters
    ----------
    ctx : WorkerContext
    ignore_sigint : bool, default True
        Ignore Ctrl-C in the worker (the parent handles it).

    Warnings
    --------
    Called once per worker process by a backend, before any :func:`run_one`.
    """
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # one compute thread per worker: the workers already fill the cores, and a BLAS pool of a
    # worker's own (numpy's OpenBLAS, used by np.dot in the metrics) spins after each call on
    # the cores the other workers run on
    threadpool_limits(1)
    if ctx.log_queue is not None:
        route_output(ctx.log_queue)
    for p in ctx.sys_path:
        if p not in sys.path:
            sys.path.append(p)
    from venues.loaders import load_feed

    _STATE["feed"] = load_feed(ctx.data, cache_dir=ctx.cache_dir, mmap=ctx.mmap)
    _STATE["strategy_cls"] = worker_strategy(ctx)
    _STATE["fills_to"] = (ctx.fills_dir, ctx.sweep_id) if ctx.fills_dir else None


def worker_strategy(ctx: WorkerContext) -> type:
    """Load the parent's user modules (hash-checked) and resolve the strategy class.

    Raises
    ------
    ValueError
        If a user module's file changed since the parent loaded it.
    """
    from experiments.plugins import load_recorded

    load_recorded(ctx.user_modules)
    # a context built without records (library use) resolves like the parent's load_sweep did
    trusted = {m.name: m.sha256 for m in ctx.user_modules} if ctx.user_modules else None
    return resolve_strategy(ctx.strategy_path, Path(ctx.search_dir), trusted=trusted)[1]


class _QueueStream(io.TextIOBase):
    """A text stream that sends each complete line to a queue (partial lines are buffered)."""

    def __init__(self, queue: Any, name: str):
        self._queue, self._name, self._buf = queue, name, ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._buf += s
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            self._send(line)
        return len(s)

    def flush(self) -> None:
        if self._buf:
            self._send(self._buf)
            self._buf = ""

    def _send(self, line: str) -> None:
        try:
            self._queue.put_nowait(line)
        except Exception:  # noqa: BLE001 - a full or closed queue must not fail the trial
            pass


def route_output(queue: Any) -> None:
    """Send this process's ``sys.stdout``/``sys.stderr`` (hence ``print``, warnings and the
    root logger's stream handler) to ``queue`` line by line.

    Parameters
    ----------
    queue : multiprocessing queue
        Drained by the parent (:meth:`experiments.backends.local.LocalBackend.logs`).
    """
    import logging

    sys.stdout = _QueueStream(queue, "stdout")
    sys.stderr = _QueueStream(queue, "stderr")
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def init_worker_gpu(ctx: WorkerContext, gpu_handle: Any = None) -> None:
    """:func:`init_worker`, then install the sweep's GPU semaphore (if any) in this process.

    Parameters
    ----------
    ctx : WorkerContext
    gpu_handle : object or None, default None
        ``GpuSlots.worker_handle()`` of the parent (:mod:`engine.gpu`); ``None``: none.
    """
    init_worker(ctx)
    if gpu_handle is not None:
        from engine.gpu import install

        install(gpu_handle)


def run_one(trial: TrialSpec) -> TrialOutcome:
    """Run one trial in a worker prepared by :func:`init_worker`."""
    return run_trial_safely(_STATE["feed"], trial, _STATE["strategy_cls"])


def run_batch(trials: list[TrialSpec]) -> list[TrialOutcome]:
    """Run a batch of trials in a worker prepared by :func:`init_worker` (:func:`run_batch_safely`).

    A collection after each batch: a batch allocates few Python objects but large arrays, so the
    cyclic collector would otherwise rarely run and a worker's memory would grow batch by batch.
    """
    try:
        return run_batch_safely(_STATE["feed"], trials, _STATE["strategy_cls"])
    finally:
        gc.collect()
