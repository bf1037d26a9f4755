"""``clmm.py``: a concentrated-liquidity pool with the Uniswap v3 contract's exact integer math.

:class:`ConcentratedPool` holds the swap-relevant state of a Uniswap v3 pool (``slot0``'s
``sqrt_price_x96`` and ``tick``, the in-range ``liquidity``, and ``liquidityNet`` /
``liquidityGross`` of every initialized tick) and reproduces ``UniswapV3Pool.swap``
step for step, so amounts and the final price are the integers the contract would produce.
PancakeSwap v3 and Aerodrome Slipstream pools use the same math.

Deliberately not here: positions and their fee accounting (``feeGrowthGlobal``, tokens owed,
``collect``), the protocol fee (it changes fee growth, never prices or amounts), oracle
observations, token transfers and callbacks. ``mint``/``burn`` move liquidity only; they
return the token amounts owed/paid but keep no per-owner position. Constant-product and
stable pools live in :mod:`venues.amm.aerodrome` and :mod:`venues.amm.pancake`.

See Also
--------
venues.amm._v3math : TickMath, FullMath, SqrtPriceMath, SwapMath, TickBitmap pieces.
venues.loaders.uniswap_v3 : recorded Swap/Mint/Burn/Collect events of real pools.
"""

from __future__ import annotations

from venues.amm import _v3math as m
from venues.amm._v3math import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, Q96
from venues.amm.errors import PoolParameterError, PoolRevertError

__all__ = ["ConcentratedPool", "max_liquidity_per_tick"]

_UINT128_MAX = (1 << 128) - 1


def max_liquidity_per_tick(tick_spacing: int) -> int:
    """Largest ``liquidityGross`` a tick may hold (``Tick.tickSpacingToMaxLiquidityPerTick``).

    Parameters
    ----------
    tick_spacing : int
        Pool tick spacing, > 0.

    Returns
    -------
    int
        ``uint128.max // number_of_usable_ticks``.

    References
    ----------
    Uniswap v3 core ``contracts/libraries/Tick.sol``, ``tickSpacingToMaxLiquidityPerTick``.

    Examples
    --------
    >>> max_liquidity_per_tick(10) == ((1 << 128) - 1) // 177455
    True
    """
    # Solidity int division truncates towards zero.
    min_tick = -((-MIN_TICK) // tick_spacing) * tick_spacing
    max_tick = (MAX_TICK // tick_spacing) * tick_spacing
    num_ticks = (max_tick - min_tick) // tick_spacing + 1
    return _UINT128_MAX // num_ticks


class ConcentratedPool:
    """A Uniswap v3 pool's price, liquidity and tick state, with the contract's exact swap.

    Parameters
    ----------
    sqrt_price_x96 : int
        Q64.96 square root of the raw price token1/token0 (``slot0.sqrtPriceX96``), in
        ``[MIN_SQRT_RATIO, MAX_SQRT_RATIO)``.
    liquidity : int
        uint128 in-range liquidity (``UniswapV3Pool.liquidity``).
    tick : int
        Current tick (``slot0.tick``). Normally ``get_tick_at_sqrt_ratio(sqrt_price_x96)``, but
        after a swap that ended exactly on an initialized tick going down the contract leaves
        ``tick = tick_next - 1`` while the price sits on ``tick_next``; both are accepted
        (``tick`` must be one of those two values).
    fee_pips : int
        Swap fee in hundredths of a basis point (500 = 0.05 %), ``0 <= fee_pips < 1_000_000``.
    tick_spacing : int
        Spacing of initializable ticks (10 for the 0.05 % tier), > 0.
    ticks : dict of int to int or None, default None
        ``liquidityNet`` of each initialized tick (every key a multiple of ``tick_spacing``
        within ``[MIN_TICK, MAX_TICK]``). A key with value 0 is an initialized tick with no net
        liquidity (it still ends a swap step). Copied, not referenced.

    Attributes
    ----------
    sqrt_price_x96 : int
    liquidity : int
    tick : int
    fee_pips : int
    tick_spacing : int
    ticks : dict of int to int
        ``liquidityNet`` by initialized tick, kept in sync by :meth:`mint`/:meth:`burn`.
    liquidity_gross : dict of int to int
        ``liquidityGross`` by initialized tick; for ticks given in the constructor it starts
        at ``abs(liquidityNet)`` (a lower bound; the true gross is not observable from net).

    Raises
    ------
    PoolParameterError
        A ``ValueError``: ``"R"`` for a price outside ``[MIN_SQRT_RATIO, MAX_SQRT_RATIO)``; a fee ``>= 1e6`` or
        ``< 0``; ``tick_spacing <= 0``; negative or > uint128 liquidity; a ``tick`` that does
        not match the price; a ``ticks`` key off the spacing grid or out of range.

    Notes
    -----
    Sign convention of amounts is the contract's (pool perspective): positive = paid into
    the pool, negative = paid out. ``amount_specified > 0`` is an exact-input swap,
    ``< 0`` exact output.

    References
    ----------
    Uniswap v3 core ``contracts/UniswapV3Pool.sol`` (``swap``, ``_modifyPosition``,
    ``_updatePosition``); Adams et al. (2021), "Uniswap v3 Core", §6.

    Examples
    --------
    >>> pool = ConcentratedPool(2**96, 10**18, 0, fee_pips=3000, tick_spacing=60)
    >>> pool.quote(10**15, zero_for_one=True)
    (1000000000000000, -996006981039903)
    """

    __slots__ = ("fee_pips", "liquidity", "liquidity_gross", "sqrt_price_x96", "tick", "tick_spacing", "ticks")

    def __init__(
        self,
        sqrt_price_x96: int,
        liquidity: int,
        tick: int,
        fee_pips: int,
        tick_spacing: int,
        ticks: dict[int, int] | None = None,
    ) -> None:
        sqrt_price_x96, liquidity, tick = int(sqrt_price_x96), int(liquidity), int(tick)
        if not (MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO):
            raise PoolParameterError("sqrt_price_x96", f"R: {sqrt_price_x96} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
        if not (0 <= fee_pips < 1_000_000):
            raise PoolParameterError("fee_pips", f"must be in [0, 1_000_000), got {fee_pips}")
        if tick_spacing <= 0:
            raise PoolParameterError("tick_spacing", f"must be > 0, got {tick_spacing}")
        if not (0 <= liquidity <= _UINT128_MAX):
            raise PoolParameterError("liquidity", f"must be a uint128, got {liquidity}")
        t = m.get_tick_at_sqrt_ratio(sqrt_price_x96)
        if tick != t and not (tick == t - 1 and m.get_sqrt_ratio_at_tick(t) == sqrt_price_x96):
            raise PoolParameterError("tick", f"{tick} does not match sqrt_price_x96 (tick {t})")
        self.sqrt_price_x96 = sqrt_price_x96
        self.liquidity = liquidity
        self.tick = tick
        self.fee_pips = int(fee_pips)
        self.tick_spacing = int(tick_spacing)
        self.ticks: dict[int, int] = {}
        self.liquidity_gross: dict[int, int] = {}
        for k, net in (ticks or {}).items():
            k, net = int(k), int(net)
            if k % tick_spacing or not (MIN_TICK <= k <= MAX_TICK):
                raise PoolParameterError("ticks", f"tick {k} is not a multiple of tick_spacing={tick_spacing} in range")
            self.ticks[k] = net
            self.liquidity_gross[k] = abs(net)

    # ------------------------------------------------------------------ views
    @property
    def price(self) -> float:
        """Raw price token1 per token0 as a float, ``(sqrt_price_x96 / 2**96) ** 2``.

        Returns
        -------
        float
            No decimal adjustment: for USDC(6)/WETH(18) multiply by 1e-12 for WETH per USDC.
        """
        return (self.sqrt_price_x96 / Q96) ** 2

    def copy(self) -> ConcentratedPool:
        """Return an independent copy (tick maps copied).

        Returns
        -------
        ConcentratedPool
        """
        new = object.__new__(ConcentratedPool)
        new.sqrt_price_x96 = self.sqrt_price_x96
        new.liquidity = self.liquidity
        new.tick = self.tick
        new.fee_pips = self.fee_pips
        new.tick_spacing = self.tick_spacing
        new.ticks = dict(self.ticks)
        new.liquidity_gross = dict(self.liquidity_gross)
        return new

    def __repr__(self) -> str:
        return (
            f"ConcentratedPool(sqrt_price_x96={self.sqrt_price_x96}, liquidity={self.liquidity}, "
            f"tick={self.tick}, fee_pips={self.fee_pips}, tick_spacing={self.tick_spacing}, "
            f"n_ticks={len(self.ticks)})"
        )

    # ------------------------------------------------------------------ swap
    def _swap(
        self, amount_specified: int, zero_for_one: bool, sqrt_price_limit_x96: int | None, commit: bool
    ) -> tuple[int, int]:
        amount_specified = int(amount_specified)
        if amount_specified == 0:
            raise PoolRevertError("AS", "UniswapV3Pool.swap")
        if sqrt_price_limit_x96 is None:
            sqrt_price_limit_x96 = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        price = self.sqrt_price_x96
        if zero_for_one:
            ok = price > sqrt_price_limit_x96 > MIN_SQRT_RATIO
        else:
            ok = price < sqrt_price_limit_x96 < MAX_SQRT_RATIO
        if not ok:
            raise PoolRevertError("SPL", "UniswapV3Pool.swap")
        exact_input = amount_specified > 0
        remaining = amount_specified
        calculated = 0
        tick = self.tick
        liquidity = self.liquidity
        ticks = self.ticks
        tick_list = sorted(ticks)
        spacing = self.tick_spacing
        fee = self.fee_pips
        crossed: list[tuple[int, int]] = []
        while remaining != 0 and price != sqrt_price_limit_x96:
            price_start = price
            tick_next, initialized = m.next_initialized_tick_within_one_word(tick_list, tick, spacing, zero_for_one)
            if tick_next < MIN_TICK:
                tick_next = MIN_TICK
            elif tick_next > MAX_TICK:
                tick_next = MAX_TICK
            price_next = m.get_sqrt_ratio_at_tick(tick_next)
            if (price_next < sqrt_price_limit_x96) if zero_for_one else (price_next > sqrt_price_limit_x96):
                target = sqrt_price_limit_x96
            else:
                target = price_next
            price, amount_in, amount_out, fee_amount = m.compute_swap_step(price, target, liquidity, remaining, fee)
            if exact_input:
                remaining -= amount_in + fee_amount
                calculated -= amount_out
            else:
                remaining += amount_out
                calculated += amount_in + fee_amount
            if price == price_next:
                if initialized:
                    net = ticks[tick_next]
                    if zero_for_one:
                        net = -net
                    liquidity = m.add_delta(liquidity, net)
                    crossed.append((tick_next, net))
                tick = tick_next - 1 if zero_for_one else tick_next
            elif price != price_start:
                tick = m.get_tick_at_sqrt_ratio(price)
        if zero_for_one == exact_input:
            amount0, amount1 = amount_specified - remaining, calculated
        else:
            amount0, amount1 = calculated, amount_specified - remaining
        if commit:
            self.sqrt_price_x96 = price
            self.tick = tick
            self.liquidity = liquidity
        return amount0, amount1

    def swap(
        self, amount_specified: int, zero_for_one: bool, sqrt_price_limit_x96: int | None = None
    ) -> tuple[int, int]:
        """Swap against the pool and update its state (``UniswapV3Pool.swap``).

        Parameters
        ----------
        amount_specified : int
            > 0: exact input of that many raw units of the input token (token0 if
            ``zero_for_one``), fee included; < 0: exact output of ``-amount_specified`` of the
            output token.
        zero_for_one : bool
            True: token0 in, token1 out (price falls); False: token1 in (price rises).
        sqrt_price_limit_x96 : int or None, default None
            The swap stops at this price (partial fill). ``None``: ``MIN_SQRT_RATIO + 1`` /
            ``MAX_SQRT_RATIO - 1``, i.e. no limit (what the periphery router passes for 0).

        Returns
        -------
        amount0, amount1 : int
            Signed token deltas from the pool's perspective (positive = received by the pool),
            exactly as the contract's ``Swap`` event.

        Raises
        ------
        PoolRevertError
            A ``ValueError`` with the contract's reason: ``"AS"`` if ``amount_specified == 0``;
            ``"SPL"`` if the limit is not strictly on the
            swap's side of the current price or not strictly inside
            ``(MIN_SQRT_RATIO, MAX_SQRT_RATIO)``; ``"LS"`` if crossing a tick would make the
            in-range liquidity negative (an inconsistent tick map). The state is unchanged
            when it raises.

        Notes
        -----
        The loop of ``UniswapV3Pool.swap``: find the next initialized tick within the bitmap
        word (``TickBitmap.nextInitializedTickWithinOneWord``), clamp it to
        ``[MIN_TICK, MAX_TICK]``, step towards it or the limit with
        ``SwapMath.computeSwapStep``; on reaching an initialized tick add its
        ``liquidityNet`` (negated when ``zero_for_one``) to the liquidity and set
        ``tick = tick_next - 1`` going down or ``tick_next`` going up; otherwise recompute the
        tick from the price. With ``liquidity == 0`` a step jumps to the next tick for free.

        References
        ----------
        Uniswap v3 core ``contracts/UniswapV3Pool.sol``, ``swap``.

        Examples
        --------
        >>> pool = ConcentratedPool(2**96, 10**18, 0, fee_pips=500, tick_spacing=10)
        >>> a0, a1 = pool.swap(-10**15, zero_for_one=False)   # buy exactly 1e15 token0
        >>> a0, a1 > 10**15
        (-1000000000000000, True)
        """
        return self._swap(amount_specified, zero_for_one, sqrt_price_limit_x96, True)

    def quote(
        self, amount_specified: int, zero_for_one: bool, sqrt_price_limit_x96: int | None = None
    ) -> tuple[int, int]:
        """Amounts :meth:`swap` would return, without changing the pool (``QuoterV2`` semantics).

        Parameters
        ----------
        amount_specified : int
            As in :meth:`swap`.
        zero_for_one : bool
            As in :meth:`swap`.
        sqrt_price_limit_x96 : int or None, default None
            As in :meth:`swap`.

        Returns
        -------
        amount0, amount1 : int
            As in :meth:`swap`.

        Raises
        ------
        ValueError
            As in :meth:`swap`.

        References
        ----------
        Uniswap v3 periphery ``contracts/lens/QuoterV2.sol`` (simulates ``UniswapV3Pool.swap``).
        """
        return self._swap(amount_specified, zero_for_one, sqrt_price_limit_x96, False)

    def sqrt_price_after(
        self, amount_specified: int, zero_for_one: bool, sqrt_price_limit_x96: int | None = None
    ) -> int:
        """Price :meth:`swap` would leave, without changing the pool.

        Parameters
        ----------
        amount_specified : int
            As in :meth:`swap`.
        zero_for_one : bool
            As in :meth:`swap`.
        sqrt_price_limit_x96 : int or None, default None
            As in :meth:`swap`.

        Returns
        -------
        int
            ``sqrt_price_x96`` after the swap.

        Raises
        ------
        ValueError
            As in :meth:`swap`.
        """
        tmp = self.copy()
        tmp.swap(amount_specified, zero_for_one, sqrt_price_limit_x96)
        return tmp.sqrt_price_x96

    # ------------------------------------------------------------------ liquidity
    def _check_ticks(self, tick_lower: int, tick_upper: int) -> None:
        if tick_lower >= tick_upper:
            raise PoolRevertError("TLU", "UniswapV3Pool.checkTicks")
        if tick_lower < MIN_TICK:
            raise PoolRevertError("TLM", "UniswapV3Pool.checkTicks")
        if tick_upper > MAX_TICK:
            raise PoolRevertError("TUM", "UniswapV3Pool.checkTicks")
        if tick_lower % self.tick_spacing or tick_upper % self.tick_spacing:
            raise PoolRevertError(
                f"ticks ({tick_lower}, {tick_upper}) must be multiples of tick_spacing={self.tick_spacing}",
                "TickBitmap.flipTick",
            )

    def _modify(self, tick_lower: int, tick_upper: int, liquidity_delta: int) -> tuple[int, int]:
        """``UniswapV3Pool._modifyPosition`` without the position/fee bookkeeping."""
        self._check_ticks(tick_lower, tick_upper)
        max_per_tick = max_liquidity_per_tick(self.tick_spacing)
        new_gross = {}
        for t in (tick_lower, tick_upper):
            gross = m.add_delta(self.liquidity_gross.get(t, 0), liquidity_delta)
            if gross > max_per_tick:
                raise PoolRevertError("LO", "Tick.update")
            new_gross[t] = gross
        in_range = tick_lower <= self.tick < tick_upper
        new_liquidity = m.add_delta(self.liquidity, liquidity_delta) if in_range else self.liquidity
        # amounts (SqrtPriceMath signed getAmount0/1Delta)
        sa, sb = m.get_sqrt_ratio_at_tick(tick_lower), m.get_sqrt_ratio_at_tick(tick_upper)
        if self.tick < tick_lower:
            amount0, amount1 = m.get_amount0_delta_signed(sa, sb, liquidity_delta), 0
        elif self.tick < tick_upper:
            amount0 = m.get_amount0_delta_signed(self.sqrt_price_x96, sb, liquidity_delta)
            amount1 = m.get_amount1_delta_signed(sa, self.sqrt_price_x96, liquidity_delta)
        else:
            amount0, amount1 = 0, m.get_amount1_delta_signed(sa, sb, liquidity_delta)
        # commit (Tick.update: lower adds, upper subtracts; gross 0 → uninitialized)
        for t, sign in ((tick_lower, 1), (tick_upper, -1)):
            net = self.ticks.get(t, 0) + sign * liquidity_delta
            if new_gross[t] == 0:
                self.ticks.pop(t, None)
                self.liquidity_gross.pop(t, None)
            else:
                self.ticks[t] = net
                self.liquidity_gross[t] = new_gross[t]
        self.liquidity = new_liquidity
        return amount0, amount1

    def mint(self, tick_lower: int, tick_upper: int, liquidity: int) -> tuple[int, int]:
        """Add ``liquidity`` on ``[tick_lower, tick_upper)`` (``UniswapV3Pool.mint``).

        Parameters
        ----------
        tick_lower, tick_upper : int
            Range bounds, multiples of ``tick_spacing``, ``MIN_TICK <= tick_lower < tick_upper
            <= MAX_TICK``.
        liquidity : int
            uint128 liquidity to add, > 0.

        Returns
        -------
        amount0, amount1 : int
            Tokens owed to the pool (rounded up), as in the ``Mint`` event.

        Raises
        ------
        PoolRevertError
            A ``ValueError`` with the contract's reason: ``"TLU"`` (lower >= upper), ``"TLM"``
            (lower < MIN_TICK), ``"TUM"``
            (upper > MAX_TICK), ticks off the spacing grid, ``liquidity <= 0``, ``"LO"`` (tick
            gross liquidity above ``max_liquidity_per_tick``), ``"LA"`` (overflow).

        References
        ----------
        Uniswap v3 core ``contracts/UniswapV3Pool.sol``, ``mint`` / ``_modifyPosition``;
        ``contracts/libraries/Tick.sol``, ``update``.

        Examples
        --------
        >>> pool = ConcentratedPool(2**96, 0, 0, fee_pips=500, tick_spacing=10)
        >>> pool.mint(-10, 10, 10**18)
        (499850034993002, 499850034993002)
        >>> pool.liquidity, pool.ticks
        (1000000000000000000, {-10: 1000000000000000000, 10: -1000000000000000000})
        """
        if int(liquidity) <= 0:
            raise PoolRevertError("liquidity must be > 0", "UniswapV3Pool.mint")
        return self._modify(int(tick_lower), int(tick_upper), int(liquidity))

    def burn(self, tick_lower: int, tick_upper: int, liquidity: int) -> tuple[int, int]:
        """Remove ``liquidity`` from ``[tick_lower, tick_upper)`` (``UniswapV3Pool.burn``).

        Parameters
        ----------
        tick_lower, tick_upper : int
            Range bounds, as in :meth:`mint`.
        liquidity : int
            uint128 liquidity to remove, > 0.

        Returns
        -------
        amount0, amount1 : int
            Tokens released (rounded down), positive, as in the ``Burn`` event.

        Raises
        ------
        PoolRevertError
            The tick checks of :meth:`mint` (a ``ValueError``); ``"LS"`` if more than the
            ticks' ``liquidity_gross`` or the in-range liquidity would be removed (there are no
            per-owner positions here, so the contract's ``"NP"`` check is not made).
        PoolParameterError
            If ``liquidity <= 0``.

        References
        ----------
        Uniswap v3 core ``contracts/UniswapV3Pool.sol``, ``burn`` / ``_modifyPosition``.
        """
        if int(liquidity) <= 0:
            raise PoolParameterError("liquidity", "must be > 0")
        a0, a1 = self._modify(int(tick_lower), int(tick_upper), -int(liquidity))
        return -a0, -a1
