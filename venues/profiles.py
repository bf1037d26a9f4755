"""Venue profiles: fees, minimum order notional and price/size rounding for one instrument.

A :class:`VenueProfile` answers the questions a quoter asks before it sends an order: what
does a maker or taker fill cost, where is the next valid bid or ask price, how much size can
be sent, and is the order large enough. Profiles are built by :func:`make_profile` from a
venue name plus the instrument's tick/lot data. This module holds no matching, queue or
funding logic (see :mod:`venues.orderbook`) and no per-account fee tiers beyond the
overridable default rates.

Default fee rates are the entry tiers at the time of writing (2025) and change over time;
override ``maker_fee_bps`` / ``taker_fee_bps`` to match the period of the recorded data.

See Also
--------
venues.hyperliquid : Hyperliquid price grid, size decimals, $10 minimum.
venues.binance : Binance USDⓈ-M fixed tick and step.
"""

from __future__ import annotations

import functools
import math

import attrs

from venues import binance, hyperliquid

__all__ = ["PROFILE_NAMES", "VenueProfile", "make_profile"]

#: Venue names accepted by :func:`make_profile`.
PROFILE_NAMES = ("binance_usdm", "hyperliquid")

_PRICE_RULES = ("hyperliquid", "fixed_tick")

# Entry-tier defaults: (maker_fee_bps, taker_fee_bps, min_notional in quote units).
_DEFAULTS: dict[str, tuple[float, float, float]] = {
    # Hyperliquid "Trading › Fees", perps tier 0 (<= $5M 14-day volume): 0.015 % / 0.045 %.
    "hyperliquid": (1.5, 4.5, hyperliquid.MIN_ORDER_VALUE_USD),
    # Binance fee schedule, USDⓈ-M futures, regular user VIP 0: 0.0200 % / 0.0500 %.
    # MIN_NOTIONAL is per symbol in exchangeInfo; 5 USDT is the common value.
    "binance_usdm": (2.0, 5.0, 5.0),
}


@functools.lru_cache(maxsize=64)
def _step_decimals(step: float) -> int:
    """Number of decimals of a grid step's shortest repr (``0.01`` → 2, ``0.25`` → 2, ``5.0`` → 0)."""
    text = format(step, ".15g")
    if "e" in text:
        mantissa, exp = text.split("e")
        frac = mantissa.split(".")[1] if "." in mantissa else ""
        return max(0, len(frac.rstrip("0")) - int(exp))
    frac = text.split(".")[1] if "." in text else ""
    return len(frac.rstrip("0"))


@functools.lru_cache(maxsize=64)
def _steps_per_unit(step: float) -> int:
    """``1/step`` when it is a whole number (0.01 → 100, 0.5 → 2), else 0."""
    inv = 1.0 / step
    per = round(inv)
    return per if per >= 1 and abs(inv - per) <= 1e-9 * per else 0


def _snap_round(x: float, step: float, mode: str) -> float:
    """Float fast path of the exact decimal rounding in :mod:`venues.binance`.

    ``x`` within 4 ulps of a multiple of ``step`` is that multiple (as in the exact path);
    otherwise it is floored (``"down"``) or ceiled (``"up"``) onto the multiples of ``step``.
    The result is ``n / (1/step)`` when ``1/step`` is a whole number (a correctly rounded
    division, so exactly the float nearest the decimal ``n·step``), else ``n·step`` rounded to
    the step's decimals: the same float the exact path returns (property-tested), except for a
    price within half an ulp of the 4-ulp snapping threshold, where the exact path measures the
    distance from the price's decimal repr and this one from its binary value.
    """
    per = _steps_per_unit(step)
    if per:
        r = x * per
        k = round(r)
        if abs(x - k / per) <= 4.0 * math.ulp(x):
            return k / per
        return (math.floor(r) if mode == "down" else math.ceil(r)) / per
    r = x / step
    k = round(r)
    if abs(x - k * step) <= 4.0 * math.ulp(x):
        n = k
    elif mode == "down":
        n = math.floor(r)
    else:
        n = math.ceil(r)
    return round(n * step, _step_decimals(step))


def _finite(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def _positive_or_none(instance: object, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be finite and > 0, got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be finite and > 0, got {value!r}")


def _is_power_of_ten(x: float) -> bool:
    e = round(math.log10(x))
    return math.isclose(x, 10.0**e, rel_tol=1e-12)


@attrs.frozen(kw_only=True)
class VenueProfile:
    """Fees, minimum notional and price/size grids of one instrument on one venue.

    Build it with :func:`make_profile`; direct construction is allowed and validated.

    Attributes
    ----------
    name : str
        Venue name, one of :data:`PROFILE_NAMES` for built profiles.
    maker_fee_bps : float
        Fee on a maker (resting) fill, in basis points of notional; negative is a rebate.
    taker_fee_bps : float
        Fee on a taker (aggressing) fill, in basis points of notional.
    min_notional : float
        Smallest accepted order value ``px × qty``, in quote units. ``>= 0``.
    price_rule : {"hyperliquid", "fixed_tick"}
        ``"hyperliquid"``: 5 significant figures and ``6 − szDecimals`` decimals (see
        :mod:`venues.hyperliquid`), optionally coarsened by ``tick_size``. ``"fixed_tick"``:
        multiples of ``tick_size``.
    lot_size : float
        Size step, in base units. ``> 0``; ``10^−sz_decimals`` for Hyperliquid.
    tick_size : float or None
        Fixed price tick, in quote units. Required for ``"fixed_tick"``. For
        ``"hyperliquid"`` it is optional, must be a power of ten, and acts as a floor on the
        grid step: valid prices are then the Hyperliquid-valid multiples of ``tick_size``.
    sz_decimals : int or None
        Hyperliquid ``szDecimals``; required for ``"hyperliquid"``, ``None`` otherwise.
    is_perp : bool, default True
        Perpetual (``True``) or spot (``False``); changes Hyperliquid's decimals cap.
    """

    name: str
    maker_fee_bps: float = attrs.field(converter=float, validator=_finite)
    taker_fee_bps: float = attrs.field(converter=float, validator=_finite)
    min_notional: float = attrs.field(converter=float, validator=[_finite, attrs.validators.ge(0)])
    price_rule: str = attrs.field(validator=attrs.validators.in_(_PRICE_RULES))
    lot_size: float = attrs.field(converter=float, validator=_positive)
    tick_size: float | None = attrs.field(default=None, validator=_positive_or_none)
    sz_decimals: int | None = attrs.field(default=None)
    is_perp: bool = attrs.field(default=True)

    def __attrs_post_init__(self) -> None:
        """Check that the grid fields fit ``price_rule``."""
        if self.price_rule == "fixed_tick":
            if self.tick_size is None:
                raise ValueError(f"{self.name}: price_rule 'fixed_tick' needs tick_size")
            if self.sz_decimals is not None:
                raise ValueError(f"{self.name}: sz_decimals only applies to Hyperliquid")
            return
        if self.sz_decimals is None:
            raise ValueError(f"{self.name}: price_rule 'hyperliquid' needs sz_decimals")
        hyperliquid.price_grid_step(1.0, self.sz_decimals, self.is_perp)  # range check
        if not math.isclose(self.lot_size, 10.0**-self.sz_decimals, rel_tol=1e-12):
            raise ValueError(
                f"{self.name}: lot_size {self.lot_size!r} does not match "
                f"sz_decimals={self.sz_decimals} (expected {10.0**-self.sz_decimals!r})"
            )
        if self.tick_size is not None and not _is_power_of_ten(self.tick_size):
            raise ValueError(
                f"{self.name}: tick_size on a Hyperliquid profile must be a power of ten "
                f"(it coarsens the significant-figure grid), got {self.tick_size!r}"
            )

    def tick_at(self, px: float) -> float:
        """Price grid step at ``px``, in quote units.

        Parameters
        ----------
        px : float
            Price, in quote units per base unit. ``> 0``.

        Returns
        -------
        float
            ``tick_size`` for a fixed grid; for Hyperliquid the coarser of the grid step in the
            decade of ``px`` (:func:`venues.hyperliquid.price_grid_step`) and ``tick_size``.

        Raises
        ------
        ValueError
            If ``px`` is not finite and ``> 0``.

        Examples
        --------
        >>> make_profile("hyperliquid", sz_decimals=4).tick_at(3456.7)
        0.1
        """
        if self.price_rule == "fixed_tick":
            if not (math.isfinite(px) and px > 0):
                raise ValueError(f"px must be finite and > 0, got {px!r}")
            return self.tick_size
        if not (math.isfinite(px) and px > 0):
            raise ValueError(f"px must be finite and > 0, got {px!r}")
        # float twin of hyperliquid.price_grid_step: 10^(e-4) within the decade 10^e, at least
        # 10^-(max decimals), at most 1 (tested equal on random prices)
        max_decimals = (6 if self.is_perp else 8) - self.sz_decimals
        e = math.floor(math.log10(px))
        if 10.0 ** (e + 1) <= px:  # log10 rounding just below a power of ten
            e += 1
        elif 10.0**e > px:
            e -= 1
        step = 1.0 if e - 4 >= 0 else 10.0 ** max(e - 4, -max_decimals)
        step = round(step, max_decimals)
        return step if self.tick_size is None else max(step, self.tick_size)

    def _round_px(self, px: float, mode: str) -> float:
        # Float fast path (quoters call this at every decision); it returns the same float as
        # hyperliquid.round_price / binance.round_price_to_tick (tests/venues/test_profiles.py).
        if not (px > 0 and math.isfinite(px)):
            raise ValueError(f"px must be finite and > 0, got {px!r}")
        out = _snap_round(px, self.tick_at(px), mode)
        if out <= 0:
            raise ValueError(f"px {px!r} rounds {mode} to 0 on the {self.name} price grid")
        return out

    def round_bid(self, px: float) -> float:
        """Largest valid price ``<= px`` (a bid never improves by rounding).

        Parameters
        ----------
        px : float
            Intended bid price, in quote units per base unit. ``> 0``.

        Returns
        -------
        float
            A price for which :meth:`is_valid_price` is ``True``.

        Raises
        ------
        ValueError
            If ``px`` is not finite and ``> 0`` or rounds down to 0.

        Examples
        --------
        >>> make_profile("binance_usdm", tick_size=0.1, lot_size=0.001).round_bid(65432.17)
        65432.1
        """
        return self._round_px(px, "down")

    def round_ask(self, px: float) -> float:
        """Smallest valid price ``>= px`` (an ask never improves by rounding).

        Parameters
        ----------
        px : float
            Intended ask price, in quote units per base unit. ``> 0``.

        Returns
        -------
        float
            A price for which :meth:`is_valid_price` is ``True``.

        Raises
        ------
        ValueError
            If ``px`` is not finite and ``> 0``.

        Examples
        --------
        >>> make_profile("hyperliquid", sz_decimals=5).round_ask(99999.7)
        100000.0
        """
        return self._round_px(px, "up")

    def round_qty(self, qty: float) -> float:
        """Largest size on the lot grid ``<= qty``, in base units (may be 0).

        Parameters
        ----------
        qty : float
            Intended size, in base units. ``>= 0``.

        Returns
        -------
        float
            A multiple of ``lot_size``.

        Raises
        ------
        ValueError
            If ``qty`` is negative or not finite.

        Examples
        --------
        >>> make_profile("hyperliquid", sz_decimals=2).round_qty(1.239)
        1.23
        """
        if not (qty >= 0 and math.isfinite(qty)):
            raise ValueError(f"qty must be finite and >= 0, got {qty!r}")
        return _snap_round(qty, self.lot_size, "down")

    def is_valid_price(self, px: float) -> bool:
        """Whether the venue accepts ``px`` as a limit price for this instrument.

        Parameters
        ----------
        px : float
            Price, in quote units per base unit.

        Returns
        -------
        bool
            ``False`` for non-positive or non-finite prices.

        Examples
        --------
        >>> p = make_profile("hyperliquid", sz_decimals=0)
        >>> p.is_valid_price(1234.5), p.is_valid_price(1234.56)
        (True, False)
        """
        if not (math.isfinite(px) and px > 0):
            return False
        if self.price_rule == "hyperliquid" and not hyperliquid.is_valid_price(
            px, self.sz_decimals, self.is_perp
        ):
            return False
        return self.tick_size is None or binance.is_on_grid(px, self.tick_size)

    def meets_min_notional(self, px: float, qty: float) -> bool:
        """Whether an order of ``qty`` at ``px`` reaches ``min_notional``.

        Parameters
        ----------
        px : float
            Limit price, in quote units per base unit.
        qty : float
            Size, in base units.

        Returns
        -------
        bool
            ``True`` if ``px × qty >= min_notional`` (exact decimal comparison).

        Examples
        --------
        >>> make_profile("hyperliquid", sz_decimals=2).meets_min_notional(99.5, 0.1)
        False
        """
        return binance.meets_min_notional(px, qty, self.min_notional)

    def fee(self, px: float, qty: float, is_maker: bool) -> float:
        """Fee of a fill, in quote units (negative for a rebate).

        Parameters
        ----------
        px : float
            Fill price, in quote units per base unit.
        qty : float
            Fill size, in base units. ``>= 0``.
        is_maker : bool
            ``True`` for a maker (resting) fill, ``False`` for a taker fill.

        Returns
        -------
        float
            ``px × qty × fee_bps / 10_000``.

        Examples
        --------
        >>> make_profile("hyperliquid", sz_decimals=2).fee(100.0, 2.0, is_maker=False)
        0.09
        """
        bps = self.maker_fee_bps if is_maker else self.taker_fee_bps
        return px * qty * bps / 10_000.0


def make_profile(
    name: str,
    *,
    tick_size: float | None = None,
    lot_size: float | None = None,
    sz_decimals: int | None = None,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
    min_notional: float | None = None,
) -> VenueProfile:
    """Build the :class:`VenueProfile` of one instrument on a named venue.

    Any of ``maker_fee_bps``, ``taker_fee_bps`` and ``min_notional`` left as ``None`` takes
    the venue default:

    ================  =========  =========  ====================================
    name              maker bps  taker bps  min_notional (quote units)
    ================  =========  =========  ====================================
    ``hyperliquid``   1.5        4.5        10 (USDC)
    ``binance_usdm``  2.0        5.0        5 (USDT; per symbol, configurable)
    ================  =========  =========  ====================================

    Parameters
    ----------
    name : str
        ``"hyperliquid"`` (perpetuals) or ``"binance_usdm"`` (USDⓈ-M futures).
    tick_size : float or None, default None
        Price tick, in quote units. Required for ``"binance_usdm"``. For ``"hyperliquid"``
        optional: a power of ten that coarsens the significant-figure grid (the coarser of
        the two steps applies at each price).
    lot_size : float or None, default None
        Size step, in base units. Required for ``"binance_usdm"``. For ``"hyperliquid"`` it
        must be ``10^−szDecimals``; given alone it sets ``sz_decimals = round(−log10(lot))``.
    sz_decimals : int or None, default None
        Hyperliquid ``szDecimals`` (``0..6`` for perps). Must be ``None`` for Binance.
    maker_fee_bps : float or None, default None
        Maker fee in basis points of notional; negative is a rebate.
    taker_fee_bps : float or None, default None
        Taker fee in basis points of notional.
    min_notional : float or None, default None
        Minimum order value ``px × qty`` in quote units.

    Returns
    -------
    VenueProfile
        The frozen profile.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the allowed names); for
        ``"hyperliquid"`` if both ``sz_decimals`` and ``lot_size`` are ``None``, if
        ``lot_size`` is not a power of ten or disagrees with ``sz_decimals``, or if
        ``tick_size`` is not a power of ten; for ``"binance_usdm"`` if ``tick_size`` or
        ``lot_size`` is ``None`` or ``sz_decimals`` is given; for any venue if a number is
        non-finite or out of range.

    Notes
    -----
    Fee schedules change: the defaults are the entry tiers as published in 2025. Hyperliquid
    perps tier 0 (14-day volume <= $5M) charges 0.045 % taker and 0.015 % maker; staking and
    referral discounts are not applied; in June 2023 the schedule was 2.5 bps taker and a
    0.2 bps maker rebate. Binance USDⓈ-M regular users (VIP 0) pay 0.0200 % maker and 0.0500 %
    taker; the 10 % discount for paying fees in BNB is not applied. Binance's
    ``MIN_NOTIONAL`` filter is set per symbol in ``exchangeInfo`` (5 USDT is common; some
    large symbols use more), so pass the symbol's value.

    References
    ----------
    .. [1] Hyperliquid GitBook, "Trading › Fees" and "API › Tick and lot size".
    .. [2] Binance, "Fee Rate" schedule (USDⓈ-M Futures, Regular User / VIP 0), and Binance
       Developers, "USDⓈ-M Futures › Common Definitions › Filters".

    Examples
    --------
    >>> hl = make_profile("hyperliquid", sz_decimals=4)
    >>> hl.maker_fee_bps, hl.taker_fee_bps, hl.min_notional, hl.lot_size
    (1.5, 4.5, 10.0, 0.0001)
    >>> hl.round_bid(3456.78), hl.round_ask(3456.71)
    (3456.7, 3456.8)
    >>> bn = make_profile("binance_usdm", tick_size=0.01, lot_size=0.001, maker_fee_bps=1.8)
    >>> bn.maker_fee_bps, bn.round_bid(3456.789), bn.round_qty(0.0129)
    (1.8, 3456.78, 0.012)
    """
    if name not in _DEFAULTS:
        raise ValueError(f"unknown venue profile {name!r}; allowed: {', '.join(PROFILE_NAMES)}")
    maker_d, taker_d, min_d = _DEFAULTS[name]
    fees = {
        "maker_fee_bps": maker_d if maker_fee_bps is None else maker_fee_bps,
        "taker_fee_bps": taker_d if taker_fee_bps is None else taker_fee_bps,
        "min_notional": min_d if min_notional is None else min_notional,
    }
    if name == "hyperliquid":
        if sz_decimals is None and lot_size is None:
            raise ValueError(
                "hyperliquid profile needs sz_decimals (or lot_size = 10**-szDecimals)"
            )
        if sz_decimals is None:
            if not (math.isfinite(lot_size) and lot_size > 0 and _is_power_of_ten(lot_size)):
                raise ValueError(
                    f"hyperliquid lot_size must be a power of ten 10**-szDecimals, got {lot_size!r}"
                )
            sz_decimals = round(-math.log10(lot_size))
        return VenueProfile(
            name=name,
            price_rule="hyperliquid",
            lot_size=10.0**-sz_decimals if lot_size is None else lot_size,
            tick_size=tick_size,
            sz_decimals=sz_decimals,
            is_perp=True,
            **fees,
        )
    # binance_usdm
    if tick_size is None or lot_size is None:
        raise ValueError(
            f"binance_usdm profile needs tick_size and lot_size "
            f"(PRICE_FILTER.tickSize, LOT_SIZE.stepSize); got {tick_size=}, {lot_size=}"
        )
    if sz_decimals is not None:
        raise ValueError("sz_decimals is a Hyperliquid setting; leave it None for binance_usdm")
    return VenueProfile(
        name=name, price_rule="fixed_tick", lot_size=lot_size, tick_size=tick_size, **fees
    )
