"""Order latency models in the venue (issue 10 item 9; venue.venue_latency, components/latency.py).

Recorded latency is interpolated per request (hand-worked below from hftbacktest's
``IntpOrderLatency`` rule); lognormal latency draws from the trial's ``latency/<venue>`` stream,
so the same seed reproduces a run and replicates differ; requests and reports stay in order.
"""

from __future__ import annotations

import collections
from pathlib import Path

import attrs
import numpy as np
import pytest

from components.account import Account
from components.latency import ConstantLatency, LognormalLatency, RecordedLatency
from components.orders import OrderAccepted, OrderCanceled, OrderRejected, TimeInForce
from engine.events import Priority
from engine.kernel import Simulation
from engine.testing import book_rows, make_feed
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue

REPO = Path(__file__).resolve().parents[3]
T0 = 1_000_000_000
MS = 1_000_000
ROWS = book_rows(T0, [(100.0, 5.0), (99.99, 5.0)], [(100.01, 5.0), (100.02, 5.0)]) + [
    (T0 + 500 * MS, "depth", 1, 99.90, 1.0)
]


def _venue(seed=0, rows=ROWS, **config):
    cfg = dict(profile="binance_usdm", tick_size=0.01, lot_size=0.001, min_notional=0.0)
    cfg.update(config)
    sim = Simulation(seed=seed)
    venue = OrderBookVenue(sim, make_feed(rows), VenueConfig(**cfg), Account())
    log: list = []
    return sim, venue, log


def _at(sim, ts, fn):
    sim.schedule(ts, Priority.STRATEGY, None, target=lambda _: fn())


def _latency_file(tmp_path):
    """Round trips: entry 2 ms at T0, 6 ms at T0 + 100 ms; response 3 ms, then 1 ms."""
    p = tmp_path / "lat.csv"
    rows = [(T0, T0 + 2 * MS, T0 + 5 * MS), (T0 + 100 * MS, T0 + 106 * MS, T0 + 107 * MS)]
    p.write_text("req_ts,exch_ts,resp_ts\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return p


def test_recorded_latency_in_the_venue(tmp_path):
    """Sent at T0 + 50 ms: entry = 2 + 4/100·50 = 4 ms → at the venue at 54 ms; response at
    exchange time 54 ms between (T0+2, 3 ms) and (T0+106, 1 ms): 3 − 2/104·52 = 2 ms → 56 ms."""
    sim, venue, log = _venue(latency_model="recorded", latency_path=str(_latency_file(tmp_path)))
    assert isinstance(venue.latency, RecordedLatency)
    _at(sim, T0 + 50 * MS, lambda: venue.submit(log.append, 1, +1, 100.0, 1.0, TimeInForce.GTC))
    sim.run()
    (ack,) = log
    assert (type(ack), ack.venue_ts_ns, ack.ts_ns) == (OrderAccepted, T0 + 54 * MS, T0 + 56 * MS)


def test_recorded_rejection_in_transit(tmp_path):
    """A request at a time the recording shows the exchange dropping (exch_ts = 0) never reaches
    the venue: OrderRejected "rejected_in_transit" after the interpolated round trip."""
    p = tmp_path / "lat.csv"
    p.write_text(f"req_ts,exch_ts,resp_ts\n{T0},0,{T0 + 8 * MS}\n{T0 + 10 * MS},0,{T0 + 18 * MS}\n")
    sim, venue, log = _venue(latency_model="recorded", latency_path=str(p))
    _at(sim, T0 + 5 * MS, lambda: venue.submit(log.append, 1, +1, 100.0, 1.0, TimeInForce.GTC))
    sim.run()
    (rej,) = log
    assert (type(rej), rej.reason, rej.ts_ns) == (OrderRejected, "rejected_in_transit", T0 + 13 * MS)


def _lognormal_run(seed: int, timeline: str = "two"):
    """Ten IOC/GTC/cancel/modify requests with lognormal latency; returns every report."""
    sim, venue, log = _venue(seed=seed, latency_model="lognormal", entry_latency_ms=1.0,
                             entry_latency_p99_ms=20.0, response_latency_ms=1.0,
                             response_latency_p99_ms=20.0, cancel_entry_latency_ms=0.5,
                             timeline=timeline)  # fmt: skip
    for k in range(10):
        t = T0 + (1 + 3 * k) * MS
        _at(sim, t, lambda k=k: venue.submit(log.append, 100 + k, +1, 100.0, 1.0, TimeInForce.GTC))
        _at(sim, t + 1, lambda k=k: venue.modify(100 + k, 100.0, 0.5))
        _at(sim, t + 2, lambda k=k: venue.cancel(100 + k))
        _at(sim, t, lambda k=k: venue.submit(log.append, 200 + k, +1, 100.01, 0.1, TimeInForce.IOC))
    sim.run()
    return log, venue


def test_lognormal_same_seed_same_run_other_seed_other_run():
    a, venue = _lognormal_run(1)
    b, _ = _lognormal_run(1)
    c, _ = _lognormal_run(2)
    assert isinstance(venue.latency, LognormalLatency)
    rec = [attrs.asdict(e) | {"type": type(e).__name__} for e in a]
    assert rec == [attrs.asdict(e) | {"type": type(e).__name__} for e in b]
    assert [e.ts_ns for e in a] != [e.ts_ns for e in c]
    assert len({e.ts_ns - e.venue_ts_ns for e in a}) > 5  # drawn, not constant


def test_requests_and_reports_stay_in_order():
    """Whatever the draws: the venue handles requests in send order (each order is acked before
    its modify and cancel are handled) and reports arrive in the order they were made."""
    log, _ = _lognormal_run(3)
    venue_ts = [e.venue_ts_ns for e in log]
    assert venue_ts == sorted(venue_ts)
    assert [e.ts_ns for e in log] == sorted(e.ts_ns for e in log)
    for k in range(10):
        kinds = [type(e).__name__ for e in log if e.client_order_id == 100 + k]
        assert kinds[0] == "OrderAccepted" and kinds[-1] == "OrderCanceled"
    assert all(type(e) is not OrderRejected for e in log)


def test_constant_per_kind_latency_in_the_venue():
    """cancel_entry_latency_ms = 0.25: a cancel sent at 10 ms is handled at 10.25 ms."""
    sim, venue, log = _venue(entry_latency_ms=2.0, cancel_entry_latency_ms=0.25, response_latency_ms=0.0)
    assert venue.latency == ConstantLatency(entry_ns=2 * MS, response_ns=0, cancel_entry_ns=250_000)
    _at(sim, T0, lambda: venue.submit(log.append, 1, +1, 100.0, 1.0, TimeInForce.GTC))
    _at(sim, T0 + 10 * MS, lambda: venue.cancel(1))
    sim.run()
    assert [(type(e), e.venue_ts_ns) for e in log] == [(OrderAccepted, T0 + 2 * MS),
                                                       (OrderCanceled, T0 + 10 * MS + 250_000)]


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        (dict(latency_model="recorded"), "latency_path"),
        (dict(latency_model="lognormal", response_latency_p99_ms=30.0), "entry_latency_p99_ms"),
        (dict(latency_model="lognormal", entry_latency_p99_ms=30.0, response_latency_p99_ms=5.0),
         "response_latency_p99_ms"),
        (dict(latency_model="gamma"), "latency_model"),
        (dict(cancel_entry_latency_ms=-1.0), "cancel_entry_latency_ms"),
        (dict(timeline="exchange"), "timeline"),
        (dict(tie_order="random"), "tie_order"),
        (dict(self_trade="allow"), "self_trade"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(kw, key):
    with pytest.raises(ValueError, match=f"'{key}'"):
        VenueConfig(**kw)


def _sweep_file(tmp_path, extra_venue: str) -> Path:
    data = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
    p = tmp_path / "s.toml"
    p.write_text(f"""
[sweep]
name = "rep"
seed = 7
replicates = 2
[data]
format = "binance_ws"
paths = ["{data}"]
symbol = "ETHUSDT"
on_gap = "resync"
[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001
{extra_venue}
[strategy]
kind = "glft"
order_qty = 0.05
max_position = 0.5
interval_ms = 100.0
gamma = 0.01
""")
    return p


@pytest.mark.slow
def test_sweep_replicates_differ_with_lognormal_latency(tmp_path):
    """Two replicates of one grid point: with seeded lognormal latency their fills differ; with
    constant latency they are identical (the seed has nothing to draw); each is reproducible."""
    from experiments.config import ConfigError, load_sweep
    from experiments.worker import run_trial_safely
    from venues.loaders import load_feed

    lognormal = ('latency_model = "lognormal"\nentry_latency_ms = 10.0\nentry_latency_p99_ms = 40.0\n'
                 'response_latency_ms = 10.0\nresponse_latency_p99_ms = 40.0')  # fmt: skip
    spec = load_sweep(_sweep_file(tmp_path, lognormal))
    feed = load_feed(spec.data, cache_dir=tmp_path / "cache")
    t0, t1 = spec.trials
    assert t0.seed != t1.seed
    out = [run_trial_safely(feed, t, spec.strategy_cls) for t in (t0, t1, t0)]
    assert all(o.status == "done" for o in out), [o.error for o in out]
    m0, m1, m0_again = (o.metrics for o in out)
    assert m0 == m0_again
    assert (m0["n_fills"], m0["pnl"]) != (m1["n_fills"], m1["pnl"])
    const = load_sweep(_sweep_file(tmp_path, ""))
    c0, c1 = (run_trial_safely(feed, t, const.strategy_cls).metrics for t in const.trials)
    assert (c0["n_fills"], c0["pnl"]) == (c1["n_fills"], c1["pnl"])
    with pytest.raises(ConfigError, match="venue.latency_path"):
        load_sweep(_sweep_file(tmp_path, 'latency_model = "recorded"\nlatency_path = "missing.csv"'))


def _two_clock_run():
    """Two clocks, lognormal latency, modifies, cancels, IOCs and self-trade prevention."""
    rows = book_rows(T0, [(100.0, 5.0), (99.99, 5.0)], [(100.02, 5.0), (100.03, 5.0)])
    rng = np.random.default_rng(5)
    levels = [(1, 99.99), (1, 100.0), (-1, 100.02), (-1, 100.03)]
    for k in range(1, 200):
        side, px = levels[int(rng.integers(4))]
        if k % 3 == 0:  # a print: the taker hits that level
            rows.append((T0 + k * MS, "trade", -side, px, float(rng.integers(1, 6))))
        else:
            rows.append((T0 + k * MS, "depth", side, px, float(rng.integers(1, 6))))
    rows.append((T0 + 300 * MS, "depth", 1, 99.9, 1.0))
    feed = make_feed(rows)
    feed.events["ts_exch_ns"] = feed.events["ts_local_ns"] - np.arange(len(rows)) % 7 * 100_000
    sim = Simulation(seed=9)
    cfg = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, min_notional=0.0,
                      latency_model="lognormal", entry_latency_p99_ms=30.0, response_latency_p99_ms=30.0,
                      entry_latency_ms=2.0, response_latency_ms=2.0)  # fmt: skip
    acct = Account()
    venue = OrderBookVenue(sim, feed, cfg, acct)
    assert venue.two_books
    log: list = []
    for k in range(40):
        t = T0 + 5 * k * MS
        _at(sim, t, lambda k=k: venue.submit(log.append, 3 * k, 1, 100.01, 1.0, TimeInForce.GTC))
        _at(sim, t + 1, lambda k=k: venue.modify(3 * k, 100.0, 2.0))
        _at(sim, t + 2, lambda k=k: venue.submit(log.append, 3 * k + 2, 1, 100.01, 0.3, TimeInForce.GTC))
        _at(sim, t + 3, lambda k=k: venue.submit(log.append, 3 * k + 1, -1, 100.01, 0.5, TimeInForce.IOC))
        _at(sim, t + 2 * MS, lambda k=k: venue.cancel(3 * k))
    sim.run()
    recs = [(type(e).__name__, attrs.asdict(e)) for e in log]
    return recs, (acct.q, acct.cash, acct.n_fills), venue.touch_samples().tobytes()


def test_determinism_two_timelines_with_modify_and_self_trade():
    """The whole report stream of :func:`_two_clock_run` is identical on a second run."""
    a, b = _two_clock_run(), _two_clock_run()
    assert a == b
    kinds = collections.Counter(k for k, _ in a[0])
    assert kinds["Fill"] > 0 and kinds["OrderModified"] > 0
    assert any(r.get("reason") == "self_trade" for _, r in a[0])


_CHILD = """
import hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("lm", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(hashlib.sha256(repr(mod._two_clock_run()).encode()).hexdigest())
"""


def test_two_clock_run_is_identical_in_a_fresh_process():
    """Another interpreter with another PYTHONHASHSEED gives the same run, bit for bit."""
    import hashlib
    import os
    import subprocess
    import sys

    want = hashlib.sha256(repr(_two_clock_run()).encode()).hexdigest()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(Path(__file__).resolve())], capture_output=True,
                         text=True, env={**os.environ, "PYTHONHASHSEED": "4242"}, check=True, timeout=300)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == want
