"""Recorded Uniswap v3 pool events (demeter-fetch ``tick`` exports) → a validated structured array.

:func:`load_pool_events` reads the decoded Swap/Mint/Burn/Collect rows that zelos-alpha's
``demeter-fetch`` writes per pool and day: the Ethereum ``*.pool.tick.csv[.gz]`` layout
(``tx_index``, ``log_index``) and the Polygon ``*.tick.csv[.gz]`` layout (``pool_tx_index``,
``pool_log_index``, ``proxy_log_index``, ``position_id``), told apart by the header. Any
pool and day in those layouts loads, not only the bundled samples.

:func:`infer_pool_params` reads a pool's fee tier and tick spacing off its events, and
:func:`tick_map_from_events` rebuilds the ``liquidityNet`` of the ticks the day's swaps visit
(what :func:`venues.chain.make_pool` initialises a concentrated-liquidity pool from).

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
    "TICKS",
    "V3_FLOW_DTYPE",
    "infer_pool_params",
    "load_pool_events",
    "tick_map_from_events",
    "v3_replay_calls",
    "v3_start_state",
]

SWAP, MINT, BURN, COLLECT = 0, 1, 2, 3
"""Values of the ``kind`` field."""
TICKS = 4
"""``kind`` of a :data:`V3_FLOW_DTYPE` row that sets learned ``liquidityNet`` values (not an event)."""
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


FEE_TIERS = {100: 1, 500: 10, 2500: 50, 3000: 60, 10000: 200}
"""Fee tiers (pips) and the tick spacing their factories pair them with: Uniswap v3 100/500/3000/10000
(``UniswapV3Factory`` constructor and ``enableFeeAmount(100, 1)``), PancakeSwap v3 2500 → 50."""


def infer_pool_params(events: np.ndarray, *, path: str = "<events>") -> tuple[int, int]:
    """Fee tier (pips) and tick spacing of a Uniswap-v3-style pool, read off its recorded events.

    Fee. For two consecutive swaps with nothing in between and the same in-range liquidity
    ``L``, the second one moved the price from ``√P_a`` to ``√P_b`` inside one liquidity
    range, so the input net of fee is ``L·(1/√P_b − 1/√P_a)`` token0 (``zero_for_one``) or
    ``L·(√P_b − √P_a)`` token1 (Uniswap v3 whitepaper eq. 6.13–6.16); the fee share is
    ``1 − net/amount_in`` = ``fee_pips/1e6`` for exact-input and exact-output swaps alike
    (``SwapMath.computeSwapStep``). The median over swaps paying more than 1e6 raw units is
    matched to the nearest tier of :data:`FEE_TIERS` and must lie within 2 % of it.

    Tick spacing. Every position's ``tick_lower``/``tick_upper`` is a multiple of the spacing,
    so the spacing divides the gcd of all MINT/BURN bounds; the gcd is what the data say. When
    the factory's spacing for the fee tier divides the gcd it is taken (a day's positions can
    all sit on a coarser grid); otherwise the data contradict the tier and it is an error.

    Parameters
    ----------
    events : ndarray, dtype POOL_EVENT_DTYPE
        From :func:`load_pool_events`.
    path : str
        For messages.

    Returns
    -------
    (fee_pips, tick_spacing) : tuple of int

    Raises
    ------
    DataError
        Fewer than 10 usable swaps, a fee share off every tier, no MINT/BURN rows, or a gcd the
        tier's spacing does not divide.
    """
    import math

    q96 = 2**96
    shares = []
    prev = None
    for rec in events:
        if rec["kind"] != SWAP:
            prev = None
            continue
        if prev is not None and prev["liquidity"] == rec["liquidity"] and rec["liquidity"] > 0:
            a0, a1 = int(rec["amount0"]), int(rec["amount1"])
            sa, sb, liq = int(prev["sqrt_price_x96"]), int(rec["sqrt_price_x96"]), int(rec["liquidity"])
            if a0 > 0 and sb < sa and a0 > 10**6:
                net = liq * q96 * (sa - sb) / (sa * sb)
                shares.append(1.0 - net / a0)
            elif a1 > 0 and sb > sa and a1 > 10**6:
                net = liq * (sb - sa) / q96
                shares.append(1.0 - net / a1)
        prev = rec
    if len(shares) < 10:
        raise DataError(f"{path}: only {len(shares)} swaps usable to infer the fee tier (need 10)")
    fee = float(np.median(shares)) * 1e6
    tier = min(FEE_TIERS, key=lambda t: abs(t - fee))
    if abs(fee - tier) > 0.02 * tier:
        raise DataError(f"{path}: inferred fee {fee:.1f} pips matches no tier of {sorted(FEE_TIERS)}")
    pos = events[(events["kind"] == MINT) | (events["kind"] == BURN)]
    if pos.size == 0:
        raise DataError(f"{path}: no MINT/BURN rows: the tick spacing cannot be read from the data")
    g = 0
    for t in np.concatenate([pos["tick_lower"], pos["tick_upper"]]).tolist():
        g = math.gcd(g, int(t))
    spacing = FEE_TIERS[tier]
    if g % spacing:
        raise DataError(
            f"{path}: position ticks have gcd {g}, which the {tier}-pip tier's spacing {spacing} does not divide"
        )
    return tier, spacing


def tick_map_from_events(events: np.ndarray, tick_spacing: int, *, start: int = 0) -> dict[int, int]:
    """``liquidityNet`` of the ticks between the spacing intervals the recorded swaps visit.

    Every swap row gives the in-range liquidity after it, ``L``, for the spacing interval
    holding its tick. Removing the MINT/BURN deltas recorded between row ``start`` and it whose
    range covers that tick (``tick_lower <= tick < tick_upper``) gives the liquidity of that
    interval in the state of row ``start``. The net of a tick between two visited intervals
    ``k < k'`` is the difference of their liquidities, put at tick ``(k+1)·spacing`` when
    intervals in between were never visited (where exactly it changes is not in the data).
    Outside the visited range the map has no ticks: liquidity stays constant beyond it (the
    real pool's tails are not observable from these events).

    Parameters
    ----------
    events : ndarray, dtype POOL_EVENT_DTYPE
    tick_spacing : int
    start : int, default 0
        Row whose state the map describes (a swap row: the pool is initialised from it).

    Returns
    -------
    dict of int to int
        Tick → liquidityNet (non-zero entries only).

    Raises
    ------
    DataError
        If two swaps imply different liquidities for the same interval (inconsistent data).
    """
    level: dict[int, int] = {}
    where: dict[int, int] = {}
    changes: list[tuple[int, int, int]] = []  # (lower, upper, delta) since start
    for i in range(start, events.size):
        rec = events[i]
        kind = rec["kind"]
        if kind in (MINT, BURN):
            d = int(rec["position_liquidity"])
            changes.append((int(rec["tick_lower"]), int(rec["tick_upper"]), d if kind == MINT else -d))
            continue
        if kind != SWAP:
            continue
        t = int(rec["tick"])
        k = t // tick_spacing
        base = int(rec["liquidity"]) - sum(d for lo, hi, d in changes if lo <= t < hi)
        if k in level:
            if level[k] != base:
                raise DataError(
                    f"swap row {i}: interval {k * tick_spacing} has liquidity {base} at the start state, "
                    f"but row {where[k]} gave {level[k]}"
                )
            continue
        level[k] = base
        where[k] = i
    ks = sorted(level)
    out: dict[int, int] = {}
    for k0, k1 in zip(ks, ks[1:], strict=False):
        net = level[k1] - level[k0]
        if net:
            out[(k0 + 1) * tick_spacing] = net
    return out


V3_FLOW_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),
        ("kind", np.uint8),
        ("amount_specified", object),
        ("zero_for_one", np.bool_),
        ("sqrt_price_limit_x96", object),
        ("tick_lower", np.int32),
        ("tick_upper", np.int32),
        ("liquidity", object),
        ("sync", np.bool_),
        ("sqrt_price_after", object),
        ("tick_after", np.int32),
        ("liquidity_after", object),
    ]
)
"""One recorded call to replay on a concentrated-liquidity pool (:func:`v3_replay_calls`).

``kind`` SWAP: ``pool.swap(amount_specified, zero_for_one, sqrt_price_limit_x96)`` (limit ``None``
= none); MINT/BURN: ``pool.mint/burn(tick_lower, tick_upper, liquidity)``; TICKS: ``liquidity`` is
a dict ``{tick: liquidityNet or None}`` of tick-map values learned from the next swap (``None``:
the tick is not initialized). ``sync``: a swap the
data do not pin down (no interpretation or tick map reproduces it); a replay of the recorded
pool sets the recorded state after it (``sqrt_price_after``, ``tick_after``, ``liquidity_after``)."""

_INTERPRETATIONS = ("in", "out", "in_limit", "out_limit")


def v3_start_state(events: np.ndarray, fee_pips: int, tick_spacing: int):
    """The pool at the first recorded swap: ``ConcentratedPool`` with the rebuilt tick map.

    Ticks: :func:`tick_map_from_events`, plus every tick at which the day burns more liquidity
    than it minted there before (a position older than the day: the tick was initialized at
    the start; net 0 where the map has none). Its ``liquidity_gross`` is ``|net|`` plus that
    excess, so the day's burns never fail (the real gross is not in the events).

    Returns
    -------
    (pool, start) : (venues.amm.ConcentratedPool, int)
        ``start`` is the row of the first swap.

    Raises
    ------
    DataError
        No swap row; inconsistent liquidities (see :func:`tick_map_from_events`).
    """
    from venues.amm import ConcentratedPool

    swap_rows = np.flatnonzero(events["kind"] == SWAP)
    if swap_rows.size == 0:
        raise DataError("no SWAP rows: the pool state cannot be read")
    start = int(swap_rows[0])
    ticks = tick_map_from_events(events, tick_spacing, start=start)
    # liquidity burned at a tick beyond what the day minted there before was there at the start
    minted: dict[int, int] = {}
    burned: dict[int, int] = {}
    pre: dict[int, int] = {}
    for rec in events[start:]:
        liq = int(rec["position_liquidity"])
        if rec["kind"] not in (MINT, BURN) or liq <= 0:
            continue
        for t in (int(rec["tick_lower"]), int(rec["tick_upper"])):
            if rec["kind"] == MINT:
                minted[t] = minted.get(t, 0) + liq
            else:
                burned[t] = burned.get(t, 0) + liq
                if burned[t] > minted.get(t, 0):
                    pre[t] = max(pre.get(t, 0), burned[t] - minted.get(t, 0))
    for t in pre:
        ticks.setdefault(t, 0)
    first = events[start]
    pool = ConcentratedPool(int(first["sqrt_price_x96"]), int(first["liquidity"]), int(first["tick"]), fee_pips,
                            tick_spacing, ticks)  # fmt: skip
    for t, b in pre.items():
        pool.liquidity_gross[t] = abs(pool.ticks[t]) + b
    return pool, start


def _match(pool, rec):
    """First interpretation of swap ``rec`` reproduced exactly from ``pool``: ``(name, spec, limit, pool after)``."""
    a0, a1 = int(rec["amount0"]), int(rec["amount1"])
    zfo = a0 > 0
    paid_in, paid_out = (a0, a1) if zfo else (a1, a0)
    want = int(rec["sqrt_price_x96"])
    for name in _INTERPRETATIONS:
        spec = paid_in if name.startswith("in") else paid_out
        limit = want if name.endswith("limit") else None
        if spec == 0 or (limit is not None and (limit >= pool.sqrt_price_x96 if zfo else limit <= pool.sqrt_price_x96)):
            continue
        probe = pool.copy()
        try:
            got = probe.swap(spec, zfo, limit)
        except ValueError:
            continue
        if probe.sqrt_price_x96 == want and got == (a0, a1) and probe.liquidity == int(rec["liquidity"]):
            return name, spec, limit, probe
    return None


def _tick_hypotheses(pool, rec):
    """Tick maps to try when a crossing swap does not replay: the crossed ticks' nets are uncertain.

    The crossed multiples of the spacing are those between the pool's tick and the recorded
    one. Tried: the residual of the recorded liquidity change put on each crossed tick in turn
    (others as they are), then zero-net crossed ticks uninitialized (all, then one by one), then
    uninitialized crossed multiples initialized with net 0 (one by one).
    """
    sp = pool.tick_spacing
    t0, t1 = pool.tick, int(rec["tick"])
    zfo = int(rec["amount0"]) > 0
    if zfo:
        crossed = [t for t in range(t0 - t0 % sp, t1, -sp) if t > t1]
    else:
        crossed = [t for t in range(t0 - t0 % sp + sp, t1 + 1, sp)]
    if not crossed:
        return
    sign = -1 if zfo else 1
    change = int(rec["liquidity"]) - pool.liquidity
    residual = sign * change - sum(pool.ticks.get(t, 0) for t in crossed)
    if residual:
        for t in crossed:
            h = dict(pool.ticks)
            h[t] = h.get(t, 0) + residual
            yield h
        return
    zero = [t for t in crossed if t in pool.ticks and pool.ticks[t] == 0]
    if zero:
        yield {t: v for t, v in pool.ticks.items() if t not in zero}
        for z in zero:
            yield {t: v for t, v in pool.ticks.items() if t != z}
    for t in crossed:
        if t not in pool.ticks:
            yield {**pool.ticks, t: 0}


def v3_replay_calls(events: np.ndarray, fee_pips: int, tick_spacing: int) -> tuple[np.ndarray, dict[str, int]]:
    """The calls that reproduce a recorded day on a concentrated-liquidity pool, and how many matched.

    A ``Swap`` event does not say whether the call was exact input or exact output, nor its
    price limit. Replaying the day from :func:`v3_start_state` (mints and burns applied as
    recorded), each swap is tried as: exact input of what the pool received, exact output of
    what it paid, and the same two with the recorded price as ``sqrtPriceLimitX96`` (a swap
    stopped by its limit); the first that gives the recorded ``sqrtPriceX96``, liquidity and
    both amounts exactly is kept. A crossing swap that none reproduces is retried with the
    crossed ticks' nets rearranged (:func:`_tick_hypotheses`: the day's events give the sum of
    the nets crossed, not always each one); the first exact match is kept and its tick map
    learned (``"ticks_learned"``). A swap still not reproduced is marked ``sync``: it is sent as
    exact input, and a replay of the recorded pool continues from the recorded state after it
    (counted in ``"unmatched"``).

    Parameters
    ----------
    events : ndarray, dtype POOL_EVENT_DTYPE
    fee_pips, tick_spacing : int
        From :func:`infer_pool_params`.

    Returns
    -------
    (calls, stats)
        ``calls``: :data:`V3_FLOW_DTYPE`, from the row after the first swap on (``ts_ns`` the
        recorded block time); ``stats``: swaps per interpretation, ``"unmatched"``,
        ``"ticks_learned"``, and ``"liquidity_reverts"`` (recorded mints/burns the rebuilt pool
        refused).

    Raises
    ------
    DataError
        See :func:`v3_start_state`.
    """
    pool, start = v3_start_state(events, fee_pips, tick_spacing)
    stats = dict.fromkeys((*_INTERPRETATIONS, "unmatched", "liquidity_reverts", "ticks_learned"), 0)
    out = []
    for rec in events[start + 1 :]:
        kind = int(rec["kind"])
        ts = int(rec["block_timestamp"])
        if kind in (MINT, BURN):
            lo, hi, liq = int(rec["tick_lower"]), int(rec["tick_upper"]), int(rec["position_liquidity"])
            if liq <= 0:
                continue
            try:
                (pool.mint if kind == MINT else pool.burn)(lo, hi, liq)
            except ValueError:
                stats["liquidity_reverts"] += 1
            out.append((ts, kind, 0, False, None, lo, hi, liq, False, None, 0, 0))
            continue
        if kind != SWAP:
            continue
        a0 = int(rec["amount0"])
        zfo = a0 > 0
        paid_in = a0 if zfo else int(rec["amount1"])
        chosen = _match(pool, rec)
        if chosen is None:  # learn the crossed ticks: the first tick map that reproduces the swap exactly
            for h in _tick_hypotheses(pool, rec):
                trial = pool.copy()
                trial.ticks = h
                trial.liquidity_gross = {t: max(trial.liquidity_gross.get(t, 0), abs(n), 1) for t, n in h.items()}
                chosen = _match(trial, rec)
                if chosen is not None:
                    stats["ticks_learned"] += 1
                    diff = {t: h.get(t) for t in set(h) | set(pool.ticks) if h.get(t) != pool.ticks.get(t)}
                    out.append((ts, TICKS, 0, False, None, 0, 0, diff, False, None, 0, 0))
                    break
        after = (int(rec["sqrt_price_x96"]), int(rec["tick"]), int(rec["liquidity"]))
        if chosen is None:  # not identifiable from the data: continue from the recorded state
            stats["unmatched"] += 1
            spec, limit = paid_in, None
            pool.sqrt_price_x96, pool.tick, pool.liquidity = after
        else:
            name, spec, limit, pool = chosen
            stats[name] += 1
        out.append((ts, SWAP, spec, zfo, limit, 0, 0, 0, chosen is None, *after))
    return np.array(out, dtype=V3_FLOW_DTYPE), stats
