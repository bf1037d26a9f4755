"""Running the trials of a sweep: a trial source, a backend, one DuckDB writer.

The parent process loads the feed first (:func:`venues.loaders.load_feed` parses the vendor
files once and caches them as Parquet keyed by content hash, plus an uncompressed
``events.npy`` beside the entry), then opens the results file and starts the backend
(:mod:`experiments.backends`: ``local``, a ``pebble`` process pool, or ``ray``). Each worker
memory-maps that ``events.npy`` read-only in its initializer, so the events exist once in
memory whatever the worker count, and nothing about the data is pickled per trial.

The parent asks a *trial source* (:func:`experiments.search.make_source`: grid, seeded random
or Optuna TPE) for trials, keeps at most ``2 × workers`` of them in flight (so Bayesian search
proposes from the results so far), and commits every finished trial at once, in one
transaction, before telling the source (and MLflow, when configured) about it. Nothing else
writes: a trial that was running when the parent died has no row, and ``mmsim resume`` runs it
again.

**Start method: ``spawn``.** ``fork`` copies a parent that holds a DuckDB connection, a
``rich`` refresh thread and possibly Numba/OpenMP thread pools, which is unsafe; ``forkserver``
would be fine on Linux but does not exist on Windows and saves only the imports. ``spawn``
gives every worker a clean interpreter on every platform; its cost (imports and Numba
compilation or cache load, about a second) is paid once per worker, not per trial.

A trial that raises, exceeds ``[sweep] timeout_s`` or kills its worker is recorded as
``failed`` with its error text and the sweep goes on. Ctrl-C cancels the queued and running
trials, stops the workers, keeps everything committed and marks the sweep ``interrupted``
(``mmsim resume RESULTS`` finishes it). This module does not parse TOML and draws nothing.

See Also
--------
experiments.config : builds the :class:`~experiments.config.SweepSpec` run here.
experiments.store : the results tables.
experiments.trial : one trial.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import multiprocessing as mp
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from experiments.config import SweepSpec, TrialSpec
from experiments.progress import TrialOutcome
from experiments.store import ResultStore, staging_dir
from experiments.worker import WorkerContext

__all__ = [
    "INFLIGHT_PER_WORKER",
    "MP_START_METHOD",
    "SweepResult",
    "SweepStopped",
    "cache_dir",
    "code_revision",
    "code_version",
    "load_data",
    "objective_problem",
    "make_backend",
    "package_versions",
    "resolve_workers",
    "run_sweep",
]

INFLIGHT_PER_WORKER = 2
"""Trials in flight per worker: enough to keep workers busy, few enough for Bayesian search to
propose from recent results and for Ctrl-C to drop little queued work."""

MP_START_METHOD = "spawn"
"""Start method of worker processes (see the module docstring for why)."""


@attrs.frozen(kw_only=True)
class SweepResult:
    """Summary of a sweep run.

    Attributes
    ----------
    sweep_id : str
        Id of the ``sweeps`` row (new, or the resumed one).
    results : Path
        The DuckDB file.
    n_done, n_failed, n_total : int
        Trial counts, earlier runs of a resumed sweep included (``n_total - n_done -
        n_failed`` were not run: interrupted).
    interrupted : bool
        Ctrl-C stopped the sweep.
    wall_s : float
        Wall time of the whole sweep, seconds (feed loading included).
    n_resumed : int
        Trials found already stored (``mmsim resume``).
    stopped_by : int or None
        The signal that stopped the sweep (``signal.SIGINT`` or ``signal.SIGTERM``), if any.
    n_retried : int
        Failed trials of a resumed sweep run again.
    """

    sweep_id: str
    results: Path
    n_done: int
    n_failed: int
    n_total: int
    interrupted: bool
    wall_s: float
    n_resumed: int = 0
    stopped_by: int | None = None
    n_retried: int = 0


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
        From :func:`venues.loaders.load_feed`; its events are a read-only memory map of the
        cache's ``events.npy``, which the workers map too.

    Raises
    ------
    venues.loaders.DataError
        If a data file is invalid (the message names file and row).
    """
    from venues.loaders import load_feed

    return load_feed(spec.data, cache_dir=cache_dir(), mmap=True)


def resolve_workers(requested: int | None, spec: SweepSpec, *, feed: Any = None,
                    backend: str | None = None, report: Any = None) -> int:
    """Number of worker processes for a sweep.

    Parameters
    ----------
    requested : int or None
        ``--workers``; ``None`` uses ``[sweep] workers``. A positive count is used as given
        (capped at the number of trials). ``0`` chooses it (:func:`experiments.pilot.auto_workers`):
        with the loaded ``feed`` and the local backend, the sweep's first trial is timed on a
        prefix of the data (a pilot of about a quarter of a second, result discarded) and the
        count minimising ``start-up + rounds × trial time`` is taken, so a short sweep of quick
        trials runs in the parent process instead of paying for worker start-up; otherwise one
        worker per core.
    spec : SweepSpec
        The sweep.
    feed : venues.loaders.Feed or None, default None
        The loaded feed, for the pilot (``None``: no pilot, one worker per core).
    backend : str or None, default None
        ``--backend``; ``None`` uses ``[sweep] backend``. Only ``"local"`` runs a pilot.
    report : callable or None, default None
        Called with one line explaining an automatic choice (the CLI prints it).

    Returns
    -------
    int
        Between 1 and ``min(number of trials, cores)`` when chosen, between 1 and the number of
        trials when given.
    """
    from experiments.config import _representative, make_point_trials
    from experiments.pilot import auto_workers

    n = spec.sweep.workers if requested is None else requested
    planned = _n_planned(spec) or 1
    if n > 0:
        return max(1, min(n, planned))
    local = (backend or spec.sweep.backend) == "local"
    trial = spec.trials[0] if spec.trials else None
    if trial is None and spec.resolver is not None:  # bayes: trials are proposed later
        with contextlib.suppress(ValueError):
            trial = make_point_trials(spec, {a.column: _representative(a) for a in spec.axes}, 0)[0]
    choice = auto_workers(planned, trial, spec.strategy_cls, feed if local else None,
                          in_process=local and spec.sweep.timeout_s is None)
    if report is not None:
        report(f"workers: {choice.workers} ({choice.reason})")
    return choice.workers


def _n_planned(spec: SweepSpec) -> int:
    method = spec.sweep.method
    n_points = spec.sweep.n_trials
    if method != "grid" and n_points:
        return int(n_points) * int(spec.sweep.replicates)
    return len(spec.trials)


@functools.cache
def code_revision() -> tuple[str | None, bool | None]:
    """Git commit of this checkout and whether tracked files are modified.

    Returns
    -------
    tuple of (str or None, bool or None)
        Full commit hash and dirty flag; ``(None, None)`` outside a git checkout.
    """
    repo = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except Exception:  # noqa: BLE001 - no git, not a checkout, no commits yet
        return None, None
    return rev, bool(dirty)


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape results (stored per trial).

    Returns
    -------
    dict of str to str
        ``python``, ``mmsim``, ``numpy``, ``numba``, ``duckdb``, ``pyarrow``, ``attrs``,
        ``cattrs`` (and ``optuna`` when installed); ``"unknown"`` when not found.
    """
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("mmsim", "numpy", "numba", "duckdb", "pyarrow", "attrs", "cattrs", "optuna"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def code_version() -> str:
    """mmsim's version and, inside a git checkout, the short commit (``+dirty`` if modified).

    Returns
    -------
    str
        e.g. ``"0.1.0 (git 1a2b3c4)"``.
    """
    ver = package_versions().get("mmsim", "unknown")
    rev, dirty = code_revision()
    return f"{ver} (git {rev[:7]}{'+dirty' if dirty else ''})" if rev else ver


# -- objective names --------------------------------------------------------------------------

METRIC_NAMES = frozenset({
    # components.metrics.PnLRecorder.metrics
    "pnl", "pnl_per_1k_notional", "realized_pnl", "fees", "n_fills", "zero_fills",
    "maker_volume", "taker_volume", "max_drawdown", "max_abs_q", "final_q", "peak_notional",
    # experiments.trial.run_trial
    "n_events", "n_orders", "n_rejects", "sim_span_s",
    # components.performance (PnLRecorder.performance)
    "metric_interval_s", "n_metric_samples", "annualised", "sharpe_per_interval",
    "sortino_per_interval", "sharpe", "sortino", "calmar", "var_95_hist", "var_99_hist",
    "var_95_param", "var_99_param", "perf_max_drawdown", "mean_abs_q", "time_weighted_abs_q",
    "time_at_limit", "q_ar1_phi", "q_half_life_s", "q_mean_reversion_per_s", "fill_ratio",
    "n_maker_fills", "n_taker_fills",
    # experiments.trial.Hedging.metrics, strategies.risk, the signal
    "desk_pnl", "n_hedges", "n_tx_dropped", "n_arbs", "n_background_swaps", "max_abs_total_q",
    "frac_outside_band", "final_total_q", "n_risk_alerts", "risk_halted", "signal_hit_rate",
    "n_signal_events", "n_signal_predictions",
    # components.funding
    "n_funding",
})
"""Metric names a trial reports (besides the families in :data:`METRIC_PATTERNS`); a sweep's
``objective`` must be one of them (``tests/experiments/test_cli.py`` checks a real trial's
metrics against this list)."""

METRIC_PATTERNS = (
    re.compile(r"^markout_\d+(\.\d+)?s_(bps|quote|n_excluded)$"),
    re.compile(r"^cost_[a-z0-9_]+$"),
    re.compile(r"^hedge_[a-z0-9_]+$"),
    re.compile(r"^funding_[a-z0-9_]+$"),
)


def objective_problem(objective: str) -> str | None:
    """Why ``objective`` names no metric (``None`` when it does).

    Parameters
    ----------
    objective : str
        ``[sweep] objective``.

    Returns
    -------
    str or None
        A user-facing message with the closest known names.
    """
    if objective in METRIC_NAMES or any(p.match(objective) for p in METRIC_PATTERNS):
        return None
    import difflib

    hint = difflib.get_close_matches(objective, sorted(METRIC_NAMES), n=3)
    maybe = f" (did you mean {', '.join(repr(h) for h in hint)}?)" if hint else ""
    return (f"{objective!r} is not a metric a trial reports{maybe}; e.g. pnl, "
            "pnl_per_1k_notional, sharpe, max_drawdown, markout_1s_bps, cost_fees")


# -- trial sources and backends ---------------------------------------------------------------


class _GridSource:
    """Fallback trial source: the expanded ``spec.trials`` in grid order, minus ``already``.

    Used when :mod:`experiments.search` is not available; same interface as its sources.
    """

    def __init__(self, trials: tuple[TrialSpec, ...], already: Mapping[str, Any]):
        self.total = len(trials)
        self._todo = [t for t in trials if t.trial_id not in already]
        self._next = 0

    def next_trials(self, n: int) -> list[TrialSpec]:
        out = self._todo[self._next:self._next + max(0, n)]
        self._next += len(out)
        return out

    def report(self, trial: TrialSpec, metrics: Mapping[str, float] | None) -> None:
        """Nothing to learn in a grid."""

    def finished(self) -> bool:
        return self._next >= len(self._todo)


def make_source(spec: SweepSpec, *, results: Path, sweep_id: str,
                already: Mapping[str, Any]) -> Any:
    """The trial source of a sweep (:func:`experiments.search.make_source` when present)."""
    try:
        search = importlib.import_module("experiments.search")
    except ImportError:
        search = None
    if search is not None and hasattr(search, "make_source"):
        return search.make_source(spec, results_path=str(results), sweep_id=sweep_id,
                                  already=dict(already))
    return _GridSource(spec.trials, already)


def make_backend(name: str, *, feed: Any = None, strategy_cls: type | None = None,
                 batch_size: int | None = None) -> Any:
    """Instantiate the backend registered as ``name`` in :data:`experiments.backends.BACKENDS`.

    Parameters
    ----------
    name : str
        ``"local"`` or ``"ray"``.
    feed, strategy_cls : optional
        Handed to the backend: they tell which trials may share a batch (and the local backend
        uses them when it runs trials in this process).
    batch_size : int or None, default None
        ``[sweep] batch_size`` (``None``: chosen from the results of the first batches,
        :func:`experiments.backends.batching.auto_batch_size`).

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        Unknown name, or the backend cannot be imported (e.g. ``ray`` not installed).
    """
    from experiments.backends import BACKENDS

    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    module_name, _, cls_name = BACKENDS[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except ImportError as exc:
        raise ValueError(f"backend {name!r} is not available ({exc}); "
                         f"install the extra: pip install 'mmsim[{name}]'") from exc
    return cls(feed=feed, strategy_cls=strategy_cls, batch_size=batch_size)


def _make_gpu(spec: SweepSpec, slots: int | None) -> Any:
    """The sweep's GPU semaphore (``engine.gpu.GpuSlots``), or ``None`` without the module."""
    try:
        from engine.gpu import GpuSlots
    except ImportError:
        return None
    return GpuSlots(slots, mp_context=mp.get_context(MP_START_METHOD))


def _make_mlflow(spec: SweepSpec) -> Any:
    uri = spec.sweep.mlflow_uri
    if not uri:
        return None
    from experiments.mlflow_log import MlflowLogger

    experiment = spec.sweep.mlflow_experiment or spec.sweep.name
    return MlflowLogger(uri, experiment)


# -- parent side ------------------------------------------------------------------------------


class SweepStopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM asked the sweep to stop; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _raise_stop(signum: int, frame: Any) -> None:
    raise SweepStopped(signum)


@contextlib.contextmanager
def _stop_signals():
    """While the block runs, SIGINT and SIGTERM raise :class:`SweepStopped` (clean stop:
    the sweep is marked ``interrupted``, the CLI exits 130 or 143). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_stop) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _sigint_deferred(swallow: bool = False):
    """Hold Ctrl-C and SIGTERM until the block ends, then raise :class:`SweepStopped`.

    A SIGINT delivered while DuckDB executes a statement interrupts that statement (DuckDB
    raises "Query interrupted" instead of ``KeyboardInterrupt``), which would lose the trial
    being committed and bypass the clean-stop path. With ``swallow`` the signals are dropped
    (used while stopping the workers after a first Ctrl-C: a second one must not leave them
    running). Outside the main thread it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum))
                for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if received and not swallow:
        raise SweepStopped(received[0])


def run_sweep(
    spec: SweepSpec,
    *,
    results: str | Path,
    workers: int,
    reporter: Any,
    feed: Any = None,
    backend: str | None = None,
    timeout_s: float | None = None,
    resume_sweep_id: str | None = None,
    retry_failed: bool = True,
    data_problems: Any = None,
) -> SweepResult:
    """Run the trials of a sweep (all of them, or those missing from a resumed one).

    Parameters
    ----------
    spec : SweepSpec
        The validated sweep.
    results : str or Path
        DuckDB file to write (created with its directory; appended to if it exists).
    workers : int
        Worker processes, ``>= 1``; the local backend runs ``1`` in this process.
    reporter : Reporter
        Live view (:mod:`experiments.progress`).
    feed : Feed or None, default None
        Already-loaded feed; ``None`` loads it (:func:`load_data`) before the results file is
        touched.
    backend : str or None, default None
        ``"local"`` or ``"ray"``; ``None``: ``[sweep] backend`` (default ``"local"``).
    timeout_s : float or None, default None
        Per-trial time limit; ``None``: ``[sweep] timeout_s`` (default: none).
    resume_sweep_id : str or None, default None
        Continue this stored sweep: trials already in ``trials`` are not run again, new ones
        are written under the same ``sweep_id``.
    retry_failed : bool, default True
        On resume, run the trials stored ``failed`` once more (their old rows are replaced in
        the same transaction as the new outcome); ``False`` keeps them failed.
    data_problems : list of experiments.datacheck.Problem or None, default None
        The data checks already printed by the CLI; ``None`` computes them. Stored in the
        results file's ``warnings`` table under the sweep's id (replaced on resume).

    Returns
    -------
    SweepResult
        Counts, the sweep id and whether Ctrl-C stopped it.

    Raises
    ------
    venues.loaders.DataError
        If the data cannot be loaded (nothing is written then).
    ValueError
        Unknown backend, or ``resume_sweep_id`` not in the file.
    """
    t0 = time.perf_counter()
    backend_name = backend or spec.sweep.backend or "local"
    if timeout_s is None:
        timeout_s = spec.sweep.timeout_s
    if feed is None:
        feed = load_data(spec)
    runner = make_backend(backend_name, feed=feed, strategy_cls=spec.strategy_cls,
                          batch_size=getattr(spec.sweep, "batch_size", None))
    meta = getattr(feed, "meta", None)
    data_sha = list(getattr(meta, "source_sha256", ()) or ())
    method = str(spec.sweep.method)
    direction = str(getattr(spec.sweep, "direction", "maximize"))
    store = ResultStore(results)
    counts = {"done": 0, "failed": 0}
    interrupted = False
    stopped_by: int | None = None
    sweep_id = ""
    already: dict[str, Any] = {}
    retry: set[str] = set()
    gpu: Any = None
    mlflow: Any = None
    try:
        if resume_sweep_id is not None:
            info = store.sweep_info(resume_sweep_id)
            if info is None:
                raise ValueError(f"{results}: no sweep {resume_sweep_id!r}")
            sweep_id = resume_sweep_id
            already = store.finished_trials(sweep_id)
            if retry_failed:  # a failed trial (e.g. its worker died) runs once more per resume
                retry = {tid for tid, m in already.items() if m is None}
                already = {tid: m for tid, m in already.items() if m is not None}
            store.reopen_sweep(sweep_id, workers=workers, backend=backend_name)
            counts["failed"] = sum(1 for m in already.values() if m is None)
            counts["done"] = len(already) - counts["failed"]
        else:
            sweep_id = store.begin_sweep(
                name=spec.sweep.name,
                config_path=str(spec.path),
                config_toml=spec.toml_text,
                root_seed=spec.sweep.seed,
                replicates=spec.sweep.replicates,
                n_trials=_n_planned(spec),
                workers=workers,
                strategy_kind=spec.strategy_kind,
                strategy_class=spec.strategy_path,
                data_format=str(getattr(spec.data, "format", "")),
                data_paths=list(getattr(spec.data, "paths", ())),
                data_sha256=data_sha,
                symbol=getattr(meta, "symbol", None),
                code_version=code_version(),
                param_columns=spec.columns,
                method=method, backend=backend_name, objective=spec.sweep.objective,
                direction=direction, timeout_s=timeout_s,
                user_modules=[m.to_json() for m in spec.user_modules],
            )
        if data_problems is None:  # the data checks `mmsim validate` prints (experiments.datacheck)
            from experiments.datacheck import check_sweep

            data_problems = check_sweep(spec, feed=feed)[1]
        store.record_warnings(sweep_id, data_problems)
        rev, dirty = code_revision()
        repro = {
            "config_sha256": hashlib.sha256(spec.toml_text.encode()).hexdigest(),
            "code_revision": rev, "code_dirty": dirty, "data_sha256": data_sha,
            "package_versions": package_versions(),
        }
        source = make_source(spec, results=Path(results), sweep_id=sweep_id, already=already)
        mlflow = _make_mlflow(spec)
        gpu = _make_gpu(spec, spec.sweep.gpu_slots)
        ctx = WorkerContext(data=spec.data, cache_dir=cache_dir(), sys_path=tuple(sys.path),
                            strategy_path=spec.strategy_path, search_dir=str(spec.path.parent),
                            mmap=os.environ.get("MMSIM_FEED_MMAP", "1") != "0",
                            user_modules=tuple(spec.user_modules),
                            fills_dir=str(staging_dir(results, sweep_id)), sweep_id=sweep_id)
        start = reporter.start
        start_kw: dict[str, Any] = {"name": spec.sweep.name, "total": int(source.total),
                                    "workers": workers, "objective": spec.sweep.objective}
        try:
            start(**start_kw, direction=direction, already=len(already))
        except TypeError:  # a reporter with the older, shorter signature
            start(**start_kw)

        def record(finished: list[tuple[TrialSpec, TrialOutcome]]) -> None:
            """Store finished trials (one transaction for those that finished together)."""
            nonlocal mlflow
            with _sigint_deferred():  # a Ctrl-C mid-write would abort DuckDB's query instead
                store.record_trials(sweep_id, [dict(
                    trial_id=trial.trial_id, trial_index=trial.index,
                    params=trial.params, replicate=trial.replicate, seed=trial.seed,
                    status=outcome.status, wall_s=outcome.wall_s, error=outcome.error,
                    traceback=outcome.traceback, metrics=outcome.metrics,
                    equity=outcome.equity, fills=outcome.fills, alerts=outcome.alerts,
                    repro={**repro, "host": outcome.host or socket.gethostname()},
                    replace=trial.trial_id in retry, pnl_currency=outcome.pnl_currency,
                    equity_samples=getattr(outcome, "equity_samples", None),
                    fills_file=getattr(outcome, "fills_file", None),
                ) for trial, outcome in finished])  # fmt: skip
                for trial, outcome in finished:
                    counts["done" if outcome.status == "done" else "failed"] += 1
                    source.report(trial, dict(outcome.metrics) if outcome.status == "done" else None)
            for trial, outcome in finished:
                if mlflow is not None:
                    try:
                        mlflow.log_trial(trial, outcome, sweep_id)
                    except Exception as exc:  # noqa: BLE001 - MLflow is optional, results are safe
                        warnings.warn(f"MLflow logging disabled after an error: {exc}",
                                      stacklevel=2)
                        mlflow = None
                reporter.trial_done(trial, outcome)

        try:
            with _stop_signals():
                runner.start(ctx, workers, gpu)
                _drive(source, runner, record, reporter, workers, timeout_s)
        except KeyboardInterrupt as exc:
            interrupted = True
            stopped_by = exc.signum if isinstance(exc, SweepStopped) else signal.SIGINT
            with _sigint_deferred(swallow=True):  # a second Ctrl-C must not skip the stop
                runner.cancel_all()
        finally:
            with _sigint_deferred(swallow=interrupted):
                runner.shutdown()
                _forward_logs(runner, reporter)
        with _sigint_deferred(swallow=True):
            _finish_reporter(reporter, interrupted, results)
            store.finish_sweep(sweep_id, "interrupted" if interrupted else "done")
    finally:
        store.close()
        if mlflow is not None:
            mlflow.close()
        if gpu is not None and hasattr(gpu, "close"):
            gpu.close()
    n_total = int(source.total) if sweep_id else _n_planned(spec)
    return SweepResult(
        sweep_id=sweep_id, results=Path(results), n_done=counts["done"],
        n_failed=counts["failed"], n_total=n_total, interrupted=interrupted,
        wall_s=time.perf_counter() - t0, n_resumed=len(already), stopped_by=stopped_by,
        n_retried=len(retry),
    )


def _forward_logs(runner: Any, reporter: Any) -> None:
    """Print the workers' output lines through the reporter (its live view's console)."""
    logs = getattr(runner, "logs", None)
    if logs is None:
        return
    lines = logs()
    if not lines:
        return
    log = getattr(reporter, "log", None)
    for line in lines:
        if log is not None:
            log(line)
        else:
            print(line, file=sys.stderr, flush=True)


def _finish_reporter(reporter: Any, interrupted: bool, results: str | Path) -> None:
    hint = f"resume with: mmsim resume {results}" if interrupted else None
    try:
        reporter.finish(interrupted=interrupted, hint=hint)
    except TypeError:  # older reporter signature
        reporter.finish(interrupted=interrupted)


def _drive(source: Any, runner: Any, record: Any, reporter: Any, workers: int,
           timeout_s: float | None) -> None:
    """Feed the backend from the source, at most ``INFLIGHT_PER_WORKER × workers`` tasks in
    flight (a task is one trial, or a batch of ``runner.batch_size`` trials, which a backend may
    resize as results come in)."""
    inflight = 0
    tick = getattr(reporter, "tick", None)
    while True:
        limit = max(1, INFLIGHT_PER_WORKER * workers * max(1, getattr(runner, "batch_size", None) or 1))
        new: list[TrialSpec] = []
        if inflight < limit and not source.finished():
            new = source.next_trials(limit - inflight)
            for trial in new:
                runner.submit(trial, timeout_s)
            inflight += len(new)
        if inflight == 0:
            break  # nothing running and nothing more proposed
        finished = runner.poll(0.2)
        if finished:
            inflight -= len(finished)
            record(finished)
        _forward_logs(runner, reporter)
        if tick is not None:
            tick(runner.running())
