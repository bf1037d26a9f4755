"""Events of the simulated chain: blocks, executed swaps and dropped transactions.

``ts_ns`` is when the owner learns of the event (after the chain's response latency);
``block_ts_ns`` is the block's own time.
"""

from __future__ import annotations

import attrs

from engine.events import Event


@attrs.frozen(slots=True)
class BlockProduced(Event):
    """A block was produced.

    Attributes
    ----------
    block_number : int
        Sequential block number of the simulated chain (starts at 1).
    n_txs : int
        Transactions that landed in it (recorded background flow included).
    """

    block_number: int
    n_txs: int


@attrs.frozen(slots=True)
class SwapExecuted(Event):
    """One of our swaps landed in a block.

    Attributes
    ----------
    tx_id : int
    pool : str
        Pool name.
    zero_for_one : bool
        token0 → token1.
    amount_in, amount_out : int
        Raw token units paid in and received.
    bribe_paid : float
        Priority fee / bribe paid, quote units.
    gas_paid : float
        Base-fee gas cost plus the L1 data fee where the chain charges one, quote units.
    block_number : int
    block_ts_ns : int
    sandwich_loss : float, default 0.0
        Output lost to a sandwich around this swap (shortfall against the same swap without
        it), quote units; already inside ``amount_out``.
    """

    tx_id: int
    pool: str
    zero_for_one: bool
    amount_in: int
    amount_out: int
    bribe_paid: float
    gas_paid: float
    block_number: int
    block_ts_ns: int
    sandwich_loss: float = 0.0


@attrs.frozen(slots=True)
class TxDropped(Event):
    """One of our transactions did not execute.

    Attributes
    ----------
    tx_id : int
    reason : str
        ``"not_included"`` (lost the inclusion draw for its block), ``"block_full"`` (outbid:
        no gas left in the block after higher-paying transactions) or ``"slippage"`` (included
        but reverted: output below ``min_amount_out``; gas and bribe are paid).
    bribe_paid, gas_paid : float
        Costs paid, quote units (0 when not included).
    block_number : int
    block_ts_ns : int
    """

    tx_id: int
    reason: str
    bribe_paid: float
    gas_paid: float
    block_number: int
    block_ts_ns: int
