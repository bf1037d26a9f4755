"""The GPU semaphore of a sweep: at most N trials use the GPU at once.

A sweep runs many trials in parallel, but a GPU has room for only a few training jobs
(XGBoost, torch) at a time. The parent creates one :class:`GpuSlots` per sweep and hands its
worker handle to every worker when the worker starts; each worker calls :func:`install` once;
every GPU-using stage then runs inside :func:`gpu_slot`::

    with gpu_slot() as on_gpu:
        model = fit(X, y, device="cuda" if on_gpu else "cpu")

``gpu_slot`` yields ``True`` with a slot held (released on exit, also on an exception) or
``False`` when the sweep has no GPU slots, when no handle was installed in this process, or
when ``timeout_s`` passed without a free slot: the stage then runs on the CPU.

Two flavours of handle, the same API for the stage:

- **Local process pool**: a ``multiprocessing.BoundedSemaphore`` (:meth:`GpuSlots.worker_handle`).
  Like every ``multiprocessing`` primitive it can be pickled only while a process is being
  spawned, so it must travel as a pool *initializer argument*, never with a task.
- **Ray**: a small async Ray actor, :class:`RaySemaphore` (:meth:`GpuSlots.ray_handle`), shared
  by every actor of the sweep on every node. It records which worker holds which slot, so a
  backend that kills a worker (trial timeout) gives that worker's slots back
  (:meth:`RaySemaphore.release_holder`).

Nothing here imports ``torch`` or needs a GPU; :func:`visible_gpu_count` reads
``CUDA_VISIBLE_DEVICES`` or runs ``nvidia-smi -L``.

Warnings
--------
A worker process killed while it holds a ``multiprocessing`` slot (the local backend's trial
timeout, the OOM killer) does not give the slot back: the semaphore then has one slot fewer
for the rest of the sweep. The Ray flavour does not have this problem when the backend calls
:meth:`RaySemaphore.release_holder` for the worker it kills (:class:`experiments.backends.ray.
RayBackend` does).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

__all__ = [
    "GpuSlots",
    "RaySemaphore",
    "gpu_slot",
    "install",
    "installed",
    "visible_gpu_count",
]


def visible_gpu_count() -> int:
    """Number of GPUs this process may use.

    Returns
    -------
    int
        With ``CUDA_VISIBLE_DEVICES`` set: the number of devices it lists (``""`` or ``"-1"``
        → 0; like CUDA, the list ends at the first negative index, so ``"0,-1,1"`` → 1).
        Otherwise the number of ``GPU ...`` lines of ``nvidia-smi -L`` when that program exists
        and succeeds (10 s limit), else 0. Never imports ``torch``; never raises.
    """
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        n = 0
        for item in env.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                if int(item) < 0:
                    break
            except ValueError:
                pass  # a UUID (GPU-..., MIG-...) names one device
            n += 1
        return n
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


class RaySemaphore:
    """Counting semaphore shared by the Ray actors of one sweep (the body of a Ray actor).

    Use :meth:`GpuSlots.ray_handle` (or ``ray.remote(num_cpus=0)(RaySemaphore).remote(n)``) to
    create the actor; its methods are coroutines, so the actor serves many waiting callers at
    once (an async Ray actor).

    Parameters
    ----------
    slots : int
        Number of slots, ``>= 1``.

    Attributes
    ----------
    slots : int
        As given.
    """

    def __init__(self, slots: int):
        self.slots = int(slots)
        self._held: dict[str, int] = {}
        self._count = 0
        self._peak = 0
        self._cond: Any = None
        self._dead: set[str] = set()

    def _condition(self) -> Any:
        import asyncio

        if self._cond is None:  # created on the actor's event loop
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, holder: str, timeout_s: float | None = None) -> bool:
        """Take one slot for ``holder``, waiting up to ``timeout_s`` seconds (None: forever).

        Parameters
        ----------
        holder : str
            Who takes it (a worker's Ray actor id or ``pid@host``), for :meth:`release_holder`.
        timeout_s : float or None, default None
            Longest wait, seconds.

        Returns
        -------
        bool
            True when the slot is held, False when ``timeout_s`` passed first.
        """
        import asyncio

        cond = self._condition()
        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(lambda: self._count < self.slots), timeout_s)
            except TimeoutError:
                return False
            if holder in self._dead:  # killed while it waited: never give it a slot
                return False
            self._count += 1
            self._held[holder] = self._held.get(holder, 0) + 1
            self._peak = max(self._peak, self._count)
            return True

    async def release(self, holder: str) -> None:
        """Give back one slot of ``holder`` (no effect if it holds none)."""
        await self._give_back(holder, 1)

    async def release_holder(self, holder: str) -> int:
        """Give back every slot ``holder`` holds (its worker was killed); it gets no more.

        Returns
        -------
        int
            Number of slots given back.
        """
        self._dead.add(holder)
        return await self._give_back(holder, None)

    async def _give_back(self, holder: str, n: int | None) -> int:
        cond = self._condition()
        async with cond:
            have = self._held.get(holder, 0)
            k = have if n is None else min(n, have)
            if k:
                self._count -= k
                if have - k:
                    self._held[holder] = have - k
                else:
                    del self._held[holder]
                cond.notify_all()
            return k

    async def count(self) -> int:
        """Slots held now."""
        return self._count

    async def peak(self) -> int:
        """Most slots held at once since the actor started."""
        return self._peak


class GpuSlots:
    """The GPU slots of one sweep (created by the parent process).

    Parameters
    ----------
    slots : int or None, default None
        Number of trials that may use the GPU at once; ``None`` → :func:`visible_gpu_count`
        (one slot per visible GPU); ``0`` → no GPU: every :func:`gpu_slot` yields False and
        the stages run on the CPU.
    mp_context : multiprocessing context or None, default None
        Context of the worker pool the semaphore is passed to; ``None`` → ``spawn`` (the
        local backend's start method).

    Attributes
    ----------
    slots : int
        Resolved number of slots, ``>= 0``.

    Raises
    ------
    ValueError
        If ``slots < 0``.
    """

    def __init__(self, slots: int | None = None, *, mp_context: Any = None):
        if slots is None:
            slots = visible_gpu_count()
        if int(slots) < 0:
            raise ValueError(f"GPU slots must be >= 0, got {slots}")
        self.slots = int(slots)
        self._mp_context = mp_context if mp_context is not None else mp.get_context("spawn")
        self._sem: Any = None
        self._ray_actor: Any = None

    def __repr__(self) -> str:
        return f"GpuSlots(slots={self.slots})"

    def worker_handle(self) -> Any:
        """Handle for local worker processes, to pass to :func:`install` there.

        Returns
        -------
        multiprocessing.synchronize.BoundedSemaphore or None
            The same semaphore on every call (created at the first); ``None`` when
            ``slots == 0``. Picklable only while a process is spawned: pass it as a pool
            initializer argument (or to :func:`install` in this very process).
        """
        if self.slots == 0:
            return None
        if self._sem is None:
            self._sem = self._mp_context.BoundedSemaphore(self.slots)
        return self._sem

    def ray_handle(self) -> Any:
        """Handle for Ray workers: a :class:`RaySemaphore` actor (created at the first call).

        Returns
        -------
        ray.actor.ActorHandle or None
            ``None`` when ``slots == 0``. Picklable: pass it with any Ray call.

        Raises
        ------
        RuntimeError
            If Ray is not initialised in this process (call ``ray.init`` first; the Ray
            backend does).
        """
        if self.slots == 0:
            return None
        if self._ray_actor is None:
            import ray

            if not ray.is_initialized():
                raise RuntimeError("GpuSlots.ray_handle() needs ray.init() first")
            self._ray_actor = ray.remote(num_cpus=0)(RaySemaphore).remote(self.slots)
        return self._ray_actor

    def close(self) -> None:
        """Stop the Ray semaphore actor, if one was made (the local semaphore needs nothing)."""
        if self._ray_actor is not None:
            import ray

            with contextlib.suppress(Exception):
                if ray.is_initialized():
                    ray.kill(self._ray_actor)
            self._ray_actor = None


_INSTALLED: dict[str, Any] = {}


def _is_ray_handle(handle: Any) -> bool:
    ray = sys.modules.get("ray")  # a Ray handle was unpickled, so ray is imported already
    return ray is not None and isinstance(handle, ray.actor.ActorHandle)


def _ray_holder() -> str:
    import socket

    import ray

    with contextlib.suppress(Exception):
        actor_id = ray.get_runtime_context().get_actor_id()
        if actor_id:
            return actor_id
    return f"{os.getpid()}@{socket.gethostname()}"


def install(handle: Any) -> None:
    """Make ``handle`` this process's GPU semaphore (once per worker, at start).

    Parameters
    ----------
    handle : BoundedSemaphore or ray.actor.ActorHandle or None
        :meth:`GpuSlots.worker_handle` (local processes, or the parent itself),
        :meth:`GpuSlots.ray_handle` (Ray actors and tasks), or ``None`` to uninstall (every
        :func:`gpu_slot` then yields False).

    Raises
    ------
    TypeError
        If ``handle`` is none of those.
    """
    _INSTALLED.clear()
    if handle is None:
        return
    if _is_ray_handle(handle):
        _INSTALLED.update(kind="ray", handle=handle, holder=_ray_holder())
    elif callable(getattr(handle, "acquire", None)) and callable(getattr(handle, "release", None)):
        _INSTALLED.update(kind="mp", handle=handle)
    else:
        raise TypeError(f"not a GPU semaphore handle: {handle!r}")


def installed() -> bool:
    """Whether a GPU semaphore is installed in this process."""
    return bool(_INSTALLED)


@contextlib.contextmanager
def gpu_slot(timeout_s: float | None = None) -> Iterator[bool]:
    """Hold one GPU slot for the duration of the ``with`` block.

    Parameters
    ----------
    timeout_s : float or None, default None
        Longest wait for a free slot, seconds; ``None`` waits as long as it takes.

    Yields
    ------
    bool
        True with a slot held (released when the block exits, also on an exception); False
        when no semaphore is installed in this process (no GPU, ``slots == 0``, or a run
        without a sweep) or ``timeout_s`` passed: run the stage on the CPU then.
    """
    kind = _INSTALLED.get("kind")
    if kind is None:
        yield False
        return
    handle = _INSTALLED["handle"]  # install() always sets it together with kind
    if kind == "mp":
        got = handle.acquire(True, timeout_s) if timeout_s is not None else handle.acquire()
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            handle.release()
        return
    import ray

    holder = _INSTALLED["holder"]
    if not ray.get(handle.acquire.remote(holder, timeout_s)):
        yield False
        return
    try:
        yield True
    finally:
        ray.get(handle.release.remote(holder))
