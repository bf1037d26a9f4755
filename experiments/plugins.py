"""Loading user code named in a sweep file (``kind = "module:Class"``), and nothing else.

A sweep file may name a user class by an explicit dotted path, ``"module:Class"``; that is the
only way a sweep file makes mmsim import code that is not part of mmsim. The rules:

* **Only the named module.** The sweep file's folder is never put on ``sys.path``. A module
  ``name.py`` beside the sweep file is executed from its own bytes (read once, hashed, compiled
  from exactly those bytes) and registered in ``sys.modules`` under ``name``; other files in
  that folder (a planted ``numpy.py`` or ``colorama.py``) are never imported. The module itself
  can import installed packages, not its neighbours.
* **No shadowing.** A name that resolves to an installed module (found on ``sys.path`` without
  the sweep file's folder) is imported from there; if a *different* file of the same name also
  lies beside the sweep file, the kind is refused (ambiguous), and neither file is executed.
  Names that are mmsim's own packages (:data:`MMSIM_PACKAGES`) are never looked up beside the
  sweep file. Built-in short kinds (``"glft"``) go straight to mmsim's modules.
* **Hash pinning.** Every user module imported is returned as a :class:`UserModule` with the
  SHA-256 of its file; a sweep stores them (``sweeps.user_modules``) and ``mmsim resume`` passes
  them back as ``trusted``: a module whose file changed, or that was not recorded, is refused
  before any of its code runs.

Loading a dotted path beside the sweep file supports a top-level module (``name.py``) only;
packages must be installed (``pip install -e``).

See Also
--------
experiments.config : calls :func:`load_object` for ``[strategy] kind`` and ``[venue] kind``.
experiments.worker : re-loads the recorded modules in every worker (:func:`load_recorded`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "MMSIM_PACKAGES",
    "PluginError",
    "UserModule",
    "file_sha256",
    "load_module",
    "load_object",
    "load_recorded",
    "split_path",
]

MMSIM_PACKAGES = frozenset({"engine", "components", "strategies", "venues", "experiments", "signals"})
"""Top-level packages of mmsim itself: a dotted path into them is not user code."""

_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_QUALNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MARK = "__mmsim_user_sha256__"


class PluginError(ValueError):
    """A dotted path that cannot (or must not) be loaded; the message is user-facing."""


@attrs.frozen
class UserModule:
    """A user module imported for a sweep.

    Attributes
    ----------
    name : str
        Module name as written in the sweep file (``"my_quoters"``).
    file : str
        Absolute path of the file executed.
    sha256 : str
        64 hex digits, SHA-256 of the file's bytes at load time.
    """

    name: str
    file: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        """``{"name", "file", "sha256"}`` (stored in ``sweeps.user_modules``)."""
        return {"name": self.name, "file": self.file, "sha256": self.sha256}


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes.

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def split_path(path: str) -> tuple[str, str]:
    """``"module:Qual.Name"`` → ``("module", "Qual.Name")``.

    Raises
    ------
    PluginError
        If either part is empty or not a valid dotted Python identifier.
    """
    module_name, sep, qualname = path.partition(":")
    if not sep or not _MODULE_RE.match(module_name) or not _QUALNAME_RE.match(qualname):
        raise PluginError(f"{path!r} must look like 'module:ClassName' (Python identifiers)")
    return module_name, qualname


def _installed_origin(module_name: str) -> Path | None:
    """File of an importable (installed) module, found without executing it; ``None`` if absent.

    Searches ``sys.meta_path`` (hence ``sys.path``) as ``import`` would, ignoring a module this
    file registered from beside a sweep file. For a dotted name the parent packages are imported
    (they are installed code).
    """
    loaded = sys.modules.get(module_name)
    if loaded is not None and getattr(loaded, _MARK, None) is None:
        f = getattr(loaded, "__file__", None)
        return Path(f) if f else Path("<built-in>")
    if "." in module_name:
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            return None
    else:
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            try:
                spec = find(module_name, None)
            except (ImportError, ValueError):
                spec = None
            if spec is not None:
                break
    if spec is None:
        return None
    if spec.origin in (None, "built-in", "frozen"):
        return Path(f"<{spec.origin or 'namespace'}>")
    return Path(spec.origin)


def _exec_file(name: str, file: Path, data: bytes, sha: str) -> Any:
    """Execute ``data`` (the bytes of ``file``) as module ``name``; register it in sys.modules."""
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None:  # pragma: no cover - a .py path always gives a spec
        raise PluginError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    setattr(module, _MARK, sha)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # classes pickle by module name (spawned workers reload it)
    try:
        code = compile(data, str(file), "exec")
        exec(code, module.__dict__)  # noqa: S102 - this *is* the explicitly named user module
    except BaseException:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise
    return module


def _check_trusted(name: str, file: Path, sha: str, trusted: Mapping[str, str] | None) -> None:
    if trusted is None:
        return
    want = trusted.get(name)
    if want is None:
        raise PluginError(f"user module {name!r} ({file}) was not recorded when the sweep ran; "
                          "refusing to import it")
    if want != sha:
        raise PluginError(f"user module {name!r} changed since the sweep ran: {file} has sha256 "
                          f"{sha[:12]}…, the results file recorded {want[:12]}…; refusing to "
                          "import it")


def _load_module(module_name: str, search_dir: Path | None,
                 trusted: Mapping[str, str] | None) -> tuple[Any, UserModule | None]:
    top = module_name.split(".")[0]
    if top in MMSIM_PACKAGES:
        return importlib.import_module(module_name), None
    local: Path | None = None
    if search_dir is not None and "." not in module_name:
        cand = Path(search_dir) / f"{module_name}.py"
        if cand.is_file():
            local = cand.resolve()
    installed = _installed_origin(module_name)
    if installed is not None:
        same = local is not None and installed.is_file() and (
            installed.resolve() == local or file_sha256(installed) == file_sha256(local))
        if local is not None and not same:
            raise PluginError(
                f"module {module_name!r} is both an installed module ({installed}) and a "
                f"different file beside the sweep file ({local}); refusing to import either: "
                "rename the file")
        record = None
        if installed.is_file():
            sha = file_sha256(installed)
            _check_trusted(module_name, installed, sha, trusted)
            record = UserModule(module_name, str(installed), sha)
        elif trusted is not None:
            raise PluginError(f"module {module_name!r} has no file to verify; refusing to import it")
        return importlib.import_module(module_name), record
    if local is None:
        where = f" nor beside the sweep file in {search_dir}" if search_dir is not None else ""
        raise PluginError(f"cannot import module {module_name!r}: not installed{where} (a user "
                          f"module must "
                          f"be a file {module_name}.py next to the sweep file or an installed "
                          "package)")
    data = local.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    _check_trusted(module_name, local, sha, trusted)
    loaded = sys.modules.get(module_name)
    if loaded is not None and getattr(loaded, _MARK, None) == sha and getattr(
            loaded, "__file__", None) == str(local):
        return loaded, UserModule(module_name, str(local), sha)
    return _exec_file(module_name, local, data, sha), UserModule(module_name, str(local), sha)


def load_object(path: str, search_dir: str | Path | None = None, *,
                trusted: Mapping[str, str] | None = None) -> tuple[Any, UserModule | None]:
    """Import the object named by a dotted ``"module:Qual.Name"`` path, following the module rules.

    Parameters
    ----------
    path : str
        ``"module:Class"``; ``module`` is a top-level module file beside the sweep file, an
        installed module, or one of mmsim's own modules.
    search_dir : str or Path or None, default None
        Folder of the sweep file; only ``<search_dir>/<module>.py`` is looked at (never put on
        ``sys.path``).
    trusted : mapping of str to str or None, default None
        Module name → expected SHA-256 (``mmsim resume``); ``None`` accepts any file.

    Returns
    -------
    tuple of (object, UserModule or None)
        The object and the user module it came from (``None`` for mmsim's own modules).

    Raises
    ------
    PluginError
        Malformed path, module not found, ambiguous (shadowing) name, hash mismatch, the module
        raised while importing, or the attribute is missing.
    """
    module_name, qualname = split_path(path)
    try:
        obj, record = _load_module(module_name, Path(search_dir) if search_dir else None, trusted)
    except PluginError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is a config problem
        raise PluginError(f"cannot import module {module_name!r} ({type(exc).__name__}: {exc})") from None
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"module {module_name!r} has no attribute {qualname!r}") from None
    return obj, record


def load_module(module_name: str, search_dir: str | Path | None = None, *,
                trusted: Mapping[str, str] | None = None) -> tuple[Any, UserModule | None]:
    """Import one module by the rules of :func:`load_object` (the module part of a path).

    Raises
    ------
    PluginError
        As :func:`load_object`, attribute lookup aside.
    """
    split_path(f"{module_name}:x")
    try:
        return _load_module(module_name, Path(search_dir) if search_dir else None, trusted)
    except PluginError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is a config problem
        raise PluginError(f"cannot import module {module_name!r} ({type(exc).__name__}: {exc})") from None


def load_recorded(modules: list[UserModule] | tuple[UserModule, ...]) -> None:
    """Load recorded user modules (in a worker) from their files, verifying each hash first.

    Parameters
    ----------
    modules : sequence of UserModule
        As recorded by the parent.

    Raises
    ------
    PluginError
        If a file changed since the parent loaded it.
    """
    for m in modules:
        search = Path(m.file).parent
        load_module(m.name, search, trusted={m.name: m.sha256})
