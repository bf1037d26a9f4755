"""Chain fee rules and chain profiles: EIP-1559 base fee, OP Stack L1 data fee, block clocks.

Everything here is integer wei arithmetic exactly as the cited specifications write it, plus
the documented per-chain parameters (:data:`PROFILES`) the simulated chain
(:mod:`venues.chain`) runs with.

Formulas
--------
EIP-1559 base fee (EIP-1559, "Fee market change for ETH 1.0 chain", specification section;
``ELASTICITY_MULTIPLIER = 2``, ``BASE_FEE_MAX_CHANGE_DENOMINATOR = 8`` on Ethereum)::

    target = parent_gas_limit // elasticity
    used == target: base = parent_base
    used >  target: base = parent_base + max(parent_base·(used − target) // target // denominator, 1)
    used <  target: base = parent_base − parent_base·(target − used) // target // denominator

OP Stack chains (Optimism, Base) use the same rule with their own parameters (OP Stack
"Canyon" defaults: elasticity 6, denominator 250) and charge an **L1 data fee** on top of the
L2 execution fee. Fjord formula (OP Stack specs, "Fjord — L2 Execution Engine", L1-Cost fees,
as published in Base's copy of the specs)::

    l1FeeScaled         = l1BaseFeeScalar·l1BaseFee·16 + l1BlobFeeScalar·l1BlobBaseFee
    estimatedSizeScaled = max(minTransactionSize·1e6, intercept + fastlzCoef·fastlzSize)
    l1Fee               = estimatedSizeScaled·l1FeeScaled // 1e12

with ``intercept = −42_585_600``, ``fastlzCoef = 836_500``, ``minTransactionSize = 100``.
``fastlzSize`` (the FastLZ-compressed size of the signed transaction) is bounded by the
GasPriceOracle's ``getL1FeeUpperBound``: ``txSize = unsignedTxSize + 68``,
``flzUpperBound = txSize + txSize // 255 + 16`` (:func:`fastlz_upper_bound`).
Ecotone (the rule before Fjord; OP Stack specs, "Ecotone — L1 cost")::

    tx_compressed_size = (zero_bytes·4 + non_zero_bytes·16) / 16
    l1_fee = tx_compressed_size·(16·base_fee_scalar·l1_base_fee + blob_base_fee_scalar·blob_base_fee) / 1e6

A transaction's total fee on such a chain is ``gas_used·(base_fee + priority_fee) + l1_fee``.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

__all__ = [
    "FJORD_FASTLZ_COEF",
    "FJORD_INTERCEPT",
    "FJORD_MIN_TX_SIZE",
    "PROFILES",
    "RECORDED_SWAP_GAS",
    "ChainProfile",
    "fastlz_upper_bound",
    "l1_fee_ecotone",
    "l1_fee_fjord",
    "next_base_fee",
    "solana_fee_lamports",
]

FJORD_INTERCEPT = -42_585_600
"""Fjord L1-cost regression intercept, scaled by 1e6 (OP Stack specs, Fjord exec engine)."""
FJORD_FASTLZ_COEF = 836_500
"""Fjord FastLZ coefficient, scaled by 1e6."""
FJORD_MIN_TX_SIZE = 100
"""Fjord lower bound on the estimated transaction size, bytes."""


def next_base_fee(
    parent_base_fee: int,
    parent_gas_used: int,
    parent_gas_limit: int,
    *,
    elasticity: int = 2,
    denominator: int = 8,
    min_base_fee: int = 0,
) -> int:
    """Base fee of a block from its parent's, by the EIP-1559 update rule (integer wei).

    Parameters
    ----------
    parent_base_fee : int
        Parent's base fee per gas, wei (``>= 0``).
    parent_gas_used, parent_gas_limit : int
        Parent's gas used and gas limit (``0 <= used <= limit``, ``limit >= elasticity``).
    elasticity : int, default 2
        ``ELASTICITY_MULTIPLIER`` (Ethereum 2; OP Stack default 6).
    denominator : int, default 8
        ``BASE_FEE_MAX_CHANGE_DENOMINATOR`` (Ethereum 8; OP Stack Canyon 250).
    min_base_fee : int, default 0
        Floor some chains impose on the result (Base's "minimum base fee"), wei.

    Returns
    -------
    int
        The child's base fee per gas, wei.

    Raises
    ------
    ValueError
        Negative inputs, ``used > limit``, a zero target, or non-positive parameters.

    Examples
    --------
    >>> next_base_fee(100_000_000_000, 30_000_000, 30_000_000)  # full block: +12.5 %
    112500000000
    >>> next_base_fee(100_000_000_000, 0, 30_000_000)  # empty block: -12.5 %
    87500000000
    >>> next_base_fee(7, 15_000_001, 30_000_000)  # the +1 wei minimum increase
    8
    """
    b, used, limit = int(parent_base_fee), int(parent_gas_used), int(parent_gas_limit)
    if b < 0 or used < 0 or limit < 0:
        raise ValueError(f"base fee, gas used and gas limit must be >= 0 (got {b}, {used}, {limit})")
    if used > limit:
        raise ValueError(f"gas used {used} exceeds the gas limit {limit}")
    if elasticity <= 0 or denominator <= 0:
        raise ValueError(f"elasticity and denominator must be > 0 (got {elasticity}, {denominator})")
    target = limit // elasticity
    if target == 0:
        raise ValueError(f"gas target is 0 (limit {limit}, elasticity {elasticity})")
    if used == target:
        out = b
    elif used > target:
        out = b + max(b * (used - target) // target // denominator, 1)
    else:
        out = b - b * (target - used) // target // denominator
    return max(out, int(min_base_fee))


def fastlz_upper_bound(unsigned_tx_size: int) -> int:
    """Upper bound of a transaction's FastLZ-compressed size (GasPriceOracle ``getL1FeeUpperBound``).

    ``txSize = unsigned_tx_size + 68`` (the signature), ``txSize + txSize // 255 + 16``.

    Parameters
    ----------
    unsigned_tx_size : int
        RLP size of the unsigned transaction, bytes (``>= 0``).

    Returns
    -------
    int
        Bytes.
    """
    if unsigned_tx_size < 0:
        raise ValueError(f"unsigned_tx_size must be >= 0, got {unsigned_tx_size}")
    tx = int(unsigned_tx_size) + 68
    return tx + tx // 255 + 16


def l1_fee_fjord(
    fastlz_size: int, l1_base_fee: int, l1_blob_base_fee: int, base_fee_scalar: int, blob_base_fee_scalar: int
) -> int:
    """L1 data fee of an OP Stack transaction after Fjord, wei (formula in the module docstring).

    Parameters
    ----------
    fastlz_size : int
        FastLZ-compressed size of the signed RLP transaction, bytes.
    l1_base_fee, l1_blob_base_fee : int
        L1 base fee and blob base fee of the L1 origin, wei.
    base_fee_scalar, blob_base_fee_scalar : int
        The chain's ``l1BaseFeeScalar`` and ``l1BlobFeeScalar`` (scaled by 1e6).

    Returns
    -------
    int
        Wei (integer division, as the spec's unsigned integer computation).

    Raises
    ------
    ValueError
        Any negative input.

    Examples
    --------
    >>> l1_fee_fjord(200, 10**10, 1, 2269, 1_055_762)  # 10 gwei L1, 1 wei blobs: ~45.3 gwei·gas
    45276315907
    """
    vals = (fastlz_size, l1_base_fee, l1_blob_base_fee, base_fee_scalar, blob_base_fee_scalar)
    if any(int(x) < 0 for x in vals):
        raise ValueError(f"L1 fee inputs must be >= 0, got {vals}")
    fee_scaled = int(base_fee_scalar) * int(l1_base_fee) * 16 + int(blob_base_fee_scalar) * int(l1_blob_base_fee)
    size_scaled = max(FJORD_MIN_TX_SIZE * 1_000_000, FJORD_INTERCEPT + FJORD_FASTLZ_COEF * int(fastlz_size))
    return size_scaled * fee_scaled // 10**12


def l1_fee_ecotone(
    zero_bytes: int, non_zero_bytes: int, l1_base_fee: int, l1_blob_base_fee: int, base_fee_scalar: int,
    blob_base_fee_scalar: int,
) -> int:  # fmt: skip
    """L1 data fee of an OP Stack transaction under Ecotone, wei (formula in the module docstring).

    Computed as ``(4·zeros + 16·non_zeros)·weighted_gas_price // (16·1e6)`` — the spec's
    ``tx_compressed_size·weighted_gas_price / 1e6`` without the intermediate rounding.

    Parameters
    ----------
    zero_bytes, non_zero_bytes : int
        Byte counts of the signed RLP transaction.
    l1_base_fee, l1_blob_base_fee, base_fee_scalar, blob_base_fee_scalar : int
        As in :func:`l1_fee_fjord`.

    Returns
    -------
    int
        Wei.
    """
    vals = (zero_bytes, non_zero_bytes, l1_base_fee, l1_blob_base_fee, base_fee_scalar, blob_base_fee_scalar)
    if any(int(x) < 0 for x in vals):
        raise ValueError(f"L1 fee inputs must be >= 0, got {vals}")
    weighted = 16 * int(base_fee_scalar) * int(l1_base_fee) + int(blob_base_fee_scalar) * int(l1_blob_base_fee)
    return (4 * int(zero_bytes) + 16 * int(non_zero_bytes)) * weighted // (16 * 10**6)


RECORDED_SWAP_GAS = {"v2": 122_447, "v3": 141_152}
"""Median gas used by a transaction holding exactly one pool swap, by pool family.

Measured on the 10 recorded mev-inspect blocks (``ethereum_block_fees/mev_inspect_blocks``,
Sep–Oct 2021) with :func:`venues.loaders.eth_blocks.swap_gas_from_blocks`: receipts of the
transactions whose successful call traces hold exactly one Uniswap-v2-style pair ``swap``
(selector ``0x022c0d9f``; 102 transactions) or one Uniswap-v3-style pool ``swap``
(``0x128acb08``; 32 transactions). Whole-transaction gas (21,000 intrinsic + router + pool),
medians rounded down. PancakeSwap v2 and Aerodrome volatile pools share the v2 pair's
constant-product code path; Slipstream and PancakeSwap v3 the v3 one. Aerodrome *stable*
pools do more arithmetic (Newton iterations of ``x³y + y³x``); no receipts of them are in the
data, so the v2 figure is a lower bound there.
"""

POOL_GAS_FAMILY = {
    "pancake_v2": "v2", "uniswap_v2": "v2", "aerodrome_volatile": "v2", "aerodrome_stable": "v2",
    "uniswap_v3": "v3", "slipstream": "v3", "pancake_v3": "v3", "raydium_cpmm": "svm",
}  # fmt: skip
"""Gas family (key of :data:`RECORDED_SWAP_GAS`) of each pool kind; ``"svm"`` (Solana) uses compute units."""


@attrs.frozen(kw_only=True)
class ChainProfile:
    """A chain's clock, fee rule and block space, with the source of each number.

    Attributes
    ----------
    name : str
    block_time_ms : float
        Time between blocks, ms.
    gas_limit : int or None
        Block gas limit; ``None``: block space is not modelled (no capacity limit).
    elasticity, denominator : int
        EIP-1559 parameters (:func:`next_base_fee`); ignored where ``eip1559`` is false.
    eip1559 : bool
        Whether the base fee follows the EIP-1559 rule.
    base_fee_gwei : float
        Typical (or floor) base fee per gas, gwei: the constant base fee and the EIP-1559
        starting value.
    min_base_fee_gwei : float
        Floor of the base fee, gwei.
    ordering : {"priority", "fcfs"}
        Block ordering: by effective priority fee (ties by arrival), or first come first served.
    collects_tips : bool
        Whether the priority fee is charged (Arbitrum One does not collect tips).
    preconf_ms : float or None
        Pre-confirmation sub-block interval (Base Flashblocks: 200 ms): transactions are
        sealed in the order of the sub-block they arrive in; ``None`` without.
    express_lane_ms : float
        Arbitrum Timeboost: head start of the express-lane controller's transactions, ms
        (0 without).
    l1_fee : bool
        Whether an L1 data fee is charged (OP Stack Fjord formula).
    l1_base_fee_gwei, l1_blob_base_fee_gwei : float
        L1 fees used for the L1 data fee, gwei.
    base_fee_scalar, blob_base_fee_scalar : int
        OP Stack scalars (scaled by 1e6).
    swap_tx_size : int
        Unsigned RLP size of a router swap transaction, bytes (for the FastLZ bound).
    fee_model : {"evm", "solana"}
        ``"evm"``: ``gas × base fee`` (+ L1 data fee); ``"solana"``: ``lamports_per_signature``
        plus the compute-unit priority fee ``⌈compute_unit_price · compute_unit_limit / 1e6⌉``
        lamports (:func:`solana_fee_lamports`); "gas" is then compute units and "gwei" lamports.
    lamports_per_signature : int
        Solana base fee per signature, lamports.
    compute_unit_limit : int
        Compute units requested by a swap transaction (Solana).
    source : str
        Where the numbers come from.
    """

    name: str
    block_time_ms: float = attrs.field(validator=v.gt(0))
    gas_limit: int | None = None
    elasticity: int = 2
    denominator: int = 8
    eip1559: bool = True
    base_fee_gwei: float = 0.01
    min_base_fee_gwei: float = 0.0
    ordering: str = attrs.field(default="priority", validator=v.in_(("priority", "fcfs")))
    collects_tips: bool = True
    preconf_ms: float | None = None
    express_lane_ms: float = 0.0
    l1_fee: bool = False
    l1_base_fee_gwei: float = 0.0
    l1_blob_base_fee_gwei: float = 0.0
    base_fee_scalar: int = 0
    blob_base_fee_scalar: int = 0
    swap_tx_size: int = 300
    fee_model: str = attrs.field(default="evm", validator=v.in_(("evm", "solana")))
    lamports_per_signature: int = 5000
    compute_unit_limit: int = 200_000
    source: str = ""


PROFILES: dict[str, ChainProfile] = {
    "custom": ChainProfile(
        name="custom", block_time_ms=2000.0, gas_limit=None, eip1559=False, base_fee_gwei=0.01,
        source="the simulator's historical default: 2 s blocks, constant 0.01 gwei base fee, no block space",
    ),
    "ethereum": ChainProfile(
        name="ethereum", block_time_ms=12000.0, gas_limit=30_000_000, elasticity=2, denominator=8,
        base_fee_gwei=20.0, ordering="priority",
        source="12 s slots since The Merge (consensus specs SECONDS_PER_SLOT = 12); EIP-1559 elasticity 2, "
        "denominator 8; gas limit 30,000,000 as in the recorded blocks (ethereum_block_fees, 2021-2022); "
        "base fee 20 gwei is only the starting value when not replayed from data",
    ),
    "base": ChainProfile(
        name="base", block_time_ms=2000.0, gas_limit=140_000_000, elasticity=6, denominator=250,
        base_fee_gwei=0.002, min_base_fee_gwei=0.002, ordering="priority", preconf_ms=200.0,
        l1_fee=True, l1_base_fee_gwei=1.0, l1_blob_base_fee_gwei=1e-9, base_fee_scalar=2269,
        blob_base_fee_scalar=1_055_762,
        source="docs.base.org block building: 2 s blocks, priority-fee ordering, Flashblocks every 200 ms "
        "(mainnet since 2025-07-07; retired by the Denim upgrade, 200 ms blocks, 2026-11-05), block gas limit "
        "~140M (the docs' 'one tenth = 14 million'); minimum base fee 2,000,000 wei (configuration "
        "changelog, 2026-02-02); EIP-1559 elasticity 6 / denominator 250 are the OP Stack Canyon defaults "
        "(Base raised its denominator to 125 on 2026-02-04); L1 data fee by the Fjord formula, scalars and "
        "L1 fees are example values to set per period",
    ),
    "arbitrum": ChainProfile(
        name="arbitrum", block_time_ms=250.0, gas_limit=None, eip1559=False, base_fee_gwei=0.01,
        min_base_fee_gwei=0.01, ordering="fcfs", express_lane_ms=200.0, collects_tips=False,
        source="Arbitrum One: sequencer orders first come first served and does not collect priority fees "
        "(docs.arbitrum.io: tip collection exists from ArbOS 61 but needs a DAO vote on Arbitrum One), "
        "~250 ms blocks, 0.01 gwei minimum L2 base fee; Timeboost express lane: the round's auction winner's "
        "transactions skip the 200 ms delay of everyone else's; the L1 poster fee is not modelled",
    ),
    "bsc": ChainProfile(
        name="bsc", block_time_ms=750.0, gas_limit=None, eip1559=False, base_fee_gwei=0.05,
        ordering="priority",
        source="BNB Smart Chain: 0.75 s blocks since the Maxwell hard fork (2025); no EIP-1559 burn, "
        "validators order by gas price; 0.05 gwei minimum gas price (BEP-336 era value, set base_fee_gwei); "
        "gas is paid in BNB (set native_px)",
    ),
    "solana": ChainProfile(
        name="solana", block_time_ms=400.0, gas_limit=None, eip1559=False, base_fee_gwei=0.0,
        ordering="priority", fee_model="solana", lamports_per_signature=5000, compute_unit_limit=200_000,
        source="Solana docs (fees): 400 ms slots; base fee 5,000 lamports per signature; prioritization fee = "
        "compute-unit price (micro-lamports per CU) × compute-unit limit (default 200,000 CU per instruction); "
        "the bribe is a Jito bundle tip (ordering by tip; Jito's block engine auction is not modelled further); "
        "gas is paid in SOL: set native_px",
    ),
}  # fmt: skip
"""Chain profiles by name."""


def solana_fee_lamports(n_signatures: int, compute_unit_price_micro_lamports: int, compute_unit_limit: int,
                        lamports_per_signature: int = 5000) -> int:  # fmt: skip
    """Fee of a Solana transaction without tips, lamports.

    ``lamports_per_signature · n_signatures + ⌈compute_unit_price · compute_unit_limit / 1e6⌉``
    (Solana docs, "Transaction fees": base fee per signature; prioritization fee in
    micro-lamports per requested compute unit, rounded up to whole lamports).

    Raises
    ------
    ValueError
        Negative inputs or no signature.

    Examples
    --------
    >>> solana_fee_lamports(1, 10_000, 200_000)   # 5000 + 10_000 · 200_000 / 1e6
    7000
    >>> solana_fee_lamports(1, 1, 200_001)        # 0.200001 lamports, rounded up
    5001
    """
    vals = (n_signatures, compute_unit_price_micro_lamports, compute_unit_limit, lamports_per_signature)
    if any(int(x) < 0 for x in vals) or n_signatures < 1:
        raise ValueError(f"Solana fee inputs must be >= 0 with at least one signature, got {vals}")
    prio = -(-int(compute_unit_price_micro_lamports) * int(compute_unit_limit) // 1_000_000)
    return int(lamports_per_signature) * int(n_signatures) + prio
