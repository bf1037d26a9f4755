"""The batch path (venues/orderbook/batch.py, _batch_nb.py) against the per-trial event loop.

The per-trial path (``run_trial(..., compiled=False)``: the Python kernel, the venue and the
GLFT quoter's Python hooks) is the reference; it is cross-validated fill for fill against
hftbacktest (``bench/crossval_hftbacktest.py``). A 64-trial grid run once as a batch must give
every trial's fills, equity curve and metrics bit for bit, under each queue model, both fill
rules, both timelines and both same-timestamp rules.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import attrs
import numpy as np
import pytest

from experiments.trial import run_trial
from strategies.avellaneda_stoikov import ASConfig, AvellanedaStoikovQuoter
from strategies.base import Strategy
from strategies.fixed_spread import FixedSpreadConfig, FixedSpreadQuoter
from strategies.glft import GLFTConfig, GLFTQuoter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.batch import BatchUnsupported, batch_unsupported, run_quoter_batch
from venues.orderbook.config import VenueConfig

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"

compiled_only = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT") == "1",
    reason="grids too slow as plain Python; the no-JIT pass runs test_small_batch_as_plain_python",
)


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """The first ~4 minutes of the bundled ETHUSDT capture (about 100k rows)."""
    full = load_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),)),
                     cache_dir=str(tmp_path_factory.mktemp("cache")))  # fmt: skip
    ev = full.events
    end = ev["ts_local_ns"][0] + 240 * 10**9
    return attrs.evolve(full, events=ev[ev["ts_local_ns"] < end])


def grid(venue: VenueConfig) -> tuple[list[VenueConfig], list[GLFTConfig]]:
    """64 trials: γ, decision interval, latencies, order size, prior and depth cap all vary."""
    venues, strategies = [], []
    for gamma, interval, lat, qty, prior, cap in itertools.product(
        (0.02, 0.2), (50.0, 130.0), ((10.0, 10.0), (2.0, 35.0)), (0.05, 0.2), (False, True), (None, 4.0)
    ):
        venues.append(attrs.evolve(venue, entry_latency_ms=lat[0], response_latency_ms=lat[1],
                                   cancel_entry_latency_ms=lat[0] / 2))  # fmt: skip
        strategies.append(GLFTConfig(gamma=gamma, interval_ms=interval, order_qty=qty, max_position=3 * qty,
                                     warmup_s=5.0, window_s=20.0, max_depth_ticks=cap,
                                     prior_A=0.5 if prior else None, prior_k=0.3 if prior else None))  # fmt: skip
    return venues, strategies


def assert_same(a, b) -> None:
    """Bit-identical results: fills, equity curve, every metric (NaN equals NaN)."""
    assert not isinstance(a, Exception), a
    np.testing.assert_array_equal(a.fills, b.fills)
    np.testing.assert_array_equal(a.equity, b.equity)
    assert a.metrics.keys() == b.metrics.keys()
    for key, value in b.metrics.items():
        got = a.metrics[key]
        assert got == value or (math.isnan(got) and math.isnan(value)), (key, got, value)
    assert (a.pnl_currency, a.warnings) == (b.pnl_currency, b.warnings)


OPTIONS = [
    {"queue_model": "risk_averse"},
    {"queue_model": "prob_log", "fill_rule": "no_partial_fill"},
    {"queue_model": "prob_power", "tie_order": "data_first"},
    {"timeline": "local", "self_trade": "none"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(map(str, o.values())))
@compiled_only
def test_batch_of_64_equals_each_trial_alone(feed, options):
    venues, strategies = grid(VenueConfig(profile="binance_usdm", **options))
    batch = run_quoter_batch(feed, venues, strategies)
    n_fills = 0
    for a, v, s in zip(batch, venues, strategies, strict=True):
        b = run_trial(feed, v, s, GLFTQuoter, seed=0, compiled=False)
        assert_same(a, b)
        n_fills += len(b.fills)
    assert n_fills > 500  # the grid trades: the comparison is not between empty runs


@pytest.mark.parametrize("cls", [AvellanedaStoikovQuoter, FixedSpreadQuoter])
@compiled_only
def test_as_and_fixed_spread_batches_equal_each_trial_alone(feed, cls):
    venue = VenueConfig(profile="binance_usdm", queue_model="prob_power")
    venues, strategies = [], []
    for a, b, interval, lat in itertools.product((1, 2), (1, 2), (50.0, 120.0), (3.0, 25.0)):
        venues.append(attrs.evolve(venue, entry_latency_ms=lat, response_latency_ms=lat))
        if cls is FixedSpreadQuoter:
            strategies.append(FixedSpreadConfig(half_spread_bps=0.2 * a, skew_bps=0.5 * b, interval_ms=interval,
                                                order_qty=0.05, max_position=0.15))  # fmt: skip
        else:
            strategies.append(ASConfig(gamma=0.01 * a, horizon_s=20.0 * b, interval_ms=interval, order_qty=0.05,
                                       max_position=0.15, warmup_s=5.0, window_s=20.0))  # fmt: skip
    batch = run_quoter_batch(feed, venues, strategies)
    n_fills = 0
    for a_, v, s_ in zip(batch, venues, strategies, strict=True):
        b_ = run_trial(feed, v, s_, cls, seed=0, compiled=False)
        assert_same(a_, b_)
        n_fills += len(b_.fills)
    assert n_fills > 100


@compiled_only
def test_batch_is_deterministic_and_independent_of_its_other_trials(feed):
    venues, strategies = grid(VenueConfig(profile="binance_usdm", queue_model="prob_log"))
    first = run_quoter_batch(feed, venues, strategies)
    again = run_quoter_batch(feed, venues, strategies)
    picked = [5, 17, 40]  # the same trials in a smaller batch, in another order
    alone = run_quoter_batch(feed, [venues[i] for i in picked[::-1]], [strategies[i] for i in picked[::-1]])
    for a, b in zip(first, again, strict=True):
        assert_same(a, b)
    for i, c in zip(picked[::-1], alone, strict=True):
        assert_same(c, first[i])


@compiled_only
def test_replay_windows_change_nothing(feed, monkeypatch):
    """The compiled loop hands back every WINDOW_ROWS rows (to release a mapped feed's pages):
    cutting the replay into 3,000-row windows gives the very same trials."""
    import venues.orderbook.batch as batch

    venues, strategies = grid(VenueConfig(profile="binance_usdm", queue_model="prob_log"))
    whole = run_quoter_batch(feed, venues[:16], strategies[:16])
    monkeypatch.setattr(batch, "WINDOW_ROWS", 3_000)
    for a, b in zip(run_quoter_batch(feed, venues[:16], strategies[:16]), whole, strict=True):
        assert_same(a, b)


@compiled_only
def test_run_trial_takes_the_compiled_path_with_the_same_result(feed):
    venue = VenueConfig(profile="binance_usdm", queue_model="prob_power")
    strategy = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5.0, window_s=20.0)
    assert batch_unsupported(feed, venue, GLFTQuoter, None) is None
    assert_same(run_trial(feed, venue, strategy, GLFTQuoter, seed=3),
                run_trial(feed, venue, strategy, GLFTQuoter, seed=3, compiled=False))  # fmt: skip


def test_small_batch_as_plain_python(feed, monkeypatch):
    """Three trials on the first 40 s, batch vs each alone, in 5,000-row windows: the test the
    ``NUMBA_DISABLE_JIT=1`` pass runs (the kernel's lines as Python, for coverage)."""
    import venues.orderbook.batch as batch

    monkeypatch.setattr(batch, "WINDOW_ROWS", 5_000)
    ev = feed.events
    short = attrs.evolve(feed, events=ev[ev["ts_local_ns"] < ev["ts_local_ns"][0] + 40 * 10**9])
    venue = VenueConfig(profile="binance_usdm", queue_model="prob_log", self_trade="expire_maker")
    venues = [attrs.evolve(venue, entry_latency_ms=lat) for lat in (1.0, 5.0, 30.0)]
    strategies = [GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.1, warmup_s=2.0, window_s=5.0,
                             interval_ms=50.0, recalibrate_every=3),
                  ASConfig(gamma=0.05, order_qty=0.05, max_position=0.1, warmup_s=2.0, window_s=5.0),
                  GLFTConfig(gamma=0.5, order_qty=0.05, max_position=0.1, prior_A=0.5, prior_k=0.3)]  # fmt: skip
    classes = [GLFTQuoter, AvellanedaStoikovQuoter, GLFTQuoter]
    for k in range(3):
        got = run_quoter_batch(short, [venues[k]], [strategies[k]])[0]
        assert_same(got, run_trial(short, venues[k], strategies[k], classes[k], seed=0, compiled=False))
    both = run_quoter_batch(short, [venues[0], venues[2]], [strategies[0], strategies[2]])
    assert_same(both[1], run_trial(short, venues[2], strategies[2], GLFTQuoter, seed=0, compiled=False))


@compiled_only
def test_funding_settlements_are_booked_as_the_per_trial_path_books_them(feed):
    """Two recorded settlements inside the span (one with the position open): the batch path
    books each between the fills around it, as the per-trial path's FundingSchedule does."""
    from venues.loaders.funding import FundingRates

    ev = feed.events
    t0 = int(ev["ts_local_ns"][0])
    rates = FundingRates(ts_ns=np.array([t0 + 60 * 10**9, t0 + 150 * 10**9]), rate=np.array([0.0005, -0.0008]),
                         mark=np.array([3420.5, 3421.25]), source="hand-made")  # fmt: skip
    funded = attrs.evolve(feed, funding=rates)
    venue = VenueConfig(profile="binance_usdm", queue_model="prob_power")
    venues, strategies = grid(venue)
    batch = run_quoter_batch(funded, venues[:8], strategies[:8])
    paid = 0.0
    for a, v, s_ in zip(batch, venues[:8], strategies[:8], strict=True):
        b = run_trial(funded, v, s_, GLFTQuoter, seed=0, compiled=False)
        assert_same(a, b)
        assert b.metrics["n_funding"] == 2.0
        paid += abs(b.metrics["cost_funding"])
    assert paid > 0  # some trial held inventory at a settlement


class _MyGLFT(GLFTQuoter):
    """A user subclass: its hooks are Python, so it takes the per-trial path."""


class _Idle(Strategy):
    """A user strategy."""


@pytest.mark.parametrize(
    ("venue", "cls", "extras", "reason"),
    [
        (VenueConfig(profile="binance_usdm"), _MyGLFT, None, "_MyGLFT"),
        (VenueConfig(profile="binance_usdm"), _Idle, None, "_Idle"),
        (VenueConfig(profile="binance_usdm", latency_model="lognormal", entry_latency_p99_ms=50.0,
                     response_latency_p99_ms=50.0), GLFTQuoter, None, "lognormal"),  # fmt: skip
        (VenueConfig(profile="binance_usdm", own_impact=True), GLFTQuoter, None, "own_impact"),
        (VenueConfig(profile="binance_usdm"), GLFTQuoter, {"risk": object()}, "[risk]"),
    ],
)
def test_unsupported_trials_say_why(feed, venue, cls, extras, reason):
    assert reason in batch_unsupported(feed, venue, cls, extras)


def test_batch_refuses_mixed_venues(feed):
    a = VenueConfig(profile="binance_usdm", queue_model="prob_log")
    b = VenueConfig(profile="binance_usdm", queue_model="risk_averse")
    s = GLFTConfig()
    with pytest.raises(BatchUnsupported, match="share the venue settings"):
        run_quoter_batch(feed, [a, b], [s, s])


def test_finish_sees_each_trial_and_its_arrays_are_freed_at_once(feed):
    """``finish(k, result)`` gets each trial's result as soon as it is built and its return value
    is what the batch returns; once ``finish`` has dropped it, the trial's full equity curve is
    freed by reference counting (no cycle keeps it for a later collection), so a worker holds
    one full curve at a time."""
    import gc
    import weakref

    venue = VenueConfig(profile="binance_usdm")
    strategies = [GLFTConfig(gamma=g, warmup_s=5.0, window_s=20.0) for g in (0.02, 0.2, 2.0)]
    alone = [run_trial(feed, venue, c, GLFTQuoter, 0, compiled=False) for c in strategies]
    seen: list[int] = []
    curves: list = []

    def finish(k, result):
        assert all(ref() is None for ref in curves)  # the previous trials' curves are gone
        assert_same(result, alone[k])
        seen.append(k)
        curves.append(weakref.ref(result.equity))
        return f"trial {k}"

    gc.disable()
    try:
        out = run_quoter_batch(feed, [venue] * 3, strategies, finish=finish)
    finally:
        gc.enable()
    assert out == ["trial 0", "trial 1", "trial 2"] and seen == [0, 1, 2]
    assert all(ref() is None for ref in curves)
