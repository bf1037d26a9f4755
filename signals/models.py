"""Models of the signal layer: an XGBoost wrapper and a PyTorch hierarchy (price → meta-label → confidence).

Two model families, the same small API (``fit(X, y, w, rows=None)``, ``predict(X, rows=None)``,
``predict_components``, ``save(dir)``, ``load(dir)``):

:class:`XGBModel`
    Gradient-boosted trees (``tree_method="hist"``), classification of the label (triple-barrier
    labels, AFML ch. 3.4) or regression of a return. Its signal is the expected label
    ``Σ_k P(k) · class_k`` (``P(up) − P(down)`` for labels in ``{-1, 0, 1}``).
:class:`HierarchicalModel`
    Three PyTorch stages trained one after the other, with sample weights (AFML ch. 4.5):

    1. :class:`PriceLSTM`, the level-0 (primary) model: a sequence of the last ``seq_len``
       feature vectors → next-bar direction (``P(y > 0)``) or return. Its sign is the *side* of
       the bet (AFML ch. 3.6).
    2. :class:`MetaMLP`, the meta-label model (AFML ch. 3.6): features at ``t`` and the level-0
       output → ``P(side · y > 0)``, the probability that the primary bet is right.
    3. :class:`ConfidenceGRU`: the sequence of the last ``conf_seq_len`` level-0 and meta outputs
       → a confidence in ``[0, 1]`` (trained on the same meta label, from the recent track
       record of the two models rather than from the features).

    The signal is ``side × max(2 p_meta − 1, 0)``: a bet size in ``[-1, 1]`` from the meta-label
    probability (AFML ch. 10.2, the linear form of the size ``2 p − 1``), zero when the meta
    model says the primary bet is more likely wrong than right.

Devices
-------
Every training stage runs inside :func:`engine.gpu.gpu_slot` (the sweep's GPU semaphore).
With a slot held *and* a CUDA device visible (and, for torch, ``torch.cuda.is_available()``;
for XGBoost, a CUDA build) the stage runs on ``cuda`` — XGBoost with ``device="cuda"``, torch
under ``torch.autocast("cuda", dtype=torch.bfloat16)``; otherwise on the CPU in float32. The
decision is :func:`xgb_device` / :func:`torch_device_plan`. Trained models are moved back to the
CPU, and prediction always runs on the CPU in float32.

Reproducibility
---------------
CPU training is reproducible bit for bit: XGBoost is seeded and runs with ``n_jobs=1`` by
default; torch stages run under ``torch.manual_seed(seed + stage)``,
``torch.use_deterministic_algorithms(True)`` and ``torch.set_num_threads(1)`` (restored
afterwards), with mini-batches drawn by a seeded ``torch.Generator``. GPU (bf16) training is
not bit-reproducible.

Warnings
--------
The meta-label and confidence stages never see in-sample outputs of the stage below: the
training rows are cut into ``meta_folds`` contiguous blocks in time order and each block's
level-0 (and meta) inputs come from a model fitted on earlier blocks only, with an embargo gap
of ``meta_embargo`` rows (AFML §3.6 trains the secondary model on the primary model's
out-of-sample decisions; forward-only folds as AFML §12.2). The final level-0 model is then
refitted on all training rows for prediction. Out-of-sample figures of the whole hierarchy come
from :func:`signals.train.walk_forward`.

``torch`` is imported lazily (only :class:`HierarchicalModel` and the torch modules need it);
``xgboost`` only by :class:`XGBModel`.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from attrs import validators as v

from engine.gpu import gpu_slot, visible_gpu_count

__all__ = [
    "ConfidenceGRU",  # noqa: F822 - built lazily by __getattr__ (no torch import at module load)
    "DevicePlan",
    "HierarchicalModel",
    "HierarchyParams",
    "MetaMLP",  # noqa: F822 - built lazily by __getattr__ (no torch import at module load)
    "PriceLSTM",  # noqa: F822 - built lazily by __getattr__ (no torch import at module load)
    "XGBModel",
    "XGBParams",
    "torch_device_plan",
    "xgb_device",
]

_TASKS = ("classification", "regression")


# ----------------------------------------------------------------------------- devices


def _torch_cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional extra
        return False
    return bool(torch.cuda.is_available())


def _xgboost_has_cuda() -> bool:
    try:
        import xgboost
    except ImportError:  # pragma: no cover
        return False
    try:
        return bool(xgboost.build_info().get("USE_CUDA", False))
    except Exception:  # pragma: no cover - very old builds
        return False


@attrs.frozen
class DevicePlan:
    """Where a torch stage runs and in which autocast precision.

    Attributes
    ----------
    device : str
        ``"cuda"`` or ``"cpu"``.
    amp_dtype : str or None
        ``"bfloat16"`` (autocast on CUDA) or ``None`` (float32, no autocast).
    """

    device: str
    amp_dtype: str | None = None


def xgb_device(on_gpu: bool) -> str:
    """XGBoost device for a stage: ``"cuda"`` only with a GPU slot held and a GPU usable.

    Parameters
    ----------
    on_gpu : bool
        What :func:`engine.gpu.gpu_slot` yielded.

    Returns
    -------
    str
        ``"cuda"`` when ``on_gpu``, :func:`engine.gpu.visible_gpu_count` ``> 0`` and
        XGBoost was built with CUDA; else ``"cpu"``.
    """
    if on_gpu and visible_gpu_count() > 0 and _xgboost_has_cuda():
        return "cuda"
    return "cpu"


def torch_device_plan(on_gpu: bool) -> DevicePlan:
    """Torch device and precision for a stage: CUDA + bf16 autocast only when a GPU is usable.

    Parameters
    ----------
    on_gpu : bool
        What :func:`engine.gpu.gpu_slot` yielded.

    Returns
    -------
    DevicePlan
        ``DevicePlan("cuda", "bfloat16")`` when ``on_gpu``,
        :func:`engine.gpu.visible_gpu_count` ``> 0`` and ``torch.cuda.is_available()``;
        else ``DevicePlan("cpu", None)``.
    """
    if on_gpu and visible_gpu_count() > 0 and _torch_cuda_available():
        return DevicePlan("cuda", "bfloat16")
    return DevicePlan("cpu", None)


# ----------------------------------------------------------------------------- helpers


def _as_2d(X: Any) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got shape {arr.shape}")
    return arr


def _prepare(X: Any, y: Any, w: Any, rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = _as_2d(X)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) != len(X):
        raise ValueError(f"y has {len(y)} rows, X has {len(X)}")
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    if len(w) != len(X):
        raise ValueError(f"w has {len(w)} rows, X has {len(X)}")
    rows = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    if len(rows) == 0:
        raise ValueError("no training rows")
    if not np.all(np.isfinite(y[rows])):
        raise ValueError("y has non-finite values on the training rows")
    if not np.all(np.isfinite(w[rows])) or np.any(w[rows] < 0) or w[rows].sum() <= 0:
        raise ValueError("sample weights must be finite, >= 0 and not all zero")
    return X, y, w, rows


def _rows(X: np.ndarray, rows: Any) -> np.ndarray:
    return np.arange(len(X)) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)


# ----------------------------------------------------------------------------- XGBoost


@attrs.frozen
class XGBParams:
    """Hyper-parameters of :class:`XGBModel` (names as in XGBoost).

    Attributes
    ----------
    task : str, default "classification"
        ``"classification"`` (of the distinct label values) or ``"regression"`` (squared error).
    n_estimators : int, default 200
        Boosting rounds.
    max_depth : int, default 4
    learning_rate : float, default 0.1
    subsample : float, default 1.0
    colsample_bytree : float, default 1.0
    min_child_weight : float, default 1.0
    reg_lambda : float, default 1.0
    max_bin : int, default 256
        Histogram bins (``tree_method="hist"``).
    n_jobs : int, default 1
        Threads (sweeps run many processes; keep 1 there).
    seed : int, default 0
    """

    task: str = attrs.field(default="classification", validator=v.in_(_TASKS))
    n_estimators: int = attrs.field(default=200, validator=v.ge(1))
    max_depth: int = attrs.field(default=4, validator=v.ge(1))
    learning_rate: float = attrs.field(default=0.1, validator=v.gt(0))
    subsample: float = attrs.field(default=1.0, validator=[v.gt(0), v.le(1)])
    colsample_bytree: float = attrs.field(default=1.0, validator=[v.gt(0), v.le(1)])
    min_child_weight: float = attrs.field(default=1.0, validator=v.ge(0))
    reg_lambda: float = attrs.field(default=1.0, validator=v.ge(0))
    max_bin: int = attrs.field(default=256, validator=v.ge(2))
    n_jobs: int = attrs.field(default=1, validator=v.ge(1))
    seed: int = attrs.field(default=0, validator=v.ge(0))


class XGBModel:
    """XGBoost classifier/regressor (``tree_method="hist"``) with the signal-layer API.

    Parameters
    ----------
    params : XGBParams, optional

    Attributes
    ----------
    params : XGBParams
    booster : xgboost.Booster or None
        Set by :meth:`fit` / :meth:`load`.
    classes : numpy.ndarray or None
        Sorted distinct training labels (classification).
    device_used : str or None
        Where :meth:`fit` trained (``"cpu"`` / ``"cuda"``).
    """

    def __init__(self, params: XGBParams | None = None):
        self.params = params if params is not None else XGBParams()
        self.booster: Any = None
        self.classes: np.ndarray | None = None
        self.device_used: str | None = None

    def _booster_params(self, device: str) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            "tree_method": "hist",
            "device": device,
            "max_depth": p.max_depth,
            "eta": p.learning_rate,
            "subsample": p.subsample,
            "colsample_bytree": p.colsample_bytree,
            "min_child_weight": p.min_child_weight,
            "lambda": p.reg_lambda,
            "max_bin": p.max_bin,
            "nthread": p.n_jobs,
            "seed": p.seed,
        }
        if p.task == "regression":
            out["objective"] = "reg:squarederror"
        elif len(self.classes) == 2:
            out["objective"] = "binary:logistic"
        else:
            out["objective"] = "multi:softprob"
            out["num_class"] = len(self.classes)
        return out

    def fit(self, X: Any, y: Any, w: Any = None, rows: Any = None) -> XGBModel:
        """Train on ``X[rows]`` (inside :func:`engine.gpu.gpu_slot`).

        Parameters
        ----------
        X : array-like, shape (n, f)
            Features (NaN allowed: XGBoost's missing value).
        y : array-like, shape (n,)
            Labels (classification) or targets (regression).
        w : array-like, shape (n,), optional
            Sample weights (AFML ch. 4.5); ``None`` → ones.
        rows : array-like of int, optional
            Training rows; ``None`` → all.

        Returns
        -------
        XGBModel
            ``self``.

        Raises
        ------
        ValueError
            Shape mismatch, non-finite labels, bad weights, or a single class.
        """
        import xgboost as xgb

        X, y, w, rows = _prepare(X, y, w, rows)
        Xr, yr, wr = X[rows], y[rows], w[rows]
        if self.params.task == "classification":
            self.classes = np.unique(yr)
            if len(self.classes) < 2:
                raise ValueError("classification needs at least two distinct labels")
            target = np.searchsorted(self.classes, yr).astype(np.float32)
        else:
            self.classes = None
            target = yr.astype(np.float32)
        with gpu_slot() as on_gpu:
            device = xgb_device(on_gpu)
            dtrain = xgb.DMatrix(Xr, label=target, weight=wr.astype(np.float32), missing=np.nan)
            self.booster = xgb.train(self._booster_params(device), dtrain, num_boost_round=self.params.n_estimators)
        self.booster.set_param({"device": "cpu", "nthread": self.params.n_jobs})
        self.device_used = device
        return self

    def _check(self) -> None:
        if self.booster is None:
            raise RuntimeError("model is not trained")

    def predict_proba(self, X: Any, rows: Any = None) -> np.ndarray:
        """Class probabilities (classification).

        Returns
        -------
        numpy.ndarray, shape (len(rows), len(classes))
            Columns in the order of :attr:`classes`.
        """
        import xgboost as xgb

        self._check()
        if self.params.task != "classification":
            raise RuntimeError("predict_proba needs task='classification'")
        X = _as_2d(X)
        raw = self.booster.predict(xgb.DMatrix(X[_rows(X, rows)], missing=np.nan))
        if raw.ndim == 1:  # binary:logistic gives P(class 1)
            raw = np.column_stack([1.0 - raw, raw])
        return raw.astype(np.float64)

    def predict(self, X: Any, rows: Any = None) -> np.ndarray:
        """The signal: expected label (classification) or the predicted target (regression).

        Returns
        -------
        numpy.ndarray, shape (len(rows),)
            For labels ``{-1, 0, 1}``: ``P(1) − P(−1)``.
        """
        import xgboost as xgb

        self._check()
        if self.params.task == "classification":
            return self.predict_proba(X, rows) @ self.classes.astype(np.float64)
        X = _as_2d(X)
        return self.booster.predict(xgb.DMatrix(X[_rows(X, rows)], missing=np.nan)).astype(np.float64)

    def predict_components(self, X: Any, rows: Any = None) -> dict[str, np.ndarray]:
        """``{"signal": ..., "confidence": ...}``; confidence = ``|signal|`` clipped to ``[0, 1]``."""
        s = self.predict(X, rows)
        return {"signal": s, "confidence": np.clip(np.abs(s), 0.0, 1.0)}

    def save(self, path: str | Path) -> None:
        """Write ``config.json`` and ``model.json`` (``Booster.save_model``) into directory ``path``."""
        self._check()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(path / "model.json"))
        cfg = {
            "params": attrs.asdict(self.params),
            "classes": None if self.classes is None else [float(c) for c in self.classes],
            "device_used": self.device_used,
        }
        (path / "config.json").write_text(json.dumps(cfg, sort_keys=True, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> XGBModel:
        """Read a model written by :meth:`save`."""
        import xgboost as xgb

        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        model = cls(XGBParams(**cfg["params"]))
        model.classes = None if cfg["classes"] is None else np.asarray(cfg["classes"], dtype=np.float64)
        model.device_used = cfg["device_used"]
        booster = xgb.Booster()
        booster.load_model(str(path / "model.json"))
        booster.set_param({"device": "cpu", "nthread": model.params.n_jobs})
        model.booster = booster
        return model


# ----------------------------------------------------------------------------- torch modules


@functools.cache
def _torch_modules() -> Any:
    import torch
    from torch import nn

    class PriceLSTM(nn.Module):
        """Level-0 price model: LSTM over the last ``T`` feature vectors → one output per sequence.

        Parameters
        ----------
        n_features : int
        hidden : int, default 32
        num_layers : int, default 1
        dropout : float, default 0.0
            Between LSTM layers and before the head.

        Notes
        -----
        ``forward(x)`` takes ``(batch, T, n_features)`` and returns ``(batch,)``: the logit of
        ``P(next-bar return > 0)`` (classification) or the scaled return (regression).
        """

        def __init__(self, n_features: int, hidden: int = 32, num_layers: int = 1, dropout: float = 0.0):
            super().__init__()
            self.lstm = nn.LSTM(
                n_features,
                hidden,
                num_layers=num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``(batch, T, n_features)`` → ``(batch,)`` logits (or scaled returns)."""
            out, _ = self.lstm(x)
            return self.head(self.drop(out[:, -1])).squeeze(-1)

    class MetaMLP(nn.Module):
        """Meta-label model (AFML ch. 3.6): features + level-0 output → logit of ``P(bet is right)``.

        Parameters
        ----------
        n_inputs : int
            Number of features + 1 (the level-0 output).
        hidden : int, default 32
        dropout : float, default 0.0

        Notes
        -----
        ``forward(x)`` takes ``(batch, n_inputs)`` and returns ``(batch,)`` logits.
        """

        def __init__(self, n_inputs: int, hidden: int = 32, dropout: float = 0.0):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(n_inputs, hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Linear(hidden, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``(batch, n_inputs)`` → ``(batch,)`` logits."""
            return self.net(x).squeeze(-1)

    class ConfidenceGRU(nn.Module):
        """Confidence model: GRU over the last ``T`` (level-0, meta) outputs → logit of a confidence.

        Parameters
        ----------
        n_inputs : int, default 2
        hidden : int, default 16

        Notes
        -----
        ``forward(x)`` takes ``(batch, T, n_inputs)`` and returns ``(batch,)`` logits;
        ``torch.sigmoid`` of them is the confidence in ``[0, 1]``.
        """

        def __init__(self, n_inputs: int = 2, hidden: int = 16):
            super().__init__()
            self.gru = nn.GRU(n_inputs, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``(batch, T, n_inputs)`` → ``(batch,)`` logits."""
            out, _ = self.gru(x)
            return self.head(out[:, -1]).squeeze(-1)

    for c in (PriceLSTM, MetaMLP, ConfidenceGRU):
        c.__module__ = __name__
        c.__qualname__ = c.__name__
    return PriceLSTM, MetaMLP, ConfidenceGRU


def __getattr__(name: str) -> Any:
    # The torch modules are built on first access so that importing this module needs no torch.
    if name in ("PriceLSTM", "MetaMLP", "ConfidenceGRU"):
        classes = dict(zip(("PriceLSTM", "MetaMLP", "ConfidenceGRU"), _torch_modules(), strict=True))
        globals().update(classes)
        return classes[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ----------------------------------------------------------------------------- hierarchy


@attrs.frozen
class HierarchyParams:
    """Hyper-parameters of :class:`HierarchicalModel`.

    Attributes
    ----------
    task : str, default "classification"
        Level-0 target: ``"classification"`` → direction ``y > 0`` (BCE);
        ``"regression"`` → ``y`` scaled by its training standard deviation (MSE).
    seq_len : int, default 16
        Feature vectors per :class:`PriceLSTM` sequence (the current row and ``seq_len − 1``
        before it; the first rows repeat row 0).
    lstm_hidden, lstm_layers : int, default 32, 1
    mlp_hidden : int, default 32
    conf_seq_len : int, default 8
        Outputs per :class:`ConfidenceGRU` sequence.
    conf_hidden : int, default 16
    dropout : float, default 0.0
    epochs : int, default 20
        Per stage.
    batch_size : int, default 256
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 0.0
    seed : int, default 0
        Stage ``k`` (0, 1, 2) seeds torch with ``seed + k``.
    meta_folds : int, default 4
        Contiguous blocks of the training rows for the out-of-fold inputs of the meta and
        confidence stages (≥ 3): block ``b ≥ 1`` gets level-0 outputs from a model fitted on
        blocks ``< b``; block ``b ≥ 2`` gets meta outputs from a meta model fitted on blocks
        ``1 … b−1``. The meta stage trains on blocks ``1 …``, the confidence stage on ``2 …``.
    meta_embargo : int, default 0
        Rows dropped from the end of each inner training set before the block it predicts
        (set it to the label horizon in rows when labels span several rows).
    """

    task: str = attrs.field(default="classification", validator=v.in_(_TASKS))
    seq_len: int = attrs.field(default=16, validator=v.ge(1))
    lstm_hidden: int = attrs.field(default=32, validator=v.ge(1))
    lstm_layers: int = attrs.field(default=1, validator=v.ge(1))
    mlp_hidden: int = attrs.field(default=32, validator=v.ge(1))
    conf_seq_len: int = attrs.field(default=8, validator=v.ge(1))
    conf_hidden: int = attrs.field(default=16, validator=v.ge(1))
    dropout: float = attrs.field(default=0.0, validator=[v.ge(0), v.lt(1)])
    epochs: int = attrs.field(default=20, validator=v.ge(1))
    batch_size: int = attrs.field(default=256, validator=v.ge(1))
    lr: float = attrs.field(default=1e-3, validator=v.gt(0))
    weight_decay: float = attrs.field(default=0.0, validator=v.ge(0))
    seed: int = attrs.field(default=0, validator=v.ge(0))
    meta_folds: int = attrs.field(default=4, validator=v.ge(3))
    meta_embargo: int = attrs.field(default=0, validator=v.ge(0))


def _forward_blocks(rows: np.ndarray, n_blocks: int, embargo: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(earlier_rows, block_rows)`` for blocks ``1 … n_blocks−1`` of ``rows`` (time order).

    ``earlier_rows`` are the rows of all earlier blocks less the last ``embargo`` of them.
    Raises ValueError when a block or an inner training set would be empty.
    """
    blocks = np.array_split(rows, n_blocks)
    out = []
    for b in range(1, n_blocks):
        earlier = np.concatenate(blocks[:b])
        earlier = earlier[: max(earlier.size - embargo, 0)]
        if earlier.size == 0 or blocks[b].size == 0:
            raise ValueError(
                f"{rows.size} training rows are too few for meta_folds={n_blocks} with meta_embargo={embargo}"
            )
        out.append((earlier, blocks[b]))
    return out


@contextlib.contextmanager
def _torch_runtime(plan: DevicePlan, seed: int) -> Iterator[None]:
    """Seed torch; on the CPU also 1 thread and deterministic algorithms (restored on exit)."""
    import torch

    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.manual_seed(seed)
    if plan.device == "cpu":
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)


def _autocast(plan: DevicePlan) -> Any:
    import torch

    if plan.device == "cuda" and plan.amp_dtype == "bfloat16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _windows(source: Any, idx: Any, length: int) -> Any:
    """Rows ``idx − length + 1 … idx`` of ``source`` padded at the top with its first row.

    ``source`` is a (n + length − 1, f) tensor already padded; ``idx`` indexes the unpadded rows.
    """
    import torch

    offs = torch.arange(length, device=idx.device)
    return source[idx[:, None] + offs[None, :]]


def _pad(t: Any, length: int) -> Any:
    import torch

    if length <= 1:
        return t
    return torch.cat([t[:1].expand(length - 1, *t.shape[1:]), t], dim=0)


class HierarchicalModel:
    """PriceLSTM → MetaMLP → ConfidenceGRU, trained stage by stage with sample weights.

    Parameters
    ----------
    params : HierarchyParams, optional

    Attributes
    ----------
    params : HierarchyParams
    n_features : int or None
    mean, std : numpy.ndarray or None
        Feature standardisation from the training rows (NaN → 0 after it).
    y_scale : float
        Regression target scale (1.0 for classification).
    price, meta, confidence : torch.nn.Module or None
        The three stages, on the CPU after :meth:`fit`.
    devices_used : list of str
        Device of each stage during :meth:`fit`.
    """

    def __init__(self, params: HierarchyParams | None = None):
        self.params = params if params is not None else HierarchyParams()
        self.n_features: int | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.y_scale = 1.0
        self.price: Any = None
        self.meta: Any = None
        self.confidence: Any = None
        self.devices_used: list[str] = []

    # -- construction ---------------------------------------------------------------------

    def _build(self, stage: int) -> Any:
        import torch

        PriceLSTM, MetaMLP, ConfidenceGRU = _torch_modules()
        p = self.params
        torch.manual_seed(p.seed + stage)
        if stage == 0:
            return PriceLSTM(self.n_features, p.lstm_hidden, p.lstm_layers, p.dropout)
        if stage == 1:
            return MetaMLP(self.n_features + 1, p.mlp_hidden, p.dropout)
        return ConfidenceGRU(2, p.conf_hidden)

    def _scaled(self, X: np.ndarray) -> Any:
        import torch

        Z = (X - self.mean) / self.std
        return torch.from_numpy(np.nan_to_num(Z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32))

    # -- stage inputs ---------------------------------------------------------------------

    def _inputs(self, stage: int, feats: Any, z0: Any, zm: Any, idx: Any) -> Any:
        import torch

        p = self.params
        if stage == 0:
            return _windows(feats, idx, p.seq_len)  # feats padded by seq_len
        if stage == 1:
            return torch.cat([feats[idx], z0[idx, None]], dim=1)  # feats unpadded
        return _windows(torch.stack([z0, zm], dim=1), idx, p.conf_seq_len)  # z0/zm padded

    def _fit_stage(
        self, stage: int, inputs_fn: Any, target: Any, weight: Any, idx: Any, loss: str, record: bool = True
    ) -> Any:
        """Train one stage inside the GPU semaphore; returns the module on the CPU.

        ``record=False`` (the inner out-of-fold fits) leaves :attr:`devices_used` unchanged.
        """
        import torch
        import torch.nn.functional as F

        p = self.params
        with gpu_slot() as on_gpu:
            plan = torch_device_plan(on_gpu)
            with _torch_runtime(plan, p.seed + stage):
                module = self._build(stage)
                dev = torch.device(plan.device)
                module.to(dev).train()
                opt = torch.optim.Adam(module.parameters(), lr=p.lr, weight_decay=p.weight_decay)
                gen = torch.Generator().manual_seed(p.seed + 1000 + stage)
                tgt = target.to(dev)
                wt = weight.to(dev)
                n = len(idx)
                for _ in range(p.epochs):
                    perm = idx[torch.randperm(n, generator=gen)]
                    for start in range(0, n, p.batch_size):
                        b = perm[start : start + p.batch_size]
                        xb = inputs_fn(b).to(dev)
                        bd = b.to(dev)
                        with _autocast(plan):
                            out = module(xb)
                        out = out.float()
                        if loss == "bce":
                            per = F.binary_cross_entropy_with_logits(out, tgt[bd], reduction="none")
                        else:
                            per = (out - tgt[bd]) ** 2
                        wb = wt[bd]
                        lv = (per * wb).sum() / wb.sum().clamp_min(1e-12)
                        opt.zero_grad(set_to_none=True)
                        lv.backward()
                        opt.step()
                module.to("cpu").eval()
        if record:
            self.devices_used.append(plan.device)
        return module

    @staticmethod
    def _eval_rows(module: Any, inputs_fn: Any, rows: np.ndarray, chunk: int = 4096) -> Any:
        """Outputs of ``module`` for the given row indices (CPU, no grad)."""
        import torch

        idx = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        with torch.no_grad():
            outs = [module(inputs_fn(idx[s : s + chunk])).float() for s in range(0, len(idx), chunk)]
        return torch.cat(outs) if outs else torch.zeros(0)

    @staticmethod
    def _eval(module: Any, inputs_fn: Any, n: int, chunk: int = 4096) -> Any:
        import torch

        outs = []
        with torch.no_grad():
            for start in range(0, n, chunk):
                b = torch.arange(start, min(n, start + chunk))
                outs.append(module(inputs_fn(b)).float())
        return torch.cat(outs) if outs else torch.zeros(0)

    # -- API --------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, w: Any = None, rows: Any = None) -> HierarchicalModel:
        """Train the three stages on rows ``rows`` of ``X`` (sequences reach back into ``X``).

        Parameters
        ----------
        X : array-like, shape (n, f)
            Features, rows in time order. Sequences for row ``i`` use rows ``≤ i`` only.
        y : array-like, shape (n,)
            Labels (sign = direction) or next-bar returns.
        w : array-like, shape (n,), optional
            Sample weights (AFML ch. 4.5); ``None`` → ones. Normalised to mean 1 per stage.
        rows : array-like of int, optional
            Training rows; ``None`` → all.

        Returns
        -------
        HierarchicalModel
            ``self``.
        """
        import torch

        X, y, w, rows = _prepare(X, y, w, rows)
        p = self.params
        self.n_features = X.shape[1]
        Xr = X[rows].astype(np.float64)
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            mean = np.nanmean(Xr, axis=0)
            std = np.nanstd(Xr, axis=0)
        self.mean = np.nan_to_num(mean, nan=0.0).astype(np.float32)
        self.std = np.where(np.isfinite(std) & (std > 0), std, 1.0).astype(np.float32)
        if p.task == "regression":
            s = float(np.sqrt(np.average(y[rows] ** 2, weights=w[rows])))
            self.y_scale = s if s > 0 else 1.0
        else:
            self.y_scale = 1.0
        self.devices_used = []

        with _torch_runtime(DevicePlan("cpu"), p.seed):
            feats = self._scaled(X)
            n = len(X)
            idx = torch.from_numpy(rows)
            yt = torch.from_numpy(np.nan_to_num(y).astype(np.float32))
            wn = np.zeros(n, dtype=np.float32)
            wn[rows] = w[rows] / w[rows].mean()
            wt = torch.from_numpy(wn)
            feats_pad = _pad(feats, p.seq_len)

        # stage 0: level-0 price model; out-of-fold outputs for the meta stage, then a final fit on all rows
        if p.task == "classification":
            t0, loss0 = (yt > 0).float(), "bce"
        else:
            t0, loss0 = yt / self.y_scale, "mse"
        inputs0 = lambda b: self._inputs(0, feats_pad, None, None, b)  # noqa: E731
        folds = _forward_blocks(np.sort(rows), p.meta_folds, p.meta_embargo)
        z0 = torch.zeros(n)
        for earlier, block in folds:
            inner = self._fit_stage(0, inputs0, t0, wt, torch.from_numpy(earlier), loss0, record=False)
            with _torch_runtime(DevicePlan("cpu"), p.seed):
                z0[torch.from_numpy(block)] = self._eval_rows(inner, inputs0, block)
        self.price = self._fit_stage(0, inputs0, t0, wt, idx, loss0)

        meta_rows = np.concatenate([block for _, block in folds])
        side = torch.sign(z0)
        meta_t = (side * yt > 0).float()
        # stage 1: meta-label model on out-of-fold level-0 outputs; out-of-fold meta outputs for stage 2
        inputs1 = lambda b: self._inputs(1, feats, z0, None, b)  # noqa: E731
        zm = torch.zeros(n)
        conf_rows = []
        for earlier, block in _forward_blocks(meta_rows, p.meta_folds - 1, p.meta_embargo):
            inner = self._fit_stage(1, inputs1, meta_t, wt, torch.from_numpy(earlier), "bce", record=False)
            with _torch_runtime(DevicePlan("cpu"), p.seed):
                zm[torch.from_numpy(block)] = self._eval_rows(inner, inputs1, block)
            conf_rows.append(block)
        self.meta = self._fit_stage(1, inputs1, meta_t, wt, torch.from_numpy(meta_rows), "bce")

        # stage 2: confidence on windows of out-of-fold (level-0, meta) outputs (0 where none exists)
        zz = _pad(torch.stack([z0, zm], dim=1), p.conf_seq_len)
        conf_idx = torch.from_numpy(np.concatenate(conf_rows))
        self.confidence = self._fit_stage(2, lambda b: _windows(zz, b, p.conf_seq_len), meta_t, wt, conf_idx, "bce")
        return self

    def predict_components(self, X: Any, rows: Any = None) -> dict[str, np.ndarray]:
        """All outputs for rows ``rows`` of ``X`` (CPU, float32).

        Returns
        -------
        dict of str to numpy.ndarray, each shape (len(rows),)
            ``price``: ``P(y > 0)`` (classification) or the predicted return (regression);
            ``side``: ``±1`` (0 when undecided); ``meta``: ``P(bet is right)``;
            ``confidence``: in ``[0, 1]``; ``signal``: ``side × max(2 meta − 1, 0)``.
        """
        import torch

        if self.price is None:
            raise RuntimeError("model is not trained")
        X = _as_2d(X)
        if X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} features, model was trained on {self.n_features}")
        p = self.params
        sel = _rows(X, rows)
        with _torch_runtime(DevicePlan("cpu"), p.seed):
            feats = self._scaled(X)
            n = len(X)
            feats_pad = _pad(feats, p.seq_len)
            z0 = self._eval(self.price, lambda b: self._inputs(0, feats_pad, None, None, b), n)
            zm = self._eval(self.meta, lambda b: self._inputs(1, feats, z0, None, b), n)
            zz = _pad(torch.stack([z0, zm], dim=1), p.conf_seq_len)
            idx = torch.from_numpy(sel)
            zc = self._eval(self.confidence, lambda b: _windows(zz, idx[b], p.conf_seq_len), len(sel))
            z0s, zms = z0[idx], zm[idx]
            price = torch.sigmoid(z0s) if p.task == "classification" else z0s * self.y_scale
            side = torch.sign(z0s)
            meta = torch.sigmoid(zms)
            conf = torch.sigmoid(zc)
            signal = side * torch.clamp(2 * meta - 1, min=0.0)
        return {
            "price": price.double().numpy(),
            "side": side.double().numpy(),
            "meta": meta.double().numpy(),
            "confidence": conf.double().numpy(),
            "signal": signal.double().numpy(),
        }

    def predict(self, X: Any, rows: Any = None) -> np.ndarray:
        """The signal ``side × max(2 p_meta − 1, 0)`` in ``[-1, 1]`` for rows ``rows`` of ``X``."""
        return self.predict_components(X, rows)["signal"]

    def save(self, path: str | Path) -> None:
        """Write ``config.json`` and ``weights.pt`` (the three ``state_dict``\\ s) into ``path``."""
        import torch

        if self.price is None:
            raise RuntimeError("model is not trained")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {
            "price": self.price.state_dict(),
            "meta": self.meta.state_dict(),
            "confidence": self.confidence.state_dict(),
            "mean": torch.from_numpy(self.mean),
            "std": torch.from_numpy(self.std),
        }
        torch.save(state, path / "weights.pt")
        cfg = {
            "params": attrs.asdict(self.params),
            "n_features": self.n_features,
            "y_scale": self.y_scale,
            "devices_used": self.devices_used,
        }
        (path / "config.json").write_text(json.dumps(cfg, sort_keys=True, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> HierarchicalModel:
        """Read a model written by :meth:`save`."""
        import torch

        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        model = cls(HierarchyParams(**cfg["params"]))
        model.n_features = int(cfg["n_features"])
        model.y_scale = float(cfg["y_scale"])
        model.devices_used = list(cfg["devices_used"])
        state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        model.mean = state["mean"].numpy().copy()
        model.std = state["std"].numpy().copy()
        for stage, name in enumerate(("price", "meta", "confidence")):
            module = model._build(stage)
            module.load_state_dict(state[name])
            module.eval()
            setattr(model, name, module)
        return model


@contextlib.contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield
