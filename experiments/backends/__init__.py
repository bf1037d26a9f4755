"""Execution backends of a sweep: where trials run (local process pool, Ray).

The executor (:mod:`experiments.executor`) drives any backend through :class:`Backend`; each
backend starts its workers with :func:`experiments.worker.init_worker` and runs trials with
:func:`experiments.worker.run_one`. Backends never write results: outcomes come back to the
parent, the only DuckDB writer.
"""

from __future__ import annotations

from typing import Any, Protocol

from experiments.config import TrialSpec
from experiments.progress import TrialOutcome
from experiments.worker import WorkerContext

__all__ = ["Backend", "BACKENDS"]

BACKENDS: dict[str, str] = {
    "local": "experiments.backends.local:LocalBackend",
    "ray": "experiments.backends.ray:RayBackend",
}
"""Backend names accepted by ``[sweep] backend`` / ``--backend``, as ``module:Class``."""


class Backend(Protocol):
    """What the executor needs from a place to run trials.

    Warnings
    --------
    Called from the parent process only, in this order: ``start`` once; ``submit`` and ``poll``
    any number of times; ``cancel_all`` (on Ctrl-C) and ``shutdown`` once at the end.
    """

    def start(self, ctx: WorkerContext, workers: int, gpu: Any = None) -> None:
        """Start ``workers`` workers prepared with ``ctx``.

        ``gpu`` is the sweep's :class:`engine.gpu.GpuSlots` (or ``None``); each backend
        takes the handle it needs from it (a process semaphore, a Ray actor) and installs it in
        every worker with :func:`engine.gpu.install`.
        """

    def submit(self, trial: TrialSpec, timeout_s: float | None = None) -> None:
        """Queue ``trial``; a run longer than ``timeout_s`` seconds ends as ``failed``."""

    def poll(self, timeout_s: float) -> list[tuple[TrialSpec, TrialOutcome]]:
        """Trials finished since the last call, waiting up to ``timeout_s`` for the first one."""

    def running(self) -> list[tuple[TrialSpec, float]]:
        """Trials running now, each with its start time (``time.monotonic()``, parent clock)."""

    def cancel_all(self) -> None:
        """Drop queued trials and stop running ones (their workers are terminated)."""

    def shutdown(self) -> None:
        """Release every worker and resource."""
