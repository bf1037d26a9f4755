"""Recorded Uniswap v3 pool events (demeter-fetch ``tick`` exports) → a validated structured array.

:func:`load_pool_events` reads the decoded Swap/Mint/Burn/Collect rows that zelos-alpha's
``demeter-fetch`` writes per pool and day: the Ethereum ``*.pool.tick.csv[.gz]`` layout
(``tx_index``, ``log_index``) and the Polygon ``*.tick.csv[.gz]`` layout (``pool_tx_index``,
``pool_log_index``, ``proxy_log_index``, ``position_id``), told apart by the header. Any
pool and day in those layouts loads, not only the bundled samples.

Deliberately not here: the raw ``eth_getLogs`` ``*.raw.csv`` files (ABI decoding), the
per-minute aggregates, and replaying the events through a pool (that is
:class:`venues.amm.clmm.ConcentratedPool`; see ``tests/venues/amm/test_v3_replay.py``).

See Also
--------
venues.amm.clmm : the pool whose ``swap`` reproduces the recorded prices.
venues.loaders._common.DataError : raised for every unusable file or row.
"""

from __future__ import annotations

import csv
import gzip
import os
from datetime import UTC, datetime

import numpy as np

from venues.loaders._common import DataError

__all__ = [
    "BURN",
    "COLLECT",
    "KIND_NAMES",
    "MINT",
    "NO_TICK",
    "POOL_EVENT_DTYPE",
    "SWAP",
    "load_pool_events",
]

SWAP, MINT, BURN, COLLECT = 0, 1, 2, 3
"""Values of the ``kind`` field."""
KIND_NAMES = ("SWAP", "MINT", "BURN", "COLLECT")
"""``KIND_NAMES[kind]`` is the demeter ``tx_type`` string."""
NO_TICK = np.iinfo(np.int32).min
"""``tick_lower``/``tick_upper`` of rows that have no position range (swaps)."""

MIN_TICK, MAX_TICK = -887272, 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

POOL_EVENT_DTYPE = np.dtype(
    [
        ("block_number", np.int64),
        ("block_timestamp", np.int64),
        ("tx_index", np.int32),
        ("log_index", np.int32),
        ("kind", np.uint8),
        ("amount0", object),
        ("amount1", object),
        ("sqrt_price_x96", object),
        ("liquidity", object),
        ("tick", np.int32),
        ("tick_lower", np.int32),
        ("tick_upper", np.int32),
        ("position_liquidity", object),
        ("transaction_hash", "U66"),
    ]
)
"""One row per pool event, in chain order.

Fields
------
block_number : int64
block_timestamp : int64
    Block time, ns since the Unix epoch (UTC; the source has second resolution).
tx_index : int32
    Transaction index in the block (Polygon: ``pool_tx_index``).
log_index : int32
    Log index in the block (Polygon: ``pool_log_index``); with ``block_number`` the sort key.
kind : uint8
    ``SWAP`` (0), ``MINT`` (1), ``BURN`` (2), ``COLLECT`` (3).
amount0, amount1 : object (Python int)
    Raw token units, signed from the pool's perspective (positive = into the pool). Python
    ints because WETH amounts in wei exceed int64 (1e4 ETH = 1e22 > 2**63); a float or a
    split int64 pair would lose exactness or convenience.
sqrt_price_x96 : object (Python int)
    uint160 pool price after the event (``Swap`` event field; for other kinds demeter's
    tracked pool state).
liquidity : object (Python int)
    uint128 in-range pool liquidity after the event (demeter ``total_liquidity``).
tick : int32
    Pool tick after the event (``current_tick``).
tick_lower, tick_upper : int32
    Position range of MINT/BURN/COLLECT rows; ``NO_TICK`` for swaps.
position_liquidity : object (Python int)
    Liquidity minted/burned (demeter ``liquidity`` column) for MINT/BURN; 0 otherwise.
transaction_hash : str
"""

_COMMON = (
    "block_number",
    "block_timestamp",
    "tx_type",
    "transaction_hash",
    "amount0",
    "amount1",
    "total_liquidity",
    "sqrtPriceX96",
    "current_tick",
    "tick_lower",
    "tick_upper",
    "liquidity",
)


def _open(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return open(path, newline="", encoding="utf-8")


def _int(s: str) -> int:
    """Parse an int written as ``123``, ``-5`` or ``199045.0`` (demeter float-formats ticks)."""
    s = s.strip()
    if s.endswith(".0"):
        s = s[:-2]
    return int(s)


def _ts_ns(s: str) -> int:
    s = s.strip()
    if s.isdigit():
        return int(s) * 1_000_000_000
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1_000


def _tick_at(sqrt_price_x96: int) -> int:
    from venues.amm._v3math import get_tick_at_sqrt_ratio

    return get_tick_at_sqrt_ratio(sqrt_price_x96)


def load_pool_events(path: str | os.PathLike) -> np.ndarray:
    """Load one demeter-fetch ``tick`` export of a Uniswap v3 pool, validated.

    Parameters
    ----------
    path : str or path-like
        ``*.pool.tick.csv[.gz]`` (Ethereum layout) or ``*.tick.csv[.gz]`` (Polygon layout).

    Returns
    -------
    ndarray, dtype POOL_EVENT_DTYPE
        One row per event, in file order, which must be chain order.

    Raises
    ------
    DataError
        Naming the file and the 1-based line (header = line 1) for: a missing file; a header
        without the required columns; an unparseable number or timestamp; an unknown
        ``tx_type``; rows not strictly increasing in ``(block_number, log_index)``; a block
        timestamp going backwards; a swap whose ``sqrtPriceX96`` is not in
        ``[MIN_SQRT_RATIO, MAX_SQRT_RATIO)`` or whose ``current_tick`` disagrees with it; a
        tick outside ``[-887272, 887272]``; negative liquidity; a MINT/BURN range with
        ``tick_lower >= tick_upper``.

    Notes
    -----
    A swap's tick is accepted when it equals ``TickMath.getTickAtSqrtRatio(sqrtPriceX96)``
    or is one less while the price sits exactly on a tick (the contract's state after a swap
    that ended on an initialized tick moving down).

    Examples
    --------
    >>> ev = load_pool_events("../shared/data/uniswap_v3_pool_events_demeter/"
    ...     "ethereum-0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640-2024-01-05.pool.tick.csv.gz")  # doctest: +SKIP
    >>> int((ev["kind"] == SWAP).sum())  # doctest: +SKIP
    6046
    """
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise DataError(f"{p}: pool event file not found")
    with _open(p) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{p}: line 1: empty file (expected a demeter-fetch tick CSV header)") from None
        col = {name: i for i, name in enumerate(header)}
        if "pool_log_index" in col:  # Polygon layout
            tx_key, log_key = "pool_tx_index", "pool_log_index"
        else:
            tx_key, log_key = "tx_index", "log_index"
        missing = [c for c in (*_COMMON, tx_key, log_key) if c not in col]
        if missing:
            raise DataError(f"{p}: line 1: header lacks column(s) {missing} (not a demeter-fetch tick CSV)")
        rows = []
        prev_key = None
        prev_ts = None
        for line, rec in enumerate(reader, start=2):
            if not rec:
                continue
            where = f"{p}: line {line}"
            try:
                kind_s = rec[col["tx_type"]].strip().upper()
                if kind_s not in KIND_NAMES:
                    raise DataError(f"{where}: unknown tx_type {kind_s!r} (expected one of {KIND_NAMES})")
                kind = KIND_NAMES.index(kind_s)
                block = int(rec[col["block_number"]])
                ts = _ts_ns(rec[col["block_timestamp"]])
                tx_index = _int(rec[col[tx_key]])
                log_index = _int(rec[col[log_key]])
                amount0 = _int(rec[col["amount0"]] or "0")
                amount1 = _int(rec[col["amount1"]] or "0")
                sqrt_price = _int(rec[col["sqrtPriceX96"]])
                liquidity = _int(rec[col["total_liquidity"]])
                tick = _int(rec[col["current_tick"]])
                lo_s, hi_s = rec[col["tick_lower"]], rec[col["tick_upper"]]
                tick_lower = _int(lo_s) if lo_s.strip() else NO_TICK
                tick_upper = _int(hi_s) if hi_s.strip() else NO_TICK
                pos_s = rec[col["liquidity"]]
                pos_liq = _int(pos_s) if (pos_s.strip() and kind in (MINT, BURN)) else 0
            except DataError:
                raise
            except (ValueError, IndexError) as exc:
                raise DataError(f"{where}: unparseable row ({exc})") from None
            key = (block, log_index)
            if prev_key is not None and key <= prev_key:
                raise DataError(
                    f"{where}: (block_number, log_index) = {key} not after the previous row's {prev_key}"
                    " (events must be in chain order)"
                )
            if prev_ts is not None and ts < prev_ts:
                raise DataError(f"{where}: block_timestamp goes backwards")
            prev_key, prev_ts = key, ts
            if not (MIN_TICK <= tick <= MAX_TICK):
                raise DataError(f"{where}: current_tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
            if liquidity < 0 or pos_liq < 0:
                raise DataError(f"{where}: negative liquidity")
            if kind == SWAP:
                if not (MIN_SQRT_RATIO <= sqrt_price < MAX_SQRT_RATIO):
                    raise DataError(f"{where}: swap sqrtPriceX96 {sqrt_price} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
                t = _tick_at(sqrt_price)
                if tick != t and tick != t - 1:
                    raise DataError(f"{where}: current_tick {tick} disagrees with sqrtPriceX96 (tick {t})")
            else:
                for name, v in (("tick_lower", tick_lower), ("tick_upper", tick_upper)):
                    if v == NO_TICK:
                        raise DataError(f"{where}: {KIND_NAMES[kind]} row without {name}")
                    if not (MIN_TICK <= v <= MAX_TICK):
                        raise DataError(f"{where}: {name} {v} outside [{MIN_TICK}, {MAX_TICK}]")
                if tick_lower >= tick_upper:
                    raise DataError(f"{where}: tick_lower {tick_lower} >= tick_upper {tick_upper}")
            rows.append(
                (
                    block,
                    ts,
                    tx_index,
                    log_index,
                    kind,
                    amount0,
                    amount1,
                    sqrt_price,
                    liquidity,
                    tick,
                    tick_lower,
                    tick_upper,
                    pos_liq,
                    rec[col["transaction_hash"]].strip(),
                )
            )
    return np.array(rows, dtype=POOL_EVENT_DTYPE)
