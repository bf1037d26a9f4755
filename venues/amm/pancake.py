"""PancakeSwap v2 (and Uniswap v2) constant-product pairs with the library's exact integer math.

:class:`PancakeV2Pool` reproduces ``PancakeLibrary.getAmountOut`` / ``getAmountIn`` and the state
a router swap leaves in the pair; :func:`get_amounts_out` / :func:`get_amounts_in` chain hops as the
router's ``getAmountsOut`` / ``getAmountsIn`` do. The fee is a parameter: ``(n, D) = (10000 −
fee_bps, 10000)``, so ``fee_bps=25`` is PancakeSwap v2, ``30`` Uniswap v2 (997/1000) and ``20``
PancakeSwap v1 (998/1000).

This module does not hold Aerodrome's pools (:mod:`venues.amm.aerodrome`; its volatile pool takes
the fee out of the pool instead of leaving it in), concentrated liquidity (:mod:`venues.amm.clmm`)
or the float fast path (:mod:`venues.amm._amm_nb`).

See Also
--------
venues.amm.aerodrome : Aerodrome volatile and stable pools.

References
----------
pancakeswap/pancake-smart-contracts, ``projects/exchange-protocol/contracts/libraries/PancakeLibrary.sol``
(``getAmountOut``, ``getAmountIn``, ``getAmountsOut``, ``getAmountsIn``) and ``PancakePair.sol``
(``swap``, ``_update``); Uniswap/v2-periphery ``contracts/libraries/UniswapV2Library.sol``;
Adams, Zinsmeister & Robinson (2020), "Uniswap v2 Core" whitepaper. Paraphrased math:
``shared/FORMULAS.md`` section 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from venues.amm.errors import (
    PANIC_DIVISION_BY_ZERO,
    UINT256_MAX,
    PoolParameterError,
    PoolRevertError,
    check_int,
    check_token,
)

__all__ = [
    "PANCAKE_V1_FEE_BPS",
    "PANCAKE_V2_FEE_BPS",
    "UINT112_MAX",
    "UNISWAP_V2_FEE_BPS",
    "PancakeV2Pool",
    "get_amount_in",
    "get_amount_out",
    "get_amounts_in",
    "get_amounts_out",
]

UINT112_MAX = 2**112 - 1
"""Largest reserve a v2 pair can hold (reserves are stored as ``uint112``)."""

PANCAKE_V2_FEE_BPS = 25
"""PancakeSwap v2 fee: (9975, 10000)."""

UNISWAP_V2_FEE_BPS = 30
"""Uniswap v2 fee: (997, 1000) = (9970, 10000)."""

PANCAKE_V1_FEE_BPS = 20
"""PancakeSwap v1 (2020 periphery) fee: (998, 1000)."""

_D = 10000
_LIB = "PancakeLibrary"


# --- SafeMath (ds-math) semantics ------------------------------------------------------------------


def _mul(a: int, b: int, where: str) -> int:
    r = a * b
    if r > UINT256_MAX:
        raise PoolRevertError("ds-math-mul-overflow", where)
    return r


def _add(a: int, b: int, where: str) -> int:
    r = a + b
    if r > UINT256_MAX:
        raise PoolRevertError("ds-math-add-overflow", where)
    return r


def _sub(a: int, b: int, where: str) -> int:
    if b > a:
        raise PoolRevertError("ds-math-sub-underflow", where)
    return a - b


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = PANCAKE_V2_FEE_BPS) -> int:
    """Maximum output for ``amount_in``, exactly as ``PancakeLibrary.getAmountOut``.

    Parameters
    ----------
    amount_in : int
        Input amount, raw integer units, > 0.
    reserve_in : int
        Reserve of the input token, raw units, > 0.
    reserve_out : int
        Reserve of the output token, raw units, > 0.
    fee_bps : int, default 25
        Fee in basis points, 0 <= fee_bps < 10000 (25 PancakeSwap v2, 30 Uniswap v2).

    Returns
    -------
    int
        ``⌊a·n·R_out / (R_in·D + a·n)⌋`` with ``(n, D) = (10000 − fee_bps, 10000)``, raw units.

    Raises
    ------
    PoolRevertError
        ``"PancakeLibrary: INSUFFICIENT_INPUT_AMOUNT"`` when ``amount_in == 0``,
        ``"PancakeLibrary: INSUFFICIENT_LIQUIDITY"`` when a reserve is 0, ``"ds-math-*-overflow"``
        when a product leaves the uint256 range.
    PoolParameterError
        If an argument is negative or ``fee_bps`` is outside [0, 10000).

    Notes
    -----
    With ``fee_bps = 30`` numerator and denominator are ten times Uniswap's 997/1000 form, so the
    floored result is identical.

    References
    ----------
    pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` ``getAmountOut``; Uniswap/v2-periphery
    ``UniswapV2Library.sol`` ``getAmountOut``.

    Examples
    --------
    >>> get_amount_out(10**18, 5 * 10**18, 10 * 10**18, fee_bps=30)   # Uniswap v2-core pair test
    1662497915624478906
    """
    a = check_int("amount_in", amount_in, 0, UINT256_MAX)
    r_in = check_int("reserve_in", reserve_in, 0, UINT256_MAX)
    r_out = check_int("reserve_out", reserve_out, 0, UINT256_MAX)
    n = _D - check_int("fee_bps", fee_bps, 0, _D - 1)
    w = f"{_LIB}.getAmountOut"
    if a == 0:
        raise PoolRevertError(f"{_LIB}: INSUFFICIENT_INPUT_AMOUNT", w)
    if r_in == 0 or r_out == 0:
        raise PoolRevertError(f"{_LIB}: INSUFFICIENT_LIQUIDITY", w)
    a_fee = _mul(a, n, w)
    return _mul(a_fee, r_out, w) // _add(_mul(r_in, _D, w), a_fee, w)


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int, fee_bps: int = PANCAKE_V2_FEE_BPS) -> int:
    """Input needed for ``amount_out``, exactly as ``PancakeLibrary.getAmountIn``.

    Parameters
    ----------
    amount_out : int
        Wanted output, raw integer units, > 0 and < ``reserve_out``.
    reserve_in : int
        Reserve of the input token, raw units, > 0.
    reserve_out : int
        Reserve of the output token, raw units, > 0.
    fee_bps : int, default 25
        Fee in basis points, 0 <= fee_bps < 10000.

    Returns
    -------
    int
        ``⌊R_in·b·D / ((R_out − b)·n)⌋ + 1``, raw units of the input token.

    Raises
    ------
    PoolRevertError
        ``"PancakeLibrary: INSUFFICIENT_OUTPUT_AMOUNT"`` when ``amount_out == 0``,
        ``"PancakeLibrary: INSUFFICIENT_LIQUIDITY"`` when a reserve is 0,
        ``"ds-math-sub-underflow"`` when ``amount_out > reserve_out`` and a division by zero when
        ``amount_out == reserve_out`` (the library has no explicit check; both revert on chain).
    PoolParameterError
        If an argument is negative or ``fee_bps`` is outside [0, 10000).

    Notes
    -----
    The ``+ 1`` rounds up, so ``get_amount_out(get_amount_in(b)) >= b``.

    References
    ----------
    pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` ``getAmountIn``; Uniswap/v2-periphery
    ``UniswapV2Library.sol`` ``getAmountIn``.

    Examples
    --------
    >>> get_amount_in(27328, 45851931234, 125682033533, fee_bps=30)   # stableex/sx.uniswap test vector
    10000
    """
    b = check_int("amount_out", amount_out, 0, UINT256_MAX)
    r_in = check_int("reserve_in", reserve_in, 0, UINT256_MAX)
    r_out = check_int("reserve_out", reserve_out, 0, UINT256_MAX)
    n = _D - check_int("fee_bps", fee_bps, 0, _D - 1)
    w = f"{_LIB}.getAmountIn"
    if b == 0:
        raise PoolRevertError(f"{_LIB}: INSUFFICIENT_OUTPUT_AMOUNT", w)
    if r_in == 0 or r_out == 0:
        raise PoolRevertError(f"{_LIB}: INSUFFICIENT_LIQUIDITY", w)
    numerator = _mul(_mul(r_in, b, w), _D, w)
    denominator = _mul(_sub(r_out, b, w), n, w)
    if denominator == 0:
        raise PoolRevertError(PANIC_DIVISION_BY_ZERO, w)
    return _add(numerator // denominator, 1, w)


class _Quoter(Protocol):
    def get_amount_out(self, amount_in: int, token_in: int) -> int: ...


class _InQuoter(Protocol):
    def get_amount_in(self, amount_out: int, token_out: int) -> int: ...


class PancakeV2Pool:
    """State of one PancakeSwap v2 (or Uniswap v2) pair, raw integer units.

    Parameters
    ----------
    reserve0 : int
        Reserve of token0, raw integer units, 1 to 2**112 − 1 (the pair stores ``uint112``).
    reserve1 : int
        Reserve of token1, raw integer units, 1 to 2**112 − 1.
    fee_bps : int, default 25
        Fee in basis points, 0 <= fee_bps < 10000: 25 PancakeSwap v2, 30 Uniswap v2 (997/1000),
        20 PancakeSwap v1 (998/1000).
    decimals0 : int, default 18
        ERC-20 decimals of token0 (only :attr:`spot_price` uses them), 0 to 77.
    decimals1 : int, default 18
        ERC-20 decimals of token1, 0 to 77.

    Raises
    ------
    TypeError
        If a parameter is not an int.
    PoolParameterError
        If a reserve is <= 0 or above 2**112 − 1, ``fee_bps`` is outside [0, 10000), or decimals
        are outside 0–77 (a ``ValueError`` naming the parameter).

    Warnings
    --------
    Mutable: ``swap`` and ``pair_swap`` change the reserves. Venues own pool objects; strategies get
    a ``copy()`` and must not swap on the venue's pool directly.

    Notes
    -----
    Quotes: ``out = ⌊a·n·R_out/(R_in·D + a·n)⌋``, ``in = ⌊R_in·b·D/((R_out − b)·n)⌋ + 1`` with
    ``(n, D) = (10000 − fee_bps, 10000)``. The fee stays in the pair: after a swap the input
    reserve grows by the whole ``amount_in``, and the pair checks
    ``(D·b0 − fee·in0)·(D·b1 − fee·in1) >= R0·R1·D²``.

    References
    ----------
    pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` and ``PancakePair.sol``;
    Uniswap/v2-periphery ``UniswapV2Library.sol``; Uniswap/v2-core ``UniswapV2Pair.sol``.

    Examples
    --------
    >>> pool = PancakeV2Pool(5 * 10**18, 10 * 10**18, fee_bps=30)
    >>> pool.get_amount_out(10**18, 0)      # Uniswap/v2-core test/UniswapV2Pair.spec.ts
    1662497915624478906
    >>> pool.swap(10**18, 0), pool.reserve0, pool.reserve1
    (1662497915624478906, 6000000000000000000, 8337502084375521094)
    """

    __slots__ = ("_reserve0", "_reserve1", "_fee_bps", "_decimals0", "_decimals1")

    def __init__(
        self,
        reserve0: int,
        reserve1: int,
        fee_bps: int = PANCAKE_V2_FEE_BPS,
        *,
        decimals0: int = 18,
        decimals1: int = 18,
    ) -> None:
        self._reserve0 = check_int("reserve0", reserve0, 1, UINT112_MAX)
        self._reserve1 = check_int("reserve1", reserve1, 1, UINT112_MAX)
        self._fee_bps = check_int("fee_bps", fee_bps, 0, _D - 1)
        self._decimals0 = check_int("decimals0", decimals0, 0, 77)
        self._decimals1 = check_int("decimals1", decimals1, 0, 77)

    @property
    def reserve0(self) -> int:
        """Reserve of token0, raw integer units (``getReserves()[0]``)."""
        return self._reserve0

    @property
    def reserve1(self) -> int:
        """Reserve of token1, raw integer units (``getReserves()[1]``)."""
        return self._reserve1

    @property
    def fee_bps(self) -> int:
        """Swap fee in basis points."""
        return self._fee_bps

    @property
    def decimals0(self) -> int:
        """ERC-20 decimals of token0 (used by :attr:`spot_price` only)."""
        return self._decimals0

    @property
    def decimals1(self) -> int:
        """ERC-20 decimals of token1 (used by :attr:`spot_price` only)."""
        return self._decimals1

    @property
    def k(self) -> int:
        """Constant-product invariant ``reserve0·reserve1``, raw units squared."""
        return self._reserve0 * self._reserve1

    @property
    def invariant(self) -> int:
        """Same value as :attr:`k`."""
        return self.k

    @property
    def spot_price(self) -> float:
        """Marginal price of token0 in token1, human units (token1 per token0), before fees."""
        return (self._reserve1 / 10**self._decimals1) / (self._reserve0 / 10**self._decimals0)

    def copy(self) -> PancakeV2Pool:
        """Return an independent pair with the same state and parameters.

        Returns
        -------
        PancakeV2Pool
            A new object; swapping on it leaves this one unchanged.
        """
        return PancakeV2Pool(
            self._reserve0, self._reserve1, self._fee_bps, decimals0=self._decimals0, decimals1=self._decimals1
        )

    def sync(self, reserve0: int, reserve1: int) -> None:
        """Set the reserves, as a recorded ``Sync`` event or ``PancakePair.sync`` does.

        Parameters
        ----------
        reserve0 : int
            New reserve of token0, raw units, 1 to 2**112 − 1.
        reserve1 : int
            New reserve of token1, raw units, 1 to 2**112 − 1.

        Raises
        ------
        PoolParameterError
            If a reserve is out of range.
        """
        self._reserve0 = check_int("reserve0", reserve0, 1, UINT112_MAX)
        self._reserve1 = check_int("reserve1", reserve1, 1, UINT112_MAX)

    def __repr__(self) -> str:
        return f"PancakeV2Pool(reserve0={self._reserve0}, reserve1={self._reserve1}, fee_bps={self._fee_bps})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PancakeV2Pool):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # mutable

    def get_amount_out(self, amount_in: int, token_in: int) -> int:
        """Output for ``amount_in`` of ``token_in``, as ``PancakeLibrary.getAmountOut``.

        Parameters
        ----------
        amount_in : int
            Input amount, raw integer units of ``token_in``, > 0.
        token_in : int
            0 if token0 is sold, 1 if token1 is sold.

        Returns
        -------
        int
            Output amount, raw units of the other token; always < its reserve.

        Raises
        ------
        PoolRevertError
            ``"PancakeLibrary: INSUFFICIENT_INPUT_AMOUNT"`` on a zero input, or a SafeMath overflow.
        PoolParameterError
            If ``amount_in`` is negative or ``token_in`` is not 0/1.

        References
        ----------
        pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` ``getAmountOut``.
        """
        t = check_token("token_in", token_in)
        r_in, r_out = (self._reserve0, self._reserve1) if t == 0 else (self._reserve1, self._reserve0)
        return get_amount_out(amount_in, r_in, r_out, self._fee_bps)

    def get_amount_in(self, amount_out: int, token_out: int) -> int:
        """Input of the other token needed to receive ``amount_out`` of ``token_out``.

        Parameters
        ----------
        amount_out : int
            Wanted output, raw units of ``token_out``, 0 < amount_out < its reserve.
        token_out : int
            0 if token0 is bought, 1 if token1 is bought.

        Returns
        -------
        int
            Input amount, raw units of the other token, as ``PancakeLibrary.getAmountIn``.

        Raises
        ------
        PoolRevertError
            ``"PancakeLibrary: INSUFFICIENT_OUTPUT_AMOUNT"`` on a zero output,
            ``"ds-math-sub-underflow"`` / division by zero when ``amount_out >= reserve``.
        PoolParameterError
            If ``amount_out`` is negative or ``token_out`` is not 0/1.

        References
        ----------
        pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` ``getAmountIn``.
        """
        t = check_token("token_out", token_out)
        r_in, r_out = (self._reserve1, self._reserve0) if t == 0 else (self._reserve0, self._reserve1)
        return get_amount_in(amount_out, r_in, r_out, self._fee_bps)

    def swap(self, amount_in: int, token_in: int, *, min_amount_out: int = 0) -> int:
        """Swap exactly ``amount_in`` of ``token_in`` as the router does; update reserves; return output.

        Parameters
        ----------
        amount_in : int
            Input amount, raw units of ``token_in``, > 0.
        token_in : int
            0 if token0 is sold, 1 if token1 is sold.
        min_amount_out : int, default 0
            Router slippage limit, raw output units.

        Returns
        -------
        int
            Output amount (``get_amount_out``), raw units of the other token.

        Raises
        ------
        PoolRevertError
            Library reverts as in :meth:`get_amount_out`;
            ``"PancakeRouter: INSUFFICIENT_OUTPUT_AMOUNT"`` below ``min_amount_out``; pair reverts
            as in :meth:`pair_swap`. Reserves are unchanged when it raises.

        References
        ----------
        pancakeswap/pancake-smart-contracts ``PancakeRouter.sol`` ``swapExactTokensForTokens``.
        """
        t = check_token("token_in", token_in)
        floor_out = check_int("min_amount_out", min_amount_out, 0, UINT256_MAX)
        out = self.get_amount_out(amount_in, t)
        if out < floor_out:
            raise PoolRevertError("PancakeRouter: INSUFFICIENT_OUTPUT_AMOUNT", "PancakeRouter.swapExactTokensForTokens")
        if t == 0:
            self.pair_swap(0, out, amount_in, 0)
        else:
            self.pair_swap(out, 0, 0, amount_in)
        return out

    def swap_for_exact(self, amount_out: int, token_out: int, *, max_amount_in: int | None = None) -> int:
        """Buy exactly ``amount_out`` of ``token_out`` as the router does; update reserves; return input.

        Parameters
        ----------
        amount_out : int
            Wanted output, raw units of ``token_out``.
        token_out : int
            0 if token0 is bought, 1 if token1 is bought.
        max_amount_in : int or None, default None
            Router slippage limit on the input (None: no limit).

        Returns
        -------
        int
            Input paid (``get_amount_in``), raw units of the other token.

        Raises
        ------
        PoolRevertError
            Library reverts as in :meth:`get_amount_in`; ``"PancakeRouter: EXCESSIVE_INPUT_AMOUNT"``
            above ``max_amount_in``; pair reverts as in :meth:`pair_swap`.

        References
        ----------
        pancakeswap/pancake-smart-contracts ``PancakeRouter.sol`` ``swapTokensForExactTokens``.
        """
        t = check_token("token_out", token_out)
        a = self.get_amount_in(amount_out, t)
        if max_amount_in is not None and a > check_int("max_amount_in", max_amount_in, 0, UINT256_MAX):
            raise PoolRevertError("PancakeRouter: EXCESSIVE_INPUT_AMOUNT", "PancakeRouter.swapTokensForExactTokens")
        if t == 0:
            self.pair_swap(amount_out, 0, 0, a)
        else:
            self.pair_swap(0, amount_out, a, 0)
        return a

    def pair_swap(self, amount0_out: int, amount1_out: int, amount0_in: int, amount1_in: int) -> None:
        """Apply a low-level ``PancakePair.swap`` with the amounts paid in and taken out; check K.

        Use it to replay recorded ``Swap`` events.

        Parameters
        ----------
        amount0_out : int
            token0 sent out, raw units, >= 0.
        amount1_out : int
            token1 sent out, raw units, >= 0.
        amount0_in : int
            token0 paid in, raw units, >= 0.
        amount1_in : int
            token1 paid in, raw units, >= 0.

        Raises
        ------
        PoolRevertError
            ``"Pancake: INSUFFICIENT_OUTPUT_AMOUNT"`` (both outputs 0),
            ``"Pancake: INSUFFICIENT_LIQUIDITY"`` (an output >= its reserve),
            ``"Pancake: INSUFFICIENT_INPUT_AMOUNT"`` (both inputs 0), ``"Pancake: K"``
            (``(D·b0 − fee·in0)(D·b1 − fee·in1) < R0·R1·D²``), ``"Pancake: OVERFLOW"`` (a
            balance above 2**112 − 1). Reserves are unchanged when it raises.
        PoolParameterError
            If an amount is negative.

        References
        ----------
        pancakeswap/pancake-smart-contracts ``PancakePair.sol`` ``swap``, ``_update``.
        """
        o0 = check_int("amount0_out", amount0_out, 0, UINT256_MAX)
        o1 = check_int("amount1_out", amount1_out, 0, UINT256_MAX)
        i0 = check_int("amount0_in", amount0_in, 0, UINT256_MAX)
        i1 = check_int("amount1_in", amount1_in, 0, UINT256_MAX)
        w = "PancakePair.swap"
        if o0 == 0 and o1 == 0:
            raise PoolRevertError("Pancake: INSUFFICIENT_OUTPUT_AMOUNT", w)
        r0, r1 = self._reserve0, self._reserve1
        if o0 >= r0 or o1 >= r1:
            raise PoolRevertError("Pancake: INSUFFICIENT_LIQUIDITY", w)
        if i0 == 0 and i1 == 0:
            raise PoolRevertError("Pancake: INSUFFICIENT_INPUT_AMOUNT", w)
        b0 = _add(r0 - o0, i0, w)
        b1 = _add(r1 - o1, i1, w)
        adj0 = _sub(_mul(b0, _D, w), _mul(i0, self._fee_bps, w), w)
        adj1 = _sub(_mul(b1, _D, w), _mul(i1, self._fee_bps, w), w)
        if _mul(adj0, adj1, w) < _mul(_mul(r0, r1, w), _D * _D, w):
            raise PoolRevertError("Pancake: K", w)
        if b0 > UINT112_MAX or b1 > UINT112_MAX:
            raise PoolRevertError("Pancake: OVERFLOW", "PancakePair._update")
        self._reserve0, self._reserve1 = b0, b1


def _check_path(pools: Sequence[object], tokens: Sequence[int], names: tuple[str, str]) -> None:
    if len(pools) < 1:
        raise PoolRevertError(f"{_LIB}: INVALID_PATH", names[0])
    if len(tokens) != len(pools):
        raise PoolParameterError(names[1], f"needs one entry per pool ({len(pools)}), got {len(tokens)}")


def get_amounts_out(amount_in: int, path_pools: Sequence[_Quoter], tokens_in: Sequence[int]) -> list[int]:
    """Chain ``get_amount_out`` along a path of pools, as the router's ``getAmountsOut``.

    Parameters
    ----------
    amount_in : int
        Input to the first pool, raw units.
    path_pools : sequence of pools
        Pools in path order (any object with ``get_amount_out(amount_in, token_in)``, so Aerodrome
        pools chain the same way as ``Router.getAmountsOut`` there). At least one.
    tokens_in : sequence of int
        For each pool, the index (0/1) of the token it receives; same length as ``path_pools``.

    Returns
    -------
    list of int
        ``[amount_in, out_1, ..., out_n]``: amounts along the path, raw units; each hop charges its
        own pool's fee.

    Raises
    ------
    PoolRevertError
        ``"PancakeLibrary: INVALID_PATH"`` on an empty path, or any hop's revert.
    PoolParameterError
        If ``tokens_in`` does not have one entry per pool.

    References
    ----------
    pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` ``getAmountsOut``.

    Examples
    --------
    >>> p1 = PancakeV2Pool(10**21, 2 * 10**21)
    >>> p2 = PancakeV2Pool(3 * 10**21, 10**21)
    >>> get_amounts_out(10**18, [p1, p2], [0, 0])
    [1000000000000000000, 1993011970559367031, 662237630908675712]
    """
    _check_path(path_pools, tokens_in, ("PancakeLibrary.getAmountsOut", "tokens_in"))
    amounts = [amount_in]
    for pool, t in zip(path_pools, tokens_in, strict=True):
        amounts.append(pool.get_amount_out(amounts[-1], t))
    return amounts


def get_amounts_in(amount_out: int, path_pools: Sequence[_InQuoter], tokens_in: Sequence[int]) -> list[int]:
    """Chain ``get_amount_in`` backwards along a path of pools, as the router's ``getAmountsIn``.

    Parameters
    ----------
    amount_out : int
        Wanted output of the last pool, raw units.
    path_pools : sequence of PancakeV2Pool
        Pools in path order (objects with ``get_amount_in(amount_out, token_out)``). At least one.
    tokens_in : sequence of int
        For each pool, the index (0/1) of the token it receives (it pays out the other one).

    Returns
    -------
    list of int
        ``[in_1, ..., in_n, amount_out]``: the amount to put into each pool, then the final output.

    Raises
    ------
    PoolRevertError
        ``"PancakeLibrary: INVALID_PATH"`` on an empty path, or any hop's revert.
    PoolParameterError
        If ``tokens_in`` does not have one entry per pool.

    References
    ----------
    pancakeswap/pancake-smart-contracts ``PancakeLibrary.sol`` ``getAmountsIn``.

    Examples
    --------
    >>> p1 = PancakeV2Pool(10**21, 2 * 10**21)
    >>> p2 = PancakeV2Pool(3 * 10**21, 10**21)
    >>> get_amounts_in(662237630908675712, [p1, p2], [0, 0])
    [1000000000000000000, 1993011970559367031, 662237630908675712]
    """
    _check_path(path_pools, tokens_in, ("PancakeLibrary.getAmountsIn", "tokens_in"))
    amounts = [amount_out]
    for pool, t in zip(reversed(path_pools), reversed(tokens_in), strict=True):
        amounts.append(pool.get_amount_in(amounts[-1], 1 - check_token("tokens_in", t)))
    amounts.reverse()
    return amounts
