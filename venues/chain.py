"""The simulated chain: blocks on a fixed clock, a mempool, inclusion draws, and AMM pools.

A transaction sent at ``t`` reaches the mempool after ``entry_latency_ms`` and competes for
the next block. Every block:

1. the recorded background swaps whose (time-shifted) timestamps fall in the block interval
   are applied to their pool, in recorded order (other people's flow, already included
   historically);
2. block participants (e.g. the CEX–DEX arbitrageur, :mod:`strategies.arbitrageur`) may add
   transactions;
3. pending transactions are ordered by bribe (highest first; ties by arrival) and each one
   lands with probability ``inclusion_probability(bribe, a, b)`` drawn from the chain's own
   seeded stream (:mod:`venues.inclusion`); a landed swap executes against the pool state left
   by everything before it, so price impact is real for everyone after it. A swap whose output
   is below its ``min_amount_out`` reverts (it still pays gas and bribe); a transaction that
   loses its draw is dropped and reported, and its owner may resend it.

Outcomes reach owners after ``response_latency_ms``. Gas is charged at
``gas_per_swap × base_fee_gwei`` in the native token, converted to quote units at
``native_px`` (or the reference price given to :meth:`Chain.native_price`).

See Also
--------
venues.amm : the pools' contract-exact math.
venues.inclusion : the inclusion probability and the optimal bribe.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
from attrs import validators as v

from components.base import Component
from components.chain_events import BlockProduced, SwapExecuted, TxDropped
from engine.events import Priority
from engine.kernel import Simulation
from engine.time import ms_to_ns
from venues.inclusion import draw_included

BLOCK_TIME_MS = {"base": 2000.0, "arbitrum": 250.0, "bsc": 750.0, "ethereum": 12000.0}
"""Block times by chain, ms: Base 2 s, Arbitrum One 0.25 s, BNB Smart Chain 0.75 s (since the
2025 Maxwell hard fork; 3 s before Lorentz), Ethereum 12 s slots."""


@attrs.frozen(kw_only=True)
class ChainConfig:
    """Settings of the simulated chain.

    Attributes
    ----------
    block_time_ms : float, default 2000.0
        Time between blocks, ms (Base: 2000; see :data:`BLOCK_TIME_MS`).
    entry_latency_ms : float, default 50.0
        Time for a transaction to reach the block builder, ms.
    response_latency_ms : float, default 50.0
        Time for a block's outcome to reach the sender, ms.
    gas_per_swap : int, default 150000
        Gas used by one swap.
    base_fee_gwei : float, default 0.01
        Base fee per gas, gwei (burned; not a bribe).
    native_px : float or None, default None
        Price of the native token in quote units; ``None``: the reference price set by the
        owner of the simulation (e.g. the order-book mid for ETH-quoted chains).
    inclusion_a, inclusion_b : float, default 0.0 and 20.0
        Logistic inclusion model ``p = 1/(1+exp(−(a + b·bribe)))`` with the bribe in quote
        units per transaction (:func:`venues.inclusion.inclusion_probability`); ``b > 0``.
    """

    block_time_ms: float = attrs.field(default=2000.0, validator=v.gt(0))
    entry_latency_ms: float = attrs.field(default=50.0, validator=v.ge(0))
    response_latency_ms: float = attrs.field(default=50.0, validator=v.ge(0))
    gas_per_swap: int = attrs.field(default=150_000, validator=v.ge(0))
    base_fee_gwei: float = attrs.field(default=0.01, validator=v.ge(0))
    native_px: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    inclusion_a: float = attrs.field(default=0.0)
    inclusion_b: float = attrs.field(default=20.0, validator=v.gt(0))


POOL_KINDS = ("pancake_v2", "uniswap_v2", "aerodrome_volatile")


@attrs.frozen(kw_only=True)
class PoolConfig:
    """The hedging pool of a simulation: a constant-product pool priced at the feed's first mid.

    Attributes
    ----------
    name : str, default "hedge"
        Pool name (what the hedger and arbitrageur refer to).
    kind : {"pancake_v2", "uniswap_v2", "aerodrome_volatile"}, default "pancake_v2"
        Contract math (:mod:`venues.amm`).
    fee_bps : int, default 25
        Pool fee, bps (PancakeSwap v2 25, Uniswap v2 30, Aerodrome volatile 30 by default).
    tvl_usd : float, default 5e6
        Initial value locked, quote units (half in each token).
    premium : float, default 0.0
        Initial pool price relative to the first order-book mid (0.01 = 1 % above).
    base_token : {0, 1}, default 1
        Which token is the base asset (1: token0 = USDC, token1 = WETH, as on the recorded pool).
    decimals0, decimals1 : int, default 6 and 18
    flow_path : str or None, default None
        Recorded Uniswap v3 pool events (demeter-fetch ``*.pool.tick.csv.gz``/``*.tick.csv.gz``,
        token0/token1 as this pool's) whose swaps are replayed as background flow: each recorded
        swap's input amount is applied as an exact-input swap in its direction, its time shifted
        so the first recorded swap lands at the start of the market-data feed. Relative paths
        are relative to the sweep file.
    flow_scale : float, default 1.0
        Multiplier of the recorded input amounts (a recorded pool much deeper than this one
        would otherwise push it far from mid every block).
    """

    name: str = "hedge"
    kind: str = attrs.field(default="pancake_v2", validator=v.in_(POOL_KINDS))
    fee_bps: int = attrs.field(default=25, validator=[v.ge(0), v.lt(10_000)])
    tvl_usd: float = attrs.field(default=5e6, validator=v.gt(0))
    premium: float = attrs.field(default=0.0, validator=v.gt(-1.0))
    base_token: int = attrs.field(default=1, validator=v.in_((0, 1)))
    decimals0: int = attrs.field(default=6, validator=[v.ge(0), v.le(36)])
    decimals1: int = attrs.field(default=18, validator=[v.ge(0), v.le(36)])
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
        Multiplier of the input amounts.

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
    amount_in = np.array(
        [int(int(a0 if z else a1) * scale) for a0, a1, z in zip(amount0, swaps["amount1"], zero_for_one, strict=True)],
        dtype=object,
    )
    ts = swaps["block_timestamp"].astype(np.int64)
    ts = ts - (ts[0] if ts.size else 0) + start_ns
    keep = np.array([a > 0 for a in amount_in], dtype=bool)
    return ts[keep], amount_in[keep], zero_for_one[keep]


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
        If ``mid`` is not positive, or the pool rejects its reserves.
    """
    from venues.amm import AerodromePool, PancakeV2Pool

    if not mid > 0:
        raise ValueError(f"the pool needs a positive reference price, got {mid}")
    px = mid * (1.0 + config.premium)
    quote_amount, base_amount = config.tvl_usd / 2.0, config.tvl_usd / 2.0 / px
    dec = (config.decimals0, config.decimals1)
    q_tok = 1 - config.base_token
    reserves = [0, 0]
    reserves[config.base_token] = int(base_amount * 10.0 ** dec[config.base_token])
    reserves[q_tok] = int(quote_amount * 10.0 ** dec[q_tok])
    if config.kind == "aerodrome_volatile":
        pool = AerodromePool(reserves[0], reserves[1], dec[0], dec[1], False, config.fee_bps)
    else:
        pool = PancakeV2Pool(reserves[0], reserves[1], fee_bps=config.fee_bps)
    return PoolAdapter(pool, base_token=config.base_token, decimals0=dec[0], decimals1=dec[1],
                       fee_bps=config.fee_bps)  # fmt: skip


class PoolAdapter:
    """One AMM pool seen in base/quote terms (human units) for strategies.

    Parameters
    ----------
    pool : object
        A pool with contract-exact integer math: constant-product style
        (``get_amount_out(amount_in, token_in)``, ``swap(amount_in, token_in)``, ``reserve0``,
        ``reserve1``) or concentrated liquidity (``swap(amount_specified, zero_for_one)``
        returning pool-perspective ``(amount0, amount1)``, ``sqrt_price_x96``).
    base_token : {0, 1}
        Which token is the base asset (e.g. WETH), the other being the quote (e.g. USDC).
    decimals0, decimals1 : int
        Token decimals.
    fee_bps : float
        Pool fee in basis points of the input (for cost accounting).
    """

    def __init__(self, pool: Any, *, base_token: int, decimals0: int, decimals1: int, fee_bps: float) -> None:
        if base_token not in (0, 1):
            raise ValueError(f"base_token must be 0 or 1, got {base_token}")
        self.pool = pool
        self.base_token = base_token
        self.decimals = (decimals0, decimals1)
        self.fee_bps = float(fee_bps)
        self.is_clmm = hasattr(pool, "sqrt_price_x96")

    @property
    def price(self) -> float:
        """Pool price of the base asset in quote units (human, decimals applied)."""
        d0, d1 = self.decimals
        if self.is_clmm:
            p10 = (self.pool.sqrt_price_x96 / 2**96) ** 2 * 10.0 ** (d0 - d1)  # token1 per token0
        else:
            p10 = (self.pool.reserve1 / 10.0**d1) / (self.pool.reserve0 / 10.0**d0)
        return p10 if self.base_token == 0 else 1.0 / p10

    def to_raw(self, amount: float, token: int) -> int:
        """Human units → raw integer units of ``token`` (floored)."""
        return int(math.floor(amount * 10.0 ** self.decimals[token]))

    def to_human(self, amount: int, token: int) -> float:
        """Raw integer units of ``token`` → human units."""
        return amount / 10.0 ** self.decimals[token]

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
        probe = PoolAdapter(self.pool.copy(), base_token=self.base_token, decimals0=self.decimals[0],
                            decimals1=self.decimals[1], fee_bps=self.fee_bps)  # fmt: skip
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


class Chain(Component):
    """Block producer with a mempool, seeded inclusion draws and the pools it settles.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    config : ChainConfig
    pools : dict of str to PoolAdapter
    name : str, default "chain"

    Attributes
    ----------
    block_number : int
        Number of the last block produced.
    participants : list of callable
        ``f(chain, block_ts_ns)`` called at every block before user transactions are ordered;
        may call :meth:`submit_swap` with ``arrival_ns = block time`` (e.g. the arbitrageur).
    """

    def __init__(self, sim: Simulation, config: ChainConfig, pools: dict[str, PoolAdapter], name: str = "chain"):
        super().__init__(sim, name)
        self.config = config
        self.pools = pools
        self.block_number = 0
        self.participants: list[Callable[[Chain, int], None]] = []
        self._pending: list[Tx] = []
        self._ids = itertools.count(1)
        self._flows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._flow_pos: dict[str, int] = {}
        self._ref_px = math.nan
        self._rng = self.rng("inclusion")
        self.n_background_swaps = 0
        self.n_background_reverts = 0
        self.n_background_skipped = 0

    # -- set-up -------------------------------------------------------------------------------
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

    def native_price(self, px: float) -> None:
        """Set the reference price of the native token (quote units) used for gas."""
        self._ref_px = float(px)

    def on_start(self) -> None:
        """Start the block clock."""
        self.set_timer("block", every_ns=ms_to_ns(self.config.block_time_ms))

    # -- commands -----------------------------------------------------------------------------
    def gas_cost(self) -> float:
        """Gas of one swap in quote units (``gas_per_swap × base_fee``, at the native price)."""
        c = self.config
        px = c.native_px if c.native_px is not None else self._ref_px
        return c.gas_per_swap * c.base_fee_gwei * 1e-9 * (px if px == px else 0.0)

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
            Priority fee for the builder, quote units (``>= 0``).
        arrival_ns : int, optional
            When it reaches the builder; default ``now + entry_latency``.

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
        self._pending.append(Tx(tx_id, owner, pool, int(amount_in), bool(zero_for_one), int(min_amount_out),
                                float(bribe), arrival))  # fmt: skip
        return tx_id

    # -- block production ---------------------------------------------------------------------
    def on_timer(self, event) -> None:
        """Produce one block."""
        now = event.ts_ns
        self.block_number += 1
        n = self._apply_background(now)
        for participant in self.participants:
            participant(self, now)
        ready = [tx for tx in self._pending if tx.arrival_ns <= now]
        self._pending = [tx for tx in self._pending if tx.arrival_ns > now]
        ready.sort(key=lambda tx: (-tx.bribe, tx.tx_id))
        c = self.config
        report_at = now + ms_to_ns(c.response_latency_ms)
        gas = self.gas_cost()
        for tx in ready:
            if not draw_included(self._rng, tx.bribe, c.inclusion_a, c.inclusion_b):
                self._report(tx, TxDropped(report_at, tx.tx_id, "not_included", 0.0, 0.0, self.block_number, now))
                continue
            n += 1
            adapter = self.pools[tx.pool]
            try:
                out = adapter.swap(tx.amount_in, tx.zero_for_one, dry_run=True)
                ok = out >= tx.min_amount_out
            except ValueError:
                ok = False
            if not ok:
                self._report(tx, TxDropped(report_at, tx.tx_id, "slippage", tx.bribe, gas, self.block_number, now))
                continue
            out = adapter.swap(tx.amount_in, tx.zero_for_one)
            self._report(tx, SwapExecuted(report_at, tx.tx_id, tx.pool, tx.zero_for_one, tx.amount_in, out,
                                          tx.bribe, gas, self.block_number, now))  # fmt: skip
        self.sim.publish(BlockProduced(now, self.block_number, n), Priority.MARKET_DATA)

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
                except ValueError:  # e.g. more than the re-based pool can pay: skipped, counted
                    self.n_background_reverts += 1
                i += 1
            self._flow_pos[name] = i
        return n

    def _report(self, tx: Tx, event) -> None:
        if tx.owner is not None:
            self.sim.schedule(event.ts_ns, Priority.EXECUTION_REPORT, event, tx.owner)
