"""The automatic worker count (``--workers`` default, issue 14 item 13): the makespan model of
:func:`experiments.pilot.choose_workers`, the pilot timing and :func:`resolve_workers`."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments import pilot
from experiments.pilot import TRIAL_OVERHEAD_S, PilotTiming, choose_workers, pilot_trial_s

# --------------------------------------------------------------------------------------------
# choose_workers: hand-computed cases (T(1) = n·t in process; T(w) = s + ceil(n/w)·(t + o))
# --------------------------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt"


@pytest.mark.parametrize(("n", "cores", "t", "s", "in_process", "expected", "why"), [
    # quickstart on 2 cores: T1 = 20·0.13 = 2.6 s < T2 = 1.4 + 10·0.143 = 2.83 s
    (20, 2, 0.13, 1.4, True, 1, "start-up does not pay off"),
    # 200-trial grid: T1 = 26 s > T2 = 1.4 + 100·0.143 = 15.7 s
    (200, 2, 0.13, 1.4, True, 2, "start-up pays off"),
    # break-even: n·0.13 = 1.4 + (n/2)·0.143 ⇔ n ≈ 23.9; 22: 2.86 < 2.97 s, 26: 3.38 > 3.26 s
    (22, 2, 0.13, 1.4, True, 1, "just below break-even"),
    (26, 2, 0.13, 1.4, True, 2, "just above break-even"),
    # long trials: never more workers than trials, nor than cores
    (3, 16, 60.0, 1.4, True, 3, "one per trial"),
    (1000, 1, 5.0, 1.4, True, 1, "one core"),
    (0, 4, 1.0, 1.4, True, 1, "no trials still needs one worker"),
    # 5 trials of 10 s on 4 cores: T3 = 1.4 + 2·10.013 = T4; the tie goes to fewer processes
    (5, 4, 10.0, 1.4, True, 3, "3 and 4 workers both need 2 rounds"),
    # with a timeout one worker is a pool too: T1 = 1.4 + 20·0.143 = 4.26 s > T2 = 2.83 s
    (20, 2, 0.13, 1.4, False, 2, "no in-process mode"),
    # trials that take no time: the parent does everything
    (500, 8, 0.0, 1.4, True, 1, "instant trials"),
])
def test_choose_workers_hand_computed(n, cores, t, s, in_process, expected, why):
    """Each case is worked out by hand from the makespan of n equal tasks on w machines."""
    assert choose_workers(n, cores, t, s, in_process=in_process) == expected, why


def test_choose_workers_without_a_timing_uses_every_core_up_to_the_trials():
    """No measurement: the trials are assumed long, one worker per core (at most per trial)."""
    assert choose_workers(20, 2, None, 1.4) == 2
    assert choose_workers(3, 16, None, 1.4) == 3
    assert choose_workers(0, 16, None, 1.4) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(n_trials=-1, cores=2, trial_s=1.0, startup_s=1.0), "n_trials: expected an integer >= 0"),
    (dict(n_trials=2.5, cores=2, trial_s=1.0, startup_s=1.0), "n_trials: expected an integer"),
    (dict(n_trials=2, cores=0, trial_s=1.0, startup_s=1.0), "cores: expected an integer >= 1"),
    (dict(n_trials=2, cores=2, trial_s=-1.0, startup_s=1.0), "trial_s: expected a finite number"),
    (dict(n_trials=2, cores=2, trial_s=math.nan, startup_s=1.0), "trial_s: expected a finite"),
    (dict(n_trials=2, cores=2, trial_s=1.0, startup_s=math.inf), "startup_s: expected a finite"),
    (dict(n_trials=2, cores=2, trial_s=1.0, startup_s=1.0, overhead_s=-0.1), "overhead_s:"),
])
def test_choose_workers_rejects_bad_inputs(kwargs, message):
    """Bad counts or times raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=message):
        choose_workers(**kwargs)


_n = st.integers(0, 5_000)
_cores = st.integers(1, 64)
_time = st.floats(0.0, 100.0, allow_nan=False)


@given(_n, _cores, _time, _time, st.booleans())
def test_choose_workers_stays_within_trials_and_cores(n, cores, t, s, in_process):
    """Never fewer than 1, never more than the trials or the cores."""
    w = choose_workers(n, cores, t, s, in_process=in_process)
    assert 1 <= w <= max(1, min(n, cores))


@given(_n, _cores, _time, _time, _time)
def test_longer_trials_never_get_fewer_workers(n, cores, t1, t2, s):
    """The longer a trial, the less start-up matters: the count is monotone in the trial time,
    and (with everything else fixed) never grows when start-up gets dearer."""
    lo, hi = sorted((t1, t2))
    assert choose_workers(n, cores, lo, s) <= choose_workers(n, cores, hi, s)
    s_lo, s_hi = sorted((t1, t2))
    assert choose_workers(n, cores, s, s_hi) <= choose_workers(n, cores, s, s_lo)


@given(st.integers(1, 2_000), _cores, st.floats(0.001, 100.0), _time)
def test_chosen_count_is_never_slower_than_all_cores_or_one(n, cores, t, s):
    """Under the model, the choice beats or ties the two obvious policies (one worker in the
    parent; one worker per core), the comparison the issue asks for."""
    def wall(w: int) -> float:
        return n * t if w == 1 else s + math.ceil(n / w) * (t + TRIAL_OVERHEAD_S)

    w = choose_workers(n, cores, t, s)
    assert wall(w) <= wall(1) + 1e-12
    assert wall(w) <= wall(max(1, min(n, cores))) + 1e-12


# --------------------------------------------------------------------------------------------
# pilot_trial_s: a stand-in trial whose cost is a + b·events on a fake clock
# --------------------------------------------------------------------------------------------


def _feed(n_events: int):
    from engine.feed import BBO_DTYPE, EVENT_DTYPE
    from venues.loaders import Feed, FeedMeta

    ev = np.zeros(n_events, dtype=EVENT_DTYPE)
    ev["ts_local_ns"] = np.arange(n_events) * 1_000_000
    bbo = np.zeros(3, dtype=BBO_DTYPE)
    bbo["ts_local_ns"] = [0, n_events * 500_000, n_events * 2_000_000]
    meta = FeedMeta(symbol="X", venue="test", tick_size=0.01, lot_size=0.001, sz_decimals=None,
                    source_sha256=(), n_gaps=0)
    return Feed(events=ev, bbo=bbo, meta=meta, gaps=(), warnings=())


@pytest.fixture
def linear_trial(monkeypatch):
    """``experiments.trial.run_trial`` replaced by a stand-in costing ``FIXED + PER_EVENT·n``
    seconds of a fake ``perf_counter`` (plus ``COLD`` on its first call); records the calls."""
    clock = {"now": 0.0}
    calls: list[tuple[int, int]] = []
    cost = types.SimpleNamespace(FIXED=0.02, PER_EVENT=2e-6, COLD=0.5)

    def run_trial(feed, venue, strategy, strategy_cls, seed, extras=None):
        n = len(feed.events)
        calls.append((n, len(feed.bbo)))
        clock["now"] += cost.FIXED + cost.PER_EVENT * n + (cost.COLD if len(calls) == 1 else 0.0)
        print("user output that must not leak")
        if getattr(strategy, "boom", False):
            raise RuntimeError("boom")
        return None

    mod = types.ModuleType("experiments.trial")
    mod.run_trial = run_trial
    monkeypatch.setitem(sys.modules, "experiments.trial", mod)
    monkeypatch.setattr(pilot.time, "perf_counter", lambda: clock["now"])
    cost.calls = calls
    return cost


def _trial(**extras):
    return types.SimpleNamespace(venue=None, strategy=types.SimpleNamespace(), seed=1,
                                 extras=extras)


def test_pilot_extrapolates_a_linear_cost_exactly(linear_trial, capsys):
    """Prefixes of 2,000 (cold, warm), 8,000, 32,000 and 128,000 events; the 128k run costs
    0.02 + 0.256 s >= the 0.25 s budget, so the whole-feed time is extrapolated from the last
    two runs: exact for a + b·n (0.02 + 2e-6 × 1e6 = 2.02 s); the cold extra is 0.5 s."""
    timing = pilot_trial_s(_feed(1_000_000), _trial(), object)
    assert [n for n, _ in linear_trial.calls] == [2_000, 2_000, 8_000, 32_000, 128_000]
    assert timing.n_events == 1_000_000 and timing.n_events_timed == 128_000
    assert timing.trial_s == pytest.approx(0.02 + 2e-6 * 1_000_000)
    assert timing.warmup_s == pytest.approx(0.5)
    # a prefix carries the recorded BBO rows up to its last event only (row 2 is at event 500k)
    assert [b for _, b in linear_trial.calls] == [1, 1, 1, 1, 1]
    assert capsys.readouterr().out == ""  # the pilot's own output is dropped


def test_pilot_on_a_short_feed_measures_the_whole_feed(linear_trial):
    """A feed whose whole replay is under the budget is timed exactly, not extrapolated."""
    timing = pilot_trial_s(_feed(10_000), _trial(), object)
    assert [n for n, _ in linear_trial.calls] == [2_000, 2_000, 8_000, 10_000]
    assert timing.n_events_timed == 10_000
    assert timing.trial_s == pytest.approx(0.02 + 2e-6 * 10_000)
    # BBO rows at events 0, 5,000 and after the end: 1, 1, 2, then the whole feed's 3
    assert [b for _, b in linear_trial.calls] == [1, 1, 2, 3]


def test_pilot_gives_up_on_model_training_and_on_errors(linear_trial):
    """A [signal] trial is not timed (its cost is training, not events); a failing trial gives
    no timing (the sweep reports its error); an empty feed gives none."""
    assert pilot_trial_s(_feed(10_000), _trial(signal=object()), object) is None
    assert linear_trial.calls == []
    bad = types.SimpleNamespace(venue=None, strategy=types.SimpleNamespace(boom=True), seed=1,
                                extras={})
    assert pilot_trial_s(_feed(10_000), bad, object) is None
    assert pilot_trial_s(_feed(0), _trial(), object) is None


# --------------------------------------------------------------------------------------------
# resolve_workers and the CLI
# --------------------------------------------------------------------------------------------


def test_resolve_workers_explicit_auto_and_reported(write_sweep, base_toml, monkeypatch):
    """A given count is kept (capped at the trials); 0 follows the pilot through
    choose_workers and reports one line; without a feed or on Ray, one worker per core."""
    from experiments.config import load_sweep
    from experiments.executor import resolve_workers

    spec = load_sweep(write_sweep(base_toml))  # 6 trials
    monkeypatch.setattr(pilot.os, "cpu_count", lambda: 4)
    assert resolve_workers(3, spec) == 3
    assert resolve_workers(64, spec) == 6
    assert resolve_workers(0, spec) == 4  # no feed: no pilot
    seen = []

    def fake_pilot(feed, trial, strategy_cls, *, budget_s):
        seen.append(trial.trial_id)
        return PilotTiming(trial_s=fake_pilot.trial_s, warmup_s=0.4, n_events=10, n_events_timed=10,
                           pilot_s=0.1)

    monkeypatch.setattr(pilot, "pilot_trial_s", fake_pilot)
    lines: list[str] = []
    fake_pilot.trial_s = 0.05  # 6 × 0.05 = 0.3 s in process vs ≥ 1.3 s start-up
    assert resolve_workers(None, spec, feed=object(), report=lines.append) == 1
    assert seen == [spec.trials[0].trial_id]
    assert lines[0].startswith("workers: 1 (6 trials × ~0.05 s") and "start-up" in lines[0]
    fake_pilot.trial_s = 30.0  # 6 × 30 s: 3 workers take 2 rounds, as 4 would
    assert resolve_workers(0, spec, feed=object(), report=lines.append) == 3
    assert lines[1].startswith("workers: 3 (6 trials × ~30 s")
    assert resolve_workers(0, spec, feed=object(), backend="ray") == 4  # no pilot on Ray
    assert len(seen) == 2


def test_resolve_workers_pilots_a_bayes_sweep(write_sweep, base_toml, monkeypatch):
    """A bayes sweep has no precomputed trials: the pilot times a representative point."""
    from experiments.config import load_sweep
    from experiments.executor import resolve_workers

    body = base_toml.replace("seed = 3", 'seed = 3\nmethod = "bayes"\nn_trials = 4')
    spec = load_sweep(write_sweep(body))
    assert spec.trials == ()
    timed = []
    monkeypatch.setattr(pilot.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(pilot, "pilot_trial_s", lambda feed, trial, cls, *, budget_s: timed.append(
        trial.params["gamma"]) or PilotTiming(trial_s=100.0, warmup_s=0.0, n_events=1,
                                              n_events_timed=1, pilot_s=0.0))
    assert resolve_workers(0, spec, feed=object()) == 2
    assert timed == [0.01]  # the first value of each axis


def test_pilot_runs_the_real_trial_on_the_bundled_sample(write_sweep):
    """On the bundled Binance sample the real GLFT trial runs on prefixes of the feed and the
    estimate is a positive time; the chosen count is 1 or 2 for 2 trials."""
    from experiments.config import load_sweep
    from experiments.executor import load_data, resolve_workers

    paths = sorted(str(p) for p in SAMPLE.glob("*.gz"))[:1]
    if not paths:
        pytest.skip(f"bundled sample missing under {SAMPLE.name}")
    body = f"""
[sweep]
name = "pilot"

[data]
format = "binance_ws"
paths = {paths!r}

[venue]
profile = "binance_usdm"

[strategy]
kind = "glft"
gamma = [0.01, 0.1]
"""
    spec = load_sweep(write_sweep(body))
    feed = load_data(spec)
    timing = pilot_trial_s(feed, spec.trials[0], spec.strategy_cls, budget_s=0.05)
    assert timing is not None and timing.trial_s > 0 and timing.warmup_s >= 0
    assert 2_000 <= timing.n_events_timed <= timing.n_events == len(feed.events)
    lines: list[str] = []
    assert resolve_workers(0, spec, feed=feed, report=lines.append) in (1, 2)
    assert lines and lines[0].startswith("workers: ")
