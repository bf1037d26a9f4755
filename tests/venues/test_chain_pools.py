"""Every pool kind through the sweep path: built at mid, v3 state and parameters from recorded events."""

from pathlib import Path

import numpy as np
import pytest

from engine.kernel import Simulation
from venues.amm import AerodromePool
from venues.chain import POOL_KINDS, Chain, ChainConfig, PoolConfig, make_pool, recorded_v3_calls
from venues.loaders._common import DataError
from venues.loaders.uniswap_v3 import (
    SWAP,
    infer_pool_params,
    load_pool_events,
    tick_map_from_events,
    v3_replay_calls,
)

REPO = Path(__file__).resolve().parents[2]
ETH = (REPO / "data" / "uniswap_v3_usdc_weth"
       / "ethereum-0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640-2024-01-05.pool.tick.csv.gz")  # fmt: skip
POLYGON = (REPO.parent / "shared" / "data" / "uniswap_v3_pool_events_demeter"
           / "polygon-0x45dda9cb7c25131df268515131f647d726f50608-2022-01-05.tick.csv.gz")  # fmt: skip
MID = 3400.0


@pytest.fixture(scope="module")
def eth_events():
    return load_pool_events(ETH)


@pytest.mark.parametrize("kind", POOL_KINDS)
def test_every_kind_is_built_at_mid(kind):
    """Each kind's marginal price (before fees) equals the requested mid; swaps run in both directions.

    Raydium CPMM amounts are u64: its WETH has 8 decimals (as the bridged WETH on Solana).
    """
    cfg = PoolConfig(kind=kind, fee_bps=5 if kind == "aerodrome_stable" else 30, premium=0.01,
                     state_path=str(ETH) if kind in ("uniswap_v3", "slipstream", "pancake_v3") else None,
                     decimals1=8 if kind == "raydium_cpmm" else 18)  # fmt: skip
    pool = make_pool(cfg, MID)
    # v3: the price is placed at the same relative position inside a shifted tick interval,
    # so it lands within one 10-tick interval (0.1 %) of the target
    tol = 1.1e-3 if pool.is_clmm else 1e-9
    assert pool.price == pytest.approx(MID * 1.01, rel=tol)
    buy = pool.swap(pool.to_raw(1000.0, 0), True, dry_run=True)  # 1000 USDC in
    assert 0 < pool.to_human(buy, 1) < 1000.0 / (MID * 1.01)
    sell = pool.swap(pool.to_raw(0.1, 1), False, dry_run=True)
    assert 0 < pool.to_human(sell, 0) < 0.1 * MID * 1.01


def test_stable_pool_price_is_the_curve_derivative():
    """x³y + xy³: the adapter's price equals −dx/dy of the contract's invariant, measured by a tiny swap."""
    pool = make_pool(PoolConfig(kind="aerodrome_stable", fee_bps=0, tvl_usd=2e6), 1.002)
    assert isinstance(pool.pool, AerodromePool) and pool.pool.stable
    small = pool.to_raw(1.0, 0)  # 1 USDC of token0 in
    out = pool.swap(small, True, dry_run=True)
    # token1 per token0 from the contract's integer math: price of token1 (base) = 1/that
    assert 1.0 / (pool.to_human(out, 1) / 1.0) == pytest.approx(1.002, rel=1e-5)


def test_fee_tier_and_tick_spacing_are_read_from_the_data(eth_events):
    """USDC/WETH 0.05 %: 500 pips and spacing 10, inferred from swaps and position ranges."""
    assert infer_pool_params(eth_events) == (500, 10)
    if POLYGON.is_file():
        assert infer_pool_params(load_pool_events(POLYGON)) == (500, 10)


def test_fee_inference_rejects_data_off_every_tier(eth_events):
    ev = eth_events.copy()
    swaps = np.flatnonzero(ev["kind"] == SWAP)
    for i in swaps:  # double every input: the implied fee share is ~50 %, no tier
        if ev["amount0"][i] > 0:
            ev["amount0"][i] = ev["amount0"][i] * 2
        else:
            ev["amount1"][i] = ev["amount1"][i] * 2
    with pytest.raises(DataError, match="matches no tier"):
        infer_pool_params(ev, path="doubled")
    no_positions = eth_events[eth_events["kind"] == SWAP]
    with pytest.raises(DataError, match="tick spacing"):
        infer_pool_params(no_positions)


def test_tick_map_is_consistent_with_every_swap(eth_events):
    """Every swap's in-range liquidity equals the rebuilt map's liquidity at its tick (after the day's mints/burns)."""
    start = int(np.flatnonzero(eth_events["kind"] == SWAP)[0])
    ticks = tick_map_from_events(eth_events, 10, start=start)
    l0, t0 = int(eth_events["liquidity"][start]), int(eth_events["tick"][start])

    def level(t):  # liquidity of the interval holding tick t, at the start state
        return l0 + sum(n for k, n in ticks.items() if t0 < k <= t) - sum(n for k, n in ticks.items() if t < k <= t0)

    changes = []
    checked = 0
    for rec in eth_events[start:]:
        if rec["kind"] in (1, 2):
            d = int(rec["position_liquidity"])
            changes.append((int(rec["tick_lower"]), int(rec["tick_upper"]), d if rec["kind"] == 1 else -d))
        elif rec["kind"] == SWAP:
            t = int(rec["tick"])
            assert level(t) + sum(d for lo, hi, d in changes if lo <= t < hi) == int(rec["liquidity"])
            checked += 1
    assert checked == 6046


def test_recorded_v3_day_replays_exactly_through_the_sweep_path(eth_events):
    """`[pool] kind = "uniswap_v3"`, `price = "recorded"`, `flow_path` = the same day: the chain's
    background replay reproduces the recorded sqrtPriceX96 after every swap.

    6,035 of the 6,045 swaps after the first are reproduced by the pool math itself (5,230 as
    exact input, 614 exact output, 191 stopped at their price limit; 2 after learning a crossed
    tick's net); the other 10 cross several ticks whose individual nets the day never shows
    (only their sum) and are replayed by setting the recorded state after them.
    """
    calls, stats = v3_replay_calls(eth_events, 500, 10)
    assert stats["unmatched"] == 10 and stats["liquidity_reverts"] == 0
    assert stats["in"] + stats["out"] + stats["in_limit"] + stats["out_limit"] == 6035
    cfg = PoolConfig(kind="uniswap_v3", state_path=str(ETH), price="recorded")
    sim = Simulation(1)
    chain = Chain(sim, ChainConfig(block_time_ms=12_000.0), {"hedge": make_pool(cfg, MID)})
    chain.flow_trace = []
    chain.add_v3_flow("hedge", recorded_v3_calls(str(ETH)), 0)
    sim.run(until_ns=int(calls["ts_ns"][-1] - calls["ts_ns"][0]) + 13 * 10**9)
    got = [p for _, p in chain.flow_trace]
    want = [int(x) for x in eth_events["sqrt_price_x96"][eth_events["kind"] == SWAP][1:]]
    assert len(got) == len(want) == 6045
    assert got == want
    assert chain.n_background_reverts == 0


@pytest.mark.skipif(not POLYGON.is_file(), reason="shared data not present")
def test_polygon_day_calls():
    """The Polygon day of the same pool type: 3,969 of 3,971 swaps reproduced by the pool math."""
    ev = load_pool_events(POLYGON)
    _, stats = v3_replay_calls(ev, *infer_pool_params(ev))
    assert stats["unmatched"] == 2


def test_rebased_v3_pool_keeps_the_liquidity_profile():
    """Re-based to mid, the pool keeps the recorded liquidity and tick map (shifted by whole spacings)."""
    rec = make_pool(PoolConfig(kind="uniswap_v3", state_path=str(ETH), price="recorded"), MID)
    reb = make_pool(PoolConfig(kind="uniswap_v3", state_path=str(ETH)), MID)
    assert reb.pool.liquidity == rec.pool.liquidity
    assert reb.tick_shift % 10 == 0 and reb.tick_shift != 0
    assert {k + reb.tick_shift: v for k, v in rec.pool.ticks.items()} == reb.pool.ticks
    assert reb.pool.fee_pips == 500 and reb.pool.tick_spacing == 10
    with pytest.raises(ValueError, match="state_path"):
        make_pool(PoolConfig(kind="slipstream"), MID)
