"""Recorded Ethereum block and transaction fee data → validated numpy structured arrays.

Formats
-------
``mev_inspect_txs_derived.csv(.gz)``
    One row per included transaction, derived from flashbots/mev-inspect-py test blocks:
    ``block_number, base_fee_per_gas_wei, miner, transaction_hash, transaction_index, gas_used,
    effective_gas_price_wei, priority_fee_per_gas_wei, coinbase_transfer_wei``. Loaded by
    :func:`load_mev_inspect_txs` into :data:`TX_DTYPE`.
``mev_inspect_blocks_derived.csv(.gz)``
    One row per block: ``block_number, block_timestamp (unix s, may be empty), miner,
    base_fee_per_gas_wei, tx_count, gas_used_sum``. Loaded by :func:`load_mev_inspect_blocks`
    into :data:`MEV_BLOCK_DTYPE`; :func:`load_mev_inspect` loads both and cross-checks them.
``mev_inspect_blocks/<block>.json(.gz)``
    The raw flashbots/mev-inspect-py test blocks (receipts + parity call traces), parsed by
    :func:`load_mev_inspect_block_json` / :func:`load_mev_inspect_json_dir` into the same
    arrays as the derived CSVs; :func:`swap_gas_from_blocks` measures the gas of single-swap
    transactions from them.
``ethereum_etl_blocks_*.csv(.gz)``
    ethereum-etl ``export_blocks`` output (columns we read: ``number, hash, parent_hash, miner,
    difficulty, total_difficulty, size, gas_limit, gas_used, timestamp, transaction_count,
    base_fee_per_gas``; extra columns are ignored). Loaded by :func:`load_etl_blocks` into
    :data:`ETL_BLOCK_DTYPE`.

Units are the chain's: wei, wei per gas, gas, unix seconds. Integers are parsed exactly from
their decimal text; the few fields that may exceed int64 (``coinbase_transfer_wei`` — a 10 ETH
transfer is 1e19 wei — ``difficulty``, ``total_difficulty``) are stored as float64 (relative
error ≤ 1.1e-16).

Validation (every failure raises :class:`~venues.loaders._common.DataError` naming the file and
the 1-based line, header = line 1, and the column): missing columns; non-integer or negative
values; ``gas_used <= 0``; malformed hashes/addresses; ``effective_gas_price < base_fee``;
``priority_fee != effective_gas_price − base_fee``; duplicate transaction hash or
``(block_number, transaction_index)``; a block whose rows disagree on base fee or miner;
transaction rows that disagree with the blocks file (missing block, base fee, miner, tx count,
gas sum); ethereum-etl block numbers not strictly increasing, ``gas_used > gas_limit``, and for
consecutive blocks a ``parent_hash`` that is not the previous ``hash``, a timestamp that does not
increase, or a base fee that breaks the EIP-1559 update rule (elasticity 2, denominator 8).

See Also
--------
venues.inclusion : fits the inclusion model on these data (:func:`venues.inclusion.inclusion_dataset_from_blocks`).

References
----------
EIP-1559, "Fee market change for ETH 1.0 chain" (base-fee update rule).
flashbots/mev-inspect-py, ``tests/blocks/*.json``; blockchain-etl/ethereum-etl ``export_blocks``.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from venues.loaders._common import DataError

__all__ = [
    "ETL_BLOCK_DTYPE",
    "MEV_BLOCK_DTYPE",
    "TX_DTYPE",
    "check_txs_against_blocks",
    "load_etl_blocks",
    "load_mev_inspect",
    "load_mev_inspect_block_json",
    "load_mev_inspect_blocks",
    "load_mev_inspect_json_dir",
    "load_mev_inspect_txs",
    "swap_gas_from_blocks",
]

TX_DTYPE = np.dtype(
    [
        ("block_number", np.int64),
        ("base_fee_per_gas_wei", np.int64),
        ("miner", "U42"),
        ("transaction_hash", "U66"),
        ("transaction_index", np.int64),
        ("gas_used", np.int64),
        ("effective_gas_price_wei", np.int64),
        ("priority_fee_per_gas_wei", np.int64),
        ("coinbase_transfer_wei", np.float64),
    ]
)
"""One included transaction (mev-inspect derived CSV); wei, wei/gas, gas."""

MEV_BLOCK_DTYPE = np.dtype(
    [
        ("block_number", np.int64),
        ("block_timestamp", np.int64),
        ("miner", "U42"),
        ("base_fee_per_gas_wei", np.int64),
        ("tx_count", np.int64),
        ("gas_used_sum", np.int64),
    ]
)
"""One block of the mev-inspect derived CSV; ``block_timestamp`` is -1 when not recorded."""

ETL_BLOCK_DTYPE = np.dtype(
    [
        ("number", np.int64),
        ("hash", "U66"),
        ("parent_hash", "U66"),
        ("miner", "U42"),
        ("difficulty", np.float64),
        ("total_difficulty", np.float64),
        ("size", np.int64),
        ("gas_limit", np.int64),
        ("gas_used", np.int64),
        ("timestamp", np.int64),
        ("transaction_count", np.int64),
        ("base_fee_per_gas", np.int64),
    ]
)
"""One ethereum-etl block; ``base_fee_per_gas`` is -1 for pre-London blocks (empty field)."""

_HASH = re.compile(r"0x[0-9a-fA-F]{64}\Z")
_ADDR = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_INT64_MAX = 2**63 - 1

TX_COLUMNS = tuple(TX_DTYPE.names)
MEV_BLOCK_COLUMNS = tuple(MEV_BLOCK_DTYPE.names)
ETL_COLUMNS = tuple(ETL_BLOCK_DTYPE.names)


def _rows(path: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` of a CSV (gzip by magic bytes), after checking the header."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{path}: data file not found")
    with open(p, "rb") as fb:
        gz = fb.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    try:
        with opener(p, "rt", newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError(f"{path}: line 1: missing column(s) {missing} (header {header})")
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise DataError(f"{path}: line {reader.line_num}: wrong number of fields (expected {len(header)})")
                yield reader.line_num, row
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None


def _int(path: str, line: int, row: dict, col: str, *, lo: int = 0, empty: int | None = None) -> int:
    s = row[col].strip()
    if s == "" and empty is not None:
        return empty
    try:
        v = int(s, 10)
    except ValueError:
        raise DataError(f"{path}: line {line}: column {col}: {row[col]!r} is not an integer") from None
    if v < lo:
        raise DataError(f"{path}: line {line}: column {col}: {v} is below the minimum {lo}")
    if v > _INT64_MAX:
        raise DataError(f"{path}: line {line}: column {col}: {v} does not fit in int64")
    return v


def _big(path: str, line: int, row: dict, col: str) -> float:
    s = row[col].strip()
    try:
        v = int(s, 10)
    except ValueError:
        raise DataError(f"{path}: line {line}: column {col}: {row[col]!r} is not an integer") from None
    if v < 0:
        raise DataError(f"{path}: line {line}: column {col}: {v} is negative")
    return float(v)


def _hex(path: str, line: int, row: dict, col: str, pat: re.Pattern, what: str) -> str:
    s = row[col].strip()
    if not pat.match(s):
        raise DataError(f"{path}: line {line}: column {col}: {s!r} is not a {what}")
    return s.lower()


def load_mev_inspect_txs(path: str | os.PathLike) -> np.ndarray:
    """Load ``mev_inspect_txs_derived.csv(.gz)``: one row per included transaction.

    Parameters
    ----------
    path : str or path-like
        The CSV, plain or gzip.

    Returns
    -------
    ndarray, dtype TX_DTYPE
        Sorted by ``(block_number, transaction_index)``.

    Raises
    ------
    DataError
        Naming the file, line and column: see the module docstring for the checks.
    """
    path = os.fspath(path)
    out: list[tuple] = []
    seen_hash: dict[str, int] = {}
    seen_idx: dict[tuple[int, int], int] = {}
    per_block: dict[int, tuple[int, str, int]] = {}
    for line, r in _rows(path, TX_COLUMNS):
        bn = _int(path, line, r, "block_number")
        base = _int(path, line, r, "base_fee_per_gas_wei")
        miner = _hex(path, line, r, "miner", _ADDR, "20-byte hex address")
        txh = _hex(path, line, r, "transaction_hash", _HASH, "32-byte hex hash")
        idx = _int(path, line, r, "transaction_index")
        gas = _int(path, line, r, "gas_used", lo=1)
        eff = _int(path, line, r, "effective_gas_price_wei")
        tip = _int(path, line, r, "priority_fee_per_gas_wei")
        cb = _big(path, line, r, "coinbase_transfer_wei")
        if eff < base:
            raise DataError(
                f"{path}: line {line}: column effective_gas_price_wei: {eff} is below the block's "
                f"base fee {base} (EIP-1559 requires effective price >= base fee)"
            )
        if tip != eff - base:
            raise DataError(
                f"{path}: line {line}: column priority_fee_per_gas_wei: {tip} != "
                f"effective_gas_price_wei - base_fee_per_gas_wei = {eff - base}"
            )
        if txh in seen_hash:
            raise DataError(
                f"{path}: line {line}: column transaction_hash: duplicate {txh} (first at line {seen_hash[txh]})"
            )
        seen_hash[txh] = line
        if (bn, idx) in seen_idx:
            raise DataError(
                f"{path}: line {line}: column transaction_index: duplicate index {idx} in block {bn} "
                f"(first at line {seen_idx[(bn, idx)]})"
            )
        seen_idx[(bn, idx)] = line
        if bn in per_block:
            b0, m0, l0 = per_block[bn]
            if base != b0:
                raise DataError(
                    f"{path}: line {line}: column base_fee_per_gas_wei: {base} differs from {b0} "
                    f"given for block {bn} at line {l0}"
                )
            if miner != m0:
                raise DataError(
                    f"{path}: line {line}: column miner: {miner} differs from {m0} given for block {bn} at line {l0}"
                )
        else:
            per_block[bn] = (base, miner, line)
        out.append((bn, base, miner, txh, idx, gas, eff, tip, cb))
    arr = np.array(out, dtype=TX_DTYPE)
    order = np.lexsort((arr["transaction_index"], arr["block_number"]))
    return arr[order]


def load_mev_inspect_blocks(path: str | os.PathLike) -> np.ndarray:
    """Load ``mev_inspect_blocks_derived.csv``: one row per block.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray, dtype MEV_BLOCK_DTYPE
        In file order (row ``i`` is line ``i + 2``); ``block_timestamp`` -1 where the field is
        empty.

    Raises
    ------
    DataError
        Non-integer/negative fields, malformed miner, duplicate block number (file, line, column).
    """
    path = os.fspath(path)
    out = []
    seen: dict[int, int] = {}
    for line, r in _rows(path, MEV_BLOCK_COLUMNS):
        bn = _int(path, line, r, "block_number")
        if bn in seen:
            raise DataError(
                f"{path}: line {line}: column block_number: duplicate block {bn} (first at line {seen[bn]})"
            )
        seen[bn] = line
        out.append(
            (
                bn,
                _int(path, line, r, "block_timestamp", empty=-1),
                _hex(path, line, r, "miner", _ADDR, "20-byte hex address"),
                _int(path, line, r, "base_fee_per_gas_wei"),
                _int(path, line, r, "tx_count"),
                _int(path, line, r, "gas_used_sum"),
            )
        )
    return np.array(out, dtype=MEV_BLOCK_DTYPE)


def check_txs_against_blocks(txs: np.ndarray, blocks: np.ndarray, txs_path: str, blocks_path: str) -> None:
    """Cross-check transaction rows against the blocks file.

    Every block of ``txs`` must appear in ``blocks`` with the same base fee and miner, and its
    ``tx_count`` and ``gas_used_sum`` must equal the count and gas sum of its transaction rows.

    Parameters
    ----------
    txs : ndarray, dtype TX_DTYPE
    blocks : ndarray, dtype MEV_BLOCK_DTYPE
        In file order, as :func:`load_mev_inspect_blocks` returns it.
    txs_path, blocks_path : str
        Used in messages.

    Raises
    ------
    DataError
        Naming the blocks file, the block's row (1-based line, header = 1) and the column.
    """
    row_of = {int(b): i for i, b in enumerate(blocks["block_number"])}
    bns, starts, counts = np.unique(txs["block_number"], return_index=True, return_counts=True)
    for bn, s, c in zip(bns.tolist(), starts.tolist(), counts.tolist(), strict=True):
        if bn not in row_of:
            raise DataError(f"{blocks_path}: block {bn} (present in {txs_path}) is missing")
        i = row_of[bn]
        blk = blocks[i]
        line = i + 2  # file order, header = line 1
        gsum = int(txs["gas_used"][s : s + c].sum())
        checks = [
            ("base_fee_per_gas_wei", int(blk["base_fee_per_gas_wei"]), int(txs["base_fee_per_gas_wei"][s])),
            ("miner", str(blk["miner"]), str(txs["miner"][s])),
            ("tx_count", int(blk["tx_count"]), c),
            ("gas_used_sum", int(blk["gas_used_sum"]), gsum),
        ]
        for col, want, got in checks:
            if want != got:
                raise DataError(
                    f"{blocks_path}: line {line}: column {col}: block {bn} has {want!r} but its "
                    f"transactions in {txs_path} give {got!r}"
                )


def load_mev_inspect(
    txs_path: str | os.PathLike, blocks_path: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load the mev-inspect derived transactions and (optionally) blocks, cross-checked.

    Parameters
    ----------
    txs_path : str or path-like
        ``mev_inspect_txs_derived.csv.gz``.
    blocks_path : str or path-like or None, default None
        ``mev_inspect_blocks_derived.csv``; ``None`` skips the blocks file.

    Returns
    -------
    (txs, blocks)
        ``TX_DTYPE`` and ``MEV_BLOCK_DTYPE`` arrays (``blocks`` is ``None`` when not given).

    Raises
    ------
    DataError
        See :func:`load_mev_inspect_txs`, :func:`load_mev_inspect_blocks`,
        :func:`check_txs_against_blocks`.
    """
    txs = load_mev_inspect_txs(txs_path)
    if blocks_path is None:
        return txs, None
    blocks = load_mev_inspect_blocks(blocks_path)
    check_txs_against_blocks(txs, blocks, os.fspath(txs_path), os.fspath(blocks_path))
    return txs, blocks


def _next_base_fee(parent_base: int, parent_gas_used: int, parent_gas_limit: int) -> int:
    """EIP-1559 base fee of the child block (elasticity multiplier 2, change denominator 8)."""
    from venues.fees import next_base_fee

    return next_base_fee(parent_base, parent_gas_used, parent_gas_limit)


V2_SWAP_SELECTOR = "0x022c0d9f"
"""``swap(uint256,uint256,address,bytes)`` of Uniswap-v2-style pairs (PancakeSwap v2, SushiSwap...)."""
V3_SWAP_SELECTOR = "0x128acb08"
"""``swap(address,bool,int256,uint160,bytes)`` of Uniswap-v3-style pools."""


def _json_int(path: str, where: str, value) -> int:
    if isinstance(value, bool) or value is None:
        raise DataError(f"{path}: {where}: {value!r} is not an integer")
    if isinstance(value, int):
        out = value
    elif isinstance(value, str):
        try:
            out = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            raise DataError(f"{path}: {where}: {value!r} is not an integer") from None
    else:
        raise DataError(f"{path}: {where}: {value!r} is not an integer")
    if out < 0:
        raise DataError(f"{path}: {where}: {out} is negative")
    return out


def _read_block_json(path: str) -> dict:
    import json

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{path}: block JSON file not found")
    with open(p, "rb") as fb:
        gz = fb.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gz else open)(p, "rt", encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: unreadable block JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(d, dict):
        raise DataError(f"{path}: top level is {type(d).__name__}, expected an object")
    missing = [k for k in ("block_number", "miner", "base_fee_per_gas", "traces", "receipts") if k not in d]
    if missing:
        raise DataError(f"{path}: missing key(s) {missing} (not a mev-inspect block JSON)")
    return d


def load_mev_inspect_block_json(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse one raw mev-inspect block (``tests/blocks/<n>.json[.gz]``) into transactions and a block row.

    The JSON carries the block's receipts (``transaction_hash, transaction_index, gas_used,
    effective_gas_price``) and its parity ``trace_block`` call traces. Per receipt: priority
    fee per gas = ``effective_gas_price − base_fee_per_gas`` (EIP-1559), and the coinbase
    transfer = the sum of ``action.value`` of the transaction's successful (``error`` null)
    ``call`` traces whose ``action.to`` is the block's miner (direct payments to the block
    producer: MEV-bundle bribes).

    Parameters
    ----------
    path : str or path-like
        Plain or gzip JSON.

    Returns
    -------
    (txs, block)
        ``txs``: :data:`TX_DTYPE`, sorted by ``transaction_index``; ``block``: one
        :data:`MEV_BLOCK_DTYPE` row (``block_timestamp`` -1 where null).

    Raises
    ------
    DataError
        Naming the file and the receipt/trace index: missing keys, non-integer fields,
        ``effective_gas_price`` below the base fee, ``gas_used <= 0``, duplicate transaction
        hash or index, malformed miner/hash.
    """
    path = os.fspath(path)
    d = _read_block_json(path)
    bn = _json_int(path, "block_number", d["block_number"])
    base = _json_int(path, "base_fee_per_gas", d["base_fee_per_gas"])
    miner = str(d["miner"]).lower()
    if not _ADDR.match(miner):
        raise DataError(f"{path}: miner: {d['miner']!r} is not a 20-byte hex address")
    ts_raw = d.get("block_timestamp")
    ts = -1 if ts_raw is None else _json_int(path, "block_timestamp", ts_raw)
    coinbase: dict[str, int] = {}
    for i, t in enumerate(d["traces"]):
        if not isinstance(t, dict) or t.get("type") != "call" or t.get("error") is not None:
            continue
        action = t.get("action") or {}
        if str(action.get("to", "")).lower() != miner:
            continue
        value = _json_int(path, f"traces[{i}].action.value", action.get("value", "0x0"))
        if value:
            h = str(t.get("transaction_hash", "")).lower()
            coinbase[h] = coinbase.get(h, 0) + value
    rows = []
    seen_hash: set[str] = set()
    seen_idx: set[int] = set()
    for i, r in enumerate(d["receipts"]):
        where = f"receipts[{i}]"
        if not isinstance(r, dict):
            raise DataError(f"{path}: {where}: not an object")
        for k in ("transaction_hash", "transaction_index", "gas_used", "effective_gas_price"):
            if k not in r:
                raise DataError(f"{path}: {where}: missing key {k!r}")
        h = str(r["transaction_hash"]).lower()
        if not _HASH.match(h):
            raise DataError(f"{path}: {where}.transaction_hash: {r['transaction_hash']!r} is not a 32-byte hex hash")
        idx = _json_int(path, f"{where}.transaction_index", r["transaction_index"])
        gas = _json_int(path, f"{where}.gas_used", r["gas_used"])
        eff = _json_int(path, f"{where}.effective_gas_price", r["effective_gas_price"])
        if gas <= 0:
            raise DataError(f"{path}: {where}.gas_used: {gas} is not positive")
        if eff < base:
            raise DataError(f"{path}: {where}.effective_gas_price: {eff} is below the base fee {base}")
        if h in seen_hash or idx in seen_idx:
            raise DataError(f"{path}: {where}: duplicate transaction hash {h} or index {idx}")
        seen_hash.add(h)
        seen_idx.add(idx)
        rows.append((bn, base, miner, h, idx, gas, eff, eff - base, float(coinbase.get(h, 0))))
    txs = np.array(rows, dtype=TX_DTYPE)
    txs = txs[np.argsort(txs["transaction_index"], kind="stable")]
    block = np.array([(bn, ts, miner, base, txs.size, int(txs["gas_used"].sum()))], dtype=MEV_BLOCK_DTYPE)
    return txs, block


def load_mev_inspect_json_dir(paths) -> tuple[np.ndarray, np.ndarray]:
    """Parse several raw mev-inspect block JSONs (or a directory of them) into one tx and block array.

    Parameters
    ----------
    paths : path or sequence of paths
        Files, or a directory whose ``*.json`` / ``*.json.gz`` files are read in name order.

    Returns
    -------
    (txs, blocks)
        ``TX_DTYPE`` sorted by ``(block_number, transaction_index)``, ``MEV_BLOCK_DTYPE`` by block.

    Raises
    ------
    DataError
        See :func:`load_mev_inspect_block_json`; an empty directory; a block number twice.
    """
    files = _json_files(paths)
    txs, blocks = [], []
    for f in files:
        t, b = load_mev_inspect_block_json(f)
        txs.append(t)
        blocks.append(b)
    tx = np.concatenate(txs)
    bl = np.concatenate(blocks)
    if np.unique(bl["block_number"]).size != bl.size:
        raise DataError(f"{paths}: a block number appears in two files")
    order = np.lexsort((tx["transaction_index"], tx["block_number"]))
    return tx[order], bl[np.argsort(bl["block_number"], kind="stable")]


def _json_files(paths) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        p = Path(paths)
        if p.is_dir():
            files = sorted(str(f) for f in p.iterdir() if f.name.endswith((".json", ".json.gz")))
            if not files:
                raise DataError(f"{p}: no *.json or *.json.gz block files")
            return files
        return [os.fspath(p)]
    return [os.fspath(p) for p in paths]


def swap_gas_from_blocks(paths) -> dict[str, np.ndarray]:
    """Gas used by transactions that hold exactly one pool swap, by pool family, from raw block JSON.

    A transaction counts for family ``"v2"`` when its successful call traces hold exactly one
    call with the Uniswap-v2 pair ``swap`` selector (:data:`V2_SWAP_SELECTOR`) and none with
    the v3 one, and for ``"v3"`` the other way round; its receipt's ``gas_used`` is taken
    (the whole transaction: intrinsic 21,000 + router + pool).

    Parameters
    ----------
    paths : path or sequence of paths
        As :func:`load_mev_inspect_json_dir`.

    Returns
    -------
    dict
        ``{"v2": ndarray of int64, "v3": ndarray of int64}``, receipt gas of each such transaction.

    Raises
    ------
    DataError
        See :func:`load_mev_inspect_block_json`.
    """
    out: dict[str, list[int]] = {"v2": [], "v3": []}
    for f in _json_files(paths):
        d = _read_block_json(f)
        gas = {}
        for i, r in enumerate(d["receipts"]):
            gas[str(r.get("transaction_hash", "")).lower()] = _json_int(f, f"receipts[{i}].gas_used", r.get("gas_used"))
        counts: dict[str, list[int]] = {}
        for t in d["traces"]:
            if not isinstance(t, dict) or t.get("type") != "call" or t.get("error") is not None:
                continue
            sel = str((t.get("action") or {}).get("input", ""))[:10].lower()
            c = counts.setdefault(str(t.get("transaction_hash", "")).lower(), [0, 0])
            if sel == V2_SWAP_SELECTOR:
                c[0] += 1
            elif sel == V3_SWAP_SELECTOR:
                c[1] += 1
        for h, (n2, n3) in counts.items():
            if h not in gas:
                continue
            if n2 == 1 and n3 == 0:
                out["v2"].append(gas[h])
            elif n3 == 1 and n2 == 0:
                out["v3"].append(gas[h])
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in out.items()}


def load_etl_blocks(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> np.ndarray:
    """Load ethereum-etl ``export_blocks`` CSVs (one or several, in order) as one block series.

    Parameters
    ----------
    paths : path or sequence of paths
        Plain or gzip CSVs; rows must have strictly increasing ``number`` across all files.

    Returns
    -------
    ndarray, dtype ETL_BLOCK_DTYPE

    Raises
    ------
    DataError
        Naming file, line and column: non-integer/negative fields, malformed hash/miner,
        ``gas_used > gas_limit``, block numbers not strictly increasing, and — between
        consecutive block numbers — broken ``parent_hash`` link, non-increasing timestamp, or a
        base fee off the EIP-1559 rule (both base fees present).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    out: list[tuple] = []
    prev = None  # (number, hash, timestamp, base, gas_used, gas_limit, path, line)
    for p in paths:
        path = os.fspath(p)
        for line, r in _rows(path, ETL_COLUMNS):
            num = _int(path, line, r, "number")
            h = _hex(path, line, r, "hash", _HASH, "32-byte hex hash")
            ph = _hex(path, line, r, "parent_hash", _HASH, "32-byte hex hash")
            miner = _hex(path, line, r, "miner", _ADDR, "20-byte hex address")
            limit = _int(path, line, r, "gas_limit", lo=1)
            used = _int(path, line, r, "gas_used")
            ts = _int(path, line, r, "timestamp")
            base = _int(path, line, r, "base_fee_per_gas", empty=-1)
            if used > limit:
                raise DataError(f"{path}: line {line}: column gas_used: {used} exceeds gas_limit {limit}")
            if prev is not None:
                pnum, phash, pts, pbase, pused, plimit, ppath, pline = prev
                where_prev = f"{ppath}: line {pline}"
                if num <= pnum:
                    raise DataError(
                        f"{path}: line {line}: column number: {num} is not above the previous block "
                        f"{pnum} ({where_prev})"
                    )
                if num == pnum + 1:
                    if ph != phash:
                        raise DataError(
                            f"{path}: line {line}: column parent_hash: {ph} is not the hash of block "
                            f"{pnum} ({phash}, {where_prev})"
                        )
                    if ts <= pts:
                        raise DataError(f"{path}: line {line}: column timestamp: {ts} is not after the parent's {pts}")
                    if base >= 0 and pbase >= 0:
                        want = _next_base_fee(pbase, pused, plimit)
                        if base != want:
                            raise DataError(
                                f"{path}: line {line}: column base_fee_per_gas: {base} != {want} given "
                                f"by the EIP-1559 rule from the parent ({where_prev})"
                            )
            out.append(
                (
                    num,
                    h,
                    ph,
                    miner,
                    _big(path, line, r, "difficulty"),
                    _big(path, line, r, "total_difficulty"),
                    _int(path, line, r, "size"),
                    limit,
                    used,
                    ts,
                    _int(path, line, r, "transaction_count"),
                    base,
                )
            )
            prev = (num, h, ts, base, used, limit, path, line)
    return np.array(out, dtype=ETL_BLOCK_DTYPE)
