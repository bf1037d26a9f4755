"""The chain's block space, fee auction, clocks and sandwich searcher, on hand-worked blocks."""

from pathlib import Path

import numpy as np
import pytest

from components.chain_events import SwapExecuted, TxDropped
from engine.kernel import Simulation
from venues.amm import PancakeV2Pool, get_amount_out
from venues.chain import Chain, ChainConfig, PoolAdapter
from venues.fees import next_base_fee
from venues.loaders.eth_blocks import TX_COLUMNS, load_etl_blocks

REPO = Path(__file__).resolve().parents[2]
ETL = REPO / "data" / "ethereum_block_fees" / "ethereum_etl_blocks_15533942_15534999.csv.gz"
MINER = "0x" + "11" * 20
R0, R1 = 2_000_000 * 10**6, 1_000 * 10**18  # 2M USDC, 1000 WETH: 2000 USDC/WETH


def write_fee_data(path, blocks):
    """A derived mev-inspect CSV: ``blocks`` = {block_number: [(priority_fee_gwei, gas), ...]}."""
    base = 10 * 10**9
    rows = [",".join(TX_COLUMNS)]
    n = 0
    for bn, txs in blocks.items():
        for i, (fee_gwei, gas) in enumerate(txs):
            n += 1
            tip = int(fee_gwei * 10**9)
            rows.append(f"{bn},{base},{MINER},0x{n:064x},{i},{gas},{base + tip},{tip},0")
    path.write_text("\n".join(rows) + "\n")
    return str(path)


class Owner:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)


def make_chain(config, seed=1):
    sim = Simulation(seed)
    adapter = PoolAdapter(PancakeV2Pool(R0, R1, fee_bps=25), base_token=1, decimals0=6, decimals1=18, fee_bps=25)
    return sim, Chain(sim, config, {"p": adapter}), adapter


@pytest.fixture
def one_block(tmp_path):
    # recorded block: 5, 3, 1 gwei, 10M gas each: exactly the 30M limit
    return write_fee_data(tmp_path / "fees.csv", {100: [(5.0, 10_000_000), (3.0, 10_000_000), (1.0, 10_000_000)]})


@pytest.mark.parametrize(("bribe", "landed"), [(0.4, True), (0.05, False), (0.1, False)])
def test_auction_hand_worked_block(one_block, bribe, landed):
    """Ordered by fee per gas; the builder fills 30M gas greedily.

    Our swap uses 100,000 gas; at 1,000 USD/ETH a bribe ``x`` USD is ``x / (1e5·1e-9·1000) = 10x``
    gwei per gas. 0.4 USD = 4 gwei: 5 (10M) → ours (0.1M) → 3 (10M) → 1 does not fit: we land.
    0.05 USD = 0.5 gwei: 5, 3, 1 fill the 30M first: no room. 0.1 USD = 1 gwei ties the last
    competitor, who was in the mempool first (ties by arrival): no room either.
    """
    cfg = ChainConfig(profile="ethereum", inclusion="auction", fee_data_path=one_block, gas_per_swap=100_000,
                      native_px=1000.0, base_fee_gwei=1.0)  # fmt: skip
    sim, chain, _ = make_chain(cfg)
    owner = Owner()
    chain.submit_swap(owner, pool="p", amount_in=10**18, zero_for_one=False, bribe=bribe, arrival_ns=0)
    sim.run(until_ns=13 * 10**9)
    (ev,) = owner.events
    if landed:
        assert isinstance(ev, SwapExecuted) and ev.bribe_paid == bribe
    else:
        assert isinstance(ev, TxDropped) and ev.reason == "block_full" and ev.bribe_paid == 0.0


def test_auction_competitor_gas_scales_with_the_gas_limit(one_block):
    """A recorded full block stays full on a chain with a larger gas limit (gas scaled by limit/30M)."""
    cfg = ChainConfig(profile="ethereum", gas_limit=60_000_000, inclusion="auction", fee_data_path=one_block,
                      gas_per_swap=100_000, native_px=1000.0, base_fee_gwei=1.0)  # fmt: skip
    sim, chain, _ = make_chain(cfg)
    owner = Owner()
    chain.submit_swap(owner, pool="p", amount_in=10**18, zero_for_one=False, bribe=0.05, arrival_ns=0)
    sim.run(until_ns=13 * 10**9)
    assert owner.events[0].reason == "block_full"


def test_first_to_land_moves_the_pool_for_the_next(one_block):
    """Two buys in one block: the higher fee executes first on the fresh reserves (contract math)."""
    cfg = ChainConfig(profile="ethereum", inclusion="auction", fee_data_path=one_block, gas_per_swap=100_000,
                      native_px=1000.0, base_fee_gwei=1.0)  # fmt: skip
    sim, chain, adapter = make_chain(cfg)
    low, high = Owner(), Owner()
    amount = 50_000 * 10**6  # 50k USDC in, WETH out
    chain.submit_swap(low, pool="p", amount_in=amount, zero_for_one=True, bribe=0.35, arrival_ns=0)
    chain.submit_swap(high, pool="p", amount_in=amount, zero_for_one=True, bribe=0.45, arrival_ns=1)
    sim.run(until_ns=13 * 10**9)
    first = get_amount_out(amount, R0, R1, 25)
    second = get_amount_out(amount, R0 + amount, R1 - first, 25)
    assert high.events[0].amount_out == first
    assert low.events[0].amount_out == second < first


def test_fcfs_orders_by_arrival_not_fee():
    """Arbitrum's sequencer: the earlier transaction executes first whatever the fee."""
    cfg = ChainConfig(profile="arbitrum", gas_per_swap=100_000, native_px=1000.0, inclusion_b=50.0,
                      inclusion_a=50.0, express_lane=True)  # fmt: skip
    sim, chain, _ = make_chain(cfg)
    early, late = Owner(), Owner()
    amount = 50_000 * 10**6
    chain.submit_swap(early, pool="p", amount_in=amount, zero_for_one=True, bribe=0.0, arrival_ns=0)
    chain.submit_swap(late, pool="p", amount_in=amount, zero_for_one=True, bribe=5.0, arrival_ns=1)
    sim.run(until_ns=10**9)
    first = get_amount_out(amount, R0, R1, 25)
    assert early.events[0].amount_out == first
    assert late.events[0].amount_out < first
    assert late.events[0].bribe_paid == 0.0  # Arbitrum One does not collect tips


def test_hedger_bribe_policies_use_the_chain(one_block):
    """Percentile: recorded fee × the pool's recorded gas × mid; optimal: 0 where fees buy nothing."""
    import types

    from strategies.hedger import Hedger, HedgerConfig

    fees = np.array([1.0, 2.0, 3.0])
    eth = ChainConfig(profile="ethereum", inclusion="auction", fee_data_path=one_block, native_px=1000.0)
    _, chain, _ = make_chain(eth)
    me = types.SimpleNamespace(config=HedgerConfig(pool="p", bribe_policy="percentile", bribe_percentile=50.0),
                               chain=chain, recorded_fees_gwei=fees)  # fmt: skip
    # 2 gwei × 122,447 gas (v2 pair, recorded median) × 1e-9 × 2000 USD
    assert Hedger.choose_bribe(me, 1000.0, 2000.0) == pytest.approx(2.0 * 122_447 * 1e-9 * 2000.0)
    _, arb_chain, _ = make_chain(ChainConfig(profile="arbitrum", native_px=1000.0))
    me = types.SimpleNamespace(config=HedgerConfig(pool="p", bribe_policy="optimal", urgency_bps=50.0),
                               chain=arb_chain, recorded_fees_gwei=None)  # fmt: skip
    assert Hedger.choose_bribe(me, 1e6, 2000.0) == 0.0


def test_timeboost_delays_everyone_outside_the_express_lane():
    """Without the express lane our transaction waits the extra 200 ms (lands a block later)."""
    out = {}
    for lane in (True, False):
        cfg = ChainConfig(profile="arbitrum", native_px=1000.0, inclusion_a=50.0, express_lane=lane)
        sim, chain, _ = make_chain(cfg)
        o = Owner()
        sim.schedule(100_000_000, 0, None, lambda _e, c=chain, o=o: c.submit_swap(o, pool="p", amount_in=10**18,
                                                                                   zero_for_one=False))  # fmt: skip
        sim.run(until_ns=2 * 10**9)
        out[lane] = o.events[0].block_ts_ns
    # sent at 100 ms + 50 ms entry: next 250 ms block; +200 ms: the 500 ms block
    assert out[True] == 250_000_000 and out[False] == 500_000_000


def test_flashblocks_land_within_the_block():
    """Base: a swap arriving at 450 ms is sealed in the 600 ms Flashblock, not at the 2 s block."""
    times = {}
    for profile, block_ms in (("base", None), ("custom", 2000.0)):
        cfg = ChainConfig(profile=profile, block_time_ms=block_ms, native_px=1000.0, inclusion_a=50.0)
        sim, chain, _ = make_chain(cfg)
        o = Owner()
        chain.submit_swap(o, pool="p", amount_in=10**18, zero_for_one=False, arrival_ns=450_000_000)
        sim.run(until_ns=3 * 10**9)
        times[profile] = (o.events[0].block_ts_ns, o.events[0].block_number)
    assert times["base"] == (600_000_000, 1)
    assert times["custom"] == (2_000_000_000, 1)


def test_base_fee_replayed_from_recorded_blocks():
    """`base_fee = "replay"`: block k pays the k-th recorded base fee, and gas is charged at it."""
    recorded = load_etl_blocks(ETL)["base_fee_per_gas"]
    cfg = ChainConfig(profile="ethereum", base_fee="replay", base_fee_path=str(ETL), native_px=1000.0,
                      inclusion_a=50.0, gas_per_swap=100_000)  # fmt: skip
    sim, chain, _ = make_chain(cfg)
    o = Owner()
    chain.submit_swap(o, pool="p", amount_in=10**18, zero_for_one=False, arrival_ns=30 * 10**9)
    sim.run(until_ns=5 * 12 * 10**9)
    assert chain.base_fee_history == recorded[:5].tolist()
    (ev,) = o.events  # lands in block 3 (t = 36 s)
    assert ev.block_number == 3
    assert ev.gas_paid == pytest.approx(100_000 * int(recorded[2]) * 1e-18 * 1000.0, rel=1e-12)


def test_eip1559_base_fee_follows_simulated_gas_used(tmp_path):
    """`base_fee = "eip1559"`: the base fee follows the gas used, and demand answers the base fee.

    Every recorded block holds one 29.99M-gas transaction that paid 12 gwei (10 base + 2 tip).
    From 10 gwei: full blocks push the base fee up (+1.2493 gwei, hand-worked below) until it
    passes 12 gwei; then that transaction no longer joins (its recorded price is below the base
    fee), the block is empty and the base fee falls by 1/8 — it oscillates around 12 gwei.
    """
    fees = write_fee_data(tmp_path / "full.csv", {1: [(2.0, 29_990_000)], 2: [(2.0, 29_990_000)]})
    cfg = ChainConfig(profile="ethereum", base_fee="eip1559", base_fee_gwei=10.0, inclusion="auction",
                      fee_data_path=fees, native_px=1000.0)  # fmt: skip
    sim, chain, _ = make_chain(cfg)
    sim.run(until_ns=12 * 12 * 10**9)
    hist = chain.base_fee_history
    assert hist[0] == 10 * 10**9
    assert hist[1] == 10 * 10**9 + 10 * 10**9 * 14_990_000 // 15_000_000 // 8 == 11_249_166_666
    want = [10 * 10**9]
    for _ in range(len(hist) - 1):
        used = 29_990_000 if 12 * 10**9 >= want[-1] else 0
        want.append(next_base_fee(want[-1], used, 30_000_000))
    assert hist == want
    assert max(hist) > 12 * 10**9 and min(hist[3:]) < 12 * 10**9  # it crossed and came back
    assert chain.gas_used_history[:2] == [29_990_000, 29_990_000] and 0 in chain.gas_used_history


def test_l1_data_fee_is_charged_on_base():
    """Base: gas = L2 gas × base fee + the Fjord L1 data fee of a 300-byte swap transaction."""
    cfg = ChainConfig(profile="base", native_px=1000.0, gas_per_swap=100_000, inclusion_a=50.0)
    sim, chain, _ = make_chain(cfg)
    # fastlz bound 385 bytes: -42,585,600 + 836,500·385 = 279,466,900; L1 1 gwei, blob 1 wei (1e-9 gwei)
    l1 = 279_466_900 * (2269 * 10**9 * 16 + 1_055_762 * 1) // 10**12
    assert chain.l1_fee_wei() == l1
    want = (100_000 * 2_000_000 + l1) * 1e-18 * 1000.0  # 0.002 gwei L2 base fee
    assert chain.gas_cost("p") == pytest.approx(want, rel=1e-12)


def test_sandwich_squeezes_a_public_swap_to_its_limit():
    """A public buy with 1 % slack is front-run up to its limit and back-run; a private one is not."""
    amount = 20_000 * 10**6
    clean = get_amount_out(amount, R0, R1, 25)
    min_out = clean * 99 // 100
    got = {}
    for private in (False, True):
        cfg = ChainConfig(native_px=1000.0, inclusion_a=50.0, sandwich=True)
        sim, chain, adapter = make_chain(cfg)
        o = Owner()
        chain.submit_swap(o, pool="p", amount_in=amount, zero_for_one=True, min_amount_out=min_out, arrival_ns=0,
                          private=private)  # fmt: skip
        sim.run(until_ns=3 * 10**9)
        got[private] = (o.events[0], chain, adapter)
    ev, chain, adapter = got[False]
    assert isinstance(ev, SwapExecuted) and chain.n_sandwiches == 1
    assert min_out <= ev.amount_out < clean
    assert (ev.amount_out - min_out) / min_out < 1e-5  # squeezed to the limit
    # the loss is the output shortfall valued at the pre-trade price (2000 USDC/WETH)
    assert ev.sandwich_loss == pytest.approx((clean - ev.amount_out) / 1e18 * 2000.0, rel=1e-9)
    # the searcher's round trip leaves the pool's WETH as our swap alone would, and takes USDC out
    assert adapter.pool.reserve1 == R1 - ev.amount_out
    assert adapter.pool.reserve0 < R0 + amount
    ev_p, chain_p, _ = got[True]
    assert ev_p.amount_out == clean and chain_p.n_sandwiches == 0 and ev_p.sandwich_loss == 0.0


def test_config_combinations_are_checked():
    with pytest.raises(ValueError, match="needs a gas limit"):
        ChainConfig(base_fee="eip1559")
    with pytest.raises(ValueError, match="base_fee_path"):
        ChainConfig(base_fee="replay")


def test_auction_without_block_space_includes_everyone(one_block):
    """No gas limit (BSC profile): recorded competitors crowd nobody out, whatever the bribe."""
    cfg = ChainConfig(profile="bsc", inclusion="auction", fee_data_path=one_block, native_px=1000.0, base_fee="auto")
    sim, chain, _ = make_chain(cfg)
    o = Owner()
    chain.submit_swap(o, pool="p", amount_in=10**18, zero_for_one=False, bribe=0.0, arrival_ns=0)
    sim.run(until_ns=10**9)
    assert isinstance(o.events[0], SwapExecuted)
    assert chain.base_fee_history[0] == 50_000_000  # constant 0.05 gwei: BSC has no EIP-1559


def test_fcfs_auction_with_block_space(one_block):
    """FCFS with a gas limit: competitors arriving before us take the space, fees do not matter."""
    cfg = ChainConfig(profile="arbitrum", gas_limit=30_000_000, inclusion="auction", fee_data_path=one_block,
                      native_px=1000.0, express_lane=True, gas_per_swap=9_950_000)  # fmt: skip
    sim, chain, _ = make_chain(cfg)
    early, late = Owner(), Owner()
    # blocks every 250 ms; the 250 ms block's competitors arrive at 0, 83.3, 166.7 ms (10M gas each).
    # Arrival order: c0, early (19.95M), c1 (29.95M), c2 does not fit, late does not fit either.
    chain.submit_swap(early, pool="p", amount_in=10**15, zero_for_one=False, bribe=0.0, arrival_ns=50_000_000)
    chain.submit_swap(late, pool="p", amount_in=10**15, zero_for_one=False, bribe=100.0, arrival_ns=200_000_000)
    sim.run(until_ns=400_000_000)
    assert isinstance(early.events[0], SwapExecuted)
    assert late.events[0].reason == "block_full"  # its 100 USD bribe buys nothing on a FCFS chain


def test_seeded_auction_is_reproducible(tmp_path):
    """Competitor blocks are drawn from the chain's own seeded stream."""
    fees = write_fee_data(tmp_path / "two.csv", {1: [(50.0, 29_950_000)], 2: [(0.5, 1_000_000)]})
    outcomes = []
    for seed in (3, 3, 4):
        cfg = ChainConfig(profile="ethereum", inclusion="auction", fee_data_path=fees, native_px=1000.0,
                          gas_per_swap=100_000)  # fmt: skip
        sim, chain, _ = make_chain(cfg, seed=seed)
        o = Owner()
        for k in range(20):
            chain.submit_swap(o, pool="p", amount_in=10**15, zero_for_one=False, bribe=0.2, arrival_ns=k * 12 * 10**9)
        sim.run(until_ns=21 * 12 * 10**9)
        outcomes.append(np.array([isinstance(e, SwapExecuted) for e in o.events]))
    assert np.array_equal(outcomes[0], outcomes[1])
    assert 0 < outcomes[0].sum() < 20  # both kinds of block were drawn


def test_block_clock_replays_recorded_gaps():
    """`block_times_path`: blocks follow the recorded timestamp gaps (PoW sample: irregular, ~13 s)."""
    ts = load_etl_blocks(ETL)["timestamp"].astype(np.int64)
    gaps = np.diff(ts) * 10**9
    cfg = ChainConfig(profile="ethereum", block_times_path=str(ETL), native_px=1000.0, inclusion_a=50.0)
    sim, chain, _ = make_chain(cfg)
    times = []
    chain.participants.append(lambda c, t: times.append(t))
    sim.run(until_ns=int(gaps[:20].sum()) + 1)
    assert np.array_equal(np.diff([0, *times]), gaps[:20])
    assert len(set(gaps[:20].tolist())) > 3  # really irregular
    with pytest.raises(ValueError, match="pre-confirmation"):
        ChainConfig(profile="base", block_times_path=str(ETL))
