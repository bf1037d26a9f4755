"""signals.labels against AFML ch. 3 (Snippets 3.1-3.5, 3.7) on hand-checked cases and book ports."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from signals.labels import (
    BARRIER_LOWER,
    BARRIER_UPPER,
    BARRIER_VERTICAL,
    DAY_NS,
    daily_vol,
    ewm_std,
    triple_barrier_labels,
)

H = 3_600 * 1_000_000_000  # one hour in ns


# ----------------------------------------------------------------------------- daily vol


def test_daily_vol_by_hand_on_daily_grid():
    # Daily grid: the reference is the last bar strictly before t - 1 day, i.e. two bars back.
    ts = np.arange(5, dtype=np.int64) * DAY_NS
    close = np.array([100.0, 100.0, 110.0, 100.0, 121.0])
    # r2 = 110/100 - 1 = 0.1, r3 = 100/100 - 1 = 0, r4 = 121/110 - 1 = 0.1
    v = daily_vol(ts, close, span=2)  # alpha = 2/3, weights (1/3)^age
    assert np.isnan(v[:3]).all()  # bars 0, 1: no reference; bar 2: one return, no variance
    # two returns: the bias-corrected weighted variance of 2 points is (x1 - x0)^2 / 2 for any weights
    assert v[3] == pytest.approx(0.1 / math.sqrt(2), rel=1e-12)
    # three returns, weights (1/9, 1/3, 1): mean = 1/13, biased var = 3.9/2197,
    # correction (13/9)^2 / ((13/9)^2 - 91/81) = 169/78  ->  var = 1/260
    assert v[4] == pytest.approx(math.sqrt(1 / 260), rel=1e-12)


def test_daily_vol_reference_is_strictly_before_lookback_on_irregular_intraday_bars():
    ts = np.array([0, 10, 20, 25, 40], dtype=np.int64)
    close = np.array([100.0, 50.0, 104.0, 107.0, 110.24])
    v = daily_vol(ts, close, span=1000, lookback_ns=15)
    # t=10: 10-15 < 0 -> none; t=20: before 5 -> bar 0; t=25: before 10 -> bar 0 (bar 1 is AT 10);
    # t=40: before 25 -> bar 2
    r2, r3, r4 = 104 / 100 - 1, 107 / 100 - 1, 110.24 / 104 - 1
    assert np.isnan(v[:3]).all()
    assert v[3] == pytest.approx(abs(r3 - r2) / math.sqrt(2), rel=1e-12)
    # reference bar 1 (close 50) must never be used: compare with the explicit weighted formula
    x = np.array([r2, r3, r4])
    a = 2 / 1001
    w = (1 - a) ** np.arange(2, -1, -1)
    m = (w * x).sum() / w.sum()
    var = (w * (x - m) ** 2).sum() / w.sum() * w.sum() ** 2 / (w.sum() ** 2 - (w**2).sum())
    assert v[4] == pytest.approx(math.sqrt(var), rel=1e-12)


def _get_daily_vol_book(close: pd.Series, span0: int) -> pd.Series:
    # AFML Snippet 3.1, verbatim apart from pandas renames.
    df0 = close.index.searchsorted(close.index - pd.Timedelta(days=1))
    df0 = df0[df0 > 0]
    df0 = pd.Series(close.index[df0 - 1], index=close.index[close.shape[0] - df0.shape[0] :])
    df0 = close.loc[df0.index] / close.loc[df0.values].values - 1
    return df0.ewm(span=span0).std()


def test_daily_vol_matches_book_snippet_on_intraday_bars():
    rng = np.random.default_rng(1)
    idx = pd.date_range("2021-01-01", periods=300, freq="5h").as_unit("ns")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, idx.size))), index=idx)
    ref = _get_daily_vol_book(close, 30).reindex(idx).to_numpy()
    got = daily_vol(idx.asi8, close.to_numpy(), span=30)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-10, equal_nan=True)


def test_daily_vol_has_no_lookahead():
    rng = np.random.default_rng(2)
    ts = np.arange(200, dtype=np.int64) * H
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200)))
    base = daily_vol(ts, close, span=20)
    bumped = close.copy()
    bumped[150:] *= 1.5
    np.testing.assert_array_equal(daily_vol(ts, bumped, span=20)[:150], base[:150])


def test_ewm_std_matches_pandas():
    x = np.random.default_rng(3).normal(size=50)
    np.testing.assert_allclose(ewm_std(x, 7), pd.Series(x).ewm(span=7).std().to_numpy(), rtol=1e-12, equal_nan=True)


def test_daily_vol_rejects_bad_input():
    with pytest.raises(TypeError):
        daily_vol(np.arange(3.0), np.ones(3))
    with pytest.raises(ValueError):
        daily_vol(np.array([0, 2, 1]), np.ones(3))


# ----------------------------------------------------------------------------- triple barrier


def _one(close, target, pt=1.0, sl=None, vertical_ns=3 * H, side=None, ts=None, t0=0, min_ret=0.0):
    close = np.asarray(close, dtype=float)
    ts = np.arange(close.size, dtype=np.int64) * H if ts is None else np.asarray(ts, dtype=np.int64)
    out = triple_barrier_labels(ts, close, np.array([t0]), target, pt, sl, vertical_ns, side=side, min_ret=min_ret)
    return out


def test_upper_barrier_first_strict_crossing():
    out = _one([100, 101, 103, 90, 90], 0.02)
    assert out.size == 1
    r = out[0]
    assert (r["t0_idx"], r["t1_idx"], r["barrier"], r["label"]) == (0, 2, BARRIER_UPPER, 1)
    assert r["ret"] == pytest.approx(0.03)
    assert r["t1"] == 2 * H


def test_lower_barrier():
    out = _one([100, 99, 97.5, 120, 120], 0.02)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (2, BARRIER_LOWER, -1)
    assert out[0]["ret"] == pytest.approx(-0.025)


def test_touching_a_barrier_exactly_is_not_a_crossing():
    # 125/100 - 1 == 0.25 exactly: not > 0.25, so the vertical barrier decides
    out = _one([100, 125, 75, 110, 200], 0.25)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (3, BARRIER_VERTICAL, 1)
    assert out[0]["ret"] == pytest.approx(0.10)


def test_vertical_barrier_is_first_bar_at_or_after_t0_plus_vertical():
    ts = np.array([0, 1, 2, 5, 6]) * H
    out = _one([100, 100.5, 99.5, 99, 150], 0.02, ts=ts)  # t0 + 3h -> first bar at/after is 5h (bar 3)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (3, BARRIER_VERTICAL, -1)
    assert out[0]["ret"] == pytest.approx(-0.01)
    out = _one([100, 100, 100, 100, 150], 0.02, vertical_ns=3 * H)  # vertical at bar 3, return 0
    assert (out[0]["t1_idx"], out[0]["label"]) == (3, 0)


def test_horizontal_touch_on_the_vertical_bar_counts_as_horizontal():
    out = _one([100, 100, 100, 110, 110], 0.02)
    assert (out[0]["t1_idx"], out[0]["barrier"]) == (3, BARRIER_UPPER)


def test_zero_multiple_disables_a_barrier():
    out = _one([100, 90, 80, 120, 120], 0.02, pt=1.0, sl=0.0, side=1.0)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (3, BARRIER_UPPER, 1)
    out = _one([100, 103, 105, 101, 120], 0.02, pt=0.0, sl=1.0, side=1.0)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (3, BARRIER_VERTICAL, 1)


def test_events_below_min_ret_or_without_target_are_dropped():
    ts = np.arange(6, dtype=np.int64) * H
    close = np.array([100, 101, 103, 90, 90, 90.0])
    target = np.array([0.02, np.nan, 0.001, 0.02, 0.02, 0.02])
    out = triple_barrier_labels(ts, close, np.array([0, 1, 2, 3]), target, 1.0, None, H, min_ret=0.001)
    assert out["t0_idx"].tolist() == [0, 3]


def test_censored_events_are_dropped_like_getbins():
    ts = np.arange(5, dtype=np.int64) * H
    close = np.array([100, 100.5, 100, 100.2, 101.0])
    # event 3: no touch, vertical (3 + 3h) beyond the data -> no t1 -> dropped; event 0: vertical at bar 3
    out = triple_barrier_labels(ts, close, np.array([0, 3]), 0.05, 1.0, 1.0, 3 * H)
    assert out["t0_idx"].tolist() == [0]
    # no vertical barrier at all: only events that touch a horizontal barrier are labelled
    close2 = np.array([100, 100.5, 110, 100.2, 101.0])
    out = triple_barrier_labels(ts, close2, np.array([0, 3]), 0.05, 1.0, None, None)
    assert out["t0_idx"].tolist() == [0] and out["t1_idx"].tolist() == [2]


def test_meta_labels_with_side():
    # short side and a falling price: signed return > 0 -> label 1 (take the bet)
    out = _one([100, 99, 97, 97, 97], 0.02, pt=1.0, sl=1.0, side=-1.0)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"], out[0]["side"]) == (2, BARRIER_UPPER, 1, -1)
    assert out[0]["ret"] == pytest.approx(0.03)
    # long side and a falling price: stop-loss, signed return < 0 -> label 0 (not -1)
    out = _one([100, 99, 97, 97, 97], 0.02, pt=1.0, sl=1.0, side=1.0)
    assert (out[0]["barrier"], out[0]["label"]) == (BARRIER_LOWER, 0)
    assert out[0]["ret"] == pytest.approx(-0.03)
    # zero signed return at the vertical barrier -> label 0
    out = _one([100, 100, 100, 100, 100], 0.02, pt=1.0, sl=1.0, side=1.0)
    assert (out[0]["barrier"], out[0]["label"]) == (BARRIER_VERTICAL, 0)


def test_meta_labels_asymmetric_barriers_on_signed_return():
    # side -1, pt=2, sl=1, trgt=0.01: upper at +0.02 signed (price -2%), lower at -0.01 (price +1%)
    out = _one([100, 99, 98.5, 101.5, 100], 0.01, pt=2.0, sl=1.0, side=-1.0)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (3, BARRIER_LOWER, 0)
    out = _one([100, 99, 97.5, 101.5, 100], 0.01, pt=2.0, sl=1.0, side=-1.0)
    assert (out[0]["t1_idx"], out[0]["barrier"], out[0]["label"]) == (2, BARRIER_UPPER, 1)


def test_side_zero_means_no_bet_and_is_dropped():
    ts = np.arange(5, dtype=np.int64) * H
    out = triple_barrier_labels(
        ts, np.full(5, 100.0), np.array([0, 1]), 0.02, 1, 1, H, side=np.array([0, 1, 1, 1, 1.0])
    )
    assert out["t0_idx"].tolist() == [1]


def test_asymmetric_barriers_without_side_are_refused():
    with pytest.raises(ValueError, match="symmetric"):
        _one([100, 101], 0.02, pt=2.0, sl=1.0)


# --------------------------------------------------------------------- AFML Snippets 3.2-3.5 port


def _apply_pt_sl_on_t1(close, events, pt_sl):
    out = events[["t1"]].copy(deep=True)
    pt = pt_sl[0] * events["trgt"] if pt_sl[0] > 0 else pd.Series(np.nan, index=events.index)
    sl = -pt_sl[1] * events["trgt"] if pt_sl[1] > 0 else pd.Series(np.nan, index=events.index)
    out["sl"] = pd.NaT
    out["pt"] = pd.NaT
    for loc, t1 in events["t1"].fillna(close.index[-1]).items():
        df0 = (close[loc:t1] / close[loc] - 1) * events.at[loc, "side"]
        out.loc[loc, "sl"] = df0[df0 < sl[loc]].index.min()
        out.loc[loc, "pt"] = df0[df0 > pt[loc]].index.min()
    return out


def _book_labels(close, t_events, pt_sl, trgt, min_ret, t1, side=None):
    trgt = trgt.loc[t_events]
    trgt = trgt[trgt > min_ret]
    if side is None:
        side_, pt_sl_ = pd.Series(1.0, index=trgt.index), [pt_sl[0], pt_sl[0]]
    else:
        side_, pt_sl_ = side.loc[trgt.index], pt_sl[:2]
    events = pd.concat({"t1": t1.reindex(trgt.index), "trgt": trgt, "side": side_}, axis=1).dropna(subset=["trgt"])
    df0 = _apply_pt_sl_on_t1(close, events, pt_sl_)
    events["t1"] = df0[["t1", "sl", "pt"]].min(axis=1)
    events = events.dropna(subset=["t1"])
    ret = close.loc[events["t1"].values].values / close.loc[events.index].values - 1
    if side is not None:
        ret = ret * events["side"].values
    label = np.sign(ret)
    if side is not None:
        label[ret <= 0] = 0
    return events, ret, label


@pytest.mark.parametrize(
    ("use_side", "pt_sl"), [(False, (1.0, 1.0)), (True, (1.0, 1.0)), (True, (2.0, 1.0)), (True, (0.0, 1.5))]
)
def test_matches_book_snippets_on_random_path(use_side, pt_sl):
    rng = np.random.default_rng(4)
    n = 250
    idx = pd.date_range("2022-01-01", periods=n, freq="7h").as_unit("ns")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=idx)
    ts = idx.asi8
    vol = daily_vol(ts, close.to_numpy(), span=20)
    ev = np.sort(rng.choice(n, 60, replace=False))
    t_events = idx[ev]
    vb = idx.searchsorted(t_events + pd.Timedelta(days=2))
    vert = pd.Series(idx[vb[vb < n]], index=t_events[: int((vb < n).sum())])
    side = pd.Series(rng.choice([-1.0, 1.0], n), index=idx) if use_side else None
    events, ret, label = _book_labels(close, t_events, pt_sl, pd.Series(vol, index=idx), 0.002, vert, side)
    out = triple_barrier_labels(
        ts, close.to_numpy(), ev, vol, pt_sl[0], pt_sl[1] if use_side else None, 2 * DAY_NS,
        side=None if side is None else side.to_numpy(), min_ret=0.002,
    )  # fmt: skip
    assert out.size == len(events) > 30
    np.testing.assert_array_equal(out["t0"], events.index.asi8)
    np.testing.assert_array_equal(out["t1"], pd.DatetimeIndex(events["t1"]).as_unit("ns").asi8)
    np.testing.assert_allclose(out["ret"], ret, rtol=1e-12)
    np.testing.assert_array_equal(out["label"], label)
