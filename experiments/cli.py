"""The ``mmsim`` command line: ``run``, ``sweep`` and ``validate`` a sweep file; ``resume`` an
interrupted sweep; ``query`` results; ``schema`` prints the JSON Schema of sweep files.

Exit codes: 0 success; 1 a run whose trials all failed; 2 bad input (invalid sweep file, bad
data, unusable results path; one paragraph on stderr, no traceback); 130 Ctrl-C.

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
import time
from pathlib import Path
from typing import Any

import duckdb

from experiments.config import ConfigError, SweepSpec, load_sweep

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


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
                   help="worker processes (default: [sweep] workers; 0 = all cores)")
    s.add_argument("--results", default=None, metavar="PATH",
                   help="DuckDB file to write (default: [sweep] results)")
    s.add_argument("--plain", action="store_true",
                   help="plain progress lines even on a terminal")
    s.add_argument("--backend", choices=_backend_names(), default=None,
                   help="where trials run (default: [sweep] backend, else local)")

    rs = sub.add_parser("resume", help="finish an interrupted sweep: run exactly its missing trials")
    rs.add_argument("config", metavar="RESULTS", help="DuckDB results file of the sweep")
    rs.add_argument("--sweep-id", default=None, metavar="ID",
                    help="sweep to resume (default: the latest one not done)")
    rs.add_argument("--workers", type=int, default=None, metavar="N",
                    help="worker processes (default: [sweep] workers; 0 = all cores)")
    rs.add_argument("--backend", choices=_backend_names(), default=None,
                    help="where trials run (default: [sweep] backend, else local)")
    rs.add_argument("--plain", action="store_true",
                    help="plain progress lines even on a terminal")

    sc = sub.add_parser("schema", help="print the JSON Schema of sweep files (for editors)")
    sc.add_argument("--out", default=None, metavar="FILE", help="write it to FILE instead")

    v = sub.add_parser("validate", help="check a sweep file and its data files; run nothing")
    v.add_argument("config", metavar="CONFIG", help="sweep TOML file")

    q = sub.add_parser("query", help="run SQL on a results file (read-only) and print a table")
    q.add_argument("config", metavar="RESULTS", help="DuckDB results file")
    q.add_argument("sql", metavar="SQL", help='e.g. "SELECT gamma, pnl FROM trials JOIN metrics USING (trial_id)"')

    rp = sub.add_parser("report", help="write a self-contained HTML report (and PNG charts) of a sweep")
    rp.add_argument("config", metavar="RESULTS", help="DuckDB results file")
    rp.add_argument("--out", required=True, metavar="DIR", help="directory for index.html and the PNGs")
    rp.add_argument("--sweep-id", default=None, metavar="ID",
                    help="sweep to report on (default: the latest one created)")
    return p


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
                  f"{config}; nothing was run or written:", markup=True)
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


def _cmd_validate(args: argparse.Namespace) -> int:
    spec = load_sweep(args.config)
    axes = " × ".join(a.describe() for a in spec.axes) or "no axes"
    print(f"{args.config}: OK: {spec.total} trials, method {spec.sweep.method} ({axes}, "
          f"{spec.sweep.replicates} replicate(s)); strategy {spec.strategy_path}; "
          f"{len(spec.data.paths)} data file(s)")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from experiments.executor import load_data
    from experiments.worker import run_trial_safely

    spec = load_sweep(args.config)
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
    feed = load_data(spec)
    load_s = time.perf_counter() - t0
    outcome = run_trial_safely(feed, trial, spec.strategy_cls)
    out = _console()
    title = f"trial {trial.index} ({trial.trial_id}) of {spec.sweep.name}, seed {trial.seed}"
    shown = {c: trial.params[c] for c in _axis_columns(spec) if c in trial.params}
    if shown:
        title += " — " + ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items())
    if outcome.status != "done":
        err = _console(stderr=True)
        err.print(f"[bold red]trial failed:[/bold red] {title}", markup=True)
        err.print(outcome.traceback or outcome.error or "", markup=False)
        return EXIT_FAILED
    print(title, flush=True)
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, val in outcome.metrics.items():
        table.add_row(k, _fmt(val))
    out.print(table)
    print(f"data load {load_s:.2f}s, trial {outcome.wall_s:.2f}s")
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from experiments.executor import load_data, resolve_workers

    spec = load_sweep(args.config)
    if args.workers is not None and args.workers < 0:
        raise ConfigError(args.config, [f"--workers {args.workers}: must be >= 0"])
    results = Path(args.results if args.results is not None else spec.sweep.results_path)
    if results.exists() and not results.is_file():
        raise ConfigError(args.config, [f"results: {results} exists and is not a file"])
    workers = resolve_workers(args.workers, spec)
    feed = load_data(spec)  # may raise DataError: still nothing written
    return _run_and_summarise(spec, args, results, workers, feed, None)


def _run_and_summarise(spec: SweepSpec, args: argparse.Namespace, results: Path, workers: int,
                       feed: Any, resume_sweep_id: str | None) -> int:
    from rich.table import Table

    from experiments.executor import run_sweep
    from experiments.progress import make_reporter
    from experiments.store import ResultStore

    reporter = make_reporter(_axis_columns(spec), plain=True if args.plain else None)
    try:
        res = run_sweep(spec, results=results, workers=workers, reporter=reporter, feed=feed,
                        backend=args.backend, resume_sweep_id=resume_sweep_id)
    except ValueError as exc:  # unknown or unavailable backend
        raise ConfigError(args.config, [f"backend: {exc}"]) from None

    out = _console()
    resumed = f", {res.n_resumed} from before" if res.n_resumed else ""
    print(f"results: {results} (sweep_id {res.sweep_id}; {res.n_done} done, "
          f"{res.n_failed} failed, {res.n_total - res.n_done - res.n_failed} not run"
          f"{resumed}; {res.wall_s:.1f}s)", flush=True)
    store = ResultStore(results, parts=False)
    try:
        names, rows = store.top_trials(res.sweep_id, spec.sweep.objective, _axis_columns(spec),
                                       direction=spec.sweep.direction)
    finally:
        store.close()
    if rows:
        table = Table(title=f"top {len(rows)} by {names[len(_axis_columns(spec)) + 1]}",
                      title_justify="left")
        for i, name in enumerate(names):
            table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            table.add_row(*(_fmt(x) for x in row))
        out.print(table)
    print(f'query: mmsim query {results} "SELECT * FROM trials JOIN metrics USING (sweep_id, '
          f"trial_id) WHERE sweep_id = '{res.sweep_id}'\"")
    if res.interrupted:
        return EXIT_INTERRUPTED
    if res.n_total and res.n_failed == res.n_total:
        return EXIT_FAILED
    return EXIT_OK


def spec_from_stored(info: dict[str, Any]) -> SweepSpec:
    """Rebuild the :class:`SweepSpec` of a stored sweep from its ``sweeps`` row.

    The stored TOML text is parsed with the stored config path as its location, so relative
    data paths and user strategy modules resolve as in the original run
    (:func:`experiments.config.load_sweep_text`).

    Parameters
    ----------
    info : dict
        A ``sweeps`` row (:meth:`experiments.store.ResultStore.sweep_info`).

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        If the stored text no longer validates (e.g. its data files moved).
    """
    from experiments.config import load_sweep_text

    return load_sweep_text(info["config_toml"], Path(info["config_path"]))


def _cmd_resume(args: argparse.Namespace) -> int:
    from experiments.executor import load_data, resolve_workers
    from experiments.store import ResultStore

    results = Path(args.config)
    if not results.is_file():
        raise ConfigError(results, ["results file not found"])
    store = ResultStore(results, parts=False)
    try:
        info = store.sweep_info(args.sweep_id)
    finally:
        store.close()
    if info is None:
        what = f"no sweep {args.sweep_id!r}" if args.sweep_id else "no unfinished sweep to resume"
        raise ConfigError(results, [what])
    if args.workers is not None and args.workers < 0:
        raise ConfigError(results, [f"--workers {args.workers}: must be >= 0"])
    spec = spec_from_stored(info)
    workers = resolve_workers(args.workers, spec)
    feed = load_data(spec)
    print(f"resuming sweep {info['sweep_id']} ({info['name']}, status {info['status']}) "
          f"of {info['config_path']}", flush=True)
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
    con, from_parts = open_for_query(path)
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
        table.add_column(name, no_wrap=True)
    for row in rows:
        table.add_row(*(_fmt(x) for x in row))
    _console().print(table)
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
        Exit code: 0 ok, 1 all trials failed, 2 bad input, 130 interrupted.
    """
    args = _parser().parse_args(argv)
    commands = {"run": _cmd_run, "sweep": _cmd_sweep, "validate": _cmd_validate,
                "query": _cmd_query, "resume": _cmd_resume, "schema": _cmd_schema,
                "report": _cmd_report}
    bad_input = (ConfigError, *_data_error_types())
    try:
        return commands[args.command](args)
    except bad_input as exc:
        return _bad_input(exc, getattr(args, "config", "-"))
    except (OSError, duckdb.IOException) as exc:  # results dir not writable, file locked
        return _bad_input(exc, getattr(args, "config", "-"))
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted", markup=False)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
