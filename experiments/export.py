"""``mmsim export``: write the tables of a results file as CSV or Parquet files.

``mmsim query`` cannot write or read files (:data:`experiments.store.QUERY_CONFIG`); this is the
explicit way to get the results out. Each table of the results file
(:data:`EXPORT_TABLES` that exist) becomes ``<out>/<table>.<format>``, optionally restricted to
one sweep. Nothing is written over an existing file unless ``force``; every file is written to a
temporary name in ``out`` and renamed into place only after every table was written, so a failure
leaves no partial export.

See Also
--------
experiments.store : the tables.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from experiments.store import open_for_query, quote_ident

__all__ = ["EXPORT_FORMATS", "EXPORT_TABLES", "ExportError", "export_results"]

EXPORT_TABLES = ("sweeps", "trials", "metrics", "equity", "fills", "alerts", "warnings")
"""Tables written, in this order, when they exist in the results file."""

EXPORT_FORMATS = ("parquet", "csv")


class ExportError(ValueError):
    """Bad export request (existing files without ``force``, unknown sweep); user-facing."""


def _sql_str(x: object) -> str:
    return str(x).replace("'", "''")


def export_results(results: str | Path, out: str | Path, *, fmt: str = "parquet",
                   sweep_id: str | None = None, force: bool = False) -> list[Path]:
    """Write each table of ``results`` to ``out/<table>.<fmt>``.

    Parameters
    ----------
    results : str or Path
        The DuckDB results file (read-only; while a sweep writes it, its Parquet parts).
    out : str or Path
        Output directory (created).
    fmt : {"parquet", "csv"}, default "parquet"
        File format (CSV with a header row).
    sweep_id : str or None, default None
        Only the rows of this sweep; ``None`` exports every sweep.
    force : bool, default False
        Replace files that exist already.

    Returns
    -------
    list of Path
        The files written, in :data:`EXPORT_TABLES` order.

    Raises
    ------
    ExportError
        Unknown format, unknown ``sweep_id``, or an output file exists and ``force`` is false
        (nothing is written then).
    duckdb.Error, OSError
        The results file cannot be read, or ``out`` cannot be written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"--format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    con, _ = open_for_query(results)
    try:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        tables = [t for t in EXPORT_TABLES if t in present]
        if not tables:
            raise ExportError(f"{results}: no results tables to export")
        if sweep_id is not None and "sweeps" in present:
            found = con.execute("SELECT count(*) FROM sweeps WHERE sweep_id = ?",
                                [sweep_id]).fetchone()
            if not found or not found[0]:
                raise ExportError(f"--sweep {sweep_id!r}: no such sweep in {results}")
        dests = [out / f"{t}.{fmt}" for t in tables]
        existing = [d for d in dests if d.exists()]
        if existing and not force:
            raise ExportError(
                f"{', '.join(str(d) for d in existing)} exist(s); nothing was written (use --force "
                "to replace)")
        out.mkdir(parents=True, exist_ok=True)
        # The query connection may write no file (QUERY_CONFIG); fetch as Arrow, write here.
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        tmps: list[tuple[Path, Path]] = []
        try:
            for table, dest in zip(tables, dests, strict=True):
                cols = {r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [table]).fetchall()}
                where = ""
                if sweep_id is not None and "sweep_id" in cols:
                    where = f" WHERE sweep_id = '{_sql_str(sweep_id)}'"
                data = con.sql(f"SELECT * FROM {quote_ident(table)}{where}").to_arrow_table()
                tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
                tmps.append((tmp, dest))
                if fmt == "parquet":
                    pq.write_table(data, tmp)
                else:
                    pacsv.write_csv(_csv_ready(data), tmp)
            for tmp, dest in tmps:
                os.replace(tmp, dest)
        finally:
            for tmp, _ in tmps:
                with contextlib.suppress(OSError):
                    tmp.unlink()
    finally:
        con.close()
    return dests


def _csv_ready(table: Any) -> Any:
    """Extension-typed columns (DuckDB's JSON) as their storage type: Arrow's CSV writer
    rejects extension types."""
    import pyarrow as pa

    cols = []
    for field, col in zip(table.schema, table.columns, strict=True):
        if isinstance(field.type, pa.ExtensionType):
            col = pa.chunked_array([c.storage for c in col.chunks], field.type.storage_type)
        cols.append(col)
    return pa.table(cols, names=table.column_names)
