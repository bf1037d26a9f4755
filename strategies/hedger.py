"""Hedger: keeps the desk's inventory inside a band, on-chain (AMM swap with a bribe) or on the book.

Every ``check_ms`` the hedger adds the quoter's inventory to its own hedge position; when the
total leaves ``[target − band, target + band]`` it trades the excess back to ``target``:

* ``venue = "pool"``: an exact-input swap on the configured pool through the simulated chain
  (:mod:`venues.chain`), with a slippage limit ``max_slippage_bps`` from mid and a bribe chosen
  by ``bribe_policy``: ``"optimal"`` maximises ``p(x)·(V − x)`` for the value of landing in
  the next block ``V = notional × urgency_bps`` (:func:`venues.inclusion.optimal_bribe`),
  ``"fixed"`` pays ``bribe``, ``"percentile"`` pays the ``bribe_percentile``-th percentile of
  recorded priority fees (``fee_data_path``; gwei/gas × the chain's gas per swap × mid); the
  swap is sent to the public mempool or as a private bundle (``submission``: only public swaps
  can be sandwiched, :class:`venues.chain.Chain`);
* ``venue = "book"``: an IOC order at the touch on the order-book venue.

One hedge is in flight at a time; a dropped transaction is resent at the next check.

**Costs** are recorded separately so they add up to the hedge's PnL against mid
(:attr:`Hedger.costs`): ``slippage`` (execution price vs mid, pool fee excluded), ``pool_fee``
(fee_bps of the input's value), ``bribe``, ``gas`` (base fee + L1 data fee) and ``fees``
(order-book taker fees); ``sandwich`` is the part of ``slippage`` lost to sandwiches (not an
extra term).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from attrs import validators as v

from components.account import Account
from components.chain_events import SwapExecuted, TxDropped
from components.orders import Fill, Side, TimeInForce
from engine.time import ms_to_ns
from strategies.base import Strategy

BRIBE_POLICIES = ("optimal", "fixed", "percentile")


@attrs.frozen(kw_only=True)
class HedgerConfig:
    """Settings of :class:`Hedger`.

    Attributes
    ----------
    band : float, default 0.2
        Half-width of the allowed total inventory around ``target``, base units. ``> 0``.
    target : float, default 0.0
        Inventory the hedger trades back to, base units.
    venue : {"pool", "book"}, default "pool"
        Hedge by swapping on ``pool`` or by taking on the order book.
    pool : str, default "hedge"
        Name of the pool on the chain.
    bribe_policy : {"optimal", "fixed", "percentile"}, default "optimal"
    bribe : float, default 0.5
        Bribe of the ``fixed`` policy, quote units per transaction.
    bribe_percentile : float, default 50.0
        Percentile of recorded priority fees for the ``percentile`` policy, in [0, 100].
    urgency_bps : float, default 5.0
        Value of landing in the next block, bps of the hedge notional (``optimal`` policy).
    max_slippage_bps : float, default 50.0
        Worst acceptable execution price vs mid, bps (the swap's ``min_amount_out``).
    check_ms : float, default 250.0
        How often the hedger looks at the inventory, ms.
    fee_data_path : str or None, default None
        Recorded fee data of the ``percentile`` policy (mev-inspect ``mev_inspect_txs_derived.csv(.gz)``
        or a directory of raw block JSONs); ``None``: the bundled file. Relative to the sweep file.
    submission : {"public", "private"}, default "public"
        Public mempool (visible to a sandwich searcher) or a private bundle.
    """

    band: float = attrs.field(default=0.2, validator=v.gt(0))
    target: float = 0.0
    venue: str = attrs.field(default="pool", validator=v.in_(("pool", "book")))
    pool: str = "hedge"
    bribe_policy: str = attrs.field(default="optimal", validator=v.in_(BRIBE_POLICIES))
    bribe: float = attrs.field(default=0.5, validator=v.ge(0))
    bribe_percentile: float = attrs.field(default=50.0, validator=[v.ge(0), v.le(100)])
    urgency_bps: float = attrs.field(default=5.0, validator=v.ge(0))
    max_slippage_bps: float = attrs.field(default=50.0, validator=v.gt(0))
    check_ms: float = attrs.field(default=250.0, validator=v.gt(0))
    fee_data_path: str | None = attrs.field(default=None, validator=v.optional(v.min_len(1)))
    submission: str = attrs.field(default="public", validator=v.in_(("public", "private")))


class Hedger(Strategy):
    """Keeps ``quoter.q + hedge position`` within ``target ± band``.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    config : HedgerConfig
    venue : venues.orderbook.venue.OrderBookVenue
        The order book (mid for valuation; the hedge venue when ``venue = "book"``).
    chain : venues.chain.Chain or None
        Needed when ``venue = "pool"``.
    quoter : strategies.base.Strategy
        The strategy whose inventory is hedged (its ``q``, as reported by its fills).
    recorded_priority_fees_gwei : ndarray of float64 or None
        Recorded priority fees, gwei per gas (``percentile`` policy); a bribe is the chosen
        percentile × the chain's gas per swap on the pool × the mid (quote units per transaction).
    name : str, default "hedger"

    Attributes
    ----------
    onchain : components.account.Account
        The wallet of on-chain hedges (cash in quote units, q in base units).
    costs : dict of str to float
        ``slippage``, ``pool_fee``, ``bribe``, ``gas``, ``fees`` in quote units (they add up to the
        hedges' PnL against mid); ``sandwich``: the part of ``slippage`` lost to sandwiches.
    n_hedges, n_dropped : int
    trades : list of tuple
        On-chain hedges as ``(block_ts_ns, side, qty, px, mid)`` (base units, quote units).
    """

    config_class = HedgerConfig
    config: HedgerConfig  # narrows Strategy.config (checked against config_class in Strategy.__init__)

    def __init__(self, sim, config: HedgerConfig, venue, chain=None, quoter=None,
                 recorded_priority_fees_gwei=None, name: str = "hedger") -> None:  # fmt: skip
        super().__init__(sim, config, venue, name)
        if config.venue == "pool" and chain is None:
            raise ValueError("a pool hedger needs the chain")
        fees = recorded_priority_fees_gwei
        if config.venue == "pool" and config.bribe_policy == "percentile" and (fees is None or len(fees) == 0):
            raise ValueError("bribe_policy 'percentile' needs recorded priority fees")
        self.chain = chain
        self.quoter = quoter
        self.recorded_fees_gwei = None if fees is None else np.asarray(fees, dtype=float)
        self.onchain = Account()
        self.costs = {"slippage": 0.0, "pool_fee": 0.0, "sandwich": 0.0, "bribe": 0.0, "gas": 0.0, "fees": 0.0}
        self.n_hedges = 0
        self.n_dropped = 0
        self.trades: list[tuple[int, int, float, float, float]] = []  # (ts_ns, side, qty, px, mid)
        self.after_check = None  # optional callable run after every inventory check
        self._inflight = False
        self._mid_at_send = math.nan

    @property
    def hedge_q(self) -> float:
        """Hedge position, base units: on-chain swaps plus order-book hedges."""
        return self.onchain.q + self.q

    @property
    def total_q(self) -> float:
        """Quoter inventory plus hedge position, base units."""
        return (self.quoter.q if self.quoter is not None else 0.0) + self.hedge_q

    def on_start(self) -> None:
        """Start the inventory check clock."""
        self.set_timer("hedge", every_ns=ms_to_ns(self.config.check_ms))

    def on_timer(self, event) -> None:
        """Check the inventory; send one hedge if it is outside the band."""
        if self.after_check is not None:
            self.after_check()
        if self._inflight:
            return
        c = self.config
        excess = self.total_q - c.target
        if abs(excess) <= c.band:
            return
        bb, ba = self.venue.touch()
        mid = 0.5 * (bb + ba)
        if not mid > 0:
            return
        self._mid_at_send = mid
        if c.venue == "book":
            qty = self.venue.profile.round_qty(abs(excess))
            if qty <= 0:
                return
            side = Side.SELL if excess > 0 else Side.BUY
            px = bb if side == Side.SELL else ba
            self.submit_limit(side=side, px=px, qty=qty, tif=TimeInForce.IOC)
            self._inflight = True
            return
        self._send_swap(excess, mid)

    def choose_bribe(self, notional: float, mid: float) -> float:
        """Bribe for a hedge of ``notional`` quote units under the configured policy (hook).

        Parameters
        ----------
        notional : float
            Hedge size × mid, quote units.
        mid : float
            Order-book mid, quote units (prices the native token for the percentile policy).

        Returns
        -------
        float
            Bribe, quote units per transaction.
        """
        c = self.config
        if c.bribe_policy == "fixed":
            return c.bribe
        if c.bribe_policy == "percentile":
            fee_gwei = float(np.percentile(self.recorded_fees_gwei, c.bribe_percentile))
            return fee_gwei * 1e-9 * self.chain.gas_for(c.pool) * mid
        from venues.inclusion import optimal_bribe

        if self.chain.profile.ordering == "fcfs" or not self.chain.profile.collects_tips:
            return 0.0  # a priority fee buys nothing here: p(x) does not depend on x, so x* = 0
        a, b = self.chain.inclusion_model(c.pool)
        bribe, _ = optimal_bribe(notional * c.urgency_bps * 1e-4, a, b)
        return bribe

    def _send_swap(self, excess: float, mid: float) -> None:
        c = self.config
        pool = self.chain.pools.get(c.pool)
        if pool is None:  # not created yet (before the first block)
            return
        self.chain.native_price(mid)
        slip = c.max_slippage_bps * 1e-4
        quote_token = 1 - pool.base_token
        if excess > 0:  # sell base for quote
            zero_for_one = pool.sell_base_direction()
            amount_in = pool.to_raw(excess, pool.base_token)
            min_out = pool.to_raw(excess * mid * (1.0 - slip), quote_token)
        else:  # buy base with quote
            zero_for_one = not pool.sell_base_direction()
            amount_in = pool.to_raw(-excess * mid * (1.0 + pool.fee_bps * 1e-4), quote_token)
            min_out = pool.to_raw(-excess * (1.0 - slip), pool.base_token)
        if amount_in <= 0:
            return
        bribe = self.choose_bribe(abs(excess) * mid, mid)
        self.chain.submit_swap(self._on_chain_report, pool=c.pool, amount_in=amount_in,
                               zero_for_one=zero_for_one, min_amount_out=min_out, bribe=bribe,
                               private=c.submission == "private")  # fmt: skip
        self._inflight = True

    def _on_chain_report(self, event) -> None:
        self._inflight = False
        self.costs["bribe"] += event.bribe_paid
        self.costs["gas"] += event.gas_paid
        if type(event) is TxDropped:
            self.on_tx_dropped(event)
        else:
            self.on_swap(event)

    def on_tx_dropped(self, event: TxDropped) -> None:
        """Hook: a hedge transaction did not execute; it is resent at the next check.

        A reverted swap (``reason == "slippage"``) still paid its gas and bribe.
        """
        cost = event.bribe_paid + event.gas_paid
        self.n_dropped += 1
        self.onchain.cash -= cost
        self.onchain.fees_paid += cost

    def on_swap(self, event: SwapExecuted) -> None:
        """Hook: a hedge swap landed; book it in the on-chain wallet and split its costs."""
        cost = event.bribe_paid + event.gas_paid
        pool = self.chain.pools[event.pool]
        quote_token = 1 - pool.base_token
        sells_base = event.zero_for_one == pool.sell_base_direction()
        if sells_base:
            base = pool.to_human(event.amount_in, pool.base_token)
            quote = pool.to_human(event.amount_out, quote_token)
            side = Side.SELL
        else:
            base = pool.to_human(event.amount_out, pool.base_token)
            quote = pool.to_human(event.amount_in, quote_token)
            side = Side.BUY
        if base <= 0:
            return
        px = quote / base
        mid = self.venue.mid
        mid = mid if mid > 0 else self._mid_at_send
        # execution cost vs mid, split into the pool fee (fee_bps of the input's value) and the rest
        exec_cost = (px - mid) * base if side == Side.BUY else (mid - px) * base
        fee_value = pool.fee_bps * 1e-4 * (quote if side == Side.BUY else base * mid)
        self.costs["pool_fee"] += fee_value
        self.costs["sandwich"] += event.sandwich_loss  # the part of the slippage lost to a sandwich
        self.costs["slippage"] += exec_cost - fee_value
        self.onchain.on_fill(int(side), px, base, cost, False)
        self.trades.append((event.block_ts_ns, int(side), base, px, mid))
        self.n_hedges += 1

    def on_fill(self, event: Fill) -> None:
        """Order-book hedge fill: record its cost vs mid and taker fee."""
        mid = self.venue.mid
        mid = mid if mid > 0 else self._mid_at_send
        self.costs["slippage"] += (event.px - mid) * event.qty * event.side
        self.costs["fees"] += event.fee
        if event.leaves_qty <= 1e-12:
            self._inflight = False
            self.n_hedges += 1

    def on_order_canceled(self, event) -> None:
        """IOC remainder cancelled: the hedge is over."""
        self._inflight = False

    def on_order_rejected(self, event) -> None:
        """Rejected hedge order: try again at the next check."""
        self._inflight = False
