"""Binance USDⓈ-M futures order-validity rules: a fixed price tick and a fixed quantity step.

Pure functions on floats, computed in exact decimal arithmetic (each float is read as its
shortest ``repr`` decimal), so ``0.29`` floored to a 0.01 tick stays ``0.29`` instead of
becoming ``0.28`` through ``0.29 / 0.01 = 28.999999999999996``. There is no significant-figure
rule on Binance. Fees and the minimum notional live in :mod:`venues.profiles`; the order book
in :mod:`venues.orderbook`.

See Also
--------
venues.hyperliquid : Hyperliquid's significant-figure price grid.
venues.profiles : venue profiles built on these rules.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

__all__ = ["is_on_grid", "meets_min_notional", "round_price_to_tick", "round_qty_to_step"]

_ROUNDING = {"nearest": ROUND_HALF_EVEN, "down": ROUND_FLOOR, "up": ROUND_CEILING}
_PREC = 400
# A value within this many ulps of a grid point is that grid point (float noise).
_SNAP_ULPS = 4


def _to_decimal(x: float, name: str) -> Decimal:
    """Exact decimal of the shortest repr of a finite float; ValueError if NaN or infinite."""
    try:
        xf = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {x!r}") from None
    if not math.isfinite(xf):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return Decimal(repr(xf))


def _positive_step(step: float, name: str) -> Decimal:
    d = _to_decimal(step, name)
    if d <= 0:
        raise ValueError(f"{name} must be > 0, got {step!r}")
    return d


def _round_to_multiple(d: Decimal, step: Decimal, mode: str, x: float) -> Decimal:
    """``d`` rounded onto the multiples of ``step``; within 4 ulps of ``x`` counts as on it."""
    try:
        rounding = _ROUNDING[mode]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of {sorted(_ROUNDING)}, got {mode!r}") from None
    with localcontext() as ctx:
        ctx.prec = _PREC
        ratio = d / step
        nearest = ratio.to_integral_value(rounding=ROUND_HALF_EVEN) * step
        if abs(d - nearest) <= Decimal(_SNAP_ULPS * math.ulp(float(x))):
            return nearest
        return ratio.to_integral_value(rounding=rounding) * step


def round_price_to_tick(px: float, tick_size: float, mode: str = "nearest") -> float:
    """Round a price onto the multiples of ``tick_size``.

    Parameters
    ----------
    px : float
        Price, in quote units (USDT/USDC) per base unit. ``> 0`` and finite.
    tick_size : float
        The symbol's ``PRICE_FILTER.tickSize``, in quote units. ``> 0``.
    mode : {"nearest", "down", "up"}, default "nearest"
        ``"nearest"`` rounds half to even (in ticks); ``"down"`` (bids) floors; ``"up"`` (asks)
        ceils.

    Returns
    -------
    float
        ``n × tick_size`` for an integer ``n >= 1``; a price already on the grid is returned
        unchanged.

    Raises
    ------
    ValueError
        If ``px`` or ``tick_size`` is not finite and ``> 0``, ``mode`` is unknown, or the
        result would be 0.

    Notes
    -----
    Exact decimal arithmetic, except that a ``px`` within 4 ulps of a multiple of the tick is
    taken as that multiple in every mode (float noise such as ``0.1 + 0.2``). Binance's
    filter is ``(price − minPrice) % tickSize == 0`` with ``minPrice <= price <=
    maxPrice``. The grid here is anchored at 0, which is the same grid whenever ``minPrice``
    is itself a multiple of ``tickSize`` (true of the listed USDⓈ-M symbols); the price
    bounds are not checked.

    References
    ----------
    .. [1] Binance Developers, "USDⓈ-M Futures › Common Definitions › Filters"
       (``PRICE_FILTER``), and the ``GET /fapi/v1/exchangeInfo`` response.

    Examples
    --------
    >>> round_price_to_tick(0.29, 0.01, mode="down")
    0.29
    >>> round_price_to_tick(65432.17, 0.1, mode="down"), round_price_to_tick(65432.11, 0.1, "up")
    (65432.1, 65432.2)
    >>> round_price_to_tick(2.25, 0.5)      # 4.5 ticks -> 4 (half-even)
    2.0
    """
    d = _to_decimal(px, "px")
    if d <= 0:
        raise ValueError(f"px must be > 0, got {px!r}")
    step = _positive_step(tick_size, "tick_size")
    out = _round_to_multiple(d, step, mode, px)
    if out <= 0:
        raise ValueError(f"px={px!r} rounds {mode} to 0 on a tick of {tick_size!r}")
    return float(out)


def round_qty_to_step(qty: float, step: float, mode: str = "down") -> float:
    """Round a quantity onto the multiples of ``step``.

    Parameters
    ----------
    qty : float
        Quantity, in base units. ``>= 0`` and finite.
    step : float
        The symbol's ``LOT_SIZE.stepSize``, in base units. ``> 0``.
    mode : {"down", "nearest", "up"}, default "down"
        ``"down"`` truncates (never sends more than intended); ``"nearest"`` is half-even.
        A ``qty`` within 4 ulps of a multiple of ``step`` is taken as that multiple.

    Returns
    -------
    float
        ``n × step`` for an integer ``n >= 0``; may be ``0.0``.

    Raises
    ------
    ValueError
        If ``qty`` is negative or not finite, ``step`` is not finite and ``> 0``, or ``mode``
        is unknown.

    References
    ----------
    .. [1] Binance Developers, "USDⓈ-M Futures › Common Definitions › Filters"
       (``LOT_SIZE``, ``MARKET_LOT_SIZE``).

    Examples
    --------
    >>> round_qty_to_step(0.0299, 0.001)
    0.029
    >>> round_qty_to_step(0.3, 0.1)
    0.3
    """
    d = _to_decimal(qty, "qty")
    if d < 0:
        raise ValueError(f"qty must be >= 0, got {qty!r}")
    s = _positive_step(step, "step")
    return float(_round_to_multiple(d, s, mode, qty))


def is_on_grid(x: float, step: float) -> bool:
    """Whether ``x`` is an exact multiple of ``step`` (decimal arithmetic on the reprs).

    Parameters
    ----------
    x : float
        Price or quantity.
    step : float
        Tick size or step size. ``> 0``.

    Returns
    -------
    bool
        ``True`` if ``x / step`` is an integer; ``False`` for non-finite ``x``.

    Raises
    ------
    ValueError
        If ``step`` is not finite and ``> 0``.

    Examples
    --------
    >>> is_on_grid(0.3, 0.1), is_on_grid(0.35, 0.1)
    (True, False)
    """
    s = _positive_step(step, "step")
    try:
        d = _to_decimal(x, "x")
    except ValueError:
        return False
    with localcontext() as ctx:
        ctx.prec = _PREC
        return d % s == 0


def meets_min_notional(px: float, qty: float, min_notional: float) -> bool:
    """Whether ``px × qty`` reaches the symbol's ``MIN_NOTIONAL.notional``.

    Parameters
    ----------
    px : float
        Price, in quote units per base unit.
    qty : float
        Quantity, in base units.
    min_notional : float
        Minimum order notional, in quote units (e.g. 5 USDT for most USDⓈ-M symbols).

    Returns
    -------
    bool
        ``True`` if ``px × qty >= min_notional`` exactly (decimal arithmetic); ``False`` for
        non-finite ``px`` or ``qty``.

    Raises
    ------
    ValueError
        If ``min_notional`` is negative or not finite.

    Examples
    --------
    >>> meets_min_notional(50.0, 0.1, 5.0), meets_min_notional(49.99, 0.1, 5.0)
    (True, False)
    """
    m = _to_decimal(min_notional, "min_notional")
    if m < 0:
        raise ValueError(f"min_notional must be >= 0, got {min_notional!r}")
    try:
        value = _to_decimal(px, "px") * _to_decimal(qty, "qty")
    except ValueError:
        return False
    return value >= m
