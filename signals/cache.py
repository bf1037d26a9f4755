"""On-disk cache of trained models, keyed by a content hash of everything that made them.

A sweep over market-making parameters (γ, κ, spreads, ...) reuses the same learned signal in
every trial: :func:`load_or_train` trains each distinct model once and every later trial loads
it. The key (:func:`cache_key`) is a SHA-256 over a canonical JSON of

- a fingerprint of the data (:func:`data_fingerprint`: dtype, shape and bytes of arrays, or the
  contents of files),
- the features config, the labels config, the model parameters (attrs classes, dicts, lists,
  scalars; arrays are replaced by their fingerprint),
- the library versions (:func:`library_versions`: Python, numpy, xgboost, torch, scikit-learn,
  this cache's format number, mmsim's version and a hash of the ``signals`` package's source
  files, so a code change never serves a stale model),
- the training device (:func:`training_device`: ``"cpu"`` or ``"cuda"``; GPU training in bf16
  gives a different model than CPU float32).

Any change in any part gives a different key, hence a retrain.

Layout
------
One directory per key, ``CACHE_DIR/<key>/``: ``manifest.json`` (format, key, the class of the
model) and ``model/`` written by the model's ``save(dir)`` (XGBoost: ``Booster.save_model``
JSON; torch: ``state_dict`` file + config JSON). A model class must provide ``save(path)`` and
a classmethod ``load(path)``, and live in a ``signals.*`` module (no other class is imported
back from a cache directory).

Writes are atomic: the entry is written into a temporary directory beside it and renamed into
place with :func:`os.replace`; a failure (in training or while saving) removes the temporary
directory, so a reader never sees a partial entry. Concurrent trainers of the same key are
serialised by an advisory lock file (``fcntl.flock``, released by the kernel when a process
dies), so that parallel workers of a sweep train a model once and the others wait, then load it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import attrs
import numpy as np

__all__ = [
    "CACHE_FORMAT",
    "cache_key",
    "data_fingerprint",
    "default_cache_dir",
    "library_versions",
    "signals_source_hash",
    "training_device",
    "load_cached",
    "load_or_train",
]

CACHE_FORMAT = 1
"""Version of the on-disk layout; part of every key."""

T = TypeVar("T")

_LIBRARIES = ("numpy", "xgboost", "torch", "scikit-learn", "mmsim")


def default_cache_dir() -> Path:
    """``$MMSIM_MODEL_CACHE`` if set, else ``~/.cache/mmsim/models``."""
    env = os.environ.get("MMSIM_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mmsim" / "models"


def signals_source_hash() -> str:
    """SHA-256 of the source files of the ``signals`` package (names and bytes, sorted by name).

    Returns
    -------
    str
        64 hex digits; changes whenever any ``signals/*.py`` file changes (a git revision
        would miss uncommitted edits and is absent in an installed copy).
    """
    h = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def training_device() -> str:
    """The device a model trained now in this process would use: ``"cuda"`` or ``"cpu"``.

    ``"cuda"`` when the sweep's GPU semaphore is installed (:func:`engine.gpu.installed`)
    and a GPU is visible (:func:`engine.gpu.visible_gpu_count`), else ``"cpu"``.
    """
    from engine.gpu import installed, visible_gpu_count

    return "cuda" if installed() and visible_gpu_count() > 0 else "cpu"


def library_versions() -> dict[str, str | None]:
    """Versions that change what training produces (``None`` for a library not installed).

    Returns
    -------
    dict of str to str or None
        ``python``, ``numpy``, ``xgboost``, ``torch``, ``scikit-learn`` and ``mmsim`` (read
        from package metadata, nothing is imported), ``cache_format`` and ``signals_source``
        (:func:`signals_source_hash`).
    """
    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "cache_format": str(CACHE_FORMAT),
        "signals_source": signals_source_hash(),
    }
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _hash_array(h: Any, arr: np.ndarray) -> None:
    if arr.dtype.hasobject:
        raise TypeError("cannot fingerprint an object-dtype array; convert it to numbers or strings first")
    arr = np.ascontiguousarray(arr)
    h.update(f"ndarray|{arr.dtype.str}|{arr.shape}|".encode())
    h.update(memoryview(arr).cast("B"))


def _hash_item(h: Any, obj: Any) -> None:
    if isinstance(obj, np.ndarray):
        _hash_array(h, obj)
    elif isinstance(obj, bytes | bytearray | memoryview):
        h.update(b"bytes|")
        h.update(bytes(obj))
    elif isinstance(obj, str | os.PathLike):
        path = Path(obj)
        h.update(f"file|{path.name}|{path.stat().st_size}|".encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    elif hasattr(obj, "columns") and hasattr(obj, "index") and hasattr(obj, "to_numpy"):  # DataFrame
        h.update(b"frame|")
        h.update(json.dumps([str(c) for c in obj.columns]).encode())
        _hash_array(h, np.asarray(obj.index.to_numpy()))
        for c in obj.columns:
            _hash_array(h, np.asarray(obj[c].to_numpy()))
    elif hasattr(obj, "to_numpy"):  # Series, Arrow arrays
        _hash_array(h, np.asarray(obj.to_numpy()))
    else:
        _hash_array(h, np.asarray(obj))


def data_fingerprint(*items: Any) -> str:
    """SHA-256 of data: arrays (dtype, shape, bytes), files (name, size, contents), frames.

    Parameters
    ----------
    *items : array-like, bytes, str or os.PathLike, pandas objects
        In order; a ``str``/``PathLike`` is a file whose contents are hashed (a change of the
        directory it sits in does not change the fingerprint).

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    TypeError
        For object-dtype arrays (their bytes are pointers).
    """
    h = hashlib.sha256()
    h.update(f"n={len(items)}|".encode())
    for item in items:
        _hash_item(h, item)
        h.update(b"|")
    return h.hexdigest()


def _canonical(obj: Any) -> Any:
    """A JSON-able, order-independent stand-in for ``obj`` (raises on anything ambiguous)."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"float": repr(obj)}
    if isinstance(obj, np.generic):
        return _canonical(obj.item())
    if isinstance(obj, np.ndarray):
        return {"ndarray": data_fingerprint(obj)}
    if attrs.has(type(obj)):
        cls = type(obj)
        fields = {a.name: _canonical(getattr(obj, a.name)) for a in attrs.fields(cls)}
        return {"class": f"{cls.__module__}.{cls.__qualname__}", "fields": fields}
    if isinstance(obj, Mapping):
        return {"dict": sorted(([str(k), _canonical(val)] for k, val in obj.items()), key=lambda kv: kv[0])}
    if isinstance(obj, list | tuple):
        return [_canonical(x) for x in obj]
    if isinstance(obj, set | frozenset):
        return {"set": sorted(json.dumps(_canonical(x), sort_keys=True) for x in obj)}
    if isinstance(obj, os.PathLike):
        return {"path": os.fspath(obj)}
    raise TypeError(f"cannot make a cache key from {type(obj).__name__}: {obj!r}")


def cache_key(
    *,
    data: Any,
    features: Any = None,
    labels: Any = None,
    model: Any = None,
    versions: Mapping[str, Any] | None = None,
    device: str | None = None,
    extra: Any = None,
) -> str:
    """Content hash naming a trained model.

    Parameters
    ----------
    data : str or array-like or Any
        The data fingerprint (:func:`data_fingerprint`), or anything :func:`data_fingerprint`
        accepts (then fingerprinted here); a 64-hex string is taken as a fingerprint.
    features, labels, model : attrs instance, dict, list, scalar, optional
        The features config, labels config and model parameters.
    versions : mapping, optional
        Library and code versions; ``None`` → :func:`library_versions`.
    device : str, optional
        Training device; ``None`` → :func:`training_device`.
    extra : optional
        Anything else that changes the model (e.g. the fold of a walk-forward).

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    TypeError
        If a part holds something without a canonical form (arbitrary objects).
    """
    if isinstance(data, str) and len(data) == 64 and all(c in "0123456789abcdef" for c in data):
        fp = data
    else:
        fp = data_fingerprint(data)
    payload = {
        "data": fp,
        "features": _canonical(features),
        "labels": _canonical(labels),
        "model": _canonical(model),
        "versions": _canonical(dict(library_versions() if versions is None else versions)),
        "device": training_device() if device is None else device,
        "extra": _canonical(extra),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve_class(path: str) -> Any:
    module, _, qualname = path.partition(":")
    if not (module == "signals" or module.startswith("signals.")):
        raise ValueError(f"refusing to load a cached model of class {path!r} (only signals.* classes)")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def load_cached(key: str, cache_dir: str | os.PathLike) -> Any | None:
    """The model cached under ``key``, or ``None`` when there is no complete entry.

    Parameters
    ----------
    key : str
        From :func:`cache_key`.
    cache_dir : str or os.PathLike

    Returns
    -------
    object or None
        ``cls.load(entry / "model")`` for the class named in the manifest.
    """
    entry = Path(cache_dir) / key
    manifest = entry / "manifest.json"
    if not manifest.is_file():
        return None
    info = json.loads(manifest.read_text())
    if info.get("format") != CACHE_FORMAT or info.get("key") != key:
        return None
    return _resolve_class(info["class"]).load(entry / "model")


def _write_entry(entry: Path, key: str, model: Any) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key[:16]}-", dir=entry.parent))
    try:
        model.save(tmp / "model")
        manifest = {"format": CACHE_FORMAT, "key": key, "class": _class_path(model)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
        try:
            os.replace(tmp, entry)
        except OSError:
            if not (entry / "manifest.json").is_file():  # not a concurrent writer's finished entry
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _key_lock(cache_dir: Path, key: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
        yield
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{key}.lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def load_or_train(key: str, train_fn: Callable[[], T], cache_dir: str | os.PathLike | None) -> T:
    """The model cached under ``key``; on a miss, ``train_fn()`` and store its result atomically.

    Parameters
    ----------
    key : str
        From :func:`cache_key`.
    train_fn : callable
        No arguments; returns a model with ``save(path)`` whose class has ``load(path)`` and
        lives in a ``signals.*`` module.
    cache_dir : str or os.PathLike or None
        Cache root; ``None`` → no caching (``train_fn()`` every time).

    Returns
    -------
    object
        The loaded model (a hit: equal to the trained one, same predictions) or the freshly
        trained one (a miss).

    Notes
    -----
    Workers training the same key at once take turns on a lock file: the first trains and
    stores, the rest find the entry and load it. If ``train_fn`` or the save raises, nothing is
    left in ``cache_dir`` but the (empty) lock file, and the exception propagates.
    """
    if cache_dir is None:
        return train_fn()
    root = Path(cache_dir)
    hit = load_cached(key, root)
    if hit is not None:
        return hit
    with _key_lock(root, key):
        hit = load_cached(key, root)  # another worker may have trained it while we waited
        if hit is not None:
            return hit
        model = train_fn()
        _write_entry(root / key, key, model)
        return model
