"""The Ray backend: trials run on long-lived Ray actors, on this machine or on a cluster.

``backend = "ray"`` (or ``--backend ray``) runs the same trials as the local backend, with the
same results: every actor is prepared once by :func:`experiments.worker.init_worker` (the feed
loaded once per actor, the strategy class imported) and then runs trials one at a time with
:func:`experiments.worker.run_one`, exactly like a local pool worker. Outcomes come back to the
parent, the only DuckDB writer.

**Where Ray runs.** Without ``RAY_ADDRESS`` (and no ``address=``) the backend starts a private
local Ray instance with ``num_cpus = workers`` whose every process listens on ``127.0.0.1`` only
(:data:`LOCAL_BIND`, see "Loopback only" below; no dashboard, worker logs not forwarded to the
driver) and stops it at
:meth:`RayBackend.shutdown`, which also runs on Ctrl-C and SIGTERM; if the sweep process is
killed outright (SIGKILL), a watchdog process (:mod:`experiments.backends.reaper`) kills the
Ray processes it had started, which Ray itself would leave running (its agents). A Ray
already initialised in this process (e.g. by a test, or a notebook) is used as it is and left
running. With ``RAY_ADDRESS`` set
(``ray://head:10001`` or ``head:6379``) the backend connects to that cluster instead.

**Loopback only.** Ray's C++ servers (the GCS, the raylet's node and object managers, the
gRPC server of every core worker, the driver's included) listen on ``127.0.0.1`` only when the
node IP is exactly ``"127.0.0.1"`` and on every interface (``0.0.0.0``) otherwise
(``src/ray/rpc/grpc_server.cc``: ``listen_to_localhost_only``, set from
``node_ip_address == "127.0.0.1"`` in ``gcs_server.cc``, ``node_manager.cc``,
``core_worker.cc``); the runtime-env agent binds the node IP. But ``ray.init(_node_ip_address=
"127.0.0.1")`` does not give that node IP: ``ray._private.services.resolve_ip_for_localhost``
rewrites a loopback address to the machine's routable one, except where
``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` is false (the switch Ray reads from
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` at import, meant for single-machine Ray on macOS and
Windows). So with Ray 2.60 the daemons listened on ``*:port`` although ``127.0.0.1`` was asked
for. :func:`_init_local` therefore turns that switch off for the duration of ``ray.init``
(the module constant for this process, the environment variable for the processes Ray starts)
and restores both afterwards; the node IP is then ``127.0.0.1`` and every listening socket is
on the loopback interface. :meth:`RayBackend.start` checks this after the actors are up
(:func:`_public_listeners`: the TCP sockets in state LISTEN of every process Ray started, from
``/proc``) and refuses to run, stopping Ray, if any Ray process listens on another address,
unless ``MMSIM_RAY_ALLOW_PUBLIC_BIND=1`` (:data:`ALLOW_PUBLIC_BIND_ENV`) is set: then it warns
and goes on. A cluster (``RAY_ADDRESS``) binds where its ``ray start`` said; nothing is checked.

**On a cluster** every node that hosts an actor must have mmsim (and the user's strategy
modules, at the paths the sweep file uses) installed, and must see *either* the parent's
parsed-feed cache directory (``WorkerContext.cache_dir``, e.g. on a shared file system: the
actor then reads the parent's cache and parses nothing) *or* the raw data files at the same
absolute paths (the actor then parses them once into its own ``cache_dir``). An actor that
cannot load the data fails at start, and :meth:`RayBackend.start` raises with its error.

**Batches.** As with the local backend, trials the batch path supports that share their venue
settings go to an actor as one task of up to ``batch_size`` trials, replayed once for all of them
(:mod:`experiments.backends.batching`, :func:`experiments.worker.run_batch`); each still gets its
own outcome. This needs the feed and the strategy class in the parent (:func:`experiments.executor.make_backend`
passes them); without them every trial is a task of its own. A batch's time limit is
``timeout_s`` times its size, and an actor lost with a batch fails its trials.

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
import warnings
from collections import deque
from pathlib import Path
from typing import Any

import attrs

from experiments.backends.batching import Batcher
from experiments.config import TrialSpec
from experiments.progress import TrialOutcome
from experiments.worker import WorkerContext, error_text, init_worker, run_batch, run_one

__all__ = ["RayBackend"]

# Ray's tqdm support replaces builtins.print in the driver with a Python function
# (ray.experimental.tqdm_ray.instance); Numba cannot type that function, so any @njit code
# with a print compiled afterwards in this process fails. Keep the builtin.
os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")

LOCAL_BIND = "127.0.0.1"
"""Address a private local Ray instance binds to (never a public interface)."""

ALLOW_PUBLIC_BIND_ENV = "MMSIM_RAY_ALLOW_PUBLIC_BIND"
"""Set to ``1`` to let a private local Ray instance run although one of its processes listens on
a non-loopback address (a Ray version where :func:`_init_local` no longer works); otherwise
:meth:`RayBackend.start` refuses with :class:`RuntimeError`."""

_RAY_CLUSTER_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # ray._private.ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR


def _init_local(ray: Any, num_cpus: int) -> None:
    """``ray.init`` of a private instance on this machine whose processes listen on 127.0.0.1.

    Ray rewrites ``_node_ip_address="127.0.0.1"`` to the routable address unless its
    ``ENABLE_RAY_CLUSTER`` switch is off (module docstring, "Loopback only"); the switch is
    turned off here for the duration of the call, in this process (the module constant, read at
    call time by ``ray._private.services.get_node_ip_address``) and in the environment the GCS,
    raylet, agents and workers inherit, then restored.

    Parameters
    ----------
    ray : module
        The imported ``ray`` package.
    num_cpus : int
        CPUs of the instance (the number of actors).
    """
    from ray._private import ray_constants

    saved_env = os.environ.get(_RAY_CLUSTER_ENV)
    saved_flag = getattr(ray_constants, "ENABLE_RAY_CLUSTER", True)
    os.environ[_RAY_CLUSTER_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(num_cpus=num_cpus, include_dashboard=False, ignore_reinit_error=True,
                 log_to_driver=False, _node_ip_address=LOCAL_BIND, dashboard_host=LOCAL_BIND)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(_RAY_CLUSTER_ENV, None)
        else:
            os.environ[_RAY_CLUSTER_ENV] = saved_env


def _listening_inodes() -> dict[int, str]:
    """Socket inode → ``"address:port"`` of every TCP socket in state LISTEN (``/proc/net/tcp``, ``tcp6``).

    Addresses are as the kernel stores them: IPv4 as 8 hex digits of a little-endian word,
    IPv6 as four such words (proc(5), ``/proc/net/tcp``); state ``0A`` is ``TCP_LISTEN``.
    """
    import ipaddress

    out: dict[int, str] = {}
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10 or f[3] != "0A":
                continue
            hexaddr, _, hexport = f[1].partition(":")
            raw = b"".join(bytes.fromhex(hexaddr[i:i + 8])[::-1] for i in range(0, len(hexaddr), 8))
            addr = ipaddress.ip_address(raw)
            out[int(f[9])] = f"{addr}:{int(hexport, 16)}"
    return out


def _is_loopback(addr: str) -> bool:
    import ipaddress

    a = ipaddress.ip_address(addr.rpartition(":")[0])
    mapped = getattr(a, "ipv4_mapped", None)
    return a.is_loopback or (mapped is not None and mapped.is_loopback)


def _public_listeners(pids: Any) -> list[str]:
    """``"name (pid N) address:port"`` of each listening TCP socket of ``pids`` not on loopback.

    Parameters
    ----------
    pids : iterable of int
        Processes to look at (those gone meanwhile, or not readable, are skipped).

    Returns
    -------
    list of str
        Empty when every listening socket of these processes is on ``127.0.0.0/8``, ``::1`` or
        ``::ffff:127.0.0.0/104``, or without ``/proc`` (not Linux).
    """
    listening = _listening_inodes()
    found = []
    for pid in sorted(pids):
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            fds = os.listdir(fd_dir)
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(fd_dir / fd)
            except OSError:  # closed meanwhile (e.g. the descriptor listdir used)
                continue
            if link.startswith("socket:["):
                addr = listening.get(int(link[8:-1]))
                if addr is not None and not _is_loopback(addr):
                    found.append(f"{comm} (pid {pid}) {addr}")
    return found


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

    def run_batch(self, trials: list[TrialSpec]) -> list[TrialOutcome]:
        """Trials that share one replay (:func:`experiments.worker.run_batch`)."""
        return run_batch(trials)


@attrs.define
class _Worker:
    """Parent-side record of one actor."""

    handle: Any
    actor_id: str = ""
    host: str | None = None


@attrs.define
class _Run:
    """Parent-side record of one running task: a trial, or a batch of trials."""

    trials: list[TrialSpec]
    timeout_s: float | None  # of the whole task
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


def _ray_version() -> str:
    try:
        import ray

        return str(ray.__version__)
    except Exception:  # noqa: BLE001 - only for a message
        return "unknown"


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
    feed, strategy_cls : optional
        The sweep's feed and strategy class, as the parent loaded them: they tell which trials
        may share a batch (``None``: no batches).
    batch_size : int or None, default None
        ``[sweep] batch_size`` (``None``: automatic, :func:`experiments.backends.batching.auto_batch_size`).

    Warnings
    --------
    Parent-side object; not thread-safe. Call order as in :class:`experiments.backends.Backend`.
    """

    def __init__(self, *, address: str | None = None, num_cpus_per_worker: float = 1.0,
                 start_timeout_s: float = 600.0, max_start_failures: int = 3, feed: Any = None,
                 strategy_cls: type | None = None, batch_size: int | None = None):
        self._address = address
        self._num_cpus = float(num_cpus_per_worker)
        self._start_timeout_s = float(start_timeout_s)
        self._max_start_failures = int(max_start_failures)
        self._started_ray = False
        self._actor_cls: Any = None
        self._ctx: WorkerContext | None = None
        self._gpu_handle: Any = None
        self._workers = 0
        self._queue: deque[tuple[list[TrialSpec], float | None]] = deque()  # (trials, per-trial limit)
        self._batcher = Batcher(feed, strategy_cls, batch_size)
        self._idle: list[_Worker] = []
        self._starting: dict[Any, _Worker] = {}  # ready() ref → worker
        self._running: dict[Any, _Run] = {}  # run() ref → run
        self._start_failures = 0
        self._ray_pids: Any = None  # () -> pids of the processes of the private instance
        self._reaper: Any = None

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
            the node cannot see) or not all are ready within ``start_timeout_s``; or, for a
            private local instance, if one of its processes listens on a non-loopback address
            and ``MMSIM_RAY_ALLOW_PUBLIC_BIND`` is not ``1`` (Ray is stopped first).
        """
        import ray

        ctx = attrs.evolve(ctx, fills_dir=None)  # an actor may run on a node without the parent's disk
        if not ray.is_initialized():
            address = self._address or os.environ.get("RAY_ADDRESS") or None
            if address:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
            else:
                from experiments.backends import reaper

                before = set(reaper.descendants(os.getpid()))
                # a private instance listens on the loopback interface only
                _init_local(ray, max(1, int(workers)))
                # Ray's agents outlive a SIGKILLed driver: a watchdog kills them then
                self._reaper = reaper.start()
                self._ray_pids = lambda: set(reaper.descendants(os.getpid())) - before - {
                    getattr(self._reaper, "pid", None)}
            self._started_ray = True
        self._ctx, self._workers = ctx, max(1, int(workers))
        self._batcher.start(self._workers)
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
        if self._ray_pids is not None:
            self._check_loopback()

    @property
    def batch_size(self) -> int | None:
        """Trials per batch task now (:class:`experiments.backends.batching.Batcher`; 1: no batches)."""
        return self._batcher.batch_size

    def submit(self, trial: TrialSpec, timeout_s: float | None = None) -> None:
        """Queue ``trial``; it starts on the next idle actor (at once if one is idle). A trial that
        may join a batch waits for the next :meth:`poll`, which queues the held ones in batches."""
        if self._batcher.hold(trial, timeout_s):
            return
        self._queue.append(([trial], timeout_s))
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
        self._queue.extend(self._batcher.take(idle=not self._running and not self._queue))
        if self._queue:
            self._top_up()
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
                    out.extend(self._on_done(ref))
            out.extend(self._expire())
            self._dispatch()
            if out or time.monotonic() >= deadline:
                break
        out.sort(key=lambda p: p[0].index)
        return out

    def running(self) -> list[tuple[TrialSpec, float]]:
        """Trials running now with their dispatch time (``time.monotonic()``), by index."""
        return sorted(((t, r.started) for r in self._running.values() for t in r.trials),
                      key=lambda p: p[0].index)

    def cancel_all(self) -> None:
        """Drop queued trials and kill the actors running trials (nothing is waited for)."""
        self._queue.clear()
        self._batcher.clear()
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
        self._ray_pids = None
        from experiments.backends import reaper

        reaper.stop(self._reaper)
        self._reaper = None

    # -- internals ------------------------------------------------------------------------

    def _check_loopback(self) -> None:
        """Refuse (stop Ray, raise) if a process of the private instance listens off loopback."""
        import ray

        public = _public_listeners(self._ray_pids())
        node_ip = str(ray.util.get_node_ip_address())
        if not _is_loopback(f"{node_ip}:0"):  # the driver's own core-worker server binds by it
            public.insert(0, f"node IP {node_ip} (this process's Ray server listens on 0.0.0.0)")
        if not public:
            return
        what = "; ".join(public[:8]) + (f" and {len(public) - 8} more" if len(public) > 8 else "")
        if os.environ.get(ALLOW_PUBLIC_BIND_ENV) == "1":
            warnings.warn(f"Ray backend: local Ray processes listen on non-loopback addresses ({what}); "
                          f"running anyway because {ALLOW_PUBLIC_BIND_ENV}=1", RuntimeWarning, stacklevel=3)
            return
        self.shutdown()
        raise RuntimeError(
            f"Ray backend: the local Ray instance listens on non-loopback addresses ({what}): anyone who "
            "can reach this machine could run code in it (Ray's ports take pickled code). This Ray "
            f"version ({_ray_version()}) ignored the request to bind 127.0.0.1 (docs/ray.md, \"Loopback "
            f"only\"). Run with the local backend, or firewall the machine and set {ALLOW_PUBLIC_BIND_ENV}=1 "
            "to run anyway.")

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
            trials, timeout_s = self._queue.popleft()
            w = self._idle.pop()
            ref = w.handle.run.remote(trials[0]) if len(trials) == 1 else w.handle.run_batch.remote(trials)
            limit = None if timeout_s is None else timeout_s * len(trials)
            self._running[ref] = _Run(trials=trials, timeout_s=limit, worker=w, started=time.monotonic())

    def _on_done(self, ref: Any) -> list[tuple[TrialSpec, TrialOutcome]]:
        import ray
        from ray.exceptions import RayActorError

        run = self._running.pop(ref)
        try:
            got = ray.get(ref)
        except RayActorError as exc:  # the actor died with the task: replace it
            self._kill(run.worker)
            self._spawn()
            return self._fail_all(run, _ray_error_text(exc), time.monotonic() - run.started,
                                  "".join(traceback.format_exception(exc)))
        except Exception as exc:  # noqa: BLE001 - run_one raised past its guard (e.g. unpickling)
            self._idle.append(run.worker)
            return self._fail_all(run, _ray_error_text(exc), time.monotonic() - run.started,
                                  "".join(traceback.format_exception(exc)))
        self._idle.append(run.worker)
        out = list(zip(run.trials, got if isinstance(got, list) else [got], strict=True))
        self._batcher.measured(out)
        return out

    @staticmethod
    def _fail_all(run: _Run, error: str, wall_s: float, tb: str | None) -> list[tuple[TrialSpec, TrialOutcome]]:
        return [(t, _failed(t, error, wall_s=wall_s, tb=tb, host=run.worker.host)) for t in run.trials]

    def _expire(self) -> list[tuple[TrialSpec, TrialOutcome]]:
        """Fail the tasks past their time limit; kill and replace their actors."""
        now = time.monotonic()
        out = []
        for ref, run in list(self._running.items()):
            if run.timeout_s is None or now < run.started + run.timeout_s:
                continue
            del self._running[ref]
            self._kill(run.worker)
            self._spawn()
            what = "trial" if len(run.trials) == 1 else f"batch of {len(run.trials)} trials"
            out.extend(self._fail_all(run, f"TimeoutError: {what} exceeded {run.timeout_s:g} s",
                                      float(run.timeout_s), None))
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
