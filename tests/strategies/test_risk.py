"""Risk monitors on constructed paths: alerts fire exactly at the crossings, re-arm, and act."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from components.account import Account
from engine.kernel import Simulation
from engine.testing import book_rows, make_feed
from strategies.base import Strategy
from strategies.config import StrategyConfig
from strategies.hedger import Hedger, HedgerConfig
from strategies.risk import (
    ALERT_DTYPE,
    RiskBreach,
    RiskConfig,
    VaRMonitor,
    add_risk,
    historical_var,
    parametric_var,
)
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue

S = 1_000_000_000
T0 = 1_700_000_000 * S
VENUE = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, min_notional=0.0,
                    entry_latency_ms=1.0, response_latency_ms=1.0, maker_fee_bps=0.0,
                    taker_fee_bps=0.0)  # fmt: skip


def snap(k: float, mid: float, half: float = 0.5) -> list[tuple]:
    """A one-level snapshot at ``T0 + k`` seconds around ``mid``."""
    return book_rows(T0 + int(round(k * S)), [(round(mid - half, 2), 10.0)], [(round(mid + half, 2), 10.0)])


class Idle(Strategy):
    """Never trades."""


class Bidder(Strategy):
    """Keeps one bid of 1.0 at 99.60 (inside the 99.50/100.50 book), requoted every 100 ms;
    logs the time of every order it sends."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.sent: list[int] = []

    def on_start(self) -> None:
        self.set_timer("q", every_ns=S // 10)

    def on_timer(self, event) -> None:
        self.quote(bid_px=99.6, ask_px=None, qty=1.0)

    def submit_limit(self, **kw) -> int:
        self.sent.append(self.now_ns)
        return super().submit_limit(**kw)


class Desk:
    """One simulation: a venue on ``rows``, an account, a strategy, the monitors of ``config``."""

    def __init__(self, rows, config: RiskConfig, strategy_cls=Idle, *, q0: float = 0.0,
                 px0: float = 100.0, with_hedger: bool = False, feed_ts: bool = True) -> None:  # fmt: skip
        self.sim = Simulation(0)
        self.account = Account()
        if q0:  # start with an inventory bought at the first mid (equity 0 at the start)
            self.account.on_fill(1, px0, q0, 0.0, True)
        feed = make_feed(rows)
        self.book = OrderBookVenue(self.sim, feed, VENUE, self.account)
        self.quoter = strategy_cls(self.sim, StrategyConfig(), self.book)
        self.hedging = None
        if with_hedger:
            hedger = Hedger(self.sim, HedgerConfig(venue="book", band=100.0, check_ms=100.0), self.book,
                            quoter=self.quoter)  # fmt: skip
            self.hedging = type("H", (), {"hedger": hedger})()
        self.risk = add_risk(self.sim, self.book, self.quoter, self.account, self.hedging, config,
                             feed=feed if feed_ts else None)  # fmt: skip
        self.breaches: list[RiskBreach] = []
        self.sim.subscribe(RiskBreach, self.breaches.append)

    def run(self) -> np.ndarray:
        self.sim.run()
        return self.risk.alerts()


def expected(*rows) -> np.ndarray:
    """``(seconds, monitor, metric, value, limit, action)`` rows as an ALERT_DTYPE array."""
    return np.array([(T0 + int(round(k * S)), *r) for k, *r in rows], dtype=ALERT_DTYPE)


def assert_alerts(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == ALERT_DTYPE
    assert got["ts_ns"].tolist() == want["ts_ns"].tolist()
    for f in ("monitor", "metric", "action"):
        assert got[f].tolist() == want[f].tolist()
    np.testing.assert_allclose(got["value"], want["value"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got["limit"], want["limit"])


def test_drawdown_alerts_once_per_crossing_and_rearms():
    """Long 1 at 100: PnL = mid − 100. The drawdown from the high-water mark crosses 3.5 at
    t=4 s (4.0), stays above at t=5 (no alert), clears at t=6, crosses again at t=7 (4.0) and
    sits exactly at the limit at t=8 (not a breach, re-arms); t=9 crosses once more."""
    mids = [100, 101, 103, 102, 99, 98, 101, 99, 99.5, 99.4, 100]
    rows = [r for k, m in enumerate(mids) for r in snap(k, m)]
    desk = Desk(rows, RiskConfig(drawdown_limit=3.5), q0=1.0)
    got = desk.run()
    assert_alerts(got, expected(
        (4, "drawdown", "drawdown", 4.0, 3.5, "warn"),
        (7, "drawdown", "drawdown", 4.0, 3.5, "warn"),
        (9, "drawdown", "drawdown", 103 - 99.4, 3.5, "warn"),
    ))
    # published on the bus with the same fields; warn does not halt
    assert [(b.ts_ns, b.monitor, b.value) for b in desk.breaches] == [
        (int(a["ts_ns"]), str(a["monitor"]), float(a["value"])) for a in got]
    assert not desk.quoter.is_halted


def test_no_alert_when_the_limit_is_never_crossed():
    """The same path with a limit above the largest drawdown (5.0) writes nothing."""
    mids = [100, 101, 103, 102, 99, 98, 101, 99]
    rows = [r for k, m in enumerate(mids) for r in snap(k, m)]
    assert len(Desk(rows, RiskConfig(drawdown_limit=5.0), q0=1.0).run()) == 0


class RecordingVaR(VaRMonitor):
    """Keeps the VaR of every check with a full window."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.history: list[tuple[int, float]] = []

    def evaluate(self):
        out = super().evaluate()
        if out is not None:
            self.history.append((self.now_ns, out[1]))
        return out


@pytest.mark.parametrize("method", ["historical", "parametric"])
@pytest.mark.parametrize("level", [0.95, 0.99])
def test_var_matches_numpy_and_alerts_at_crossings(method, level):
    """Rolling VaR of the per-check PnL increments equals numpy's on the same increments; the
    alerts are exactly the checks where it rises above the limit from at or below it."""
    rng = np.random.default_rng(7)
    n = 60
    mids = 100.0 + np.round(np.cumsum(rng.normal(0, 0.4, n)), 2)
    mids[0] = 100.0
    rows = [r for k, m in enumerate(mids) for r in snap(k, float(m))]
    cfg = RiskConfig(var_limit=1e9, var_window_s=10.0, var_level=level, var_method=method)
    desk = Desk(rows, RiskConfig(), q0=2.0)  # the holder only; the monitor is added by hand
    mon = desk.risk.add(RecordingVaR(desk.sim, cfg, book=desk.book, quoter=desk.quoter,
                                     account=desk.account))  # fmt: skip
    desk.sim.run()
    pnl = 2.0 * (mids - 100.0)  # PnL at each whole second, from 0 at the start
    inc = np.diff(pnl)  # increment k ends at second k+1
    fn = historical_var if method == "historical" else parametric_var
    ref = []
    for end in range(10, n):
        x = inc[end - 10:end]
        q = -np.quantile(x, 1 - level)
        if method == "parametric":
            q = NormalDist().inv_cdf(level) * x.std(ddof=1) - x.mean()
        ref.append((T0 + end * S, q))
        assert fn(x, level) == pytest.approx(q, rel=1e-12, abs=1e-12)
    assert [t for t, _ in mon.history] == [t for t, _ in ref]
    np.testing.assert_allclose([v for _, v in mon.history], [v for _, v in ref], rtol=1e-9, atol=1e-9)
    # now the alerts, with a limit in the middle of the VaR path
    limit = float(np.median([v for _, v in ref]))
    desk2 = Desk(rows, RiskConfig(var_limit=limit, var_window_s=10.0, var_level=level,
                                  var_method=method), q0=2.0)  # fmt: skip
    got = desk2.run()
    want, armed = [], True
    for t, val in ref:
        if val > limit and armed:
            want.append(((t - T0) / S, "var", f"var_{round(level * 100)}", val, limit, "warn"))
        armed = not val > limit
    assert len(want) >= 2
    assert_alerts(got, expected(*want))


def test_inventory_at_limit_breaches_once_and_time_at_limit():
    """Sell prints at t=2,4,6,... fill the bid: q = 1, 2, 3, ... The |q| >= 3 alert fires at
    the t=6 check only; with max_time_at_limit_s=2.5 it fires when 3 s at the limit are seen."""
    rows = []
    for k in range(13):
        rows += snap(k, 100.0)
        if k and k % 2 == 0:
            rows.append((T0 + k * S, "trade", -1, 99.5, 1.0))
    got = Desk(rows, RiskConfig(inventory_limit=3.0), Bidder).run()
    assert_alerts(got, expected((6, "inventory", "abs_q", 3.0, 3.0, "warn")))
    desk = Desk(rows, RiskConfig(inventory_limit=3.0, max_time_at_limit_s=2.5), Bidder)
    got = desk.run()
    assert_alerts(got, expected((9, "inventory", "time_at_limit_s", 3.0, 2.5, "warn")))
    inv = desk.risk.monitors[0]
    assert inv.q_samples[:8] == [0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0]
    assert math.isnan(inv.mean_reversion_per_s()) or inv.mean_reversion_per_s() < 0.1  # trending q
    assert desk.risk.metrics()["n_risk_alerts"] == 1.0


def test_mean_reversion_speed_of_an_ar1_inventory():
    """For an inventory that halves every check, kappa = ln 2 / check period."""
    rows = snap(0, 100.0) + snap(1, 100.0)
    desk = Desk(rows, RiskConfig(inventory_limit=10.0, check_ms=500.0))
    inv = desk.risk.monitors[0]
    inv.q_samples = [8.0, 4.0, 2.0, 1.0, 0.5, 0.25]
    assert inv.mean_reversion_per_s() == pytest.approx(math.log(2) / 0.5, rel=1e-12)


def test_halt_pulls_quotes_and_stops_requoting():
    """action=halt: after the breach at t=6 the quoter sends nothing, its bid is cancelled, and
    later sell prints no longer fill it (q stays 3)."""
    rows = []
    for k in range(13):
        rows += snap(k, 100.0)
        if k and k % 2 == 0:
            rows.append((T0 + k * S, "trade", -1, 99.5, 1.0))
    desk = Desk(rows, RiskConfig(inventory_limit=3.0, action="halt"), Bidder)
    got = desk.run()
    assert_alerts(got, expected((6, "inventory", "abs_q", 3.0, 3.0, "halt")))
    t_breach = T0 + 6 * S
    assert desk.quoter.sent and max(desk.quoter.sent) <= t_breach
    assert desk.quoter.is_halted and desk.quoter.halt_reason.startswith("risk: inventory")
    assert desk.quoter.open_orders == {}
    assert desk.account.q == 3.0 and desk.quoter.q == 3.0


def test_flatten_without_hedger_trades_inventory_to_zero_by_ioc():
    """action=flatten, no hedger: halt at t=6, then one IOC sell of 3 at the bid once the
    cancel is confirmed (next check): the desk ends flat and no quote follows."""
    rows = []
    for k in range(13):
        rows += snap(k, 100.0)
        if k and k % 2 == 0:
            rows.append((T0 + k * S, "trade", -1, 99.5, 1.0))
    desk = Desk(rows, RiskConfig(inventory_limit=3.0, action="flatten"), Bidder)
    got = desk.run()
    assert_alerts(got, expected((6, "inventory", "abs_q", 3.0, 3.0, "flatten")))
    assert desk.account.q == 0.0 and desk.quoter.q == 0.0
    assert [t for t in desk.quoter.sent if t > T0 + 6 * S] == [T0 + 7 * S]  # the IOC only
    assert desk.account.taker_volume == pytest.approx(3.0 * 99.5)


def test_flatten_with_hedger_trades_the_desk_to_zero_through_it():
    """action=flatten with a (book) hedger: the quoter keeps its q, the hedger takes the desk
    inventory to 0."""
    rows = []
    for k in range(13):
        rows += snap(k, 100.0)
        if k and k % 2 == 0:
            rows.append((T0 + k * S, "trade", -1, 99.5, 1.0))
    desk = Desk(rows, RiskConfig(inventory_limit=3.0, action="flatten"), Bidder, with_hedger=True)
    got = desk.run()
    assert_alerts(got, expected((6, "inventory", "abs_q", 3.0, 3.0, "flatten")))
    h = desk.hedging.hedger
    assert h.config.target == 0.0 and h.config.band < 1e-6
    assert desk.quoter.q == 3.0 and h.q == -3.0 and desk.account.q == 0.0
    assert h.total_q == 0.0


def test_stale_quote_guard_fires_when_requotes_stop_and_rearms():
    """Requotes every 0.5 s in [0, 3] s and [8, 9] s, the bid (at the touch) resting throughout: stale
    above 2 s at t=6 (3.0 s) and, after the re-arm at t=8, at t=12 (3.0 s)."""

    class Pauser(Bidder):
        def on_timer(self, event):
            t = (self.now_ns - T0) / S
            if t <= 3.0 or 8.0 <= t <= 9.0:
                self.quote(bid_px=99.5, ask_px=None, qty=1.0)

        def on_start(self):
            self.set_timer("q", every_ns=S // 2)

    rows = [r for k in range(15) for r in snap(k, 100.0)]
    desk = Desk(rows, RiskConfig(stale_quote_s=2.0), Pauser)
    got = desk.run()
    assert_alerts(got, expected(
        (6, "stale_quote", "time_since_quote_s", 3.0, 2.0, "warn"),
        (12, "stale_quote", "time_since_quote_s", 3.0, 2.0, "warn"),
    ))
    assert len(desk.quoter.open_orders) == 1  # the bid rested all along


def test_stale_quote_guard_is_quiet_without_resting_orders():
    """A strategy with no orders on the book is never stale."""
    rows = [r for k in range(10) for r in snap(k, 100.0)]
    assert len(Desk(rows, RiskConfig(stale_quote_s=1.0)).run()) == 0


@pytest.mark.parametrize("feed_ts", [True, False])
def test_data_gap_guard(feed_ts):
    """Rows every 0.5 s up to 3 s, none until 10 s, rows to 15 s, none until 21 s: a gap above
    4 s is seen at t=8 (5.0 s) and t=20 (5.0 s); the guard re-arms when data returns."""
    ks = [x / 2 for x in range(0, 7)] + list(range(10, 16)) + [21]
    rows = [r for k in ks for r in snap(k, 100.0)]
    got = Desk(rows, RiskConfig(data_gap_s=4.0), feed_ts=feed_ts).run()
    assert_alerts(got, expected(
        (8, "data_gap", "time_since_data_s", 5.0, 4.0, "warn"),
        (20, "data_gap", "time_since_data_s", 5.0, 4.0, "warn"),
    ))


def test_several_monitors_merge_alerts_in_time_order():
    """Alerts of all monitors come back as one array sorted by time."""
    mids = [100, 101, 103, 102, 99, 98, 101, 99]
    ks = list(range(len(mids)))
    rows = [r for k, m in zip(ks, mids, strict=True) for r in snap(k, m)] + snap(14, 100.0)
    desk = Desk(rows, RiskConfig(drawdown_limit=3.5, data_gap_s=4.0), q0=1.0)
    got = desk.run()
    assert_alerts(got, expected(
        (4, "drawdown", "drawdown", 4.0, 3.5, "warn"),
        (7, "drawdown", "drawdown", 4.0, 3.5, "warn"),
        (12, "data_gap", "time_since_data_s", 5.0, 4.0, "warn"),
    ))


def test_config_validation():
    """Limits must be positive, the VaR window must hold two checks, the enums are closed."""
    with pytest.raises(ValueError):
        RiskConfig(var_limit=0.0)
    with pytest.raises(ValueError):
        RiskConfig(var_window_s=1.0, check_ms=1000.0)
    with pytest.raises(ValueError):
        RiskConfig(var_level=0.9)
    with pytest.raises(ValueError):
        RiskConfig(action="panic")
    assert add_risk(None, None, None, None, None, None).alerts().size == 0
