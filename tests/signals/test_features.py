"""signals.features against AFML's definitions on small hand-checked cases and reference code."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from signals import features as F

pytestmark = pytest.mark.filterwarnings("ignore:adfuller currently returns:FutureWarning")

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


def random_bars(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    b = np.zeros(n, np.dtype(BAR_FIELDS))
    b["close"] = 2000 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    b["volume"] = rng.exponential(10, n)
    b["buy_volume"] = b["volume"] * rng.uniform(0, 1, n)
    b["ts_close_ns"] = np.arange(1, n + 1) * 60_000_000_000
    b["ts_open_ns"] = b["ts_close_ns"] - 60_000_000_000
    return b


# ------------------------------------------------------------------ FFD (AFML §5.5)


def test_ffd_weights_half():
    """d = 0.5: 1, -0.5, -0.125, -0.0625, -0.0390625, ... (w_k = -w_{k-1}(d-k+1)/k)."""
    np.testing.assert_array_equal(F.ffd_weights(0.5, 0.05), [1, -0.5, -0.125, -0.0625])
    np.testing.assert_allclose(F.ffd_weights(0.5, 0.03)[:5], [1, -0.5, -0.125, -0.0625, -0.0390625])


def test_ffd_weights_threshold_boundary():
    """|w_k| == τ is kept; the first |w_k| < τ stops generation and is excluded."""
    assert F.ffd_weights(0.5, 0.0625).tolist() == [1, -0.5, -0.125, -0.0625]
    assert F.ffd_weights(0.5, 0.0625 + 1e-12).tolist() == [1, -0.5, -0.125]


def test_ffd_weights_integer_orders():
    assert F.ffd_weights(0.0).tolist() == [1.0]
    assert F.ffd_weights(1.0).tolist() == [1.0, -1.0]
    assert F.ffd_weights(2.0).tolist() == [1.0, -2.0, 1.0]


def test_ffd_weights_match_snippet_5_3():
    """Snippet 5.3 ``getWeights_FFD`` (reversed order there)."""
    d, thres = 0.37, 1e-3
    w, k = [1.0], 1
    while True:
        w_ = -w[-1] / k * (d - k + 1)
        if abs(w_) < thres:
            break
        w.append(w_)
        k += 1
    np.testing.assert_allclose(F.ffd_weights(d, thres), w, rtol=1e-14, atol=0)


def test_ffd_weights_rejects_bad_threshold():
    with pytest.raises(ValueError):
        F.ffd_weights(0.5, 0.0)
    with pytest.raises(ValueError):
        F.ffd_weights(float("nan"))


def test_frac_diff_ffd_by_hand():
    """x = t², d = 0.5, τ = 0.05 → weights [1, -.5, -.125, -.0625], window 4."""
    x = np.arange(8.0) ** 2
    y = F.frac_diff_ffd(x, 0.5, 0.05)
    assert np.isnan(y[:3]).all()
    # y_3 = 9 - .5·4 - .125·1 - .0625·0 ; y_4 = 16 - .5·9 - .125·4 - .0625·1
    np.testing.assert_allclose(y[3:5], [6.875, 10.9375])
    assert y.dtype == np.float64 and y.shape == x.shape


def test_frac_diff_ffd_window_longer_than_series_is_all_nan():
    y = F.frac_diff_ffd(np.arange(5.0), 0.5, 1e-4)
    assert y.shape == (5,) and np.isnan(y).all()


def test_frac_diff_ffd_zero_threshold_never_fills():
    assert np.isnan(F.frac_diff_ffd(np.arange(50.0), 0.5, 0.0)).all()


def test_frac_diff_ffd_2d_columnwise():
    x = np.random.default_rng(1).normal(size=(60, 3)).cumsum(0)
    y = F.frac_diff_ffd(x, 0.4, 1e-2)
    for j in range(3):
        np.testing.assert_array_equal(y[:, j], F.frac_diff_ffd(x[:, j], 0.4, 1e-2))


series_st = hnp.arrays(np.float64, st.integers(1, 80), elements=st.floats(-1e3, 1e3))


@given(series_st, st.floats(0.0, 1.5), st.sampled_from([1e-1, 1e-2, 1e-3]))
def test_frac_diff_ffd_properties(x, d, thres):
    """Length, NaN prefix = window - 1, and the Snippet 5.4 dot product elsewhere."""
    y = F.frac_diff_ffd(x, d, thres)
    w = F.ffd_weights(d, thres, max_size=len(x) + 1)
    assert y.shape == x.shape and y.dtype == np.float64
    if len(w) > len(x):
        assert np.isnan(y).all()
        return
    K = len(w) - 1
    assert np.isnan(y[:K]).all() and np.isfinite(y[K:]).all()
    ref = [np.dot(w[::-1], x[t - K : t + 1]) for t in range(K, len(x))]
    np.testing.assert_allclose(y[K:], ref, rtol=1e-9, atol=1e-9)


@given(series_st)
def test_frac_diff_ffd_d0_d1(x):
    np.testing.assert_array_equal(F.frac_diff_ffd(x, 0.0), x)
    y = F.frac_diff_ffd(x, 1.0)
    assert np.isnan(y[0])
    np.testing.assert_array_equal(y[1:], np.diff(x))


def test_min_ffd_d_random_walk_and_noise():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=600)
    assert F.min_ffd_d(noise, threshold=1e-2) == 0.0
    walk = np.log(100) + np.cumsum(rng.normal(0, 0.01, 1500))
    d = F.min_ffd_d(walk, threshold=1e-2)
    assert 0.0 < d <= 1.0
    scan = F.ffd_adf_scan(walk, [d], threshold=1e-2)
    assert scan["p_value"][0] < 0.05
    prev = F.ffd_adf_scan(walk, [round(d - 0.1, 10)], threshold=1e-2)
    assert prev["p_value"][0] >= 0.05


# ------------------------------------------------------------------ encodings and entropy (AFML ch. 18)


def test_encode_binary():
    r = np.array([0.0, np.nan, 0.1, 0.0, -0.2, 0.0, 0.3])
    assert F.encode_binary(r).tolist() == [-1, -1, 1, 1, 0, 0, 1]


@given(hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1, 1)), st.integers(2, 5), st.integers(2, 20))
def test_encode_quantile_reference(r, q, window):
    codes = F.encode_quantile(r, q, window)
    for t in range(len(r)):
        if t < window - 1:
            assert codes[t] == -1
            continue
        edges = np.quantile(r[t - window + 1 : t + 1], np.arange(1, q) / q)
        assert codes[t] == int(np.sum(r[t] > edges))


def test_plugin_entropy_by_hand():
    alt = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    # word length 1: p = (1/2, 1/2) → 1 bit
    np.testing.assert_allclose(F.plugin_entropy(alt, 4, 1)[3:], 1.0)
    # word length 2 over 0101: words 01, 10, 01 → p = (2/3, 1/3); H = h(1/3)/2
    h = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3)) / 2
    np.testing.assert_allclose(F.plugin_entropy(alt, 4, 2)[3], h)
    assert np.isnan(F.plugin_entropy(alt, 4, 2)[:3]).all()
    np.testing.assert_allclose(F.plugin_entropy(np.zeros(6, int), 3, 1)[2:], 0.0)
    # a missing code blanks every window that holds it
    c = np.array([0, 1, -1, 1, 0, 1, 0])
    e = F.plugin_entropy(c, 3, 1, n_symbols=2)
    assert np.isnan(e[:5]).all() and np.isfinite(e[5:]).all()


def lz_lib_snippet_18_2(msg: str) -> list[str]:
    """AFML Snippet 18.2, verbatim logic."""
    i, lib = 1, [msg[0]]
    while i < len(msg):
        for j in range(i, len(msg)):
            msg_ = msg[i : j + 1]
            if msg_ not in lib:
                lib.append(msg_)
                break
        i = j + 1
    return lib


def test_lempel_ziv_by_hand():
    # 101010 → 1 | 0 | 10 | (10 already known) → 3 phrases / 6
    codes = np.array([1, 0, 1, 0, 1, 0])
    assert F.lempel_ziv_entropy(codes, 6)[-1] == pytest.approx(0.5)
    assert lz_lib_snippet_18_2("101010") == ["1", "0", "10"]


@given(st.lists(st.integers(0, 2), min_size=1, max_size=60), st.integers(1, 30))
def test_lempel_ziv_matches_snippet(codes, window):
    c = np.array(codes)
    out = F.lempel_ziv_entropy(c, window, n_symbols=3)
    for t in range(len(c)):
        if t < window - 1:
            assert np.isnan(out[t])
        else:
            msg = "".join(map(str, c[t - window + 1 : t + 1]))
            assert out[t] == pytest.approx(len(lz_lib_snippet_18_2(msg)) / window)


@given(st.lists(st.integers(0, 2), min_size=2, max_size=50), st.integers(2, 20), st.integers(1, 3))
def test_plugin_entropy_reference(codes, window, wl):
    c = np.array(codes)
    if wl > window:
        return
    out = F.plugin_entropy(c, window, wl, n_symbols=3)
    for t in range(window - 1, len(c)):
        m = c[t - window + 1 : t + 1]
        words = [tuple(m[i : i + wl]) for i in range(len(m) - wl + 1)]
        _, cnt = np.unique(np.array(words), axis=0, return_counts=True)
        p = cnt / cnt.sum()
        assert out[t] == pytest.approx(-(p * np.log2(p)).sum() / wl, abs=1e-12)


# ------------------------------------------------------------------ CUSUM (AFML Snippet 2.4) and SADF (§17.4.2)


def test_cusum_constructed_path():
    x = np.array([0.0, 0.3, 0.6, 0.9, 0.5, 0.1, -0.3])
    event, sp, sn = F.cusum_filter(x, 0.5)
    # S+ = .3, .6 > .5 → +1 at 2 (reset); S- reaches -.4, -.8 < -.5 → -1 at 5 (reset)
    assert event.tolist() == [0, 0, 1, 0, 0, -1, 0]
    np.testing.assert_allclose(sp, [0, 0.3, 0, 0.3, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(sn, [0, 0, 0, 0, -0.4, 0, -0.4], atol=1e-12)
    assert F.cusum_events(x, 0.5).tolist() == [2, 5]


def cusum_snippet_2_4(g: pd.Series, h: float) -> list:
    tEvents, sPos, sNeg = [], 0, 0
    diff = g.diff()
    for i in diff.index[1:]:
        sPos, sNeg = max(0, sPos + diff.loc[i]), min(0, sNeg + diff.loc[i])
        if sNeg < -h:
            sNeg = 0
            tEvents.append(i)
        elif sPos > h:
            sPos = 0
            tEvents.append(i)
    return tEvents


@given(st.integers(0, 10_000), st.floats(0.5, 3.0))
@settings(max_examples=30)
def test_cusum_matches_snippet(seed, h):
    x = np.cumsum(np.random.default_rng(seed).normal(size=200))
    assert F.cusum_events(x, h).tolist() == cusum_snippet_2_4(pd.Series(x), h)


def test_sadf_single_window_equals_adfuller():
    """With min_window == max_window each SADF value is one ADF regression (statsmodels)."""
    from statsmodels.tsa.stattools import adfuller

    y = np.log(100) + np.cumsum(np.random.default_rng(5).normal(0, 0.01, 120))
    for lags, reg in [(0, "c"), (1, "c"), (2, "ct"), (1, "n")]:
        W = 30
        out = F.sadf(y, W, lags, "nc" if reg == "n" else reg, max_window=W)
        assert np.isnan(out[: lags + W]).all()
        for t in (lags + W, 77, 119):
            seg = y[t - W - lags : t + 1]  # W rows after lags+1 warm-up points
            ref = adfuller(seg, maxlag=lags, regression=reg, autolag=None)[0]
            assert out[t] == pytest.approx(ref, rel=1e-7)


def test_sadf_is_sup_over_starts():
    from statsmodels.tsa.stattools import adfuller

    rng = np.random.default_rng(7)
    y = np.log(100) + np.cumsum(rng.normal(0, 0.01, 70))
    y[50:] += np.linspace(0, 0.2, 20) ** 2  # a small bubble
    lags, W = 1, 20
    out = F.sadf(y, W, lags)
    for t in (lags + W, 60, 69):
        stats = [
            adfuller(y[s - lags - 1 : t + 1], maxlag=lags, regression="c", autolag=None)[0]
            for s in range(lags + 1, t - W + 2)
        ]
        assert out[t] == pytest.approx(max(stats), rel=1e-7)


def test_sadf_degenerate_and_validation():
    assert np.isnan(F.sadf(np.zeros(40), 10, 1)).all()
    with pytest.raises(ValueError):
        F.sadf(np.zeros(40), 3, 1)  # 3 regressors need min_window > 3
    with pytest.raises(ValueError):
        F.sadf(np.zeros(40), 10, 1, regression="ctt")


# ------------------------------------------------------------------ volatility


def test_realized_vol_and_regime_by_hand():
    close = np.exp(np.cumsum([0.0, 0.01, -0.02, 0.02, 0.0, 0.03]))
    rv = F.realized_vol(close, 2)
    np.testing.assert_allclose(rv[2:], np.sqrt([(1e-4 + 4e-4) / 2, 8e-4 / 2, 4e-4 / 2, 9e-4 / 2]))
    assert np.isnan(rv[:2]).all()
    reg = F.vol_regime(np.array([1.0, 2.0, 3.0, 1.0, 5.0, np.nan, 1.0]), 3)
    # rolling median of 3: -, -, 2, 2, 3, nan, nan
    np.testing.assert_array_equal(reg, [np.nan, np.nan, 1.0, 0.0, 1.0, np.nan, np.nan])


def daily_vol_snippet_3_1(close: pd.Series, span0: int = 100) -> pd.Series:
    df0 = close.index.searchsorted(close.index - pd.Timedelta(days=1))
    df0 = df0[df0 > 0]
    df0 = pd.Series(close.index[df0 - 1], index=close.index[close.shape[0] - df0.shape[0] :])
    df0 = close.loc[df0.index] / close.loc[df0.values].values - 1
    return df0.ewm(span=span0).std()


def test_ewma_vol_matches_snippet_3_1():
    rng = np.random.default_rng(11)
    n = 400
    ts = np.cumsum(rng.integers(1, 8, n)) * 3_600_000_000_000  # irregular hourly-ish grid
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    s = pd.Series(close, index=pd.to_datetime(ts))
    ref = daily_vol_snippet_3_1(s, 20)
    ours = F.ewma_vol(close, ts, span=20)
    got = pd.Series(ours, index=s.index).loc[ref.index]
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-10, equal_nan=True)
    assert np.isnan(ours[: n - len(ref)]).all()


def test_ewma_vol_daily_grid_two_bars_back_and_simple_variant():
    close = np.array([100.0, 101.0, 99.0, 102.0, 104.0, 103.0])
    ts = np.arange(6) * F.DAY_NS
    r2 = pd.Series(close[2:] / close[:-2] - 1)
    np.testing.assert_allclose(F.ewma_vol(close, ts, 10)[2:], r2.ewm(span=10).std().to_numpy(), equal_nan=True)
    r1 = pd.Series(close).pct_change()
    np.testing.assert_allclose(F.ewma_vol(close, None, 10), r1.ewm(span=10).std().to_numpy(), equal_nan=True)


# ------------------------------------------------------------------ RSI, order flow


def test_rsi_textbook_example():
    """Wilder 14-period RSI, the StockCharts worked example (cs-rsi)."""
    closes = [44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433, 46.0826,
              45.8931, 46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116, 46.2222, 45.6439,
              46.2122, 46.2521, 45.7137, 46.4515, 45.7835, 45.3548, 44.0288, 44.1783, 44.2181, 44.5672,
              43.4205, 42.6628, 43.1314]  # fmt: skip
    expected = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42, 39.99,
                41.46, 41.87, 45.46, 37.30, 33.08, 37.77]  # fmt: skip
    out = F.rsi(np.array(closes), 14)
    assert np.isnan(out[:14]).all()
    np.testing.assert_allclose(out[14:], expected, atol=0.005)


def test_rsi_edge_cases():
    assert F.rsi(np.arange(20.0), 5)[5:].tolist() == [100.0] * 15
    assert F.rsi(np.ones(10), 3)[3:].tolist() == [50.0] * 7
    assert F.rsi(-np.arange(10.0), 3)[3:].tolist() == [0.0] * 7


def test_order_flow_by_hand():
    vol = np.array([10.0, 10.0, 20.0, 0.0])
    buy = np.array([10.0, 5.0, 5.0, 0.0])
    np.testing.assert_array_equal(F.signed_volume(vol, buy), [10, 0, -10, 0])
    np.testing.assert_allclose(F.order_flow_imbalance(vol, buy, 2), [np.nan, 0.5, -10 / 30, -0.5], equal_nan=True)
    np.testing.assert_allclose(
        F.vol_adjusted_order_flow(np.array([0.5, 1.0, 1.0]), np.array([0.01, 0.0, np.nan])), [50.0, np.nan, np.nan]
    )


# ------------------------------------------------------------------ microstructure


def test_book_imbalance_and_microprice():
    bid, ask = np.array([100.0, 100.0, 100.0]), np.array([101.0, 101.0, 101.0])
    qb, qa = np.array([3.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0])
    np.testing.assert_allclose(F.book_imbalance(qb, qa), [0.5, 0.0, np.nan])
    # I = 3/4: mid + spread·(I - 1/2) = 100.5 + 0.25 = 100.75 = I·ask + (1-I)·bid
    np.testing.assert_allclose(F.microprice(bid, ask, qb, qa), [100.75, 100.5, np.nan])


def test_vpin_by_hand():
    vol, buy = np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 0.0, 1.0, 1.0])
    # buckets of 2: (buy 1, sell 1) → 0 ; (buy 2) → 1
    np.testing.assert_allclose(F.vpin(vol, buy, 2.0, 1), [np.nan, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(F.vpin(vol, buy, 2.0, 2), [np.nan, np.nan, np.nan, 0.5])
    # a bar spilling over: bar 0 (3 bought) fills bucket 1 (imbalance 1) and puts 1 buy in bucket 2
    np.testing.assert_allclose(F.vpin(np.array([3.0, 1.0]), np.array([3.0, 0.0]), 2.0, 1), [1.0, 0.0])
    np.testing.assert_allclose(F.vpin(np.array([3.0, 1.0]), np.array([3.0, 0.0]), 2.0, 2), [np.nan, 0.5])


def test_bulk_volume_classification():
    close = np.array([100.0, 101.0, 100.0, 102.0])
    frac = F.bulk_volume_buy_fraction(close, 2)
    sd = np.std([-1.0, 2.0], ddof=1)
    from scipy.stats import norm

    np.testing.assert_allclose(frac, [np.nan, np.nan, norm.cdf(-1 / np.sqrt(2)), norm.cdf(2 / sd)], equal_nan=True)


def test_kyle_lambda_recovers_impact():
    rng = np.random.default_rng(2)
    s = rng.normal(0, 10, 200)
    close = 100 + np.concatenate([[0.0], np.cumsum(0.003 * s[1:])])
    lam = F.kyle_lambda(close, s, 20)
    assert np.isnan(lam[:20]).all()
    np.testing.assert_allclose(lam[20:], 0.003, rtol=1e-9)
    np.testing.assert_allclose(F.kyle_lambda([1.0, 2.0, 4.0], [0.0, 1.0, 2.0], 2), [np.nan, np.nan, 1.0])


# ------------------------------------------------------------------ config and assembly

ALL_BLOCKS = ("ffd", "entropy", "breaks", "volatility", "rsi", "order_flow", "microstructure")
SMALL = dict(
    ffd_threshold=1e-2,
    entropy_window=20,
    sadf_min_window=10,
    sadf_max_window=30,
    vol_window=10,
    regime_window=20,
    flow_window=10,
    vpin_n_buckets=5,
    vpin_calibration_bars=10,
    kyle_window=10,
    ewma_span=10.0,
    ewma_lookback_ns=600_000_000_000,
)


def test_make_features_shapes_names_and_toggles():
    bars = random_bars(300)
    book = {
        "best_bid": bars["close"] - 0.5,
        "best_ask": bars["close"] + 0.5,
        "bid_qty": np.full(300, 3.0),
        "ask_qty": np.full(300, 1.0),
    }
    cfg = F.FeatureConfig(**SMALL)
    names, X = F.make_features(cfg, {"bars": bars, "book": book})
    assert X.shape == (300, len(names)) and X.dtype == np.float64
    assert len(set(names)) == len(names)
    assert {"ffd_log_close", "sadf", "rsi", "vpin", "kyle_lambda", "book_imbalance", "microprice_dev_bps"} <= set(names)
    col = dict(zip(names, X.T, strict=True))
    np.testing.assert_allclose(col["book_imbalance"], 0.5)
    np.testing.assert_allclose(col["microprice_dev_bps"], 0.25 / bars["close"] * 1e4)
    np.testing.assert_array_equal(col["rsi"], F.rsi(bars["close"], 14))
    np.testing.assert_array_equal(col["ffd_log_close"], F.frac_diff_ffd(np.log(bars["close"]), 0.4, 1e-2))
    assert np.isfinite(X[-1]).all()
    # without a book the book features are absent
    names2, X2 = F.make_features(cfg, {"bars": bars})
    assert "book_imbalance" not in names2 and "vpin" in names2
    # every block off → no columns; each block alone → a subset of the columns
    off = {b: False for b in ALL_BLOCKS}
    n0, X0 = F.make_features(attrs.evolve(cfg, **off), {"bars": bars})
    assert n0 == [] and X0.shape == (300, 0)
    for b in ALL_BLOCKS:
        nb_, Xb = F.make_features(attrs.evolve(cfg, **{**off, b: True}), {"bars": bars})
        assert nb_ and set(nb_) <= set(names2)
        np.testing.assert_array_equal(Xb, np.column_stack([dict(zip(names2, X2.T, strict=True))[k] for k in nb_]))


def test_make_features_options():
    bars = random_bars(200, seed=4)
    cfg = F.FeatureConfig(**SMALL, entropy_encoding="quantile", vpin_classification="bvc", cusum_h=0.002)
    names, X = F.make_features(cfg, {"bars": bars})
    col = dict(zip(names, X.T, strict=True))
    assert np.nanmax(col["entropy_plugin"]) <= 2.0 + 1e-12  # 4 symbols
    assert set(np.unique(col["cusum_event"][~np.isnan(col["cusum_event"])])) <= {-1.0, 0.0, 1.0}


def test_feature_config_validation():
    with pytest.raises(ValueError):
        F.FeatureConfig(entropy_encoding="ternary")
    with pytest.raises(ValueError):
        F.FeatureConfig(sadf_min_window=3, sadf_lags=1)
    with pytest.raises(TypeError):
        F.FeatureConfig(rsi="yes")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        F.FeatureConfig().rsi = False  # type: ignore[misc]
    with pytest.raises(ValueError):
        F.make_features(F.FeatureConfig(), {})
