"""Sweep files: TOML → validated, frozen trial specifications.

A sweep file has four tables. ``[sweep]`` (name, root seed, workers, results path, replicates,
objective) is :class:`SweepSection`; ``[data]`` is structured into
:class:`venues.loaders.DataConfig`; ``[venue]`` into
:class:`venues.orderbook.config.VenueConfig`; ``[strategy]`` names a strategy class with
``kind`` and the rest of the table is structured into that class's ``config_class``.

**Axes.** Any scalar field of ``[venue]`` or ``[strategy]`` can be swept. A list given where
the schema field is a scalar is a grid axis; a table is a range or a choice (:class:`Range`):

- ``{ low = 0.01, high = 1.0, step = 0.01 }``: inclusive arithmetic range (grid: its points;
  random: uniform over its points; bayes: ``suggest_float(step=)`` / ``suggest_int(step=)``);
- ``{ low = 0.001, high = 1.0, log = true }``: continuous log-uniform;
- ``{ low = 0.0, high = 1.0 }``: continuous uniform (integers on an ``int`` field);
- ``n = K`` added to a continuous range gives a grid ``K`` points (log- or linearly spaced);
  ``n`` is only used by ``method = "grid"`` (random and bayes sample the continuous range);
- ``{ choice = ["risk_averse", "prob_power"] }``: categorical (a list is the same).

``[sweep] method`` picks how the space is searched: ``"grid"`` (the cartesian product of all
axes, first axis slowest; a continuous range without ``n`` is an error), ``"random"``
(``n_trials`` independent draws, see :func:`random_points`) or ``"bayes"`` (Optuna TPE,
proposed one by one while the sweep runs: :mod:`experiments.search`). Each parameter point runs
``replicates`` times. List-typed fields (``data.paths``) are values, never axes. ``[data]`` and
``[sweep]`` cannot be swept: one sweep file runs on one data set.

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
import itertools
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
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
    "MAX_TRIALS",
    "Range",
    "SweepSection",
    "SweepSpec",
    "TrialSpec",
    "converter",
    "derive_seed",
    "load_sweep",
    "make_point_trials",
    "random_points",
    "resolve_strategy",
    "trial_id_for",
]

SECTIONS = ("sweep", "data", "venue", "strategy", "chain", "pool", "hedger", "risk", "signal")
"""Top-level tables of a sweep file, in the order they are validated."""

GRID_SECTIONS = ("venue", "strategy")
OPTIONAL_SECTIONS = ("chain", "pool", "hedger", "risk", "signal")
"""Tables a file may add (on-chain hedging; risk monitors); sweepable like [venue] and [strategy]."""


def _optional_section_class(name: str) -> type:
    if name == "signal":
        from signals.pipeline import SignalConfig

        return SignalConfig
    if name == "risk":
        from strategies.risk import RiskConfig

        return RiskConfig
    if name == "hedger":
        from strategies.hedger import HedgerConfig

        return HedgerConfig
    from venues.chain import ChainConfig, PoolConfig

    return {"chain": ChainConfig, "pool": PoolConfig}[name]
"""Tables whose scalar fields may be swept (given as a list, a range or a choice)."""

METHODS = ("grid", "random", "bayes")
"""Values of ``[sweep] method``."""

DIRECTIONS = ("maximize", "minimize")
"""Values of ``[sweep] direction``."""

RANGE_KEYS = ("low", "high", "step", "log", "n")
"""Keys of a range table (``{ choice = [...] }`` is the other kind of sweep table)."""

RANDOM_TAG = 0x52414E44
"""``b"RAND"``: second word of the seed sequence of random-search draws (:func:`random_points`)."""

MAX_RANDOM_REDRAWS = 10_000
"""Redraws of one random trial whose parameters repeat an earlier trial's before giving up."""

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


_DURATION_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "min": 60_000_000_000,
                   "h": 3_600_000_000_000}


def parse_duration_ns(text: str) -> int:
    """A duration such as ``"1s"``, ``"500ms"``, ``"1min"`` or ``"1h"`` in integer ns.

    Parameters
    ----------
    text : str
        A positive number (integer or decimal) followed by a unit: ``ns``, ``us``, ``ms``,
        ``s``, ``min`` or ``h``.

    Returns
    -------
    int
        Nanoseconds, ``> 0``.

    Raises
    ------
    ValueError
        Not of that form, an unknown unit, or not a positive whole number of ns.

    Examples
    --------
    >>> parse_duration_ns("1s"), parse_duration_ns("2.5min")
    (1000000000, 150000000000)
    """
    import decimal

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)\s*", text) if isinstance(text, str) else None
    if m is None or m.group(2) not in _DURATION_UNITS:
        raise ValueError(f"expected a duration such as \"1s\", \"500ms\", \"1min\" or \"1h\" "
                         f"(units {', '.join(_DURATION_UNITS)}), got {text!r}")
    ns = decimal.Decimal(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if ns <= 0 or ns != ns.to_integral_value():
        raise ValueError(f"a duration must be a positive whole number of ns, got {text!r}")
    return int(ns)


def _duration(_inst: Any, attribute: attrs.Attribute, value: str) -> None:
    parse_duration_ns(value)


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
        Metric the live view and the summary rank trials by, and that ``method = "bayes"``
        optimises.
    method : {"grid", "random", "bayes"}, default "grid"
        How the parameter space is searched: the cartesian product of the axes, ``n_trials``
        seeded random draws, or ``n_trials`` points proposed by Optuna's TPE sampler.
    n_trials : int or None, default None
        Number of parameter points for ``random`` and ``bayes`` (required there, not allowed
        for ``grid``); each runs ``replicates`` times. ``>= 1``.
    direction : {"maximize", "minimize"}, default "maximize"
        Whether a higher or a lower ``objective`` is better.
    backend : {"local", "ray"}, default "local"
        Where trials run: a local process pool, or Ray (a local instance, or the cluster at
        ``$RAY_ADDRESS``). ``--backend`` overrides it.
    timeout_s : float or None, default None
        Per-trial wall-clock limit in seconds; a trial past it is stored as ``failed``
        (``TimeoutError``) and the sweep goes on. ``None``: no limit.
    gpu_slots : int or None, default None
        How many trials may hold the GPU at once (:mod:`engine.gpu`); ``None``: the number
        of visible GPUs (0 without one: GPU stages run on the CPU).
    mlflow_uri : str or None, default None
        MLflow tracking URI; when set every finished trial is also logged there (needs the
        ``mlflow`` extra).
    mlflow_experiment : str or None, default None
        MLflow experiment name; ``None``: the sweep name.
    metric_interval : str, default "1s"
        Clock of the risk/return metrics (``"1s"``, ``"500ms"``, ``"1min"``, ``"1h"``): the
        desk's equity is sampled every interval for ``sharpe``, ``sortino``, ``var_*`` and
        the report's overfitting checks (and stored at that resolution in
        ``equity_samples``). Ratios are annualised only when the run spans at least
        ``max(30, one day)`` intervals (:func:`components.performance.annualise_min_samples`).
    """

    name: str = attrs.field(validator=v.min_len(1))
    seed: int = attrs.field(default=0, validator=[v.ge(0), v.lt(2**63)])
    workers: int = attrs.field(default=0, validator=v.ge(0))
    results: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    replicates: int = attrs.field(default=1, validator=v.ge(1))
    objective: str = attrs.field(default="pnl_per_1k_notional", validator=v.min_len(1))
    method: str = attrs.field(default="grid", validator=v.in_(METHODS))
    n_trials: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
    direction: str = attrs.field(default="maximize", validator=v.in_(DIRECTIONS))
    backend: str = attrs.field(default="local", validator=v.in_(("local", "ray")))
    timeout_s: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    gpu_slots: int | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    mlflow_uri: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    mlflow_experiment: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    metric_interval: str = attrs.field(default="1s", validator=_duration)

    @property
    def results_path(self) -> str:
        """Results file as configured (``results/<name>.duckdb`` when unset)."""
        return self.results if self.results is not None else f"results/{self.name}.duckdb"


@attrs.frozen(kw_only=True)
class Range:
    """A numeric range given as a table, ``{ low, high [, step] [, log] [, n] }``.

    Attributes
    ----------
    low, high : int or float
        Bounds, both inclusive, ``low < high``; ints on an ``int`` field.
    step : int or float or None, default None
        Spacing of an arithmetic range ``low, low + step, ...`` up to the last point
        ``<= high`` (computed in decimal, so ``0.01 .. 1.0`` by ``0.01`` gives exactly the 100
        numbers one would write). ``None``: a continuous range.
    log : bool, default False
        Log-uniform (continuous) or log-spaced (with ``n``); needs ``low > 0``; not with
        ``step``.
    n : int or None, default None
        Grid of ``n`` points from ``low`` to ``high`` (log-spaced when ``log``), used only by
        ``method = "grid"``; not with ``step``. ``>= 2``.
    integer : bool, default False
        The field is an ``int``: points are ints, continuous draws are integers in
        ``[low, high]`` (log-uniform over integers when ``log``).
    """

    low: Any
    high: Any
    step: Any = None
    log: bool = False
    n: int | None = None
    integer: bool = False

    @property
    def continuous(self) -> bool:
        """True when the range has no points of its own (no ``step``): random and bayes sample
        it continuously (over the integers on an ``int`` field)."""
        return self.step is None

    def grid_values(self) -> tuple | None:
        """Grid points (``step`` or ``n``), ascending; ``None`` for a continuous range."""
        if self.step is not None:
            if self.integer:
                return tuple(range(self.low, self.high + 1, self.step))
            lo, st = Decimal(repr(float(self.low))), Decimal(repr(float(self.step)))
            count = int((Decimal(repr(float(self.high))) - lo) / st) + 1
            return tuple(float(lo + i * st) for i in range(count))
        if self.n is not None:
            pts = (np.geomspace if self.log else np.linspace)(self.low, self.high, self.n)
            if self.integer:
                return tuple(sorted({int(round(x)) for x in pts}))
            vals = [float(x) for x in pts]
            vals[0], vals[-1] = float(self.low), float(self.high)
            return tuple(vals)
        return None

    def discrete_values(self) -> tuple | None:
        """Every value random or bayes can draw, when finitely many (step, or an ``int``
        field); ``None`` for a continuous float range."""
        if self.step is not None:
            return self.grid_values()
        if self.integer:
            return tuple(range(self.low, self.high + 1))
        return None

    def sample(self, rng: np.random.Generator) -> Any:
        """One random draw: uniform over the points of a step range, else (log-)uniform."""
        if self.step is not None:
            vals = self.grid_values()
            return vals[int(rng.integers(len(vals)))]
        if self.integer:
            if self.log:
                x = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return min(max(int(math.floor(x)), self.low), self.high)
            return int(rng.integers(self.low, self.high + 1))
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def describe(self) -> str:
        """Short text, e.g. ``log-uniform(0.001, 1)`` or ``0.01..1 step 0.01``."""
        if self.step is not None:
            return f"{self.low:g}..{self.high:g} step {self.step:g}"
        kind = "log-uniform" if self.log else "uniform"
        grid = f", grid n={self.n}" if self.n is not None else ""
        return f"{kind}({self.low:g}, {self.high:g}{grid})"


@attrs.frozen(kw_only=True)
class Axis:
    """One swept parameter: a scalar field given as a list, a range or a choice table.

    Attributes
    ----------
    section : str
        ``"venue"`` or ``"strategy"``.
    key : str
        Field name in that section.
    column : str
        Column name of the parameter in the ``trials`` table (also its Optuna name).
    values : tuple
        The grid points: the raw TOML values of a list or choice in file order, or the points
        of a range with ``step`` or ``n``; ``()`` for a continuous range.
    kind : {"list", "choice", "range"}, default "list"
        How the axis was written.
    range : Range or None, default None
        The range, for ``kind == "range"``.
    """

    section: str
    key: str
    column: str
    values: tuple
    kind: str = "list"
    range: Range | None = None

    @property
    def size(self) -> int | None:
        """Number of distinct values random/bayes can draw; ``None`` if continuous."""
        if self.range is None:
            return len(self.values)
        if self.range.step is None and self.range.integer:  # counted, not materialised
            return int(self.range.high) - int(self.range.low) + 1
        vals = self.range.discrete_values()
        return None if vals is None else len(vals)

    def describe(self) -> str:
        """``section.key[N]`` for a finite axis, ``section.key~log-uniform(a, b)`` otherwise."""
        if self.range is not None and (self.range.continuous and not self.values):
            return f"{self.section}.{self.key}~{self.range.describe()}"
        return f"{self.section}.{self.key}[{len(self.values)}]"

    def sample(self, rng: np.random.Generator) -> Any:
        """One random draw of this axis (uniform over a list/choice)."""
        if self.range is not None:
            return self.range.sample(rng)
        return self.values[int(rng.integers(len(self.values)))]

    def location(self, i: int | None = None, bound: str | None = None) -> str:
        """Key path of value ``i`` (or of a range's ``low``/``high``) for error messages."""
        base = f"{self.section}.{self.key}"
        if bound is not None:
            return f"{base}.{bound}"
        if i is None:
            return base
        if self.kind == "choice":
            return f"{base}.choice[{i}]"
        return base if self.kind == "range" else f"{base}[{i}]"


@attrs.frozen(kw_only=True, eq=False)
class TrialSpec:
    """One concrete trial: a parameter point and a replicate index.

    Attributes
    ----------
    index : int
        Position in proposal order (0-based): grid order for a grid, draw order for random
        and bayes search (``point number * replicates + replicate``); ``mmsim run --trial N``
        selects by it.
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
    extras : dict of str to object
        Resolved optional sections (``chain``, ``pool``, ``hedger``) present in the file.
    """

    index: int
    trial_id: str
    replicate: int
    seed: int
    venue: Any
    strategy: Any
    params: dict[str, Any]
    extras: dict[str, Any] = attrs.field(factory=dict)


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


def resolve_strategy(kind: str, search_dir: Path | None = None, *,
                     trusted: Mapping[str, str] | None = None,
                     loaded: list | None = None) -> tuple[str, type]:
    """Find the strategy class named by ``[strategy] kind``.

    Parameters
    ----------
    kind : str
        A short name from :data:`strategies.STRATEGY_KINDS` (``"glft"``) or a dotted
        ``"module:Class"`` path to a user subclass.
    search_dir : Path or None, default None
        Folder of the sweep file: a dotted path's module may be the file ``<module>.py`` there
        (loaded by :func:`experiments.plugins.load_object`; the folder is never put on
        ``sys.path``, no other file in it is imported). Built-in kinds never look there.
    trusted : mapping of str to str or None, default None
        Module name → SHA-256 recorded by the sweep (``mmsim resume``): any other file is
        refused before it runs.
    loaded : list or None, default None
        Receives the :class:`experiments.plugins.UserModule` imported, if any.

    Returns
    -------
    tuple of (str, type)
        ``("module:Class", cls)``; ``cls.config_class`` is an attrs class.

    Raises
    ------
    ValueError
        If the kind is unknown, the module or class cannot be imported (or is refused:
        shadowing, changed file), the object is not a subclass of
        :class:`strategies.base.Strategy`, or the class has no attrs ``config_class``. The
        message is user-facing.
    """
    from experiments.plugins import load_object
    from strategies import STRATEGY_KINDS
    from strategies.base import Strategy

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
    obj, record = load_object(path, search_dir if ":" in kind else None, trusted=trusted)
    if record is not None and loaded is not None:
        loaded.append(record)
    if not isinstance(obj, type):
        raise ValueError(f"{path!r} is not a class (got {_describe(obj)})")
    config_class = getattr(obj, "config_class", None)
    if not (isinstance(config_class, type) and attrs.has(config_class)):
        raise ValueError(
            f"strategy class {path!r} needs a class attribute 'config_class' that is an attrs "
            "class (e.g. a subclass of strategies.config.StrategyConfig)"
        )
    if not issubclass(obj, Strategy):
        raise ValueError(f"{path!r} is not a subclass of strategies.base.Strategy")
    return path, obj


def _data_config_class() -> type:
    from venues.loaders import DataConfig

    return DataConfig


def _venue_config_class() -> type:
    from venues.orderbook.config import VenueConfig

    return VenueConfig


_ATTRS_FIELD_RE = re.compile(r"^'(\w+)' ")


def _axis_problem(location: str, value: Any, message: str) -> str:
    """``"KEY PATH: VALUE: MESSAGE"``, without the value twice when the message already ends with it."""
    tail = message.rpartition(": ")[2]
    try:
        same = float(tail) == float(value)
    except (TypeError, ValueError):
        same = tail in (str(value), repr(value))
    return f"{location}: {message}" if same else f"{location}: {value!r}: {message}"


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
    gone: set[str] = set()  # fields dropped after a reported problem: not "missing" as well
    for _ in range(len(raw) + 1):
        try:
            obj = converter.structure(raw, cls)
            return (obj if not found else None), found
        except (ClassValidationError, ForbiddenExtraKeysError, ValueError, TypeError) as exc:
            errs = _exception_messages(exc, section)
        keys_of = {e: e[0].partition(".")[2].split(".")[0].split("[")[0] for e in errs}
        new = [e for e in errs if e not in found and keys_of[e] not in gone]
        found += new
        dropped = [k for k in {keys_of[e] for e in new} if k in raw]
        if not dropped:
            break
        for k in dropped:
            raw.pop(k)
            gone.add(k)
    return None, found


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


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


def _space_size(axes: Sequence[Axis]) -> int | None:
    """Distinct points random/bayes can draw; ``None`` if some axis is continuous."""
    size = 1
    for a in axes:
        n = a.size
        if n is None:
            return None
        size *= len(set(_hashable(x) for x in a.values)) if a.range is None else n
    return size


def _hashable(x: Any) -> Any:
    return (type(x).__name__, x) if not isinstance(x, int | float) or isinstance(x, bool) else x


def _sweepable(tp: Any) -> bool:
    """Whether a field of this type can be swept (a scalar, not a list, table or attrs class)."""
    if _is_sequence_type(tp):
        return False
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp) or tp
    if isinstance(origin, type) and (attrs.has(origin) or issubclass(origin, Mapping)):
        return False
    return True


_MAX_GRID_POINTS = 1_000_000


def _parse_sweep_table(
    section: str, key: str, value: dict[str, Any], tp: Any, method: str
) -> tuple[Axis | None, list[str]]:
    """A ``{ low, high, ... }`` or ``{ choice = [...] }`` table → an :class:`Axis`."""
    base = f"{section}.{key}"
    problems: list[str] = []
    if "choice" in value:
        for k in value:
            if k != "choice":
                problems.append(
                    f"{base}.{k}: not allowed in a choice table (a choice table has only "
                    "'choice'; a range has low, high, step, log, n)"
                )
        choices = value["choice"]
        if not isinstance(choices, list):
            problems.append(f"{base}.choice: expected a list of values, got {_describe(choices)}")
        elif not choices:
            problems.append(f"{base}.choice: needs at least one value")
        if problems:
            return None, problems
        return Axis(section=section, key=key, column=key, values=tuple(choices),
                    kind="choice"), []

    for k in value:
        if k not in RANGE_KEYS:
            hint = difflib.get_close_matches(k, [*RANGE_KEYS, "choice"], n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(
                f"{base}.{k}: unknown range key{maybe}; valid keys: choice, high, log, low, n, step"
            )
    stripped = _strip_optional(tp)
    if stripped not in (int, float):
        problems.append(
            f"{base}: a range needs a numeric field; give a list or {{ choice = [...] }} instead"
        )
        return None, problems
    integer = stripped is int
    missing = [k for k in ("low", "high") if k not in value]
    if missing:
        problems.append(
            f"{base}: a range needs {' and '.join(missing)} (e.g. {{ low = 0.01, high = 1.0, "
            "step = 0.01 }), or give { choice = [...] }"
        )

    def number(k: str) -> Any:
        x = value.get(k)
        if x is None:
            return None
        if isinstance(x, bool) or not isinstance(x, int | float) or (
            integer and not isinstance(x, int)
        ):
            want = "an integer" if integer else "a number"
            problems.append(f"{base}.{k}: expected {want}, got {_describe(x)}")
            return None
        if not math.isfinite(x):
            problems.append(f"{base}.{k}: must be finite, got {x!r}")
            return None
        return x if integer else float(x)

    low, high, step = number("low"), number("high"), number("step")
    log = value.get("log", False)
    if not isinstance(log, bool):
        problems.append(f"{base}.log: expected true or false, got {_describe(log)}")
        log = False
    n = value.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
        problems.append(f"{base}.n: expected an integer, got {_describe(n)}")
        n = None
    elif n is not None and not 2 <= n <= _MAX_GRID_POINTS:
        problems.append(f"{base}.n: {n} must be >= 2 and <= {_MAX_GRID_POINTS}")
    if low is not None and high is not None and not low < high:
        problems.append(f"{base}: low {low!r} must be < high {high!r}")
    if step is not None and step <= 0:
        problems.append(f"{base}.step: {step!r} must be > 0")
    if step is not None and log:
        problems.append(
            f"{base}: step and log cannot be combined (a log range is continuous; add n = K "
            "for K log-spaced grid points)"
        )
    if step is not None and n is not None:
        problems.append(f"{base}: step and n cannot be combined")
    if log and low is not None and low <= 0:
        problems.append(f"{base}.low: {low!r} must be > 0 for a log range")
    if (not problems and step is not None
            and (high - low) / step + 1 > _MAX_GRID_POINTS):
        problems.append(f"{base}.step: {step!r} gives more than {_MAX_GRID_POINTS} points")
    if problems:
        return None, problems
    rng = Range(low=low, high=high, step=step, log=log, n=n, integer=integer)
    values = rng.grid_values()
    if method == "grid" and values is None:
        return None, [
            f"{base}: a continuous range cannot be a grid axis: add step = ... or n = ... "
            "(number of grid points), or use [sweep] method = \"random\" or \"bayes\""
        ]
    return Axis(section=section, key=key, column=key, values=values or (), kind="range",
                range=rng), []


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


def _key_of(path: str) -> str:
    """``"strategy.gamma[2].x"`` → ``"gamma"``."""
    return path.partition(".")[2].split(".")[0].split("[")[0]


def _representative(axis: Axis) -> Any:
    return axis.range.low if axis.range is not None else axis.values[0]


def random_points(axes: Sequence[Axis], root_seed: int, k: int, attempt: int = 0) -> dict:
    """Parameter values of random-search point ``k``.

    Parameters
    ----------
    axes : sequence of Axis
        The swept parameters.
    root_seed : int
        ``[sweep] seed``.
    k : int
        Point number (0-based).
    attempt : int, default 0
        Redraw number, used when draw ``k`` repeated an earlier point's parameters.

    Returns
    -------
    dict of str to object
        Axis column → value. The generator is
        ``np.random.default_rng(SeedSequence([root_seed, RANDOM_TAG, k]))`` (``[root_seed,
        RANDOM_TAG, k, attempt]`` for a redraw) and the axes are drawn in sorted column order,
        so point ``k`` depends only on the root seed, ``k`` and the space (not on the order of
        keys in the file, the worker count or scheduling): uniform over the values of a list,
        a choice or a step range; uniform or log-uniform over a continuous range (integers on
        an ``int`` field).
    """
    words = [int(root_seed), RANDOM_TAG, int(k)] + ([int(attempt)] if attempt else [])
    rng = np.random.default_rng(np.random.SeedSequence(words))
    return {a.column: a.sample(rng) for a in sorted(axes, key=lambda a: a.column)}


@attrs.frozen(kw_only=True, eq=False)
class _PointResolver:
    """Turns axis values into validated :class:`TrialSpec` objects (shared by grid, random and
    bayes; :func:`make_point_trials` is its public face)."""

    tables: dict[str, dict[str, Any]]
    classes: dict[str, type]
    sections: tuple[str, ...]
    axes: tuple[Axis, ...]
    column_of: dict[tuple[str, str], str]
    strategy_path: str
    kind: str
    root_seed: int
    replicates: int
    metric_interval_ns: int = 1_000_000_000

    def resolve(self, values: Mapping[str, Any]) -> tuple[dict | None, list[tuple[str, str]]]:
        """Structure both sections with the axes set to ``values`` (by column)."""
        resolved: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for section in self.sections:
            table = dict(self.tables[section])
            for a in self.axes:
                if a.section == section:
                    table[a.key] = values[a.column]
            obj, errs = _structure(table, self.classes[section], section)
            errors += errs
            resolved[section] = obj
        return (resolved if not errors else None), errors

    def trials(self, resolved: dict[str, Any], first_index: int) -> list[TrialSpec]:
        """The ``replicates`` trials of one resolved point."""
        unstructured = {s: converter.unstructure(resolved[s]) for s in self.sections}
        id_params = {"venue": unstructured["venue"],
                     "strategy": {"class": self.strategy_path, **unstructured["strategy"]}}
        extras: dict[str, Any] = {s: resolved[s] for s in self.sections if s in OPTIONAL_SECTIONS}
        id_params.update({s: unstructured[s] for s in extras})
        extras["metric_interval_ns"] = self.metric_interval_ns  # not part of the trial id
        params: dict[str, Any] = {"strategy_kind": self.kind}
        for section in self.sections:
            for key, value in unstructured[section].items():
                col = self.column_of[(section, key)]
                is_nested = isinstance(value, list | tuple | dict)
                params[col] = _canonical_json(value) if is_nested else value
        out = []
        for rep in range(self.replicates):
            tid = trial_id_for(id_params, rep)
            out.append(TrialSpec(
                index=first_index + rep, trial_id=tid, replicate=rep,
                seed=derive_seed(self.root_seed, tid), venue=resolved["venue"],
                strategy=resolved["strategy"], params=params, extras=extras,
            ))
        return out

    def check_axes(self) -> list[str]:
        """Each axis value (a range: its bounds) against its field's validators, the other
        axes at a representative value; plus problems of the fixed keys."""
        rep = {a.column: _representative(a) for a in self.axes}
        axis_keys = {(a.section, a.key) for a in self.axes}
        problems: list[str] = []
        for section in self.sections:
            table = dict(self.tables[section])
            table.update({a.key: rep[a.column] for a in self.axes if a.section == section})
            _, errs = _structure(table, self.classes[section], section)
            problems += [f"{p}: {m}" for p, m in errs if (section, _key_of(p)) not in axis_keys]
        for a in self.axes:
            if a.range is not None:
                candidates = [(a.location(bound="low"), a.range.low),
                              (a.location(bound="high"), a.range.high)]
            else:
                candidates = [(a.location(i), x) for i, x in enumerate(a.values)]
            table = dict(self.tables[a.section])
            table.update({b.key: rep[b.column] for b in self.axes if b.section == a.section})
            for loc, x in candidates:
                table[a.key] = x
                _, errs = _structure(table, self.classes[a.section], a.section)
                for p, m in errs:
                    line = _axis_problem(loc, x, m)
                    if _key_of(p) == a.key and line not in problems:
                        problems.append(line)
        return problems

    def random_trials(self, n_trials: int) -> tuple[list[TrialSpec], list[str]]:
        """``n_trials`` random points (:func:`random_points`), each ``replicates`` times; a
        draw that repeats an earlier point's parameters is redrawn."""
        trials: list[TrialSpec] = []
        seen: set[str] = set()
        for k in range(n_trials):
            for attempt in range(MAX_RANDOM_REDRAWS):
                values = random_points(self.axes, self.root_seed, k, attempt)
                resolved, errs = self.resolve(values)
                if resolved is None:
                    return [], [f"{p}: random point {k} ({values}): {m}" for p, m in errs]
                point = self.trials(resolved, k * self.replicates)
                if point[0].trial_id not in seen:
                    break
            else:
                return [], [f"sweep.n_trials: could not draw {n_trials} distinct parameter points"]
            seen.add(point[0].trial_id)
            trials += point
        return trials, []


def make_point_trials(spec: SweepSpec, values: Mapping[str, Any], point: int) -> list[TrialSpec]:
    """The ``replicates`` trials of one parameter point (used by bayes search).

    Parameters
    ----------
    spec : SweepSpec
        A loaded sweep.
    values : mapping of str to object
        A value for every axis, by column name (:attr:`Axis.column`).
    point : int
        Point number in proposal order; trial ``rep`` gets ``index = point * replicates + rep``.

    Returns
    -------
    list of TrialSpec
        One per replicate, ids and seeds as for a grid trial with the same parameters.

    Raises
    ------
    ValueError
        If a value is rejected by its field's validators (the message names the key).
    """
    resolver: _PointResolver = spec.resolver
    resolved, errs = resolver.resolve(values)
    if resolved is None:
        raise ValueError("; ".join(f"{p}: {m}" for p, m in errs))
    return resolver.trials(resolved, point * resolver.replicates)


def _expand(resolver: _PointResolver) -> tuple[list[TrialSpec], list[str]]:
    """Cartesian product of the axes → structured, validated trials."""
    axes = resolver.axes
    problems: list[str] = []
    seen_problems: set[str] = set()
    trials: list[TrialSpec] = []
    first_index: dict[str, int] = {}
    index = 0
    for combo in itertools.product(*(range(len(a.values)) for a in axes)):
        values = {a.column: a.values[i] for a, i in zip(axes, combo, strict=True)}
        resolved, errs = resolver.resolve(values)
        for p, m in errs:
            sec, key = p.partition(".")[0], _key_of(p)
            hit = [(a, i) for a, i in zip(axes, combo, strict=True)
                   if (a.section, a.key) == (sec, key)]
            line = _axis_problem(hit[0][0].location(hit[0][1]), hit[0][0].values[hit[0][1]], m) \
                if hit else f"{p}: {m}"
            if line not in seen_problems:
                seen_problems.add(line)
                problems.append(line)
        if resolved is None:
            index += resolver.replicates
            continue
        for trial in resolver.trials(resolved, index):
            tid = trial.trial_id
            if tid in first_index and "duplicate" not in seen_problems:
                seen_problems.add("duplicate")
                problems.append(
                    f"grid: trials {first_index[tid]} and {index} have identical parameters "
                    "(a repeated value on an axis?)"
                )
            first_index.setdefault(tid, index)
            trials.append(trial)
            index += 1
    return trials, problems
