"""TOML values → attrs objects: the one cattrs converter and the error collector.

Strict scalar hooks (no ``"3"`` → 3, no 1.5 → 1), :class:`ConfigError` and the helpers that turn
cattrs/attrs exceptions into ``key.path: message`` lines, every field's problem at once. What the
tables are is in :mod:`experiments.config.schema`; sweep axes in :mod:`experiments.config.axes`.

See Also
--------
experiments.config.load : calls :func:`_structure` on every table of a sweep file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError


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
