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

The package does not run trials (:mod:`experiments.executor`) and does not touch the results
database (:mod:`experiments.store`). It is split by concern; every name below is importable from
``experiments.config`` itself:

- :mod:`experiments.config.schema`: the tables, :class:`SweepSection`, durations;
- :mod:`experiments.config.convert`: the cattrs converter, :class:`ConfigError`, error lines;
- :mod:`experiments.config.fields`: field types, sweepable fields, ``trials`` columns;
- :mod:`experiments.config.axes`: :class:`Axis`, :class:`Range`, :func:`random_points`;
- :mod:`experiments.config.trials`: :class:`TrialSpec`, trial ids and seeds, grid expansion;
- :mod:`experiments.config.strategy`: :func:`resolve_strategy` (loading user code);
- :mod:`experiments.config.load`: :func:`load_sweep`, :class:`SweepSpec`.

See Also
--------
experiments.executor : runs the trials of a :class:`SweepSpec`.
experiments.store : the DuckDB tables.
"""

from __future__ import annotations

# ruff: noqa: F401 (re-exports)
# Every name the single module experiments/config.py defined (private helpers included: code
# written against it imports them from here) is re-exported from the module that now holds it.
from experiments.config.axes import (
    _MAX_GRID_POINTS,
    RANDOM_TAG,
    RANGE_KEYS,
    Axis,
    Range,
    _hashable,
    _key_of,
    _parse_sweep_table,
    _representative,
    _space_size,
    random_points,
)
from experiments.config.convert import (
    _ATTRS_FIELD_RE,
    ConfigError,
    _axis_problem,
    _check_keys,
    _describe,
    _exception_messages,
    _make_converter,
    _structure,
    _structure_bool,
    _structure_float,
    _structure_int,
    _structure_str,
    _WrongTypeError,
    converter,
)
from experiments.config.fields import (
    RESERVED_COLUMNS,
    _field_types,
    _is_sequence_type,
    _param_columns,
    _sql_type,
    _strip_optional,
    _sweepable,
)
from experiments.config.load import (
    MAX_TRIALS,
    SweepSpec,
    _check_method,
    _load_data,
    _non_finite,
    _planned_trials,
    load_sweep,
    load_sweep_text,
)
from experiments.config.schema import (
    _DURATION_UNITS,
    DIRECTIONS,
    GRID_SECTIONS,
    METHODS,
    OPTIONAL_SECTIONS,
    SECTIONS,
    SweepSection,
    _data_config_class,
    _duration,
    _optional_section_class,
    _venue_config_class,
    parse_duration_ns,
)
from experiments.config.strategy import (
    resolve_strategy,
)
from experiments.config.trials import (
    MAX_RANDOM_REDRAWS,
    TrialSpec,
    _canonical_json,
    _expand,
    _PointResolver,
    derive_seed,
    make_point_trials,
    trial_id_for,
)

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
    "load_sweep_text",
    "make_point_trials",
    "parse_duration_ns",
    "random_points",
    "resolve_strategy",
    "trial_id_for",
]
