"""The worker side of a sweep: load the data once per process, then run trials on request.

Every backend (the local process pool, Ray) starts its workers with :func:`init_worker` and a
:class:`WorkerContext`, then calls :func:`run_one` per trial. Nothing here writes results: the
outcome goes back to the parent, the only DuckDB writer.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import attrs

from experiments.config import TrialSpec, resolve_strategy
from experiments.progress import TrialOutcome

__all__ = ["WorkerContext", "error_text", "init_worker", "init_worker_gpu", "run_one",
           "run_trial_safely"]


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
    mmap : bool, default True
        Memory-map the cached events (``events.npy`` beside the Parquet cache entry, written
        by the parent) read-only instead of reading the Parquet into private memory: every
        worker then shares one copy of the events through the page cache, and nothing about
        the feed is pickled per trial.
    """

    data: Any
    cache_dir: str
    sys_path: tuple[str, ...]
    strategy_path: str
    search_dir: str
    mmap: bool = True


_STATE: dict[str, Any] = {}
_HOST = socket.gethostname()


def error_text(exc: BaseException) -> str:
    """``"Type: message"`` of an exception (the last line of its formatted form)."""
    lines = traceback.format_exception_only(type(exc), exc)
    last = lines[-1].strip() if lines else type(exc).__name__
    return last if last.startswith(type(exc).__name__) else f"{type(exc).__name__}: {last}"


def run_trial_safely(feed: Any, trial: TrialSpec, strategy_cls: type) -> TrialOutcome:
    """Run one trial, turning any exception into a ``failed`` outcome.

    Parameters
    ----------
    feed : Feed
        The loaded market data.
    trial : TrialSpec
        The trial.
    strategy_cls : type
        The strategy class.

    Returns
    -------
    TrialOutcome
        ``done`` with the metrics, or ``failed`` with ``"Type: message"`` and the traceback.
    """
    from experiments.trial import run_trial

    t0 = time.perf_counter()
    try:
        result = run_trial(feed, trial.venue, trial.strategy, strategy_cls, trial.seed, trial.extras)
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
    return TrialOutcome(
        trial_id=trial.trial_id,
        status="done",
        metrics=metrics,
        wall_s=time.perf_counter() - t0,
        equity=result.equity,
        fills=result.fills,
        host=_HOST,
        alerts=getattr(result, "alerts", None),
    )


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
    for p in ctx.sys_path:
        if p not in sys.path:
            sys.path.append(p)
    from venues.loaders import load_feed

    _STATE["feed"] = load_feed(ctx.data, cache_dir=ctx.cache_dir, mmap=ctx.mmap)
    _STATE["strategy_cls"] = resolve_strategy(ctx.strategy_path, Path(ctx.search_dir))[1]


def init_worker_gpu(ctx: WorkerContext, gpu_handle: Any = None) -> None:
    """:func:`init_worker`, then install the sweep's GPU semaphore (if any) in this process.

    Parameters
    ----------
    ctx : WorkerContext
    gpu_handle : object or None, default None
        ``GpuSlots.worker_handle()`` of the parent (:mod:`experiments.gpu`); ``None``: none.
    """
    init_worker(ctx)
    if gpu_handle is not None:
        from experiments.gpu import install

        install(gpu_handle)


def run_one(trial: TrialSpec) -> TrialOutcome:
    """Run one trial in a worker prepared by :func:`init_worker`."""
    return run_trial_safely(_STATE["feed"], trial, _STATE["strategy_cls"])
