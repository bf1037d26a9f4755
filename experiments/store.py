"""The results database: one DuckDB file, written only by the sweep's parent process.

Tables (one row per sweep / trial; see README.md for example queries):

``sweeps``
    ``sweep_id`` (primary key), ``name``, ``config_path``, ``config_toml`` (the file verbatim),
    ``config_sha256``, ``root_seed``, ``replicates``, ``n_trials``, ``workers``,
    ``strategy_kind``, ``strategy_class``, ``data_format``, ``data_paths`` (JSON),
    ``data_sha256`` (JSON list, one per source file), ``symbol``, ``code_version``,
    ``created_at``, ``finished_at``, ``status`` (``running`` / ``done`` / ``interrupted``).
``trials``
    ``sweep_id``, ``trial_id`` (primary key together), ``trial_index``, ``strategy_kind``,
    one typed column per parameter of ``[venue]`` and ``[strategy]`` named by its leaf key
    (``gamma``, ``queue_model``; ``venue_x`` / ``strategy_x`` where both sections have an
    ``x``), ``params`` (JSON of all of them), ``replicate``, ``seed``, ``status`` (``done`` /
    ``failed``), ``wall_s``, ``error`` (``Type: message``), ``traceback``, ``finished_at``.
``metrics``
    ``sweep_id``, ``trial_id``, one column per metric (``pnl``, ``pnl_per_1k_notional``,
    ``fees``, ``n_fills``, …): ``DOUBLE``, except counts (``BIGINT``: ``n_fills``,
    ``n_orders``, …) and flags (``BOOLEAN``: ``zero_fills``, ``annualised``), see
    :data:`METRIC_TYPES`. One row per trial with status ``done``; non-finite values (NaN,
    ±inf) are stored as NULL.
``equity_samples``
    ``sweep_id``, ``trial_id``, ``ts_ns``, ``equity``: the trial's (desk) equity at every
    tick of the sweep's ``[sweep] metric_interval`` (whole multiples of it, shared by all
    trials), **not** thinned: the series behind ``sharpe``/``sortino``/``var_*`` and the
    report's DSR/PBO. Its size is the run's span / the interval per trial.
``latest_trials`` (view)
    Every trial of the most recently started sweep joined with its metrics
    (:data:`LATEST_TRIALS_VIEW`): query it instead of ``trials JOIN metrics`` to avoid
    counting the trials of earlier runs into the same file.

``equity``
    ``sweep_id``, ``trial_id``, ``ts_ns``, ``equity``, ``q``, ``mid``: the trial's equity curve
    (:data:`components.metrics.EQUITY_DTYPE`), downsampled to at most
    :data:`EQUITY_MAX_ROWS` evenly spaced rows (first and last kept) so that a 1,000-trial
    sweep stays small; ``max_drawdown`` in ``metrics`` is computed on the full curve.
``fills``
    ``sweep_id``, ``trial_id`` and the :data:`components.metrics.FILL_DTYPE` fields (every
    fill, not downsampled).
``alerts``
    ``sweep_id``, ``trial_id``, ``ts_ns``, ``monitor``, ``metric``, ``value``, ``limit``,
    ``action``: risk-monitor alerts (:data:`strategies.risk.ALERT_DTYPE`), one row per
    breach of a trial with status ``done``.

Reproducibility metadata is stored on every ``trials`` row: ``config_sha256``,
``code_revision`` (git commit), ``code_dirty``, ``data_sha256`` (JSON list),
``package_versions`` (JSON), ``host`` and ``seed``.

Each finished trial is committed in its own transaction (its ``trials``, ``metrics``,
``equity``, ``fills`` and ``alerts`` rows together, the arrays inserted through Arrow), so a crash loses
only the trials that were running.

**Reading while a sweep runs.** DuckDB lets one process open a file for writing and its lock
keeps every other process out, readers included. So the writer also drops each committed
trial's rows as Parquet files under ``<results>.parts/<sweep_id>/<table>/<trial_id>.parquet``
(and ``sweeps/<sweep_id>.parquet``); :func:`open_for_query` opens the DuckDB file read-only
when it can and otherwise an in-memory DuckDB with views ``sweeps``, ``trials``, ``metrics``,
``equity``, ``fills``, ``alerts`` over those files. A sweep that ends ``done`` deletes its parts (the
DuckDB file holds everything); an interrupted one keeps them until it is resumed and done.

This module holds no simulation logic and never reads a sweep file.

See Also
--------
experiments.executor : the only caller that writes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

__all__ = [
    "EQUITY_MAX_ROWS",
    "PART_TABLES",
    "QUERY_CONFIG",
    "ResultsFileError",
    "STANDARD_METRICS",
    "ResultStore",
    "downsample",
    "check_results_file",
    "open_for_query",
    "parts_dir",
    "quote_ident",
    "stage_fills",
    "staging_dir",
    "top_trials",
]

EQUITY_MAX_ROWS = 2000
"""Most ``equity`` rows stored per trial (evenly spaced, first and last kept); 0 keeps all."""
WRITER_MEMORY_LIMIT = "256MB"
"""DuckDB ``memory_limit`` of the results writer (it spills to disk beyond it). Appending a batch
needs little: a 1 GB limit held ~1.1 GB of cached blocks in a sweep's parent and wrote a busy-day
batch (4 M fill rows) only ~10 % faster."""

PART_TABLES = ("trials", "metrics", "equity", "fills", "alerts", "equity_samples")
"""Tables mirrored as per-trial Parquet parts while a sweep runs."""
ARROW_TABLES = ("equity", "fills", "equity_samples", "alerts")
"""Tables written from Arrow (many rows per trial): one insert, one part file per batch."""

EQUITY_COLUMNS = {"ts_ns": "BIGINT", "equity": "DOUBLE", "q": "DOUBLE", "mid": "DOUBLE"}
SAMPLE_COLUMNS = {"ts_ns": "BIGINT", "equity": "DOUBLE"}
"""Columns of ``equity_samples`` after ``sweep_id``, ``trial_id``: the desk's equity at every
tick of the sweep's metric interval (:func:`components.performance.pnl_series`), not thinned."""
METRIC_TYPES = {
    **dict.fromkeys(("n_fills", "n_maker_fills", "n_taker_fills", "n_events", "n_orders", "n_rejects",
                     "n_metric_samples", "n_hedges", "n_tx_dropped", "n_arbs", "n_background_swaps"),
                    "BIGINT"),
    **dict.fromkeys(("zero_fills", "annualised"), "BOOLEAN"),
}
"""Metric columns that are not ``DOUBLE``: counts (``BIGINT``) and flags (``BOOLEAN``)."""
LATEST_TRIALS_VIEW = (
    "CREATE OR REPLACE VIEW latest_trials AS SELECT * FROM trials LEFT JOIN metrics "
    "USING (sweep_id, trial_id) WHERE sweep_id = (SELECT sweep_id FROM sweeps "
    "ORDER BY created_at DESC, sweep_id DESC LIMIT 1)")
"""View ``latest_trials``: every trial of the most recently started sweep in the file with its
metrics (NULL for a failed trial), so queries need no ``sweep_id`` filter."""
FILL_COLUMNS = {
    "ts_ns": "BIGINT", "client_order_id": "BIGINT", "side": "TINYINT", "is_maker": "BOOLEAN",
    "px": "DOUBLE", "qty": "DOUBLE", "fee": "DOUBLE", "q_after": "DOUBLE", "mid": "DOUBLE",
}
ALERT_COLUMNS = {
    "sweep_id": "VARCHAR", "trial_id": "VARCHAR", "ts_ns": "BIGINT", "monitor": "VARCHAR",
    "metric": "VARCHAR", "value": "DOUBLE", "limit": "DOUBLE", "action": "VARCHAR",
}
ALERT_ROW_COLUMNS = {c: t for c, t in ALERT_COLUMNS.items() if c not in ("sweep_id", "trial_id")}
"""The per-alert columns of ``alerts`` (after ``sweep_id``, ``trial_id``)."""
REPRO_COLUMNS = {
    "config_sha256": "VARCHAR", "code_revision": "VARCHAR", "code_dirty": "BOOLEAN",
    "data_sha256": "JSON", "package_versions": "JSON", "host": "VARCHAR",
}
SWEEP_EXTRA_COLUMNS = {
    "method": "VARCHAR", "backend": "VARCHAR", "objective": "VARCHAR", "direction": "VARCHAR",
    "timeout_s": "DOUBLE", "user_modules": "JSON",
}


MARKER_TABLE = "mmsim_results"
"""Table (``key``, ``value``) marking a DuckDB file as an mmsim results file."""
MARKER_FORMAT = "mmsim-results-1"
MMSIM_SWEEP_COLUMNS = frozenset({"sweep_id", "config_toml", "config_path", "root_seed", "status",
                                 "code_version"})
"""Columns by which a ``sweeps`` table written before :data:`MARKER_TABLE` is recognised."""


class ResultsFileError(ValueError):
    """The results path is not usable as an mmsim results file (message names it)."""


def parts_dir(results: str | Path) -> Path:
    """Directory of the Parquet parts of a results file: ``<results>.parts``."""
    results = Path(results)
    return results.with_name(results.name + ".parts")


def downsample(arr: Any, max_rows: int) -> Any:
    """At most ``max_rows`` evenly spaced rows of ``arr`` (first and last kept).

    Parameters
    ----------
    arr : ndarray
        Rows in time order.
    max_rows : int
        Limit; ``<= 0`` keeps everything.

    Returns
    -------
    ndarray
        ``arr`` itself when short enough, else a subset in the same order.
    """
    n = len(arr)
    if max_rows <= 0 or n <= max_rows:
        return arr
    idx = np.unique(np.linspace(0, n - 1, max_rows).round().astype(np.int64))
    return arr[idx]


def _arrow_rows(sweep_id: str, trial_id: str, arr: Any, columns: Mapping[str, str]) -> Any:
    """A pyarrow table ``sweep_id, trial_id, <columns>`` from a structured array."""
    import pyarrow as pa

    n = 0 if arr is None else len(arr)
    arrays = [pa.repeat(pa.scalar(sweep_id, pa.string()), n), pa.repeat(pa.scalar(trial_id, pa.string()), n)]
    for c in columns:
        arrays.append(pa.array(np.asarray(arr[c]) if n else np.empty(0, _NP[columns[c]])))
    return pa.Table.from_arrays(arrays, names=["sweep_id", "trial_id", *columns])


STAGED_SUFFIX = ".staged.parquet"
"""Name ending of a fill log a worker wrote for the parent (:func:`stage_fills`): hidden (a
leading dot) from live readers until the parent has committed the trial and renamed it."""


def staging_dir(results: str | Path, sweep_id: str) -> Path:
    """Where a sweep's workers write their trials' fill logs: the ``fills`` parts folder."""
    return parts_dir(results) / sweep_id / "fills"


def stage_fills(directory: str | Path, sweep_id: str, trial_id: str, fills: Any) -> str:
    """Write one trial's fill log as a Parquet file of ``fills`` rows, for the parent to insert.

    A worker calls this instead of sending the fills back through its pipe: the parent inserts
    the file with one ``read_parquet`` and renames it into the live readers' parts
    (:meth:`ResultStore.record_trials`), so the rows are never pickled, piped, unpickled,
    converted to Arrow and written to Parquet again in the parent.

    Parameters
    ----------
    directory : str or Path
        :func:`staging_dir` of the sweep (created if missing).
    sweep_id, trial_id : str
        The ``sweep_id`` and ``trial_id`` columns of every row.
    fills : ndarray of components.metrics.FILL_DTYPE
        The fill log.

    Returns
    -------
    str
        Path of the written file (``.<trial_id>.staged.parquet``).
    """
    import pyarrow.parquet as pq

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f".{trial_id}{STAGED_SUFFIX}"
    pq.write_table(_arrow_rows(sweep_id, trial_id, fills, FILL_COLUMNS), path)
    return str(path)


_NP = {"BIGINT": np.int64, "DOUBLE": np.float64, "TINYINT": np.int8, "BOOLEAN": np.bool_,
       "VARCHAR": np.str_}

STANDARD_METRICS = (
    "pnl",
    "pnl_per_1k_notional",
    "fees",
    "n_fills",
    "maker_volume",
    "taker_volume",
    "max_drawdown",
    "max_abs_q",
    "final_q",
    "n_events",
)
"""Metric columns created up front; other metrics a trial reports are added as they appear."""


def quote_ident(name: str) -> str:
    """Quote a SQL identifier for DuckDB.

    Parameters
    ----------
    name : str
        Column or table name.

    Returns
    -------
    str
        ``"name"`` with embedded double quotes doubled.
    """
    return '"' + name.replace('"', '""') + '"'


def _sql_str(x: Any) -> str:
    return str(x).replace("'", "''")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def _clean_metric(value: Any, sql_type: str = "DOUBLE") -> float | int | bool | None:
    if value is None:
        return None
    x = float(value)
    if not math.isfinite(x):
        return None
    if sql_type == "BIGINT":
        return int(round(x))
    if sql_type == "BOOLEAN":
        return x != 0.0
    return x


def metric_samples(equity: Any, metrics: Mapping[str, Any] | None) -> Any:
    """The equity at every tick of the trial's metric interval (``metrics["metric_interval_s"]``),
    or ``None`` without an equity curve or an interval."""
    interval = (metrics or {}).get("metric_interval_s")
    if equity is None or not len(equity) or interval is None or not float(interval) > 0:
        return None
    from components.performance import pnl_series

    return pnl_series(equity, int(round(float(interval) * 1e9)))


class ResultStore:
    """Writer of one results file.

    Parameters
    ----------
    path : str or Path
        DuckDB file; its parent directory is created.
    parts : bool, default True
        Also write each committed trial as Parquet parts under :func:`parts_dir` (for readers
        while the sweep runs).
    equity_max_rows : int, default EQUITY_MAX_ROWS
        Downsampling limit of stored equity curves (0 keeps every row).

    Raises
    ------
    OSError
        If the directory cannot be created.
    duckdb.Error
        If the file cannot be opened (another process holds it, not a DuckDB file).

    Warnings
    --------
    Single writer: only the sweep's parent process opens it; workers return results to it.
    """

    def __init__(self, path: str | Path, *, parts: bool = True,
                 equity_max_rows: int = EQUITY_MAX_ROWS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a sweep's writer stays within a bounded memory (DuckDB's default is 80 % of RAM)
        self.con = duckdb.connect(str(self.path), config={"memory_limit": WRITER_MEMORY_LIMIT})
        self._columns: dict[str, set[str]] = {}
        self.parts = parts
        self.equity_max_rows = equity_max_rows
        try:
            self._check_layout()
        except BaseException:
            self.con.close()
            raise
        if parts:
            self._drop_stale_parts()

    def _drop_stale_parts(self) -> None:
        """Delete the Parquet parts of sweeps that are ``done`` (left by a crash between the
        final commit and their deletion); readers then read the DuckDB file itself."""
        base = parts_dir(self.path)
        if not base.is_dir() or not self._existing_columns("sweeps"):
            return
        done = {r[0] for r in self.con.execute(
            "SELECT sweep_id FROM sweeps WHERE status = 'done'").fetchall()}
        for d in base.iterdir():
            if d.is_dir() and d.name in done:
                shutil.rmtree(d, ignore_errors=True)
        with contextlib.suppress(OSError):
            base.rmdir()

    def _check_layout(self) -> None:
        """Refuse a DuckDB file mmsim did not create; mark a new (or older mmsim) one.

        Raises
        ------
        ResultsFileError
            The file holds tables but neither the :data:`MARKER_TABLE` nor an mmsim
            ``sweeps`` table (e.g. someone else's database that has its own ``sweeps``).
        """
        tables = {r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()}
        if MARKER_TABLE in tables:
            row = self.con.execute(
                f"SELECT value FROM {MARKER_TABLE} WHERE key = 'format'").fetchone()
            if row is not None and row[0] == MARKER_FORMAT:
                return
        elif not tables or ("sweeps" in tables
                            and MMSIM_SWEEP_COLUMNS <= self._existing_columns("sweeps")):
            self.con.execute(f"CREATE TABLE {MARKER_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
            self.con.execute(f"INSERT INTO {MARKER_TABLE} VALUES ('format', ?)", [MARKER_FORMAT])
            return
        shown = ", ".join(sorted(tables)[:8]) + (", …" if len(tables) > 8 else "")
        raise ResultsFileError(
            f"{self.path} is a DuckDB database that mmsim did not create (tables: {shown}); "
            "refusing to add results to it: choose another results path")

    # -- schema ---------------------------------------------------------------------------

    def _existing_columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
        return {r[0] for r in rows}

    def _ensure_table(self, table: str, columns: Mapping[str, str], key: str | None) -> None:
        """Create ``table`` or add the columns it lacks."""
        existing = self._existing_columns(table)
        if not existing:
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
            pk = f", PRIMARY KEY ({key})" if key else ""
            self.con.execute(f"CREATE TABLE {quote_ident(table)} ({cols}{pk})")
        else:
            for c, t in columns.items():
                if c not in existing:
                    self.con.execute(
                        f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(c)} {t}"
                    )
        self._columns[table] = set(columns) | existing

    def _ensure_columns(self, table: str, names: Iterable[str], sql_type: str) -> None:
        missing = [n for n in names if n not in self._columns[table]]
        for n in missing:
            self.con.execute(
                f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(n)} {sql_type}"
            )
            self._columns[table].add(n)

    # -- writing --------------------------------------------------------------------------

    def begin_sweep(
        self,
        *,
        name: str,
        config_path: str,
        config_toml: str,
        root_seed: int,
        replicates: int,
        n_trials: int,
        workers: int,
        strategy_kind: str,
        strategy_class: str,
        data_format: str,
        data_paths: list[str],
        data_sha256: list[str],
        symbol: str | None,
        code_version: str,
        param_columns: Mapping[str, str],
        method: str = "grid",
        backend: str = "local",
        objective: str | None = None,
        direction: str = "maximize",
        timeout_s: float | None = None,
        user_modules: list[dict[str, str]] | None = None,
    ) -> str:
        """Create the tables as needed and register a new sweep.

        Parameters
        ----------
        name, config_path, config_toml : str
            Sweep name, the TOML file's path and its text.
        root_seed, replicates, n_trials, workers : int
            As resolved for this run.
        strategy_kind, strategy_class : str
            ``kind`` as written and the resolved ``module:Class``.
        data_format : str
            ``[data] format``.
        data_paths, data_sha256 : list of str
            Source files and their SHA-256 digests (from the loaded feed's meta).
        symbol : str or None
            Instrument symbol of the feed.
        code_version : str
            mmsim version (and git revision where known).
        param_columns : mapping of str to str
            ``trials`` parameter column → DuckDB type.
        method, backend, objective, direction : str
            Search method, execution backend, objective metric and its direction.
        timeout_s : float or None
            Per-trial time limit.
        user_modules : list of dict or None
            User modules imported for the sweep, ``{"name", "file", "sha256"}`` each
            (:class:`experiments.plugins.UserModule`); ``mmsim resume`` imports exactly these
            files, and only while their hash is unchanged.

        Returns
        -------
        str
            The new ``sweep_id`` (12 hex digits, unique per run).
        """
        created = _now()
        sweep_id = hashlib.sha256(
            f"{config_toml}\0{created.isoformat()}\0{os.getpid()}\0{os.urandom(8).hex()}".encode()
        ).hexdigest()[:12]
        self._ensure_table(
            "sweeps",
            {
                "sweep_id": "VARCHAR", "name": "VARCHAR", "config_path": "VARCHAR",
                "config_toml": "VARCHAR", "config_sha256": "VARCHAR", "root_seed": "BIGINT",
                "replicates": "BIGINT", "n_trials": "BIGINT", "workers": "BIGINT",
                "strategy_kind": "VARCHAR", "strategy_class": "VARCHAR",
                "data_format": "VARCHAR", "data_paths": "JSON", "data_sha256": "JSON",
                "symbol": "VARCHAR", "code_version": "VARCHAR", "created_at": "TIMESTAMP",
                "finished_at": "TIMESTAMP", "status": "VARCHAR", **SWEEP_EXTRA_COLUMNS,
            },
            "sweep_id",
        )
        trial_cols: dict[str, str] = {
            "sweep_id": "VARCHAR", "trial_id": "VARCHAR", "trial_index": "BIGINT",
            "strategy_kind": "VARCHAR",
        }
        trial_cols.update(param_columns)
        trial_cols.update({
            "params": "JSON", "replicate": "BIGINT", "seed": "BIGINT", "status": "VARCHAR",
            "wall_s": "DOUBLE", "error": "VARCHAR", "traceback": "VARCHAR",
            "finished_at": "TIMESTAMP", **REPRO_COLUMNS,
        })
        self._ensure_table("trials", trial_cols, "sweep_id, trial_id")
        metric_cols = {"sweep_id": "VARCHAR", "trial_id": "VARCHAR"}
        metric_cols.update({m: METRIC_TYPES.get(m, "DOUBLE") for m in STANDARD_METRICS})
        self._ensure_table("metrics", metric_cols, "sweep_id, trial_id")
        key_cols = {"sweep_id": "VARCHAR", "trial_id": "VARCHAR"}
        self._ensure_table("equity", {**key_cols, **EQUITY_COLUMNS}, None)
        self._ensure_table("fills", {**key_cols, **FILL_COLUMNS}, None)
        self._ensure_table("alerts", ALERT_COLUMNS, None)
        self._ensure_table("equity_samples", {**key_cols, **SAMPLE_COLUMNS}, None)
        self.con.execute(LATEST_TRIALS_VIEW)
        self.con.execute(
            "INSERT INTO sweeps (sweep_id, name, config_path, config_toml, config_sha256, "
            "root_seed, replicates, n_trials, workers, strategy_kind, strategy_class, "
            "data_format, data_paths, data_sha256, symbol, code_version, created_at, status, "
            "method, backend, objective, direction, timeout_s, user_modules) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            [
                sweep_id, name, config_path, config_toml,
                hashlib.sha256(config_toml.encode()).hexdigest(), root_seed, replicates,
                n_trials, workers, strategy_kind, strategy_class, data_format,
                json.dumps(list(data_paths)), json.dumps(list(data_sha256)), symbol,
                code_version, created, method, backend, objective, direction, timeout_s,
                json.dumps(list(user_modules or [])),
            ],
        )
        self._write_sweep_part(sweep_id)
        return sweep_id

    def _load_columns(self) -> None:
        for t in ("sweeps", "trials", "metrics", "equity", "fills", "alerts", "equity_samples"):
            self._columns[t] = self._existing_columns(t)

    def sweep_info(self, sweep_id: str | None = None) -> dict[str, Any] | None:
        """The ``sweeps`` row of ``sweep_id``, or of the latest sweep not ``done`` (``None``).

        Parameters
        ----------
        sweep_id : str or None, default None
            The sweep; ``None`` picks the most recently created sweep whose status is not
            ``done``.

        Returns
        -------
        dict or None
            Column → value; ``None`` when there is no such sweep.
        """
        if not self._existing_columns("sweeps"):
            return None
        if sweep_id is None:
            cur = self.con.execute(
                "SELECT * FROM sweeps WHERE status <> 'done' ORDER BY created_at DESC LIMIT 1")
        else:
            cur = self.con.execute("SELECT * FROM sweeps WHERE sweep_id = ?", [sweep_id])
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def finished_trials(self, sweep_id: str) -> dict[str, dict[str, float] | None]:
        """Trials of a sweep already stored: ``trial_id`` → metrics (``None`` when failed).

        Parameters
        ----------
        sweep_id : str
            The sweep.

        Returns
        -------
        dict
            One entry per stored trial; NULL metrics are NaN.
        """
        self._load_columns()
        metric_cols = [c for c in self._columns.get("metrics", ()) if c not in ("sweep_id",
                                                                                 "trial_id")]
        sel = ", ".join(f"m.{quote_ident(c)}" for c in metric_cols) or "NULL"
        cur = self.con.execute(
            f"SELECT t.trial_id, t.status, {sel} FROM trials t LEFT JOIN metrics m "
            "USING (sweep_id, trial_id) WHERE t.sweep_id = ?", [sweep_id])
        out: dict[str, dict[str, float] | None] = {}
        for tid, status, *vals in cur.fetchall():
            if status == "done":
                out[tid] = {c: (math.nan if v is None else float(v))
                            for c, v in zip(metric_cols, vals, strict=True)}
            else:
                out[tid] = None
        return out

    def reopen_sweep(self, sweep_id: str, *, workers: int, backend: str) -> None:
        """Mark an existing sweep ``running`` again (``mmsim resume``).

        Parameters
        ----------
        sweep_id : str
            The sweep.
        workers : int
            Worker count of this run (replaces the stored one).
        backend : str
            Backend of this run.
        """
        self._load_columns()
        # a file written before these existed
        self._ensure_table("equity_samples", {"sweep_id": "VARCHAR", "trial_id": "VARCHAR", **SAMPLE_COLUMNS}, None)
        self.con.execute(LATEST_TRIALS_VIEW)
        self.con.execute(
            "UPDATE sweeps SET status = 'running', finished_at = NULL, workers = ?, backend = ? "
            "WHERE sweep_id = ?", [workers, backend, sweep_id])
        self._write_sweep_part(sweep_id)

    # -- Parquet parts (readers while the sweep runs) ----------------------------------------

    def _write_sweep_part(self, sweep_id: str) -> None:
        if not self.parts:
            return
        d = parts_dir(self.path) / sweep_id / "sweeps"
        d.mkdir(parents=True, exist_ok=True)
        self._copy_to_parquet(
            f"SELECT * FROM sweeps WHERE sweep_id = '{sweep_id}'", d / f"{sweep_id}.parquet")

    def _copy_to_parquet(self, select: str, dest: Path) -> None:
        tmp = dest.with_name("." + dest.name + ".tmp")
        self.con.execute(f"COPY ({select}) TO '{_sql_str(tmp)}' (FORMAT parquet)")
        os.replace(tmp, dest)  # readers never see a half-written file

    def _write_trial_parts(self, sweep_id: str, trial_ids: list[str], tables: list[dict[str, list[Any]]]) -> None:
        """One part file per table holding the rows of ``trial_ids`` (named by the first of them).

        ``trials`` and ``metrics`` rows are read back from DuckDB (one row per trial); the large
        tables are written from the Arrow tables just inserted (``tables``, one dict per trial),
        so a part never scans a table that grows with the sweep.
        """
        if not self.parts:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        base = parts_dir(self.path) / sweep_id
        listing = ", ".join(f"'{_sql_str(t)}'" for t in trial_ids)
        for table in PART_TABLES:
            d = base / table
            d.mkdir(parents=True, exist_ok=True)
            dest = d / f"{trial_ids[0]}.parquet"
            parts = [tbl for t in tables for tbl in t.get(table, ())]
            if table == "fills" and any(t.get("fills_files") for t in tables):
                # the staged trials' parts are their own files (renamed at commit); the others'
                # rows go to a part named after the first of them
                own = [tid for tid, t in zip(trial_ids, tables, strict=True) if t.get(table)]
                if own:
                    tmp = d / f".{own[0]}.parquet.tmp"
                    pq.write_table(pa.concat_tables(parts), tmp)
                    os.replace(tmp, d / f"{own[0]}.parquet")
                continue
            if table not in ARROW_TABLES or not parts:  # (an empty part still carries the schema)
                self._copy_to_parquet(
                    f"SELECT * FROM {quote_ident(table)} WHERE sweep_id = '{sweep_id}' "
                    f"AND trial_id IN ({listing})", dest)
                continue
            tmp = dest.with_name("." + dest.name + ".tmp")
            pq.write_table(pa.concat_tables(parts), tmp)
            os.replace(tmp, dest)  # readers never see a half-written file

    def record_trial(
        self,
        sweep_id: str,
        *,
        trial_id: str,
        trial_index: int,
        params: Mapping[str, Any],
        replicate: int,
        seed: int,
        status: str,
        wall_s: float,
        error: str | None = None,
        traceback: str | None = None,
        metrics: Mapping[str, float] | None = None,
        equity: Any = None,
        fills: Any = None,
        repro: Mapping[str, Any] | None = None,
        alerts: Any = None,
        replace: bool = False,
        pnl_currency: str | None = None,
        equity_samples: Any = None,
        fills_file: str | None = None,
    ) -> None:
        """Write one finished trial (``trials`` row; if done ``metrics``, ``equity``, ``fills``,
        ``alerts``).

        Parameters
        ----------
        sweep_id : str
            From :meth:`begin_sweep`.
        trial_id : str
            The trial's stable id.
        trial_index : int
            Position in grid order.
        params : mapping
            Parameter column → value (``TrialSpec.params``).
        replicate, seed : int
            As in the trial spec.
        status : {"done", "failed"}
            Outcome.
        wall_s : float
            Wall time of the trial in seconds (not part of the deterministic results).
        error, traceback : str or None, default None
            ``"Type: message"`` and the formatted traceback of a failed trial.
        metrics : mapping of str to float or None, default None
            Metric name → value; non-finite values become NULL.
        equity : ndarray of EQUITY_DTYPE or None, default None
            Equity curve (downsampled to ``equity_max_rows``).
        fills : ndarray of FILL_DTYPE or None, default None
            Fill log.
        repro : mapping or None, default None
            Reproducibility columns (:data:`REPRO_COLUMNS`): ``config_sha256``,
            ``code_revision``, ``code_dirty``, ``data_sha256``, ``package_versions``, ``host``.
        alerts : ndarray of strategies.risk.ALERT_DTYPE or None, default None
            Risk-monitor alerts (every one is stored).
        replace : bool, default False
            The trial is stored already (a failed trial retried by ``mmsim resume``): its old
            rows are deleted in the same transaction.
        pnl_currency : str or None, default None
            Currency of the trial's PnL-type metrics (``pnl``, fees, costs, equity), stored in
            the ``trials`` column ``pnl_currency`` (e.g. ``"USDT"``, ``"ETH"`` for an inverse
            contract).
        equity_samples : ndarray or None, default None
            The ``equity_samples`` rows, taken by the worker from the full curve
            (:func:`metric_samples`) before it thinned ``equity``; ``None``: taken from ``equity``.
        fills_file : str or None, default None
            The fill log as a worker wrote it (:func:`stage_fills`), instead of ``fills``: it is
            inserted from the file, which then becomes the trial's live-reader part (or is
            deleted without parts).

        Notes
        -----
        One transaction per call: every row of the trial is written, or none. The Parquet
        parts are written after the commit. :meth:`record_trials` writes many at once.
        """
        self.record_trials(sweep_id, [dict(
            trial_id=trial_id, trial_index=trial_index, params=params, replicate=replicate, seed=seed,
            status=status, wall_s=wall_s, error=error, traceback=traceback, metrics=metrics, equity=equity,
            fills=fills, repro=repro, alerts=alerts, replace=replace, pnl_currency=pnl_currency,
            equity_samples=equity_samples, fills_file=fills_file,
        )])  # fmt: skip

    def record_trials(self, sweep_id: str, trials: list[dict[str, Any]]) -> None:
        """Write several finished trials in one transaction, with one Parquet part per table.

        Parameters
        ----------
        sweep_id : str
            From :meth:`begin_sweep`.
        trials : list of dict
            Each with the keyword arguments of :meth:`record_trial` (``trial_id``, ``status``,
            ``metrics``, ...).

        Notes
        -----
        Every row of every trial is written, or none. A batch of trials (a batch-path task)
        is stored at the cost of one: one commit and one part file per table instead of one
        per trial. A retried trial (``replace``) keeps its own part file, so the live readers'
        copy of its old rows is replaced too.
        """
        if not trials:
            return
        import pyarrow as pa

        per_trial: list[dict[str, list[Any]]] = []
        self.con.begin()
        try:
            for t in trials:
                per_trial.append({})
                self._record_rows(sweep_id, **t, tables=per_trial[-1])
            for table in ARROW_TABLES:  # one insert per table for the whole call
                parts = [tbl for tables in per_trial for tbl in tables.get(table, ())]
                if parts:
                    self._insert_arrow(table, pa.concat_tables(parts))
            staged = [f for tables in per_trial for f in tables.get("fills_files", ())]
            if staged:
                cols = ", ".join(quote_ident(c) for c in ("sweep_id", "trial_id", *FILL_COLUMNS))
                listing = ", ".join(f"'{_sql_str(f)}'" for f in staged)
                self.con.execute(f"INSERT INTO fills ({cols}) SELECT {cols} FROM read_parquet([{listing}])")
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        for t, tables in zip(trials, per_trial, strict=True):  # committed: staged logs become parts
            for f in tables.get("fills_files", ()):
                if self.parts:
                    os.replace(f, Path(f).with_name(f"{t['trial_id']}.parquet"))
                else:
                    os.unlink(f)
        shared = [i for i, t in enumerate(trials) if not t.get("replace")]
        groups = [[i] for i, t in enumerate(trials) if t.get("replace") or len(shared) == 1]
        if len(shared) > 1:
            groups.append(shared)
        for group in groups:
            self._write_trial_parts(sweep_id, [trials[i]["trial_id"] for i in group],
                                    [per_trial[i] for i in group])  # fmt: skip

    def _record_rows(self, sweep_id: str, *, trial_id: str, trial_index: int, params: Mapping[str, Any],
                     replicate: int, seed: int, status: str, wall_s: float, error: str | None = None,
                     traceback: str | None = None, metrics: Mapping[str, float] | None = None, equity: Any = None,
                     fills: Any = None, repro: Mapping[str, Any] | None = None, alerts: Any = None,
                     replace: bool = False, pnl_currency: str | None = None,
                     equity_samples: Any = None, fills_file: str | None = None,
                     tables: dict[str, list[Any]]) -> None:  # fmt: skip
        """The rows of one trial, inside the caller's transaction (:meth:`record_trials`); its
        equity, fills, samples and alerts are added to ``tables`` (Arrow), for one insert per table."""
        row: dict[str, Any] = {
            "sweep_id": sweep_id, "trial_id": trial_id, "trial_index": trial_index,
            **params,
            "params": json.dumps({k: params[k] for k in params}, sort_keys=True),
            "replicate": replicate, "seed": seed, "status": status, "wall_s": wall_s,
            "error": error, "traceback": traceback, "finished_at": _now(),
        }
        if pnl_currency:
            row["pnl_currency"] = pnl_currency
        for k, val in (repro or {}).items():
            row[k] = json.dumps(val, sort_keys=True) if isinstance(val, list | dict | tuple) else val
        unknown = [c for c in row if c not in self._columns["trials"]]
        metric_row: dict[str, Any] | None = None
        if metrics is not None and status == "done":
            metric_row = {"sweep_id": sweep_id, "trial_id": trial_id}
            metric_row.update({str(k): _clean_metric(v, METRIC_TYPES.get(str(k), "DOUBLE"))
                               for k, v in metrics.items()})
        if replace:
            for table in PART_TABLES:
                if self._columns.get(table):
                    self.con.execute(f"DELETE FROM {quote_ident(table)} WHERE sweep_id = ? "
                                     "AND trial_id = ?", [sweep_id, trial_id])
        self._ensure_columns("trials", unknown, "VARCHAR")
        self._insert("trials", row)
        if metric_row is not None:
            for sql_type in ("BIGINT", "BOOLEAN", "DOUBLE"):
                self._ensure_columns("metrics", [c for c in metric_row if c not in ("sweep_id", "trial_id")
                                                 and METRIC_TYPES.get(c, "DOUBLE") == sql_type], sql_type)
            self._insert("metrics", metric_row)
        if status == "done":
            if equity is not None and len(equity):
                tables.setdefault("equity", []).append(_arrow_rows(
                    sweep_id, trial_id, downsample(equity, self.equity_max_rows),
                    EQUITY_COLUMNS))
            if fills_file is not None:
                tables.setdefault("fills_files", []).append(fills_file)
            elif fills is not None and len(fills):
                tables.setdefault("fills", []).append(_arrow_rows(sweep_id, trial_id, fills,
                                                        FILL_COLUMNS))
            samples = equity_samples if equity_samples is not None else metric_samples(equity, metrics)
            if samples is not None and len(samples):
                tables.setdefault("equity_samples", []).append(_arrow_rows(sweep_id, trial_id, samples,
                                                                 SAMPLE_COLUMNS))
            if alerts is not None and len(alerts):
                tables.setdefault("alerts", []).append(_arrow_rows(sweep_id, trial_id, alerts,
                                                         ALERT_ROW_COLUMNS))

    def _insert_arrow(self, table: str, data: Any) -> None:
        self.con.register("_mmsim_rows", data)
        try:
            cols = ", ".join(quote_ident(c) for c in data.column_names)
            self.con.execute(
                f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {cols} FROM _mmsim_rows")
        finally:
            self.con.unregister("_mmsim_rows")

    def _insert(self, table: str, row: Mapping[str, Any]) -> None:
        cols = ", ".join(quote_ident(c) for c in row)
        marks = ", ".join("?" for _ in row)
        self.con.execute(
            f"INSERT INTO {quote_ident(table)} ({cols}) VALUES ({marks})", list(row.values())
        )

    def finish_sweep(self, sweep_id: str, status: str) -> None:
        """Mark a sweep ``done`` or ``interrupted`` and stamp ``finished_at``.

        Parameters
        ----------
        sweep_id : str
            From :meth:`begin_sweep`.
        status : str
            Final status.
        """
        self.con.execute(
            "UPDATE sweeps SET status = ?, finished_at = ? WHERE sweep_id = ?",
            [status, _now(), sweep_id],
        )
        if status == "done":
            self.con.execute("CHECKPOINT")
            shutil.rmtree(parts_dir(self.path) / sweep_id, ignore_errors=True)
            with contextlib.suppress(OSError):
                parts_dir(self.path).rmdir()  # only when no other sweep left parts
        else:
            for f in staging_dir(self.path, sweep_id).glob(f".*{STAGED_SUFFIX}"):  # never committed
                f.unlink(missing_ok=True)
            self._write_sweep_part(sweep_id)

    def record_warnings(self, sweep_id: str, problems: Iterable[Any]) -> int:
        """Store a sweep's data problems in the ``warnings`` table (created on first use).

        Columns: ``sweep_id``, ``seq`` (0-based order of printing), ``level`` (``warning`` /
        ``error``), ``file``, ``row`` (1-based line or row, NULL for file-level problems),
        ``message`` — one row per problem of :mod:`experiments.datacheck`. Rows already stored
        for ``sweep_id`` (a resumed sweep) are replaced, in one transaction.

        Parameters
        ----------
        sweep_id : str
        problems : iterable of experiments.datacheck.Problem
            Anything with ``level``, ``file``, ``row`` and ``message`` attributes.

        Returns
        -------
        int
            Rows written.
        """
        rows = [(sweep_id, i, str(p.level), str(p.file), p.row, str(p.message)) for i, p in enumerate(problems)]
        self._ensure_table("warnings", {"sweep_id": "VARCHAR", "seq": "INTEGER", "level": "VARCHAR",
                                        "file": "VARCHAR", "row": "BIGINT", "message": "VARCHAR"}, None)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute("DELETE FROM warnings WHERE sweep_id = ?", [sweep_id])
            if rows:
                self.con.executemany("INSERT INTO warnings VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return len(rows)

    def top_trials(
        self, sweep_id: str, objective: str, columns: list[str], limit: int = 5,
        direction: str = "maximize",
    ) -> tuple[list[str], list[tuple]]:
        """Best finished trials of a sweep (:func:`top_trials` on this connection)."""
        return top_trials(self.con, sweep_id, objective, columns, limit, direction)

    def close(self) -> None:
        """Close the connection (checkpoints the file)."""
        self.con.close()


QUERY_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}
"""DuckDB settings of every connection :func:`open_for_query` returns: no file or network access
beyond the database itself (no ``ATTACH``, ``COPY … TO``, ``read_text``/``read_csv``/
``read_parquet`` of other files, ``INSTALL``/``LOAD``), and the settings cannot be changed
(``lock_configuration``)."""


def _lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """Apply :data:`QUERY_CONFIG` to an open connection (``lock_configuration`` last)."""
    for key, value in QUERY_CONFIG.items():
        con.execute(f"SET {key} = {'true' if value else 'false'}")


def open_for_query(path: str | Path) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """A read-only, confined connection to a results file, or to its Parquet parts if locked.

    Parameters
    ----------
    path : str or Path
        The DuckDB results file.

    Returns
    -------
    tuple of (DuckDBPyConnection, bool)
        The connection and whether it reads the parts (``True``: a sweep is writing the file;
        tables ``sweeps``, ``trials``, ``metrics``, ``equity``, ``fills``, ``alerts`` hold a
        snapshot of ``<path>.parts/*/<table>/*.parquet``: the trials committed so far by the
        running and any unfinished sweeps). Either way the connection has
        :data:`QUERY_CONFIG`: it can read nothing but these tables and write no file.

    Raises
    ------
    duckdb.IOException
        If the file is locked and there are no parts to read.
    duckdb.Error
        If the file is not a DuckDB database.
    """
    path = Path(path)
    last: Exception | None = None
    for _attempt in range(5):
        try:
            return duckdb.connect(str(path), read_only=True, config=dict(QUERY_CONFIG)), False
        except duckdb.IOException as exc:
            last = exc
            base = parts_dir(path)
            if not base.is_dir():
                raise
        try:
            return _parts_snapshot(base), True
        except (duckdb.IOException, FileNotFoundError) as exc:
            # the sweep finished (and deleted its parts) while we read them: the DuckDB file
            # is complete now; try it again
            last = exc
    assert last is not None
    raise last


def _parts_snapshot(base: Path) -> duckdb.DuckDBPyConnection:
    """In-memory tables copied from the Parquet parts, then the connection locked down.

    The parts are read into tables (not views) before file access is switched off, so the
    locked connection needs no file access and a part replaced or deleted afterwards by the
    writer cannot change or break a running query.
    """
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    try:
        for table in ("sweeps", *PART_TABLES):
            files = sorted(p for p in base.glob(f"*/{table}/*.parquet") if not p.name.startswith("."))
            if not files:
                continue
            listing = ", ".join(f"'{_sql_str(f)}'" for f in files)
            con.execute(
                f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM "
                f"read_parquet([{listing}], union_by_name = true)")
        if {"sweeps", "trials", "metrics"} <= {r[0] for r in con.execute("SHOW TABLES").fetchall()}:
            con.execute(LATEST_TRIALS_VIEW)
        _lock_down(con)
    except BaseException:
        con.close()
        raise
    return con


def top_trials(
con: duckdb.DuckDBPyConnection, sweep_id: str, objective: str, columns: list[str],
limit: int = 5, direction: str = "maximize",
) -> tuple[list[str], list[tuple]]:
    """Best finished trials of a sweep by ``objective`` (per ``direction``, NULLs last).

    A trial without a fill (``n_fills = 0``, flagged ``zero_fills``) ranks after every
    trial that traded, whatever its objective: an idle quoter is not a best trial.

    Parameters
    ----------
    con : DuckDBPyConnection
        A connection to the results (writer or :func:`open_for_query`).
    sweep_id : str
        The sweep.
    objective : str
        Metric column to rank by; falls back to ``pnl`` when the metric is absent.
    columns : list of str
        Extra ``trials`` columns to show (e.g. the swept parameters).
    limit : int, default 5
        Rows to return.
    direction : {"maximize", "minimize"}, default "maximize"
        Whether higher or lower objective values are better.

    Returns
    -------
    tuple of (list of str, list of tuple)
        Column names and rows.
    """
    metric_cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics'"
    ).fetchall()}
    if objective not in metric_cols:
        objective = "pnl"
    shown = [m for m in (objective, "pnl", "n_fills", "max_drawdown", "max_abs_q")
             if m in metric_cols]
    shown = list(dict.fromkeys(shown))
    idle = "coalesce(m.n_fills, 0) = 0, " if "n_fills" in metric_cols else ""
    sel = ", ".join(
        ["t.trial_id"] + [f"t.{quote_ident(c)}" for c in columns]
        + [f"m.{quote_ident(c)}" for c in shown]
    )
    cur = con.execute(
        f"SELECT {sel} FROM trials t JOIN metrics m USING (sweep_id, trial_id) "
        f"WHERE t.sweep_id = ? ORDER BY {idle}m.{quote_ident(objective)} "
        f"{'ASC' if direction == 'minimize' else 'DESC'} NULLS LAST, "
        "t.trial_id LIMIT ?",
        [sweep_id, limit],
    )
    names = [d[0] for d in cur.description]
    return names, cur.fetchall()


def check_results_file(path: str | Path) -> None:
    """Check, read-only, that an existing file is usable as an mmsim results file.

    Raises
    ------
    ResultsFileError
        The file is a DuckDB database mmsim did not create.
    duckdb.Error
        It is not a DuckDB database, or another process holds it.
    """
    con = duckdb.connect(str(path), read_only=True, config=dict(QUERY_CONFIG))
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()}
        if not tables:
            return
        if MARKER_TABLE in tables:
            row = con.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = 'format'").fetchone()
            if row is not None and row[0] == MARKER_FORMAT:
                return
        elif "sweeps" in tables:
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'sweeps'"
            ).fetchall()}
            if MMSIM_SWEEP_COLUMNS <= cols:
                return
        shown = ", ".join(sorted(tables)[:8]) + (", …" if len(tables) > 8 else "")
        raise ResultsFileError(
            f"{path} is a DuckDB database that mmsim did not create (tables: {shown}); "
            "refusing to add results to it: choose another results path")
    finally:
        con.close()
