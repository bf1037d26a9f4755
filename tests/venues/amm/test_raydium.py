"""Raydium CPMM math against the program's own test vectors and hand-worked swaps; the Solana profile."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.kernel import Simulation
from venues.amm.errors import PoolRevertError
from venues.amm.raydium import RaydiumCpmmPool, checked_ceil_div, swap_without_fees
from venues.chain import Chain, ChainConfig, PoolConfig, make_pool
from venues.fees import solana_fee_lamports

# raydium-cp-swap constant_product.rs, test `constant_product_swap_rounding`:
# (source_amount, swap_source_amount, swap_destination_amount, source_swapped, destination_swapped)
PROGRAM_VECTORS = [
    (10, 4_000_000, 70_000_000_000, 10, 174_999),
    (20, 30_000 - 20, 10_000, 18, 6),
    (19, 30_000 - 20, 10_000, 18, 6),
    (18, 30_000 - 20, 10_000, 18, 6),
    (10, 20_000, 30_000, 10, 14),
    (10, 20_000 - 9, 30_000, 10, 14),
    (10, 20_000 - 10, 30_000, 10, 15),
    (100, 60_000, 30_000, 99, 49),
    (99, 60_000, 30_000, 99, 49),
    (98, 60_000, 30_000, 97, 48),
]


@pytest.mark.parametrize(("src", "r_in", "r_out", "want_src", "want_dst"), PROGRAM_VECTORS)
def test_swap_without_fees_matches_the_program_tests(src, r_in, r_out, want_src, want_dst):
    assert swap_without_fees(src, r_in, r_out) == (want_src, want_dst)


def test_too_small_a_swap_reverts():
    """The program's 'much too small' case: 10 · 4m / 70b rounds to nothing."""
    with pytest.raises(PoolRevertError, match="ZeroTradingTokens"):
        swap_without_fees(10, 70_000_000_000, 4_000_000)


def test_checked_ceil_div_example_of_spl_math():
    """spl-math's doc example: 400/32 = 12.5 → 13, then 400/13 = 30.8 → divisor 31."""
    assert checked_ceil_div(400, 32) == (13, 31)
    assert checked_ceil_div(12, 3) == (4, 3)
    assert checked_ceil_div(1, 1000) is None


def test_full_swap_hand_worked():
    """1,000,000 token0 into (1e9, 2e9) at 0.25 % (protocol 12 %, fund 4 % of the fee).

    trade fee = ceil(1e6 · 2500 / 1e6) = 2500; protocol = floor(2500 · 0.12) = 300; fund = 100.
    x = 997,500; k = 2e18; ceil(k / 1,000,997,500) = 1,998,006,989 (remainder 29,470,000);
    k // 1,998,006,989 = 1,000,997,499, remainder > 0 → 1,000,997,500: source swapped 997,500,
    output 2e9 − 1,998,006,989 = 1,993,011. The curve's token0 reserve grows by 997,500 + 2,500
    − 300 − 100 = 999,600.
    """
    pool = RaydiumCpmmPool(10**9, 2 * 10**9, trade_fee_rate=2500, protocol_fee_rate=120_000, fund_fee_rate=40_000)
    assert pool.get_amount_out(10**6, 0) == 1_993_011
    assert pool.swap(10**6, 0) == 1_993_011
    assert pool.last_amount_in == 1_000_000
    assert (pool.reserve0, pool.reserve1) == (10**9 + 999_600, 2 * 10**9 - 1_993_011)
    with pytest.raises(PoolRevertError, match="ExceededSlippage"):
        pool.swap(10**6, 1, min_amount_out=10**9)


@given(st.integers(1, 10**12), st.integers(10**6, 10**15), st.integers(10**6, 10**15), st.integers(0, 999_999))
def test_swap_never_lowers_the_invariant(amount, r0, r1, fee):
    pool = RaydiumCpmmPool(r0, r1, trade_fee_rate=fee, protocol_fee_rate=0, fund_fee_rate=0)
    k = r0 * r1
    try:
        pool.swap(amount, 0)
    except PoolRevertError:
        return
    assert pool.reserve0 * pool.reserve1 >= k
    assert pool.last_amount_in <= amount


def test_solana_fee_hand_worked():
    """Solana: 5,000 lamports per signature + ⌈µlamports/CU · CU / 1e6⌉."""
    assert solana_fee_lamports(1, 10_000, 200_000) == 5000 + 2000
    assert solana_fee_lamports(2, 0, 200_000) == 10_000
    assert solana_fee_lamports(1, 3, 333_334) == 5000 + 2  # 1.000002 lamports, rounded up
    with pytest.raises(ValueError):
        solana_fee_lamports(0, 0, 1)


def test_solana_profile_on_a_raydium_pool():
    """400 ms slots; fee in SOL at native_px; the pool is a Raydium CPMM pool priced at mid."""
    with pytest.raises(ValueError, match="native_px"):
        ChainConfig(profile="solana")
    cfg = ChainConfig(profile="solana", native_px=150.0, compute_unit_price_micro_lamports=10_000, inclusion_a=50.0)
    pool = make_pool(PoolConfig(kind="raydium_cpmm", fee_bps=25, decimals0=6, decimals1=9), 150.0)  # USDC/SOL
    assert pool.price == pytest.approx(150.0, rel=1e-9)
    sim = Simulation(1)
    chain = Chain(sim, cfg, {"p": pool})
    assert chain.gas_cost("p") == pytest.approx(7000 * 1e-9 * 150.0)
    got = []
    chain.submit_swap(got.append, pool="p", amount_in=10**9, zero_for_one=False, bribe=0.01, arrival_ns=100_000_000)
    sim.run(until_ns=10**9)
    assert got[0].block_ts_ns == 400_000_000 and got[0].bribe_paid == 0.01
