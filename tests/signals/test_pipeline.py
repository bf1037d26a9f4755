"""The quoting signal end to end: walk-forward predictions, caching, and the GLFT alpha skew."""

from pathlib import Path

import numpy as np
import pytest

from components.signal import SignalFeed
from experiments.trial import run_trial
from signals.pipeline import SignalConfig, signal_series
from strategies.glft import GLFTConfig, GLFTQuoter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt"
VENUE = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001)


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """The bundled ETHUSDT pair (8 minutes of trades and depth)."""
    paths = tuple(str(SAMPLE / f) for f in ("ethusdt_20240718.gz", "ethusdt_20240719.gz"))
    return load_feed(DataConfig(format="binance_ws", paths=paths), cache_dir=tmp_path_factory.mktemp("feed"))


def test_signal_is_walk_forward_reproducible_and_cached(feed, tmp_path, monkeypatch):
    """The first fold has no prediction; a rerun is identical and loads every model from the cache."""
    cfg = SignalConfig(n_estimators=20)
    a = signal_series(feed, cfg, cache_dir=tmp_path)
    n = a.value.size
    assert n > 100 and np.isnan(a.value[: n // (cfg.n_splits + 1) // 2]).all()
    assert np.isfinite(a.value[-n // 3 :]).all()
    assert np.all(np.abs(a.value[np.isfinite(a.value)]) <= 1.0)
    import signals.models as models

    def no_training(*args, **kwargs):
        raise AssertionError("trained again despite a cache hit")

    monkeypatch.setattr(models.XGBModel, "fit", no_training)
    b = signal_series(feed, cfg, cache_dir=tmp_path)
    assert np.array_equal(a.value, b.value, equal_nan=True) and np.array_equal(a.ts_ns, b.ts_ns)


def test_signal_feed_never_shows_a_future_prediction():
    """latest(t) is the last prediction made at or before t − latency."""
    s = SignalFeed(np.array([10, 20, 30]), np.array([0.1, -0.2, 0.3]), latency_ns=5)
    assert np.isnan(s.latest(14)[0])
    assert s.latest(15) == (0.1, 1.0) and s.latest(34) == (-0.2, 1.0) and s.latest(35)[0] == 0.3


class _Constant(SignalFeed):
    def __init__(self, value):
        super().__init__(np.array([0]), np.array([value]))


def test_alpha_skews_quotes_towards_the_signal(feed):
    """A constant bullish signal with alpha > 0 makes the quoter hold more inventory on average."""
    out = {}
    for alpha in (0.0, 3.0):
        cfg = GLFTConfig(gamma=0.01, order_qty=0.05, max_position=1.0, warmup_s=5, alpha=alpha)

        class Bullish(GLFTQuoter):
            signal = _Constant(1.0)

        r = run_trial(feed, VENUE, cfg, Bullish, seed=1)
        out[alpha] = float(r.equity["q"].mean())
    assert out[3.0] > out[0.0]
