"""Loading user code: the strategy class named by ``[strategy] kind``.

A short name from :data:`strategies.STRATEGY_KINDS` or a dotted ``module:Class`` path to a
user subclass (imported by :mod:`experiments.plugins`, hash-checked on resume). Venue classes
named by ``[venue] kind`` are loaded in :func:`experiments.config.load.load_sweep_text`.

See Also
--------
experiments.plugins : imports user modules from beside the sweep file.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

import attrs

from experiments.config.convert import _describe


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
