"""Which trials of a sweep share one replay, and how many (both backends).

Trials the batch path supports (the builtin quoters on a plain order-book venue,
:func:`venues.orderbook.batch.batch_unsupported`) that share their venue settings and optional
sections are held back by :class:`Batcher` and sent as batch tasks of up to ``batch_size``
trials (:func:`experiments.worker.run_batch`); every other trial is a task of its own.

``[sweep] batch_size`` fixes the size. Otherwise it is automatic: at most :data:`PROBE_BATCH`
until one batch's results were measured, then sized from the largest trial's results seen so
far so that what a batch holds stays under :data:`BATCH_RESULT_BYTES`, at most :data:`MAX_BATCH`
(:func:`auto_batch_size`).
"""

from __future__ import annotations

from typing import Any

from experiments.config import TrialSpec
from experiments.progress import TrialOutcome

__all__ = ["BATCH_RESULT_BYTES", "FILL_RECORD_BYTES", "MAX_BATCH", "PROBE_BATCH", "Batcher", "auto_batch_size",
           "outcome_bytes"]

MAX_BATCH = 64
"""Largest automatic batch: beyond it the shared replay saves little and a lost worker loses more."""
BATCH_RESULT_BYTES = 512 * 2**20
"""Memory one automatic batch may hold in its worker for its trials' results until it ends
(:func:`outcome_bytes`: the kernel's fill records, the metric-interval samples and the thinned
equity). A sweep's worker writes each trial's fill log to a file as soon as the trial is built
(:func:`experiments.store.stage_fills`), so the fills are held once, as kernel records."""
FILL_RECORD_BYTES = 64
"""Bytes of one fill record of the batch kernel (``venues.orderbook._batch_nb.N_FR`` int64 fields),
held for every fill of every trial of a batch until the batch ends."""
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
    A day of a busy perp, ~174k fills a trial: 174k × 64 B of fill records, 86,400 samples of
    16 B and 2,000 equity rows of 32 B (~12.6 MB): 42 trials a batch.

    >>> auto_batch_size(86_400, 2, trial_bytes=174_000 * 64 + 86_400 * 16 + 2_000 * 32)
    42
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
    """Bytes a trial holds in its batch's worker until the batch ends: its fills as kernel records
    (``n_fills`` × :data:`FILL_RECORD_BYTES`) and the arrays its outcome carries (equity,
    samples, alerts, and the fills when they were not written to a file)."""
    arrays = (outcome.equity, outcome.equity_samples, outcome.fills, outcome.alerts)
    n_fills = outcome.metrics.get("n_fills", 0.0)
    records = int(n_fills) * FILL_RECORD_BYTES if n_fills == n_fills else 0
    return records + sum(int(getattr(a, "nbytes", 0)) for a in arrays if a is not None)


class Batcher:
    """Holds the trials that may share a replay and hands them out in batches.

    Parameters
    ----------
    feed : venues.loaders.Feed or None
        The sweep's feed as the parent loaded it (``None``: no batches).
    strategy_cls : type or None
        The sweep's strategy class (``None``: no batches).
    batch_size : int or None
        ``[sweep] batch_size``; ``None``: automatic (:func:`auto_batch_size`, set at :meth:`start`);
        1: no batches.

    Warnings
    --------
    Parent-side object of a backend; not thread-safe.
    """

    def __init__(self, feed: Any, strategy_cls: type | None, batch_size: int | None) -> None:
        self.feed = feed
        self.strategy_cls = strategy_cls
        self.batch_size = batch_size
        """Trials per batch task (``None`` until :meth:`start` when automatic)."""
        self._auto = batch_size is None
        self._workers = 1
        self._span_s = 0.0
        self._trial_bytes: int | None = None
        self._pending: dict[tuple, list[TrialSpec]] = {}

    def start(self, workers: int) -> None:
        """Fix the worker count and, when automatic, the first batch size (:data:`PROBE_BATCH`)."""
        self._workers = max(1, int(workers))
        if self._auto:
            ev = getattr(self.feed, "events", None)
            if ev is not None and ev.size:
                self._span_s = (int(ev["ts_local_ns"][-1]) - int(ev["ts_local_ns"][0])) / 1e9
            self.batch_size = auto_batch_size(self._span_s, self._workers)

    def key(self, trial: TrialSpec) -> tuple | None:
        """Key of the batch ``trial`` may join (``None``: it runs alone)."""
        if (self.batch_size or 1) <= 1 or getattr(self.feed, "meta", None) is None or self.strategy_cls is None:
            return None
        from venues.orderbook.batch import batch_key, batch_unsupported

        try:
            if batch_unsupported(self.feed, trial.venue, self.strategy_cls, trial.extras) is not None:
                return None
        except Exception:  # noqa: BLE001 - a config the venue rejects fails in its own trial
            return None
        return (batch_key(trial.venue), repr(sorted(trial.extras.items())))

    def hold(self, trial: TrialSpec, timeout_s: float | None) -> bool:
        """Keep ``trial`` for a batch when it may join one; ``False``: it runs alone."""
        key = self.key(trial)
        if key is None:
            return False
        self._pending.setdefault((key, timeout_s), []).append(trial)
        return True

    def take(self, idle: bool) -> list[tuple[list[TrialSpec], float | None]]:
        """The held trials as batches of at most ``batch_size``, split evenly, with their
        per-trial time limit; when ``idle`` (nothing running), at least one batch per worker."""
        size = max(1, self.batch_size or 1)
        out: list[tuple[list[TrialSpec], float | None]] = []
        for (_, timeout_s), trials in self._pending.items():
            n_chunks = -(-len(trials) // size)
            if idle:
                n_chunks = max(n_chunks, min(self._workers, len(trials)))
            step = -(-len(trials) // n_chunks)
            out.extend((trials[i : i + step], timeout_s) for i in range(0, len(trials), step))
        self._pending.clear()
        return out

    def measured(self, outcomes: list[tuple[TrialSpec, TrialOutcome]]) -> None:
        """Resize automatic batches from the results of a finished batch (:func:`auto_batch_size`)."""
        if not self._auto or len(outcomes) < 2:
            return
        sizes = [outcome_bytes(o) for _, o in outcomes if o.status == "done"]
        if sizes:
            self._trial_bytes = max(self._trial_bytes or 0, max(sizes))
            self.batch_size = auto_batch_size(self._span_s, self._workers, trial_bytes=self._trial_bytes)

    def clear(self) -> None:
        """Drop the held trials (a cancelled sweep)."""
        self._pending.clear()
