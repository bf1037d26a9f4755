"""Queue arithmetic at our price, fill for fill against hftbacktest 2.4.4 itself (issue 10).

Each case is a scripted L2 feed (exchange time = local time, so both engines have one clock)
replayed by hftbacktest (``HashMapMarketDepthBacktest``, 1 ms / 1 ms constant order latency,
tick 0.01, lot 0.001) and by mmsim's venue harness (same latencies, tick and lot). A buy of
0.010 at 100.00 is sent at ``T0`` and reaches the exchange at ``T0 + 1 ms``. The fills must be
the same (exchange time, size); the times and sizes are also worked by hand from hftbacktest's
rules (``hftbacktest/src/backtest/models/queue.rs`` at the 2.4.4 version bump, 4d700e8):

* ``is_filled``: ``exec = round(-front / lot)`` (halves away from zero); ``exec > 0`` fills and
  resets ``front = 0``; otherwise ``front`` keeps its (negative) sub-half-lot value;
* ``ProbQueueModel::depth``: ``front' = min(front - (1-p)·chg + min(back - p·chg, 0), new)``
  with no floor at 0 (mmsim: ``queue_below_zero = "allow"``).

hftbacktest fills are read from the order's ``leaves_qty``, stepping 1 ms at a time: a change
seen at local time ``t`` is a fill at exchange time ``t - 1 ms`` (the response latency).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from components.orders import Fill

T0 = 1_000_000_000
MS = 1_000_000
LOT = 0.001
QTY = 0.01
END_MS = 100


def _book(bid_qty: float) -> list[tuple]:
    return [
        (T0, "clear", 0, 0.0, 0.0),
        (T0, "depth", 1, 100.0, bid_qty),
        (T0, "depth", 1, 99.99, 1.0),
        (T0, "depth", -1, 100.01, 1.0),
    ]


def _end() -> list[tuple]:
    return [(T0 + END_MS * MS, "depth", 1, 99.0, 1.0)]


# Carry: front 1.0; a print of 1.0003 leaves front = -0.0003 (0.3 lot -> no fill, kept); a print
# of 0.00025 makes it -0.00055 = 0.55 lot -> one lot at 20 ms (mmsim before: ahead reset to 0 at
# 10 ms, 0.25 lot at 20 ms, no fill at all).
CARRY = _book(1.0) + [
    (T0 + 10 * MS, "trade", -1, 100.0, 1.0003),
    (T0 + 20 * MS, "trade", -1, 100.0, 0.00025),
] + _end()  # fmt: skip

# Cancel past the front, prob_log (f(x) = ln(1 + x)). Front 0.5 at arrival, level 0.5 -> 96.
# 20 ms, 96 -> 78 (chg 18): back 95.5, p = ln 96.5 / (ln 96.5 + ln 1.5) = 0.918503,
#   front' = 0.5 - 0.081497·18 = -0.967007 (clamp: 0).
# 30 ms, 78 -> 70 (chg 8): back 78.967007, f(front) = ln(0.032993) = -3.411461, f(back) = 4.381614,
#   p = 4.516416 > 1, front' = -0.967007 + 3.516416·8 = 27.164319 (moved back; clamp: 0).
# 40 ms, print 0.2: allow 26.964 ahead, no fill; clamp: excess 0.2 -> the whole order fills.
# 50 ms, print 27.0: allow -0.036 -> 36 lots -> the whole order fills.
NEGATIVE_FRONT = _book(0.5) + [
    (T0 + 10 * MS, "depth", 1, 100.0, 96.0),
    (T0 + 20 * MS, "depth", 1, 100.0, 78.0),
    (T0 + 30 * MS, "depth", 1, 100.0, 70.0),
    (T0 + 40 * MS, "trade", -1, 100.0, 0.2),
    (T0 + 50 * MS, "trade", -1, 100.0, 27.0),
] + _end()  # fmt: skip

# front <= -1: 0.5 -> 196 -> 150 (chg 46): p = ln 196.5 / (ln 196.5 + ln 1.5) = 0.928695,
# front' = 0.5 - 0.071305·46 = -2.780; 150 -> 140: ln(1 + front) is NaN, Rust's
# NaN.min(140) = 140: the back of the level. Print 0.2 at 40 ms: no fill (clamp: fills);
# print 139.9 at 50 ms: -0.1 -> fills.
NAN_FRONT = _book(0.5) + [
    (T0 + 10 * MS, "depth", 1, 100.0, 196.0),
    (T0 + 20 * MS, "depth", 1, 100.0, 150.0),
    (T0 + 30 * MS, "depth", 1, 100.0, 140.0),
    (T0 + 40 * MS, "trade", -1, 100.0, 0.2),
    (T0 + 50 * MS, "trade", -1, 100.0, 139.9),
] + _end()  # fmt: skip

CASES = [
    # (id, rows, queue model, fill rule, queue_below_zero, hand-worked fills [(ms, qty)])
    ("carry-risk_averse-whole", CARRY, "risk_averse", "no_partial_fill", "clamp", [(20, QTY)]),
    ("carry-risk_averse-partial", CARRY, "risk_averse", "partial_fill", "clamp", [(20, LOT)]),
    ("carry-prob_log-partial", CARRY, "prob_log", "partial_fill", "clamp", [(20, LOT)]),
    ("carry-prob_power-whole", CARRY, "prob_power", "no_partial_fill", "allow", [(20, QTY)]),
    ("negative-front-allow", NEGATIVE_FRONT, "prob_log", "no_partial_fill", "allow", [(50, QTY)]),
    ("nan-front-allow", NAN_FRONT, "prob_log", "no_partial_fill", "allow", [(50, QTY)]),
]


def _need_hftbacktest() -> None:
    """Skip without hftbacktest (the ``dev`` extra) or under ``NUMBA_DISABLE_JIT=1`` (``just
    test`` reruns this directory so; hftbacktest's own Numba code does not run uncompiled)."""
    pytest.importorskip("hftbacktest")
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        pytest.skip("hftbacktest needs the Numba JIT")


def _hbt_event_array(rows: list[tuple]) -> np.ndarray:
    from hftbacktest.types import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    kinds = {"depth": DEPTH_EVENT, "trade": TRADE_EVENT, "clear": DEPTH_CLEAR_EVENT}
    out = np.zeros(len(rows), event_dtype)
    for n, (t, kind, side, px, qty) in enumerate(rows):
        flags = EXCH_EVENT | LOCAL_EVENT | kinds[kind] | (BUY_EVENT if side == 1 else SELL_EVENT if side == -1 else 0)
        out[n] = (flags, t, t, px, qty, 0, 0, 0.0)
    return out


def _hbt_fills(rows: list[tuple], queue: str, fill_rule: str) -> list[tuple[int, float]]:
    """hftbacktest's fills as ``(exchange ms after T0, qty)``, from the order every 1 ms."""
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    from hftbacktest.order import GTC, LIMIT

    asset = (
        BacktestAsset()
        .data([_hbt_event_array(rows)])
        .linear_asset(1.0)
        .constant_order_latency(MS, MS)
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(0.01)
        .lot_size(LOT)
    )
    asset = asset.partial_fill_exchange() if fill_rule == "partial_fill" else asset.no_partial_fill_exchange()
    if queue == "risk_averse":
        asset = asset.risk_adverse_queue_model()
    elif queue == "prob_power":
        asset = asset.power_prob_queue_model(3.0)
    else:
        asset = asset.log_prob_queue_model()
    hbt = HashMapMarketDepthBacktest([asset])
    hbt.elapse(0)  # to the first row, T0
    assert hbt.current_timestamp == T0
    hbt.submit_buy_order(0, 1, 100.0, QTY, GTC, LIMIT, False)
    fills, done = [], 0.0
    for ms in range(1, END_MS):
        hbt.elapse(MS)
        order = hbt.orders(0).get(1)
        now = QTY - order.leaves_qty  # (its position ignores partial fills: read the order)
        if now - done > LOT / 2:
            fills.append((ms - 1, round(now - done, 6)))
            done = now
    hbt.close()
    return fills


def _mmsim_fills(venue_harness, rows, queue, fill_rule, below_zero) -> list[tuple[int, float]]:
    h = venue_harness(rows, queue_model=queue, fill_rule=fill_rule, queue_below_zero=below_zero,
                      queue_power=3.0)  # fmt: skip
    h.submit(T0, 1, +1, 100.0, QTY)
    h.run()
    return [((f.venue_ts_ns - T0) // MS, round(f.qty, 6)) for f in h.of(Fill, 1)]


@pytest.mark.parametrize(("rows", "queue", "fill_rule", "below_zero", "want"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_mmsim_fills_as_worked_from_hftbacktest_rules(venue_harness, rows, queue, fill_rule, below_zero, want):
    """mmsim's fills on the scripted feed equal the hand-worked ones (no hftbacktest needed)."""
    assert _mmsim_fills(venue_harness, rows, queue, fill_rule, below_zero) == want


@pytest.mark.parametrize(("rows", "queue", "fill_rule", "below_zero", "want"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_hftbacktest_fills_the_same(rows, queue, fill_rule, below_zero, want):
    """hftbacktest 2.4.4 fills the scripted feed as worked by hand (and so as mmsim does)."""
    _need_hftbacktest()
    assert _hbt_fills(rows, queue, fill_rule) == want


@pytest.mark.parametrize("rows", [NEGATIVE_FRONT, NAN_FRONT], ids=["negative-front", "nan-front"])
def test_clamp_keeps_the_order_at_the_front(venue_harness, rows):
    """Default ``clamp``: a cancel cannot move the order past the front nor back; the first
    print at the price (0.2 at 40 ms, 200 lots past the queue) fills it whole."""
    assert _mmsim_fills(venue_harness, rows, "prob_log", "no_partial_fill", "clamp") == [(40, QTY)]


def test_queue_estimates_below_zero_as_worked(venue_harness):
    """``allow``: the queue estimate after each decrease of NEGATIVE_FRONT (hand-worked above)."""
    h = venue_harness(NEGATIVE_FRONT, queue_model="prob_log", queue_below_zero="allow", fill_rule="no_partial_fill")
    h.submit(T0, 1, +1, 100.0, QTY)
    probes = [h.probe(T0 + ms * MS, lambda: h.venue.queue_ahead(1)) for ms in (15, 25, 35, 45)]
    h.run()
    got = [p[0] for p in probes]
    p1 = np.log(96.5) / (np.log(96.5) + np.log(1.5))
    f1 = 0.5 - (1 - p1) * 18.0
    back = 78.0 - f1
    p2 = np.log1p(back) / (np.log1p(back) + np.log1p(f1))
    f2 = f1 - (1 - p2) * 8.0 + min(back - p2 * 8.0, 0.0)
    assert got[0] == 0.5
    assert got[1] == pytest.approx(f1, rel=1e-12) and f1 == pytest.approx(-0.967007, abs=1e-6)
    assert got[2] == pytest.approx(f2, rel=1e-12) and f2 == pytest.approx(27.164319, abs=1e-6)
    assert got[3] == pytest.approx(f2 - 0.2, rel=1e-12)


@pytest.mark.slow
def test_crossval_slice_prob_log_needs_allow(tmp_path):
    """The GLFT cross-validation (``bench/crossval_hftbacktest.py``, aligned mode) on the first
    200 s of the bundled ETHUSDT pair with ``prob_log``: fill for fill with hftbacktest, and the
    match drops when ``queue_below_zero`` is switched back to ``clamp`` (the log model pushes the
    front below 0 in this slice: 13 fills, 0.77 with ``clamp`` when measured on 2026-12-04)."""
    _need_hftbacktest()
    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location("crossval_hftbacktest", root / "bench" / "crossval_hftbacktest.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crossval_hftbacktest", mod)
    spec.loader.exec_module(mod)
    (row,) = mod.run(["ethusdt_20240718-19"], ["prob_log"], ["aligned"], tmp_path, 200.0, False)["runs"]
    assert row["venue_options"]["queue_below_zero"] == "allow"
    assert row["hbt_fills"] >= 5 and row["fill_match"] >= 0.99, (row["only_mmsim"], row["only_hbt"])
    assert row["pnl_rel_diff"] <= 0.01 and row["max_abs_equity_diff"] < 1e-6
    clamp = {x["option"]: x for x in row["each_choice_reverted"]}["queue_below_zero"]
    assert clamp["value"] == "clamp" and clamp["fill_match"] < 0.99
