"""The hedger on recorded data: inventory kept in its band, costs add up, reproducible."""

from pathlib import Path

import numpy as np
import pytest

from components.account import Account
from components.metrics import PnLRecorder
from engine.kernel import Simulation
from strategies.arbitrageur import Arbitrageur, ArbitrageurConfig
from strategies.glft import GLFTConfig, GLFTQuoter
from strategies.hedger import Hedger, HedgerConfig
from venues.amm import PancakeV2Pool
from venues.chain import Chain, ChainConfig, PoolAdapter
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt"


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """The bundled Binance USD-M ETHUSDT pair (8 minutes)."""
    paths = tuple(str(SAMPLE / f) for f in ("ethusdt_20240718.gz", "ethusdt_20240719.gz"))
    return load_feed(DataConfig(format="binance_ws", paths=paths), cache_dir=tmp_path_factory.mktemp("c"))


def _first_mid(feed) -> float:
    from venues.loaders.book import RefBook

    book = RefBook()
    for row in feed.events[:5000]:
        book.apply(row[None])
        if book.best_bid() is not None and book.best_ask() is not None:
            return 0.5 * (book.best_bid() + book.best_ask())
    raise AssertionError("no two-sided book")


def run_desk(feed, hedger_cfg: HedgerConfig, seed: int = 1, tvl_usd: float = 5e6, inclusion_b: float = 20.0,
             pool_premium: float = 0.0, sandwich: bool = False):
    """GLFT quoter on the book + hedger on a Pancake v2 USDC/WETH pool priced at the first mid
    (times ``1 + pool_premium``)."""
    mid0 = _first_mid(feed)
    sim = Simulation(seed)
    book_acct = Account()
    book = OrderBookVenue(sim, feed, VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001), book_acct)
    recorder = PnLRecorder(book_acct, book)
    # token0 = USDC (6 dp), token1 = WETH (18 dp), like the recorded Uniswap v3 pool
    pool_px = mid0 * (1.0 + pool_premium)
    pool = PancakeV2Pool(int(tvl_usd / 2 * 1e6), int(tvl_usd / 2 / pool_px * 1e18), fee_bps=25)
    adapter = PoolAdapter(pool, base_token=1, decimals0=6, decimals1=18, fee_bps=25)
    chain = Chain(sim, ChainConfig(block_time_ms=2000, inclusion_b=inclusion_b, native_px=mid0, sandwich=sandwich),
                  {"hedge": adapter})
    arb = Arbitrageur(ArbitrageurConfig(pool="hedge", bribe=0.2), book)
    chain.participants.append(arb)
    quoter = GLFTQuoter(sim, GLFTConfig(gamma=0.001, order_qty=0.05, max_position=2.0, warmup_s=5), book)
    hedger = Hedger(sim, hedger_cfg, book, chain=chain, quoter=quoter,
                    recorded_priority_fees_gwei=np.array([0.5, 1.0, 2.0]))
    samples = []

    class Probe:
        def __call__(self, chain_, ts):
            samples.append((ts, quoter.q, hedger.total_q))

    chain.participants.append(Probe())
    sim.run()
    return {"quoter": quoter, "hedger": hedger, "book": book, "book_acct": book_acct, "recorder": recorder,
            "samples": np.array(samples), "chain": chain, "arb": arb, "adapter": adapter}


def test_hedger_keeps_inventory_in_band_on_the_pool(feed):
    """The quoter alone drifts outside the band; quoter + hedge stays within band + one hedge's lag."""
    cfg = HedgerConfig(band=0.15, venue="pool", bribe_policy="fixed", bribe=0.5)
    r = run_desk(feed, cfg)
    s = r["samples"]
    assert np.abs(s[:, 1]).max() > cfg.band  # the quoter alone leaves the band
    assert r["hedger"].n_hedges > 0
    # between two blocks the quoter can add a few fills before the hedge lands
    slack = 4 * 0.05
    assert np.abs(s[:, 2]).max() <= cfg.band + slack
    assert np.mean(np.abs(s[:, 2]) <= cfg.band + 1e-9) > 0.9


def test_hedge_costs_add_up_to_the_hedge_pnl(feed):
    """slippage + pool fee + bribe + gas = −(hedge PnL against the mid at each hedge)."""
    cfg = HedgerConfig(band=0.1, venue="pool", bribe_policy="optimal", urgency_bps=5.0)
    r = run_desk(feed, cfg)
    h = r["hedger"]
    assert h.n_hedges > 0
    costs = h.costs
    assert costs["pool_fee"] > 0 and costs["bribe"] > 0 and costs["gas"] > 0
    # the wallet's cash plus each hedge valued at the mid it was measured against is exactly
    # minus the recorded costs (slippage + pool fee + bribe + gas)
    marked = h.onchain.cash + sum(side * qty * mid for _, side, qty, _, mid in h.trades)
    assert marked == pytest.approx(-sum(v for k, v in costs.items() if k != "sandwich"), rel=1e-9, abs=1e-9)
    assert h.onchain.q == pytest.approx(sum(side * qty for _, side, qty, _, _ in h.trades))


def test_sandwich_loss_is_part_of_the_slippage(feed):
    """On a thin pool with a loose limit public hedges are sandwiched; the costs still add up, the
    sandwich loss sits inside the slippage, and private bundles are never sandwiched."""
    out = {}
    for route in ("public", "private"):
        cfg = HedgerConfig(band=0.1, venue="pool", bribe_policy="fixed", bribe=0.05, max_slippage_bps=300.0,
                           submission=route)  # fmt: skip
        r = run_desk(feed, cfg, tvl_usd=1e5, sandwich=True)
        h = r["hedger"]
        marked = h.onchain.cash + sum(side * qty * mid for _, side, qty, _, mid in h.trades)
        assert marked == pytest.approx(-sum(v for k, v in h.costs.items() if k != "sandwich"), rel=1e-9, abs=1e-9)
        out[route] = (h, r["chain"])
    pub, chain = out["public"]
    assert chain.n_sandwiches > 0 and pub.costs["sandwich"] == pytest.approx(chain.sandwich_loss)
    assert 0 < pub.costs["sandwich"] < pub.costs["slippage"]
    priv, chain_p = out["private"]
    assert chain_p.n_sandwiches == 0 and priv.costs["sandwich"] == 0.0


def test_book_hedging_and_determinism(feed):
    """Hedging by IOC on the book also holds the band; the same seed reproduces it exactly."""
    cfg = HedgerConfig(band=0.15, venue="book")
    a = run_desk(feed, cfg, seed=3)
    b = run_desk(feed, cfg, seed=3)
    assert np.array_equal(a["samples"], b["samples"])
    assert a["hedger"].n_hedges > 0 and a["hedger"].costs["fees"] > 0
    # both strategies share the venue: every report reached the strategy that sent the order
    assert a["quoter"].q + a["hedger"].q == pytest.approx(a["book_acct"].q)
    assert np.abs(a["samples"][:, 2]).max() <= cfg.band + 4 * 0.05


def test_arbitrageur_pulls_a_mispriced_pool_back_to_mid(feed):
    """A pool 1 % above mid is arbitraged back to within fee + edge (+ a block's drift) of mid."""
    r = run_desk(feed, HedgerConfig(band=0.15, bribe_policy="fixed"), pool_premium=0.01)
    assert r["arb"].n_arbs > 0
    gap = abs(r["adapter"].price / r["book"].mid - 1.0)
    assert gap < 0.0025 + 0.0001 + 0.002
