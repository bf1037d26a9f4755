"""signals.cache: content-hash keys, hit/miss, equal models on a hit, atomic writes, one trainer per key."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import attrs
import numpy as np
import pytest

pytest.importorskip("xgboost")

from signals.cache import cache_key, data_fingerprint, library_versions, load_cached, load_or_train  # noqa: E402
from signals.models import XGBModel, XGBParams  # noqa: E402


@attrs.frozen
class _Features:
    window: int = 20
    blocks: tuple = ("ffd", "rsi")


@attrs.frozen
class _Labels:
    pt: float = 2.0
    sl: float = 1.0


def _data(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(float)
    return X, y


def _trainer(calls: list, params: XGBParams | None = None, seed: int = 0):
    X, y = _data(seed=seed)

    def train():
        calls.append(1)
        return XGBModel(params or XGBParams(n_estimators=5)).fit(X, y)

    return train


KW = dict(data="0" * 64, features=_Features(), labels=_Labels(), model=XGBParams(n_estimators=5))


def test_key_is_deterministic_and_order_free():
    assert cache_key(**KW) == cache_key(**KW)
    a = cache_key(data="0" * 64, features={"a": 1, "b": [1, 2.5]}, model={"x": None})
    b = cache_key(data="0" * 64, features={"b": [1, 2.5], "a": 1}, model={"x": None})
    assert a == b and len(a) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"data": "1" + "0" * 63},
        {"features": _Features(window=21)},
        {"features": _Features(blocks=("ffd",))},
        {"labels": _Labels(pt=2.5)},
        {"model": XGBParams(n_estimators=6)},
        {"model": XGBParams(n_estimators=5, seed=1)},
        {"versions": {**library_versions(), "xgboost": "0.0.1"}},
        {"versions": {**library_versions(), "signals_source": "0" * 64}},
        {"versions": {**library_versions(), "mmsim": "0.0.0"}},
        {"device": "cuda"},
        {"extra": {"fold": 1}},
    ],
)
def test_every_part_changes_the_key(change):
    assert cache_key(**{**KW, **change}) != cache_key(**KW)


def test_data_fingerprint(tmp_path):
    X, y = _data()
    assert data_fingerprint(X, y) == data_fingerprint(X.copy(), y.copy())
    assert data_fingerprint(X, y) != data_fingerprint(y, X)
    assert data_fingerprint(X) != data_fingerprint(X.astype(np.float64))  # dtype
    assert data_fingerprint(X) != data_fingerprint(X.reshape(-1))  # shape
    X2 = X.copy()
    X2[17, 2] += 1e-6
    assert data_fingerprint(X) != data_fingerprint(X2)
    assert data_fingerprint(np.asfortranarray(X)) == data_fingerprint(X)
    f = tmp_path / "trades.csv"
    f.write_text("1,2\n")
    fp = data_fingerprint(f)
    f.write_text("1,3\n")
    assert data_fingerprint(f) != fp
    with pytest.raises(TypeError):
        data_fingerprint(np.array([object()]))
    with pytest.raises(TypeError):
        cache_key(data="0" * 64, model=object())


def test_miss_then_hit_returns_an_equal_model(tmp_path):
    calls: list = []
    key = cache_key(**KW)
    a = load_or_train(key, _trainer(calls), tmp_path)
    b = load_or_train(key, _trainer(calls), tmp_path)
    assert len(calls) == 1
    assert isinstance(b, XGBModel) and b is not a
    X, _ = _data(seed=5)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.booster.save_raw("json") == b.booster.save_raw("json")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [key]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_changing_the_key_retrains(tmp_path):
    calls: list = []
    for change in ({}, {"labels": _Labels(sl=1.5)}, {"model": XGBParams(n_estimators=5, max_depth=2)}, {}):
        load_or_train(cache_key(**{**KW, **change}), _trainer(calls), tmp_path)
    assert len(calls) == 3  # the last one is the first key again: a hit


def test_no_cache_dir_always_trains():
    calls: list = []
    load_or_train("k" * 64, _trainer(calls), None)
    load_or_train("k" * 64, _trainer(calls), None)
    assert len(calls) == 2


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    calls: list = []
    key = cache_key(**KW)

    def broken_save(self, path):
        path.mkdir(parents=True)
        (path / "model.json").write_text('{"partial": ')  # half written, then the disk fills up
        raise OSError("no space left on device")

    monkeypatch.setattr(XGBModel, "save", broken_save)
    with pytest.raises(OSError, match="no space"):
        load_or_train(key, _trainer(calls), tmp_path)
    leftovers = [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
    assert load_cached(key, tmp_path) is None
    monkeypatch.undo()
    load_or_train(key, _trainer(calls), tmp_path)  # the next call trains again and stores
    assert len(calls) == 2 and load_cached(key, tmp_path) is not None


def test_failed_training_leaves_nothing(tmp_path):
    def boom():
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError):
        load_or_train("a" * 64, boom, tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_concurrent_workers_train_once(tmp_path):
    calls: list = []
    inner = _trainer(calls)

    def slow_train():
        time.sleep(0.3)
        return inner()

    key = cache_key(**KW)
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(load_or_train(key, slow_train, tmp_path))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 3


def test_cache_refuses_foreign_classes(tmp_path):
    key = "b" * 64
    (tmp_path / key / "model").mkdir(parents=True)
    (tmp_path / key / "manifest.json").write_text(json.dumps({"format": 1, "key": key, "class": "os:system"}))
    with pytest.raises(ValueError, match="refusing"):
        load_cached(key, tmp_path)


def test_hierarchy_round_trip_through_the_cache(tmp_path):
    pytest.importorskip("torch")
    from signals.models import HierarchicalModel, HierarchyParams

    X, y = _data(n=200)
    params = HierarchyParams(seq_len=3, lstm_hidden=6, mlp_hidden=6, conf_seq_len=3, conf_hidden=4, epochs=1)
    calls: list = []

    def train():
        calls.append(1)
        return HierarchicalModel(params).fit(X, np.where(y > 0, 1.0, -1.0))

    a = load_or_train("c" * 64, train, tmp_path)
    b = load_or_train("c" * 64, train, tmp_path)
    assert len(calls) == 1 and isinstance(b, HierarchicalModel)
    ca, cb = a.predict_components(X), b.predict_components(X)
    for name in ca:
        assert np.array_equal(ca[name], cb[name]), name
    assert sorted(p.name for p in (tmp_path / ("c" * 64) / "model").iterdir()) == ["config.json", "weights.pt"]


def test_key_follows_the_signals_source_and_the_device(tmp_path, monkeypatch):
    """Editing any signals/*.py file or moving training to the GPU gives a new key (no stale model)."""
    import signals.cache as sc
    from engine import gpu

    base = cache_key(**KW)
    assert library_versions()["signals_source"] == sc.signals_source_hash()
    assert library_versions()["mmsim"] is not None
    fake = tmp_path / "signals"
    fake.mkdir()
    for src in Path(sc.__file__).resolve().parent.glob("*.py"):
        (fake / src.name).write_bytes(src.read_bytes())
    (fake / "features.py").write_bytes((fake / "features.py").read_bytes() + b"\n# edited\n")
    monkeypatch.setattr(sc, "__file__", str(fake / "cache.py"))
    assert cache_key(**KW) != base
    monkeypatch.undo()
    assert cache_key(**KW) == base and sc.training_device() == "cpu"
    monkeypatch.setattr(gpu, "visible_gpu_count", lambda: 1)
    monkeypatch.setattr(gpu, "_INSTALLED", {"kind": "mp", "handle": object()})
    assert sc.training_device() == "cuda" and cache_key(**KW) != base
