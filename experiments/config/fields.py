"""Field types of the section classes and the ``trials`` columns they become.

Which fields can be swept (scalars, not lists or nested tables), their DuckDB column types and
names (``gamma``, or ``venue_tick_size`` where two sections share a name). No TOML, no values.

See Also
--------
experiments.store : creates the ``trials`` table from these columns.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

RESERVED_COLUMNS = frozenset(
    {"trial_id", "sweep_id", "trial_index", "replicate", "seed", "status", "wall_s", "error",
     "traceback", "params", "finished_at", "strategy_kind"}
)


def _field_types(cls: type) -> dict[str, Any]:
    """Field name → resolved annotation of an attrs class."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in attrs.fields(cls) if f.init}


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_sequence_type(tp: Any) -> bool:
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, tuple | list | set | frozenset) or (
        origin in (Sequence, typing.Sequence)
    )


def _sql_type(tp: Any) -> str:
    tp = _strip_optional(tp)
    if tp is bool:
        return "BOOLEAN"
    if tp is int:
        return "BIGINT"
    if tp is float:
        return "DOUBLE"
    return "VARCHAR"


def _sweepable(tp: Any) -> bool:
    """Whether a field of this type can be swept (a scalar, not a list, table or attrs class)."""
    if _is_sequence_type(tp):
        return False
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp) or tp
    if isinstance(origin, type) and (attrs.has(origin) or issubclass(origin, Mapping)):
        return False
    return True


def _param_columns(
    classes: dict[str, type],
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Column names and types of every parameter of the grid sections."""
    fields = {s: _field_types(c) for s, c in classes.items()}
    seen: dict[str, int] = {}
    for names in fields.values():
        for n in names:
            seen[n] = seen.get(n, 0) + 1
    columns: dict[str, str] = {}
    column_of: dict[tuple[str, str], str] = {}
    for section, names in fields.items():
        for n, tp in names.items():
            col = n if seen[n] == 1 and n not in RESERVED_COLUMNS else f"{section}_{n}"
            columns[col] = _sql_type(tp) if not _is_sequence_type(tp) else "VARCHAR"
            column_of[(section, n)] = col
    return columns, column_of
