"""Aerodrome (Velodrome v2) pools with the contract's exact integer math.

:class:`AerodromePool` holds one pool's reserves and reproduces ``Pool.getAmountOut`` and the
state a router swap leaves behind, wei for wei: Python ints stand in for ``uint256`` and every
operation that Solidity 0.8 checks (products, sums, differences, divisions) is checked here and
raises :class:`~venues.amm.errors.PoolRevertError` where the contract would revert.
:func:`get_fee` reproduces ``PoolFactory.getFee``.

This module does not hold constant-product pairs of the Uniswap v2 family
(:mod:`venues.amm.pancake`), concentrated liquidity (:mod:`venues.amm.clmm`), nor the float fast
path for bulk replay (:mod:`venues.amm._amm_nb`).

See Also
--------
venues.amm.pancake : PancakeSwap v2 / Uniswap v2 pairs.
venues.amm._amm_nb : float fast path, bounded against this module in the tests.

References
----------
aerodrome-finance/contracts, ``contracts/Pool.sol``: ``getAmountOut``, ``_getAmountOut``, ``_k``,
``_f``, ``_d``, ``_get_y``, ``swap``; ``contracts/factories/PoolFactory.sol``: ``getFee``.
The paraphrased math with its integer semantics is in ``shared/FORMULAS.md`` section 1.
"""

from __future__ import annotations

from typing import Literal

from venues.amm.errors import (
    PANIC_DIVISION_BY_ZERO,
    PANIC_OVERFLOW,
    UINT256_MAX,
    PoolParameterError,
    PoolRevertError,
    check_int,
    check_token,
)

__all__ = [
    "DEFAULT_STABLE_FEE_BPS",
    "DEFAULT_VOLATILE_FEE_BPS",
    "MAX_FEE_BPS",
    "ZERO_FEE_INDICATOR",
    "AerodromePool",
    "get_fee",
]

_E18 = 10**18

DEFAULT_STABLE_FEE_BPS = 5
"""``PoolFactory`` default fee of stable pools, bps (0.05 %)."""

DEFAULT_VOLATILE_FEE_BPS = 30
"""``PoolFactory`` default fee of volatile pools, bps (0.30 %)."""

ZERO_FEE_INDICATOR = 420
"""Custom-fee sentinel that ``PoolFactory.getFee`` maps to an explicit 0 % fee."""

MAX_FEE_BPS = 300
"""Largest fee governance can set, bps (FORMULAS.md: 1–300). Older ``PoolFactory`` versions cap at 100."""

_MAX_DECIMALS = 77  # 10**77 < 2**256 <= 10**78: ``Pool.initialize`` stores 10**decimals in a uint256


# --- checked uint256 arithmetic (Solidity 0.8 semantics) -------------------------------------------


def _mul(a: int, b: int, where: str) -> int:
    r = a * b
    if r > UINT256_MAX:
        raise PoolRevertError(PANIC_OVERFLOW, where)
    return r


def _add(a: int, b: int, where: str) -> int:
    r = a + b
    if r > UINT256_MAX:
        raise PoolRevertError(PANIC_OVERFLOW, where)
    return r


def _sub(a: int, b: int, where: str) -> int:
    if b > a:
        raise PoolRevertError(PANIC_OVERFLOW, where)
    return a - b


def _div(a: int, b: int, where: str) -> int:
    if b == 0:
        raise PoolRevertError(PANIC_DIVISION_BY_ZERO, where)
    return a // b


# --- the contract's pure pieces --------------------------------------------------------------------


def _f(x0: int, y: int) -> int:
    """``Pool._f``: x0·y·(x0² + y²) on 1e18-normalised amounts, flooring after every product."""
    w = "Pool._f"
    a = _mul(x0, y, w) // _E18
    b = _add(_mul(x0, x0, w) // _E18, _mul(y, y, w) // _E18, w)
    return _mul(a, b, w) // _E18


def _d(x0: int, y: int) -> int:
    """``Pool._d``: ∂f/∂y = 3·x0·y² + x0³ on normalised amounts, flooring after every product."""
    w = "Pool._d"
    t1 = _mul(_mul(3, x0, w), _mul(y, y, w) // _E18, w) // _E18
    t2 = _mul(_mul(x0, x0, w) // _E18, x0, w) // _E18
    return _add(t1, t2, w)


def _k_stable(x: int, y: int, scale0: int, scale1: int) -> int:
    """``Pool._k`` of a stable pool: normalise raw amounts by 10**decimals, then ``_f``."""
    w = "Pool._k"
    xn = _mul(x, _E18, w) // scale0
    yn = _mul(y, _E18, w) // scale1
    a = _mul(xn, yn, w) // _E18
    b = _add(_mul(xn, xn, w) // _E18, _mul(yn, yn, w) // _E18, w)
    return _mul(a, b, w) // _E18


def _get_y(x0: int, xy: int, y: int, scale0: int, scale1: int, probe: str) -> int:
    """``Pool._get_y``: Newton solve of f(x0, y) >= xy from the starting y, 255 rounds at most.

    ``probe="k"`` reproduces the deployed Aerodrome code, whose "y + 1" check calls the
    decimal-rescaling ``_k`` (token0 decimals on x0, token1 decimals on y + 1) on values that are
    already normalised; ``probe="f"`` is Velodrome's October 2024 fix that calls ``_f``.
    """
    w = "Pool._get_y"
    for _ in range(255):
        k = _f(x0, y)
        if k < xy:
            dy = _div(_mul(xy - k, _E18, w), _d(x0, y), w)
            if dy == 0:
                # k == xy is impossible on this branch (k < xy); the contract checks it anyway.
                y1 = _add(y, 1, w)
                above = _k_stable(x0, y1, scale0, scale1) if probe == "k" else _f(x0, y1)
                if above > xy:
                    return y1
                dy = 1
            y = _add(y, dy, w)
        else:
            dy = _div(_mul(k - xy, _E18, w), _d(x0, y), w)
            if dy == 0:
                if k == xy or _f(x0, _sub(y, 1, w)) < xy:
                    return y
                dy = 1
            y = _sub(y, dy, w)
    raise PoolRevertError("!y", w)


def get_fee(
    stable: bool,
    custom_fee_bps: int = 0,
    stable_fee_bps: int = DEFAULT_STABLE_FEE_BPS,
    volatile_fee_bps: int = DEFAULT_VOLATILE_FEE_BPS,
) -> int:
    """Fee of a pool in bps, as ``PoolFactory.getFee`` returns it.

    A non-zero per-pool custom fee wins; the sentinel 420 (:data:`ZERO_FEE_INDICATOR`) means an
    explicit 0 %; otherwise the factory's default for the pool type applies.

    Parameters
    ----------
    stable : bool
        Pool type: True for stable (x³y + xy³), False for volatile (x·y).
    custom_fee_bps : int, default 0
        ``PoolFactory.customFee[pool]``: 0 (unset), 420 (zero fee) or 1 to :data:`MAX_FEE_BPS`.
    stable_fee_bps : int, default 5
        ``PoolFactory.stableFee``, 1 to :data:`MAX_FEE_BPS`.
    volatile_fee_bps : int, default 30
        ``PoolFactory.volatileFee``, 1 to :data:`MAX_FEE_BPS`.

    Returns
    -------
    int
        Fee in basis points, 0 to :data:`MAX_FEE_BPS`.

    Raises
    ------
    PoolParameterError
        If a fee is outside the values ``PoolFactory.setFee`` / ``setCustomFee`` accept.

    Notes
    -----
    ``fee = 0 if custom == 420 else custom if custom != 0 else (stableFee if stable else volatileFee)``.

    References
    ----------
    aerodrome-finance/contracts, ``contracts/factories/PoolFactory.sol``, ``getFee``, ``setFee``,
    ``setCustomFee``.

    Examples
    --------
    >>> get_fee(True), get_fee(False), get_fee(False, 420), get_fee(True, 12)
    (5, 30, 0, 12)
    """
    custom = check_int("custom_fee_bps", custom_fee_bps, 0)
    if custom > MAX_FEE_BPS and custom != ZERO_FEE_INDICATOR:
        raise PoolParameterError("custom_fee_bps", f"must be 0, {ZERO_FEE_INDICATOR} or <= {MAX_FEE_BPS}, got {custom}")
    sfee = check_int("stable_fee_bps", stable_fee_bps, 1, MAX_FEE_BPS)
    vfee = check_int("volatile_fee_bps", volatile_fee_bps, 1, MAX_FEE_BPS)
    if custom == ZERO_FEE_INDICATOR:
        return 0
    if custom != 0:
        return custom
    return sfee if stable else vfee


class AerodromePool:
    """State of one Aerodrome pool (volatile x·y = k or stable x³y + xy³ = k), raw integer units.

    ``get_amount_out`` returns the same integer as ``Pool.getAmountOut`` on chain; ``swap`` leaves
    the reserves the pool's ``swap`` leaves after a router swap (the fee is moved out of the pool to
    ``PoolFees``, so only the net input stays in the reserves).

    Parameters
    ----------
    reserve0 : int
        Reserve of token0, raw integer units (wei-like). Must be > 0 and fit a uint256.
    reserve1 : int
        Reserve of token1, raw integer units. Must be > 0 and fit a uint256.
    decimals0 : int
        ERC-20 decimals of token0, 0 to 77 (``10**decimals`` must fit a uint256).
    decimals1 : int
        ERC-20 decimals of token1, 0 to 77.
    stable : bool
        True for a stable pool (x³y + xy³ on 1e18-normalised reserves), False for volatile (x·y).
    fee_bps : int
        Fee in basis points, as ``PoolFactory.getFee`` returns it (see :func:`get_fee`);
        0 <= fee_bps < 10000.
    probe : {"k", "f"}, default "k"
        Invariant used by ``_get_y``'s "y + 1" check: ``"k"`` is the deployed Aerodrome code,
        ``"f"`` Velodrome's October 2024 fix. Only stable pools are affected.

    Raises
    ------
    TypeError
        If an integer parameter is not an int, or ``stable`` is not a bool.
    PoolParameterError
        If a reserve is <= 0 or above 2**256 − 1, a decimals value is outside 0–77, ``fee_bps``
        is outside [0, 10000), or ``probe`` is not ``"k"``/``"f"`` (a ``ValueError`` naming the
        parameter).

    Warnings
    --------
    Mutable: ``swap`` and ``pair_swap`` change the reserves. Venues own pool objects; strategies get
    a ``copy()`` or a read-only view and must not call ``swap`` on the venue's pool themselves.

    Notes
    -----
    Fee: ``a' = a − ⌊a·fee/10000⌋``. Volatile: ``out = ⌊a'·R_out/(R_in + a')⌋``. Stable: with
    ``n(x) = ⌊x·1e18/10^dec⌋``, ``k = _k(R0, R1)``, ``y = _get_y(n(a') + n(R_in), k, n(R_out))``
    and ``out = ⌊(n(R_out) − y)·10^dec_out/1e18⌋``; ``_f``, ``_d`` and ``_k`` floor by 1e18 after
    every product (FORMULAS.md §1). Every intermediate is checked against 2**256 as Solidity 0.8
    does, e.g. a stable-pool input around 1e14 USDC overflows inside ``_f`` and reverts.

    References
    ----------
    aerodrome-finance/contracts, ``contracts/Pool.sol``: ``getAmountOut``, ``_getAmountOut``,
    ``_k``, ``_f``, ``_d``, ``_get_y``, ``swap``, ``getK``.

    Examples
    --------
    >>> pool = AerodromePool(3 * 10**6, 3 * 10**18, 6, 18, stable=True, fee_bps=1)
    >>> pool.get_amount_out(10**6, 0)    # aerodrome-finance/contracts test/Pool.t.sol
    982117769725505988
    >>> AerodromePool(5 * 10**18, 10 * 10**18, 18, 18, stable=False, fee_bps=30).get_amount_out(10**18, 0)
    1662497915624478906
    """

    __slots__ = (
        "_reserve0",
        "_reserve1",
        "_decimals0",
        "_decimals1",
        "_scale0",
        "_scale1",
        "_stable",
        "_fee_bps",
        "_probe",
    )

    def __init__(
        self,
        reserve0: int,
        reserve1: int,
        decimals0: int,
        decimals1: int,
        stable: bool,
        fee_bps: int,
        *,
        probe: Literal["k", "f"] = "k",
    ) -> None:
        if not isinstance(stable, bool):
            raise TypeError(f"stable: expected a bool, got {type(stable).__name__}")
        if probe not in ("k", "f"):
            raise PoolParameterError("probe", f"must be 'k' (deployed Aerodrome) or 'f' (Velodrome fix), got {probe!r}")
        self._reserve0 = check_int("reserve0", reserve0, 1, UINT256_MAX)
        self._reserve1 = check_int("reserve1", reserve1, 1, UINT256_MAX)
        self._decimals0 = check_int("decimals0", decimals0, 0, _MAX_DECIMALS)
        self._decimals1 = check_int("decimals1", decimals1, 0, _MAX_DECIMALS)
        self._scale0 = 10**self._decimals0
        self._scale1 = 10**self._decimals1
        self._stable = stable
        self._fee_bps = check_int("fee_bps", fee_bps, 0, 9999)
        self._probe = probe

    # --- state ----------------------------------------------------------------------------------

    @property
    def reserve0(self) -> int:
        """Reserve of token0, raw integer units (``Pool.reserve0``)."""
        return self._reserve0

    @property
    def reserve1(self) -> int:
        """Reserve of token1, raw integer units (``Pool.reserve1``)."""
        return self._reserve1

    @property
    def decimals0(self) -> int:
        """ERC-20 decimals of token0."""
        return self._decimals0

    @property
    def decimals1(self) -> int:
        """ERC-20 decimals of token1."""
        return self._decimals1

    @property
    def stable(self) -> bool:
        """True for a stable (x³y + xy³) pool, False for volatile (x·y)."""
        return self._stable

    @property
    def fee_bps(self) -> int:
        """Swap fee in basis points, taken from the input."""
        return self._fee_bps

    @property
    def probe(self) -> str:
        """``_get_y`` "y + 1" probe: ``"k"`` (deployed Aerodrome) or ``"f"`` (Velodrome fix)."""
        return self._probe

    @property
    def k(self) -> int:
        """Invariant as ``Pool.getK`` returns it: ``reserve0·reserve1`` (volatile) or ``_k`` (stable).

        For a stable pool this is ⌊x·y·(x² + y²)⌋ on 1e18-normalised reserves, floored by 1e18 after
        every product (token units of 1e18 to the fourth power / 1e54). Raises
        :class:`~venues.amm.errors.PoolRevertError` (``Panic(0x11)``) where ``_k`` overflows, as
        the contract does for balanced stable pools above roughly 1.5e10 whole tokens a side.
        """
        if self._stable:
            return _k_stable(self._reserve0, self._reserve1, self._scale0, self._scale1)
        return _mul(self._reserve0, self._reserve1, "Pool._k")

    @property
    def invariant(self) -> int:
        """Same value as :attr:`k` (STYLE.md names the stable-pool invariant ``invariant``)."""
        return self.k

    @property
    def spot_price(self) -> float:
        """Marginal price of token0 in token1, human units (token1 per token0), before fees.

        Volatile: ``(r1/10^d1)/(r0/10^d0)``. Stable: ``(3x²y + y³)/(x³ + 3xy²)`` with x, y the
        reserves in human units (minus the ratio of the invariant's partial derivatives).
        """
        x = self._reserve0 / self._scale0
        y = self._reserve1 / self._scale1
        if self._stable:
            return (3.0 * x * x * y + y**3) / (x**3 + 3.0 * x * y * y)
        return y / x

    def copy(self) -> AerodromePool:
        """Return an independent pool with the same state and parameters.

        Returns
        -------
        AerodromePool
            A new object; swapping on it leaves this one unchanged.
        """
        return AerodromePool(
            self._reserve0,
            self._reserve1,
            self._decimals0,
            self._decimals1,
            self._stable,
            self._fee_bps,
            probe=self._probe,
        )

    def sync(self, reserve0: int, reserve1: int) -> None:
        """Set the reserves, as a recorded ``Sync`` event or ``Pool.sync`` does.

        Parameters
        ----------
        reserve0 : int
            New reserve of token0, raw units, > 0.
        reserve1 : int
            New reserve of token1, raw units, > 0.

        Raises
        ------
        PoolParameterError
            If a reserve is <= 0 or above 2**256 − 1.
        """
        self._reserve0 = check_int("reserve0", reserve0, 1, UINT256_MAX)
        self._reserve1 = check_int("reserve1", reserve1, 1, UINT256_MAX)

    def __repr__(self) -> str:
        kind = "stable" if self._stable else "volatile"
        return (
            f"AerodromePool(reserve0={self._reserve0}, reserve1={self._reserve1}, decimals0={self._decimals0}, "
            f"decimals1={self._decimals1}, {kind}, fee_bps={self._fee_bps})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AerodromePool):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # mutable

    # --- quotes ---------------------------------------------------------------------------------

    def fee_amount(self, amount_in: int) -> int:
        """Fee the pool takes from ``amount_in``: ``⌊amount_in·fee_bps/10000⌋``, raw input units.

        Parameters
        ----------
        amount_in : int
            Input amount, raw units, >= 0.

        Returns
        -------
        int
            The part of the input moved to ``PoolFees`` on a swap.

        Raises
        ------
        PoolParameterError
            If ``amount_in`` is negative or above 2**256 − 1.
        PoolRevertError
            If ``amount_in·fee_bps`` overflows a uint256.
        """
        a = check_int("amount_in", amount_in, 0, UINT256_MAX)
        return _mul(a, self._fee_bps, "Pool.getAmountOut") // 10000

    def get_amount_out(self, amount_in: int, token_in: int) -> int:
        """Output for ``amount_in`` of ``token_in``, exactly as ``Pool.getAmountOut``.

        Parameters
        ----------
        amount_in : int
            Input amount, raw integer units of ``token_in``, 0 to 2**256 − 1.
        token_in : int
            0 if token0 is sold, 1 if token1 is sold.

        Returns
        -------
        int
            Output amount, raw integer units of the other token. ``getAmountOut`` does not revert on
            a zero input: it returns 0 (``swap`` then reverts).

        Raises
        ------
        PoolParameterError
            If ``amount_in`` is negative or too large for a uint256, or ``token_in`` is not 0/1.
        PoolRevertError
            Where the contract reverts: uint256 overflow (``Panic(0x11)``, e.g. a huge stable-pool
            input overflowing ``_f``), division by zero (``Panic(0x12)``, e.g. a stable reserve
            that normalises to 0), or ``"!y"`` when ``_get_y`` does not settle in 255 rounds.

        Notes
        -----
        See the class Notes. The fee is removed from the input first, so inputs with
        ``amount_in·fee_bps < 10000`` pay no fee.

        References
        ----------
        aerodrome-finance/contracts, ``contracts/Pool.sol``: ``getAmountOut``, ``_getAmountOut``.

        Examples
        --------
        >>> AerodromePool(2 * 10**6, 2 * 10**18, 6, 18, True, 1).get_amount_out(10**6, 0)
        945128557522723966
        """
        a = check_int("amount_in", amount_in, 0, UINT256_MAX)
        t = check_token("token_in", token_in)
        a -= _mul(a, self._fee_bps, "Pool.getAmountOut") // 10000
        return self._get_amount_out(a, t)

    def _get_amount_out(self, amount_in: int, token_in: int) -> int:
        """``Pool._getAmountOut`` on the current reserves, with the fee already removed."""
        r0, r1 = self._reserve0, self._reserve1
        w = "Pool._getAmountOut"
        if not self._stable:
            r_in, r_out = (r0, r1) if token_in == 0 else (r1, r0)
            return _div(_mul(amount_in, r_out, w), _add(r_in, amount_in, w), w)
        s0, s1 = self._scale0, self._scale1
        xy = _k_stable(r0, r1, s0, s1)
        n0 = _mul(r0, _E18, w) // s0
        n1 = _mul(r1, _E18, w) // s1
        if token_in == 0:
            r_a, r_b, s_in, s_out = n0, n1, s0, s1
        else:
            r_a, r_b, s_in, s_out = n1, n0, s1, s0
        a_n = _mul(amount_in, _E18, w) // s_in
        y = _sub(r_b, _get_y(_add(a_n, r_a, w), xy, r_b, s0, s1, self._probe), w)
        return _mul(y, s_out, w) // _E18

    # --- state changes --------------------------------------------------------------------------

    def swap(self, amount_in: int, token_in: int, *, min_amount_out: int = 0) -> int:
        """Swap ``amount_in`` of ``token_in`` as the router does, update the reserves, return the output.

        The router quotes ``getAmountOut``, transfers the input to the pool and calls
        ``Pool.swap`` for that output; the pool moves the fee to ``PoolFees`` and checks
        ``_k(balances) >= _k(reserves)``.

        Parameters
        ----------
        amount_in : int
            Input amount, raw integer units of ``token_in``, > 0.
        token_in : int
            0 if token0 is sold, 1 if token1 is sold.
        min_amount_out : int, default 0
            Router slippage limit, raw output units; the swap reverts when the output is below it.

        Returns
        -------
        int
            Output amount, raw units of the other token (what ``getAmountOut`` quoted).

        Raises
        ------
        PoolParameterError
            If an argument is out of range.
        PoolRevertError
            ``"InsufficientOutputAmount"`` when the output is 0 (e.g. ``amount_in == 0``) or below
            ``min_amount_out``; ``"InsufficientLiquidity"``, ``"K"`` or a panic as ``Pool.swap``
            and ``getAmountOut`` do. The reserves are unchanged when it raises.

        References
        ----------
        aerodrome-finance/contracts, ``contracts/Router.sol`` ``swapExactTokensForTokens`` and
        ``contracts/Pool.sol`` ``swap``.
        """
        t = check_token("token_in", token_in)
        floor_out = check_int("min_amount_out", min_amount_out, 0, UINT256_MAX)
        out = self.get_amount_out(amount_in, t)
        if out < floor_out:
            raise PoolRevertError("InsufficientOutputAmount", "Router.swapExactTokensForTokens")
        if t == 0:
            self.pair_swap(0, out, amount_in, 0)
        else:
            self.pair_swap(out, 0, 0, amount_in)
        return out

    def pair_swap(self, amount0_out: int, amount1_out: int, amount0_in: int, amount1_in: int) -> tuple[int, int]:
        """Apply a low-level ``Pool.swap``: tokens paid in, tokens taken out, fee moved out, K checked.

        Use it to replay recorded ``Swap`` events (``amount0In, amount1In, amount0Out, amount1Out``).

        Parameters
        ----------
        amount0_out : int
            token0 sent out of the pool, raw units, >= 0.
        amount1_out : int
            token1 sent out of the pool, raw units, >= 0.
        amount0_in : int
            token0 paid into the pool, raw units, >= 0.
        amount1_in : int
            token1 paid into the pool, raw units, >= 0.

        Returns
        -------
        fee0, fee1 : int
            Fees moved to ``PoolFees`` (raw units of token0 and token1); they leave the reserves.

        Raises
        ------
        PoolParameterError
            If an amount is negative or above 2**256 − 1.
        PoolRevertError
            ``"InsufficientOutputAmount"`` (both outputs 0), ``"InsufficientLiquidity"`` (an output
            >= its reserve), ``"InsufficientInputAmount"`` (both inputs 0), ``"K"`` (the invariant
            after fees is below the invariant before), or a panic. Reserves are unchanged then.

        References
        ----------
        aerodrome-finance/contracts, ``contracts/Pool.sol``, ``swap``.
        """
        o0 = check_int("amount0_out", amount0_out, 0, UINT256_MAX)
        o1 = check_int("amount1_out", amount1_out, 0, UINT256_MAX)
        i0 = check_int("amount0_in", amount0_in, 0, UINT256_MAX)
        i1 = check_int("amount1_in", amount1_in, 0, UINT256_MAX)
        w = "Pool.swap"
        if o0 == 0 and o1 == 0:
            raise PoolRevertError("InsufficientOutputAmount", w)
        r0, r1 = self._reserve0, self._reserve1
        if o0 >= r0 or o1 >= r1:
            raise PoolRevertError("InsufficientLiquidity", w)
        if i0 == 0 and i1 == 0:
            raise PoolRevertError("InsufficientInputAmount", w)
        fee0 = _mul(i0, self._fee_bps, w) // 10000
        fee1 = _mul(i1, self._fee_bps, w) // 10000
        b0 = _add(r0 - o0, i0, w) - fee0
        b1 = _add(r1 - o1, i1, w) - fee1
        if self._stable:
            k_new = _k_stable(b0, b1, self._scale0, self._scale1)
            k_old = _k_stable(r0, r1, self._scale0, self._scale1)
        else:
            k_new = _mul(b0, b1, "Pool._k")
            k_old = _mul(r0, r1, "Pool._k")
        if k_new < k_old:
            raise PoolRevertError("K", w)
        self._reserve0, self._reserve1 = b0, b1
        return fee0, fee1
