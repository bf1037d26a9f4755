"""Reading a sweep file: TOML text → a validated :class:`SweepSpec` with every trial.

Every problem of the file (TOML syntax, unknown tables and keys, wrong types, validator
failures, missing data files, unknown strategy kinds, the trial cap) is collected into one
:class:`~experiments.config.convert.ConfigError` before any work starts.

See Also
--------
experiments.config : the file format.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from experiments.config.axes import Axis, _parse_sweep_table, _space_size
from experiments.config.convert import ConfigError, _check_keys, _describe, _structure
from experiments.config.fields import _field_types, _is_sequence_type, _param_columns, _sweepable
from experiments.config.schema import (
    GRID_SECTIONS,
    METHODS,
    OPTIONAL_SECTIONS,
    SECTIONS,
    SweepSection,
    _data_config_class,
    _optional_section_class,
    _venue_config_class,
    parse_duration_ns,
)
from experiments.config.strategy import resolve_strategy
from experiments.config.trials import TrialSpec, _expand, _PointResolver


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
        The swept parameters, in file order (grid order: first slowest).
    columns : dict of str to str
        ``trials`` parameter column name → DuckDB type, in table order.
    trials : tuple of TrialSpec
        Every trial in proposal order, for ``grid`` and ``random`` (precomputed); **empty for
        ``bayes``**, whose trials are proposed while the sweep runs
        (:func:`experiments.search.make_source`). Use :attr:`total` for the planned count.
    resolver : _PointResolver or None
        Builds the trials of one parameter point (:func:`make_point_trials`); private.
    user_modules : tuple of experiments.plugins.UserModule
        User modules imported for this file (dotted ``kind`` paths), with their SHA-256.
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
    resolver: Any = attrs.field(default=None, repr=False)
    user_modules: tuple = ()

    @property
    def method(self) -> str:
        """``[sweep] method``."""
        return self.sweep.method

    @property
    def total(self) -> int:
        """Planned number of trials: ``len(trials)`` for grid and random,
        ``n_trials * replicates`` for bayes."""
        if self.sweep.method == "bayes":
            return int(self.sweep.n_trials or 0) * self.sweep.replicates
        return len(self.trials)


def load_sweep(path: str | Path, *, check_files: bool = True,
               max_trials: int | None = None) -> SweepSpec:
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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read sweep file ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError(str(path), [f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at "
                                      f"offset {exc.start} (line {line}); TOML files must be "
                                      "UTF-8"]) from None
    return load_sweep_text(text, path, check_files=check_files, max_trials=max_trials)


def load_sweep_text(text: str, path: str | Path, *, check_files: bool = True,
                    trusted_modules: Mapping[str, str] | None = None,
                    max_trials: int | None = None) -> SweepSpec:
    """Validate and expand sweep-file text as if it were read from ``path``.

    ``mmsim resume`` rebuilds a stored sweep this way: relative data paths and user strategy
    modules resolve against ``path``'s directory, as in the original run.

    Parameters
    ----------
    text : str
        TOML text of a sweep file.
    path : str or Path
        Where the text came from (need not exist any more).
    check_files : bool, default True
        As in :func:`load_sweep`.
    trusted_modules : mapping of str to str or None, default None
        User module name → SHA-256 recorded when the sweep ran (``mmsim resume``); a user
        module not in it, or whose file now has another hash, is refused unexecuted
        (:mod:`experiments.plugins`).
    max_trials : int or None, default None
        Most trials the file may plan (grid size × replicates, or ``n_trials`` ×
        replicates), checked before any trial is built; ``None``: :data:`MAX_TRIALS`.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        As :func:`load_sweep`.
    """
    path = Path(path)
    user_modules: list[Any] = []
    shown = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, [f"invalid TOML: {exc}"]) from None
    base_dir = path.resolve().parent
    problems: list[str] = _non_finite(raw, "")

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
                strategy_path, strategy_cls = resolve_strategy(
                    kind, base_dir, trusted=trusted_modules, loaded=user_modules)
                strategy_config_cls = strategy_cls.config_class
            except ValueError as exc:
                problems.append(f"strategy.kind: {exc}")

    # [pool] flow_path: recorded pool events, relative to the sweep file
    flow = tables["pool"].get("flow_path")
    if isinstance(flow, str):
        flow_file = (base_dir / flow).resolve()
        tables["pool"]["flow_path"] = str(flow_file)
        if check_files and not flow_file.is_file():
            problems.append(f"pool.flow_path: file not found: {flow_file}")
    # recorded chain data (issue 15): files (or a directory of block JSONs), relative to the sweep file
    for section, key in (("pool", "state_path"), ("chain", "base_fee_path"), ("chain", "fee_data_path"),
                         ("chain", "block_times_path"), ("hedger", "fee_data_path"),
                         ("venue", "latency_path")):  # fmt: skip
        given = tables[section].get(key)
        if isinstance(given, str):
            data_file = (base_dir / given).resolve()
            tables[section][key] = str(data_file)
            if check_files and not data_file.exists():
                problems.append(f"{section}.{key}: file not found: {data_file}")

    # [venue] kind: the venue class (a value or a list of them), importable now
    venue_kinds = tables["venue"].get("kind", "orderbook")
    for n, vkind in enumerate(venue_kinds if isinstance(venue_kinds, list) else [venue_kinds]):
        if isinstance(vkind, str) and ":" in vkind:
            from experiments.plugins import load_module
            from venues.orderbook.venue import venue_class

            try:
                # only the named module, from beside the sweep file or installed; registered
                # under its name, so venue_class (and the workers) find it
                _, record = load_module(vkind.partition(":")[0], base_dir,
                                        trusted=trusted_modules)
                if record is not None and record not in user_modules:
                    user_modules.append(record)
                venue_class(vkind)
            except ValueError as exc:
                where = f"venue.kind[{n}]" if isinstance(venue_kinds, list) else "venue.kind"
                problems.append(f"{where}: {exc}")

    # [venue] and [strategy] axes: lists, ranges and choices
    method = sweep.method if sweep is not None else (
        sweep_raw.get("method") if sweep_raw.get("method") in METHODS else "grid"
    )
    venue_cls = _venue_config_class()
    sections = GRID_SECTIONS + tuple(s for s in OPTIONAL_SECTIONS if s in raw)
    grid_classes = {"venue": venue_cls, "strategy": strategy_config_cls}
    grid_classes.update({s: _optional_section_class(s) for s in sections if s in OPTIONAL_SECTIONS})
    if "hedger" in raw and "pool" not in raw and tables["hedger"].get("venue", "pool") != "book":
        problems.append("hedger.venue: hedging on a pool needs a [pool] table (or venue = \"book\")")
    axes: list[Axis] = []
    for section in sections:
        cls = grid_classes[section]
        if cls is None:
            continue
        table = tables[section]
        key_problems = _check_keys(table, cls, section)
        problems += key_problems
        types_ = _field_types(cls)
        for key, value in list(table.items()):
            if key not in types_ or not _sweepable(types_[key]):
                continue
            if isinstance(value, list):
                if not value:
                    problems.append(f"{section}.{key}: an axis needs at least one value")
                    table.pop(key)  # reported; do not also report it as a wrong type
                    continue
                axes.append(Axis(section=section, key=key, column=key, values=tuple(value)))
            elif isinstance(value, dict):
                axis, errs = _parse_sweep_table(section, key, value, types_[key], method)
                problems += errs
                table.pop(key)  # an axis or a reported problem: never structured as a value
                if axis is not None:
                    axes.append(axis)

    if strategy_config_cls is None or any(
        p.startswith(("venue.", "strategy.")) and "unknown key" in p for p in problems
    ):
        raise ConfigError(shown, problems)

    columns, column_of = _param_columns({s: grid_classes[s] for s in sections})
    axes = [attrs.evolve(a, column=column_of[(a.section, a.key)]) for a in axes]
    axis_keys = {(a.section, a.key) for a in axes}
    sweep_or_default = sweep or SweepSection(name=path.stem)
    resolver = _PointResolver(
        tables={s: {k: x for k, x in tables[s].items() if (s, k) not in axis_keys}
                for s in sections},
        classes=grid_classes,
        sections=sections,
        axes=tuple(axes),
        column_of=column_of,
        strategy_path=strategy_path,
        kind=kind,
        root_seed=sweep_or_default.seed,
        replicates=sweep_or_default.replicates,
        metric_interval_ns=parse_duration_ns(sweep_or_default.metric_interval),
    )

    # Every axis value (and range bound) against the field's validators, one at a time.
    axis_problems = resolver.check_axes()
    problems += axis_problems
    n_trials = sweep.n_trials if sweep is not None else None
    if sweep is not None:
        problems += _check_method(sweep, axes)

    # The trial cap, from the axis sizes alone: nothing is built for an oversized sweep.
    cap = MAX_TRIALS if max_trials is None else int(max_trials)
    planned = _planned_trials(method, axes, n_trials,
                              sweep_or_default.replicates)
    if planned is not None and planned > cap:
        problems.append(
            f"sweep: plans {planned:,} trials, more than the cap of {cap:,} (raise it with "
            "--max-trials N if you mean it)")
        axis_problems = [*axis_problems, "cap"]

    # [venue] profile vs the data (an inverse or spot capture needs its own profile), fee tiers
    from venues.profiles import sweep_profile_problems

    problems += sweep_profile_problems(
        tables["venue"], {a.key: a.values for a in axes if a.section == "venue"}, data, check_files)

    # Expand even when [sweep] or [data] had problems, so every problem is reported at once.
    trials: list[TrialSpec] = []
    if not axis_problems:
        if method == "grid":
            trials, more = _expand(resolver)
            problems += more
        elif method == "random" and n_trials is not None and not problems:
            trials, more = resolver.random_trials(n_trials)
            problems += more
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
        resolver=resolver,
        user_modules=tuple(user_modules),
    )


MAX_TRIALS = 100_000
"""Default cap on the trials a sweep file may plan (``--max-trials`` raises it)."""


def _planned_trials(method: str, axes: Sequence[Axis], n_trials: int | None,
                    replicates: int) -> int | None:
    """Trials a sweep plans (exact Python int, nothing allocated); ``None`` if unknown yet."""
    if method == "grid":
        return math.prod(len(a.values) for a in axes) * max(1, int(replicates))
    if n_trials is None:
        return None
    return int(n_trials) * max(1, int(replicates))


def _non_finite(obj: Any, where: str) -> list[str]:
    """``key.path: nan/inf`` problems for every non-finite float in the TOML document."""
    out: list[str] = []
    if isinstance(obj, float) and not math.isfinite(obj):
        out.append(f"{where}: {obj!r} is not a finite number")
    elif isinstance(obj, dict):
        for k, x in obj.items():
            out += _non_finite(x, f"{where}.{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, x in enumerate(obj):
            out += _non_finite(x, f"{where}[{i}]")
    return out


def _check_method(sweep: SweepSection, axes: Sequence[Axis]) -> list[str]:
    """Cross-field checks of ``[sweep]`` against the axes."""
    problems = []
    if sweep.method == "grid":
        if sweep.n_trials is not None:
            problems.append(
                "sweep.n_trials: only used by method = \"random\" or \"bayes\" (a grid runs "
                "every point)"
            )
        return problems
    if sweep.n_trials is None:
        problems.append(
            f"sweep.n_trials: required for method = \"{sweep.method}\" (number of parameter "
            "points to try)"
        )
        return problems
    size = _space_size(axes)
    if size is not None and sweep.n_trials > size:
        problems.append(
            f"sweep.n_trials: {sweep.n_trials} is more than the {size} distinct parameter "
            f"point(s) of this all-discrete space; use method = \"grid\" or fewer trials"
        )
    return problems


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
    funding = table.get("funding")
    if isinstance(funding, str):  # recorded funding rates (venues.loaders.funding)
        full = (base_dir / Path(funding).expanduser()).resolve()
        if check_files and not full.is_file():
            problems.append(f"data.funding: file not found: {funding} (resolved to {full})")
        resolved["funding"] = str(full)
    data, errs = _structure(resolved, data_cls, "data")
    problems += [f"{p}: {m}" for p, m in errs]
    return data
