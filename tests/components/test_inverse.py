"""Inverse contracts end to end (issue 11): a Binance COIN-M capture runs in coin, and profile
mismatches are refused with exit 2.

Data: ``../shared/data/binance_ws_depth_trades_hftbacktest/cm/ethusd_perp_2024080{8,9}.gz`` (the
COIN-M ETHUSD_PERP capture, 10 USD contracts, 2024-08-08 23:54 → 2024-08-09 00:05 UTC, which spans
the 00:00 UTC funding time but records no markPrice stream) and the spot ETHUSDT capture.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_ws_depth_trades_hftbacktest"
CM = [str(SHARED / "cm" / "ethusd_perp_20240808.gz"), str(SHARED / "cm" / "ethusd_perp_20240809.gz")]
SPOT = [str(SHARED / "spot" / "ethusdt_20240808.gz"), str(SHARED / "spot" / "ethusdt_20240809.gz")]

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not present")


def _toml(path: Path, paths: list[str], profile: str, qty: float = 10.0, max_pos: float = 100.0) -> Path:
    path.write_text(
        f'[sweep]\nname = "{path.stem}"\nseed = 7\nworkers = 1\n\n[data]\nformat = "binance_ws"\n'
        f"paths = {json.dumps(paths)}\n\n[venue]\nprofile = \"{profile}\"\n\n[strategy]\nkind = \"glft\"\n"
        f"order_qty = {qty}\nmax_position = {max_pos}\ninterval_ms = 100.0\ngamma = 0.01\n"
    )
    return path


@pytest.fixture(scope="module")
def coinm_run(tmp_path_factory):
    """One GLFT trial on the COIN-M capture with the binance_coinm profile."""
    from experiments.config import load_sweep
    from experiments.trial import run_trial
    from venues.loaders import load_feed

    d = tmp_path_factory.mktemp("coinm")
    spec = load_sweep(_toml(d / "coinm.toml", CM, "binance_coinm"))
    feed = load_feed(spec.data, cache_dir=d / "cache")
    t = spec.trials[0]
    return feed, run_trial(feed, t.venue, t.strategy, spec.strategy_cls, t.seed, t.extras)


@pytest.mark.slow
def test_coinm_run_pnl_in_coin(coinm_run):
    """Recomputed from the fills with the COIN-M formulas (contract size 10 USD, VIP 0 maker fee
    2 bps): fee_i = n_i × 10 / p_i × 0.0002 coin; PnL = Σ side_i × n_i × 10 / p_i − Σ fee_i −
    q_final × 10 / final_mid (the coin value of the buys' contracts, Binance's
    n × size × (1/entry − 1/exit) summed); the peak notional is max |q| × 10 / mid in ETH."""
    feed, res = coinm_run
    assert feed.meta.venue == "binance_coinm" and feed.meta.symbol == "ETHUSD_PERP"
    assert res.pnl_currency == "ETH"
    m, f = res.metrics, res.fills
    assert f.size > 10 and np.all(f["is_maker"])
    size = 10.0
    coin = f["qty"] * size / f["px"]
    assert f["fee"] == pytest.approx(coin * 2.0 / 10_000, rel=1e-12)
    s = f["side"].astype(float)
    q_final = float(np.sum(s * f["qty"]))
    assert m["final_q"] == pytest.approx(q_final)
    final_mid = float(res.equity["mid"][-1])
    pnl = float(np.sum(s * coin) - np.sum(f["fee"]) - q_final * size / final_mid)
    assert m["pnl"] == pytest.approx(pnl, rel=1e-9, abs=1e-12)
    assert abs(m["pnl"]) < 0.1  # coin: a few 10-USD contracts cannot move 0.1 ETH in 11 minutes
    eq = res.equity
    assert m["peak_notional"] == pytest.approx(float(np.max(np.abs(eq["q"]) * size / eq["mid"])), rel=1e-12)
    assert m["pnl_per_1k_notional"] == pytest.approx(m["pnl"] / m["peak_notional"] * 1000, rel=1e-12)
    assert m["fees"] == pytest.approx(float(np.sum(f["fee"])), rel=1e-12)
    assert abs(m["cost_residual"]) < 1e-12
    # the capture spans 2024-08-09 00:00 UTC without funding data: counted and warned, not a silent 0
    assert m["funding_missing"] == 1.0 and m["cost_funding"] == 0.0
    assert any("funding" in w and "2024-08-09T00:00:00Z" in w for w in feed.warnings)
    assert any("funding" in w for w in res.warnings)


@pytest.mark.slow
def test_coinm_linear_profile_refused_in_trial(coinm_run):
    """The loader's binance_coinm label is honoured by the trial itself, too."""
    from experiments.trial import run_trial
    from strategies.glft import GLFTQuoter
    from venues.orderbook.config import VenueConfig
    from venues.profiles import ProfileMismatchError

    feed, _ = coinm_run
    with pytest.raises(ProfileMismatchError, match='use profile = "binance_coinm"'):
        run_trial(feed, VenueConfig(profile="binance_usdm"), GLFTQuoter.config_class(), GLFTQuoter, 1)


@pytest.mark.parametrize(
    ("paths", "profile", "use"),
    [
        (CM, "binance_usdm", "binance_coinm"),
        (CM, "hyperliquid", "binance_coinm"),
        (SPOT, "binance_usdm", "binance_spot"),
        (SPOT, "binance_coinm", "binance_spot"),
    ],
)
def test_cli_refuses_mismatch_with_exit_2(tmp_path, capsys, paths, profile, use):
    """``mmsim validate`` (and so sweep/run) exits 2 naming the profile to use; nothing runs."""
    from experiments.cli import main

    rc = main(["validate", str(_toml(tmp_path / "wrong.toml", paths, profile))])
    err = capsys.readouterr()
    assert rc == 2
    assert f'use profile = "{use}"' in err.out + err.err


def test_cli_accepts_matching_profiles(tmp_path):
    """The right profile validates (exit 0)."""
    from experiments.cli import main

    assert main(["validate", str(_toml(tmp_path / "cm.toml", CM, "binance_coinm"))]) == 0
    assert main(["validate", str(_toml(tmp_path / "spot.toml", SPOT, "binance_spot", 0.01, 0.1))]) == 0
