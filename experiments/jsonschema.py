"""JSON Schema (draft 2020-12) of a sweep file, generated from the attrs classes.

``[sweep]`` from :class:`experiments.config.SweepSection`, ``[data]`` from
:class:`venues.loaders.DataConfig`, ``[venue]`` from :class:`venues.orderbook.config.VenueConfig`
and ``[strategy]`` as a ``oneOf`` on ``kind``: one branch per short name in
:data:`strategies.STRATEGY_KINDS` (its ``config_class``'s fields, nothing else) and one for a
dotted ``module:Class`` path (any keys: the class is only known when the file is loaded).

Types, defaults, ``enum`` (``attrs.validators.in_``), bounds (``gt``/``ge``/``lt``/``le``) and
``minLength`` come from the fields; descriptions from the ``Attributes`` section of the class
docstrings. Every sweepable scalar of ``[venue]`` and ``[strategy]`` accepts a value, a
non-empty list (grid axis), a range table ``{ low, high, step | log | n }`` (numeric fields) or
``{ choice = [...] }``. TOML has no null, so ``X | None`` fields accept only ``X``.

The schema checks shape, not everything :func:`experiments.config.load_sweep` checks (data files
exist, ``low < high``, ``n_trials`` against the size of the space...): ``mmsim validate`` is the
authority.
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any

import attrs

from experiments.config.fields import _field_types, _is_sequence_type, _strip_optional, _sweepable
from experiments.config.schema import DIRECTIONS, METHODS, SweepSection

__all__ = ["SCHEMA_DIALECT", "config_json_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_DOTTED_KIND = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$"


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of a sweep file.

    Returns
    -------
    dict
        A draft 2020-12 schema (JSON-serialisable) for the TOML document as parsed by
        :mod:`tomllib`.
    """
    from experiments.config import resolve_strategy
    from signals.pipeline import SignalConfig
    from strategies import STRATEGY_KINDS
    from strategies.hedger import HedgerConfig
    from strategies.risk import RiskConfig
    from venues.chain import ChainConfig, PoolConfig
    from venues.loaders import DataConfig
    from venues.orderbook.config import VenueConfig

    sweep = _table_schema(SweepSection, sweepable=False, required=())
    sweep["allOf"] = [{
        "if": {"properties": {"method": {"enum": ["random", "bayes"]}}, "required": ["method"]},
        "then": {"required": ["n_trials"]},
    }]
    sweep["properties"]["method"]["enum"] = list(METHODS)
    sweep["properties"]["direction"]["enum"] = list(DIRECTIONS)

    branches = []
    for kind, path in sorted(STRATEGY_KINDS.items()):
        _, cls = resolve_strategy(kind)
        branch = _table_schema(cls.config_class, sweepable=True)
        branch["title"] = f'kind = "{kind}" ({path})'
        branch["properties"] = {"kind": {"const": kind, "description": f"Strategy {path}."},
                                **branch["properties"]}
        branch["required"] = ["kind", *branch.get("required", [])]
        branches.append(branch)
    branches.append({
        "title": 'kind = "module:Class" (a user strategy)',
        "type": "object",
        "properties": {"kind": {
            "type": "string", "pattern": _DOTTED_KIND,
            "description": "Dotted path of a Strategy subclass; a module beside the sweep "
                           "file is importable. Its config_class's fields are the other keys.",
        }},
        "required": ["kind"],
    })

    return {
        "$schema": SCHEMA_DIALECT,
        "title": "mmsim sweep file",
        "description": "One experiment: [sweep] settings, the [data] to replay, the simulated "
                       "[venue] and the [strategy]. Scalars of [venue] and [strategy] may be "
                       "swept: a list (grid axis), { low, high, step | log | n } or "
                       "{ choice = [...] }.",
        "type": "object",
        "properties": {
            "sweep": {**sweep, "description": "Sweep settings."},
            "data": {**_table_schema(DataConfig, sweepable=False),
                     "description": "Recorded market data (one data set per file)."},
            "venue": {**_table_schema(VenueConfig, sweepable=True),
                      "description": "The simulated venue."},
            "strategy": {"description": "kind names the strategy class; the other keys are "
                                        "its config_class's fields.",
                         "type": "object", "oneOf": branches},
            "chain": {**_table_schema(ChainConfig, sweepable=True),
                      "description": "Optional: the simulated chain (blocks, inclusion model) for on-chain hedging."},
            "pool": {**_table_schema(PoolConfig, sweepable=True),
                     "description": "Optional: the AMM pool the hedger swaps on."},
            "hedger": {**_table_schema(HedgerConfig, sweepable=True),
                       "description": "Optional: keeps the desk's inventory inside a band (pool or book)."},
            "signal": {**_table_schema(SignalConfig, sweepable=True),
                       "description": "Optional: a walk-forward model signal for the quoter (alpha skew)."},
            "risk": {**_table_schema(RiskConfig, sweepable=True),
                     "description": "Optional: risk monitors (VaR, drawdown, inventory, stale quotes, data gaps)."},
        },
        "required": ["data", "strategy"],
        "additionalProperties": False,
        "$defs": _DEFS,
    }


_DEFS: dict[str, Any] = {
    "choice": {
        "type": "object",
        "description": "Categorical: one of these values (a grid sweeps all of them).",
        "properties": {"choice": {"type": "array", "minItems": 1}},
        "required": ["choice"],
        "additionalProperties": False,
    },
    "range": {
        "type": "object",
        "description": "{ low, high, step }: inclusive arithmetic range; { low, high, log = "
                       "true }: log-uniform; { low, high }: uniform; n = K: K grid points "
                       "(grid only).",
        "properties": {
            "low": {"type": "number"},
            "high": {"type": "number"},
            "step": {"type": "number", "exclusiveMinimum": 0},
            "log": {"type": "boolean", "default": False},
            "n": {"type": "integer", "minimum": 2},
        },
        "required": ["low", "high"],
        "additionalProperties": False,
        "not": {"required": ["step", "log"], "properties": {"log": {"const": True}}},
    },
}


def _table_schema(cls: type, *, sweepable: bool, required: tuple | None = None) -> dict:
    """Object schema of an attrs class's fields."""
    docs = _attribute_docs(cls)
    types_ = _field_types(cls)
    props: dict[str, Any] = {}
    req = []
    for f in attrs.fields(cls):
        if not f.init:
            continue
        tp = types_[f.name]
        value = _value_schema(tp, f.validator)
        if sweepable and _sweepable(tp):
            options = [value, {"type": "array", "items": value, "minItems": 1,
                               "description": "Grid axis: one trial per value."}]
            if _strip_optional(tp) in (int, float):
                options.append(_range_schema(value))
            options.append({"$ref": "#/$defs/choice"})
            schema: dict[str, Any] = {"anyOf": options}
        else:
            schema = value
        if f.name in docs:
            schema["description"] = docs[f.name]
        if f.default is not attrs.NOTHING and not isinstance(f.default, attrs.Factory):
            if isinstance(f.default, bool | int | float | str):
                schema["default"] = f.default
        elif f.default is attrs.NOTHING:
            req.append(f.name)
        props[f.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    req = list(required) if required is not None else req
    if req:
        out["required"] = req
    return out


def _range_schema(value: dict) -> dict:
    bounds = {k: value[k] for k in ("type", "minimum", "maximum", "exclusiveMinimum",
                                    "exclusiveMaximum") if k in value}
    step = {"type": value.get("type", "number"), "exclusiveMinimum": 0}
    return {"allOf": [{"$ref": "#/$defs/range"},
                      {"properties": {"low": bounds, "high": bounds, "step": step}}]}


def _value_schema(tp: Any, validator: Any) -> dict[str, Any]:
    """Schema of one TOML value of type ``tp`` with the constraints of ``validator``."""
    tp = _strip_optional(tp)
    out: dict[str, Any]
    if _is_sequence_type(tp):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        out = {"type": "array"}
        if args:
            out["items"] = _value_schema(args[0], None)
    elif tp is bool:
        out = {"type": "boolean"}
    elif tp is int:
        out = {"type": "integer"}
    elif tp is float:
        out = {"type": "number"}
    elif tp is str:
        out = {"type": "string"}
    elif isinstance(tp, type) and attrs.has(tp):
        out = _table_schema(tp, sweepable=False)
    else:
        out = {}
    for val in _flatten_validators(validator):
        name = type(val).__name__
        if name == "_NumberValidator":
            key = {">": "exclusiveMinimum", ">=": "minimum", "<": "exclusiveMaximum",
                   "<=": "maximum"}.get(getattr(val, "compare_op", ""))
            if key:
                out[key] = val.bound
        elif name == "_InValidator":
            out["enum"] = list(val.options)
        elif name == "_MinLengthValidator":
            out["minItems" if out.get("type") == "array" else "minLength"] = val.min_length
        elif name == "_MaxLengthValidator":
            out["maxItems" if out.get("type") == "array" else "maxLength"] = val.max_length
    return out


def _flatten_validators(validator: Any) -> list[Any]:
    if validator is None:
        return []
    name = type(validator).__name__
    if name == "_OptionalValidator":
        return _flatten_validators(validator.validator)
    if name == "_AndValidator":
        return [x for v in validator._validators for x in _flatten_validators(v)]
    if isinstance(validator, list | tuple):
        return [x for v in validator for x in _flatten_validators(v)]
    return [validator]


_SECTION_RE = re.compile(r"^(\w[\w ]*)\n-{3,}\s*$", re.M)


def _attribute_docs(cls: type) -> dict[str, str]:
    """Field name → description from the ``Attributes`` sections of ``cls`` and its bases."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        doc = inspect.cleandoc(klass.__doc__ or "") if "__doc__" in vars(klass) else ""
        out.update(_parse_attributes(doc))
    return out


def _parse_attributes(doc: str) -> dict[str, str]:
    lines = doc.replace("\\\n", "").splitlines()
    try:
        start = next(i for i, s in enumerate(lines)
                     if s.strip() == "Attributes" and i + 1 < len(lines)
                     and set(lines[i + 1].strip()) == {"-"})
    except StopIteration:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    head = ""
    body: list[str] = []

    def flush() -> None:
        text = " ".join(body).strip()
        desc = f"{text} ({head})" if head and text else (text or head)
        for n in names:
            out[n] = desc

    i = start + 2
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and set(lines[i + 1].strip()) == {"-"} \
                and not line.startswith(" "):
            break  # next section
        if line and not line.startswith(" "):
            flush()
            name_part, _, head = line.partition(" : ")
            names = [n.strip() for n in name_part.split(",")]
            head = head.strip()
            body = []
        elif line.strip():
            body.append(line.strip())
        i += 1
    flush()
    return out
