"""GLFT and fixed-spread quoters end to end on the bundled recorded sample."""

import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from experiments.trial import run_trial
from strategies.fixed_spread import FixedSpreadConfig, FixedSpreadQuoter
from strategies.glft import GLFTConfig, GLFTQuoter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
VENUE = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001)


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """The first bundled Binance USD-M ETHUSDT file (3 minutes of depth + trades)."""
    return load_feed(
        DataConfig(format="binance_ws", paths=(str(SAMPLE),)),
        cache_dir=tmp_path_factory.mktemp("cache"),
    )


def test_glft_trial_is_deterministic_and_trades(feed):
    """Same config and seed → identical metrics; the quoter really quotes and gets filled."""
    cfg = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5)
    a = run_trial(feed, VENUE, cfg, GLFTQuoter, seed=3).metrics
    b = run_trial(feed, VENUE, cfg, GLFTQuoter, seed=3).metrics
    assert a == b
    assert a["n_events"] == feed.events.size
    assert a["n_fills"] > 0 and a["n_orders"] > 0
    assert a["max_abs_q"] <= cfg.max_position + cfg.order_qty + 1e-9


def test_glft_metrics_identical_in_a_fresh_process(feed, tmp_path):
    """A fresh interpreter (cold caches, new hash seed) reproduces the metrics bit for bit."""
    cfg = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5)
    here = run_trial(feed, VENUE, cfg, GLFTQuoter, seed=3).metrics
    code = f"""
import json
from experiments.trial import run_trial
from strategies.glft import GLFTConfig, GLFTQuoter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig
feed = load_feed(DataConfig(format="binance_ws", paths=({str(SAMPLE)!r},)))
m = run_trial(feed, VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001),
              GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5), GLFTQuoter, seed=3).metrics
print(json.dumps(m))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}, cwd=ROOT)  # fmt: skip
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert {k: (None if v != v else v) for k, v in here.items()} == {
        k: (None if v != v else v) for k, v in there.items()
    }


def test_higher_gamma_skews_harder_and_holds_less(feed):
    """Across a wide γ range the peak |inventory| does not grow with risk aversion."""
    peaks = []
    for gamma in (0.001, 1.0):
        cfg = GLFTConfig(gamma=gamma, order_qty=0.05, max_position=1.0, warmup_s=5)
        peaks.append(run_trial(feed, VENUE, cfg, GLFTQuoter, seed=1).metrics["max_abs_q"])
    assert peaks[1] <= peaks[0]


class WideGLFT(GLFTQuoter):
    """A user subclass that overrides the depth hook (doubles both depths)."""

    def target_depths(self, q):
        bid, ask = super().target_depths(q)
        self.calls = getattr(self, "calls", 0) + 1
        return 2 * bid, 2 * ask


def test_user_subclass_hook_changes_quotes(feed):
    """Overriding target_depths is called and changes the outcome (fewer fills when wider)."""
    cfg = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5)
    base = run_trial(feed, VENUE, cfg, GLFTQuoter, seed=1).metrics
    wide = run_trial(feed, VENUE, cfg, WideGLFT, seed=1).metrics
    assert wide["n_fills"] < base["n_fills"]


def test_fixed_spread_baseline_quotes_inside_limits(feed):
    """The baseline trades, pays maker fees only, and respects the inventory limit."""
    cfg = FixedSpreadConfig(half_spread_bps=0.5, order_qty=0.05, max_position=0.2)
    m = run_trial(feed, VENUE, cfg, FixedSpreadQuoter, seed=1).metrics
    assert m["n_fills"] > 0
    assert m["taker_volume"] == 0.0
    assert m["fees"] == pytest.approx(m["maker_volume"] * 2.0e-4)
    assert m["max_abs_q"] <= cfg.max_position + cfg.order_qty + 1e-9


def test_config_type_is_checked():
    """A strategy refuses a config of the wrong class."""
    from engine.kernel import Simulation

    with pytest.raises(TypeError):
        GLFTQuoter(Simulation(0), FixedSpreadConfig(), venue=None)
    assert attrs.has(GLFTQuoter.config_class)


def test_fill_log_reconciles_with_metrics(feed):
    """The fill log adds up to the metrics: count, fees, maker volume, final inventory."""
    cfg = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5)
    r = run_trial(feed, VENUE, cfg, GLFTQuoter, seed=3)
    f = r.fills
    assert f.size == r.metrics["n_fills"] > 0
    assert f["fee"].sum() == pytest.approx(r.metrics["fees"])
    assert (f["px"] * f["qty"])[f["is_maker"]].sum() == pytest.approx(r.metrics["maker_volume"])
    assert (f["side"] * f["qty"]).sum() == pytest.approx(r.metrics["final_q"])
    assert f["q_after"][-1] == pytest.approx(r.metrics["final_q"])
    assert (f["ts_ns"][1:] >= f["ts_ns"][:-1]).all()


def test_strategies_sharing_a_venue_get_their_own_reports():
    """Two strategies on one venue: order ids never collide and each gets only its own acks."""
    from components.account import Account
    from components.orders import Side
    from engine.kernel import Simulation
    from engine.testing import book_rows, make_feed
    from strategies.base import Strategy
    from strategies.config import StrategyConfig
    from venues.orderbook.venue import OrderBookVenue

    t0 = 1_000_000_000
    feed = make_feed(book_rows(t0, [(100.0, 5.0)], [(100.02, 5.0)]) + [(t0 + 10**9, "depth", 1, 99.99, 1.0)])
    sim = Simulation(0)
    venue = OrderBookVenue(sim, feed, VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001,
                                                  min_notional=0.0), Account())  # fmt: skip

    class OneBid(Strategy):
        def on_start(self):
            self.acks = []
            self.set_timer("go", at_ns=t0 + 1000)

        def on_timer(self, event):
            self.submit_limit(side=Side.BUY, px=99.95, qty=1.0)  # below every recorded price: inside the book window

        def on_order_accepted(self, event):
            self.acks.append(event.client_order_id)

    a = OneBid(sim, StrategyConfig(), venue, name="a")
    b = OneBid(sim, StrategyConfig(), venue, name="b")
    sim.run()
    assert len(a.acks) == 1 and len(b.acks) == 1
    assert a.acks != b.acks
    assert set(a.acks) == set(a.open_orders) and set(b.acks) == set(b.open_orders)
