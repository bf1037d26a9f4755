"""The local backend: a ``pebble`` process pool on this machine (or this very process).

Workers are started with ``spawn`` (see :mod:`experiments.executor` for why) and prepared once
by :func:`experiments.worker.init_worker_gpu` (feed memory-mapped from the parent's cache, the
strategy class imported, the GPU semaphore installed). Each trial is one pool task; with a
``timeout_s`` pebble stops the worker running a trial that exceeds it and starts a fresh one,
and the trial ends ``failed`` with ``TimeoutError: trial exceeded N s``. A worker that dies
(segfault, ``os._exit``, killed by the OOM killer) fails its trial with the exit code and is
replaced; the sweep goes on.

**Batches.** Trials the batch path supports (the builtin quoters on a plain order-book
venue, :func:`venues.orderbook.batch.batch_unsupported`) that share their venue settings are
sent as one task of up to ``batch_size`` trials (:mod:`experiments.backends.batching`): the
worker replays the data once for all of them (:func:`experiments.worker.run_batch`); each trial
still gets its own outcome, and a trial that fails fails alone. A batch's time limit is
``timeout_s`` times its size; a worker that dies fails the trials of its batch. Other trials are
one task each.

**In-process mode.** With one worker and no timeout the trials run in the parent itself, one
per :meth:`LocalBackend.poll`: no worker start-up (about a second of imports and Numba cache
loading), the feed the parent already loaded is reused. A timeout needs a process to stop, so
with ``timeout_s`` set even one worker runs in the pool.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import queue
import time
import traceback
from collections import deque
from typing import Any

import attrs

from experiments.backends.batching import Batcher
from experiments.config import TrialSpec
from experiments.progress import TrialOutcome
from experiments.worker import (
    WorkerContext,
    error_text,
    init_worker_gpu,
    run_batch,
    run_batch_safely,
    run_one,
    run_trial_safely,
    worker_strategy,
)

__all__ = ["LocalBackend"]

MP_START_METHOD = "spawn"

def _fmt_s(x: float) -> str:
    return f"{x:g}"


class LocalBackend:
    """Run trials on a local process pool (``pebble.ProcessPool``) or in this process.

    Parameters
    ----------
    feed : Feed or None, default None
        The feed the parent loaded; used in in-process mode (``None``: load it there).
    strategy_cls : type or None, default None
        The strategy class, for in-process mode (``None``: resolve ``ctx.strategy_path``).
    in_process : bool or None, default None
        ``None``: in-process when ``workers == 1`` and no trial has a timeout (decided at the
        first :meth:`submit`); ``False`` forces the pool.

    Warnings
    --------
    Parent-side object; not thread-safe. See :class:`experiments.backends.Backend`.
    """

    def __init__(self, feed: Any = None, strategy_cls: type | None = None,
                 in_process: bool | None = None, batch_size: int | None = None):
        self._feed = feed
        self._strategy_cls = strategy_cls
        self._in_process = in_process
        self._batcher = Batcher(feed, strategy_cls, batch_size)
        self._pool: Any = None
        self._ctx: WorkerContext | None = None
        self._workers = 1
        self._gpu: Any = None
        self._futures: dict[Any, tuple[list[TrialSpec], float | None]] = {}
        self._started_at: dict[Any, float] = {}
        self._queue: deque[list[TrialSpec]] = deque()
        self._current: tuple[list[TrialSpec], float] | None = None
        self._log_queue: Any = None

    @property
    def batch_size(self) -> int | None:
        """Trials per batch task now (:class:`experiments.backends.batching.Batcher`; 1: no batches)."""
        return self._batcher.batch_size

    # -- protocol -------------------------------------------------------------------------

    def start(self, ctx: WorkerContext, workers: int, gpu: Any = None) -> None:
        """Remember the context; the pool itself starts at the first pool submission."""
        self._ctx, self._workers, self._gpu = ctx, max(1, int(workers)), gpu
        self._batcher.start(self._workers)

    def _flush(self) -> None:
        """Send the held batchable trials in batches (:meth:`Batcher.take`)."""
        for trials, timeout_s in self._batcher.take(idle=not self._futures and not self._queue):
            self._schedule(trials, timeout_s)

    def _schedule(self, trials: list[TrialSpec], timeout_s: float | None) -> None:
        if self._use_in_process(timeout_s):
            self._queue.append(trials)
            return
        self._ensure_pool()
        limit = None if timeout_s is None else timeout_s * len(trials)
        if len(trials) == 1:
            fut = self._pool.schedule(run_one, args=(trials[0],), timeout=limit)
        else:
            fut = self._pool.schedule(run_batch, args=(trials,), timeout=limit)
        self._futures[fut] = (trials, limit)

    def _ensure_pool(self) -> None:
        if self._pool is not None:
            return
        from pebble import ProcessPool

        handle = self._gpu.worker_handle() if self._gpu is not None else None
        context = mp.get_context(MP_START_METHOD)
        # workers' print/warnings/log lines come back here and are shown through the live
        # view's console (experiments.worker.route_output), not written over it
        self._log_queue = context.Queue()
        ctx = attrs.evolve(self._ctx, log_queue=self._log_queue)
        self._pool = ProcessPool(
            max_workers=self._workers, initializer=init_worker_gpu,
            initargs=(ctx, handle), context=context,
        )

    def logs(self) -> list[str]:
        """Lines the workers printed (stdout, stderr, warnings, logging) since the last call."""
        out: list[str] = []
        q = self._log_queue
        while q is not None and len(out) < 10_000:
            try:
                out.append(q.get_nowait())
            except (queue.Empty, OSError, ValueError, EOFError):
                break
        return out

    def _use_in_process(self, timeout_s: float | None) -> bool:
        if self._in_process is None:
            self._in_process = self._workers == 1 and timeout_s is None and self._pool is None
        return bool(self._in_process) and timeout_s is None

    def submit(self, trial: TrialSpec, timeout_s: float | None = None) -> None:
        """Queue ``trial``; with ``timeout_s`` a longer run ends ``failed`` (pool mode).

        A trial that may join a batch waits for the next :meth:`poll`, which sends the
        pending ones in batches.
        """
        if not self._batcher.hold(trial, timeout_s):
            self._schedule([trial], timeout_s)

    def _run_here(self) -> list[tuple[TrialSpec, TrialOutcome]]:
        trials = self._queue.popleft()
        if self._strategy_cls is None:
            assert self._ctx is not None
            self._strategy_cls = worker_strategy(self._ctx)
        if self._feed is None:
            assert self._ctx is not None
            from engine import gpu
            from venues.loaders import load_feed

            # in-process mode: this process is the worker, so it holds the GPU handle too
            gpu.install(self._gpu.worker_handle() if self._gpu is not None else None)
            self._feed = load_feed(self._ctx.data, cache_dir=self._ctx.cache_dir,
                                   mmap=self._ctx.mmap)
        self._current = (trials, time.monotonic())
        try:
            if len(trials) == 1:
                return [(trials[0], run_trial_safely(self._feed, trials[0], self._strategy_cls))]
            out = list(zip(trials, run_batch_safely(self._feed, trials, self._strategy_cls), strict=True))
            self._batcher.measured(out)
            return out
        finally:
            self._current = None

    def poll(self, timeout_s: float) -> list[tuple[TrialSpec, TrialOutcome]]:
        """Finished trials; in-process mode runs (at most) one queued trial or batch now."""
        self._flush()
        if self._queue:
            return self._run_here()
        if not self._futures:
            return []
        self._note_running()
        done, _ = cf.wait(list(self._futures), timeout=timeout_s,
                          return_when=cf.FIRST_COMPLETED)
        out = []
        for fut in done:
            trials, limit = self._futures.pop(fut)
            self._started_at.pop(fut, None)
            got = self._outcomes(trials, fut, limit)
            self._batcher.measured(got)
            out.extend(got)
        self._note_running()
        out.sort(key=lambda p: p[0].index)
        return out

    def _note_running(self) -> None:
        now = time.monotonic()
        for fut in self._futures:
            if fut not in self._started_at and fut.running():
                self._started_at[fut] = now

    @staticmethod
    def _outcomes(trials: list[TrialSpec], fut: Any, limit: float | None) -> list[tuple[TrialSpec, TrialOutcome]]:
        """Outcomes of a finished task: its trials' own, or the task's failure for each of them."""
        from pebble import ProcessExpired

        what = "trial" if len(trials) == 1 else f"batch of {len(trials)} trials"
        try:
            result = fut.result()
            return list(zip(trials, result if isinstance(result, list) else [result], strict=True))
        except cf.TimeoutError:
            error, wall = f"TimeoutError: {what} exceeded {_fmt_s(limit or 0.0)} s", float(limit or 0.0)
            tb = None
        except ProcessExpired as exc:
            error, wall, tb = f"ProcessExpired: worker process died (exit code {exc.exitcode})", 0.0, None
        except cf.CancelledError:
            error, wall, tb = f"CancelledError: {what} cancelled", 0.0, None
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result, a broken pool
            error, wall, tb = error_text(exc), 0.0, "".join(traceback.format_exception(exc))
        return [(t, TrialOutcome(trial_id=t.trial_id, status="failed", wall_s=wall, error=error, traceback=tb))
                for t in trials]  # fmt: skip

    def running(self) -> list[tuple[TrialSpec, float]]:
        """Trials running now with their start time (``time.monotonic()``), by trial index."""
        if self._current is not None:
            return [(t, self._current[1]) for t in self._current[0]]
        self._note_running()
        out = [(t, t0) for f, t0 in self._started_at.items() if f in self._futures for t in self._futures[f][0]]
        return sorted(out, key=lambda p: p[0].index)

    def cancel_all(self) -> None:
        """Drop queued trials and stop the workers running trials (nothing is waited for)."""
        self._queue.clear()
        self._batcher.clear()
        for fut in list(self._futures):
            fut.cancel()
        self._futures.clear()
        self._started_at.clear()
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None

    def shutdown(self) -> None:
        """Stop the pool (after :meth:`cancel_all`, or once every trial finished)."""
        if self._pool is not None:
            if self._futures:
                self._pool.stop()
            else:
                self._pool.close()
            self._pool.join(timeout=30)
            self._pool = None
