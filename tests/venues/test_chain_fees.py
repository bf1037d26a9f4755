"""Fee rules against hand-worked cases from their specifications and against recorded blocks."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from venues.fees import (
    PROFILES,
    RECORDED_SWAP_GAS,
    fastlz_upper_bound,
    l1_fee_ecotone,
    l1_fee_fjord,
    next_base_fee,
)
from venues.loaders._common import DataError
from venues.loaders.eth_blocks import (
    load_etl_blocks,
    load_mev_inspect,
    load_mev_inspect_block_json,
    load_mev_inspect_json_dir,
    swap_gas_from_blocks,
)

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "data" / "ethereum_block_fees"
ETL = BUNDLED / "ethereum_etl_blocks_15533942_15534999.csv.gz"
SHARED = REPO.parent / "shared" / "data" / "ethereum_block_fees"
JSON_DIR = SHARED / "mev_inspect_blocks"


# ------------------------------------------------------------------ EIP-1559, hand-worked
def test_eip1559_hand_worked_cases():
    """EIP-1559 spec: target = limit/2; ±1/8 of the relative deviation from target; +1 wei floor."""
    # full 30M block at 100 gwei: delta = 100e9 * 15e6 / 15e6 / 8 = 12.5e9
    assert next_base_fee(100 * 10**9, 30_000_000, 30_000_000) == 112_500_000_000
    # empty block: 100e9 - 100e9 * 15e6 / 15e6 / 8
    assert next_base_fee(100 * 10**9, 0, 30_000_000) == 87_500_000_000
    # exactly at target: unchanged
    assert next_base_fee(12_345, 15_000_000, 30_000_000) == 12_345
    # 20M used: delta = 40e9 * 5e6 // 15e6 // 8 = 13333333333 // 8 = 1666666666
    assert next_base_fee(40 * 10**9, 20_000_000, 30_000_000) == 40 * 10**9 + 1_666_666_666
    # tiny base fee above target: the increase is at least 1 wei
    assert next_base_fee(7, 15_000_001, 30_000_000) == 8
    # OP Stack parameters (elasticity 6, denominator 250): target 10M of 60M; full block:
    # delta = 1e6 * 50e6 // 10e6 // 250 = 20000
    assert next_base_fee(10**6, 60_000_000, 60_000_000, elasticity=6, denominator=250) == 1_020_000
    # a floor (Base's minimum base fee) is applied after the rule
    assert next_base_fee(10**6, 0, 60_000_000, elasticity=6, denominator=250, min_base_fee=2 * 10**6) == 2 * 10**6


def test_eip1559_rejects_bad_inputs():
    with pytest.raises(ValueError, match="exceeds the gas limit"):
        next_base_fee(1, 31_000_000, 30_000_000)
    with pytest.raises(ValueError, match=">= 0"):
        next_base_fee(-1, 0, 30_000_000)
    with pytest.raises(ValueError, match="target is 0"):
        next_base_fee(1, 0, 1)


@given(st.integers(1, 10**13), st.integers(0, 30_000_000))
def test_eip1559_moves_at_most_one_eighth(base, used):
    """The change never exceeds base/8 (+1 wei) and has the sign of used − target."""
    nxt = next_base_fee(base, used, 30_000_000)
    assert abs(nxt - base) <= base // 8 + 1
    assert (nxt > base) == (used > 15_000_000)


def test_eip1559_reproduces_every_recorded_base_fee():
    """Independent check: each recorded base fee follows from its parent's recorded gas used (1,057 pairs)."""
    blocks = load_etl_blocks(ETL)  # (the loader checks the rule too; recomputed here with venues.fees)
    assert blocks.size == 1058
    got = [next_base_fee(int(p["base_fee_per_gas"]), int(p["gas_used"]), int(p["gas_limit"])) for p in blocks[:-1]]
    assert np.array_equal(np.array(got), blocks["base_fee_per_gas"][1:])
    # and it is not trivially constant: the recorded base fee moves by up to 12.5 % a block
    rel = np.diff(blocks["base_fee_per_gas"]) / blocks["base_fee_per_gas"][:-1]
    assert rel.max() > 0.1 and rel.min() < -0.1


# ------------------------------------------------------------------ OP Stack L1 data fee
def test_fjord_l1_fee_hand_worked():
    """OP Stack Fjord: l1Fee = max(100e6, -42_585_600 + 836_500·size)·(16·s·L1 + sb·blob) / 1e12."""
    fee_scaled = 2269 * 10 * 10**9 * 16 + 1_055_762 * 1  # 10 gwei L1 base fee, 1 wei blob fee
    assert fee_scaled == 363_040_001_055_762
    # 100 bytes: -42,585,600 + 83,650,000 = 41,064,400 < 1e8 -> the 100-byte floor
    assert l1_fee_fjord(100, 10 * 10**9, 1, 2269, 1_055_762) == 100_000_000 * 363_040_001_055_762 // 10**12
    assert l1_fee_fjord(100, 10 * 10**9, 1, 2269, 1_055_762) == 36_304_000_105
    # 400 bytes: -42,585,600 + 334,600,000 = 292,014,400
    assert l1_fee_fjord(400, 10 * 10**9, 1, 2269, 1_055_762) == 292_014_400 * 363_040_001_055_762 // 10**12
    # GasPriceOracle.getL1FeeUpperBound size bound: 300 + 68 = 368; 368 // 255 = 1; + 16
    assert fastlz_upper_bound(300) == 385
    with pytest.raises(ValueError):
        l1_fee_fjord(-1, 1, 1, 1, 1)


def test_ecotone_l1_fee_hand_worked():
    """Ecotone: (4·zeros + 16·non_zeros)/16 · (16·s·L1 + sb·blob) / 1e6."""
    # 40 zero bytes, 160 non-zero: compressed size = (160 + 2560)/16 = 170
    # weighted = 16·1368·20e9 + 810949·2 = 437,760,000,000,000 + 1,621,898
    weighted = 16 * 1368 * 20 * 10**9 + 810_949 * 2
    assert l1_fee_ecotone(40, 160, 20 * 10**9, 2, 1368, 810_949) == 170 * weighted // 10**6


def test_profiles_document_their_sources():
    for name, p in PROFILES.items():
        assert p.source, name
    assert PROFILES["ethereum"].block_time_ms == 12_000.0
    assert PROFILES["base"].preconf_ms == 200.0 and PROFILES["base"].l1_fee
    assert PROFILES["arbitrum"].ordering == "fcfs"
    assert PROFILES["bsc"].block_time_ms == 750.0


# ------------------------------------------------------------------ raw mev-inspect JSON
needs_json = pytest.mark.skipif(not JSON_DIR.is_dir(), reason=f"shared data not present: {JSON_DIR}")


@needs_json
def test_raw_block_json_parses_to_the_derived_csv():
    """Parsing the raw receipts + traces gives the derived CSV (computed separately) row for row."""
    txs, blocks = load_mev_inspect_json_dir(JSON_DIR)
    want_txs, want_blocks = load_mev_inspect(BUNDLED / "mev_inspect_txs_derived.csv.gz",
                                             SHARED / "mev_inspect_blocks_derived.csv")  # fmt: skip
    assert txs.size == 2288
    for name in txs.dtype.names:
        assert np.array_equal(txs[name], want_txs[name]), name
    assert np.array_equal(blocks, want_blocks)
    assert int((txs["coinbase_transfer_wei"] > 0).sum()) == 15  # PROVENANCE.md: 15 txs with coinbase transfers


@needs_json
def test_recorded_swap_gas_matches_the_receipts():
    """RECORDED_SWAP_GAS is the median receipt gas of single-swap transactions in the recorded blocks."""
    gas = swap_gas_from_blocks(JSON_DIR)
    assert gas["v2"].size == 102 and gas["v3"].size == 32
    assert int(np.median(gas["v2"])) == RECORDED_SWAP_GAS["v2"]
    assert int(np.median(gas["v3"])) == RECORDED_SWAP_GAS["v3"]
    assert gas["v2"].min() > 21_000  # whole transactions: the intrinsic gas is inside


def test_raw_block_json_errors_name_file_and_record(tmp_path):
    import json

    good = {"block_number": 1, "miner": "0x" + "ab" * 20, "base_fee_per_gas": 10, "traces": [],
            "receipts": [{"transaction_hash": "0x" + "cd" * 32, "transaction_index": 0, "gas_used": 21000,
                          "effective_gas_price": 12}]}  # fmt: skip
    f = tmp_path / "1.json"
    f.write_text(json.dumps(good))
    txs, block = load_mev_inspect_block_json(f)
    assert int(txs["priority_fee_per_gas_wei"][0]) == 2 and int(block["gas_used_sum"][0]) == 21000
    bad = dict(good, receipts=[dict(good["receipts"][0], effective_gas_price=9)])
    f.write_text(json.dumps(bad))
    with pytest.raises(DataError, match=r"1\.json: receipts\[0\]\.effective_gas_price: 9 is below the base fee"):
        load_mev_inspect_block_json(f)
    f.write_text(json.dumps({k: v for k, v in good.items() if k != "traces"}))
    with pytest.raises(DataError, match="missing key"):
        load_mev_inspect_block_json(f)
    with pytest.raises(DataError, match="not found"):
        load_mev_inspect_block_json(tmp_path / "nope.json")
