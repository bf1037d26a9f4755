"""Running the trials of a sweep: in-process or on a local process pool.

The parent process loads the feed first (:func:`venues.loaders.load_feed` parses the vendor
files once and caches them as Parquet keyed by content hash), then opens the results file and
starts the workers. Each worker loads the feed once, from that cache, in its initializer, and
then runs trials; results come back to the parent, which is the only DuckDB writer and commits
each finished trial at once.

**Start method: ``spawn``.** ``fork`` copies a parent that holds a DuckDB connection, a
``rich`` refresh thread and possibly Numba/OpenMP thread pools, which is unsafe; ``forkserver``
would be fine on Linux but does not exist on Windows and saves only the imports. ``spawn``
gives every worker a clean interpreter on every platform; its cost (imports and Numba
compilation or cache load, about a second) is paid once per worker, not per trial.

A trial that raises is recorded as ``failed`` with its error text and the sweep goes on.
Ctrl-C cancels the trials not yet started, stops the workers, keeps everything committed and
marks the sweep ``interrupted``. This module does not parse TOML and draws nothing.

See Also
--------
experiments.config : builds the :class:`~experiments.config.SweepSpec` run here.
experiments.store : the results tables.
experiments.trial : one trial.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import attrs

from experiments.config import SweepSpec, TrialSpec
from experiments.progress import TrialOutcome
from experiments.store import ResultStore
from experiments.worker import WorkerContext, error_text, init_worker, run_one, run_trial_safely

__all__ = [
    "MP_START_METHOD",
    "SweepResult",
    "cache_dir",
    "code_version",
    "load_data",
    "resolve_workers",
    "run_sweep",
]

MP_START_METHOD = "spawn"
"""Start method of worker processes (see the module docstring for why)."""


@attrs.frozen(kw_only=True)
class SweepResult:
    """Summary of a sweep run.

    Attributes
    ----------
    sweep_id : str
        Id of the new ``sweeps`` row.
    results : Path
        The DuckDB file.
    n_done, n_failed, n_total : int
        Trial counts (``n_total - n_done - n_failed`` were not run: interrupted).
    interrupted : bool
        Ctrl-C stopped the sweep.
    wall_s : float
        Wall time of the whole sweep, seconds (feed loading included).
    """

    sweep_id: str
    results: Path
    n_done: int
    n_failed: int
    n_total: int
    interrupted: bool
    wall_s: float


def cache_dir() -> str:
    """Directory of the parsed-feed cache.

    Returns
    -------
    str
        ``$MMSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mmsim/feeds`` (by default
        ``~/.cache/mmsim/feeds``).
        Passed as ``cache_dir`` to :func:`venues.loaders.load_feed` in the parent and in every
        worker, so the parent parses once and the workers read its Parquet cache.
    """
    env = os.environ.get("MMSIM_CACHE_DIR")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mmsim", "feeds")


def load_data(spec: SweepSpec) -> Any:
    """Load (parse or read from cache) the feed of a sweep.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.

    Returns
    -------
    Feed
        From :func:`venues.loaders.load_feed`.

    Raises
    ------
    venues.loaders.DataError
        If a data file is invalid (the message names file and row).
    """
    from venues.loaders import load_feed

    return load_feed(spec.data, cache_dir=cache_dir())


def resolve_workers(requested: int | None, spec: SweepSpec) -> int:
    """Number of worker processes for a sweep.

    Parameters
    ----------
    requested : int or None
        ``--workers``; ``None`` uses ``[sweep] workers``. ``0`` means ``os.cpu_count()``.
    spec : SweepSpec
        The sweep.

    Returns
    -------
    int
        Between 1 and the number of trials.
    """
    n = spec.sweep.workers if requested is None else requested
    if n <= 0:
        n = os.cpu_count() or 1
    return max(1, min(n, len(spec.trials) or 1))


def code_version() -> str:
    """mmsim's version and, inside a git checkout, the short commit (``+dirty`` if modified).

    Returns
    -------
    str
        e.g. ``"0.1.0 (git 1a2b3c4)"``.
    """
    try:
        from importlib.metadata import version

        ver = version("mmsim")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        ver = "unknown"
    repo = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return f"{ver} (git {rev}{'+dirty' if dirty else ''})"
    except Exception:  # noqa: BLE001 - no git, not a checkout, no commits yet
        return ver


# -- parent side ------------------------------------------------------------------------------


def run_sweep(
    spec: SweepSpec,
    *,
    results: str | Path,
    workers: int,
    reporter: Any,
    feed: Any = None,
) -> SweepResult:
    """Run every trial of a sweep and store the results.

    Parameters
    ----------
    spec : SweepSpec
        The validated sweep.
    results : str or Path
        DuckDB file to write (created with its directory; appended to if it exists).
    workers : int
        Worker processes, ``>= 1``; ``1`` runs in this process.
    reporter : Reporter
        Live view (:mod:`experiments.progress`).
    feed : Feed or None, default None
        Already-loaded feed; ``None`` loads it (:func:`load_data`) before the results file is
        touched.

    Returns
    -------
    SweepResult
        Counts, the sweep id and whether Ctrl-C stopped it.

    Raises
    ------
    venues.loaders.DataError
        If the data cannot be loaded (nothing is written then).
    """
    t0 = time.perf_counter()
    if feed is None:
        feed = load_data(spec)
    meta = getattr(feed, "meta", None)
    store = ResultStore(results)
    n_done = n_failed = 0
    interrupted = False
    sweep_id = ""
    try:
        sweep_id = store.begin_sweep(
            name=spec.sweep.name,
            config_path=str(spec.path),
            config_toml=spec.toml_text,
            root_seed=spec.sweep.seed,
            replicates=spec.sweep.replicates,
            n_trials=len(spec.trials),
            workers=workers,
            strategy_kind=spec.strategy_kind,
            strategy_class=spec.strategy_path,
            data_format=str(getattr(spec.data, "format", "")),
            data_paths=list(getattr(spec.data, "paths", ())),
            data_sha256=list(getattr(meta, "source_sha256", ()) or ()),
            symbol=getattr(meta, "symbol", None),
            code_version=code_version(),
            param_columns=spec.columns,
        )
        reporter.start(name=spec.sweep.name, total=len(spec.trials), workers=workers,
                       objective=spec.sweep.objective)

        def record(trial: TrialSpec, outcome: TrialOutcome) -> None:
            nonlocal n_done, n_failed
            store.record_trial(
                sweep_id, trial_id=trial.trial_id, trial_index=trial.index,
                params=trial.params, replicate=trial.replicate, seed=trial.seed,
                status=outcome.status, wall_s=outcome.wall_s, error=outcome.error,
                traceback=outcome.traceback, metrics=outcome.metrics,
            )
            if outcome.status == "done":
                n_done += 1
            else:
                n_failed += 1
            reporter.trial_done(trial, outcome)

        try:
            if workers <= 1:
                for trial in spec.trials:
                    record(trial, run_trial_safely(feed, trial, spec.strategy_cls))
            else:
                _run_pool(spec, workers, record)
        except KeyboardInterrupt:
            interrupted = True
        reporter.finish(interrupted=interrupted)
        store.finish_sweep(sweep_id, "interrupted" if interrupted else "done")
    finally:
        store.close()
    return SweepResult(
        sweep_id=sweep_id, results=Path(results), n_done=n_done, n_failed=n_failed,
        n_total=len(spec.trials), interrupted=interrupted, wall_s=time.perf_counter() - t0,
    )


def _run_pool(spec: SweepSpec, workers: int, record: Any) -> None:
    ctx = mp.get_context(MP_START_METHOD)
    wctx = WorkerContext(data=spec.data, cache_dir=cache_dir(), sys_path=tuple(sys.path),
                         strategy_path=spec.strategy_path, search_dir=str(spec.path.parent))
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=init_worker, initargs=(wctx,),
    )
    futures: dict[cf.Future, TrialSpec] = {}
    try:
        for trial in spec.trials:
            futures[pool.submit(run_one, trial)] = trial
        for fut in cf.as_completed(futures):
            trial = futures.pop(fut)
            try:
                outcome = fut.result()
            except cf.process.BrokenProcessPool as exc:
                outcome = TrialOutcome(
                    trial_id=trial.trial_id, status="failed",
                    error=f"BrokenProcessPool: worker process died ({exc})",
                )
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                outcome = TrialOutcome(
                    trial_id=trial.trial_id, status="failed", error=error_text(exc),
                    traceback="".join(traceback.format_exception(exc)),
                )
            record(trial, outcome)
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        # Running trials are abandoned: stop their processes rather than wait for them.
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
        raise
    else:
        pool.shutdown(wait=True)
