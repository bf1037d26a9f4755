"""signals.models / signals.train: learning, CPU reproducibility, the GPU decision logic, walk-forward."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

pytest.importorskip("xgboost")
torch = pytest.importorskip("torch")

import signals.models as sm  # noqa: E402
from signals.models import (  # noqa: E402
    DevicePlan,
    HierarchicalModel,
    HierarchyParams,
    XGBModel,
    XGBParams,
    torch_device_plan,
    xgb_device,
)
from signals.train import ModelConfig, TrainedModels, train_models, walk_forward  # noqa: E402

N_TRAIN = 700


def _data(n: int = 1000, f: int = 5, seed: int = 0):
    """Labels driven by feature 0 now and feature 1 one bar earlier (a sequence signal)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f)).astype(np.float32)
    z = X[:, 0] + 0.7 * np.roll(X[:, 1], 1) + 0.4 * rng.normal(size=n)
    y = np.where(z > 0.3, 1.0, np.where(z < -0.3, -1.0, 0.0))
    w = rng.uniform(0.5, 1.5, size=n)
    return X, y, w


def _hit_rate(signal: np.ndarray, y: np.ndarray) -> float:
    mask = (signal != 0) & (y != 0)
    assert mask.sum() > 50
    return float(np.mean(np.sign(signal[mask]) == y[mask]))


TINY_HIER = HierarchyParams(
    seq_len=4, lstm_hidden=12, mlp_hidden=12, conf_seq_len=4, conf_hidden=6, epochs=8, lr=1e-2, batch_size=128
)


@pytest.fixture(scope="module")
def data():
    return _data()


# ----------------------------------------------------------------------------- XGBoost


def test_xgboost_learns_the_signal(data):
    X, y, w = data
    m = XGBModel(XGBParams(n_estimators=40)).fit(X, y, w, rows=np.arange(N_TRAIN))
    test = np.arange(N_TRAIN, len(X))
    assert _hit_rate(m.predict(X, test), y[test]) > 0.75
    proba = m.predict_proba(X, test)
    assert proba.shape == (len(test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert m.device_used == "cpu"


def test_xgboost_regression(data):
    X, y, w = data
    target = X[:, 0] + 0.1 * y
    m = XGBModel(XGBParams(task="regression", n_estimators=40)).fit(X[:N_TRAIN], target[:N_TRAIN], w[:N_TRAIN])
    pred = m.predict(X[N_TRAIN:])
    assert np.corrcoef(pred, target[N_TRAIN:])[0, 1] > 0.8


def test_xgboost_cpu_training_is_bit_reproducible(data):
    X, y, w = data
    params = XGBParams(n_estimators=20, subsample=0.7, colsample_bytree=0.8, seed=3)
    a = XGBModel(params).fit(X, y, w)
    b = XGBModel(params).fit(X, y, w)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.booster.save_raw("json") == b.booster.save_raw("json")
    c = XGBModel(XGBParams(n_estimators=20, subsample=0.7, colsample_bytree=0.8, seed=4)).fit(X, y, w)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_xgboost_uses_sample_weights(data):
    X, y, w = data
    a = XGBModel(XGBParams(n_estimators=10)).fit(X, y, w)
    b = XGBModel(XGBParams(n_estimators=10)).fit(X, y, np.where(np.arange(len(X)) % 2 == 0, w, 0.0))
    assert not np.array_equal(a.predict(X), b.predict(X))


# ----------------------------------------------------------------------------- hierarchy


@pytest.fixture(scope="module")
def hierarchy(data):
    X, y, w = data
    return HierarchicalModel(TINY_HIER).fit(X, y, w, rows=np.arange(N_TRAIN))


def test_hierarchy_learns_the_signal(data, hierarchy):
    X, y, _ = data
    test = np.arange(N_TRAIN, len(X))
    comp = hierarchy.predict_components(X, test)
    assert _hit_rate(comp["signal"], y[test]) > 0.75
    for name in ("price", "meta", "confidence"):
        assert np.all((comp[name] >= 0) & (comp[name] <= 1)), name
    assert np.all(np.abs(comp["signal"]) <= 1)
    # the level-0 model alone beats chance on direction
    up = y[test] > 0
    assert np.mean((comp["price"] > 0.5) == up) > 0.7
    assert hierarchy.devices_used == ["cpu", "cpu", "cpu"]


def test_hierarchy_cpu_training_is_bit_reproducible(data, hierarchy):
    X, y, w = data
    again = HierarchicalModel(TINY_HIER).fit(X, y, w, rows=np.arange(N_TRAIN))
    a, b = hierarchy.predict_components(X), again.predict_components(X)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    for stage in ("price", "meta", "confidence"):
        sa, sb = getattr(hierarchy, stage).state_dict(), getattr(again, stage).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), stage
    # global torch settings are restored after training
    assert not torch.are_deterministic_algorithms_enabled()


def test_hierarchy_seed_and_weights_matter(data, hierarchy):
    X, y, w = data
    rows = np.arange(N_TRAIN)
    base = hierarchy.predict(X)
    other_seed = HierarchicalModel(attrs_evolve(TINY_HIER, seed=1)).fit(X, y, w, rows=rows)
    assert not np.array_equal(base, other_seed.predict(X))
    wz = w.copy()
    wz[rows[::2]] = 0.0
    reweighted = HierarchicalModel(TINY_HIER).fit(X, y, wz, rows=rows)
    assert not np.array_equal(base, reweighted.predict(X))


def test_hierarchy_prediction_uses_only_the_past(data, hierarchy):
    """Changing rows after t leaves the outputs at t unchanged (sequences look back only)."""
    X, _, _ = data
    X2 = X.copy()
    X2[800:] = 0.0
    a = hierarchy.predict_components(X, np.arange(800))
    b = hierarchy.predict_components(X2, np.arange(800))
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_hierarchy_handles_nan_features(data):
    X, y, w = data
    X = X[:300].copy()
    X[:20, 2] = np.nan  # warm-up of a rolling feature
    m = HierarchicalModel(attrs_evolve(TINY_HIER, epochs=1)).fit(X, y[:300], w[:300])
    assert np.all(np.isfinite(m.predict(X)))


def test_hierarchy_regression_task(data):
    X, _, w = data
    ret = 0.01 * (X[:, 0] + 0.7 * np.roll(X[:, 1], 1))
    m = HierarchicalModel(attrs_evolve(TINY_HIER, task="regression")).fit(X, ret, w, rows=np.arange(N_TRAIN))
    comp = m.predict_components(X, np.arange(N_TRAIN, len(X)))
    assert np.corrcoef(comp["price"], ret[N_TRAIN:])[0, 1] > 0.5


def attrs_evolve(obj, **changes):
    import attrs

    return attrs.evolve(obj, **changes)


# ----------------------------------------------------------------------------- GPU decision logic


def test_device_decision_picks_cuda_and_bf16_only_when_available(monkeypatch):
    monkeypatch.setattr(sm, "visible_gpu_count", lambda: 1)
    monkeypatch.setattr(sm, "_torch_cuda_available", lambda: True)
    monkeypatch.setattr(sm, "_xgboost_has_cuda", lambda: True)
    assert torch_device_plan(True) == DevicePlan("cuda", "bfloat16")
    assert xgb_device(True) == "cuda"
    # no slot held → CPU, whatever the hardware
    assert torch_device_plan(False) == DevicePlan("cpu", None)
    assert xgb_device(False) == "cpu"
    # slot held but no visible GPU → CPU
    monkeypatch.setattr(sm, "visible_gpu_count", lambda: 0)
    assert torch_device_plan(True) == DevicePlan("cpu", None)
    assert xgb_device(True) == "cpu"
    # GPU visible but torch without CUDA / XGBoost without CUDA → CPU
    monkeypatch.setattr(sm, "visible_gpu_count", lambda: 2)
    monkeypatch.setattr(sm, "_torch_cuda_available", lambda: False)
    monkeypatch.setattr(sm, "_xgboost_has_cuda", lambda: False)
    assert torch_device_plan(True) == DevicePlan("cpu", None)
    assert xgb_device(True) == "cpu"


def _counting_slot(value: bool, calls: list):
    @contextlib.contextmanager
    def slot(timeout_s=None):
        calls.append("enter")
        try:
            yield value
        finally:
            calls.append("exit")

    return slot


def test_no_gpu_slot_means_cpu_and_every_stage_takes_the_semaphore(data, monkeypatch):
    """gpu_slot yields False → CPU float32; each training stage enters and leaves the semaphore."""
    X, y, w = data
    calls: list[str] = []
    monkeypatch.setattr(sm, "gpu_slot", _counting_slot(False, calls))
    monkeypatch.setattr(sm, "visible_gpu_count", lambda: 1)  # a GPU exists but no slot is held
    monkeypatch.setattr(sm, "_torch_cuda_available", lambda: True)
    monkeypatch.setattr(sm, "_xgboost_has_cuda", lambda: True)
    m = XGBModel(XGBParams(n_estimators=3)).fit(X, y, w)
    assert m.device_used == "cpu" and calls == ["enter", "exit"]
    calls.clear()
    h = HierarchicalModel(attrs_evolve(TINY_HIER, epochs=1)).fit(X[:200], y[:200], w[:200])
    # meta_folds=4: 3 inner level-0 fits + the final one, 2 inner meta fits + the final one, confidence
    assert h.devices_used == ["cpu"] * 3 and calls == ["enter", "exit"] * (3 + 1 + 2 + 1 + 1)


def test_unpatched_gpu_slot_without_a_sweep_runs_on_cpu(data):
    from engine import gpu

    gpu.install(None)
    with gpu.gpu_slot() as on_gpu:
        assert on_gpu is False
    X, y, w = data
    assert XGBModel(XGBParams(n_estimators=3)).fit(X, y, w).device_used == "cpu"


def test_xgboost_gets_device_cuda_when_a_slot_is_held(data, monkeypatch):
    """With a slot and a (faked) GPU the booster is configured for CUDA; training itself is run on
    the CPU here (the parameters are captured, then device is swapped back) — no CUDA is touched."""
    import xgboost

    X, y, w = data
    seen: list[dict] = []
    real_train = xgboost.train

    def fake_train(params, dtrain, num_boost_round):
        seen.append(dict(params))
        return real_train({**params, "device": "cpu"}, dtrain, num_boost_round=num_boost_round)

    monkeypatch.setattr(xgboost, "train", fake_train)
    monkeypatch.setattr(sm, "gpu_slot", _counting_slot(True, []))
    monkeypatch.setattr(sm, "visible_gpu_count", lambda: 1)
    monkeypatch.setattr(sm, "_xgboost_has_cuda", lambda: True)
    m = XGBModel(XGBParams(n_estimators=3)).fit(X, y, w)
    assert seen[0]["device"] == "cuda" and seen[0]["tree_method"] == "hist" and seen[0]["nthread"] == 1
    assert m.device_used == "cuda"


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_torch_stage_autocasts_bf16_on_cuda_plan():
    """The autocast helper: bf16 CUDA autocast for the CUDA plan, nothing on the CPU plan."""
    assert isinstance(sm._autocast(DevicePlan("cpu", None)), contextlib.nullcontext)
    ctx = sm._autocast(DevicePlan("cuda", "bfloat16"))
    assert isinstance(ctx, torch.autocast)
    assert ctx.device == "cuda" and ctx.fast_dtype == torch.bfloat16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_hierarchy_trains_on_gpu_with_a_slot(data, monkeypatch):
    X, y, w = data
    monkeypatch.setattr(sm, "gpu_slot", _counting_slot(True, []))
    monkeypatch.setattr(sm, "visible_gpu_count", lambda: 1)
    m = HierarchicalModel(TINY_HIER).fit(X, y, w, rows=np.arange(N_TRAIN))
    assert m.devices_used == ["cuda"] * 3
    test = np.arange(N_TRAIN, len(X))
    assert _hit_rate(m.predict(X, test), y[test]) > 0.7


# ----------------------------------------------------------------------------- train.py adaptors


def test_model_config_params_and_validation():
    cfg = ModelConfig(kind="xgboost", max_depth=3, seed=7, epochs=99)
    assert cfg.model_params() == XGBParams(max_depth=3, seed=7)
    assert ModelConfig(kind="hierarchy", epochs=3).model_params() == HierarchyParams(epochs=3)
    with pytest.raises(ValueError):
        ModelConfig(kind="forest")
    with pytest.raises(ValueError):
        ModelConfig(kind="xgboost", max_depth=0).model_params()


@pytest.mark.parametrize("kind", ["xgboost", "hierarchy"])
def test_train_models_end_to_end_and_cache(data, tmp_path, monkeypatch, kind):
    import signals.train as st

    X, y, w = data
    cfg = ModelConfig(kind=kind, n_estimators=20, **{k: getattr(TINY_HIER, k) for k in ("seq_len", "epochs", "lr")})
    fits = []
    real_fit = st._fit
    monkeypatch.setattr(st, "_fit", lambda *a: fits.append(1) or real_fit(*a))
    a = train_models(cfg, X, y, w, cache_dir=tmp_path)
    b = train_models(cfg, X, y, w, cache_dir=tmp_path)
    assert len(fits) == 1
    assert isinstance(b, TrainedModels) and b.config == cfg
    assert np.array_equal(a.predict(X), b.predict(X))
    # a field of the other kind does not retrain; one of this kind does
    other = {"xgboost": {"epochs": 5}, "hierarchy": {"max_depth": 9}}[kind]
    train_models(attrs_evolve(cfg, **other), X, y, w, cache_dir=tmp_path)
    assert len(fits) == 1
    train_models(attrs_evolve(cfg, seed=1), X, y, w, cache_dir=tmp_path)
    assert len(fits) == 2


def test_walk_forward_is_out_of_sample(data):
    X, y, w = data
    n = len(X)
    cfg = ModelConfig(kind="xgboost", n_estimators=20)
    folds = [(np.arange(0, 500), np.arange(600, 800)), (np.arange(300, 1000), np.arange(0, 200))]
    oos = walk_forward(cfg, X, y, w, np.arange(n), np.arange(n) + 1, split=lambda t0, t1: iter(folds))
    assert np.all(np.isnan(oos[200:600])) and np.all(np.isnan(oos[800:]))
    for train, test in folds:
        expect = XGBModel(cfg.model_params()).fit(X, y, w, rows=train).predict(X, test)
        assert np.array_equal(oos[test], expect)


@pytest.mark.parametrize("kind", ["xgboost", "hierarchy"])
def test_walk_forward_with_purged_kfold(data, tmp_path, kind):
    pytest.importorskip("signals.cv")
    X, y, w = data
    n = len(X)
    t0 = np.arange(n, dtype=np.int64) * 60_000_000_000
    t1 = t0 + 5 * 60_000_000_000
    cfg = ModelConfig(
        kind=kind, cv="purged_kfold", n_splits=3, embargo_pct=0.01, n_estimators=20, seq_len=4, epochs=4, lr=1e-2
    )
    out = walk_forward(cfg, X, y, w, t0, t1, cache_dir=tmp_path, with_confidence=True)
    assert out.shape == (n, 2) and not np.isnan(out).any()
    assert _hit_rate(out[:, 0], y) > 0.7
    again = walk_forward(cfg, X, y, w, t0, t1, cache_dir=tmp_path, with_confidence=True)  # from the cache
    assert np.array_equal(out, again)


def test_walk_forward_default_trains_only_on_the_past(data, monkeypatch):
    """Default folds are forward-only: every training label ends before the rows it predicts begin."""
    import signals.train as T

    X, y, w = data
    n = len(X)
    t0 = np.arange(n, dtype=np.int64) * 60_000_000_000
    t1 = t0 + 7 * 60_000_000_000  # each label spans 7 rows: purging must drop 7 rows before a block
    seen = []
    real_fit, real_predict = T._fit, T.TrainedModels.predict_components

    def fit(cfg, X_, y_, w_, rows):
        seen.append(["fit", np.asarray(rows)])
        return real_fit(cfg, X_, y_, w_, rows)

    def predict_components(self, X_, rows=None):
        seen[-1].append(np.asarray(rows))
        return real_predict(self, X_, rows)

    monkeypatch.setattr(T, "_fit", fit)
    monkeypatch.setattr(T.TrainedModels, "predict_components", predict_components)
    cfg = ModelConfig(kind="xgboost", n_splits=4, embargo_pct=0.01, n_estimators=5)
    assert cfg.cv == "walk_forward"
    out = walk_forward(cfg, X, y, w, t0, t1)
    assert len(seen) == 4
    for _, train, test in seen:
        assert t1[train].max() <= t0[test].min()  # purged: no training label overlaps the block
        # purging keeps rows e with e + 7 <= start; the embargo then drops floor(0.01 n) more rows
        assert train.max() == test.min() - 7 - n // 100
    first = n - 4 * (n // 5)
    assert np.isnan(out[:first]).all() and np.isfinite(out[first:]).all()
    rolling = ModelConfig(kind="xgboost", n_splits=4, train_size=100, n_estimators=5)
    seen.clear()
    walk_forward(rolling, X, y, w, t0, t1)
    assert [len(train) for _, train, _ in seen] == [100] * 4


def test_meta_and_confidence_stages_see_only_out_of_fold_outputs(data, monkeypatch):
    """AFML §3.6: the secondary model learns from the primary's out-of-sample decisions.

    Every output fed to a higher stage comes from an inner model fitted on strictly earlier rows
    (less the embargo), the meta stage trains on rows 1/4.. of the training set and the
    confidence stage on rows 2/4.. of it (meta_folds = 4 contiguous blocks).
    """
    X, y, w = data
    rows = np.arange(400)
    fits, evals = [], []
    real_fit, real_eval = HierarchicalModel._fit_stage, HierarchicalModel._eval_rows

    def fit_stage(self, stage, inputs_fn, target, weight, idx, loss, record=True):
        fits.append((stage, idx.numpy().copy(), record))
        return real_fit(self, stage, inputs_fn, target, weight, idx, loss, record)

    def eval_rows(module, inputs_fn, block, chunk=4096):
        evals.append((fits[-1], np.asarray(block).copy()))
        return real_eval(module, inputs_fn, block, chunk)

    monkeypatch.setattr(HierarchicalModel, "_fit_stage", fit_stage)
    monkeypatch.setattr(HierarchicalModel, "_eval_rows", staticmethod(eval_rows))
    HierarchicalModel(attrs_evolve(TINY_HIER, epochs=1, meta_embargo=5)).fit(X, y, w, rows=rows)
    blocks = np.array_split(rows, 4)  # [0,100) [100,200) [200,300) [300,400)
    assert len(evals) == 3 + 2
    for (_stage, train, record), block in evals:
        assert not record and train.max() == block.min() - 1 - 5  # strictly earlier, embargo 5 rows
    assert [e[1].min() for e in evals] == [100, 200, 300, 200, 300]
    final = {stage: idx for stage, idx, record in fits if record}
    assert np.array_equal(final[0], rows)
    assert np.array_equal(final[1], np.concatenate(blocks[1:]))
    assert np.array_equal(final[2], np.concatenate(blocks[2:]))
