"""The simulated chain: a block clock, base fee, block space, a fee auction and AMM pools.

A transaction sent at ``t`` reaches the block builder after ``entry_latency_ms`` and competes
for the next block (or, with pre-confirmations, the next sub-block). Every (sub-)block:

1. at a block boundary the base fee is set: constant, replayed from recorded blocks, or
   evolved by the EIP-1559 rule from the previous simulated block's gas used
   (:func:`venues.fees.next_base_fee`); with ``inclusion = "auction"`` the block's competing
   transactions are drawn — one recorded block's transactions (gas used, effective priority
   fee) from the fee data, gas scaled to this chain's gas limit, keeping those whose recorded
   effective gas price covers the current base fee (so demand falls as the base fee rises);
2. the recorded background swaps whose (time-shifted) timestamps fall in the interval are
   applied to their pool, in recorded order (other people's flow, already included
   historically);
3. block participants (the CEX–DEX arbitrageur, :mod:`strategies.arbitrageur`) may add
   transactions;
4. pending transactions are ordered — by effective priority fee per gas (ties by arrival, then
   id) on priority-fee chains, by arrival on first-come-first-served sequencers (Arbitrum) —
   and included while they fit the block's gas limit (greedy, as builders fill blocks).
   Inclusion of our own transactions is decided by this auction (``"auction"``), or by a
   logistic draw from the chain's own seeded stream (``"logistic"``: configured ``a, b`` in
   quote units; ``"fitted"``: ``a, b`` fitted on the fee data by
   :func:`venues.inclusion.fit_inclusion_model`, in gwei/gas). A landed swap executes against
   the pool state left by everything before it, so whoever lands first moves the pool for the
   rest. A swap whose output is below its ``min_amount_out`` reverts (it still pays gas and
   bribe); a transaction that is not included is dropped and reported, and its owner may
   resend it.

Public transactions may be sandwiched (``sandwich = true``): a searcher who sees a public
swap in the mempool front-runs it with the largest trade that still lets it execute at its
``min_amount_out`` and back-runs it, when that nets more than its two transactions' gas and
bribes; private (bundle) submissions are not visible to it.

Outcomes reach owners after ``response_latency_ms``. Gas of a swap is
``gas × base_fee`` plus, on OP Stack chains, the L1 data fee (:func:`venues.fees.l1_fee_fjord`),
in the native token, converted to quote units at ``native_px`` (or the reference price given to
:meth:`Chain.native_price`). The bribe is the priority fee, quote units per transaction.

See Also
--------
venues.fees : EIP-1559, the L1 data fee and the chain profiles.
venues.amm : the pools' contract-exact math.
venues.inclusion : the inclusion probability, its fit and the optimal bribe.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from attrs import validators as v

from components.base import Component
from components.chain_events import BlockProduced, SwapExecuted, TxDropped
from engine.events import Priority
from engine.kernel import Simulation
from engine.time import ms_to_ns
from venues.fees import (
    POOL_GAS_FAMILY,
    PROFILES,
    RECORDED_SWAP_GAS,
    ChainProfile,
    fastlz_upper_bound,
    l1_fee_fjord,
    next_base_fee,
    solana_fee_lamports,
)
from venues.inclusion import inclusion_probability

BLOCK_TIME_MS = {name: p.block_time_ms for name, p in PROFILES.items() if name != "custom"}
"""Block times by chain, ms (from :data:`venues.fees.PROFILES`): Ethereum 12 s slots, Base 2 s,
Arbitrum One 0.25 s, BNB Smart Chain 0.75 s (since the 2025 Maxwell hard fork)."""

DEFAULT_FEE_DATA = Path(__file__).resolve().parents[1] / "data" / "ethereum_block_fees" / (
    "mev_inspect_txs_derived.csv.gz"
)
"""Bundled recorded fee data (mev-inspect, 10 Ethereum blocks of 2021), used when no path is given."""

RECORDED_GAS_LIMIT = 30_000_000
"""Gas limit of the recorded Ethereum blocks (30M in 2021–2022; the ethereum-etl sample's ``gas_limit``)."""

INCLUSION_MODELS = ("logistic", "fitted", "auction")
BASE_FEE_MODES = ("constant", "replay", "eip1559", "auto")


@attrs.frozen(kw_only=True)
class ChainConfig:
    """Settings of the simulated chain.

    ``None`` fields take the value of ``profile`` (:data:`venues.fees.PROFILES`).

    Attributes
    ----------
    profile : {"custom", "ethereum", "base", "arbitrum", "bsc", "solana"}, default "custom"
        Chain clock, fee rule and block space (documented with sources in :mod:`venues.fees`).
    block_time_ms : float or None
        Time between blocks, ms.
    entry_latency_ms : float, default 50.0
        Time for a transaction to reach the block builder, ms.
    response_latency_ms : float, default 50.0
        Time for a block's outcome to reach the sender, ms.
    gas_per_swap : int or None
        Gas used by one swap; ``None``: the recorded median of the pool's family
        (:data:`venues.fees.RECORDED_SWAP_GAS`).
    gas_limit : int or None
        Block gas limit; ``None``: the profile's (no limit for ``custom``).
    base_fee : {"constant", "replay", "eip1559", "auto"}, default "constant"
        Base fee per block: ``base_fee_gwei`` throughout; the recorded base fees of
        ``base_fee_path`` in order (cycled); the EIP-1559 rule with the profile's
        elasticity and denominator from the simulated gas used, starting at ``base_fee_gwei``;
        or ``"auto"``: the EIP-1559 rule where the profile has it and a gas limit, else constant.
    base_fee_gwei : float or None
        Constant / starting base fee, gwei.
    base_fee_path : str or None
        ethereum-etl ``export_blocks`` CSV (``base_fee = "replay"``).
    native_px : float or None, default None
        Price of the native token in quote units; ``None``: the reference price set by the
        owner of the simulation (e.g. the order-book mid for ETH-quoted chains).
    inclusion : {"logistic", "fitted", "auction"}, default "logistic"
        How our transactions get in: a logistic draw with ``inclusion_a/b`` (bribe in quote
        units); a logistic draw with ``(a, b)`` fitted on ``fee_data_path`` (bribe as priority
        fee in gwei/gas); or the block auction against recorded competitors (on a chain without
        a gas limit nothing is crowded out; on a first-come-first-served chain the competitors
        arrive spread evenly over the block interval).
    inclusion_a, inclusion_b : float, default 0.0 and 20.0
        ``p = 1/(1+exp(−(a + b·bribe)))`` with the bribe in quote units per transaction
        (:func:`venues.inclusion.inclusion_probability`); ``b > 0``.
    fee_data_path : str or None
        Recorded fee data for ``"fitted"``/``"auction"``: ``mev_inspect_txs_derived.csv(.gz)`` or a
        directory of raw mev-inspect block JSONs; ``None``: the bundled file (:data:`DEFAULT_FEE_DATA`).
    competitor_fee_scale : float, default 1.0
        Multiplier of the recorded competitors' priority fees (the data are Ethereum's; an L2's
        fees are lower).
    sandwich : bool, default False
        Whether a sandwich searcher watches the public mempool.
    compute_unit_price_micro_lamports : int, default 0
        Solana: the swap's compute-unit price (prioritization fee), micro-lamports per CU; the
        bribe is then a Jito tip on top.
    block_times_path : str or None
        Recorded blocks (ethereum-etl CSV) whose consecutive timestamp gaps set the block clock,
        replayed in order and cycled (block-time jitter from data) instead of ``block_time_ms``.
        The bundled sample is pre-Merge (proof of work: ~13 s, irregular), not today's 12 s
        slots. Not combinable with pre-confirmation sub-blocks.
    express_lane : bool, default False
        On chains with a Timeboost express lane (``arbitrum``): our transactions (those with an
        owner) use it; everyone else's reach the sequencer ``express_lane_ms`` later. The
        round's auction bid is not charged (not modelled).
    """

    profile: str = attrs.field(default="custom", validator=v.in_(tuple(PROFILES)))
    block_time_ms: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    entry_latency_ms: float = attrs.field(default=50.0, validator=v.ge(0))
    response_latency_ms: float = attrs.field(default=50.0, validator=v.ge(0))
    gas_per_swap: int | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    gas_limit: int | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    base_fee: str = attrs.field(default="constant", validator=v.in_(BASE_FEE_MODES))
    base_fee_gwei: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    base_fee_path: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    native_px: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    inclusion: str = attrs.field(default="logistic", validator=v.in_(INCLUSION_MODELS))
    inclusion_a: float = attrs.field(default=0.0)
    inclusion_b: float = attrs.field(default=20.0, validator=v.gt(0))
    fee_data_path: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    competitor_fee_scale: float = attrs.field(default=1.0, validator=v.gt(0))
    sandwich: bool = False
    express_lane: bool = False
    compute_unit_price_micro_lamports: int = attrs.field(default=0, validator=v.ge(0))
    block_times_path: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))

    def __attrs_post_init__(self) -> None:
        p = self.resolved_profile()
        if self.base_fee == "replay" and self.base_fee_path is None:
            raise ValueError("base_fee = 'replay' needs base_fee_path (recorded ethereum-etl blocks)")
        if self.base_fee == "eip1559" and p.gas_limit is None:
            raise ValueError(f"base_fee = 'eip1559' needs a gas limit: profile {p.name!r} has none; set gas_limit")
        if self.block_times_path is not None and p.preconf_ms:
            raise ValueError(f"block_times_path: not combinable with profile {p.name!r}'s pre-confirmation sub-blocks")
        if p.fee_model == "solana":
            if self.native_px is None:
                raise ValueError("profile 'solana' pays fees in SOL: set native_px (SOL price in quote units)")
            if self.inclusion == "auction":
                raise ValueError("profile 'solana': no recorded Solana blocks to compete with; use 'logistic'")

    def resolved_profile(self) -> ChainProfile:
        """The profile with this config's explicit values applied (block time, gas limit, base fee)."""
        p = PROFILES[self.profile]
        changes = {}
        if self.block_time_ms is not None:
            changes["block_time_ms"] = float(self.block_time_ms)
        if self.gas_limit is not None:
            changes["gas_limit"] = int(self.gas_limit)
        if self.base_fee_gwei is not None:
            changes["base_fee_gwei"] = float(self.base_fee_gwei)
        return attrs.evolve(p, **changes)


POOL_KINDS = ("pancake_v2", "uniswap_v2", "aerodrome_volatile", "aerodrome_stable", "uniswap_v3", "slipstream",
              "pancake_v3", "raydium_cpmm")  # fmt: skip
CL_KINDS = ("uniswap_v3", "slipstream", "pancake_v3")
"""Concentrated-liquidity kinds (Uniswap v3 math; Slipstream and PancakeSwap v3 are its forks)."""


@attrs.frozen(kw_only=True)
class PoolConfig:
    """The hedging pool of a simulation, priced at the feed's first mid.

    Attributes
    ----------
    name : str, default "hedge"
        Pool name (what the hedger and arbitrageur refer to).
    kind : str, default "pancake_v2"
        Contract math (:mod:`venues.amm`): ``pancake_v2``/``uniswap_v2`` (x·y = k),
        ``aerodrome_volatile`` (x·y = k), ``aerodrome_stable`` (x³y + xy³ = k), or a
        concentrated-liquidity pool ``uniswap_v3``/``slipstream``/``pancake_v3``
        (:class:`venues.amm.ConcentratedPool`) initialised from ``state_path``.
    fee_bps : int, default 25
        Pool fee, bps, of the constant-product and stable kinds (PancakeSwap v2 25, Uniswap v2
        30, Aerodrome volatile 30, stable 5 by default). Concentrated-liquidity pools take
        their fee tier from the data instead.
    tvl_usd : float, default 5e6
        Initial value locked of the constant-product and stable kinds, quote units.
    premium : float, default 0.0
        Initial pool price relative to the first order-book mid (0.01 = 1 % above).
    base_token : {0, 1}, default 1
        Which token is the base asset (1: token0 = USDC, token1 = WETH, as on the recorded pool).
    decimals0, decimals1 : int, default 6 and 18
    state_path : str or None
        Recorded Uniswap v3 pool events (demeter-fetch tick export) for the concentrated kinds:
        the first swap's in-range liquidity, the fee tier and tick spacing inferred from the data
        (:func:`venues.loaders.uniswap_v3.infer_pool_params`), and the tick map around the price
        (:func:`venues.loaders.uniswap_v3.tick_map_from_events`).
    price : {"mid", "recorded"}, default "mid"
        Concentrated kinds: re-base the recorded state to the order-book mid (ticks shifted by a
        multiple of the spacing, so the liquidity profile around the price is kept) or keep the
        recorded price (a replay of the recorded day).
    liquidity_scale : float, default 1.0
        Multiplier of the recorded liquidity (concentrated kinds).
    flow_path : str or None, default None
        Recorded Uniswap v3 pool events whose swaps are replayed as background flow: each
        recorded swap's input amount is applied as an exact-input swap in its direction, its time
        shifted so the first recorded swap lands at the start of the market-data feed. Relative
        paths are relative to the sweep file.
    flow_scale : float, default 1.0
        Multiplier of the recorded input amounts.
    """

    name: str = "hedge"
    kind: str = attrs.field(default="pancake_v2", validator=v.in_(POOL_KINDS))
    fee_bps: int = attrs.field(default=25, validator=[v.ge(0), v.lt(10_000)])
    tvl_usd: float = attrs.field(default=5e6, validator=v.gt(0))
    premium: float = attrs.field(default=0.0, validator=v.gt(-1.0))
    base_token: int = attrs.field(default=1, validator=v.in_((0, 1)))
    decimals0: int = attrs.field(default=6, validator=[v.ge(0), v.le(36)])
    decimals1: int = attrs.field(default=18, validator=[v.ge(0), v.le(36)])
    state_path: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    price: str = attrs.field(default="mid", validator=v.in_(("mid", "recorded")))
    liquidity_scale: float = attrs.field(default=1.0, validator=v.gt(0))
    flow_path: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    flow_scale: float = attrs.field(default=1.0, validator=v.gt(0))


def recorded_flow(path: str, start_ns: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background flow from recorded pool events: ``(ts_ns, amount_in, zero_for_one)``.

    Parameters
    ----------
    path : str
        Recorded pool events (:func:`venues.loaders.uniswap_v3.load_pool_events`).
    start_ns : int
        Sim time at which the first recorded swap is placed; the others keep their spacing.
    scale : float, default 1.0
        Multiplier of the input amounts (1.0 keeps the recorded integers exactly).

    Returns
    -------
    tuple of ndarray
        ``ts_ns`` (int64), ``amount_in`` (object, Python ints, raw units), ``zero_for_one`` (bool).

    Raises
    ------
    venues.loaders.DataError
        If the file is missing or invalid (named with its row).
    """
    from venues.loaders.uniswap_v3 import SWAP, load_pool_events

    ev = load_pool_events(path)
    swaps = ev[ev["kind"] == SWAP]
    amount0 = swaps["amount0"]
    zero_for_one = np.array([int(a) > 0 for a in amount0], dtype=bool)
    raw = [int(a0 if z else a1) for a0, a1, z in zip(amount0, swaps["amount1"], zero_for_one, strict=True)]
    amount_in = np.array([a if scale == 1.0 else int(a * scale) for a in raw], dtype=object)
    ts = swaps["block_timestamp"].astype(np.int64)
    ts = ts - (ts[0] if ts.size else 0) + start_ns
    keep = np.array([a > 0 for a in amount_in], dtype=bool)
    return ts[keep], amount_in[keep], zero_for_one[keep]


@functools.lru_cache(maxsize=4)
def recorded_v3_calls(path: str) -> np.ndarray:
    """Identified calls of a recorded concentrated-liquidity day (cached per path; read-only use).

    :func:`venues.loaders.uniswap_v3.v3_replay_calls` with the fee tier and tick spacing read
    from the same file (:func:`venues.loaders.uniswap_v3.infer_pool_params`).

    Raises
    ------
    venues.loaders.DataError
        Missing or invalid file.
    """
    from venues.loaders.uniswap_v3 import infer_pool_params, load_pool_events, v3_replay_calls

    ev = load_pool_events(path)
    fee_pips, spacing = infer_pool_params(ev, path=path)
    calls, _ = v3_replay_calls(ev, fee_pips, spacing)
    return calls


def _stable_reserves(px10: float, value1: float) -> tuple[float, float]:
    """Human reserves ``(x, y)`` of a stable pool whose spot price (token1 per token0) is ``px10``.

    With ``t = y/x`` the stable curve's spot price is ``(3t + t³)/(1 + 3t²)``, increasing in
    ``t``; solved for ``t`` by Brent's method, then scaled so that ``x·px10 + y = value1``.
    """
    from scipy.optimize import brentq

    f = lambda t: (3.0 * t + t**3) / (1.0 + 3.0 * t * t) - px10  # noqa: E731
    t = brentq(f, 1e-12, 1e12, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    x = value1 / (px10 + t)
    return x, t * x


def make_pool(config: PoolConfig, mid: float) -> PoolAdapter:
    """Build the pool of ``config`` with its price at ``mid × (1 + premium)``.

    Parameters
    ----------
    config : PoolConfig
    mid : float
        Reference price of the base asset, quote units.

    Returns
    -------
    PoolAdapter

    Raises
    ------
    ValueError
        If ``mid`` is not positive, a concentrated kind has no ``state_path``, or the pool
        rejects its state.
    venues.loaders.DataError
        If ``state_path`` is missing or invalid.
    """
    from venues.amm import AerodromePool, PancakeV2Pool

    if not mid > 0:
        raise ValueError(f"the pool needs a positive reference price, got {mid}")
    px = mid * (1.0 + config.premium)
    dec = (config.decimals0, config.decimals1)
    if config.kind in CL_KINDS:
        return _make_cl_pool(config, px)
    quote_amount, base_amount = config.tvl_usd / 2.0, config.tvl_usd / 2.0 / px
    q_tok = 1 - config.base_token
    reserves = [0, 0]
    reserves[config.base_token] = int(base_amount * 10.0 ** dec[config.base_token])
    reserves[q_tok] = int(quote_amount * 10.0 ** dec[q_tok])
    if config.kind == "aerodrome_stable":
        px10 = px if config.base_token == 0 else 1.0 / px  # human token1 per token0
        value1 = config.tvl_usd if config.base_token == 0 else config.tvl_usd / px  # TVL in token1 units
        x, y = _stable_reserves(px10, value1)
        reserves = [int(x * 10.0 ** dec[0]), int(y * 10.0 ** dec[1])]
        pool = AerodromePool(reserves[0], reserves[1], dec[0], dec[1], True, config.fee_bps)
    elif config.kind == "aerodrome_volatile":
        pool = AerodromePool(reserves[0], reserves[1], dec[0], dec[1], False, config.fee_bps)
    elif config.kind == "raydium_cpmm":
        from venues.amm.raydium import RaydiumCpmmPool

        pool = RaydiumCpmmPool(reserves[0], reserves[1], trade_fee_rate=config.fee_bps * 100)
    else:
        pool = PancakeV2Pool(reserves[0], reserves[1], fee_bps=config.fee_bps)
    return PoolAdapter(pool, base_token=config.base_token, decimals0=dec[0], decimals1=dec[1],
                       fee_bps=config.fee_bps, kind=config.kind)  # fmt: skip


def _make_cl_pool(config: PoolConfig, px: float) -> PoolAdapter:
    from venues.amm import ConcentratedPool
    from venues.amm._v3math import get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio
    from venues.loaders.uniswap_v3 import infer_pool_params, load_pool_events, v3_start_state

    if config.state_path is None:
        raise ValueError(f"pool.state_path: a {config.kind} pool is initialised from recorded pool events; none given")
    ev = load_pool_events(config.state_path)
    fee_pips, spacing = infer_pool_params(ev, path=config.state_path)
    start_pool, _ = v3_start_state(ev, fee_pips, spacing)
    sqrt_p, liq, tick = start_pool.sqrt_price_x96, start_pool.liquidity, start_pool.tick
    ticks, gross = dict(start_pool.ticks), dict(start_pool.liquidity_gross)
    shift = 0
    if config.price == "mid":
        d0, d1 = config.decimals0, config.decimals1
        p10 = px if config.base_token == 0 else 1.0 / px  # human token1 per token0
        target_tick = int(math.floor(math.log(p10 * 10.0 ** (d1 - d0)) / math.log(1.0001)))
        shift = (target_tick - tick) // spacing * spacing
        # the same relative position inside the shifted spacing interval
        lo = get_sqrt_ratio_at_tick(tick - tick % spacing)
        hi = get_sqrt_ratio_at_tick(tick - tick % spacing + spacing)
        frac = (sqrt_p - lo) / (hi - lo)
        base = tick + shift - (tick + shift) % spacing
        lo2, hi2 = get_sqrt_ratio_at_tick(base), get_sqrt_ratio_at_tick(base + spacing)
        sqrt_p = int(lo2 + frac * (hi2 - lo2))
        tick = get_tick_at_sqrt_ratio(sqrt_p)
        ticks = {k + shift: net for k, net in ticks.items()}
        gross = {k + shift: g for k, g in gross.items()}
    if config.liquidity_scale != 1.0:
        s = config.liquidity_scale
        liq = int(liq * s)
        ticks = {k: int(net * s) for k, net in ticks.items()}
        gross = {k: int(g * s) for k, g in gross.items()}
    pool = ConcentratedPool(sqrt_p, liq, tick, fee_pips, spacing, ticks)
    pool.liquidity_gross.update(gross)
    adapter = PoolAdapter(pool, base_token=config.base_token, decimals0=config.decimals0, decimals1=config.decimals1,
                          fee_bps=fee_pips / 100.0, kind=config.kind)  # fmt: skip
    adapter.tick_shift = shift
    adapter.liquidity_scale = config.liquidity_scale
    return adapter


class PoolAdapter:
    """One AMM pool seen in base/quote terms (human units) for strategies.

    Parameters
    ----------
    pool : object
        A pool with contract-exact integer math: constant-product style
        (``get_amount_out(amount_in, token_in)``, ``swap(amount_in, token_in)``, ``reserve0``,
        ``reserve1``, ``spot_price``) or concentrated liquidity (``swap(amount_specified,
        zero_for_one)`` returning pool-perspective ``(amount0, amount1)``, ``sqrt_price_x96``).
    base_token : {0, 1}
        Which token is the base asset (e.g. WETH), the other being the quote (e.g. USDC).
    decimals0, decimals1 : int
        Token decimals.
    fee_bps : float
        Pool fee in basis points of the input (for cost accounting).
    kind : str, default "pancake_v2"
        Pool kind (:data:`POOL_KINDS`), which sets the recorded gas per swap.
    """

    def __init__(self, pool: Any, *, base_token: int, decimals0: int, decimals1: int, fee_bps: float,
                 kind: str = "pancake_v2") -> None:  # fmt: skip
        if base_token not in (0, 1):
            raise ValueError(f"base_token must be 0 or 1, got {base_token}")
        if kind not in POOL_KINDS:
            raise ValueError(f"unknown pool kind {kind!r}; known: {POOL_KINDS}")
        self.pool = pool
        self.base_token = base_token
        self.decimals = (decimals0, decimals1)
        self.fee_bps = float(fee_bps)
        self.kind = kind
        self.is_clmm = hasattr(pool, "sqrt_price_x96")
        self.tick_shift = 0  # concentrated pools re-based from recorded state: ticks moved by this
        self.liquidity_scale = 1.0

    @property
    def price(self) -> float:
        """Pool (marginal) price of the base asset in quote units (human, decimals applied)."""
        d0, d1 = self.decimals
        if self.is_clmm:
            p10 = (self.pool.sqrt_price_x96 / 2**96) ** 2 * 10.0 ** (d0 - d1)  # token1 per token0
        else:
            x, y = self.pool.reserve0 / 10.0**d0, self.pool.reserve1 / 10.0**d1
            if getattr(self.pool, "stable", False):  # x³y + xy³ = k: minus the ratio of its partial derivatives
                p10 = (3.0 * x * x * y + y**3) / (x**3 + 3.0 * x * y * y)
            else:
                p10 = y / x
        return p10 if self.base_token == 0 else 1.0 / p10

    @property
    def gas_per_swap(self) -> int:
        """Recorded median gas of a one-swap transaction on this kind (:data:`venues.fees.RECORDED_SWAP_GAS`).

        Solana pools (``raydium_cpmm``) have no recorded figure: the chain uses its compute-unit limit.
        """
        return RECORDED_SWAP_GAS.get(POOL_GAS_FAMILY[self.kind], RECORDED_SWAP_GAS["v2"])

    def to_raw(self, amount: float, token: int) -> int:
        """Human units → raw integer units of ``token`` (floored)."""
        return int(math.floor(amount * 10.0 ** self.decimals[token]))

    def to_human(self, amount: int, token: int) -> float:
        """Raw integer units of ``token`` → human units."""
        return amount / 10.0 ** self.decimals[token]

    def copy(self) -> PoolAdapter:
        """An independent adapter over a copy of the pool."""
        new = PoolAdapter(self.pool.copy(), base_token=self.base_token, decimals0=self.decimals[0],
                          decimals1=self.decimals[1], fee_bps=self.fee_bps, kind=self.kind)  # fmt: skip
        new.tick_shift, new.liquidity_scale = self.tick_shift, self.liquidity_scale
        return new

    def swap(self, amount_in: int, zero_for_one: bool, *, dry_run: bool = False) -> int:
        """Exact-input swap; returns ``amount_out`` (raw). ``dry_run`` leaves the pool unchanged.

        Raises
        ------
        ValueError
            The pool's revert (zero amount, insufficient liquidity, ...).
        """
        pool = self.pool.copy() if dry_run else self.pool
        if self.is_clmm:
            amount0, amount1 = pool.swap(amount_in, zero_for_one)
            return -(amount1 if zero_for_one else amount0)
        return pool.swap(amount_in, 0 if zero_for_one else 1)

    def price_after(self, amount_in: int, zero_for_one: bool) -> float:
        """Pool price (quote per base) after a hypothetical swap; the pool is unchanged.

        Raises
        ------
        ValueError
            If the swap would revert.
        """
        probe = self.copy()
        probe.swap(amount_in, zero_for_one)
        return probe.price

    def sell_base_direction(self) -> bool:
        """``zero_for_one`` of a swap that sells the base asset."""
        return self.base_token == 0


@attrs.define
class Tx:
    """A pending swap transaction (internal to :class:`Chain`)."""

    tx_id: int
    owner: Callable[[Any], None] | None
    pool: str
    amount_in: int
    zero_for_one: bool
    min_amount_out: int
    bribe: float
    arrival_ns: int
    private: bool = False


def load_fee_data(path: str | None) -> np.ndarray:
    """Recorded included transactions (``TX_DTYPE``) from a derived CSV or a directory of raw block JSONs.

    Parameters
    ----------
    path : str or None
        ``mev_inspect_txs_derived.csv(.gz)``, a raw block JSON, or a directory of them; ``None``:
        :data:`DEFAULT_FEE_DATA`.

    Raises
    ------
    venues.loaders.DataError
        Missing or invalid file (named with its line / record).
    """
    from venues.loaders.eth_blocks import load_mev_inspect_json_dir, load_mev_inspect_txs

    p = Path(path) if path is not None else DEFAULT_FEE_DATA
    if p.is_dir() or p.name.endswith((".json", ".json.gz")):
        return load_mev_inspect_json_dir(p)[0]
    return load_mev_inspect_txs(p)


class Chain(Component):
    """Block producer with a base fee, block space, a fee auction and the pools it settles.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    config : ChainConfig
    pools : dict of str to PoolAdapter
    name : str, default "chain"

    Attributes
    ----------
    profile : venues.fees.ChainProfile
        The resolved profile.
    block_number : int
        Number of the last block produced.
    base_fee_wei : int
        Base fee per gas of the current block, wei.
    participants : list of callable
        ``f(chain, block_ts_ns)`` called at every (sub-)block before transactions are ordered;
        may call :meth:`submit_swap` with ``arrival_ns = block time`` (e.g. the arbitrageur).
    fit : venues.inclusion.InclusionFit or None
        The inclusion model fitted on the fee data (``"fitted"`` and ``"auction"``).
    sandwich_loss : float
        Quote value our public swaps lost to sandwiches (output shortfall at the pre-trade price).
    n_sandwiches : int
    base_fee_history, gas_used_history : list of int
        Base fee (wei) of every block produced and gas used of every finished block.
    flow_trace : list or None
        Set it to ``[]`` to record ``(pool, sqrtPriceX96)`` after every background swap of a
        concentrated-liquidity flow.
    """

    def __init__(self, sim: Simulation, config: ChainConfig, pools: dict[str, PoolAdapter], name: str = "chain"):
        super().__init__(sim, name)
        self.config = config
        self.profile = config.resolved_profile()
        self.pools = pools
        self.block_number = 0
        self.participants: list[Callable[[Chain, int], None]] = []
        self._pending: list[Tx] = []
        self._ids = itertools.count(1)
        self._flows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._flow_pos: dict[str, int] = {}
        self._v3_flows: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        self._v3_pos: dict[str, int] = {}
        self.flow_trace: list[tuple[str, int]] | None = None  # set to [] to record (pool, sqrtPriceX96) per swap
        self.n_background_liquidity = 0
        self._ref_px = math.nan
        self._rng = self.rng("inclusion")
        self._comp_rng = self.rng("competition")
        self.n_background_swaps = 0
        self.n_background_reverts = 0
        self.n_background_skipped = 0
        self.n_sandwiches = 0
        self.sandwich_loss = 0.0
        self.gas_used_history: list[int] = []
        self.base_fee_history: list[int] = []
        p = self.profile
        tick_ms = p.preconf_ms if p.preconf_ms else p.block_time_ms
        self._n_sub = max(1, int(round(p.block_time_ms / tick_ms)))
        self._tick_ms = p.block_time_ms / self._n_sub
        self._sub = 0
        self._block_gas = 0
        self._block_n = 0
        self._pending_backrun: tuple[int, bool] | None = None
        self._competitors: list[tuple[float, int]] = []  # (fee gwei/gas, gas) of this block, per tx
        self.base_fee_wei = int(round(p.base_fee_gwei * 1e9))
        self._eip1559 = config.base_fee == "eip1559" or (
            config.base_fee == "auto" and p.eip1559 and p.gas_limit is not None
        )
        self._replay = None
        if config.base_fee == "replay":
            from venues.loaders.eth_blocks import load_etl_blocks

            blocks = load_etl_blocks(config.base_fee_path)
            fees = blocks["base_fee_per_gas"]
            if fees.size == 0 or (fees < 0).any():
                raise ValueError(f"chain.base_fee_path: {config.base_fee_path}: needs post-London blocks (base fees)")
            self._replay = fees.astype(np.int64)
        self._gaps = None
        if config.block_times_path is not None:
            from venues.loaders.eth_blocks import load_etl_blocks

            ts = load_etl_blocks(config.block_times_path)["timestamp"].astype(np.int64)
            if ts.size < 2:
                raise ValueError(f"chain.block_times_path: {config.block_times_path}: needs at least 2 blocks")
            self._gaps = np.diff(ts) * 1_000_000_000  # strictly positive: the loader checks timestamps increase
        self.fit = None
        self._fee_txs = None
        self._blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if config.inclusion in ("fitted", "auction"):
            self._load_fee_data()

    # -- set-up -------------------------------------------------------------------------------
    def fitted_model(self):
        """The inclusion model fitted on the fee data (:class:`venues.inclusion.InclusionFit`), computed once.

        Raises
        ------
        ValueError
            Without fee data (``inclusion = "logistic"``), or when the data cannot be fitted
            (:func:`venues.inclusion.fit_inclusion_model`).
        """
        from venues.inclusion import fit_inclusion_model, inclusion_dataset_from_blocks

        if self.fit is None:
            if self._fee_txs is None:
                raise ValueError("no fee data: the chain's inclusion is 'logistic'")
            ds = inclusion_dataset_from_blocks(self._fee_txs, fee="effective")
            fit = fit_inclusion_model(ds.bribes, ds.included)
            k = self.config.competitor_fee_scale  # fees scaled by k: p(x) = logistic(a + (b/k)·x)
            self.fit = fit if k == 1.0 else attrs.evolve(fit, b=fit.b / k, se_b=fit.se_b / k)
        return self.fit

    def _load_fee_data(self) -> None:
        txs = load_fee_data(self.config.fee_data_path)
        self._fee_txs = txs
        if self.config.inclusion == "fitted":
            self.fitted_model()
        scale = self.config.competitor_fee_scale
        fee = (txs["priority_fee_per_gas_wei"] + txs["coinbase_transfer_wei"] / txs["gas_used"]) / 1e9 * scale
        price = txs["effective_gas_price_wei"] / 1e9 * scale  # what each one was willing to pay at least
        bn = txs["block_number"]
        for b in np.unique(bn).tolist():
            m = bn == b
            self._blocks.append((fee[m], txs["gas_used"][m].astype(np.int64), price[m]))

    def add_background_flow(
        self, pool: str, ts_ns: np.ndarray, amount_in: np.ndarray, zero_for_one: np.ndarray
    ) -> None:
        """Recorded swaps replayed on ``pool`` between ours, as exact-input swaps.

        Parameters
        ----------
        pool : str
        ts_ns : ndarray of int64
            Sim times of the swaps (already shifted onto the simulation's clock), sorted.
        amount_in : ndarray of object (Python int)
            Raw input amounts.
        zero_for_one : ndarray of bool
        """
        order = np.argsort(ts_ns, kind="stable")
        self._flows[pool] = (ts_ns[order], amount_in[order], zero_for_one[order])
        self._flow_pos[pool] = 0

    def add_v3_flow(self, pool: str, calls: np.ndarray, start_ns: int, scale: float = 1.0) -> None:
        """Recorded calls of a concentrated-liquidity pool replayed on ``pool`` (swaps, mints, burns).

        Parameters
        ----------
        pool : str
        calls : ndarray, dtype venues.loaders.uniswap_v3.V3_FLOW_DTYPE
            From :func:`venues.loaders.uniswap_v3.v3_replay_calls`, in recorded order.
        start_ns : int
            Sim time of the first call; the others keep their recorded spacing.
        scale : float, default 1.0
            Multiplier of swap amounts on a re-based pool.

        Notes
        -----
        On the recorded pool itself (``tick_shift == 0``, ``liquidity_scale == 1``, ``scale == 1``)
        each call is replayed as identified, price limits included, and a ``sync`` swap sets the
        recorded state after it; on a re-based pool swaps run without limits and mints/burns are
        moved by its tick shift and liquidity scale.
        """
        ts = calls["ts_ns"].astype(np.int64)
        ts = ts - (ts[0] if ts.size else 0) + start_ns
        self._v3_flows[pool] = (ts, calls, float(scale))
        self._v3_pos[pool] = 0

    def native_price(self, px: float) -> None:
        """Set the reference price of the native token (quote units) used for gas."""
        self._ref_px = float(px)

    def on_start(self) -> None:
        """Start the block clock (the sub-block clock on chains with pre-confirmations)."""
        if self._gaps is not None:
            self.set_timer("block", at_ns=self.now_ns + int(self._gaps[0]))
            return
        self.set_timer("block", every_ns=ms_to_ns(self._tick_ms))

    # -- prices -------------------------------------------------------------------------------
    @property
    def native_px(self) -> float:
        """Price of the native token in quote units (``nan`` before it is known)."""
        c = self.config
        return c.native_px if c.native_px is not None else self._ref_px

    def gas_for(self, pool: str | None = None) -> int:
        """Gas of one swap on ``pool``: ``gas_per_swap`` if set, else the recorded median of its kind
        (on Solana: the compute-unit limit of the profile)."""
        if self.config.gas_per_swap is not None:
            return int(self.config.gas_per_swap)
        if self.profile.fee_model == "solana":
            return self.profile.compute_unit_limit
        adapter = self.pools.get(pool) if pool is not None else None
        return adapter.gas_per_swap if adapter is not None else RECORDED_SWAP_GAS["v2"]

    def l1_fee_wei(self) -> int:
        """L1 data fee of one swap transaction, wei (0 off OP Stack chains; Fjord formula)."""
        p = self.profile
        if not p.l1_fee:
            return 0
        return l1_fee_fjord(fastlz_upper_bound(p.swap_tx_size), int(round(p.l1_base_fee_gwei * 1e9)),
                            int(round(p.l1_blob_base_fee_gwei * 1e9)), p.base_fee_scalar,
                            p.blob_base_fee_scalar)  # fmt: skip

    def gas_cost(self, pool: str | None = None) -> float:
        """Fee of one swap without the bribe, quote units, at the native price.

        EVM chains: ``gas × base_fee + L1 data fee`` (wei). Solana: the base fee per signature
        plus the compute-unit priority fee (:func:`venues.fees.solana_fee_lamports`, lamports).
        """
        px = self.native_px
        px = px if px == px else 0.0
        if self.profile.fee_model == "solana":
            lamports = solana_fee_lamports(1, int(self.config.compute_unit_price_micro_lamports), self.gas_for(pool),
                                           self.profile.lamports_per_signature)  # fmt: skip
            return lamports * 1e-9 * px
        wei = self.gas_for(pool) * self.base_fee_wei + self.l1_fee_wei()
        return wei * 1e-18 * px

    def fee_per_gas_gwei(self, bribe: float, pool: str | None = None) -> float:
        """A bribe (quote units per transaction) as a priority fee per gas, gwei (0 before a native price)."""
        px = self.native_px
        gas = self.gas_for(pool)
        if not (px > 0) or gas <= 0:
            return 0.0
        return bribe / (gas * 1e-9 * px)

    def inclusion_model(self, pool: str | None = None) -> tuple[float, float]:
        """``(a, b)`` of the inclusion probability with the bribe in quote units per transaction.

        ``"logistic"``: the configured ``(inclusion_a, inclusion_b)``. ``"fitted"`` and
        ``"auction"``: the fit on the fee data (gwei/gas) mapped to quote units at the current
        native price and the pool's gas: ``b_quote = b / (gas·1e-9·px)``. Under the auction the
        fit estimates the CDF of the recorded blocks' clearing fee, which is the auction's
        landing probability when our gas fits (see :func:`venues.inclusion.inclusion_dataset_from_blocks`).
        """
        c = self.config
        if c.inclusion == "logistic":
            return c.inclusion_a, c.inclusion_b
        fit = self.fitted_model()
        px, gas = self.native_px, self.gas_for(pool)
        if not (px > 0):
            return fit.a, fit.b
        return fit.a, fit.b / (gas * 1e-9 * px)

    # -- commands -----------------------------------------------------------------------------
    def submit_swap(
        self,
        owner: Callable[[Any], None] | None,
        *,
        pool: str,
        amount_in: int,
        zero_for_one: bool,
        min_amount_out: int = 0,
        bribe: float = 0.0,
        arrival_ns: int | None = None,
        private: bool = False,
    ) -> int:
        """Send a swap transaction; returns its id.

        Parameters
        ----------
        owner : callable or None
            Receives :class:`~components.chain_events.SwapExecuted` or
            :class:`~components.chain_events.TxDropped`.
        pool : str
        amount_in : int
            Raw units of the input token, ``> 0``.
        zero_for_one : bool
        min_amount_out : int, default 0
            Slippage limit, raw units of the output token.
        bribe : float, default 0.0
            Priority fee for the builder, quote units per transaction (``>= 0``).
        arrival_ns : int, optional
            When it reaches the builder; default ``now + entry_latency``.
        private : bool, default False
            Sent as a private bundle (not visible to the sandwich searcher).

        Raises
        ------
        ValueError
            Unknown pool, non-positive amount or negative bribe.
        """
        if pool not in self.pools:
            raise ValueError(f"unknown pool {pool!r}; known: {sorted(self.pools)}")
        if amount_in <= 0 or bribe < 0:
            raise ValueError(f"amount_in must be > 0 and bribe >= 0 (got {amount_in}, {bribe})")
        tx_id = next(self._ids)
        arrival = self.now_ns + ms_to_ns(self.config.entry_latency_ms) if arrival_ns is None else arrival_ns
        if self.profile.express_lane_ms > 0 and not (self.config.express_lane and owner is not None):
            arrival += ms_to_ns(self.profile.express_lane_ms)  # Timeboost: the non-express delay
        self._pending.append(Tx(tx_id, owner, pool, int(amount_in), bool(zero_for_one), int(min_amount_out),
                                float(bribe), arrival, bool(private)))  # fmt: skip
        return tx_id

    # -- block production ---------------------------------------------------------------------
    def _start_block(self) -> None:
        """New block: base fee from the rule or the data; the competitors of this block."""
        c, p = self.config, self.profile
        if self.block_number > 0:
            self.gas_used_history.append(self._block_gas)
        if c.base_fee == "replay":
            self.base_fee_wei = int(self._replay[self.block_number % self._replay.size])
        elif self._eip1559 and self.block_number > 0:
            used = min(self._block_gas, p.gas_limit)
            self.base_fee_wei = next_base_fee(self.base_fee_wei, used, p.gas_limit, elasticity=p.elasticity,
                                              denominator=p.denominator,
                                              min_base_fee=int(round(p.min_base_fee_gwei * 1e9)))  # fmt: skip
        self.base_fee_history.append(self.base_fee_wei)
        self.block_number += 1
        self._block_gas = 0
        self._block_n = 0
        self._competitors = []
        if self._blocks and c.inclusion == "auction":
            fee, gas, price = self._blocks[int(self._comp_rng.integers(len(self._blocks)))]
            scale = (p.gas_limit or RECORDED_GAS_LIMIT) / RECORDED_GAS_LIMIT
            # demand responds to the base fee: a recorded transaction joins only if its recorded
            # effective gas price (a lower bound of its max fee) covers this block's base fee
            ok = price * 1e9 >= self.base_fee_wei
            self._competitors = [(float(f), max(1, int(g * scale))) for f, g in zip(fee[ok], gas[ok], strict=True)]

    def on_timer(self, event) -> None:
        """Produce one block (or one pre-confirmation sub-block)."""
        now = event.ts_ns
        if self._sub == 0:
            self._start_block()
        sub = self._sub
        self._sub = (self._sub + 1) % self._n_sub
        n = self._apply_background(now) + self._apply_v3_flow(now)
        for participant in self.participants:
            participant(self, now)
        ready = [tx for tx in self._pending if tx.arrival_ns <= now]
        self._pending = [tx for tx in self._pending if tx.arrival_ns > now]
        c, p = self.config, self.profile
        # competitors of this sub-block: the recorded block's transactions dealt round-robin
        comp = [x for i, x in enumerate(self._competitors) if i % self._n_sub == sub]
        if p.ordering == "priority":  # in the mempool before ours: they win ties
            items = [(fee, -1, i, gas, None) for i, (fee, gas) in enumerate(comp)]
        else:  # first come first served: spread evenly over the interval before this (sub-)block
            step = ms_to_ns(self._tick_ms) // max(len(comp), 1)
            t0 = now - ms_to_ns(self._tick_ms)
            items = [(fee, t0 + i * step, i, gas, None) for i, (fee, gas) in enumerate(comp)]
        items += [(self.fee_per_gas_gwei(tx.bribe, tx.pool), tx.arrival_ns, tx.tx_id, self.gas_for(tx.pool), tx)
                  for tx in ready]  # fmt: skip
        if p.ordering == "priority":
            items.sort(key=lambda it: (-it[0], it[1], it[2]))
        else:
            items.sort(key=lambda it: (it[1], it[2]))
        cap = None if p.gas_limit is None else p.gas_limit * (sub + 1) // self._n_sub
        report_at = now + ms_to_ns(c.response_latency_ms)
        for fee, _arrival, _i, gas, tx in items:
            fits = cap is None or self._block_gas + gas <= cap
            if tx is None:
                if fits:
                    self._block_gas += gas
                continue
            if not fits:
                self._report(tx, TxDropped(report_at, tx.tx_id, "block_full", 0.0, 0.0, self.block_number, now))
                continue
            if c.inclusion != "auction":
                fitted = c.inclusion == "fitted"
                a, b = (self.fit.a, self.fit.b) if fitted else (c.inclusion_a, c.inclusion_b)
                x = fee if fitted else tx.bribe
                if not self._rng.random() < inclusion_probability(x, a, b):
                    self._report(tx, TxDropped(report_at, tx.tx_id, "not_included", 0.0, 0.0, self.block_number, now))
                    continue
            self._block_gas += gas
            n += 1
            self._execute(tx, now, report_at)
        self._block_n += n
        if self._sub == 0:
            self.sim.publish(BlockProduced(now, self.block_number, self._block_n), Priority.MARKET_DATA)
        if self._gaps is not None:  # recorded block-time jitter: the next gap of the recorded series
            self.set_timer("block", at_ns=now + int(self._gaps[self.block_number % self._gaps.size]))

    def _execute(self, tx: Tx, now: int, report_at: int) -> None:
        adapter = self.pools[tx.pool]
        gas = self.gas_cost(tx.pool)
        tip = tx.bribe if self.profile.collects_tips else 0.0
        loss = 0.0
        if self.config.sandwich and not tx.private and tx.owner is not None:
            loss = self._sandwich(tx, adapter)
        try:
            out = adapter.swap(tx.amount_in, tx.zero_for_one, dry_run=True)
            ok = out >= tx.min_amount_out
        except ValueError:
            ok = False
        if not ok:
            self._report(tx, TxDropped(report_at, tx.tx_id, "slippage", tip, gas, self.block_number, now))
            self._unwind_sandwich(adapter)
            return
        out = adapter.swap(tx.amount_in, tx.zero_for_one)
        self._unwind_sandwich(adapter)
        self._report(tx, SwapExecuted(report_at, tx.tx_id, tx.pool, tx.zero_for_one, tx.amount_in, out,
                                      tip, gas, self.block_number, now, loss))  # fmt: skip

    # -- sandwich searcher --------------------------------------------------------------------
    def _sandwich(self, tx: Tx, adapter: PoolAdapter) -> float:
        """Front-run ``tx`` with the largest same-direction swap that leaves it at ``min_amount_out``.

        The searcher's profit is its back-run output minus its front-run input (same token),
        valued at the pool's pre-trade price, minus two swaps' gas and the victim's bribe (what
        it pays to be ordered just ahead; the back-run needs no bribe). It trades only when that
        is positive; the victim's loss is its output shortfall against the unsandwiched swap.
        The back-run is executed after the victim by :meth:`_unwind_sandwich`.
        """
        self._pending_backrun = None
        if tx.min_amount_out <= 0:  # no slippage limit: the searcher's trade is unbounded; not modelled
            return 0.0
        try:
            clean_out = adapter.swap(tx.amount_in, tx.zero_for_one, dry_run=True)
        except ValueError:
            return 0.0
        if clean_out <= tx.min_amount_out:
            return 0.0
        in_tok = 0 if tx.zero_for_one else 1

        def victim_ok(front: int) -> bool:
            probe = adapter.copy()
            try:
                probe.swap(front, tx.zero_for_one)
                return probe.swap(tx.amount_in, tx.zero_for_one) >= tx.min_amount_out
            except ValueError:
                return False

        lo, hi = 0, max(1, tx.amount_in)
        while victim_ok(hi):
            lo, hi = hi, hi * 2
            if hi > 1 << 200:
                return 0.0
        while hi - lo > max(1, hi >> 24):
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if victim_ok(mid) else (lo, mid)
        front = lo
        if front <= 0:
            return 0.0
        probe = adapter.copy()
        try:
            got = probe.swap(front, tx.zero_for_one)
            probe.swap(tx.amount_in, tx.zero_for_one)
            back = probe.swap(got, not tx.zero_for_one)
        except ValueError:
            return 0.0
        px = adapter.price  # quote per base, before the sandwich
        unit = px if in_tok == adapter.base_token else 1.0
        profit = adapter.to_human(back - front, in_tok) * unit
        cost = 2 * self.gas_cost(tx.pool) + tx.bribe
        if profit <= cost:
            return 0.0
        got = adapter.swap(front, tx.zero_for_one)
        victim_out = adapter.swap(tx.amount_in, tx.zero_for_one, dry_run=True)
        out_tok = 1 - in_tok
        loss = adapter.to_human(clean_out - victim_out, out_tok) * (px if out_tok == adapter.base_token else 1.0)
        self.sandwich_loss += loss
        self.n_sandwiches += 1
        self._pending_backrun = (got, not tx.zero_for_one)
        return loss

    def _unwind_sandwich(self, adapter: PoolAdapter) -> None:
        back = self._pending_backrun
        if back is None:
            return
        self._pending_backrun = None
        try:
            adapter.swap(back[0], back[1])
        except ValueError:
            pass

    def _apply_background(self, now: int) -> int:
        n = 0
        for name, (ts, amounts, directions) in self._flows.items():
            i = self._flow_pos[name]
            adapter = self.pools.get(name)
            if adapter is None:  # the pool does not exist yet: recorded swaps until now are skipped
                while i < ts.size and ts[i] <= now:
                    i += 1
                    self.n_background_skipped += 1
                self._flow_pos[name] = i
                continue
            while i < ts.size and ts[i] <= now:
                try:
                    adapter.swap(int(amounts[i]), bool(directions[i]))
                    n += 1
                    self.n_background_swaps += 1
                    self._block_gas += adapter.gas_per_swap
                except ValueError:  # e.g. more than the re-based pool can pay: skipped, counted
                    self.n_background_reverts += 1
                i += 1
            self._flow_pos[name] = i
        return n

    def _apply_v3_flow(self, now: int) -> int:
        from venues.loaders.uniswap_v3 import MINT, SWAP, TICKS

        n = 0
        for name, (ts, calls, scale) in self._v3_flows.items():
            i = self._v3_pos[name]
            adapter = self.pools.get(name)
            while i < ts.size and ts[i] <= now:
                c = calls[i]
                i += 1
                if adapter is None or not adapter.is_clmm:
                    self.n_background_skipped += 1
                    continue
                pool = adapter.pool
                exact = adapter.tick_shift == 0 and adapter.liquidity_scale == 1.0 and scale == 1.0
                if c["kind"] == TICKS:  # tick-map values learned from the data
                    for t, net in c["liquidity"].items():
                        t += adapter.tick_shift
                        if net is None:
                            pool.ticks.pop(t, None)
                            pool.liquidity_gross.pop(t, None)
                        else:
                            net = int(net) if adapter.liquidity_scale == 1.0 else int(net * adapter.liquidity_scale)
                            pool.ticks[t] = net
                            pool.liquidity_gross[t] = max(pool.liquidity_gross.get(t, 0), abs(net), 1)
                    continue
                try:
                    if c["kind"] == SWAP:
                        spec = int(c["amount_specified"]) if scale == 1.0 else int(int(c["amount_specified"]) * scale)
                        pool.swap(spec, bool(c["zero_for_one"]), c["sqrt_price_limit_x96"] if exact else None)
                        if exact and c["sync"]:
                            pool.sqrt_price_x96 = int(c["sqrt_price_after"])
                            pool.tick = int(c["tick_after"])
                            pool.liquidity = int(c["liquidity_after"])
                        n += 1
                        self.n_background_swaps += 1
                        self._block_gas += adapter.gas_per_swap
                        if self.flow_trace is not None:
                            self.flow_trace.append((name, pool.sqrt_price_x96))
                    else:
                        liq = int(c["liquidity"])
                        liq = liq if adapter.liquidity_scale == 1.0 else int(liq * adapter.liquidity_scale)
                        lo, hi = int(c["tick_lower"]) + adapter.tick_shift, int(c["tick_upper"]) + adapter.tick_shift
                        if liq > 0:
                            (pool.mint if c["kind"] == MINT else pool.burn)(lo, hi, liq)
                            self.n_background_liquidity += 1
                except ValueError:
                    self.n_background_reverts += 1
            self._v3_pos[name] = i
        return n

    def _report(self, tx: Tx, event) -> None:
        if tx.owner is not None:
            self.sim.schedule(event.ts_ns, Priority.EXECUTION_REPORT, event, tx.owner)
