"""Raydium CPMM (constant-product "cp-swap") pool on Solana, with the program's integer math.

Swap with base input (``swap_base_input``), in ``u128`` arithmetic:

1. ``trade_fee = ceil(amount_in · trade_fee_rate / 1e6)`` (``Fees::trading_fee``);
   ``protocol_fee = floor(trade_fee · protocol_fee_rate / 1e6)``, ``fund_fee = floor(trade_fee ·
   fund_fee_rate / 1e6)`` (``Fees::protocol_fee`` / ``fund_fee``);
2. ``ConstantProductCurve::swap_without_fees`` on ``x = amount_in − trade_fee``:
   ``invariant = R_in·R_out``; ``(R_out', R_in') = invariant.checked_ceil_div(R_in + x)`` — the
   quotient rounded up and the divisor recomputed as the smallest input that still gives it
   (spl-math ``CheckedCeilDiv``: ``q = ⌈k/n⌉``, then ``n' = ⌈k/q⌉``); ``source_swapped = R_in' −
   R_in`` (may be below ``x``: the user is only charged what the curve needs),
   ``destination_swapped = R_out − R_out'`` (0 reverts);
3. the user pays ``source_swapped + trade_fee`` and receives ``destination_swapped``; the
   vault keeps the protocol and fund fees aside (``vault_amount_without_fee``), so the curve's
   input reserve grows by ``source_swapped + trade_fee − protocol_fee − fund_fee``.

References
----------
raydium-io/raydium-cp-swap, ``programs/cp-swap/src/curve/{calculator,constant_product,fees}.rs``
(commit ``0d56d2cbde2e6215fdfefdbfb13fb92b32479a55``) and ``instructions/swap_base_input.rs``;
solana-labs/solana-program-library ``libraries/math/src/checked_ceil_div.rs``. Token-2022
transfer fees are not modelled (plain SPL tokens).
"""

from __future__ import annotations

from venues.amm.errors import PoolParameterError, PoolRevertError

__all__ = ["FEE_RATE_DENOMINATOR", "RaydiumCpmmPool", "checked_ceil_div", "swap_without_fees"]

FEE_RATE_DENOMINATOR = 1_000_000
"""``FEE_RATE_DENOMINATOR_VALUE`` of the program: fee rates are in millionths."""
_U64_MAX = 2**64 - 1
_U128_MAX = 2**128 - 1


def checked_ceil_div(dividend: int, divisor: int) -> tuple[int, int] | None:
    """spl-math ``CheckedCeilDiv`` for ``u128``: ``(⌈a/b⌉, smallest b' with ⌈a/b'⌉ = that)``.

    Returns ``None`` where the program's would (division by zero, or a zero quotient).

    Examples
    --------
    >>> checked_ceil_div(400, 32)   # 400/32 = 12.5 → 13; 400/13 = 30.8 → 31
    (13, 31)
    """
    if divisor == 0:
        return None
    q = dividend // divisor
    if q == 0:
        return None
    if dividend % divisor:
        q += 1
        divisor = dividend // q
        if dividend % q:
            divisor += 1
    return q, divisor


def swap_without_fees(source_amount: int, swap_source_amount: int, swap_destination_amount: int) -> tuple[int, int]:
    """``ConstantProductCurve::swap_without_fees``: ``(source_amount_swapped, destination_amount_swapped)``.

    Raises
    ------
    PoolRevertError
        Where the program returns ``None`` (overflow, zero quotient, zero output):
        ``ZeroTradingTokens``.
    """
    invariant = swap_source_amount * swap_destination_amount
    if invariant > _U128_MAX:
        raise PoolRevertError("ZeroTradingTokens (invariant overflows u128)", "ConstantProductCurve.swap_without_fees")
    r = checked_ceil_div(invariant, swap_source_amount + source_amount)
    if r is None:
        raise PoolRevertError("ZeroTradingTokens", "ConstantProductCurve.swap_without_fees")
    new_destination, new_source = r
    source_swapped = new_source - swap_source_amount
    destination_swapped = swap_destination_amount - new_destination
    if destination_swapped <= 0 or source_swapped < 0:
        raise PoolRevertError("ZeroTradingTokens", "ConstantProductCurve.swap_without_fees")
    return source_swapped, destination_swapped


class RaydiumCpmmPool:
    """State of one Raydium CPMM pool (curve reserves, raw units) with the program's swap math.

    Parameters
    ----------
    reserve0, reserve1 : int
        Curve reserves (vault balances minus the protocol and fund fees set aside), ``> 0``,
        each a ``u64``.
    trade_fee_rate : int, default 2500
        ``AmmConfig.trade_fee_rate``, millionths (2500 = 0.25 %), ``0 <= rate < 1e6``.
    protocol_fee_rate, fund_fee_rate : int, default 120_000 and 40_000
        Shares of the trade fee set aside for the protocol and the fund, millionths.

    Raises
    ------
    PoolParameterError
        A reserve outside ``[1, 2**64)`` or a rate outside ``[0, 1e6)``.

    Examples
    --------
    >>> pool = RaydiumCpmmPool(10**9, 2 * 10**9, trade_fee_rate=2500)
    >>> pool.get_amount_out(10**6, 0)   # fee ceil(2500) = 2500; x = 997500
    1993011
    """

    __slots__ = ("_fund", "_protocol", "_r", "_trade", "last_amount_in")

    def __init__(self, reserve0: int, reserve1: int, *, trade_fee_rate: int = 2500, protocol_fee_rate: int = 120_000,
                 fund_fee_rate: int = 40_000) -> None:  # fmt: skip
        for name, r in (("reserve0", reserve0), ("reserve1", reserve1)):
            if not (1 <= int(r) <= _U64_MAX):
                raise PoolParameterError(name, f"must be a u64 > 0, got {r}")
        for name, f in (("trade_fee_rate", trade_fee_rate), ("protocol_fee_rate", protocol_fee_rate),
                        ("fund_fee_rate", fund_fee_rate)):  # fmt: skip
            if not (0 <= int(f) < FEE_RATE_DENOMINATOR):
                raise PoolParameterError(name, f"must be in [0, 1_000_000), got {f}")
        self._r = [int(reserve0), int(reserve1)]
        self._trade, self._protocol, self._fund = int(trade_fee_rate), int(protocol_fee_rate), int(fund_fee_rate)
        self.last_amount_in = 0

    @property
    def reserve0(self) -> int:
        """Curve reserve of token0, raw units."""
        return self._r[0]

    @property
    def reserve1(self) -> int:
        """Curve reserve of token1, raw units."""
        return self._r[1]

    @property
    def fee_bps(self) -> float:
        """Trade fee in basis points."""
        return self._trade / 100.0

    def copy(self) -> RaydiumCpmmPool:
        """An independent pool with the same state."""
        return RaydiumCpmmPool(self._r[0], self._r[1], trade_fee_rate=self._trade, protocol_fee_rate=self._protocol,
                               fund_fee_rate=self._fund)  # fmt: skip

    def _quote(self, amount_in: int, token_in: int) -> tuple[int, int, int, int]:
        if token_in not in (0, 1):
            raise ValueError(f"token_in must be 0 or 1, got {token_in}")
        amount_in = int(amount_in)
        if not (0 < amount_in <= _U64_MAX):
            raise PoolRevertError("amount_in must be a u64 > 0", "swap_base_input")
        trade_fee = -(-amount_in * self._trade // FEE_RATE_DENOMINATOR)
        protocol_fee = trade_fee * self._protocol // FEE_RATE_DENOMINATOR
        fund_fee = trade_fee * self._fund // FEE_RATE_DENOMINATOR
        r_in, r_out = self._r[token_in], self._r[1 - token_in]
        src, dst = swap_without_fees(amount_in - trade_fee, r_in, r_out)
        return src + trade_fee, dst, protocol_fee + fund_fee, trade_fee

    def get_amount_out(self, amount_in: int, token_in: int) -> int:
        """Output of a base-input swap of ``amount_in`` raw units of ``token_in``; the pool is unchanged.

        Raises
        ------
        PoolRevertError
            ``amount_in`` not a positive u64, or a zero output (``ZeroTradingTokens``).
        """
        return self._quote(amount_in, token_in)[1]

    def swap(self, amount_in: int, token_in: int, *, min_amount_out: int = 0) -> int:
        """``swap_base_input``: returns the output; the user is charged ``last_amount_in`` (<= ``amount_in``).

        Raises
        ------
        PoolRevertError
            As :meth:`get_amount_out`, or ``ExceededSlippage`` below ``min_amount_out``.
        """
        paid, out, set_aside, _ = self._quote(amount_in, token_in)
        if out < min_amount_out:
            raise PoolRevertError("ExceededSlippage", "swap_base_input")
        self._r[token_in] += paid - set_aside
        self._r[1 - token_in] -= out
        self.last_amount_in = paid
        return out

    def __repr__(self) -> str:
        return f"RaydiumCpmmPool(reserve0={self._r[0]}, reserve1={self._r[1]}, trade_fee_rate={self._trade})"
