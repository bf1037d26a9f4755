"""Sweep axes: lists, ranges and choices of one parameter, and seeded random draws.

A list given for a scalar field, a ``{ low, high [, step | log | n] }`` range table or a
``{ choice = [...] }`` table becomes an :class:`Axis`; :func:`random_points` draws the values
of random-search point ``k``. Turning axis values into trials is
:mod:`experiments.config.trials`.

See Also
--------
experiments.search : grid, random and Optuna sources over these axes.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from experiments.config.convert import _describe
from experiments.config.fields import _strip_optional

RANGE_KEYS = ("low", "high", "step", "log", "n")
"""Keys of a range table (``{ choice = [...] }`` is the other kind of sweep table)."""

RANDOM_TAG = 0x52414E44
"""``b"RAND"``: second word of the seed sequence of random-search draws (:func:`random_points`)."""


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
