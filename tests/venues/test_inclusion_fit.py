"""Fitting the inclusion model, building its data set from recorded blocks, and the block loaders."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from venues.inclusion import (
    fit_inclusion,
    fit_inclusion_model,
    inclusion_dataset_from_blocks,
    inclusion_probability_array,
)
from venues.loaders._common import DataError
from venues.loaders.eth_blocks import (
    ETL_COLUMNS,
    MEV_BLOCK_COLUMNS,
    TX_COLUMNS,
    load_etl_blocks,
    load_mev_inspect,
    load_mev_inspect_blocks,
    load_mev_inspect_txs,
)

pytest.importorskip("statsmodels")

REPO = Path(__file__).resolve().parents[2]
FEES = (REPO / ".." / "shared" / "data" / "ethereum_block_fees").resolve()
TXS = FEES / "mev_inspect_txs_derived.csv.gz"
BLOCKS = FEES / "mev_inspect_blocks_derived.csv"
ETL = FEES / "ethereum_etl_blocks_15533942_15534999.csv.gz"


@pytest.fixture
def fees():
    """The shared ethereum_block_fees folder, or skip when the development data are absent."""
    if not TXS.is_file():
        pytest.skip(f"shared data not found at {FEES} (sibling of the repo root)")
    return FEES


def _synthetic(a, b, n, seed, lo=0.0, hi=10.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, n)
    y = rng.random(n) < inclusion_probability_array(x, a, b)
    return x, y


# ------------------------------------------------------------------ fit


@pytest.mark.parametrize(("a", "b"), [(-3.0, 0.8), (1.0, 0.2), (-8.0, 2.5)])
def test_fit_recovers_parameters(a, b):
    """Seeded draws from the model: estimates within 4 standard errors of the truth."""
    x, y = _synthetic(a, b, 40_000, seed=11)
    f = fit_inclusion_model(x, y)
    assert f.converged and f.n == 40_000 and f.n_included == int(y.sum())
    assert abs(f.a - a) < 4 * f.se_a and abs(f.b - b) < 4 * f.se_b
    assert f.se_b < 0.1 * b
    assert fit_inclusion(x, y) == (f.a, f.b)


def test_fit_units_scale_exactly():
    """Bribes in wei instead of gwei: same intercept, slope divided by 1e9 (internal standardising)."""
    x, y = _synthetic(-2.0, 0.6, 5_000, seed=3)
    a1, b1 = fit_inclusion(x, y)
    a2, b2 = fit_inclusion(x * 1e9, y)
    assert a2 == pytest.approx(a1, rel=1e-7)
    assert b2 * 1e9 == pytest.approx(b1, rel=1e-7)


def test_fit_accepts_int_labels_and_lists():
    """0/1 integer labels and plain lists give the same fit as booleans."""
    x, y = _synthetic(-1.0, 0.5, 2_000, seed=5)
    assert fit_inclusion(x.tolist(), y.astype(int).tolist()) == pytest.approx(fit_inclusion(x, y), rel=1e-10)


def test_sklearn_matches_statsmodels():
    """Both libraries maximise the same likelihood."""
    pytest.importorskip("sklearn")
    x, y = _synthetic(-3.0, 0.8, 10_000, seed=2)
    s = fit_inclusion_model(x, y, method="statsmodels")
    k = fit_inclusion_model(x, y, method="sklearn")
    assert k.a == pytest.approx(s.a, rel=1e-4) and k.b == pytest.approx(s.b, rel=1e-4)
    assert k.log_likelihood == pytest.approx(s.log_likelihood, rel=1e-8)
    assert math.isnan(k.se_b)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([1.0, 2.0, 3.0, 4.0], [0, 0, 1, 1], "separated"),
        ([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 0], "separated"),
        ([1.0, 2.0, 2.0, 4.0], [0, 0, 1, 1], "separated"),  # quasi-complete: MLE still infinite
        ([1.0, 2.0, 3.0], [1, 1, 1], "both outcomes"),
        ([1.0, 2.0, 3.0], [0, 1], "differ in length"),
        ([1.0, 2.0, 3.0], [0, 2, 1], "not 0/1"),
        ([1.0, math.nan, 3.0], [0, 1, 1], "not finite"),
        ([1.0, 2.0], [0, 1], "at least 3"),
    ],
)
def test_fit_rejects_bad_data(x, y, match):
    """Data without a finite MLE or malformed inputs raise ValueError with the reason."""
    with pytest.raises(ValueError, match=match):
        fit_inclusion(x, y)


def test_fit_unknown_method():
    """An unknown method name is refused."""
    with pytest.raises(ValueError, match="unknown method"):
        fit_inclusion([1.0, 2.0, 3.0, 1.5], [0, 1, 0, 1], method="probit")


# ------------------------------------------------------------------ data set from recorded blocks


def test_dataset_from_blocks_builds_and_fits(fees):
    """Pseudo-observations from the 10 recorded blocks: shape, labels, and a fit with b > 0."""
    txs = load_mev_inspect_txs(fees / TXS.name)
    ds = inclusion_dataset_from_blocks(txs)
    n_tx, n_blk = txs.size, np.unique(txs["block_number"]).size
    assert (n_tx, n_blk) == (2288, 10)
    assert ds.bribes.size == n_tx * (n_blk - 1) + n_tx
    assert ds.unit == "gwei/gas" and ds.fee == "effective"
    own = ds.tx_block == ds.compared_block
    assert own.sum() == n_tx and ds.included[own].all()
    m = np.array([ds.marginal[k] for k in ds.compared_block[~own].tolist()])
    np.testing.assert_array_equal(ds.included[~own], ds.bribes[~own] >= m)
    assert all(v > 0 for v in ds.marginal.values())  # min_positive
    f = fit_inclusion_model(ds.bribes, ds.included)
    assert f.b > 0.0
    # p rises from under 1/2 at 1 gwei/gas to near 1 at 3 gwei/gas
    p1, p3 = inclusion_probability_array([1.0, 3.0], f.a, f.b)
    assert p1 < 0.6 < 0.95 < p3
    # the path form loads and builds the same set
    ds2 = inclusion_dataset_from_blocks(fees / TXS.name)
    np.testing.assert_array_equal(ds2.included, ds.included)


def test_dataset_options(fees):
    """Fee definition, marginal rule and comparison-block filter change the set as documented."""
    txs = load_mev_inspect_txs(fees / TXS.name)
    pr = inclusion_dataset_from_blocks(txs, fee="priority")
    ef = inclusion_dataset_from_blocks(txs, fee="effective")
    assert np.all(ef.bribes >= pr.bribes)
    mn = inclusion_dataset_from_blocks(txs, marginal="min")
    assert min(mn.marginal.values()) == 0.0  # zero-tip txs make some blocks clear at 0
    q = inclusion_dataset_from_blocks(txs, marginal=0.05)
    assert all(q.marginal[k] >= ef.marginal[k] for k in q.marginal)
    full = inclusion_dataset_from_blocks(txs, min_block_gas_used=15_000_000)
    gas = {k: int(txs["gas_used"][txs["block_number"] == k].sum()) for k in ef.marginal}
    assert set(full.marginal) == {k for k, g in gas.items() if g >= 15_000_000}
    for ds in (pr, mn, q, full):
        assert fit_inclusion(ds.bribes, ds.included)[1] > 0.0
    sub = inclusion_dataset_from_blocks(txs, blocks=[13179291, 13207907])
    assert set(sub.marginal) == {13179291, 13207907}
    with pytest.raises(ValueError, match="at least 2 blocks"):
        inclusion_dataset_from_blocks(txs, blocks=[13179291])
    with pytest.raises(ValueError, match="unknown fee"):
        inclusion_dataset_from_blocks(txs, fee="base")
    with pytest.raises(ValueError, match="marginal"):
        inclusion_dataset_from_blocks(txs, marginal="median")


# ------------------------------------------------------------------ loaders: real files


def test_loaders_read_shared_files(fees):
    """The three recorded files load, cross-check, and obey the EIP-1559 base-fee rule."""
    txs, blocks = load_mev_inspect(fees / TXS.name, fees / BLOCKS.name)
    assert txs.size == 2288 and blocks.size == 10
    assert int(txs["coinbase_transfer_wei"].astype(bool).sum()) == 15
    np.testing.assert_array_equal(
        txs["priority_fee_per_gas_wei"], txs["effective_gas_price_wei"] - txs["base_fee_per_gas_wei"]
    )
    etl = load_etl_blocks(fees / ETL.name)
    assert etl.size == 1058
    assert etl["number"][0] == 15533942 and etl["number"][-1] == 15534999
    assert (etl["gas_limit"] > 0).all() and (np.diff(etl["timestamp"]) > 0).all()


# ------------------------------------------------------------------ loaders: validation

BASE = 50_000_000_000
MINER = "0x" + "ab" * 20


def _h(i: int) -> str:
    return "0x" + f"{i:064x}"


def _tx_rows(n_blocks=2, per_block=3):
    rows = []
    for k in range(n_blocks):
        for i in range(per_block):
            tip = 1_000_000_000 * (i + 1)
            rows.append(
                {
                    "block_number": 100 + k,
                    "base_fee_per_gas_wei": BASE,
                    "miner": MINER,
                    "transaction_hash": _h(1000 * k + i + 1),
                    "transaction_index": i,
                    "gas_used": 21_000,
                    "effective_gas_price_wei": BASE + tip,
                    "priority_fee_per_gas_wei": tip,
                    "coinbase_transfer_wei": 0,
                }
            )
    return rows


def _write(path: Path, cols, rows, gz=True) -> Path:
    text = ",".join(cols) + "\n" + "".join(",".join(str(r[c]) for c in cols) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def test_tx_loader_roundtrip(tmp_path):
    """A valid synthetic file loads (gzip or plain) and is sorted by (block, index)."""
    rows = _tx_rows()
    rows.reverse()
    for gz in (True, False):
        arr = load_mev_inspect_txs(_write(tmp_path / f"t{gz}.csv", TX_COLUMNS, rows, gz=gz))
        assert arr.size == 6 and arr["block_number"].tolist() == [100] * 3 + [101] * 3
        assert arr["transaction_index"].tolist() == [0, 1, 2] * 2


@pytest.mark.parametrize(
    ("row", "field", "value", "match"),
    [
        (2, "gas_used", "abc", r"line 4: column gas_used: 'abc' is not an integer"),
        (0, "gas_used", 0, r"line 2: column gas_used: 0 is below the minimum 1"),
        (1, "priority_fee_per_gas_wei", 5, r"line 3: column priority_fee_per_gas_wei: 5 !="),
        (3, "effective_gas_price_wei", BASE - 1, r"line 5: column effective_gas_price_wei: .* below"),
        (4, "transaction_hash", _h(1), r"line 6: column transaction_hash: duplicate .*first at line 2"),
        (2, "transaction_index", 0, r"line 4: column transaction_index: duplicate index 0 in block 100"),
        (1, "base_fee_per_gas_wei", BASE + 1, r"line 3: column base_fee_per_gas_wei: .* differs"),
        (1, "miner", "0x" + "cd" * 20, r"line 3: column miner: .* differs"),
        (0, "miner", "0x12", r"line 2: column miner: '0x12' is not a 20-byte hex address"),
        (5, "coinbase_transfer_wei", -1, r"line 7: column coinbase_transfer_wei: -1 is negative"),
    ],
)
def test_tx_loader_errors_name_file_and_line(tmp_path, row, field, value, match):
    """Each bad field raises DataError naming the file, the 1-based line and the column."""
    rows = _tx_rows()
    rows[row][field] = value
    if field == "effective_gas_price_wei":  # keep the other fields parseable
        rows[row]["priority_fee_per_gas_wei"] = 0
    if field == "base_fee_per_gas_wei":  # keep effective − base = priority
        rows[row]["effective_gas_price_wei"] += value - BASE
    p = _write(tmp_path / "bad_txs.csv.gz", TX_COLUMNS, rows)
    with pytest.raises(DataError, match=r"bad_txs\.csv\.gz: " + match):
        load_mev_inspect_txs(p)


def test_loader_missing_column_and_file(tmp_path):
    """A missing column names line 1; a missing file is named."""
    cols = [c for c in TX_COLUMNS if c != "gas_used"]
    p = _write(tmp_path / "nocol.csv.gz", cols, _tx_rows())
    with pytest.raises(DataError, match=r"nocol\.csv\.gz: line 1: missing column\(s\) \['gas_used'\]"):
        load_mev_inspect_txs(p)
    with pytest.raises(DataError, match=r"nope\.csv: data file not found"):
        load_mev_inspect_txs(tmp_path / "nope.csv")
    p = tmp_path / "short.csv"
    p.write_text(",".join(TX_COLUMNS) + "\n1,2,3\n")
    with pytest.raises(DataError, match=r"short\.csv: line 2: wrong number of fields"):
        load_mev_inspect_txs(p)


def _block_rows(txs_rows):
    out = []
    for bn in sorted({r["block_number"] for r in txs_rows}):
        rs = [r for r in txs_rows if r["block_number"] == bn]
        out.append(
            {
                "block_number": bn,
                "block_timestamp": "",
                "miner": MINER,
                "base_fee_per_gas_wei": BASE,
                "tx_count": len(rs),
                "gas_used_sum": sum(r["gas_used"] for r in rs),
            }
        )
    return out


def test_blocks_cross_check(tmp_path):
    """tx_count / gas sum / missing block disagreements name the blocks file and line."""
    txr = _tx_rows()
    tp = _write(tmp_path / "t.csv.gz", TX_COLUMNS, txr)
    br = _block_rows(txr)
    txs, blocks = load_mev_inspect(tp, _write(tmp_path / "b.csv", MEV_BLOCK_COLUMNS, br, gz=False))
    assert blocks["block_timestamp"].tolist() == [-1, -1]
    br[1]["tx_count"] = 4
    bp = _write(tmp_path / "b.csv", MEV_BLOCK_COLUMNS, br, gz=False)
    with pytest.raises(DataError, match=r"b\.csv: line 3: column tx_count: block 101 has 4"):
        load_mev_inspect(tp, bp)
    br = _block_rows(txr)[:1]
    bp = _write(tmp_path / "b.csv", MEV_BLOCK_COLUMNS, br, gz=False)
    with pytest.raises(DataError, match=r"b\.csv: block 101 .* is missing"):
        load_mev_inspect(tp, bp)
    br = _block_rows(txr) + _block_rows(txr)[:1]
    bp = _write(tmp_path / "b.csv", MEV_BLOCK_COLUMNS, br, gz=False)
    with pytest.raises(DataError, match=r"b\.csv: line 4: column block_number: duplicate block 100"):
        load_mev_inspect_blocks(bp)


def _etl_rows(n=4):
    rows = []
    base, limit = 20_000_000_000, 30_000_000
    used = [20_000_000, 10_000_000, 15_000_000, 29_000_000, 1, 0][:n]
    for i in range(n):
        rows.append(
            {
                "number": 500 + i,
                "hash": _h(9000 + i),
                "parent_hash": _h(9000 + i - 1),
                "miner": MINER,
                "difficulty": 12184189369367029,
                "total_difficulty": 58710082761016211437029,
                "size": 1000,
                "gas_limit": limit,
                "gas_used": used[i],
                "timestamp": 1_663_172_692 + 12 * i,
                "transaction_count": 10,
                "base_fee_per_gas": base,
            }
        )
        t = limit // 2
        g = used[i]
        if g > t:
            base = base + max(base * (g - t) // t // 8, 1)
        elif g < t:
            base = base - base * (t - g) // t // 8
    return rows


def test_etl_loader_valid_and_split_files(tmp_path):
    """A valid series loads, also split over two files; huge difficulties become floats."""
    rows = _etl_rows()
    arr = load_etl_blocks(_write(tmp_path / "e.csv.gz", ETL_COLUMNS, rows))
    assert arr["number"].tolist() == [500, 501, 502, 503]
    assert arr["total_difficulty"][0] == pytest.approx(5.8710082761016211e22)
    p1 = _write(tmp_path / "e1.csv", ETL_COLUMNS, rows[:2], gz=False)
    p2 = _write(tmp_path / "e2.csv", ETL_COLUMNS, rows[2:], gz=False)
    np.testing.assert_array_equal(load_etl_blocks([p1, p2]), arr)


@pytest.mark.parametrize(
    ("row", "field", "value", "match"),
    [
        (2, "parent_hash", _h(1), r"line 4: column parent_hash: .* is not the hash of block 501"),
        (3, "base_fee_per_gas", 1, r"line 5: column base_fee_per_gas: 1 != .* EIP-1559"),
        (1, "gas_used", 30_000_001, r"line 3: column gas_used: 30000001 exceeds gas_limit"),
        (2, "number", 501, r"line 4: column number: 501 is not above the previous block 501"),
        (1, "timestamp", 1_663_172_692, r"line 3: column timestamp: .* not after the parent"),
        (0, "hash", "0xzz", r"line 2: column hash: '0xzz' is not a 32-byte hex hash"),
    ],
)
def test_etl_loader_errors_name_file_and_line(tmp_path, row, field, value, match):
    """Broken chain, base fee off the EIP-1559 rule, overfull blocks, order: file, line, column."""
    rows = _etl_rows()
    rows[row][field] = value
    p = _write(tmp_path / "bad_etl.csv.gz", ETL_COLUMNS, rows)
    with pytest.raises(DataError, match=r"bad_etl\.csv\.gz: " + match):
        load_etl_blocks(p)
