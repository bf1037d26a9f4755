"""The tables of a sweep file: their names, the ``[sweep]`` table and the section classes.

:class:`SweepSection` is the ``[sweep]`` table; the other tables are structured into classes
that live with what they configure (``venues.loaders.DataConfig``,
``venues.orderbook.config.VenueConfig``, ``strategies.risk.RiskConfig``...), imported lazily here.
This module does not expand axes (:mod:`experiments.config.axes`) or read files
(:mod:`experiments.config.load`).

See Also
--------
experiments.jsonschema : the JSON Schema generated from these classes.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from attrs import validators as v

SECTIONS = ("sweep", "data", "venue", "strategy", "chain", "pool", "hedger", "risk", "signal")
"""Top-level tables of a sweep file, in the order they are validated."""


GRID_SECTIONS = ("venue", "strategy")
"""Tables whose scalar fields may be swept (given as a list, a range or a choice)."""

OPTIONAL_SECTIONS = ("chain", "pool", "hedger", "risk", "signal")
"""Tables a file may add (on-chain hedging; risk monitors); sweepable like [venue] and [strategy]."""


METHODS = ("grid", "random", "bayes")
"""Values of ``[sweep] method``."""

DIRECTIONS = ("maximize", "minimize")
"""Values of ``[sweep] direction``."""


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


def _data_config_class() -> type:
    from venues.loaders import DataConfig

    return DataConfig


def _venue_config_class() -> type:
    from venues.orderbook.config import VenueConfig

    return VenueConfig


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
        Worker processes; ``0`` chooses the count from the number of trials and a pilot
        timing of one trial (:func:`experiments.pilot.choose_workers`: one process when worker
        start-up would cost more than it saves, never more than the trials or the cores).
        ``--workers`` overrides it.
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
    batch_size : int or None, default None
        Number of trials that share one replay of the data in the batch kernel (trials whose
        data is the same are grouped, at most this many per batch). Absent (``None``): chosen
        from memory and cores. ``>= 1``.
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
    batch_size: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))

    @property
    def results_path(self) -> str:
        """Results file as configured (``results/<name>.duckdb`` when unset)."""
        return self.results if self.results is not None else f"results/{self.name}.duckdb"
