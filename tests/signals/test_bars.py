"""Bars (signals.bars / signals._bars_nb) against straightforward pandas references, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.feed import CLEAR, DEPTH
from signals import bars
from signals._bars_nb import BAR_DTYPE, book_top_at_nb
from venues.loaders import DataConfig, load_feed
from venues.loaders.book import RefBook

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = tuple(str(ROOT / "data" / "binance_usdm_ethusdt" / f"ethusdt_2024071{d}.gz") for d in (8, 9))

# ---------------------------------------------------------------- pandas reference twins


def tick_bar_ids(n, n_per_bar):
    """Bar id of each trade; -1 for the partial last bar."""
    ids = np.arange(n) // n_per_bar
    ids[ids >= n // n_per_bar] = -1
    return ids


def threshold_bar_ids(values, threshold):
    """Bar id = number of bars closed before the trade; -1 after the last close."""
    c = pd.Series(values).cumsum()
    k = np.floor(c / threshold)
    closes = k > k.shift(1, fill_value=0.0)
    ids = closes.shift(1, fill_value=False).cumsum().to_numpy().copy()
    ids[ids >= closes.sum()] = -1
    return ids


def time_bar_ids(ts_ns, period_ns):
    k = pd.Series(ts_ns // period_ns)
    ids = (k != k.shift(1)).cumsum().to_numpy() - 1  # a fresh array
    ids[ids == ids[-1]] = -1  # the period holding the last trade is never closed
    return ids


def tick_rule(px, b0=1):
    out, last = [], b0
    for i, p in enumerate(px):
        if i > 0 and p > px[i - 1]:
            last = 1
        elif i > 0 and p < px[i - 1]:
            last = -1
        out.append(last)
    return np.array(out, dtype=np.int8)


def imbalance_bar_ids(b, t0, span, lo, hi):
    """AFML §2.3.2.1 boundaries by a plain loop (same float operations as the kernel)."""
    alpha = 2.0 / (span + 1.0)
    ids = np.full(len(b), -1)
    bar, start, theta, e_t, e_b = 0, 0, 0.0, 0.0, 0.0
    for i, bi in enumerate(b.tolist()):
        theta += bi
        t = i - start + 1
        close = t >= t0 if bar == 0 else abs(theta) >= e_t * abs(e_b)
        if close:
            ids[start : i + 1] = bar
            if bar == 0:
                e_t, e_b = float(t), theta / t
            else:
                e_t = e_t + alpha * (t - e_t)
                e_b = e_b + alpha * (theta / t - e_b)
            e_t = min(max(e_t, lo), hi)
            bar, start, theta = bar + 1, i + 1, 0.0
    return ids


def pandas_bars(ts, px, qty, side, ids):
    """OHLCV per bar id with pandas groupby. Sums use ``cumsum().last()``: pandas' grouped
    cumulative sum is Kahan-compensated in row order (the kernel's algorithm), whereas the
    summation order of ``groupby.sum`` is an implementation detail of the pandas version."""
    df = pd.DataFrame(
        {"ts": ts, "px": px, "qty": qty, "dollar": px * qty, "buy": np.where(side > 0, qty, 0.0), "id": ids}
    )
    df = df[df["id"] >= 0]
    g = df.groupby("id", sort=True)
    sums = df[["qty", "dollar", "buy"]].groupby(df["id"]).cumsum().groupby(df["id"]).last()
    out = np.empty(g.ngroups, dtype=BAR_DTYPE)
    out["ts_open_ns"] = g["ts"].first().to_numpy()
    out["ts_close_ns"] = g["ts"].last().to_numpy()
    out["open"] = g["px"].first().to_numpy()
    out["high"] = g["px"].max().to_numpy()
    out["low"] = g["px"].min().to_numpy()
    out["close"] = g["px"].last().to_numpy()
    out["volume"] = sums["qty"].to_numpy()
    out["dollar_volume"] = sums["dollar"].to_numpy()
    out["n_trades"] = g.size().to_numpy()
    out["buy_volume"] = sums["buy"].to_numpy()
    out["vwap"] = out["dollar_volume"] / out["volume"]
    return out


def reference(kind, ts, px, qty, side, size):
    if kind == "tick":
        ids = tick_bar_ids(len(ts), int(size))
    elif kind == "volume":
        ids = threshold_bar_ids(qty, size)
    elif kind == "dollar":
        ids = threshold_bar_ids(px * qty, size)
    elif kind == "imbalance":
        t0 = int(size)
        ids = imbalance_bar_ids(side, t0, 20.0, max(1.0, t0 / 10.0), 10.0 * t0)
    elif kind == "time":
        period = round(size * 1e9)
        ids = time_bar_ids(ts, period)
        out = pandas_bars(ts, px, qty, side, ids)
        k = out["ts_open_ns"] // period
        out["ts_open_ns"], out["ts_close_ns"] = k * period, (k + 1) * period
        return out
    return pandas_bars(ts, px, qty, side, ids)


def assert_bars_equal(got, want):
    assert got.dtype == BAR_DTYPE and len(got) == len(want)
    for name in BAR_DTYPE.names:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name, strict=True)


# ---------------------------------------------------------------- recorded trades


@pytest.fixture(scope="module")
def feed():
    return load_feed(DataConfig(format="binance_ws", paths=BUNDLED))


@pytest.fixture(scope="module")
def trades(feed):
    return bars.trades_from_events(feed.events)


@pytest.mark.parametrize(
    ("kind", "size"),
    [("tick", 50), ("tick", 1), ("volume", 25.0), ("dollar", 50_000.0), ("imbalance", 50), ("time", 5.0)],
)
def test_recorded_trades_match_pandas_exactly(trades, kind, size):
    """Every bar type equals the pandas reference bit for bit on the bundled Binance trades."""
    got = bars.make_bars(kind, *trades, size)
    assert len(got) > 5
    assert_bars_equal(got, reference(kind, *trades, size))


def test_tick_rule_sign_imbalance_bars(trades):
    """sign='tick_rule' uses AFML's tick rule; it matches the reference loop on recorded trades."""
    ts, px, qty, side = trades
    b = tick_rule(px)
    np.testing.assert_array_equal(bars.tick_rule(px), b)
    got = bars.tick_imbalance_bars(ts, px, qty, side, expected_ticks_init=40, sign="tick_rule")
    want = pandas_bars(ts, px, qty, side, imbalance_bar_ids(b, 40, 20.0, 4.0, 400.0))
    assert_bars_equal(got, want)


# ---------------------------------------------------------------- hypothesis


@st.composite
def trade_arrays(draw):
    n = draw(st.integers(1, 300))
    dts = draw(st.lists(st.integers(0, 3_000_000_000), min_size=n, max_size=n))
    px_ticks = draw(st.lists(st.integers(1, 500), min_size=n, max_size=n))
    qty = draw(st.lists(st.floats(1e-3, 50.0, allow_nan=False), min_size=n, max_size=n))
    side = draw(st.lists(st.sampled_from([-1, 1]), min_size=n, max_size=n))
    ts = 1_700_000_000_000_000_000 + np.cumsum(np.array(dts, dtype=np.int64))
    return ts, np.array(px_ticks) * 0.25 + 1000.0, np.array(qty), np.array(side, dtype=np.int8)


@given(
    trade_arrays(),
    st.sampled_from(["tick", "volume", "dollar", "imbalance", "time"]),
    st.floats(0.0, 1.0),
)
def test_hypothesis_trades_match_pandas_exactly(t, kind, u):
    """On generated trades every bar type equals the pandas reference exactly, and no bar is
    emitted from the trailing partial bar."""
    ts, px, qty, side = t
    size = {
        "tick": 1 + round(u * 20),
        "volume": 0.5 + u * 100.0,
        "dollar": 500.0 + u * 100_000.0,
        "imbalance": 1 + round(u * 15),
        "time": 0.5 + u * 10.0,
    }[kind]
    got = bars.make_bars(kind, ts, px, qty, side, size)
    assert_bars_equal(got, reference(kind, ts, px, qty, side, size))
    if len(got) and kind != "time":
        assert got["ts_close_ns"][-1] <= ts[-1]
        assert got["n_trades"].sum() <= len(ts)


# ---------------------------------------------------------------- hand-checked cases


def test_volume_bars_overshoot_closes_bar_without_splitting():
    """A trade that overshoots closes the bar whole; the next bar closes at the next multiple."""
    ts = np.arange(5, dtype=np.int64)
    px = np.full(5, 10.0)
    qty = np.array([1.0, 2.5, 0.5, 1.0, 0.4])  # cumsum 1, 3.5, 4, 5, 5.4
    b = bars.volume_bars(ts, px, qty, np.ones(5, np.int8), volume=2.0)
    assert b["n_trades"].tolist() == [2, 1]  # closes at 3.5 (>= 2) and at 4.0 (>= 4); 5.4 partial
    assert b["volume"].tolist() == [3.5, 0.5]
    assert b["dollar_volume"].tolist() == [35.0, 5.0]


def test_tick_bars_partial_last_bar_dropped():
    """Five trades in bars of two give two bars; the fifth trade is dropped."""
    b = bars.tick_bars(np.arange(5), np.arange(1.0, 6.0), np.ones(5), np.ones(5), n_trades=2)
    assert b["open"].tolist() == [1.0, 3.0] and b["close"].tolist() == [2.0, 4.0]


def test_imbalance_bars_hand_checked():
    """Warm-up tick bar of 4 seeds E[T]=4, E[b]=θ/T=0.5; next threshold 4·0.5=2."""
    side = np.array([1, 1, 1, -1, 1, 1, -1, -1, -1, -1], dtype=np.int8)
    n = len(side)
    b = bars.tick_imbalance_bars(np.arange(n), np.full(n, 5.0), np.ones(n), side, expected_ticks_init=4, span=3)
    # bar 1: trades 0-3 (θ=2). bar 2: θ reaches 2 at trade 5 (T=2): E[T]=4+.5(2-4)=3, E[b]=.5+.5(1-.5)=.75
    # threshold 2.25: trades 6.. θ=-1,-2,-3 -> closes at trade 8 (T=3): E[T]=3, E[b]=.75+.5(-1-.75)=-.125
    # threshold 0.375: trade 9 closes a one-trade bar.
    assert b["n_trades"].tolist() == [4, 2, 3, 1]


def test_time_bars_bounds_and_drop_last_period():
    """Time bars carry the period bounds; the last period is dropped; empty periods are skipped."""
    s = 1_000_000_000
    ts = np.array([0, s // 2, 3 * s + 1, 3 * s + 5, 4 * s], dtype=np.int64)
    b = bars.time_bars(ts, np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.ones(5), np.ones(5), period_ns=s)
    assert b["ts_open_ns"].tolist() == [0, 3 * s] and b["ts_close_ns"].tolist() == [s, 4 * s]
    assert b["n_trades"].tolist() == [2, 2]


@pytest.mark.parametrize(
    "bad",
    [
        {"px": np.array([1.0, np.nan])},
        {"qty": np.array([1.0, 0.0])},
        {"ts": np.array([2, 1])},
    ],
)
def test_invalid_trades_raise(bad):
    """NaN/non-positive prices or sizes and decreasing timestamps raise ValueError."""
    a = {"ts": np.array([1, 2]), "px": np.array([1.0, 1.0]), "qty": np.array([1.0, 1.0])} | bad
    with pytest.raises(ValueError):
        bars.tick_bars(a["ts"], a["px"], a["qty"], np.ones(2), n_trades=1)


# ---------------------------------------------------------------- top of book


def test_book_top_kernel_matches_refbook(feed):
    """The dense-grid replay gives RefBook's best bid/ask and sizes at sampled times."""
    ev = feed.events[:60_000]
    book_rows = np.isin(ev["kind"], (DEPTH, CLEAR))
    tick = feed.meta.tick_size
    pmin = ev["px"][ev["kind"] == DEPTH].min()
    pmax = ev["px"][ev["kind"] == DEPTH].max()
    idx = np.where(book_rows, np.rint((ev["px"] - pmin) / tick), 0).astype(np.int64)
    n_levels = int(round((pmax - pmin) / tick)) + 1
    samples = np.unique(ev["ts_local_ns"][::997])
    out_idx = np.empty((len(samples), 2), np.int64)
    out_qty = np.empty((len(samples), 2))
    book_top_at_nb(ev["ts_local_ns"], ev["kind"], ev["side"], idx, ev["qty"], n_levels, samples, out_idx, out_qty)
    ref = RefBook()
    i = 0
    ts = ev["ts_local_ns"]
    for j, s in enumerate(samples.tolist()):
        stop = int(np.searchsorted(ts, s, side="right"))
        ref.apply(ev[i:stop])
        i = stop
        bb, ba = ref.best_bid(), ref.best_ask()
        got_bb = pmin + out_idx[j, 0] * tick
        got_ba = pmin + out_idx[j, 1] * tick
        assert (bb is None) == (out_idx[j, 0] < 0) and (ba is None) == (out_idx[j, 1] < 0)
        if bb is not None:
            assert abs(got_bb - bb) < tick / 2 and out_qty[j, 0] == ref.bids[bb]
        if ba is not None:
            assert abs(got_ba - ba) < tick / 2 and out_qty[j, 1] == ref.asks[ba]
