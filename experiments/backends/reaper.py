"""A watchdog process that kills what a sweep started if the sweep process itself is killed.

``SIGKILL`` gives a process no chance to stop its children. Ray's agents (``DashboardAgent``,
``RuntimeEnvAgent``) of a private local instance are re-parented to ``init`` and keep running
when the driver dies that way. :func:`start` launches this module as a separate process (its own
session, so a signal to the sweep's process group does not reach it first): every half second
it records the descendants of the watched process (from ``/proc``: pid and start time, so a
reused pid is never touched); once the watched process is gone, it kills the recorded ones that
still run, then exits. :func:`stop` ends it after a normal shutdown. Linux only (``/proc``);
elsewhere :func:`start` returns ``None``.

Usage (internal): ``python -m experiments.backends.reaper PID``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["descendants", "start", "stop"]

POLL_S = 0.5


def _stat(pid: int) -> tuple[int, int] | None:
    """``(ppid, starttime)`` of a process from ``/proc/PID/stat``; ``None`` if it is gone or
    a zombie (dead, not yet reaped by its parent)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every descendant of ``root`` now: pid → start time (clock ticks since boot).

    Returns
    -------
    dict of int to int
        Empty when ``/proc`` is not there.
    """
    children: dict[int, list[tuple[int, int]]] = {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        st = _stat(pid)
        if st is not None:
            children.setdefault(st[0], []).append((pid, st[1]))
    out: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, start in children.get(todo.pop(), ()):
            if pid not in out:
                out[pid] = start
                todo.append(pid)
    return out


def _watch(parent: int) -> None:
    known: dict[int, int] = {}
    me = os.getpid()
    while _stat(parent) is not None:
        known.update(descendants(parent))
        known.pop(me, None)
        known = {p: s for p, s in known.items() if (st := _stat(p)) is not None and st[1] == s}
        time.sleep(POLL_S)
    for pid, start in known.items():
        st = _stat(pid)
        if st is not None and st[1] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def start() -> Any:
    """Start a watchdog of this process; ``None`` where ``/proc`` is missing.

    Returns
    -------
    subprocess.Popen or None
    """
    if not Path(f"/proc/{os.getpid()}/stat").exists():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.backends.reaper", str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


def stop(proc: Any) -> None:
    """End a watchdog from :func:`start` (after the backend stopped everything itself)."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch(int(sys.argv[1]))
