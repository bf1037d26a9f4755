"""Where a sweep's trials come from: a grid, seeded random draws, or an Optuna TPE study.

The executor (parent process) asks a :class:`TrialSource` for work and reports results back::

    source = make_source(spec, results_path=results, sweep_id=sweep_id, already=stored)
    while not source.finished():
        for trial in source.next_trials(free_workers):   # [] = wait for a result first
            submit(trial)
        trial, metrics = wait_for_one()                   # metrics None: the trial failed
        store(trial, metrics)                             # commit to the results file first,
        source.report(trial, metrics)                     # then report

**grid** and **random** sources hand out the precomputed :attr:`SweepSpec.trials` (random
draws are made by :func:`experiments.config.random_points` when the file is loaded), skipping
those in ``already``.

**bayes** asks an Optuna study (TPE sampler) for one parameter point at a time and runs it
``replicates`` times; when every replicate of a point has been reported, the study is told the
mean of the finite objective values (``[sweep] objective``, ``direction``), or ``FAIL`` when
no replicate produced one (failed trials, or a NaN objective such as
``pnl_per_1k_notional`` of a trial that never held inventory). The study is named
``mmsim-<sweep_id>`` and persisted in an Optuna journal file next to the results file
(:func:`journal_path`), written before a trial is handed out. Each point's axis values and
trial ids are stored on its Optuna trial (user attribute ``mmsim``).

Determinism: points are proposed in rounds of :data:`BAYES_BATCH`; a round is asked only once
every earlier point has been told, its points back to back (TPE with ``constant_liar``: earlier
points of the round count as running). Before each ask the sampler is re-created with a seed
derived from the root seed and the number of trials already in the study (:func:`bayes_seed`).
So the proposals, hence every trial and result, are the same for any number of workers and
any completion order, also across a resume (unless a crash fell between two asks of one
round, a window of milliseconds).

Resume (``already`` non-empty, the journal re-opened):

- a point told to the study is done; any of its replicates missing from ``already`` (the
  results file lost them) is run again, without telling the study twice;
- a point asked but never told (the parent crashed while it ran) is **re-proposed**: its
  missing replicates are handed out again first (same parameters, ids and seeds), and the study
  is told when they are reported. If all its replicates are already stored (the crash came
  between the store and the tell), it is told at once. Nothing is marked failed, so a resumed
  sweep runs exactly the missing trials and ends with ``n_trials`` finished points;
- a stored trial the study does not know (journal deleted or from another file) is an error.

Random search dedupes by trial id: a draw that repeats an earlier point's parameters is drawn
again (all-discrete spaces smaller than ``n_trials`` are rejected when loading). TPE may
propose a point already tried; such a duplicate is told the earlier point's value (or FAIL while
that is unknown), marked, not counted toward ``n_trials`` and not run, and the study is asked
again; after many duplicates in a row in a finite space an untried point is enqueued.
"""

from __future__ import annotations

import collections
import contextlib
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from experiments.config import Axis, SweepSpec, TrialSpec, make_point_trials

__all__ = [
    "BAYES_BATCH",
    "BAYES_TAG",
    "BayesSource",
    "ListSource",
    "TrialSource",
    "PidFileLock",
    "bayes_seed",
    "journal_path",
    "make_source",
    "repair_journal",
    "study_name",
]

BAYES_TAG = 0x42415945
"""``b"BAYE"``: second word of the seed sequence of the TPE sampler (:func:`bayes_seed`)."""

USER_ATTR = "mmsim"
"""Optuna user attribute holding ``{"values": {column: value}, "trial_ids": [...]}`` of a
point, or ``{"duplicate_of": number}`` for a proposal that repeated an earlier point."""

BAYES_BATCH = 4
"""Points proposed per round of Bayesian search. A round is asked only when every point of the
previous rounds has been told, so the proposals (hence the results) are the same whatever the
number of workers and whatever order trials finish in; at most ``BAYES_BATCH × replicates``
trials of a bayes sweep run at once."""

MAX_DUPLICATE_ASKS = 50
"""Consecutive duplicate proposals in a finite space before an untried point is enqueued."""


@runtime_checkable
class TrialSource(Protocol):
    """What the executor needs from a search method.

    Attributes
    ----------
    total : int
        Planned number of trials of the whole sweep (including those already stored):
        grid size × replicates, or ``n_trials`` × replicates.
    """

    total: int

    def next_trials(self, n: int) -> list[TrialSpec]:
        """Up to ``n`` trials to run now, in proposal order; ``[]`` when none can be proposed
        until a running trial is reported (bayes), or when every trial has been handed out."""
        ...

    def report(self, trial: TrialSpec, metrics: Mapping[str, float] | None) -> None:
        """A trial handed out by :meth:`next_trials` finished; ``metrics`` is ``None`` if it
        failed. Call it after the trial is stored."""
        ...

    def finished(self) -> bool:
        """Every planned trial has been handed out (or was stored before) and reported."""
        ...


def journal_path(results_path: str | Path) -> Path:
    """Optuna journal of a results file: ``<results>.optuna.journal`` beside it."""
    results_path = Path(results_path)
    return results_path.with_suffix(results_path.suffix + ".optuna.journal")


class PidFileLock:
    """Optuna journal lock: ``<journal>.lock`` created with ``O_EXCL`` holding the owner's pid
    and host; a lock whose owner process is gone (same host, pid not running) is stale and
    removed, so a sweep killed while it held the lock (SIGKILL) never blocks a resume.

    Parameters
    ----------
    journal : str
        Absolute path of the journal file.
    timeout_s : float, default 600
        Give up (``TimeoutError``) after waiting this long for a live owner.
    """

    def __init__(self, journal: str, timeout_s: float = 600.0) -> None:
        self.lock_file = journal + ".lock"
        self.timeout_s = timeout_s

    def _owner(self) -> tuple[str, int] | None:
        try:
            text = Path(self.lock_file).read_text(encoding="utf-8", errors="replace").split()
            return text[0], int(text[1])
        except (OSError, IndexError, ValueError):
            return None

    def _stale(self) -> bool:
        import os
        import socket

        if os.path.islink(self.lock_file):
            return True  # Optuna's own symlink lock, left by an older run: no owner to ask
        owner = self._owner()
        if owner is None:
            try:  # empty or garbled: being written right now, or left by a crash
                import time

                return time.time() - os.lstat(self.lock_file).st_mtime > 5.0
            except OSError:
                return False
        host, pid = owner
        if host != socket.gethostname():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def acquire(self) -> bool:
        """Take the lock (blocking); removes a stale one first.

        Raises
        ------
        TimeoutError
            A live process held it for ``timeout_s``.
        """
        import os
        import socket
        import time

        deadline = time.monotonic() + self.timeout_s
        delay = 0.001
        while True:
            try:
                fd = os.open(self.lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._stale():
                    warnings.warn(f"removing the stale Optuna journal lock {self.lock_file} "
                                  "(its owner process is gone)", stacklevel=2)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.lock_file)
                    continue
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.lock_file} held by a live process for "
                                       f"{self.timeout_s:g} s") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(f"{socket.gethostname()} {os.getpid()}\n")
            return True

    def release(self) -> None:
        """Drop the lock."""
        import os

        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.lock_file)


def repair_journal(journal: str | Path) -> int:
    """Cut an Optuna journal back to its last complete, valid record.

    A crash while a record was appended leaves a partial last line; Optuna then appends the
    next record after it and the journal no longer parses. The valid prefix is kept (records
    are appended in order, so nothing after a bad record can be trusted), the original is
    kept beside it as ``<journal>.corrupt``, and a warning says how many bytes were dropped.

    Parameters
    ----------
    journal : str or Path
        The journal file (the caller is its only writer: it holds the results file).

    Returns
    -------
    int
        Bytes dropped (0 when the journal was intact).
    """
    import json
    import os

    journal = Path(journal)
    data = journal.read_bytes()
    keep = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            json.loads(line)
        except ValueError:
            break
        keep += len(line)
    dropped = len(data) - keep
    if dropped:
        backup = journal.with_name(journal.name + ".corrupt")
        backup.write_bytes(data)
        tmp = journal.with_name("." + journal.name + ".tmp")
        tmp.write_bytes(data[:keep])
        os.replace(tmp, journal)
        warnings.warn(f"{journal}: dropped {dropped} byte(s) of a truncated or corrupt record "
                      f"at its end (a crash while writing it); the original is in {backup}",
                      stacklevel=2)
    return dropped


def study_name(sweep_id: str) -> str:
    """Name of the Optuna study of a sweep."""
    return f"mmsim-{sweep_id}"


def bayes_seed(root_seed: int, n_asked: int) -> int:
    """Seed of the TPE sampler for the ask that follows ``n_asked`` trials in the study:
    ``SeedSequence([root_seed, BAYES_TAG, n_asked]).generate_state(1, uint32)[0]``."""
    state = np.random.SeedSequence([int(root_seed), BAYES_TAG, int(n_asked)])
    return int(state.generate_state(1, dtype=np.uint32)[0])


def make_source(
    spec: SweepSpec,
    *,
    results_path: str | Path,
    sweep_id: str,
    already: Mapping[str, Mapping[str, float] | None],
) -> TrialSource:
    """The trial source of a sweep.

    Parameters
    ----------
    spec : SweepSpec
        The loaded sweep file.
    results_path : str or Path
        The results file; a bayes study is kept in :func:`journal_path` of it.
    sweep_id : str
        The sweep's id in the results file (names the bayes study: :func:`study_name`).
    already : mapping of str to (mapping or None)
        Trial id → metrics (``None``: failed) of the trials of this sweep already stored;
        empty for a new sweep. They are not handed out again.

    Returns
    -------
    TrialSource
        :class:`ListSource` for grid and random, :class:`BayesSource` for bayes.

    Raises
    ------
    ValueError
        Bayes only: the journal's study does not match ``already`` or ``spec`` (a stored trial
        unknown to the study, a different direction, ids that differ from the config's).
    """
    if spec.sweep.method == "bayes":
        return BayesSource(spec, journal=journal_path(results_path), sweep_id=sweep_id,
                           already=already)
    return ListSource(spec.trials, already=already)


class ListSource:
    """Hands out a precomputed list of trials (grid and random search).

    Parameters
    ----------
    trials : sequence of TrialSpec
        Every planned trial, in proposal order.
    already : mapping
        Ids of trials already stored: skipped, counted as reported.
    """

    def __init__(self, trials: tuple[TrialSpec, ...] | list[TrialSpec], *,
                 already: Mapping[str, Any] = {}) -> None:  # noqa: B006 - read only
        self.total = len(trials)
        self._todo = collections.deque(t for t in trials if t.trial_id not in already)
        self._outstanding: set[str] = set()

    def next_trials(self, n: int) -> list[TrialSpec]:
        """Up to ``n`` of the remaining trials, in order."""
        out = []
        while self._todo and len(out) < n:
            t = self._todo.popleft()
            self._outstanding.add(t.trial_id)
            out.append(t)
        return out

    def report(self, trial: TrialSpec, metrics: Mapping[str, float] | None) -> None:
        """Mark a handed-out trial finished (:class:`KeyError` if it was not handed out)."""
        self._outstanding.remove(trial.trial_id)

    def finished(self) -> bool:
        """No trial left to hand out and none running."""
        return not self._todo and not self._outstanding


class _Point:
    """One Optuna trial (a parameter point) and its replicates."""

    __slots__ = ("number", "trials", "metrics", "told")

    def __init__(self, number: int, trials: list[TrialSpec], told: bool) -> None:
        self.number = number
        self.trials = trials
        self.metrics: dict[str, Mapping[str, float] | None] = {}
        self.told = told


class BayesSource:
    """Proposes parameter points with Optuna's TPE sampler (see the module docstring).

    Parameters
    ----------
    spec : SweepSpec
        A sweep with ``method = "bayes"``.
    journal : Path
        Optuna journal file (created if missing).
    sweep_id : str
        Names the study (:func:`study_name`).
    already : mapping
        Trial id → metrics of trials already stored (resume).
    """

    def __init__(self, spec: SweepSpec, *, journal: Path, sweep_id: str,
                 already: Mapping[str, Mapping[str, float] | None]) -> None:
        import optuna
        from optuna.storages import JournalStorage

        try:
            from optuna.storages.journal import JournalFileBackend as _Backend
        except ImportError:  # pragma: no cover - optuna < 4.0
            from optuna.storages import JournalFileStorage as _Backend

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.spec = spec
        self.n_points = int(spec.sweep.n_trials or 0)
        self.total = self.n_points * spec.sweep.replicates
        self.objective = spec.sweep.objective
        self.direction = spec.sweep.direction
        self.distributions = {a.column: _distribution(optuna, a) for a in spec.axes}
        self._axes = {a.column: a for a in spec.axes}

        # absolute: Optuna's default symlink lock points at this path, and a relative target
        # dangles (its stale-lock check then never fires: a hang after SIGKILL)
        journal = Path(journal).resolve()
        journal.parent.mkdir(parents=True, exist_ok=True)
        fresh = not journal.exists()
        if fresh and already:
            raise ValueError(
                f"{len(already)} trial(s) of this sweep are stored but its Optuna journal "
                f"{journal} is missing; the Bayesian study cannot be resumed"
            )
        if not fresh:
            repair_journal(journal)
        self.storage = JournalStorage(_Backend(str(journal), lock_obj=PidFileLock(str(journal))))
        self.study = optuna.create_study(
            study_name=study_name(sweep_id), storage=self.storage, direction=self.direction,
            sampler=self._sampler(0), load_if_exists=True,
        )
        got = self.study.direction.name.lower()
        if got != self.direction:
            raise ValueError(f"study {self.study.study_name} in {journal} has direction {got}, "
                             f"the sweep file says {self.direction}")

        self._points: dict[int, _Point] = {}
        self._owner: dict[str, _Point] = {}
        self._queue: collections.deque[TrialSpec] = collections.deque()
        self._outstanding: set[str] = set()
        self._seen_ids: dict[str, int] = {}  # replicate-0 trial id -> point number
        self._resume(already)

    # ---------------------------------------------------------------------------------------
    # Study plumbing
    # ---------------------------------------------------------------------------------------

    def _sampler(self, n_asked: int) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            return self._optuna.samplers.TPESampler(
                seed=bayes_seed(self.spec.sweep.seed, n_asked), constant_liar=True)

    def _n_counted(self) -> int:
        """Points proposed so far (duplicates and broken asks excluded)."""
        return len(self._points)

    def _resume(self, already: Mapping[str, Mapping[str, float] | None]) -> None:
        from optuna.trial import TrialState

        known: set[str] = set()
        for ft in sorted(self.study.get_trials(deepcopy=False), key=lambda t: t.number):
            info = ft.user_attrs.get(USER_ATTR)
            if not info or "values" not in info:
                if ft.state == TrialState.RUNNING:
                    # asked, but the parent died before recording the point (or before telling
                    # a duplicate): not a point, close it
                    self.study.tell(ft.number, state=TrialState.FAIL)
                continue
            trials = make_point_trials(self.spec, info["values"], len(self._points))
            ids = [t.trial_id for t in trials]
            if ids != list(info["trial_ids"]):
                raise ValueError(
                    f"trial {ft.number} of study {self.study.study_name} has trial ids "
                    f"{info['trial_ids']} but the sweep file gives {ids} for the same "
                    "parameters: the sweep file changed since the study started"
                )
            told = ft.state.is_finished()
            point = self._add_point(ft.number, trials, told)
            for t in trials:
                known.add(t.trial_id)
                if t.trial_id in already:
                    point.metrics[t.trial_id] = already[t.trial_id]
                else:
                    self._queue.append(t)
            if not told and len(point.metrics) == len(trials):
                self._tell(point)
        unknown = [tid for tid in already if tid not in known]
        if unknown:
            raise ValueError(
                f"{len(unknown)} stored trial(s) of this sweep (e.g. {unknown[0]}) are not in "
                f"the Optuna study {self.study.study_name}; the journal does not belong to "
                "these results"
            )

    def _add_point(self, number: int, trials: list[TrialSpec], told: bool) -> _Point:
        point = _Point(number, trials, told)
        self._points[number] = point
        for t in trials:
            self._owner[t.trial_id] = point
        self._seen_ids[trials[0].trial_id] = number
        return point

    def _values_of(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna params → axis values (step ranges snapped onto their decimal points)."""
        out = {}
        for col, x in params.items():
            a = self._axes[col]
            r = a.range
            if r is not None and r.step is not None and not r.integer:
                i = int(round((x - r.low) / r.step))
                x = a.values[min(max(i, 0), len(a.values) - 1)]
            elif r is not None and r.integer:
                x = int(x)
            elif r is not None:
                x = float(x)
            out[col] = x
        return out

    def _ask_point(self) -> None:
        """Ask the study for a new point and queue its replicates."""
        from optuna.trial import TrialState

        dups = 0
        while True:
            n_asked = len(self.study.get_trials(deepcopy=False))
            self.study.sampler = self._sampler(n_asked)
            trial = self.study.ask(self.distributions)
            values = self._values_of(trial.params)
            trials = make_point_trials(self.spec, values, len(self._points))
            first = self._seen_ids.get(trials[0].trial_id)
            if first is None:
                trial.set_user_attr(USER_ATTR, {"values": values,
                                                "trial_ids": [t.trial_id for t in trials]})
                break
            # a repeat of point `first`: tell it what we know, do not run it, ask again
            trial.set_user_attr(USER_ATTR, {"duplicate_of": first})
            earlier = self.study.get_trials(deepcopy=False)[first]
            if earlier.state == TrialState.COMPLETE:
                self.study.tell(trial.number, earlier.value)
            else:
                self.study.tell(trial.number, state=TrialState.FAIL)
            dups += 1
            if dups >= MAX_DUPLICATE_ASKS:
                self._enqueue_untried()
                dups = 0
        self._add_point(trial.number, trials, told=False)
        self._queue.extend(trials)

    def _enqueue_untried(self) -> None:
        """Enqueue an untried point of a finite space (after many duplicate proposals)."""
        cols = sorted(self._axes)
        choices = []
        for col in cols:
            a = self._axes[col]
            vals = a.range.discrete_values() if a.range is not None else a.values
            if vals is None:  # a continuous axis: duplicates are a fluke, just ask again
                return
            choices.append(list(vals))
        rng = np.random.default_rng([int(self.spec.sweep.seed), BAYES_TAG,
                                     len(self.study.get_trials(deepcopy=False))])
        for _ in range(100_000):
            values = {c: v[int(rng.integers(len(v)))] for c, v in zip(cols, choices, strict=True)}
            tid = make_point_trials(self.spec, values, 0)[0].trial_id
            if tid not in self._seen_ids:
                self.study.enqueue_trial(values, skip_if_exists=False)
                return

    def _tell(self, point: _Point) -> None:
        from optuna.trial import TrialState

        vals = []
        for m in point.metrics.values():
            x = None if m is None else m.get(self.objective)
            if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x):
                vals.append(float(x))
        if vals:
            self.study.tell(point.number, sum(vals) / len(vals), skip_if_finished=True)
        else:
            self.study.tell(point.number, state=TrialState.FAIL, skip_if_finished=True)
        point.told = True

    # ---------------------------------------------------------------------------------------
    # TrialSource
    # ---------------------------------------------------------------------------------------

    def next_trials(self, n: int) -> list[TrialSpec]:
        """Up to ``n`` trials: replicates of re-proposed or partly handed-out points first, then
        new points from the study while fewer than ``n_trials`` have been proposed."""
        out: list[TrialSpec] = []
        while len(out) < n:
            if not self._queue:
                if self._n_counted() >= self.n_points:
                    break
                if not all(p.told for p in self._points.values()):
                    break  # the next round waits for every point of this one
                # one round: BAYES_BATCH points asked back to back from the same results (the
                # earlier ones of the round count as running: constant liar), so what is
                # proposed never depends on the order in which workers finish
                for _ in range(min(BAYES_BATCH, self.n_points - self._n_counted())):
                    self._ask_point()
                continue
            t = self._queue.popleft()
            self._outstanding.add(t.trial_id)
            out.append(t)
        return out

    def report(self, trial: TrialSpec, metrics: Mapping[str, float] | None) -> None:
        """Record a replicate; tell the study once every replicate of the point is in."""
        self._outstanding.remove(trial.trial_id)
        point = self._owner[trial.trial_id]
        point.metrics[trial.trial_id] = metrics
        if not point.told and len(point.metrics) == len(point.trials):
            self._tell(point)

    def finished(self) -> bool:
        """``n_trials`` points proposed, every replicate handed out and reported."""
        return (self._n_counted() >= self.n_points and not self._queue
                and not self._outstanding and all(p.told for p in self._points.values()))


def _distribution(optuna: Any, axis: Axis) -> Any:
    """The Optuna distribution of an axis."""
    d = optuna.distributions
    r = axis.range
    if r is None:
        return d.CategoricalDistribution(list(axis.values))
    if r.integer:
        if r.step is not None:
            high = r.low + (r.high - r.low) // r.step * r.step
            return d.IntDistribution(r.low, high, step=r.step)
        return d.IntDistribution(r.low, r.high, log=r.log)
    if r.step is not None:
        return d.FloatDistribution(float(r.low), float(axis.values[-1]), step=float(r.step))
    return d.FloatDistribution(float(r.low), float(r.high), log=r.log)
