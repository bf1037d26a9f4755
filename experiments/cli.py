"""The ``mmsim`` command line: ``run``, ``sweep`` and ``validate`` a sweep file; ``resume`` an
interrupted sweep; ``query`` results (read-only, confined to the results file); ``export`` them
as CSV or Parquet; ``schema`` prints the JSON Schema of sweep files.

Exit codes: 0 success; 1 a run whose trials all failed; 2 bad input (invalid sweep file, bad
data, unusable results path; one paragraph on stderr, no traceback, nothing written); 130
Ctrl-C; 143 SIGTERM (the sweep is marked ``interrupted`` either way). ``docs/bad-inputs.md``
lists the bad inputs tried and their messages.

This module only parses arguments and prints; the work is in :mod:`experiments.config`,
:mod:`experiments.executor` and :mod:`experiments.store`.

See Also
--------
experiments.config : the sweep file format.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from rich.markup import escape
from rich.text import Text

from experiments.config import ConfigError, SweepSpec, load_sweep

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmsim",
        description="Deterministic market-making simulator: run experiments defined in TOML.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run one trial of a sweep file in this process")
    r.add_argument("config", metavar="CONFIG", help="sweep TOML file")
    r.add_argument("--trial", type=int, default=0, metavar="N",
                   help="grid index of the trial to run (default 0: the first grid point)")

    s = sub.add_parser("sweep", help="run every trial of a sweep file into DuckDB")
    s.add_argument("config", metavar="CONFIG", help="sweep TOML file")
    s.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: [sweep] workers; 0 = chosen from the trial "
                        "count and a pilot timing of one trial, at most one per core)")
    s.add_argument("--results", default=None, metavar="PATH",
                   help="DuckDB file to write (default: [sweep] results)")
    s.add_argument("--plain", action="store_true",
                   help="plain progress lines even on a terminal")
    s.add_argument("--backend", choices=_backend_names(), default=None,
                   help="where trials run (default: [sweep] backend, else local)")
    _add_max_trials(s)

    rs = sub.add_parser("resume", help="finish an interrupted sweep: run exactly its missing trials")
    rs.add_argument("config", metavar="RESULTS", help="DuckDB results file of the sweep")
    rs.add_argument("--sweep-id", default=None, metavar="ID",
                    help="sweep to resume (default: the latest one not done)")
    rs.add_argument("--workers", type=int, default=None, metavar="N",
                    help="worker processes (default: [sweep] workers; 0 = chosen from the trial "
                         "count and a pilot timing of one trial, at most one per core)")
    rs.add_argument("--backend", choices=_backend_names(), default=None,
                    help="where trials run (default: [sweep] backend, else local)")
    rs.add_argument("--plain", action="store_true",
                    help="plain progress lines even on a terminal")
    rs.add_argument("--no-retry-failed", dest="retry_failed", action="store_false",
                    help="keep trials stored as failed (default: run each failed trial once "
                         "more per resume, e.g. those whose worker died)")
    _add_max_trials(rs)

    sc = sub.add_parser("schema", help="print the JSON Schema of sweep files (for editors)")
    sc.add_argument("--out", default=None, metavar="FILE", help="write it to FILE instead")

    v = sub.add_parser("validate", help="check a sweep file and its data files; run nothing")
    v.add_argument("config", metavar="CONFIG", help="sweep TOML file")
    _add_max_trials(v)

    q = sub.add_parser("query", help="run SQL on a results file (read-only, no other files) and "
                                     "print a table")
    q.add_argument("config", metavar="RESULTS", help="DuckDB results file")
    q.add_argument("sql", metavar="SQL", help='e.g. "SELECT gamma, pnl FROM trials JOIN metrics USING (trial_id)"')

    ex = sub.add_parser("export", help="write each results table as a Parquet or CSV file")
    ex.add_argument("config", metavar="RESULTS", help="DuckDB results file")
    ex.add_argument("--out", required=True, metavar="DIR", help="directory for <table>.<format>")
    ex.add_argument("--format", dest="fmt", choices=("parquet", "csv"), default="parquet",
                    help="file format (default parquet)")
    ex.add_argument("--sweep", dest="sweep_id", default=None, metavar="ID",
                    help="only this sweep's rows (default: every sweep)")
    ex.add_argument("--force", action="store_true", help="replace existing files")

    rp = sub.add_parser("report", help="write a self-contained HTML report (and PNG charts) of a sweep")
    rp.add_argument("config", metavar="RESULTS", help="DuckDB results file")
    rp.add_argument("--out", required=True, metavar="DIR", help="directory for index.html and the PNGs")
    rp.add_argument("--sweep-id", default=None, metavar="ID",
                    help="sweep to report on (default: the latest one created)")
    from experiments.datacli import add_parser as add_data_parser

    add_data_parser(sub)  # mmsim data inspect|convert
    return p


def _add_max_trials(p: argparse.ArgumentParser) -> None:
    from experiments.config import MAX_TRIALS

    p.add_argument("--max-trials", type=int, default=None, metavar="N",
                   help=f"refuse a sweep planning more than N trials (default {MAX_TRIALS:,})")


def _max_trials(args: argparse.Namespace) -> int | None:
    n = getattr(args, "max_trials", None)
    if n is not None and n < 1:
        raise ConfigError(getattr(args, "config", "-"), [f"--max-trials {n}: must be >= 1"])
    return n


def _backend_names() -> list[str]:
    from experiments.backends import BACKENDS

    return sorted(BACKENDS)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # off a terminal rich assumes 80 columns; logs are wider than that
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, width=width)


def _bad_input(exc: BaseException, config: str) -> int:
    err = _console(stderr=True)
    if isinstance(exc, ConfigError):
        n = len(exc.problems)
        err.print(f"[bold red]error:[/bold red] invalid sweep file ({n} problem"
                  f"{'s' if n != 1 else ''}); nothing was run or written:", markup=True)
        for line in str(exc).splitlines():
            err.print(f"  {line}", markup=False, soft_wrap=True)
    else:
        err.print(f"[bold red]error:[/bold red] {type(exc).__name__} while preparing "
                  f"{escape(str(config))}; nothing was run or written:", markup=True)
        err.print(f"  {exc}", markup=False, soft_wrap=True)
    return EXIT_BAD_INPUT


def _data_error_types() -> tuple[type[BaseException], ...]:
    try:
        from venues.loaders import DataError
    except ImportError:  # pragma: no cover - loaders are part of mmsim
        return ()
    return (DataError,)


def _axis_columns(spec: SweepSpec) -> list[str]:
    cols = list(dict.fromkeys(a.column for a in spec.axes))
    if spec.sweep.replicates > 1:
        cols.append("replicate")
    return cols


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "NULL" if math.isnan(x) else f"{x:.6g}"
    return "NULL" if x is None else str(x)


def _load(args: argparse.Namespace) -> SweepSpec:
    """Load the sweep file with the trial cap and check its objective."""
    from experiments.executor import objective_problem

    spec = load_sweep(args.config, max_trials=_max_trials(args))
    problem = objective_problem(spec.sweep.objective)
    if problem:
        raise ConfigError(args.config, [f"sweep.objective: {problem}"])
    return spec


def _load_feed(spec: SweepSpec) -> Any:
    """Load the data; any failure to read or parse it is bad input (exit 2), naming the files."""
    from experiments.executor import load_data

    bad_data = _data_error_types()
    try:
        feed = load_data(spec)
    except bad_data:
        raise
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - undecodable, truncated, random bytes...
        name = getattr(exc, "filename", None)
        files = [name] if name else list(getattr(spec.data, "paths", ()))
        raise DataLoadError(f"cannot read the data ({', '.join(map(str, files))}): "
                            f"{type(exc).__name__}: {exc}") from None
    events = getattr(feed, "events", None)
    if events is not None and len(events) == 0:
        raise DataLoadError(f"no market events in the data ({', '.join(map(str, spec.data.paths))})"
                            "; is a file empty or of another format?")
    return feed


class DataLoadError(ValueError):
    """The data files could not be read (message names them)."""


def _data_problems(spec: SweepSpec, feed: Any) -> list[Any]:
    """Print the data checks of :mod:`experiments.datacheck` once (stderr, ``FILE:ROW: level:
    message``); raise :class:`ConfigError` (exit 2) when one is an error."""
    from experiments.datacheck import check_sweep, format_problems

    problems = check_sweep(spec, feed=feed)[1]
    err = _console(stderr=True)
    for line in format_problems(problems):
        err.print(line, markup=False, soft_wrap=True)
    errors = [str(p) for p in problems if p.level == "error"]
    if errors:
        raise ConfigError(args_config(spec), errors)
    return problems


def args_config(spec: SweepSpec) -> str:
    """The sweep file's path as given in messages."""
    return str(spec.path)


def _cmd_validate(args: argparse.Namespace) -> int:
    from experiments.datacheck import format_problems, problem_from_error

    spec = _load(args)
    try:
        feed = _load_feed(spec)
    except (DataLoadError, *_data_error_types()) as exc:
        problems = [problem_from_error(exc)]
    else:
        from experiments.datacheck import check_sweep

        problems = check_sweep(spec, feed=feed)[1]
    lines = format_problems(problems)
    for line in lines:
        print(line)
    n_err = sum(1 for p in problems if p.level == "error")
    if n_err:
        print(f"{args.config}: {n_err} data error(s), {len(problems) - n_err} warning(s); fix the data "
              "or the settings before running", file=sys.stderr)
        return EXIT_BAD_INPUT
    axes = " × ".join(a.describe() for a in spec.axes) or "no axes"
    print(f"{args.config}: OK: {spec.total} trials, method {spec.sweep.method} ({axes}, "
          f"{spec.sweep.replicates} replicate(s)); strategy {spec.strategy_path}; "
          f"{len(spec.data.paths)} data file(s); {len(problems)} data warning(s)")
    return EXIT_OK


def _cmd_data(args: argparse.Namespace) -> int:
    from experiments import datacli

    return datacli.main(args)


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from experiments.worker import run_trial_safely

    spec = _load(args)
    n = len(spec.trials)
    if spec.sweep.method == "bayes":
        raise ConfigError(args.config, ["sweep.method: 'bayes' proposes its trials from earlier "
                                        "results, so there is no trial N to run alone; use "
                                        "`mmsim sweep` (or method = 'random' / 'grid' here)"])
    if not 0 <= args.trial < n:
        raise ConfigError(args.config, [f"--trial {args.trial}: out of range; the grid has "
                                        f"{n} trial(s), indices 0..{n - 1}"])
    trial = spec.trials[args.trial]
    t0 = time.perf_counter()
    feed = _load_feed(spec)
    load_s = time.perf_counter() - t0
    _data_problems(spec, feed)  # printed once; an error exits 2 before running
    outcome = run_trial_safely(feed, trial, spec.strategy_cls)
    out = _console()
    title = f"trial {trial.index} ({trial.trial_id}) of {spec.sweep.name}, seed {trial.seed}"
    shown = {c: trial.params[c] for c in _axis_columns(spec) if c in trial.params}
    if shown:
        title += " — " + ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items())
    if outcome.status != "done":
        err = _console(stderr=True)
        err.print(f"[bold red]trial failed:[/bold red] {escape(title)}", markup=True)
        err.print(outcome.traceback or outcome.error or "", markup=False)
        return EXIT_FAILED
    print(title, flush=True)
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, val in outcome.metrics.items():
        table.add_row(Text(k), Text(_fmt(val)))
    out.print(table)
    print(f"data load {load_s:.2f}s, trial {outcome.wall_s:.2f}s")
    return EXIT_OK


def _check_results_path(config: str, results: Path) -> None:
    """Exit-2 problems of a results path, found before anything is loaded or written."""
    import os

    from experiments.store import ResultsFileError, check_results_file

    if results.exists() and not results.is_file():
        raise ConfigError(config, [f"results: {results} exists and is not a file"])
    parent = results.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(config, [f"results: cannot create {results}: {parent} is a file, "
                                   "not a directory"])
    if not os.access(parent, os.W_OK | os.X_OK) or (results.exists()
                                                     and not os.access(results, os.W_OK)):
        raise ConfigError(config, [f"results: {results} is not writable (permission denied "
                                   f"in {parent})"])
    if results.is_file():
        try:
            check_results_file(results)
        except ResultsFileError as exc:
            raise ConfigError(config, [f"results: {exc}"]) from None
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            if "lock" in msg.lower():
                msg = "another process has it open (a running sweep?)"
            raise ConfigError(config, [f"results: cannot open {results} as a DuckDB results "
                                       f"file: {msg}"]) from None


def _cmd_sweep(args: argparse.Namespace) -> int:
    from experiments.executor import resolve_workers

    spec = _load(args)
    if args.workers is not None and args.workers < 0:
        raise ConfigError(args.config, [f"--workers {args.workers}: must be >= 0"])
    results = Path(args.results if args.results is not None else spec.sweep.results_path)
    _check_results_path(args.config, results)
    feed = _load_feed(spec)  # may raise: still nothing written
    _data_problems(spec, feed)  # printed once (the sweep stores them in `warnings`)
    workers = resolve_workers(args.workers, spec, feed=feed, backend=args.backend,
                              report=lambda line: print(line, flush=True))
    return _run_and_summarise(spec, args, results, workers, feed, None)


def _run_and_summarise(spec: SweepSpec, args: argparse.Namespace, results: Path, workers: int,
                       feed: Any, resume_sweep_id: str | None) -> int:
    import signal

    from rich.table import Table

    from experiments.executor import run_sweep
    from experiments.progress import make_reporter
    from experiments.store import ResultsFileError, open_for_query, top_trials

    reporter = make_reporter(_axis_columns(spec), plain=True if args.plain else None)
    try:
        res = run_sweep(spec, results=results, workers=workers, reporter=reporter, feed=feed,
                        backend=args.backend, resume_sweep_id=resume_sweep_id,
                        retry_failed=getattr(args, "retry_failed", True))
    except ResultsFileError as exc:
        raise ConfigError(args.config, [f"results: {exc}"]) from None
    except ValueError as exc:  # unknown or unavailable backend
        raise ConfigError(args.config, [f"backend: {exc}"]) from None

    out = _console()
    resumed = f", {res.n_resumed} from before" if res.n_resumed else ""
    retried = f", {res.n_retried} failed trial(s) retried" if res.n_retried else ""
    print(f"results: {results} (sweep_id {res.sweep_id}; {res.n_done} done, "
          f"{res.n_failed} failed, {res.n_total - res.n_done - res.n_failed} not run"
          f"{resumed}{retried}; {res.wall_s:.1f}s)", flush=True)
    # The summary reads like any reader; a concurrent reader (mmsim query) must not change
    # this command's exit code, so a failure to read here only skips the table.
    names: list[str] = []
    rows: list[tuple] = []
    try:
        con, _ = open_for_query(results)
        try:
            names, rows = top_trials(con, res.sweep_id, spec.sweep.objective,
                                     _axis_columns(spec), direction=spec.sweep.direction)
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        _console(stderr=True).print(f"note: top trials not shown ({str(exc).splitlines()[0]})",
                                    markup=False)
    if rows:
        table = Table(title=f"top {len(rows)} by {names[len(_axis_columns(spec)) + 1]}",
                      title_justify="left")
        for i, name in enumerate(names):
            table.add_column(Text(name), justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            table.add_row(*(Text(_fmt(x)) for x in row))
        out.print(table)
    print(f'query: mmsim query {results} "SELECT * FROM trials JOIN metrics USING (sweep_id, '
          f"trial_id) WHERE sweep_id = '{res.sweep_id}'\"")
    if res.interrupted:
        return EXIT_TERMINATED if res.stopped_by == signal.SIGTERM else EXIT_INTERRUPTED
    if res.n_total and res.n_failed == res.n_total:
        return EXIT_FAILED
    return EXIT_OK


def recorded_modules(info: dict[str, Any]) -> dict[str, str]:
    """User module name → SHA-256 recorded in a ``sweeps`` row (``user_modules`` column)."""
    import json

    raw = info.get("user_modules")
    if not raw:
        return {}
    items = json.loads(raw) if isinstance(raw, str) else raw
    return {str(m["name"]): str(m["sha256"]) for m in items}


def spec_from_stored(info: dict[str, Any], *, max_trials: int | None = None) -> SweepSpec:
    """Rebuild the :class:`SweepSpec` of a stored sweep from its ``sweeps`` row.

    The stored TOML text is parsed with the stored config path as its location, so relative
    data paths resolve as in the original run (:func:`experiments.config.load_sweep_text`).
    A user module (``kind = "module:Class"``) is imported only if it was recorded in the row
    and its file still has the recorded SHA-256 (:mod:`experiments.plugins`).

    Parameters
    ----------
    info : dict
        A ``sweeps`` row (:meth:`experiments.store.ResultStore.sweep_info`).
    max_trials : int or None, default None
        Trial cap (:data:`experiments.config.MAX_TRIALS` when ``None``).

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        If the stored text no longer validates (e.g. its data files moved), or a user module
        changed or was not recorded (nothing of it is executed).
    """
    from experiments.config import load_sweep_text

    return load_sweep_text(info["config_toml"], Path(info["config_path"]),
                           trusted_modules=recorded_modules(info), max_trials=max_trials)


def _check_data_unchanged(results: Path, info: dict[str, Any], spec: SweepSpec) -> None:
    """Exit 2 when a data file's bytes differ from the ``data_sha256`` stored by the sweep."""
    import json

    from venues.loaders._common import file_sha256

    stored = info.get("data_sha256")
    want = json.loads(stored) if isinstance(stored, str) else list(stored or [])
    paths = [str(p) for p in getattr(spec.data, "paths", ())]
    if not want:
        return
    if len(want) != len(paths):
        raise ConfigError(results, [f"data: the sweep read {len(want)} file(s), the stored sweep "
                                    f"file now names {len(paths)}; refusing to mix results"])
    for path, sha in zip(paths, want, strict=True):
        try:
            now = file_sha256(path)
        except OSError as exc:
            raise ConfigError(results, [f"data: cannot read {path} ({exc.strerror or exc})"]) from None
        if now != sha:
            raise ConfigError(results, [
                f"data: {path} changed since the sweep ran (sha256 {now[:12]}…, stored "
                f"{sha[:12]}…); resuming would mix results computed on different data"])


def _cmd_resume(args: argparse.Namespace) -> int:
    from experiments.executor import resolve_workers
    from experiments.store import ResultsFileError, ResultStore

    results = Path(args.config)
    if not results.is_file():
        raise ConfigError(results, ["results file not found"])
    _check_results_path(str(results), results)
    try:
        store = ResultStore(results, parts=False)
    except ResultsFileError as exc:
        raise ConfigError(results, [str(exc)]) from None
    try:
        info = store.sweep_info(args.sweep_id)
    finally:
        store.close()
    if info is None:
        what = f"no sweep {args.sweep_id!r}" if args.sweep_id else "no unfinished sweep to resume"
        raise ConfigError(results, [what])
    if args.workers is not None and args.workers < 0:
        raise ConfigError(results, [f"--workers {args.workers}: must be >= 0"])
    spec = spec_from_stored(info, max_trials=_max_trials(args))
    _check_data_unchanged(results, info, spec)
    feed = _load_feed(spec)
    workers = resolve_workers(args.workers, spec, feed=feed, backend=args.backend,
                              report=lambda line: print(line, flush=True))
    print(f"resuming sweep {info['sweep_id']} ({info['name']}, status {info['status']}) "
          f"of {info['config_path']}", flush=True)
    for m in spec.user_modules:
        print(f"loading user module {m.name} from {m.file} (sha256 {m.sha256[:12]}…, as "
              "recorded)", flush=True)
    return _run_and_summarise(spec, args, results, workers, feed, info["sweep_id"])


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    try:
        from experiments.jsonschema import config_json_schema
    except ImportError as exc:
        _console(stderr=True).print(f"error: the JSON Schema is not available ({exc})",
                                    markup=False)
        return EXIT_BAD_INPUT
    text = json.dumps(config_json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_query(args: argparse.Namespace) -> int:
    from rich.table import Table

    from experiments.store import open_for_query, parts_dir

    path = Path(args.config)
    err = _console(stderr=True)
    if not path.is_file():
        err.print(f"error: {path}: results file not found", markup=False)
        return EXIT_BAD_INPUT
    try:
        con, from_parts = open_for_query(path)
    except duckdb.Error as exc:
        err.print(f"error: {path}: cannot open as a results file: {str(exc).splitlines()[0]}",
                  markup=False)
        return EXIT_BAD_INPUT
    if from_parts:
        err.print(f"note: {path} is being written by a running sweep; reading the trials it "
                  f"committed so far from {parts_dir(path)}", markup=False)
    try:
        try:
            rel = con.sql(args.sql)
        except duckdb.Error as exc:
            err.print(f"error: {path}: {exc}", markup=False)
            return EXIT_BAD_INPUT
        if rel is None:  # a statement without a result
            return EXIT_OK
        names, rows = rel.columns, rel.fetchall()
    finally:
        con.close()
    table = Table(title=f"{len(rows)} row(s)", title_justify="left")
    for name in names:
        table.add_column(Text(name), no_wrap=True)
    for row in rows:
        table.add_row(*(Text(_fmt(x)) for x in row))  # data is never rich markup
    _console().print(table)
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from experiments.export import ExportError, export_results

    path = Path(args.config)
    err = _console(stderr=True)
    if not path.is_file():
        err.print(f"error: {path}: results file not found", markup=False)
        return EXIT_BAD_INPUT
    try:
        written = export_results(path, args.out, fmt=args.fmt, sweep_id=args.sweep_id,
                                 force=args.force)
    except ExportError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_BAD_INPUT
    except duckdb.Error as exc:
        err.print(f"error: {path}: cannot open as a results file: {str(exc).splitlines()[0]}",
                  markup=False)
        return EXIT_BAD_INPUT
    for f in written:
        print(f"wrote {f}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from experiments.report import ReportError, build_report

    path = Path(args.config)
    err = _console(stderr=True)
    if not path.is_file():
        err.print(f"error: {path}: results file not found", markup=False)
        return EXIT_BAD_INPUT
    try:
        index = build_report(path, args.out, sweep_id=args.sweep_id)
    except ReportError as exc:
        err.print(f"error: {path}: {exc}", markup=False)
        return EXIT_BAD_INPUT
    print(f"wrote {index} (open it in a browser; PNG charts beside it)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mmsim`` console script.

    Parameters
    ----------
    argv : list of str or None, default None
        Arguments without the program name; ``None`` uses ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code: 0 ok, 1 all trials failed, 2 bad input, 130 interrupted (Ctrl-C), 143
        terminated (SIGTERM).
    """
    import signal

    from experiments.executor import SweepStopped

    args = _parser().parse_args(argv)
    commands = {"run": _cmd_run, "sweep": _cmd_sweep, "validate": _cmd_validate,
                "query": _cmd_query, "resume": _cmd_resume, "schema": _cmd_schema,
                "report": _cmd_report, "export": _cmd_export, "data": _cmd_data}
    bad_input = (ConfigError, DataLoadError, *_data_error_types())
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM outside a running sweep (loading, summarising) stops like Ctrl-C
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return commands[args.command](args)
    except bad_input as exc:
        return _bad_input(exc, getattr(args, "config", "-"))
    except (OSError, duckdb.IOException) as exc:  # results dir not writable, file locked
        return _bad_input(exc, getattr(args, "config", "-"))
    except KeyboardInterrupt as exc:
        _console(stderr=True).print("interrupted", markup=False)
        if isinstance(exc, SweepStopped) and exc.signum == signal.SIGTERM:
            return EXIT_TERMINATED
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: Any) -> None:
    from experiments.executor import SweepStopped

    raise SweepStopped(signum)


if __name__ == "__main__":
    sys.exit(main())
