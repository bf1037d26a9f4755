"""Sweep files: TOML → validated, frozen trial specifications.

A sweep file has four tables. ``[sweep]`` (name, root seed, workers, results path, replicates,
objective) is :class:`SweepSection`; ``[data]`` is structured into
:class:`venues.loaders.DataConfig`; ``[venue]`` into
:class:`venues.orderbook.config.VenueConfig`; ``[strategy]`` names a strategy class with
``kind`` and the rest of the table is structured into that class's ``config_class``.

**Grid axes.** A list given where the schema field is a scalar is a grid axis; the trials are
the cartesian product of all axes (first axis slowest), each repeated ``replicates`` times.
List-typed fields (``data.paths``) are values, never axes. ``[data]`` and ``[sweep]`` cannot be
swept: one sweep file runs on one data set.

Everything is validated before any work starts: malformed TOML, unknown keys, wrong types,
out-of-range values (the attrs validators), missing data files and unknown strategy kinds are
all collected into one :class:`ConfigError`, each line ``FILE: key.path: message``.

This module does not run trials (:mod:`experiments.executor`) and does not touch the results
database (:mod:`experiments.store`).

See Also
--------
experiments.executor : runs the trials of a :class:`SweepSpec`.
experiments.store : the DuckDB tables.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import itertools
import json
import re
import sys
import tomllib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
import numpy as np
from attrs import validators as v
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

__all__ = [
    "Axis",
    "ConfigError",
    "SweepSection",
    "SweepSpec",
    "TrialSpec",
    "converter",
    "derive_seed",
    "load_sweep",
    "resolve_strategy",
    "trial_id_for",
]

SECTIONS = ("sweep", "data", "venue", "strategy")
"""Top-level tables of a sweep file, in the order they are validated."""

GRID_SECTIONS = ("venue", "strategy")
"""Tables whose scalar fields may be swept (given as a list)."""

RESERVED_COLUMNS = frozenset(
    {"trial_id", "sweep_id", "trial_index", "replicate", "seed", "status", "wall_s", "error",
     "traceback", "params", "finished_at", "strategy_kind"}
)


class ConfigError(ValueError):
    """A sweep file is invalid; carries every problem found, not just the first.

    Parameters
    ----------
    file : str or Path
        The sweep file the problems were found in.
    problems : sequence of str
        One ``key.path: message`` line per problem.

    Attributes
    ----------
    file : str
        As given.
    problems : tuple of str
        As given.
    """

    def __init__(self, file: str | Path, problems: Sequence[str]):
        self.file = str(file)
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{self.file}: {p}" for p in self.problems))


# --------------------------------------------------------------------------------------------
# Strict scalar hooks: cattrs' defaults coerce "3" → 3 and 1.5 → 1; a config file must not.
# --------------------------------------------------------------------------------------------


class _WrongTypeError(TypeError):
    """A TOML value has the wrong type for its field (message is user-facing)."""


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)
    return f"{kind} {value!r}"


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _WrongTypeError(f"expected a number, got {_describe(value)}")
    return float(value)


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _WrongTypeError(f"expected an integer, got {_describe(value)}")
    return value


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _WrongTypeError(f"expected a string, got {_describe(value)}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise _WrongTypeError(f"expected true or false, got {_describe(value)}")
    return value


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    return conv


converter: cattrs.Converter = _make_converter()
"""The one cattrs converter for sweep files: ``forbid_extra_keys=True``, strict scalars (no
``"3"`` → 3, no 1.5 → 1, no bool → number), TOML arrays → tuples for tuple-typed fields."""


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SweepSection:
    """The ``[sweep]`` table.

    Attributes
    ----------
    name : str
        Sweep name (stored in ``sweeps.name``). Default: the TOML file's stem.
    seed : int, default 0
        Root seed; each trial's seed is derived from it and the trial id (see
        :func:`derive_seed`). ``>= 0``.
    workers : int, default 0
        Worker processes; ``0`` means ``os.cpu_count()``. ``--workers`` overrides it.
    results : str or None, default None
        DuckDB file, relative to the current directory; ``None`` means
        ``results/<name>.duckdb``. ``--results`` overrides it.
    replicates : int, default 1
        Trials per grid point, each with its own seed. ``>= 1``.
    objective : str, default "pnl_per_1k_notional"
        Metric the live view and the summary rank trials by (higher is better).
    """

    name: str = attrs.field(validator=v.min_len(1))
    seed: int = attrs.field(default=0, validator=[v.ge(0), v.lt(2**63)])
    workers: int = attrs.field(default=0, validator=v.ge(0))
    results: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    replicates: int = attrs.field(default=1, validator=v.ge(1))
    objective: str = attrs.field(default="pnl_per_1k_notional", validator=v.min_len(1))

    @property
    def results_path(self) -> str:
        """Results file as configured (``results/<name>.duckdb`` when unset)."""
        return self.results if self.results is not None else f"results/{self.name}.duckdb"


@attrs.frozen(kw_only=True)
class Axis:
    """One grid axis: a scalar field given as a list in the TOML.

    Attributes
    ----------
    section : str
        ``"venue"`` or ``"strategy"``.
    key : str
        Field name in that section.
    column : str
        Column name of the parameter in the ``trials`` table.
    values : tuple
        The raw TOML values, in file order.
    """

    section: str
    key: str
    column: str
    values: tuple


@attrs.frozen(kw_only=True, eq=False)
class TrialSpec:
    """One concrete trial: a grid point and a replicate index.

    Attributes
    ----------
    index : int
        Position in grid order (0-based; ``mmsim run --trial N`` selects by it).
    trial_id : str
        16 hex digits, stable hash of the resolved parameters and the replicate index
        (:func:`trial_id_for`).
    replicate : int
        Replicate index, ``0 <= replicate < sweep.replicates``.
    seed : int
        Trial seed in ``[0, 2**63)``, derived from the root seed and ``trial_id``.
    venue : VenueConfig
        Resolved venue configuration.
    strategy : StrategyConfig
        Resolved strategy configuration (an instance of the strategy's ``config_class``).
    params : dict of str to object
        Every parameter by its ``trials`` column name, for the store and the reporters.
    """

    index: int
    trial_id: str
    replicate: int
    seed: int
    venue: Any
    strategy: Any
    params: dict[str, Any]


@attrs.frozen(kw_only=True, eq=False)
class SweepSpec:
    """A validated sweep file.

    Attributes
    ----------
    path : Path
        The TOML file (absolute).
    toml_text : str
        Its text, stored verbatim in ``sweeps.config_toml``.
    sweep : SweepSection
        The ``[sweep]`` table.
    data : DataConfig
        The ``[data]`` table, ``paths`` resolved to absolute paths.
    strategy_kind : str
        ``kind`` as written in the file.
    strategy_path : str
        The strategy class as ``module:Class``.
    strategy_cls : type
        The strategy class itself.
    axes : tuple of Axis
        The grid axes, in grid order (first slowest).
    columns : dict of str to str
        ``trials`` parameter column name → DuckDB type, in table order.
    trials : tuple of TrialSpec
        Every trial, in grid order.
    """

    path: Path
    toml_text: str
    sweep: SweepSection
    data: Any
    strategy_kind: str
    strategy_path: str
    strategy_cls: type
    axes: tuple[Axis, ...]
    columns: dict[str, str]
    trials: tuple[TrialSpec, ...]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


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


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def trial_id_for(params: dict[str, Any], replicate: int) -> str:
    """Stable id of a trial.

    Parameters
    ----------
    params : dict
        The resolved parameters, JSON-serialisable (``{"venue": {...}, "strategy": {...}}``,
        every field including defaults, plus the strategy's ``module:Class``).
    replicate : int
        Replicate index.

    Returns
    -------
    str
        First 16 hex digits of the SHA-256 of the canonical JSON (sorted keys, no spaces) of
        ``{"params": params, "replicate": replicate}``. Independent of file order, of where the
        file lives and of scheduling.
    """
    blob = _canonical_json({"params": params, "replicate": int(replicate)})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def derive_seed(root_seed: int, trial_id: str) -> int:
    """Seed of one trial from the sweep's root seed and the trial id.

    Parameters
    ----------
    root_seed : int
        ``[sweep] seed``, ``>= 0``.
    trial_id : str
        Hex trial id (:func:`trial_id_for`).

    Returns
    -------
    int
        ``SeedSequence([root_seed, int(trial_id, 16)]).generate_state(1, uint64)`` masked to 63
        bits (fits a signed BIGINT). Depends on nothing else: not on the trial's position in the
        grid, nor on which worker runs it.
    """
    state = np.random.SeedSequence([int(root_seed), int(trial_id, 16)]).generate_state(
        1, dtype=np.uint64
    )
    return int(state[0]) & (2**63 - 1)


def resolve_strategy(kind: str, search_dir: Path | None = None) -> tuple[str, type]:
    """Find the strategy class named by ``[strategy] kind``.

    Parameters
    ----------
    kind : str
        A short name from :data:`strategies.STRATEGY_KINDS` (``"glft"``) or a dotted
        ``"module:Class"`` path to a user subclass.
    search_dir : Path or None, default None
        Directory appended to ``sys.path`` before importing a dotted path, so that a module
        next to the sweep file is importable.

    Returns
    -------
    tuple of (str, type)
        ``("module:Class", cls)``; ``cls.config_class`` is an attrs class.

    Raises
    ------
    ValueError
        If the kind is unknown, the module or class cannot be imported, or the class has no
        attrs ``config_class``. The message is user-facing.
    """
    from strategies import STRATEGY_KINDS

    if not isinstance(kind, str) or not kind:
        raise ValueError(f"expected a strategy kind (string), got {_describe(kind)}")
    if ":" in kind:
        path = kind
    elif kind in STRATEGY_KINDS:
        path = STRATEGY_KINDS[kind]
    else:
        hint = difflib.get_close_matches(kind, list(STRATEGY_KINDS), n=1)
        maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(
            f"unknown strategy kind {kind!r}{maybe}; known kinds: "
            f"{', '.join(sorted(STRATEGY_KINDS))}, or a dotted 'module:Class' path"
        )
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ValueError(f"strategy path {path!r} must look like 'package.module:ClassName'")
    if search_dir is not None and str(search_dir) not in sys.path:
        sys.path.append(str(search_dir))
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is a config problem
        raise ValueError(
            f"cannot import module {module_name!r} for strategy {kind!r} "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {qualname!r}") from None
    if not isinstance(obj, type):
        raise ValueError(f"{path!r} is not a class")
    config_class = getattr(obj, "config_class", None)
    if not (isinstance(config_class, type) and attrs.has(config_class)):
        raise ValueError(
            f"strategy class {path!r} needs a class attribute 'config_class' that is an attrs "
            "class (e.g. a subclass of strategies.config.StrategyConfig)"
        )
    return path, obj


def _data_config_class() -> type:
    from venues.loaders import DataConfig

    return DataConfig


def _venue_config_class() -> type:
    from venues.orderbook.config import VenueConfig

    return VenueConfig


_ATTRS_FIELD_RE = re.compile(r"^'(\w+)' ")


def _exception_messages(exc: BaseException, section: str) -> list[tuple[str, str]]:
    """Flatten a cattrs structuring error into ``(key path, message)`` pairs."""
    out: list[tuple[str, str]] = []

    def fmt(e: BaseException, _type: Any) -> str:
        # attrs' in_() passes (message, attribute, options, value) as args: keep the message
        text = e.args[0] if len(e.args) > 1 and isinstance(e.args[0], str) else str(e)
        return f"\x00{type(e).__name__}\x00{text}"

    for line in cattrs.transform_error(exc, path=section, format_exception=fmt):
        text, _, path = line.rpartition(" @ ")
        _, etype, msg = text.split("\x00", 2) if text.startswith("\x00") else ("", "", text)
        if etype == "ForbiddenExtraKeysError":
            msg = "unknown key"
        elif etype == "ValueError" or etype == "TypeError":
            # attrs validators name the field at the start of their message: "'gamma' must ..."
            m = _ATTRS_FIELD_RE.match(msg)
            if m and path == section:
                path = f"{section}.{m.group(1)}"
                msg = msg[m.end():]
        out.append((path, msg))
    return out


def _check_keys(
    raw: dict[str, Any], cls: type, section: str, extra_ok: Sequence[str] = ()
) -> list[str]:
    allowed = [f.name for f in attrs.fields(cls) if f.init] + list(extra_ok)
    problems = []
    for key in raw:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(
                f"{section}.{key}: unknown key{maybe}; valid keys: {', '.join(sorted(allowed))}"
            )
    return problems


def _structure(raw: dict[str, Any], cls: type, section: str) -> tuple[Any, list[tuple[str, str]]]:
    """Structure one table, collecting every field's problem.

    attrs stops at the first failing validator; to report the others too, a field whose
    validator failed is dropped (falls back to its default) and the table is structured again.
    """
    raw = dict(raw)
    found: list[tuple[str, str]] = []
    for _ in range(len(raw) + 1):
        try:
            obj = converter.structure(raw, cls)
            return (obj if not found else None), found
        except (ClassValidationError, ForbiddenExtraKeysError, ValueError, TypeError) as exc:
            errs = _exception_messages(exc, section)
        new = [e for e in errs if e not in found]
        found += new
        keys = {p.partition(".")[2].split(".")[0].split("[")[0] for p, _ in new}
        dropped = [k for k in keys if k in raw]
        if not dropped:
            break
        for k in dropped:
            raw.pop(k)
    return None, found


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_sweep(path: str | Path, *, check_files: bool = True) -> SweepSpec:
    """Read, validate and expand a sweep file.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    check_files : bool, default True
        Check that every ``data.paths`` file (and ``data.meta_path``) exists.

    Returns
    -------
    SweepSpec
        Every trial resolved and validated, in grid order.

    Raises
    ------
    ConfigError
        With every problem found: unreadable or malformed TOML (line and column), unknown
        table or key, wrong type, value rejected by a validator (an axis value is named by its
        index, ``strategy.gamma[2]``), missing data file, unknown strategy kind or bad dotted
        path, duplicate trials.
    """
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(shown, [f"cannot read sweep file ({exc.strerror or exc})"]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, [f"invalid TOML: {exc}"]) from None
    base_dir = path.resolve().parent
    problems: list[str] = []

    for key in raw:
        if key not in SECTIONS:
            hint = difflib.get_close_matches(key, SECTIONS, n=1)
            maybe = f" (did you mean [{hint[0]}]?)" if hint else ""
            problems.append(f"{key}: unknown table{maybe}; valid tables: {', '.join(SECTIONS)}")
    tables: dict[str, dict[str, Any]] = {}
    for name in SECTIONS:
        table = raw.get(name, {})
        if not isinstance(table, dict):
            problems.append(f"{name}: expected a table [{name}], got {_describe(table)}")
            table = {}
        elif name in ("data", "strategy") and name not in raw:
            problems.append(f"{name}: missing table [{name}]")
        tables[name] = dict(table)

    # [sweep]
    sweep_raw = tables["sweep"]
    sweep_raw.setdefault("name", path.stem)
    problems += _check_keys(sweep_raw, SweepSection, "sweep")
    sweep = None
    if not any(p.startswith("sweep.") for p in problems):
        sweep, errs = _structure(sweep_raw, SweepSection, "sweep")
        problems += [f"{p}: {m}" for p, m in errs]

    # [data]
    data = _load_data(tables["data"], base_dir, check_files, problems) if "data" in raw else None

    # [strategy] kind → class
    strategy_raw = tables["strategy"]
    kind = strategy_raw.pop("kind", None)
    strategy_path, strategy_cls, strategy_config_cls = "", None, None
    if "strategy" in raw:
        if kind is None:
            problems.append("strategy.kind: missing; e.g. kind = \"glft\" or \"module:Class\"")
        else:
            try:
                strategy_path, strategy_cls = resolve_strategy(kind, base_dir)
                strategy_config_cls = strategy_cls.config_class
            except ValueError as exc:
                problems.append(f"strategy.kind: {exc}")

    # [venue] and [strategy] grids
    venue_cls = _venue_config_class()
    grid_classes = {"venue": venue_cls, "strategy": strategy_config_cls}
    axes: list[Axis] = []
    for section in GRID_SECTIONS:
        cls = grid_classes[section]
        if cls is None:
            continue
        table = tables[section]
        key_problems = _check_keys(table, cls, section)
        problems += key_problems
        types_ = _field_types(cls)
        for key, value in list(table.items()):
            if key in types_ and isinstance(value, list) and not _is_sequence_type(types_[key]):
                if not value:
                    problems.append(f"{section}.{key}: an axis needs at least one value")
                    table.pop(key)  # reported; do not also report it as a wrong type
                    continue
                axes.append(Axis(section=section, key=key, column=key, values=tuple(value)))

    if strategy_config_cls is None or any(
        p.startswith(("venue.", "strategy.")) and "unknown key" in p for p in problems
    ):
        raise ConfigError(shown, problems)

    columns, column_of = _param_columns({"venue": venue_cls, "strategy": strategy_config_cls})
    axes = [attrs.evolve(a, column=column_of[(a.section, a.key)]) for a in axes]

    # Expand even when [sweep] or [data] had problems, so every problem is reported at once.
    trials, grid_problems = _expand(
        tables, axes, grid_classes, sweep or SweepSection(name=path.stem), strategy_path, kind,
        column_of,
    )
    problems += grid_problems
    if problems or sweep is None:
        raise ConfigError(shown, problems)
    return SweepSpec(
        path=path.resolve(),
        toml_text=text,
        sweep=sweep,
        data=data,
        strategy_kind=kind,
        strategy_path=strategy_path,
        strategy_cls=strategy_cls,
        axes=tuple(axes),
        columns=columns,
        trials=tuple(trials),
    )


def _load_data(
    table: dict[str, Any], base_dir: Path, check_files: bool, problems: list[str]
) -> Any:
    try:
        data_cls = _data_config_class()
    except ImportError as exc:  # pragma: no cover - the loader package is part of mmsim
        problems.append(f"data: cannot import venues.loaders.DataConfig ({exc})")
        return None
    key_problems = _check_keys(table, data_cls, "data")
    problems += key_problems
    types_ = _field_types(data_cls)
    for key, value in table.items():
        if key in types_ and isinstance(value, list) and not _is_sequence_type(types_[key]):
            problems.append(
                f"data.{key}: a list here would sweep data sets; one sweep file runs on one "
                "data set (give a single value)"
            )
            return None
    if key_problems:
        return None
    resolved = dict(table)
    paths = table.get("paths")
    if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
        if not paths:
            problems.append("data.paths: at least one data file is needed")
        new_paths = []
        for i, p in enumerate(paths):
            full = (base_dir / Path(p).expanduser()).resolve()
            if check_files and not full.is_file():
                problems.append(
                    f"data.paths[{i}]: data file not found: {p} (resolved to {full})"
                )
            new_paths.append(str(full))
        resolved["paths"] = new_paths
    meta = table.get("meta_path")
    if isinstance(meta, str):
        full = (base_dir / Path(meta).expanduser()).resolve()
        if check_files and not full.is_file():
            problems.append(f"data.meta_path: file not found: {meta} (resolved to {full})")
        resolved["meta_path"] = str(full)
    data, errs = _structure(resolved, data_cls, "data")
    problems += [f"{p}: {m}" for p, m in errs]
    return data


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


def _expand(
    tables: dict[str, dict[str, Any]],
    axes: list[Axis],
    classes: dict[str, type],
    sweep: SweepSection,
    strategy_path: str,
    kind: str,
    column_of: dict[tuple[str, str], str],
) -> tuple[list[TrialSpec], list[str]]:
    """Cartesian product of the axes → structured, validated trials."""
    problems: list[str] = []
    seen_problems: set[str] = set()
    axis_at = {(a.section, a.key): i for i, a in enumerate(axes)}
    trials: list[TrialSpec] = []
    first_index: dict[str, int] = {}
    index = 0
    for combo in itertools.product(*(range(len(a.values)) for a in axes)):
        resolved: dict[str, Any] = {}
        ok = True
        for section in GRID_SECTIONS:
            table = dict(tables[section])
            for (sec, key), ai in axis_at.items():
                if sec == section:
                    table[key] = axes[ai].values[combo[ai]]
            obj, errs = _structure(table, classes[section], section)
            for p, m in errs:
                sec, _, key = p.partition(".")
                key = key.split(".")[0].split("[")[0]
                if (sec, key) in axis_at:
                    ai = axis_at[(sec, key)]
                    value = axes[ai].values[combo[ai]]
                    line = f"{sec}.{key}[{combo[ai]}]: {value!r}: {m}"
                else:
                    line = f"{p}: {m}"
                if line not in seen_problems:
                    seen_problems.add(line)
                    problems.append(line)
            if obj is None:
                ok = False
            resolved[section] = obj
        if not ok:
            index += sweep.replicates
            continue
        unstructured = {s: converter.unstructure(resolved[s]) for s in GRID_SECTIONS}
        id_params = {"venue": unstructured["venue"],
                     "strategy": {"class": strategy_path, **unstructured["strategy"]}}
        params: dict[str, Any] = {"strategy_kind": kind}
        for section in GRID_SECTIONS:
            for key, value in unstructured[section].items():
                col = column_of[(section, key)]
                is_nested = isinstance(value, list | tuple | dict)
                params[col] = _canonical_json(value) if is_nested else value
        for rep in range(sweep.replicates):
            tid = trial_id_for(id_params, rep)
            if tid in first_index and "duplicate" not in seen_problems:
                seen_problems.add("duplicate")
                problems.append(
                    f"grid: trials {first_index[tid]} and {index} have identical parameters "
                    "(a repeated value on an axis?)"
                )
            first_index.setdefault(tid, index)
            trials.append(
                TrialSpec(
                    index=index,
                    trial_id=tid,
                    replicate=rep,
                    seed=derive_seed(sweep.seed, tid),
                    venue=resolved["venue"],
                    strategy=resolved["strategy"],
                    params=params,
                )
            )
            index += 1
    return trials, problems
