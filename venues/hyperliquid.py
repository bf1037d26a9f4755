"""Hyperliquid order-validity rules: the price grid, size decimals and the $10 minimum.

Pure functions on floats, computed in exact decimal arithmetic so that binary floating-point
artefacts (``0.1 + 0.2``) never push a price off the grid or a size off the lot. The order
book, matching, fees and funding are deliberately not here: they live in
:mod:`venues.orderbook` and :mod:`venues.profiles`.

Every float is read as the shortest decimal string that round-trips to it (``repr``), i.e. the
number a person typed. ``2.675`` is therefore the decimal 2.675, not the binary
2.67499999999999982236431605997495353221893310546875.

See Also
--------
venues.binance : the fixed tick / step grid of Binance USD-M futures.
venues.profiles : venue profiles (fees, minimum notional, rounding) built on these rules.
"""

from __future__ import annotations

import math
import operator
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

__all__ = [
    "MIN_ORDER_VALUE_USD",
    "MIN_ORDER_VALUE_REJECT_MSG",
    "PERP_MAX_DECIMALS",
    "SPOT_MAX_DECIMALS",
    "MAX_SIG_FIGS",
    "is_valid_price",
    "is_valid_size",
    "meets_min_value",
    "price_grid_step",
    "round_price",
    "round_size",
]

#: Most decimal places a perp price may have before ``szDecimals`` is subtracted.
PERP_MAX_DECIMALS = 6
#: Most decimal places a spot price may have before ``szDecimals`` is subtracted.
SPOT_MAX_DECIMALS = 8
#: Most significant figures of a non-integer price.
MAX_SIG_FIGS = 5
#: Minimum order value (limit price × size), in USD (USDC quote units).
MIN_ORDER_VALUE_USD = 10.0
#: The exchange's rejection text for an order below :data:`MIN_ORDER_VALUE_USD`.
MIN_ORDER_VALUE_REJECT_MSG = "Order must have minimum value of $10."

_ROUNDING = {"nearest": ROUND_HALF_EVEN, "down": ROUND_FLOOR, "up": ROUND_CEILING}
# A value within this many ulps of a grid point is treated as that grid point (float noise
# such as 0.1 + 0.2 = 0.30000000000000004); always far below one grid step (>= 1e-4 relative).
_SNAP_ULPS = 4
# Enough digits for any finite double written out in full (max ~1.8e308).
_PREC = 400


def _check_sz_decimals(sz_decimals: int, max_decimals: int, what: str) -> int:
    """Return ``sz_decimals`` as an int after checking it lies in ``0..max_decimals``."""
    if isinstance(sz_decimals, bool):
        raise ValueError(f"sz_decimals must be an integer, got {sz_decimals!r}")
    try:
        n = operator.index(sz_decimals)
    except TypeError:
        raise ValueError(f"sz_decimals must be an integer, got {sz_decimals!r}") from None
    if not 0 <= n <= max_decimals:
        raise ValueError(f"sz_decimals must be in 0..{max_decimals} for {what}, got {n}")
    return n


def _max_price_decimals(sz_decimals: int, perp: bool) -> int:
    """Decimal places allowed in a price: ``6 − szDecimals`` (perp) or ``8 − szDecimals``."""
    if perp:
        return PERP_MAX_DECIMALS - _check_sz_decimals(sz_decimals, PERP_MAX_DECIMALS, "perps")
    return SPOT_MAX_DECIMALS - _check_sz_decimals(sz_decimals, SPOT_MAX_DECIMALS, "spot")


def _to_decimal(x: float, name: str) -> Decimal:
    """Exact decimal of the shortest repr of a finite float; ValueError if NaN or infinite."""
    try:
        xf = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {x!r}") from None
    if not math.isfinite(xf):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return Decimal(repr(xf))


def _snap_tolerance(x: float) -> Decimal:
    """Float noise allowance: values within this of a grid point are that grid point."""
    return Decimal(_SNAP_ULPS * math.ulp(float(x)))


def _grid_exponent(d: Decimal, max_decimals: int) -> int:
    """Base-10 exponent of the grid spacing in the decade of ``d`` (> 0).

    Spacing = ``min(1, max(10^(⌊log10 d⌋ − 4), 10^(−max_decimals)))``.
    """
    return min(0, max(d.adjusted() - (MAX_SIG_FIGS - 1), -max_decimals))


def is_valid_price(px: float, sz_decimals: int, perp: bool = True) -> bool:
    """Whether Hyperliquid accepts ``px`` as a limit price.

    A price is valid when it is a positive integer, or when it has at most 5 significant
    figures and at most ``6 − szDecimals`` decimal places (``8 − szDecimals`` for spot).

    Parameters
    ----------
    px : float
        Price, in quote units (USDC) per base unit. Read as its shortest ``repr`` decimal.
    sz_decimals : int
        The asset's ``szDecimals`` from the info endpoint's ``meta`` response; ``0..6`` for
        perps, ``0..8`` for spot.
    perp : bool, default True
        ``True`` for a perpetual, ``False`` for a spot pair.

    Returns
    -------
    bool
        ``True`` if the price is on the valid grid. Zero, negative, NaN and infinite prices
        give ``False``.

    Raises
    ------
    ValueError
        If ``sz_decimals`` is not an integer in ``0..6`` (perp) or ``0..8`` (spot).

    Notes
    -----
    Significant figures are counted after stripping trailing zeros, so ``1234.50`` has 5.

    References
    ----------
    .. [1] Hyperliquid GitBook, "API › Tick and lot size",
       https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size

    Examples
    --------
    The page's own examples:

    >>> is_valid_price(1234.5, 0), is_valid_price(1234.56, 0)
    (True, False)
    >>> is_valid_price(0.001234, 0), is_valid_price(0.0012345, 0)
    (True, False)
    >>> is_valid_price(0.01234, 1), is_valid_price(0.012345, 1)
    (True, False)
    >>> is_valid_price(123456, 5), is_valid_price(12345.6, 0)
    (True, False)
    >>> is_valid_price(0.0001234, 1, perp=False), is_valid_price(0.0001234, 2, perp=False)
    (True, False)
    """
    max_decimals = _max_price_decimals(sz_decimals, perp)
    try:
        d = _to_decimal(px, "px")
    except ValueError:
        return False
    if d <= 0:
        return False
    if d == d.to_integral_value():
        return True
    sign, digits, exponent = d.normalize().as_tuple()
    assert isinstance(exponent, int)  # 'n'/'N'/'F' only for NaN/inf, which _to_decimal rejects
    return len(digits) <= MAX_SIG_FIGS and -exponent <= max_decimals


def price_grid_step(px: float, sz_decimals: int, perp: bool = True) -> float:
    """Spacing of the valid price grid in the decade of ``px``.

    For ``10^e <= px < 10^(e+1)`` the valid prices are the multiples of
    ``min(1, max(10^(e − 4), 10^−(6 − szDecimals)))`` (``8 − szDecimals`` for spot), so this is
    the distance from a valid ``px`` to the next valid price above it. At a decade boundary
    (``px = 10^e``) the spacing below ``px`` is ten times finer, or the same where the
    decimal-places cap binds.

    Parameters
    ----------
    px : float
        Price, in quote units per base unit. ``> 0``.
    sz_decimals : int
        The asset's ``szDecimals``.
    perp : bool, default True
        ``True`` for a perpetual, ``False`` for a spot pair.

    Returns
    -------
    float
        The grid step (a power of ten, at most 1), in quote units per base unit.

    Raises
    ------
    ValueError
        If ``px`` is not a finite number ``> 0``, or ``sz_decimals`` is out of range.

    References
    ----------
    .. [1] Hyperliquid GitBook, "API › Tick and lot size".

    Examples
    --------
    >>> price_grid_step(3456.7, 4)    # 5 significant figures bind
    0.1
    >>> price_grid_step(1.2345, 4)    # 6 - 4 = 2 decimals bind
    0.01
    >>> price_grid_step(104_250.0, 5) # integers only above 100,000
    1.0
    """
    max_decimals = _max_price_decimals(sz_decimals, perp)
    d = _to_decimal(px, "px")
    if d <= 0:
        raise ValueError(f"px must be > 0, got {px!r}")
    return float(Decimal(1).scaleb(_grid_exponent(d, max_decimals)))


def round_price(px: float, sz_decimals: int, perp: bool = True, mode: str = "nearest") -> float:
    """Round a price onto Hyperliquid's valid price grid.

    Parameters
    ----------
    px : float
        Price, in quote units per base unit. ``> 0`` and finite.
    sz_decimals : int
        The asset's ``szDecimals``; ``0..6`` for perps, ``0..8`` for spot.
    perp : bool, default True
        ``True`` for a perpetual, ``False`` for a spot pair.
    mode : {"nearest", "down", "up"}, default "nearest"
        ``"nearest"`` rounds half to even; ``"down"`` gives the largest valid price ``<= px``
        (use it for bids); ``"up"`` the smallest valid price ``>= px`` (use it for asks);
        both up to float noise (Notes).

    Returns
    -------
    float
        A price for which :func:`is_valid_price` is ``True``. A valid ``px`` is returned
        unchanged.

    Raises
    ------
    ValueError
        If ``px`` is not finite or not ``> 0``; if ``mode`` is not one of the three names; if
        ``sz_decimals`` is out of range; or if the result would be 0 (``px`` below half the
        smallest price step ``10^−(6 − szDecimals)`` for ``"nearest"``, below one step for
        ``"down"``).

    Notes
    -----
    The arithmetic is exact (:class:`decimal.Decimal` of ``repr(px)``), with one allowance for
    floating-point noise: a ``px`` within 4 ulps of a grid price is snapped to that price in
    every mode, so an ask computed as ``0.1 + 0.2`` (``0.30000000000000004``) rounds up to
    ``0.3``, not to ``0.3001``. ``"down"`` may therefore return a price up to 4 ulps above
    ``px`` (and ``"up"`` 4 ulps below), which is economically nil. The grid spacing is
    taken in the decade of ``px`` (see :func:`price_grid_step`); this gives the true nearest,
    floor and ceiling on the whole grid, because each power of ten is itself a grid point.
    Rounding up across a decade lands on that power of ten (``99999.7`` → ``100000``).
    Hyperliquid's Python SDK example rounds to 5 significant figures, then to
    ``6 − szDecimals`` decimals, with Python's ``round`` on binary floats; the grid is the
    same, but this function rounds once and exactly, and offers directed modes.

    References
    ----------
    .. [1] Hyperliquid GitBook, "API › Tick and lot size",
       https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size

    Examples
    --------
    >>> round_price(1234.56, 0)
    1234.6
    >>> round_price(1234.56, 0, mode="down"), round_price(1234.51, 0, mode="up")
    (1234.5, 1234.6)
    >>> round_price(0.0012345, 0)        # half-even on the 6th decimal
    0.001234
    >>> round_price(99999.7, 0, mode="up")
    100000.0
    >>> round_price(123456.7, 0)
    123457.0
    >>> round_price(0.1 + 0.2, 2, mode="up")     # 0.30000000000000004 is float noise
    0.3
    """
    max_decimals = _max_price_decimals(sz_decimals, perp)
    try:
        rounding = _ROUNDING[mode]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of {sorted(_ROUNDING)}, got {mode!r}") from None
    d = _to_decimal(px, "px")
    if d <= 0:
        raise ValueError(f"px must be > 0, got {px!r}")
    step = Decimal(1).scaleb(_grid_exponent(d, max_decimals))
    with localcontext() as ctx:
        ctx.prec = _PREC
        out = d.quantize(step, rounding=ROUND_HALF_EVEN)
        if abs(d - out) > _snap_tolerance(px):
            out = d.quantize(step, rounding=rounding)
    if out <= 0:
        raise ValueError(
            f"px={px!r} rounds {mode} to 0; the smallest valid price for "
            f"sz_decimals={sz_decimals} ({'perp' if perp else 'spot'}) is {step}"
        )
    return float(out)


def round_size(sz: float, sz_decimals: int, mode: str = "nearest") -> float:
    """Round an order size to ``szDecimals`` decimal places.

    Parameters
    ----------
    sz : float
        Size, in base units. ``>= 0`` and finite.
    sz_decimals : int
        The asset's ``szDecimals`` (``0..8``).
    mode : {"nearest", "down", "up"}, default "nearest"
        ``"nearest"`` rounds half to even (``0.125`` → ``0.12`` at 2 decimals); ``"down"``
        truncates towards zero (never sends more than intended); ``"up"`` rounds away from
        zero. Extension: the contract only fixes ``(sz, sz_decimals)``.

    Returns
    -------
    float
        The size on the lot grid ``10^−szDecimals``; may be ``0.0``.

    Raises
    ------
    ValueError
        If ``sz`` is negative or not finite, ``sz_decimals`` is not an integer in ``0..8``, or
        ``mode`` is unknown.

    Notes
    -----
    The exchange rejects sizes with more than ``szDecimals`` decimals rather than rounding
    them; the page says sizes "are rounded to the szDecimals", without naming the rule. Half-
    even is used for ``"nearest"`` so that the rounding has no upward bias. As in
    :func:`round_price`, a size within 4 ulps of a lot multiple is taken as that multiple, so
    ``round_size(0.3 - 0.1, 1, mode="down")`` is ``0.2``, not ``0.1``.

    References
    ----------
    .. [1] Hyperliquid GitBook, "API › Tick and lot size".

    Examples
    --------
    >>> round_size(1.0001, 3), round_size(0.125, 2), round_size(0.135, 2)
    (1.0, 0.12, 0.14)
    >>> round_size(0.0123456, 5, mode="down")
    0.01234
    """
    n = _check_sz_decimals(sz_decimals, SPOT_MAX_DECIMALS, "sizes")
    try:
        rounding = _ROUNDING[mode]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of {sorted(_ROUNDING)}, got {mode!r}") from None
    d = _to_decimal(sz, "sz")
    if d < 0:
        raise ValueError(f"sz must be >= 0, got {sz!r}")
    lot = Decimal(1).scaleb(-n)
    with localcontext() as ctx:
        ctx.prec = _PREC
        out = d.quantize(lot, rounding=ROUND_HALF_EVEN)
        if abs(d - out) > _snap_tolerance(sz):
            out = d.quantize(lot, rounding=rounding)
    return float(out)


def is_valid_size(sz: float, sz_decimals: int) -> bool:
    """Whether ``sz`` is a positive size with at most ``szDecimals`` decimal places.

    Parameters
    ----------
    sz : float
        Size, in base units.
    sz_decimals : int
        The asset's ``szDecimals`` (``0..8``).

    Returns
    -------
    bool
        ``True`` if ``sz > 0``, finite, and on the lot grid.

    Raises
    ------
    ValueError
        If ``sz_decimals`` is not an integer in ``0..8``.

    References
    ----------
    .. [1] Hyperliquid GitBook, "API › Tick and lot size": with ``szDecimals = 3``, ``1.001``
       is a valid size but ``1.0001`` is not.

    Examples
    --------
    >>> is_valid_size(1.001, 3), is_valid_size(1.0001, 3)
    (True, False)
    """
    n = _check_sz_decimals(sz_decimals, SPOT_MAX_DECIMALS, "sizes")
    try:
        d = _to_decimal(sz, "sz")
    except ValueError:
        return False
    exponent = d.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # 'n'/'N'/'F' only for NaN/inf, which _to_decimal rejects
    return d > 0 and -exponent <= n


def meets_min_value(px: float, sz: float) -> bool:
    """Whether an order of ``sz`` at ``px`` meets Hyperliquid's $10 minimum order value.

    Parameters
    ----------
    px : float
        Limit price, in USD (USDC) per base unit.
    sz : float
        Size, in base units.

    Returns
    -------
    bool
        ``True`` if ``px × sz >= 10`` exactly (decimal arithmetic on the ``repr`` of each);
        ``False`` for non-finite inputs.

    Notes
    -----
    Below the minimum the exchange answers "Order must have minimum value of $10."
    (:data:`MIN_ORDER_VALUE_REJECT_MSG`).

    References
    ----------
    .. [1] Hyperliquid GitBook, "API › Tick and lot size" and the exchange's order-rejection
       message.

    Examples
    --------
    >>> meets_min_value(25.0, 0.4), meets_min_value(25.0, 0.39)
    (True, False)
    """
    try:
        value = _to_decimal(px, "px") * _to_decimal(sz, "sz")
    except ValueError:
        return False
    return value >= Decimal(repr(MIN_ORDER_VALUE_USD))
