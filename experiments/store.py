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
    ``sweep_id``, ``trial_id``, one ``DOUBLE`` column per metric (``pnl``,
    ``pnl_per_1k_notional``, ``fees``, ``n_fills``, …). One row per trial with status
    ``done``; non-finite values (NaN, ±inf) are stored as NULL.

Each finished trial is committed in its own transaction, so a crash loses only the trials that
were running. This module holds no simulation logic and never reads a sweep file.

See Also
--------
experiments.executor : the only caller that writes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["STANDARD_METRICS", "ResultStore", "quote_ident"]

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


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def _clean_metric(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


class ResultStore:
    """Writer of one results file.

    Parameters
    ----------
    path : str or Path
        DuckDB file; its parent directory is created.

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

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path))
        self._columns: dict[str, set[str]] = {}

    # -- schema ---------------------------------------------------------------------------

    def _existing_columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
        return {r[0] for r in rows}

    def _ensure_table(self, table: str, columns: Mapping[str, str], key: str) -> None:
        """Create ``table`` or add the columns it lacks."""
        existing = self._existing_columns(table)
        if not existing:
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
            self.con.execute(f"CREATE TABLE {quote_ident(table)} ({cols}, PRIMARY KEY ({key}))")
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
                "finished_at": "TIMESTAMP", "status": "VARCHAR",
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
            "finished_at": "TIMESTAMP",
        })
        self._ensure_table("trials", trial_cols, "sweep_id, trial_id")
        metric_cols = {"sweep_id": "VARCHAR", "trial_id": "VARCHAR"}
        metric_cols.update({m: "DOUBLE" for m in STANDARD_METRICS})
        self._ensure_table("metrics", metric_cols, "sweep_id, trial_id")
        self.con.execute(
            "INSERT INTO sweeps (sweep_id, name, config_path, config_toml, config_sha256, "
            "root_seed, replicates, n_trials, workers, strategy_kind, strategy_class, "
            "data_format, data_paths, data_sha256, symbol, code_version, created_at, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')",
            [
                sweep_id, name, config_path, config_toml,
                hashlib.sha256(config_toml.encode()).hexdigest(), root_seed, replicates,
                n_trials, workers, strategy_kind, strategy_class, data_format,
                json.dumps(list(data_paths)), json.dumps(list(data_sha256)), symbol,
                code_version, created,
            ],
        )
        return sweep_id

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
    ) -> None:
        """Write one finished trial (its ``trials`` row and, if done, its ``metrics`` row).

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

        Notes
        -----
        One transaction per call: either both rows are written or neither.
        """
        row: dict[str, Any] = {
            "sweep_id": sweep_id, "trial_id": trial_id, "trial_index": trial_index,
            **params,
            "params": json.dumps({k: params[k] for k in params}, sort_keys=True),
            "replicate": replicate, "seed": seed, "status": status, "wall_s": wall_s,
            "error": error, "traceback": traceback, "finished_at": _now(),
        }
        unknown = [c for c in row if c not in self._columns["trials"]]
        metric_row: dict[str, Any] | None = None
        if metrics is not None and status == "done":
            metric_row = {"sweep_id": sweep_id, "trial_id": trial_id}
            metric_row.update({str(k): _clean_metric(v) for k, v in metrics.items()})
        self.con.begin()
        try:
            self._ensure_columns("trials", unknown, "VARCHAR")
            self._insert("trials", row)
            if metric_row is not None:
                self._ensure_columns("metrics", metric_row, "DOUBLE")
                self._insert("metrics", metric_row)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

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

    def top_trials(
        self, sweep_id: str, objective: str, columns: list[str], limit: int = 5
    ) -> tuple[list[str], list[tuple]]:
        """Best finished trials of a sweep by ``objective`` (descending, NULLs last).

        Parameters
        ----------
        sweep_id : str
            The sweep.
        objective : str
            Metric column to rank by; falls back to ``pnl`` when the metric is absent.
        columns : list of str
            Extra ``trials`` columns to show (e.g. the swept parameters).
        limit : int, default 5
            Rows to return.

        Returns
        -------
        tuple of (list of str, list of tuple)
            Column names and rows.
        """
        metric_cols = self._existing_columns("metrics")
        if objective not in metric_cols:
            objective = "pnl"
        shown = [m for m in (objective, "pnl", "n_fills", "max_drawdown", "max_abs_q")
                 if m in metric_cols]
        shown = list(dict.fromkeys(shown))
        sel = ", ".join(
            ["t.trial_id"] + [f"t.{quote_ident(c)}" for c in columns]
            + [f"m.{quote_ident(c)}" for c in shown]
        )
        cur = self.con.execute(
            f"SELECT {sel} FROM trials t JOIN metrics m USING (sweep_id, trial_id) "
            f"WHERE t.sweep_id = ? ORDER BY m.{quote_ident(objective)} DESC NULLS LAST, "
            "t.trial_id LIMIT ?",
            [sweep_id, limit],
        )
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()

    def close(self) -> None:
        """Close the connection (checkpoints the file)."""
        self.con.close()
