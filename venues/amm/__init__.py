"""On-chain AMM pools with the contracts' exact integer math.

Aerodrome volatile and stable pools (:mod:`venues.amm.aerodrome`) and PancakeSwap v2 / Uniswap v2
pairs (:mod:`venues.amm.pancake`) return the same integers as the chain; reverts raise
:class:`~venues.amm.errors.PoolRevertError` (a ``ValueError``) with the contract's reason, and bad
pool parameters raise :class:`~venues.amm.errors.PoolParameterError` (a ``ValueError``) naming the
parameter. A float fast path for bulk replay lives in :mod:`venues.amm._amm_nb`. Concentrated
liquidity (Uniswap v3 math) lives in :mod:`venues.amm.clmm`; Solana's Raydium CPMM pool in
:mod:`venues.amm.raydium`.
"""

from venues.amm.aerodrome import AerodromePool, get_fee
from venues.amm.clmm import ConcentratedPool, max_liquidity_per_tick
from venues.amm.errors import PoolParameterError, PoolRevertError
from venues.amm.pancake import PancakeV2Pool, get_amount_in, get_amount_out, get_amounts_in, get_amounts_out
from venues.amm.raydium import RaydiumCpmmPool

__all__ = [
    "AerodromePool",
    "ConcentratedPool",
    "PancakeV2Pool",
    "PoolParameterError",
    "PoolRevertError",
    "RaydiumCpmmPool",
    "get_amount_in",
    "get_amount_out",
    "get_amounts_in",
    "get_amounts_out",
    "get_fee",
    "max_liquidity_per_tick",
]
