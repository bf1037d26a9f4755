"""Live view of a running sweep: a ``rich`` dashboard on a terminal, plain lines otherwise.

The executor talks to a :class:`Reporter` only; reporters never touch the results database
and never change what is computed.

See Also
--------
experiments.executor : calls the reporter as trials finish.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any, Protocol

import attrs
from rich.markup import escape

__all__ = ["PlainReporter", "Reporter", "RichReporter", "TrialOutcome", "make_reporter"]


@attrs.frozen(kw_only=True)
class TrialOutcome:
    """What one finished trial reports back to the parent process.

    Attributes
    ----------
    trial_id : str
        The trial's id.
    status : {"done", "failed"}
        Outcome.
    metrics : dict of str to float
        Metric name → value (empty when failed).
    wall_s : float
        Wall time of the trial, seconds.
    error : str or None
        ``"Type: message"`` of a failed trial.
    traceback : str or None
        Formatted traceback of a failed trial.
    equity : ndarray of components.metrics.EQUITY_DTYPE or None
        Equity curve of a finished trial (thinned by the worker to
        :data:`experiments.store.EQUITY_MAX_ROWS` rows, as stored).
    equity_samples : ndarray or None
        The equity at every tick of the trial's metric interval, taken by the worker from the
        full curve before it was thinned (the store's ``equity_samples`` rows); ``None``: the
        store takes them from ``equity``.
    fills : ndarray of components.metrics.FILL_DTYPE or None
        Fill log of a finished trial.
    alerts : ndarray of strategies.risk.ALERT_DTYPE or None
        Risk-monitor alerts of a finished trial, in time order.
    host : str or None
        Host name of the process that ran the trial.
    pnl_currency : str or None
        Currency of the PnL-type metrics (the venue profile's settlement currency: ``"USDT"``
        for a linear USD-M contract, the base coin for an inverse COIN-M one).
    """

    trial_id: str
    status: str
    metrics: dict[str, float] = attrs.field(factory=dict)
    wall_s: float = 0.0
    error: str | None = None
    traceback: str | None = None
    equity: Any = None
    fills: Any = None
    host: str | None = None
    pnl_currency: str | None = None
    alerts: Any = None
    equity_samples: Any = None
    fills_file: str | None = None


class Reporter(Protocol):
    """What the executor calls while a sweep runs.

    Warnings
    --------
    Called from the parent process only, in this order: ``start`` once, ``trial_done`` once
    per finished trial and ``tick`` between polls, ``finish`` once (also after Ctrl-C).
    """

    def start(self, *, name: str, total: int, workers: int, objective: str,
              direction: str = "maximize", already: int = 0) -> None:
        """A sweep of ``total`` trials begins on ``workers`` processes (``already`` of them
        stored by an earlier run: ``mmsim resume``); ``direction`` ranks the objective."""

    def trial_done(self, trial: Any, outcome: TrialOutcome) -> None:
        """``trial`` (a :class:`~experiments.config.TrialSpec`) finished with ``outcome``."""

    def tick(self, running: list[tuple[Any, float]]) -> None:
        """Trials running now, each with its start time (``time.monotonic()``); often."""

    def finish(self, *, interrupted: bool, hint: str | None = None) -> None:
        """The sweep ended (``interrupted``: by Ctrl-C; ``hint``: how to resume)."""


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        return f"{x:.6g}"
    return str(x)


def _fmt_duration(s: float) -> str:
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class _Tally:
    """Counters shared by both reporters."""

    def __init__(self) -> None:
        self.name = ""
        self.total = 0
        self.workers = 1
        self.objective = "pnl"
        self.direction = "maximize"
        self.done = 0
        self.failed = 0
        self.already = 0
        self.t0 = time.perf_counter()
        self.best: list[tuple[float, Any, TrialOutcome]] = []
        self.axis_columns: list[str] = []
        self.running: list[tuple[Any, float]] = []
        self.walls: list[float] = []

    def start(self, name: str, total: int, workers: int, objective: str,
              direction: str = "maximize", already: int = 0) -> None:
        self.name, self.total, self.workers, self.objective = name, total, workers, objective
        self.direction, self.already = direction, already
        self.t0 = time.perf_counter()

    def add(self, trial: Any, outcome: TrialOutcome) -> None:
        self.running = [r for r in self.running if r[0].trial_id != trial.trial_id]
        if outcome.wall_s > 0 and math.isfinite(outcome.wall_s):
            self.walls.append(float(outcome.wall_s))
        if outcome.status == "done":
            self.done += 1
            value = outcome.metrics.get(self.objective)
            if value is not None and math.isfinite(value):
                sign = 1.0 if self.direction == "minimize" else -1.0
                self.best.append((float(value), trial, outcome))
                # a trial without a fill (an idle quoter) ranks after every trial that traded
                self.best.sort(key=lambda b: (b[2].metrics.get("n_fills") == 0, sign * b[0], b[1].trial_id))
                del self.best[5:]
        else:
            self.failed += 1

    @property
    def finished(self) -> int:
        """Finished in this run (resumed trials not counted)."""
        return self.done + self.failed

    @property
    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return self.finished / dt if dt > 0 else 0.0

    def eta_s(self, now: float | None = None) -> float | None:
        """The one ETA of the live view, seconds, from the wall time of the trials finished.

        ``w`` = mean wall time of the trials finished in this run; the work left is ``w`` per
        trial not started yet plus, for each running trial, ``w`` less its elapsed time (at
        least 0); it is shared by ``min(workers, trials left)`` workers. ``None`` until a
        trial has finished; 0 when none is left.

        Parameters
        ----------
        now : float or None, default None
            ``time.monotonic()`` (the clock of the running trials' start times).
        """
        left = self.total - self.already - self.finished
        if left <= 0:
            return 0.0
        if not self.walls:
            return None
        now = time.monotonic() if now is None else now
        w = sum(self.walls) / len(self.walls)
        queued = max(left - len(self.running), 0)
        work = queued * w + sum(max(w - (now - started), 0.0) for _, started in self.running)
        return work / max(1, min(self.workers, left))


class PlainReporter:
    """One line per finished trial, for logs and pipes (no terminal control codes).

    Parameters
    ----------
    stream : file-like or None, default None
        Where to write; ``None`` means ``sys.stdout`` at call time.
    axis_columns : list of str or None, default None
        Swept parameter columns to show on each line.
    """

    def __init__(self, stream: IO[str] | None = None, axis_columns: list[str] | None = None):
        self._stream = stream
        self.tally = _Tally()
        self.tally.axis_columns = list(axis_columns or [])

    @property
    def stream(self) -> IO[str]:
        """The output stream."""
        return self._stream if self._stream is not None else sys.stdout

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def start(self, *, name: str, total: int, workers: int, objective: str,
              direction: str = "maximize", already: int = 0) -> None:
        """Print the header line."""
        self.tally.start(name, total, workers, objective, direction, already)
        resumed = f" ({already} already stored)" if already else ""
        self._print(f"sweep {name}: {total} trials on {workers} worker(s){resumed}")

    def log(self, line: str) -> None:
        """Print a worker's output line (on stderr, so stdout keeps one line per trial)."""
        print(line, file=sys.stderr, flush=True)

    def tick(self, running: list[tuple[Any, float]]) -> None:
        """Nothing: plain output has one line per finished trial only."""
        self.tally.running = list(running)

    def trial_done(self, trial: Any, outcome: TrialOutcome) -> None:
        """Print ``[k/N] trial_id status params metric... (wall s)``."""
        t = self.tally
        t.add(trial, outcome)
        width = len(str(t.total))
        params = " ".join(f"{c}={_fmt(trial.params.get(c))}" for c in t.axis_columns)
        if outcome.status == "done":
            m = outcome.metrics
            tail = " ".join(
                f"{k}={_fmt(m[k])}" for k in dict.fromkeys((t.objective, "pnl", "n_fills"))
                if k in m
            )
        else:
            tail = f"error={outcome.error}"
        self._print(
            f"[{t.already + t.finished:>{width}}/{t.total}] {trial.trial_id} "
            f"{outcome.status:<6} {params} {tail} ({outcome.wall_s:.2f}s)"
        )

    def finish(self, *, interrupted: bool, hint: str | None = None) -> None:
        """Print the totals (and the resume hint after Ctrl-C)."""
        t = self.tally
        what = "interrupted" if interrupted else "finished"
        self._print(
            f"sweep {t.name} {what}: {t.done} done, {t.failed} failed, "
            f"{t.total - t.already - t.finished} not run, {t.rate:.2f} trials/s"
        )
        if hint:
            self._print(hint)


class RichReporter:
    """Live terminal dashboard: overall bar, ETA, trials/s, one line per running trial (its
    parameters and elapsed time), failures, and the best-so-far table (per ``direction``).

    There is one ETA (:meth:`_Tally.eta_s`: from the finished trials' wall time, the trials
    still running and the worker count); the bar shows the elapsed time only.

    Parameters
    ----------
    console : rich.console.Console or None, default None
        Where to draw; ``None`` makes a stdout console.
    axis_columns : list of str or None, default None
        Swept parameter columns shown in the best-so-far table.
    """

    def __init__(self, console: Any = None, axis_columns: list[str] | None = None):
        from rich.console import Console

        self.console = console if console is not None else Console()
        self.tally = _Tally()
        self.tally.axis_columns = list(axis_columns or [])
        self._live: Any = None
        self._progress: Any = None
        self._task: Any = None
        self._last_tick = 0.0

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        t = self.tally
        eta = t.eta_s()
        status = Text.assemble(
            ("running ", "dim"), (f"{len(t.running)}", "bold"), ("  done ", "dim"),
            (f"{t.done}", "bold green"), ("  failed ", "dim"),
            (f"{t.failed}", "bold red" if t.failed else "bold"), ("  rate ", "dim"),
            (f"{t.rate:.2f} trials/s", "bold"), ("  ETA ", "dim"),
            ("-" if eta is None else _fmt_duration(eta), "bold"),
            *((("  resumed ", "dim"), (f"{t.already}", "bold")) if t.already else ()),
        )
        parts: list[Any] = [self._progress, status]
        if t.running:
            now = time.monotonic()
            run = Table(title="running", title_justify="left", expand=False, show_edge=False)
            run.add_column("trial_id")
            for c in t.axis_columns:
                run.add_column(c, justify="right")
            run.add_column("elapsed", justify="right")
            for trial, started in t.running:
                run.add_row(trial.trial_id,
                            *(escape(_fmt(trial.params.get(c))) for c in t.axis_columns),
                            f"{max(0.0, now - started):.1f}s")
            parts.append(run)
        if t.best:
            arrow = "↓" if t.direction == "minimize" else "↑"
            table = Table(title=f"best so far by {t.objective} {arrow}", title_justify="left",
                          expand=False, show_edge=False)
            table.add_column("trial_id")
            for c in t.axis_columns:
                table.add_column(c, justify="right")
            metric_names = list(dict.fromkeys((t.objective, "pnl", "n_fills", "max_drawdown")))
            for name in metric_names:
                table.add_column(name, justify="right")
            for _value, trial, outcome in t.best:
                table.add_row(
                    trial.trial_id,
                    *(escape(_fmt(trial.params.get(c))) for c in t.axis_columns),
                    *(_fmt(outcome.metrics.get(n, float("nan"))) for n in metric_names),
                )
            parts.append(table)
        return Group(*parts)

    def start(self, *, name: str, total: int, workers: int, objective: str,
              direction: str = "maximize", already: int = 0) -> None:
        """Open the live display."""
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.tally.start(name, total, workers, objective, direction, already)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task = self._progress.add_task(f"sweep {escape(name)}", total=total, completed=already)
        self._live = Live(self._render(), console=self.console, refresh_per_second=4,
                          transient=False)
        self._live.start()

    def trial_done(self, trial: Any, outcome: TrialOutcome) -> None:
        """Advance the bar and refresh the tables."""
        self.tally.add(trial, outcome)
        self._progress.update(self._task, completed=self.tally.already + self.tally.finished)
        if outcome.status != "done":
            self.console.print(
                f"[red]failed[/red] {trial.trial_id}: {escape(str(outcome.error))}", highlight=False
            )
        self._live.update(self._render())

    def log(self, line: str) -> None:
        """Print a worker's output line above the live display (never parsed as markup)."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def tick(self, running: list[tuple[Any, float]]) -> None:
        """Refresh the running-trials table (elapsed times) at most 4 times a second."""
        self.tally.running = list(running)
        now = time.monotonic()
        if self._live is not None and now - self._last_tick >= 0.25:
            self._last_tick = now
            self._live.update(self._render())

    def finish(self, *, interrupted: bool, hint: str | None = None) -> None:
        """Close the live display and print the totals (and the resume hint)."""
        self.tally.running = []
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()
        t = self.tally
        what = "[yellow]interrupted[/yellow]" if interrupted else "[green]finished[/green]"
        self.console.print(
            f"sweep {escape(t.name)} {what}: {t.done} done, {t.failed} failed, "
            f"{t.total - t.already - t.finished} not run, {t.rate:.2f} trials/s"
        )
        if hint:
            self.console.print(hint, markup=False, highlight=False)


def make_reporter(axis_columns: list[str] | None = None, *, plain: bool | None = None) -> Any:
    """The reporter for the current stdout.

    Parameters
    ----------
    axis_columns : list of str or None, default None
        Swept parameter columns to show.
    plain : bool or None, default None
        Force the plain reporter (True) or the rich one (False); ``None`` picks rich when
        ``sys.stdout.isatty()``.

    Returns
    -------
    Reporter
        :class:`RichReporter` on a terminal, :class:`PlainReporter` otherwise.
    """
    if plain is None:
        plain = not sys.stdout.isatty()
    return PlainReporter(axis_columns=axis_columns) if plain else RichReporter(
        axis_columns=axis_columns
    )
