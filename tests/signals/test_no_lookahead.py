"""No feature at bar t uses data after t: computing on ``x[:t+1]`` gives the same value at t.

Every public feature of :mod:`signals.features` and :func:`signals.features.make_features` with all
blocks on (book included) are checked on hypothesis-drawn random series and cut points. Values
must agree bit for bit (NaN where NaN): the kernels do the same floating-point operations at t
whatever the input length.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals import features as F

BAR_FIELDS = [
    ("ts_open_ns", "i8"),
    ("ts_close_ns", "i8"),
    ("open", "f8"),
    ("high", "f8"),
    ("low", "f8"),
    ("close", "f8"),
    ("volume", "f8"),
    ("dollar_volume", "f8"),
    ("n_trades", "i8"),
    ("buy_volume", "f8"),
    ("vwap", "f8"),
]


def _market(seed: int, n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n) * rng.choice([0.0, 1.0, 1.0, 1.0], n)))
    volume = rng.exponential(5, n) * rng.choice([0.0, 1.0, 1.0, 1.0, 1.0], n)
    ts = np.cumsum(rng.integers(1, 30, n)).astype(np.int64) * 60_000_000_000
    return {
        "close": close,
        "volume": volume,
        "buy": volume * rng.uniform(0, 1, n),
        "ts": ts,
        "codes": rng.integers(0, 3, n),
        "qb": rng.exponential(2, n),
        "qa": rng.exponential(2, n),
    }


# name → function of the market dict returning an array of length n (or a tuple of such arrays)
FEATURES = {
    "frac_diff_ffd": lambda m: F.frac_diff_ffd(np.log(m["close"]), 0.4, 1e-2),
    "frac_diff_ffd_d1": lambda m: F.frac_diff_ffd(m["close"], 1.0),
    "log_returns": lambda m: F.log_returns(m["close"]),
    "encode_binary": lambda m: F.encode_binary(F.log_returns(m["close"])),
    "encode_quantile": lambda m: F.encode_quantile(F.log_returns(m["close"]), 4, 15),
    "plugin_entropy": lambda m: F.plugin_entropy(m["codes"], 12, 2, n_symbols=3),
    "lempel_ziv_entropy": lambda m: F.lempel_ziv_entropy(m["codes"], 12, n_symbols=3),
    "cusum_filter": lambda m: F.cusum_filter(np.log(m["close"]), 0.015),
    "cusum_filter_var_h": lambda m: F.cusum_filter(np.log(m["close"]), 2 * F.realized_vol(m["close"], 5)),
    "sadf": lambda m: F.sadf(np.log(m["close"]), 8, 1),
    "sadf_bounded": lambda m: F.sadf(np.log(m["close"]), 8, 2, "ct", max_window=20),
    "realized_vol": lambda m: F.realized_vol(m["close"], 7),
    "vol_regime": lambda m: F.vol_regime(F.realized_vol(m["close"], 5), 10, 0.7),
    "ewma_vol_daily": lambda m: F.ewma_vol(m["close"], m["ts"], 10, 3_600_000_000_000),
    "ewma_vol_simple": lambda m: F.ewma_vol(m["close"], None, 10),
    "rsi": lambda m: F.rsi(m["close"], 6),
    "signed_volume": lambda m: F.signed_volume(m["volume"], m["buy"]),
    "order_flow_imbalance": lambda m: F.order_flow_imbalance(m["volume"], m["buy"], 6),
    "vol_adjusted_order_flow": lambda m: F.vol_adjusted_order_flow(
        F.order_flow_imbalance(m["volume"], m["buy"], 6), F.realized_vol(m["close"], 6)
    ),
    "book_imbalance": lambda m: F.book_imbalance(m["qb"], m["qa"]),
    "microprice": lambda m: F.microprice(m["close"] - 0.01, m["close"] + 0.02, m["qb"], m["qa"]),
    "bulk_volume_buy_fraction": lambda m: F.bulk_volume_buy_fraction(m["close"], 5),
    "vpin": lambda m: F.vpin(m["volume"], m["buy"], 7.5, 4),
    "kyle_lambda": lambda m: F.kyle_lambda(m["close"], F.signed_volume(m["volume"], m["buy"]), 6),
}


def _cut(m: dict[str, np.ndarray], end: int) -> dict[str, np.ndarray]:
    return {k: v[:end] for k, v in m.items()}


def _assert_same_at(full, part, t: int, what: str) -> None:
    full = full if isinstance(full, tuple) else (full,)
    part = part if isinstance(part, tuple) else (part,)
    for a, b in zip(full, part, strict=True):
        assert len(b) == t + 1, what
        np.testing.assert_array_equal(a[: t + 1], b, err_msg=f"{what}: value at t={t} changed with future data")


@pytest.mark.parametrize("name", sorted(FEATURES))
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 90), frac=st.floats(0, 1))
@settings(max_examples=25)
def test_feature_is_causal(name, seed, n, frac):
    m = _market(seed, n)
    t = min(int(frac * n), n - 1)
    f = FEATURES[name]
    _assert_same_at(f(m), f(_cut(m, t + 1)), t, name)


SMALL = F.FeatureConfig(
    ffd_threshold=1e-2,
    entropy_window=12,
    sadf_min_window=8,
    sadf_max_window=None,
    vol_window=6,
    regime_window=10,
    flow_window=5,
    vpin_n_buckets=3,
    vpin_calibration_bars=8,
    kyle_window=6,
    ewma_span=8.0,
    ewma_lookback_ns=3_600_000_000_000,
)


def _data(m: dict[str, np.ndarray]) -> dict:
    n = len(m["close"])
    bars = np.zeros(n, np.dtype(BAR_FIELDS))
    bars["close"], bars["volume"], bars["buy_volume"], bars["ts_close_ns"] = m["close"], m["volume"], m["buy"], m["ts"]
    book = {"best_bid": m["close"] - 0.01, "best_ask": m["close"] + 0.03, "bid_qty": m["qb"], "ask_qty": m["qa"]}
    return {"bars": bars, "book": book}


@pytest.mark.parametrize(
    "cfg",
    [
        SMALL,
        attrs.evolve(SMALL, cusum_h=0.01, entropy_encoding="quantile", vpin_classification="bvc", sadf_max_window=15),
    ],
    ids=["default-blocks", "alt-options"],
)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), frac=st.floats(0, 1))
@settings(max_examples=40)
def test_make_features_is_causal(cfg, seed, n, frac):
    m = _market(seed, n)
    t = min(int(frac * n), n - 1)
    names, X = F.make_features(cfg, _data(m))
    names_t, X_t = F.make_features(cfg, _data(_cut(m, t + 1)))
    assert names_t == names and X_t.shape == (t + 1, len(names))
    for j, name in enumerate(names):
        np.testing.assert_array_equal(X[: t + 1, j], X_t[:, j], err_msg=f"{name} at t={t} uses future data")


def test_make_features_warm_up_is_nan_not_future():
    """Row t of a long run equals row t of every prefix (all rows of one series)."""
    m = _market(123, 150)
    _, X = F.make_features(SMALL, _data(m))
    for t in range(0, 150, 7):
        _, X_t = F.make_features(SMALL, _data(_cut(m, t + 1)))
        np.testing.assert_array_equal(X[t], X_t[t])
