"""A user venue subclass named by dotted path really replaces the venue in a trial."""

from pathlib import Path

import pytest

from experiments.trial import run_trial
from strategies.glft import GLFTConfig, GLFTQuoter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"


def test_user_venue_changes_fees(tmp_path, monkeypatch):
    """WideMakerFeeVenue charges 10 bps on maker volume where the profile says 2 bps."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    feed = load_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),)), cache_dir=tmp_path)
    cfg = GLFTConfig(gamma=0.05, order_qty=0.05, max_position=0.5, warmup_s=5)
    base = dict(profile="binance_usdm", tick_size=0.01, lot_size=0.001)
    plain = run_trial(feed, VenueConfig(**base), cfg, GLFTQuoter, seed=1).metrics
    user_venue = VenueConfig(kind="mm_test_plugins:WideMakerFeeVenue", **base)
    user = run_trial(feed, user_venue, cfg, GLFTQuoter, seed=1).metrics
    assert plain["fees"] == pytest.approx(plain["maker_volume"] * 2e-4)
    assert user["fees"] == pytest.approx(user["maker_volume"] * 10e-4)
    assert user["n_fills"] == plain["n_fills"]
