"""Trials: one parameter point × one replicate, with a stable id and seed.

:func:`trial_id_for` and :func:`derive_seed` make a trial independent of file order and
scheduling; :class:`_PointResolver` structures a point's tables and builds its trials (the grid
expansion :func:`_expand`, random draws and :func:`make_point_trials` for bayes all use it).
Parsing the file is :mod:`experiments.config.load`.

See Also
--------
experiments.executor : runs the trials.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from experiments.config.axes import Axis, _key_of, _representative, random_points
from experiments.config.convert import _axis_problem, _structure, converter
from experiments.config.schema import OPTIONAL_SECTIONS

if TYPE_CHECKING:
    from experiments.config.load import SweepSpec


MAX_RANDOM_REDRAWS = 10_000
"""Redraws of one random trial whose parameters repeat an earlier trial's before giving up."""


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
