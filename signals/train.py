"""Training adaptors: ``train_models(cfg, X, y, w)`` and ``walk_forward(cfg, X, y, w, t0_ns, t1_ns)``.

The two entry points of the research API that fit models (AFML ch. 7 for the validation):

- :func:`train_models` fits the model :class:`ModelConfig` describes on all rows (an XGBoost
  model or the PyTorch hierarchy of :mod:`signals.models`), optionally through the on-disk cache
  of :mod:`signals.cache`;
- :func:`walk_forward` gives purged out-of-sample predictions: for every fold of
  :class:`signals.cv.PurgedKFold` (purging and embargo, AFML ch. 7.4) a model is fitted on the
  training rows and predicts the test rows; each fold's model is cached under its own key.

Inputs are arrays with rows in time order: ``X`` (n, f) features, ``y`` (n,) labels (triple
barrier ``{-1, 0, 1}``, AFML ch. 3.4) or returns, ``w`` (n,) sample weights (AFML ch. 4.5),
``t0_ns``/``t1_ns`` (n,) the start and end of each label's span in nanoseconds.

Examples
--------
>>> cfg = ModelConfig(kind="xgboost", n_estimators=50)          # doctest: +SKIP
>>> models = train_models(cfg, X, y, w, cache_dir="cache")      # doctest: +SKIP
>>> oos = walk_forward(cfg, X, y, w, t0_ns, t1_ns)              # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from attrs import validators as v

from signals.cache import cache_key, data_fingerprint, load_or_train
from signals.models import HierarchicalModel, HierarchyParams, XGBModel, XGBParams

__all__ = ["KINDS", "ModelConfig", "TrainedModels", "train_models", "walk_forward"]

KINDS = ("xgboost", "hierarchy")
"""Model kinds: :class:`signals.models.XGBModel`, :class:`signals.models.HierarchicalModel`."""


@attrs.frozen
class ModelConfig:
    """What to train and how to validate it (flat, so that a sweep can vary any field from TOML).

    Attributes
    ----------
    kind : str
        ``"xgboost"`` or ``"hierarchy"`` (PriceLSTM → MetaMLP → ConfidenceGRU).
    task : str, default "classification"
        ``"classification"`` of the labels or ``"regression"`` of a return.
    seed : int, default 0
    n_splits : int, default 5
        Folds of :class:`signals.cv.PurgedKFold` in :func:`walk_forward`.
    embargo_pct : float, default 0.01
        Embargo after each test fold, fraction of the rows (AFML ch. 7.4.2).
    n_estimators, max_depth, learning_rate, subsample, colsample_bytree : int or float
        XGBoost (:class:`signals.models.XGBParams`), with ``min_child_weight``, ``reg_lambda``,
        ``max_bin``, ``n_jobs``.
    seq_len, lstm_hidden, lstm_layers, mlp_hidden, conf_seq_len, conf_hidden : int
        Hierarchy (:class:`signals.models.HierarchyParams`), with ``dropout``, ``epochs``,
        ``batch_size``, ``lr``, ``weight_decay``.
    """

    kind: str = attrs.field(validator=v.in_(KINDS))
    task: str = attrs.field(default="classification", validator=v.in_(("classification", "regression")))
    seed: int = attrs.field(default=0, validator=v.ge(0))
    n_splits: int = attrs.field(default=5, validator=v.ge(2))
    embargo_pct: float = attrs.field(default=0.01, validator=[v.ge(0), v.lt(1)])
    # XGBoost
    n_estimators: int = 200
    max_depth: int = 4
    learning_rate: float = 0.1
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    min_child_weight: float = 1.0
    reg_lambda: float = 1.0
    max_bin: int = 256
    n_jobs: int = 1
    # hierarchy
    seq_len: int = 16
    lstm_hidden: int = 32
    lstm_layers: int = 1
    mlp_hidden: int = 32
    conf_seq_len: int = 8
    conf_hidden: int = 16
    dropout: float = 0.0
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0

    def model_params(self) -> XGBParams | HierarchyParams:
        """The parameters of this kind's model (validated); the model part of the cache key.

        Fields of the other kind and the CV fields are not in it: changing them does not
        retrain a model.
        """
        names = attrs.fields_dict(XGBParams if self.kind == "xgboost" else HierarchyParams)
        kwargs = {name: getattr(self, name) for name in names}
        return XGBParams(**kwargs) if self.kind == "xgboost" else HierarchyParams(**kwargs)

    def build(self) -> XGBModel | HierarchicalModel:
        """An untrained model of this kind."""
        return XGBModel(self.model_params()) if self.kind == "xgboost" else HierarchicalModel(self.model_params())


@attrs.define
class TrainedModels:
    """A trained model with the config that made it (what :func:`train_models` returns).

    Attributes
    ----------
    config : ModelConfig
    model : XGBModel or HierarchicalModel
    """

    config: ModelConfig
    model: Any

    def predict(self, X: Any, rows: Any = None) -> np.ndarray:
        """The signal for rows ``rows`` of ``X`` (all rows by default), in time order.

        For the hierarchy, sequences reach back into earlier rows of ``X``: pass the whole
        feature matrix and select with ``rows``.
        """
        return self.model.predict(X, rows)

    def predict_components(self, X: Any, rows: Any = None) -> dict[str, np.ndarray]:
        """``signal`` and ``confidence`` (and, for the hierarchy, ``price``, ``side``, ``meta``)."""
        return self.model.predict_components(X, rows)

    def save(self, path: str | Path) -> None:
        """Write ``config.json`` (the :class:`ModelConfig`) and the model into directory ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(path / "model")
        (path / "config.json").write_text(json.dumps(attrs.asdict(self.config), sort_keys=True, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> TrainedModels:
        """Read what :meth:`save` wrote."""
        path = Path(path)
        config = ModelConfig(**json.loads((path / "config.json").read_text()))
        model_cls = XGBModel if config.kind == "xgboost" else HierarchicalModel
        return cls(config, model_cls.load(path / "model"))


def _as_rows(rows: Any) -> np.ndarray:
    arr = np.asarray(rows)
    if arr.dtype == bool:
        return np.flatnonzero(arr)
    return arr.astype(np.int64).reshape(-1)


def _fit(cfg: ModelConfig, X: Any, y: Any, w: Any, rows: Any) -> TrainedModels:
    return TrainedModels(cfg, cfg.build().fit(X, y, w, rows))


def train_models(
    cfg: ModelConfig,
    X: Any,
    y: Any,
    w: Any = None,
    *,
    cache_dir: str | Path | None = None,
    key: str | None = None,
) -> TrainedModels:
    """Fit the model of ``cfg`` on all rows (GPU stages take the sweep's GPU semaphore).

    Parameters
    ----------
    cfg : ModelConfig
    X : array-like, shape (n, f)
        Features, rows in time order.
    y : array-like, shape (n,)
        Labels or returns.
    w : array-like, shape (n,), optional
        Sample weights; ``None`` → ones.
    cache_dir : str or Path, optional
        Model cache (:func:`signals.cache.load_or_train`); ``None`` → always train.
    key : str, optional
        Cache key; ``None`` → :func:`signals.cache.cache_key` of the fingerprint of
        ``(X, y, w)``, ``cfg.model_params()`` and the library versions. Pass a key built from
        the data/features/labels configs to skip hashing ``X``.

    Returns
    -------
    TrainedModels
    """
    if cache_dir is None:
        return _fit(cfg, X, y, w, None)
    if key is None:
        fp = data_fingerprint(np.asarray(X), np.asarray(y), np.asarray([] if w is None else w))
        key = cache_key(data=fp, model=cfg.model_params(), extra={"kind": cfg.kind, "rows": "all"})
    return load_or_train(key, lambda: _fit(cfg, X, y, w, None), cache_dir)


def _default_splitter(cfg: ModelConfig) -> Callable[[Any, Any], Iterable[tuple[Any, Any]]]:
    from signals.cv import PurgedKFold

    return PurgedKFold(cfg.n_splits, cfg.embargo_pct).split


def walk_forward(
    cfg: ModelConfig,
    X: Any,
    y: Any,
    w: Any,
    t0_ns: Any,
    t1_ns: Any,
    *,
    cache_dir: str | Path | None = None,
    with_confidence: bool = False,
    split: Callable[[Any, Any], Iterable[tuple[Any, Any]]] | None = None,
) -> np.ndarray:
    """Purged out-of-sample predictions: every row predicted by a model that never saw its label.

    Parameters
    ----------
    cfg : ModelConfig
        ``n_splits`` and ``embargo_pct`` set the folds.
    X, y, w
        As in :func:`train_models` (``w`` may be ``None``).
    t0_ns, t1_ns : array-like of int, shape (n,)
        Start and end time of each label (purging, AFML ch. 7.4.1).
    cache_dir : str or Path, optional
        Each fold's model is cached under a key of the data, the fold's train rows and the model
        parameters.
    with_confidence : bool, default False
        Also return the confidence.
    split : callable, optional
        ``split(t0_ns, t1_ns)`` yielding ``(train_rows, test_rows)``; ``None`` →
        ``signals.cv.PurgedKFold(cfg.n_splits, cfg.embargo_pct).split``.

    Returns
    -------
    numpy.ndarray
        Shape (n,): the signal, NaN for rows in no test fold; with ``with_confidence`` shape
        (n, 2): columns signal, confidence.
    """
    X = np.asarray(X)
    n = len(X)
    if len(np.asarray(t0_ns)) != n or len(np.asarray(t1_ns)) != n:
        raise ValueError("t0_ns and t1_ns need one entry per row of X")
    splitter = split if split is not None else _default_splitter(cfg)
    out = np.full((n, 2), np.nan)
    fp = None
    if cache_dir is not None:
        fp = data_fingerprint(
            X, np.asarray(y), np.asarray([] if w is None else w), np.asarray(t0_ns), np.asarray(t1_ns)
        )
    for fold, (train, test) in enumerate(splitter(t0_ns, t1_ns)):
        train, test = _as_rows(train), _as_rows(test)
        if len(test) == 0:
            continue
        if fp is None:
            tm = _fit(cfg, X, y, w, train)
        else:
            key = cache_key(
                data=fp,
                model=cfg.model_params(),
                extra={"kind": cfg.kind, "fold": fold, "train": data_fingerprint(train)},
            )
            tm = load_or_train(key, lambda train=train: _fit(cfg, X, y, w, train), cache_dir)
        comp = tm.predict_components(X, test)
        out[test, 0] = comp["signal"]
        out[test, 1] = comp["confidence"]
    return out if with_confidence else out[:, 0]
