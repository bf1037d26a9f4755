"""The research API in one place: the four adaptor functions a notebook user calls.

``load_data(cfg)`` → bars (and top of book) from recorded data; ``make_features(cfg, data)`` →
feature matrix; ``train_models(cfg, X, y, w)`` → fitted (and cached) models;
``walk_forward(cfg, X, y, w, t0_ns, t1_ns)`` → purged out-of-sample predictions. The experiment
runner uses the same functions (:mod:`signals.pipeline`).
"""

from __future__ import annotations

from signals.data import SignalDataConfig, load_data
from signals.features import FeatureConfig, make_features
from signals.train import ModelConfig, train_models, walk_forward

__all__ = [
    "FeatureConfig",
    "ModelConfig",
    "SignalDataConfig",
    "load_data",
    "make_features",
    "train_models",
    "walk_forward",
]
