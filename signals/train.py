"""Training adaptors: ``train_models(cfg, X, y, w)`` and ``walk_forward(cfg, X, y, w, t0_ns, t1_ns)``.

The two entry points of the research API that fit models (AFML ch. 7 for the validation):

- :func:`train_models` fits the model :class:`ModelConfig` describes on all rows (an XGBoost
  model or the PyTorch hierarchy of :mod:`signals.models`), optionally through the on-disk cache
  of :mod:`signals.cache`;
- :func:`walk_forward` gives purged out-of-sample predictions: by default forward-only folds
  (:func:`signals.cv.walk_forward`, AFML §12.2, expanding or rolling window, purged and
  embargoed as in AFML ch. 7.4): every prediction comes from a model trained only on labels that
  ended before the predicted row started. ``cv="purged_kfold"`` selects
  :class:`signals.cv.PurgedKFold` by name (its training sets include rows *after* the test block,
  i.e. future data; see the warning in :func:`walk_forward`). Each fold's model is cached under
  its own key.

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

__all__ = ["CV_METHODS", "KINDS", "ModelConfig", "TrainedModels", "train_models", "walk_forward"]

KINDS = ("xgboost", "hierarchy")
"""Model kinds: :class:`signals.models.XGBModel`, :class:`signals.models.HierarchicalModel`."""

CV_METHODS = ("walk_forward", "purged_kfold")
"""Fold schemes of :func:`walk_forward`: forward-only (default) or purged k-fold (trains on the future)."""


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
        Test blocks (folds) of :func:`walk_forward`.
    embargo_pct : float, default 0.01
        Embargo between training and test rows, fraction of the rows (AFML ch. 7.4.2).
    cv : str, default "walk_forward"
        ``"walk_forward"``: forward-only folds (:func:`signals.cv.walk_forward`), the last
        ``n_splits`` blocks of rows each predicted by a model trained on earlier, purged and
        embargoed rows; the first block has no prediction (NaN). ``"purged_kfold"``:
        :class:`signals.cv.PurgedKFold` (every row predicted, but training sets contain
        later rows: for research on CV itself, not for a backtest signal).
    train_size : int or None, default None
        ``None``: expanding training window; an int: rolling window of that many rows
        (``cv="walk_forward"`` only).
    n_estimators, max_depth, learning_rate, subsample, colsample_bytree : int or float
        XGBoost (:class:`signals.models.XGBParams`), with ``min_child_weight``, ``reg_lambda``,
        ``max_bin``, ``n_jobs``.
    seq_len, lstm_hidden, lstm_layers, mlp_hidden, conf_seq_len, conf_hidden : int
        Hierarchy (:class:`signals.models.HierarchyParams`), with ``dropout``, ``epochs``,
        ``batch_size``, ``lr``, ``weight_decay``, ``meta_folds`` and ``meta_embargo`` (the
        out-of-fold inner folds of the meta and confidence stages).
    """

    kind: str = attrs.field(validator=v.in_(KINDS))
    task: str = attrs.field(default="classification", validator=v.in_(("classification", "regression")))
    seed: int = attrs.field(default=0, validator=v.ge(0))
    n_splits: int = attrs.field(default=5, validator=v.ge(2))
    embargo_pct: float = attrs.field(default=0.01, validator=[v.ge(0), v.lt(1)])
    cv: str = attrs.field(default="walk_forward", validator=v.in_(CV_METHODS))
    train_size: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
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
    meta_folds: int = 4
    meta_embargo: int = 0

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
    """``split(t0_ns, t1_ns)`` of ``cfg.cv`` (forward-only folds with no training row dropped)."""
    from signals.cv import PurgedKFold
    from signals.cv import walk_forward as forward_splits

    if cfg.cv == "purged_kfold":
        return PurgedKFold(cfg.n_splits, cfg.embargo_pct).split

    def forward(t0_ns: Any, t1_ns: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        t0, t1 = np.asarray(t0_ns, dtype=np.int64), np.asarray(t1_ns, dtype=np.int64)
        folds = forward_splits(
            len(t0), cfg.n_splits, cfg.train_size, t0=t0, t1=t1, embargo_pct=cfg.embargo_pct
        )
        # a fold whose purged training set is empty (the start of a short series) predicts nothing
        return [(train, test) for train, test in folds if len(train) > 0]

    return forward


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
    """Out-of-sample predictions: every predicted row comes from a model that never saw its label.

    With the default ``cfg.cv = "walk_forward"`` the folds are forward-only: a test block is
    predicted by a model fitted on earlier rows only, with labels that end before the block
    starts (purging, AFML §7.4.1) and an embargo gap (§7.4.2). The first block is never
    predicted (NaN), nor is any block whose purged training set is empty.

    Warnings
    --------
    ``cfg.cv = "purged_kfold"`` (:class:`signals.cv.PurgedKFold`, AFML §7.4) predicts every row,
    but a fold's model is trained on rows *after* the test block too: it learns from the
    future, so its predictions must not drive a backtest. Use it to study the CV itself.

    Parameters
    ----------
    cfg : ModelConfig
        ``cv``, ``n_splits``, ``embargo_pct`` and ``train_size`` set the folds.
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
        ``split(t0_ns, t1_ns)`` yielding ``(train_rows, test_rows)``; ``None`` → the folds of
        ``cfg.cv`` described above.

    Returns
    -------
    numpy.ndarray
        Shape (n,): the signal, NaN for rows in no test fold (with forward-only folds, at least
        the first block); with ``with_confidence`` shape
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
