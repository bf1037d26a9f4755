"""How many worker processes a sweep gets when ``--workers`` is not given (issue 14, item 13).

A worker process is not free: ``spawn`` starts an interpreter, imports the simulator, maps the
feed and loads the Numba cache (about 1.4 s on the development machine, see
:data:`WORKER_SPAWN_S`), and every trial sent to a pool pays pickling, transfer and the
parent's bookkeeping (:data:`TRIAL_OVERHEAD_S`). With one worker the local backend runs the
trials in the ``mmsim`` process itself and pays neither. So a 20-trial sweep of 0.13 s trials is
*slower* on two workers than on one, while a 200-trial sweep of the same trials is almost twice
as fast. :func:`choose_workers` picks the count from that arithmetic, and
:func:`pilot_trial_s` measures its input, the time of one trial, by running the first trial on a
growing prefix of the data in the parent (a quarter of a second or so) and extrapolating.

This module does not run a sweep (:mod:`experiments.executor`) and stores nothing: the pilot's
result is thrown away, only its timing is used.

See Also
--------
experiments.executor.resolve_workers : applies ``--workers`` / ``[sweep] workers`` and calls
    :func:`auto_workers` for ``0``.
bench/bench_overhead.py : measures :data:`TRIAL_OVERHEAD_S`.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
import warnings
from typing import Any

import attrs

__all__ = [
    "PILOT_BUDGET_S",
    "TRIAL_OVERHEAD_S",
    "WORKER_SPAWN_S",
    "PilotTiming",
    "WorkerChoice",
    "auto_workers",
    "choose_workers",
    "pilot_trial_s",
]

WORKER_SPAWN_S = 0.9
"""Seconds from starting a ``spawn`` worker to it being ready for its first trial (interpreter,
imports, :func:`experiments.worker.init_worker`), excluding the first trial's own warm-up, which
:func:`pilot_trial_s` measures. Measured on the development machine (2 cores, Python 3.11): a
one-worker ``ProcessPoolExecutor`` returned the first result of a gamma.toml trial after
1.53 s, of which the trial itself took 0.61 s (cold) → 0.92 s."""

TRIAL_OVERHEAD_S = 0.013
"""Seconds per trial a process pool adds (submission, pickling, result transfer, the parent's
DuckDB transaction and reporter): ``python bench/bench_overhead.py --trials 300 --workers 2``
reports 12.9 ms (README performance table)."""

PILOT_BUDGET_S = 0.25
"""The pilot grows its prefix until one timed run takes at least this long (or covers the whole
feed), so a timing is never a handful of microseconds of noise."""

PILOT_BATCH = 8
"""Trials per timed run when the trial takes the batch path (:mod:`venues.orderbook.batch`): the
pilot measures a trial's share of a batch."""
_FIRST_EVENTS = 2_000
_GROWTH = 4


@attrs.frozen(kw_only=True)
class PilotTiming:
    """What one pilot measured.

    Attributes
    ----------
    trial_s : float
        Estimated wall time of one whole trial, seconds, warm (JIT code loaded).
    warmup_s : float
        Extra seconds the first run in a fresh process costs (Numba cache loading, first-touch
        of the feed pages): cold run minus warm run of the same prefix, ``>= 0``.
    n_events : int
        Events in the feed.
    n_events_timed : int
        Events of the prefix the estimate is extrapolated from (``== n_events``: measured
        exactly).
    pilot_s : float
        Wall time the pilot itself took, seconds.
    """

    trial_s: float
    warmup_s: float
    n_events: int
    n_events_timed: int
    pilot_s: float


@attrs.frozen(kw_only=True)
class WorkerChoice:
    """A worker count and why.

    Attributes
    ----------
    workers : int
        The count, ``1 <= workers <= max(1, min(n_trials, cores))``.
    reason : str
        One line for the user, e.g. ``"20 trials × ~0.13 s measured: 1 worker, start-up of
        more would cost more than it saves"``.
    timing : PilotTiming or None
        The pilot, when one ran.
    """

    workers: int
    reason: str
    timing: PilotTiming | None = None


def _require(name: str, value: float, low: float, *, integer: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (integer and int(value) != value):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name}: expected {kind} >= {low:g}, got {value!r}")


def choose_workers(n_trials: int, cores: int, trial_s: float | None, startup_s: float, *,
                   overhead_s: float = TRIAL_OVERHEAD_S, in_process: bool = True) -> int:
    """The worker count with the least estimated sweep wall time.

    Parameters
    ----------
    n_trials : int
        Trials to run, ``>= 0`` (0 gives 1).
    cores : int
        CPU cores available, ``>= 1``.
    trial_s : float or None
        Seconds one trial takes, warm (:func:`pilot_trial_s`); ``None`` when unknown: then
        ``min(n_trials, cores)`` (the trials are assumed long).
    startup_s : float
        Seconds a new worker process costs before its first trial runs warm (spawn, imports,
        data mapping, JIT cache loading), ``>= 0``. The workers start at the same time, so a
        pool pays it once in wall time.
    overhead_s : float, default TRIAL_OVERHEAD_S
        Seconds per trial the pool adds over running the trial in the parent, ``>= 0``.
    in_process : bool, default True
        One worker runs the trials in the parent (local backend, no ``timeout_s``): no start-up
        and no per-trial overhead. ``False`` (a timeout, Ray): one worker is a pool too.

    Returns
    -------
    int
        The smallest ``w`` in ``1 .. min(n_trials, cores)`` minimising the estimate
        ``T(w) = startup_s + ceil(n_trials / w) * (trial_s + overhead_s)``, with
        ``T(1) = n_trials * trial_s`` when ``in_process``. Never more workers than trials or
        cores; a tie goes to fewer processes.

    Raises
    ------
    ValueError
        A negative, non-finite or non-integer count, or a negative time (the message names the
        argument).

    Notes
    -----
    The model is the makespan of ``n_trials`` equal tasks on ``w`` identical machines, ``ceil(n /
    w)`` rounds, plus the pool's fixed and per-task costs. It ignores that the parent process
    competes with the workers for a core (its per-trial work is in ``overhead_s``).

    Examples
    --------
    The quickstart (20 trials of ~0.13 s on 2 cores) and a 200-trial grid of the same trials:

    >>> choose_workers(20, 2, 0.13, 1.4), choose_workers(200, 2, 0.13, 1.4)
    (1, 2)
    """
    _require("n_trials", n_trials, 0, integer=True)
    _require("cores", cores, 1, integer=True)
    _require("startup_s", startup_s, 0.0)
    _require("overhead_s", overhead_s, 0.0)
    most = max(1, min(int(n_trials), int(cores)))
    if trial_s is None:
        return most
    _require("trial_s", trial_s, 0.0)
    n = int(n_trials)

    def wall(w: int) -> float:
        if w == 1 and in_process:
            return n * trial_s
        return startup_s + math.ceil(n / w) * (trial_s + overhead_s)

    best, best_t = 1, wall(1)
    for w in range(2, most + 1):
        t = wall(w)
        if t < best_t:
            best, best_t = w, t
    return best


def _prefix(feed: Any, n: int) -> Any:
    """The feed cut to its first ``n`` events (recorded BBO rows up to the last one's time)."""
    if n >= len(feed.events):
        return feed
    events = feed.events[:n]
    bbo = feed.bbo
    if len(bbo) and n:
        bbo = bbo[bbo["ts_local_ns"] <= events["ts_local_ns"][-1]]
    return attrs.evolve(feed, events=events, bbo=bbo)


def pilot_trial_s(feed: Any, trial: Any, strategy_cls: type, *,
                  budget_s: float = PILOT_BUDGET_S) -> PilotTiming | None:
    """Time one trial on growing prefixes of the feed and extrapolate to the whole feed.

    A trial the batch path supports is timed as its share of a batch of :data:`PILOT_BATCH`
    copies. The trial runs (its output captured and dropped) on the first 2,000 events twice, cold then
    warm, and then on prefixes four times longer until one run takes ``budget_s`` or covers
    the feed. The whole-feed time is the last run plus the slope between the last two runs
    times the events left (per-trial set-up is not scaled up), or the last run scaled by the
    event count when there is one run only.

    Parameters
    ----------
    feed : venues.loaders.Feed
        The sweep's loaded feed.
    trial : experiments.config.TrialSpec
        The trial to time (the sweep's first).
    strategy_cls : type
        Its strategy class.
    budget_s : float, default PILOT_BUDGET_S
        Target duration of the last timed run, seconds.

    Returns
    -------
    PilotTiming or None
        ``None`` when the trial trains a model (``[signal]``: its cost is not proportional to
        the events, and a prefix would train a model for nothing) or raised on a prefix (the
        real run will report the error).

    Warnings
    --------
    Runs user strategy code in the calling process, as the in-process backend does.
    """
    from experiments.trial import run_trial
    from venues.orderbook.batch import batch_unsupported, run_quoter_batch

    if (getattr(trial, "extras", None) or {}).get("signal") is not None:
        return None
    n_total = len(feed.events)
    if n_total == 0:
        return None
    t_start = time.perf_counter()
    # a trial the batch path runs is timed inside a batch: its cost there is what a sweep pays
    batch = PILOT_BATCH if batch_unsupported(feed, trial.venue, strategy_cls, trial.extras) is None else 1

    def run(n: int) -> float:
        part = _prefix(feed, n)
        sink = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if batch > 1:
                run_quoter_batch(part, [trial.venue] * batch, [trial.strategy] * batch, trial.extras, strategy_cls)
            else:
                run_trial(part, trial.venue, trial.strategy, strategy_cls, trial.seed, trial.extras)
        return (time.perf_counter() - t0) / batch

    try:
        n = min(n_total, _FIRST_EVENTS)
        cold = run(n)
        t = run(n)
        runs = [(n, t)]
        while t < budget_s and n < n_total:
            n = min(n_total, n * _GROWTH)
            t = run(n)
            runs.append((n, t))
    except Exception:  # noqa: BLE001 - the sweep itself reports a failing trial
        return None
    n_last, t_last = runs[-1]
    if n_last >= n_total:
        trial_s = t_last
    else:
        slope = 0.0
        if len(runs) >= 2:
            (n_prev, t_prev) = runs[-2]
            slope = (t_last - t_prev) / (n_last - n_prev)
        if slope <= 0.0:
            slope = t_last / n_last
        trial_s = t_last + slope * (n_total - n_last)
    return PilotTiming(trial_s=trial_s, warmup_s=max(0.0, cold - runs[0][1]), n_events=n_total,
                       n_events_timed=n_last, pilot_s=time.perf_counter() - t_start)


def auto_workers(n_trials: int, trial: Any, strategy_cls: type, feed: Any, *,
                 cores: int | None = None, in_process: bool = True,
                 budget_s: float = PILOT_BUDGET_S) -> WorkerChoice:
    """The worker count for ``[sweep] workers = 0``: a pilot timing, then :func:`choose_workers`.

    Parameters
    ----------
    n_trials : int
        Trials the sweep plans.
    trial : experiments.config.TrialSpec or None
        A representative trial to time (``None``: no pilot).
    strategy_cls : type
        Its strategy class.
    feed : venues.loaders.Feed or None
        The loaded feed (``None``: no pilot).
    cores : int or None, default None
        ``None``: ``os.cpu_count()``.
    in_process : bool, default True
        As in :func:`choose_workers`.
    budget_s : float, default PILOT_BUDGET_S
        As in :func:`pilot_trial_s`.

    Returns
    -------
    WorkerChoice
        With a one-line reason. Without a timing (no feed or trial, one trial, a model-training
        or failing pilot) the count is ``min(n_trials, cores)``.
    """
    cores = int(cores or os.cpu_count() or 1)
    most = max(1, min(int(n_trials), cores))
    timing = None
    if feed is not None and trial is not None and most > 1:
        timing = pilot_trial_s(feed, trial, strategy_cls, budget_s=budget_s)
    if timing is None:
        why = "one per core" if most == cores else "one per trial"
        return WorkerChoice(workers=most, reason=f"{n_trials} trial(s), {cores} core(s): {why}")
    startup = WORKER_SPAWN_S + timing.warmup_s
    w = choose_workers(n_trials, cores, timing.trial_s, startup, in_process=in_process)
    head = (f"{n_trials} trials × ~{timing.trial_s:.3g} s (pilot on {timing.n_events_timed:,} of "
            f"{timing.n_events:,} events), worker start-up ~{startup:.2g} s")
    if w == 1 and most > 1:
        tail = "1 worker: more would cost more in start-up than they save"
    else:
        tail = f"{w} worker(s)" + ("" if w == most else " (more would not finish sooner)")
    return WorkerChoice(workers=w, reason=f"{head}: {tail}", timing=timing)
