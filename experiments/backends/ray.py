"""The Ray backend: trials run on long-lived Ray actors, on this machine or on a cluster.

``backend = "ray"`` (or ``--backend ray``) runs the same trials as the local backend, with the
same results: every actor is prepared once by :func:`experiments.worker.init_worker` (the feed
loaded once per actor, the strategy class imported) and then runs trials one at a time with
:func:`experiments.worker.run_one`, exactly like a local pool worker. Outcomes come back to the
parent, the only DuckDB writer.

**Where Ray runs.** Without ``RAY_ADDRESS`` (and no ``address=``) the backend starts a private
local Ray instance with ``num_cpus = workers`` bound to ``127.0.0.1`` (:data:`LOCAL_BIND`; no
dashboard, worker logs not forwarded to the driver) and stops it at
:meth:`RayBackend.shutdown`, which also runs on Ctrl-C and SIGTERM; if the sweep process is
killed outright (SIGKILL), a watchdog process (:mod:`experiments.backends.reaper`) kills the
Ray processes it had started, which Ray itself would leave running (its agents). A Ray
already initialised in this process (e.g. by a test, or a notebook) is used as it is and left
running. With ``RAY_ADDRESS`` set
(``ray://head:10001`` or ``head:6379``) the backend connects to that cluster instead.

**On a cluster** every node that hosts an actor must have mmsim (and the user's strategy
modules, at the paths the sweep file uses) installed, and must see *either* the parent's
parsed-feed cache directory (``WorkerContext.cache_dir``, e.g. on a shared file system: the
actor then reads the parent's cache and parses nothing) *or* the raw data files at the same
absolute paths (the actor then parses them once into its own ``cache_dir``). An actor that
cannot load the data fails at start, and :meth:`RayBackend.start` raises with its error.

**Failures.** A trial that raises is a ``failed`` outcome (from :func:`run_one`); a trial that
runs longer than its ``timeout_s`` (measured on the parent's clock from dispatch) gets its
actor killed (``ray.kill``) and ends ``failed`` with ``TimeoutError: trial exceeded N s``; an
actor that dies while running a trial (segfault, ``os._exit``, OOM, lost node) fails that trial
with Ray's error text. Either way a replacement actor is started and the sweep goes on. A
killed actor's GPU slots are given back (:meth:`engine.gpu.RaySemaphore.release_holder`).

**GPU.** The actors reserve no Ray GPUs (``num_gpus=0``), so Ray leaves
``CUDA_VISIBLE_DEVICES`` as it is and every actor sees the node's GPUs; the sweep's
:class:`engine.gpu.GpuSlots` (passed to :meth:`RayBackend.start`) becomes one
:class:`engine.gpu.RaySemaphore` actor installed in every worker actor, and GPU stages
take a slot with :func:`engine.gpu.gpu_slot`. That semaphore is cluster-wide: on several
GPU nodes its ``slots`` bound the whole cluster, not each node.

See Also
--------
experiments.backends.Backend : the protocol implemented here.
experiments.backends.local : the local process pool.
engine.gpu : the GPU semaphore (its Ray flavour is used here).
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections import deque
from typing import Any

import attrs

from experiments.config import TrialSpec
from experiments.progress import TrialOutcome
from experiments.worker import WorkerContext, error_text, init_worker, run_one

__all__ = ["RayBackend"]

# Ray's tqdm support replaces builtins.print in the driver with a Python function
# (ray.experimental.tqdm_ray.instance); Numba cannot type that function, so any @njit code
# with a print compiled afterwards in this process fails. Keep the builtin.
os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")

LOCAL_BIND = "127.0.0.1"
"""Address a private local Ray instance binds to (never a public interface)."""


class _TrialActor:
    """Body of one Ray worker actor: prepared once, then runs trials one at a time."""

    def __init__(self, ctx: WorkerContext, gpu_handle: Any = None):
        init_worker(ctx, ignore_sigint=False)
        if gpu_handle is not None:
            from engine.gpu import install

            install(gpu_handle)

    def ready(self) -> tuple[str, int, str]:
        """``(ray actor id, pid, host)``: the actor finished its start-up."""
        import socket

        import ray

        return ray.get_runtime_context().get_actor_id(), os.getpid(), socket.gethostname()

    def run(self, trial: TrialSpec) -> TrialOutcome:
        """One trial (:func:`experiments.worker.run_one`)."""
        return run_one(trial)


@attrs.define
class _Worker:
    """Parent-side record of one actor."""

    handle: Any
    actor_id: str = ""
    host: str | None = None


@attrs.define
class _Run:
    """Parent-side record of one running trial."""

    trial: TrialSpec
    timeout_s: float | None
    worker: _Worker
    started: float  # time.monotonic(), parent clock


_OUTCOME_FIELDS = frozenset(attrs.fields_dict(TrialOutcome))


def _failed(trial: TrialSpec, error: str, *, wall_s: float = 0.0, tb: str | None = None,
            host: str | None = None) -> TrialOutcome:
    kw: dict[str, Any] = dict(trial_id=trial.trial_id, status="failed", wall_s=wall_s,
                              error=error, traceback=tb)
    if "host" in _OUTCOME_FIELDS:
        kw["host"] = host
    return TrialOutcome(**kw)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _ray_error_text(exc: BaseException, limit: int = 500) -> str:
    """``"Type: message"`` of a Ray error, on one line (Ray's messages run over many lines).

    A task error gives its cause's text; an actor whose start-up raised gives the exception
    of that start-up (the last ``SomeError: ...`` line of Ray's message); an actor that died
    gives ``ActorDiedError:`` and Ray's explanation (exit type and detail, no node listing).
    """
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return error_text(cause)
    lines = [_ANSI.sub("", ln).strip() for ln in str(exc).splitlines()]
    lines = [ln for ln in lines if ln]
    if getattr(exc, "actor_init_failed", False):
        raised = [ln for ln in lines if _EXC_LINE.match(ln)]
        if raised:
            return raised[-1][:limit]
    head = " ".join(ln for ln in str(exc).splitlines() if ln.strip() and not ln.startswith("\t"))
    head = _ANSI.sub("", head).split(" Some common causes")[0].strip()
    text = f"{type(exc).__name__}: {head}" if head else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RayBackend:
    """Run trials on Ray actors (see the module docstring).

    Parameters
    ----------
    address : str or None, default None
        Ray cluster to connect to; ``None`` uses ``$RAY_ADDRESS`` if set, else starts a local
        instance. Ignored when Ray is already initialised in this process.
    num_cpus_per_worker : float, default 1.0
        CPUs each actor reserves (Ray scheduling; one trial runs on one core).
    start_timeout_s : float, default 600.0
        Longest wait in :meth:`start` for every actor to be ready, seconds (a cluster that
        cannot place ``workers`` actors would otherwise wait forever).
    max_start_failures : int, default 3
        Replacement actors that may fail their start-up in a row before :meth:`poll` gives up.

    Warnings
    --------
    Parent-side object; not thread-safe. Call order as in :class:`experiments.backends.Backend`.
    """

    def __init__(self, *, address: str | None = None, num_cpus_per_worker: float = 1.0,
                 start_timeout_s: float = 600.0, max_start_failures: int = 3):
        self._address = address
        self._num_cpus = float(num_cpus_per_worker)
        self._start_timeout_s = float(start_timeout_s)
        self._max_start_failures = int(max_start_failures)
        self._started_ray = False
        self._actor_cls: Any = None
        self._ctx: WorkerContext | None = None
        self._gpu_handle: Any = None
        self._workers = 0
        self._queue: deque[tuple[TrialSpec, float | None]] = deque()
        self._idle: list[_Worker] = []
        self._starting: dict[Any, _Worker] = {}  # ready() ref → worker
        self._running: dict[Any, _Run] = {}  # run() ref → run
        self._start_failures = 0

    # -- protocol -------------------------------------------------------------------------

    def start(self, ctx: WorkerContext, workers: int, gpu: Any = None) -> None:
        """Initialise Ray if needed and start ``workers`` actors; wait until all are ready.

        Parameters
        ----------
        ctx : WorkerContext
            Passed to :func:`experiments.worker.init_worker` in every actor.
        workers : int
            Number of actors (trials running at once), ``>= 1``.
        gpu : GpuSlots or ray.actor.ActorHandle or None, default None
            The sweep's GPU slots (:class:`engine.gpu.GpuSlots`; its
            :meth:`~engine.gpu.GpuSlots.ray_handle` is installed in every actor), or such
            a handle itself; ``None``: no GPU semaphore.

        Raises
        ------
        RuntimeError
            If an actor fails its start-up (the message carries its error, e.g. a data file
            the node cannot see) or not all are ready within ``start_timeout_s``.
        """
        import ray

        if not ray.is_initialized():
            address = self._address or os.environ.get("RAY_ADDRESS") or None
            if address:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
            else:
                # a private instance listens on the loopback interface only
                ray.init(num_cpus=max(1, int(workers)), include_dashboard=False,
                         ignore_reinit_error=True, log_to_driver=False,
                         _node_ip_address=LOCAL_BIND, dashboard_host=LOCAL_BIND)
                # Ray's agents outlive a SIGKILLed driver: a watchdog kills them then
                from experiments.backends import reaper

                self._reaper = reaper.start()
            self._started_ray = True
        self._ctx, self._workers = ctx, max(1, int(workers))
        if gpu is not None and hasattr(gpu, "ray_handle"):
            gpu = gpu.ray_handle()
        self._gpu_handle = gpu
        self._actor_cls = ray.remote(num_cpus=self._num_cpus, max_restarts=0,
                                     max_task_retries=0)(_TrialActor)
        for _ in range(self._workers):
            self._spawn()
        deadline = time.monotonic() + self._start_timeout_s
        while self._starting:
            left = deadline - time.monotonic()
            ready, _ = ray.wait(list(self._starting), num_returns=1, timeout=max(0.0, left))
            if not ready:
                missing = len(self._starting)
                self.shutdown()
                raise RuntimeError(
                    f"Ray backend: {missing} of {self._workers} worker actors not "
                    f"ready after {self._start_timeout_s:g} s (does the cluster have "
                    f"{self._workers} x {self._num_cpus:g} CPUs free?)"
                )
            for ref in ready:
                err = self._on_ready(ref)
                if err is not None:
                    self.shutdown()
                    raise RuntimeError(f"Ray worker actor failed to start: {err}")

    def submit(self, trial: TrialSpec, timeout_s: float | None = None) -> None:
        """Queue ``trial``; it starts on the next idle actor (at once if one is idle)."""
        self._queue.append((trial, timeout_s))
        self._top_up()
        self._dispatch()

    def poll(self, timeout_s: float) -> list[tuple[TrialSpec, TrialOutcome]]:
        """Trials finished (or timed out, or lost with their actor) since the last call.

        Parameters
        ----------
        timeout_s : float
            Longest wait for the first one, seconds; returns at once when nothing is queued
            or running.

        Returns
        -------
        list of (TrialSpec, TrialOutcome)
            In trial index order.

        Raises
        ------
        RuntimeError
            If ``max_start_failures`` replacement actors in a row failed their start-up.
        """
        import ray

        deadline = time.monotonic() + max(0.0, float(timeout_s))
        out: list[tuple[TrialSpec, TrialOutcome]] = []
        while True:
            self._dispatch()
            if not self._running and not self._queue:
                break  # nothing to wait for (actors still starting matter only for a queue)
            refs = list(self._running) + list(self._starting)
            if not refs:
                break
            now = time.monotonic()
            wake = deadline
            for run in self._running.values():
                if run.timeout_s is not None:
                    wake = min(wake, run.started + run.timeout_s)
            ready, _ = ray.wait(refs, num_returns=1, timeout=max(0.0, wake - now))
            if ready:  # collect everything that is ready now, not just the first
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                if ref in self._starting:
                    err = self._on_ready(ref)
                    if err is not None:
                        self._start_failures += 1
                        if self._start_failures >= self._max_start_failures:
                            raise RuntimeError(
                                f"Ray worker actor failed to start {self._start_failures} "
                                f"times in a row: {err}"
                            )
                        self._spawn()
                elif ref in self._running:
                    out.append(self._on_done(ref))
            out.extend(self._expire())
            self._dispatch()
            if out or time.monotonic() >= deadline:
                break
        out.sort(key=lambda p: p[0].index)
        return out

    def running(self) -> list[tuple[TrialSpec, float]]:
        """Trials running now with their dispatch time (``time.monotonic()``), by index."""
        return sorted(((r.trial, r.started) for r in self._running.values()),
                      key=lambda p: p[0].index)

    def cancel_all(self) -> None:
        """Drop queued trials and kill the actors running trials (nothing is waited for)."""
        self._queue.clear()
        runs = list(self._running.values())
        self._running.clear()
        for run in runs:
            self._kill(run.worker)

    def shutdown(self) -> None:
        """Kill every actor; stop Ray if (and only if) this backend started it."""
        import ray

        self.cancel_all()
        workers = self._idle + list(self._starting.values())
        self._idle, self._starting = [], {}
        if ray.is_initialized():
            for w in workers:
                self._kill(w)
            if self._started_ray:
                ray.shutdown()
        self._started_ray = False
        from experiments.backends import reaper

        reaper.stop(getattr(self, "_reaper", None))
        self._reaper = None

    # -- internals ------------------------------------------------------------------------

    def _spawn(self) -> None:
        w = _Worker(handle=self._actor_cls.remote(self._ctx, self._gpu_handle))
        self._starting[w.handle.ready.remote()] = w

    def _pool_size(self) -> int:
        return len(self._idle) + len(self._starting) + len(self._running)

    def _top_up(self) -> None:
        """Start actors up to ``workers`` (after :meth:`cancel_all` killed some)."""
        if self._actor_cls is None:
            raise RuntimeError("RayBackend.start() was not called")
        for _ in range(self._workers - self._pool_size()):
            self._spawn()

    def _on_ready(self, ref: Any) -> str | None:
        """A starting actor answered: idle on success, else killed; the error text."""
        import ray

        w = self._starting.pop(ref)
        try:
            w.actor_id, _pid, w.host = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - its init_worker raised, or it died
            self._kill(w)
            return _ray_error_text(exc, limit=2000)
        self._start_failures = 0
        self._idle.append(w)
        return None

    def _dispatch(self) -> None:
        while self._queue and self._idle:
            trial, timeout_s = self._queue.popleft()
            w = self._idle.pop()
            ref = w.handle.run.remote(trial)
            self._running[ref] = _Run(trial=trial, timeout_s=timeout_s, worker=w,
                                      started=time.monotonic())

    def _on_done(self, ref: Any) -> tuple[TrialSpec, TrialOutcome]:
        import ray
        from ray.exceptions import RayActorError

        run = self._running.pop(ref)
        try:
            outcome = ray.get(ref)
        except RayActorError as exc:  # the actor died with the trial: replace it
            self._kill(run.worker)
            self._spawn()
            return run.trial, _failed(run.trial, _ray_error_text(exc),
                                      wall_s=time.monotonic() - run.started,
                                      tb="".join(traceback.format_exception(exc)),
                                      host=run.worker.host)
        except Exception as exc:  # noqa: BLE001 - run_one raised past its guard (e.g. unpickling)
            self._idle.append(run.worker)
            return run.trial, _failed(run.trial, _ray_error_text(exc),
                                      wall_s=time.monotonic() - run.started,
                                      tb="".join(traceback.format_exception(exc)),
                                      host=run.worker.host)
        self._idle.append(run.worker)
        return run.trial, outcome

    def _expire(self) -> list[tuple[TrialSpec, TrialOutcome]]:
        """Fail the trials past their timeout; kill and replace their actors."""
        now = time.monotonic()
        out = []
        for ref, run in list(self._running.items()):
            if run.timeout_s is None or now < run.started + run.timeout_s:
                continue
            del self._running[ref]
            self._kill(run.worker)
            self._spawn()
            out.append((run.trial, _failed(
                run.trial, f"TimeoutError: trial exceeded {run.timeout_s:g} s",
                wall_s=float(run.timeout_s), host=run.worker.host,
            )))
        return out

    def _kill(self, w: _Worker) -> None:
        """Kill an actor and give back the GPU slots it held."""
        import ray

        try:
            ray.kill(w.handle, no_restart=True)
        except Exception:  # noqa: BLE001, S110 - already dead
            pass
        if self._gpu_handle is not None and w.actor_id:
            try:
                self._gpu_handle.release_holder.remote(w.actor_id)
            except Exception:  # noqa: BLE001, S110 - semaphore gone (shutdown)
                pass
