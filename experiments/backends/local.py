"""The local backend: a ``pebble`` process pool on this machine (or this very process).

Workers are started with ``spawn`` (see :mod:`experiments.executor` for why) and prepared once
by :func:`experiments.worker.init_worker_gpu` (feed memory-mapped from the parent's cache, the
strategy class imported, the GPU semaphore installed). Each trial is one pool task; with a
``timeout_s`` pebble stops the worker running a trial that exceeds it and starts a fresh one,
and the trial ends ``failed`` with ``TimeoutError: trial exceeded N s``. A worker that dies
(segfault, ``os._exit``, killed by the OOM killer) fails its trial with the exit code and is
replaced; the sweep goes on.

**Batches.** Trials the batch path supports (the builtin GLFT quoter on a plain order-book
venue, :func:`venues.orderbook.batch.batch_unsupported`) that share their venue settings are
sent as one task of up to ``batch_size`` trials: the worker replays the data once for all of
them (:func:`experiments.worker.run_batch`); each trial still gets its own outcome, and a trial
that fails fails alone. A batch's time limit is ``timeout_s`` times its size; a worker that
dies fails the trials of its batch. Other trials are one task each.

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
import numpy as np

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

MAX_BATCH = 64
"""Largest automatic batch: beyond it the shared replay saves little and a lost worker loses more."""
BATCH_RESULT_BYTES = 256 * 2**20
"""Memory the results of one automatic batch may take as sent back (the fill logs, the metric-interval
samples and the thinned equity of its trials). A worker holds about three times that while the
batch runs: the kernel's fill records, the outcomes, and their pickled copy."""
PROBE_BATCH = 8
"""Most trials in an automatic batch until one batch's results were measured (a trial's fills, and so
its results, are not known before it runs)."""


def auto_batch_size(span_s: float, workers: int, n_trials: int | None = None,
                    trial_bytes: float | None = None) -> int:
    """Trials per batch when ``[sweep] batch_size`` is not set.

    Parameters
    ----------
    span_s : float
        Recorded span of the data, seconds (sizes the per-trial results before any was measured:
        a metric-interval sample every second, 16 bytes, and the thinned equity curve).
    workers : int
        Worker processes; a known trial count is split so that every worker gets a batch.
    n_trials : int or None
        Trials to run, when known.
    trial_bytes : float or None
        Measured size of one trial's results (the largest seen, bytes); ``None``: not measured
        yet, the batch holds at most :data:`PROBE_BATCH` trials.

    Returns
    -------
    int
        ``min(MAX_BATCH, BATCH_RESULT_BYTES / per-trial bytes, ceil(n_trials / workers))``, at least 1.

    Examples
    --------
    A day of a busy perp, ~174k fills a trial (~11.6 MB of results): 23 trials a batch.

    >>> auto_batch_size(86_400, 2, trial_bytes=11.6e6)
    23
    >>> auto_batch_size(86_400, 2)
    8
    """
    from experiments.store import EQUITY_MAX_ROWS

    per_trial = max(span_s, 1.0) * 16 + EQUITY_MAX_ROWS * 32
    size = min(MAX_BATCH, int(BATCH_RESULT_BYTES // max(per_trial, trial_bytes or 0.0)))
    if trial_bytes is None:
        size = min(size, PROBE_BATCH)
    if n_trials:
        size = min(size, -(-n_trials // max(1, workers)))
    return max(1, size)


def outcome_bytes(outcome: TrialOutcome) -> int:
    """Bytes of the arrays a trial's outcome carries (equity, samples, fills, alerts)."""
    arrays = (outcome.equity, outcome.equity_samples, outcome.fills, outcome.alerts)
    return sum(int(getattr(a, "nbytes", 0)) for a in arrays if a is not None)


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
        self.batch_size = batch_size
        """Trials per batch task (``None``: :func:`auto_batch_size` at :meth:`start`; 1: no batches)."""
        self._pending: dict[tuple, list[TrialSpec]] = {}
        self._pool: Any = None
        self._ctx: WorkerContext | None = None
        self._workers = 1
        self._gpu: Any = None
        self._futures: dict[Any, tuple[list[TrialSpec], float | None]] = {}
        self._started_at: dict[Any, float] = {}
        self._queue: deque[list[TrialSpec]] = deque()
        self._current: tuple[list[TrialSpec], float] | None = None
        self._log_queue: Any = None
        self._auto_batch = False
        self._span_s = 0.0
        self._trial_bytes: int | None = None

    # -- protocol -------------------------------------------------------------------------

    def start(self, ctx: WorkerContext, workers: int, gpu: Any = None) -> None:
        """Remember the context; the pool itself starts at the first pool submission."""
        self._ctx, self._workers, self._gpu = ctx, max(1, int(workers)), gpu
        if self.batch_size is None:
            ev = getattr(self._feed, "events", None)
            ts = ev["ts_local_ns"] if ev is not None and ev.size else np.zeros(1, dtype=np.int64)
            self._span_s = (int(ts[-1]) - int(ts[0])) / 1e9
            self._auto_batch = True
            self.batch_size = auto_batch_size(self._span_s, self._workers)

    def _measured(self, outcomes: list[tuple[TrialSpec, TrialOutcome]]) -> None:
        """Resize automatic batches from the results of a finished batch (:func:`auto_batch_size`)."""
        if not self._auto_batch or len(outcomes) < 2:
            return
        sizes = [outcome_bytes(o) for _, o in outcomes if o.status == "done"]
        if sizes:
            self._trial_bytes = max(self._trial_bytes or 0, max(sizes))
            self.batch_size = auto_batch_size(self._span_s, self._workers, trial_bytes=self._trial_bytes)

    def _batch_key(self, trial: TrialSpec) -> tuple | None:
        """Key of the batch ``trial`` may join (``None``: it runs alone)."""
        if (self.batch_size or 1) <= 1 or getattr(self._feed, "meta", None) is None or self._strategy_cls is None:
            return None
        from venues.orderbook.batch import batch_key, batch_unsupported

        try:
            if batch_unsupported(self._feed, trial.venue, self._strategy_cls, trial.extras) is not None:
                return None
        except Exception:  # noqa: BLE001 - a config the venue rejects fails in its own trial
            return None
        return (batch_key(trial.venue), repr(sorted(trial.extras.items())))

    def _flush(self) -> None:
        """Send the pending batchable trials, split evenly into batches of at most ``batch_size``
        (and, when no task is running, into at least one batch per worker)."""
        size = max(1, self.batch_size or 1)
        idle = not self._futures and not self._queue
        for (_, timeout_s), trials in self._pending.items():
            n_chunks = -(-len(trials) // size)
            if idle:
                n_chunks = max(n_chunks, min(self._workers, len(trials)))
            step = -(-len(trials) // n_chunks)
            for i in range(0, len(trials), step):
                self._schedule(trials[i : i + step], timeout_s)
        self._pending.clear()

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
        key = self._batch_key(trial)
        if key is not None:
            self._pending.setdefault((key, timeout_s), []).append(trial)
            return
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
            self._measured(out)
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
            self._measured(got)
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
        self._pending.clear()
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
