"""Venue profiles: contract type, fees by tier, funding clock, minimum notional and price/size grids.

A :class:`VenueProfile` answers the questions a quoter and the ledger ask: what does a maker or
taker fill cost, in which currency is PnL booked, what is a position worth, where is the next
valid bid or ask price, how much size can be sent, and is the order large enough. Profiles are
small data records built by :func:`make_profile` from a venue name plus the instrument's
tick/lot data; every default below cites the exchange page it comes from (table in
``docs/venues.md``).

- ``binance_usdm``: linear perpetual; size in the base coin; PnL, fees and funding in the
  quote currency (USDT); funding every 8 h.
- ``binance_coinm``: inverse perpetual; size in contracts of ``contract_size`` USD; PnL, fees,
  margin and funding in the base coin (ETH, BTC); funding every 8 h.
- ``binance_spot``: spot; base/quote balances, spot fee schedule, no funding.
- ``hyperliquid_perp``: linear perpetual; PnL in USDC; funding every hour.

``hyperliquid`` is an alias of ``hyperliquid_perp`` (older sweep files use it).

Inverse contracts (Binance COIN-M) quote a price in USD per coin, but a contract is worth a
fixed ``contract_size`` USD, so a position's value and its PnL are in the coin:
``value = n × contract_size / price`` and, closing ``n`` contracts bought at ``entry``,
``PnL = n × contract_size × (1/entry − 1/exit)`` coin (:class:`components.account.Account`);
fees are ``rate × n × contract_size / price`` coin [2]_.

Default fee rates are the published schedules (2024–2025) and change over time; pick a
``fee_tier`` or override ``maker_fee_bps`` / ``taker_fee_bps`` to match the period of the data.

See Also
--------
venues.hyperliquid : Hyperliquid price grid, size decimals, $10 minimum.
venues.binance : Binance fixed tick and step.
components.account : the ledger (linear and inverse).
components.funding : funding payments on the profile's funding clock.

References
----------
.. [1] Hyperliquid GitBook, "Trading › Fees" (perps tiers by 14-day weighted volume, staking
   discounts, referral discount) and "Trading › Funding" (hourly funding, 4 %/h cap).
.. [2] Binance FAQ 360033544231, "Binance Futures Fee Structure & Fee Calculations"
   (USDⓈ-M and COIN-M VIP tables; COIN-M commission = contracts × contract size / price ×
   rate), and "Contract Specifications" of COIN-M perpetuals (BTCUSD_PERP 100 USD, others
   10 USD per contract).
.. [3] Binance, "Spot trading fee rate" (VIP tables) and the spot ``NOTIONAL`` filter.
.. [4] Binance FAQ 360033525031, "Introduction to Binance Futures Funding Rates" (funding at
   00:00, 08:00, 16:00 UTC; only positions open at the funding time pay or receive).
"""

from __future__ import annotations

import functools
import math

import attrs

from venues import binance, hyperliquid

__all__ = [
    "CONTRACTS",
    "FEE_TIERS",
    "PROFILE_NAMES",
    "ProfileMismatchError",
    "VenueProfile",
    "check_feed_profile",
    "coinm_contract_size",
    "detect_capture_venue",
    "make_profile",
    "profile_from_config",
]

#: Venue names accepted by :func:`make_profile` (``hyperliquid`` = ``hyperliquid_perp``).
PROFILE_NAMES = ("binance_usdm", "binance_coinm", "binance_spot", "hyperliquid_perp", "hyperliquid")

#: Contract kinds of :attr:`VenueProfile.contract`.
CONTRACTS = ("linear", "inverse", "spot")

_PRICE_RULES = ("hyperliquid", "fixed_tick")

# (maker_bps, taker_bps) by fee tier (index 0 = entry tier). Sources: [1]-[3] of the module
# docstring; rates as published in 2024-2025, without BNB or other payment-token discounts.
FEE_TIERS: dict[str, tuple[tuple[float, float], ...]] = {
    # Binance USDⓈ-M futures, regular user VIP 0..9 (0.0200 %/0.0500 % ... 0.0000 %/0.0170 %).
    "binance_usdm": (
        (2.0, 5.0), (1.6, 4.0), (1.4, 3.5), (1.2, 3.2), (1.0, 3.0),
        (0.8, 2.7), (0.6, 2.5), (0.4, 2.2), (0.2, 2.0), (0.0, 1.7),
    ),
    # Binance COIN-M futures, regular user VIP 0..9 (0.0200 %/0.0500 % ... 0.0000 %/0.0200 %).
    "binance_coinm": (
        (2.0, 5.0), (1.6, 4.5), (1.4, 4.0), (1.2, 3.0), (1.0, 2.5),
        (0.8, 2.4), (0.6, 2.3), (0.4, 2.2), (0.2, 2.1), (0.0, 2.0),
    ),
    # Binance spot, regular user VIP 0..9 (0.1000 %/0.1000 % ... 0.0120 %/0.0240 %).
    "binance_spot": (
        (10.0, 10.0), (9.0, 10.0), (8.0, 10.0), (4.2, 6.0), (4.2, 5.4),
        (3.6, 4.8), (3.0, 4.2), (2.4, 3.6), (1.8, 3.0), (1.2, 2.4),
    ),
    # Hyperliquid perps, tiers 0..6 by 14-day weighted volume (<= $5M ... > $7B).
    "hyperliquid_perp": (
        (1.5, 4.5), (1.2, 4.0), (0.8, 3.5), (0.4, 3.0), (0.0, 2.8), (0.0, 2.6), (0.0, 2.4),
    ),
}
FEE_TIERS["hyperliquid"] = FEE_TIERS["hyperliquid_perp"]

#: Hyperliquid staking discount tiers (fraction off positive fees) [1]: wood .. diamond.
HL_STAKING_DISCOUNTS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.30, 0.40)
#: Hyperliquid discount for a referred user (first $25M of volume) [1].
HL_REFERRAL_DISCOUNT = 0.04

# name -> (contract, min_notional in quote units, settle-currency rule, funding interval s)
_SPECS: dict[str, tuple[str, float, str, int | None]] = {
    # Binance MIN_NOTIONAL is per symbol in exchangeInfo; 5 USDT is the common value.
    "binance_usdm": ("linear", 5.0, "quote", 8 * 3600),
    # COIN-M orders are whole contracts: no notional filter beyond the 1-contract lot.
    "binance_coinm": ("inverse", 0.0, "base", 8 * 3600),
    # Spot NOTIONAL filter: 5 USDT on the major pairs (per symbol in exchangeInfo).
    "binance_spot": ("spot", 5.0, "quote", None),
    "hyperliquid_perp": ("linear", hyperliquid.MIN_ORDER_VALUE_USD, "USDC", 3600),
    "hyperliquid": ("linear", hyperliquid.MIN_ORDER_VALUE_USD, "USDC", 3600),
}

# Binance COIN-M contract sizes (USD per contract): BTCUSD 100, every other coin 10 [2].
_COINM_SIZE_BTC = 100.0
_COINM_SIZE_OTHER = 10.0
_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "BTC", "ETH", "BNB")


class ProfileMismatchError(ValueError):
    """The venue profile does not fit the recorded data (e.g. a linear profile on an inverse feed)."""


def coinm_contract_size(symbol: str) -> float:
    """USD value of one Binance COIN-M contract of ``symbol`` (``BTCUSD_PERP`` → 100, else 10).

    Parameters
    ----------
    symbol : str
        COIN-M symbol, e.g. ``ETHUSD_PERP`` or ``BTCUSD_240927``.

    Returns
    -------
    float
        Contract size in USD, from Binance's COIN-M contract specifications [2]_.

    Examples
    --------
    >>> coinm_contract_size("BTCUSD_PERP"), coinm_contract_size("ethusd_perp")
    (100.0, 10.0)
    """
    return _COINM_SIZE_BTC if symbol.upper().startswith("BTCUSD") else _COINM_SIZE_OTHER


def _split_symbol(symbol: str) -> tuple[str, str]:
    """``(base, quote)`` of an exchange symbol (``ETHUSDT`` → ETH, USDT; ``ETHUSD_PERP`` → ETH, USD)."""
    s = symbol.upper().split("_")[0].replace("-", "").replace("/", "")
    for q in _QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return s[: -len(q)], q
    return s, ""


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
    contract : {"linear", "inverse", "spot"}, default "linear"
        ``"linear"``: size in base units, value ``qty × px`` in the quote currency.
        ``"inverse"``: size in contracts of ``contract_size`` quote units each, value
        ``qty × contract_size / px`` in the base coin. ``"spot"``: like linear, no funding.
    contract_size : float, default 1.0
        Quote units per contract (inverse only; ``1.0`` otherwise).
    settle_currency : str, default ""
        Currency of fees, PnL and funding (``USDT``, ``USDC``, ``ETH``...); ``""`` if unknown.
    funding_interval_s : int or None, default None
        Nominal funding period in seconds (3600 Hyperliquid, 28800 Binance perps); ``None``
        for spot (no funding).
    fee_tier : int, default 0
        Index into :data:`FEE_TIERS` the default rates came from (informational).
    source : str, default ""
        Where the defaults come from (exchange doc pages).
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
    contract: str = attrs.field(default="linear", validator=attrs.validators.in_(CONTRACTS))
    contract_size: float = attrs.field(default=1.0, converter=float, validator=_positive)
    settle_currency: str = attrs.field(default="")
    funding_interval_s: int | None = attrs.field(default=None)
    fee_tier: int = attrs.field(default=0)
    source: str = attrs.field(default="", eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        """Check that the grid fields fit ``price_rule`` and the contract fields agree."""
        if self.contract != "inverse" and self.contract_size != 1.0:
            raise ValueError(f"{self.name}: contract_size only applies to inverse contracts")
        if self.contract == "spot" and self.funding_interval_s is not None:
            raise ValueError(f"{self.name}: spot instruments have no funding")
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

    @property
    def is_inverse(self) -> bool:
        """Whether sizes are inverse contracts (value and PnL in the base coin)."""
        return self.contract == "inverse"

    @property
    def has_funding(self) -> bool:
        """Whether positions pay or receive funding (perpetuals, not spot)."""
        return self.funding_interval_s is not None

    def notional(self, px: float, qty: float) -> float:
        """Value of ``qty`` at price ``px``, in the settlement currency.

        Parameters
        ----------
        px : float
            Price, quote units per base unit. ``> 0``.
        qty : float
            Size: base units (linear, spot) or contracts (inverse). May be negative (signed).

        Returns
        -------
        float
            ``qty × px`` (linear, spot) or ``qty × contract_size / px`` (inverse, base coin).

        Examples
        --------
        >>> make_profile("binance_coinm", tick_size=0.01, lot_size=1, symbol="ETHUSD_PERP").notional(2500.0, 3)
        0.012
        """
        if self.contract == "inverse":
            return qty * self.contract_size / px
        return qty * px

    def fee(self, px: float, qty: float, is_maker: bool) -> float:
        """Fee of a fill, in the settlement currency (negative for a rebate).

        Parameters
        ----------
        px : float
            Fill price, in quote units per base unit.
        qty : float
            Fill size: base units, or contracts for an inverse profile. ``>= 0``.
        is_maker : bool
            ``True`` for a maker (resting) fill, ``False`` for a taker fill.

        Returns
        -------
        float
            ``notional(px, qty) × fee_bps / 10_000``: ``px × qty × bps / 1e4`` quote units
            (linear, spot), ``qty × contract_size / px × bps / 1e4`` coin (inverse, Binance
            COIN-M commission formula [2]_).

        Examples
        --------
        >>> make_profile("hyperliquid", sz_decimals=2).fee(100.0, 2.0, is_maker=False)
        0.09
        >>> p = make_profile("binance_coinm", tick_size=0.1, lot_size=1, symbol="BTCUSD_PERP")
        >>> round(p.fee(50_000.0, 10, is_maker=False), 12)   # 10 × 100 / 50000 × 5 bps
        1e-05
        """
        bps = self.maker_fee_bps if is_maker else self.taker_fee_bps
        if self.contract == "inverse":
            return qty * self.contract_size / px * bps / 10_000.0
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
    fee_tier: int = 0,
    staking_discount: float = 0.0,
    referral_discount: float = 0.0,
    contract_size: float | None = None,
    symbol: str | None = None,
) -> VenueProfile:
    """Build the :class:`VenueProfile` of one instrument on a named venue.

    Any of ``maker_fee_bps``, ``taker_fee_bps`` and ``min_notional`` left as ``None`` takes
    the venue default (fees: the ``fee_tier`` row of :data:`FEE_TIERS`):

    ====================  =========  =========  ============================  ========
    name                  maker bps  taker bps  min_notional (quote units)    funding
    ====================  =========  =========  ============================  ========
    ``binance_usdm``      2.0        5.0        5 (USDT; per symbol)          8 h
    ``binance_coinm``     2.0        5.0        0 (whole contracts)           8 h
    ``binance_spot``      10.0       10.0       5 (USDT; per symbol)          none
    ``hyperliquid_perp``  1.5        4.5        10 (USDC)                     1 h
    ====================  =========  =========  ============================  ========

    Parameters
    ----------
    name : str
        One of :data:`PROFILE_NAMES` (``"hyperliquid"`` is ``"hyperliquid_perp"``).
    tick_size : float or None, default None
        Price tick, in quote units. Required for the Binance profiles. For Hyperliquid
        optional: a power of ten that coarsens the significant-figure grid (the coarser of
        the two steps applies at each price).
    lot_size : float or None, default None
        Size step (base units; contracts for ``binance_coinm``, default 1). Required for
        ``binance_usdm`` and ``binance_spot``. For Hyperliquid it must be ``10^−szDecimals``;
        given alone it sets ``sz_decimals = round(−log10(lot))``.
    sz_decimals : int or None, default None
        Hyperliquid ``szDecimals`` (``0..6`` for perps). Must be ``None`` for Binance.
    maker_fee_bps, taker_fee_bps : float or None, default None
        Fee in basis points of notional (negative is a rebate); final (no discount applied).
    min_notional : float or None, default None
        Minimum order value ``px × qty`` in quote units.
    fee_tier : int, default 0
        Row of :data:`FEE_TIERS` for the default rates (Binance VIP 0..9, Hyperliquid 0..6).
    staking_discount, referral_discount : float, default 0.0
        Hyperliquid only: fractions taken off the tier's positive fees, multiplicatively
        (``rate × (1 − staking) × (1 − referral)``); staking tiers 5 %..40 %
        (:data:`HL_STAKING_DISCOUNTS`), referral 4 % [1]_. In ``[0, 1)``.
    contract_size : float or None, default None
        ``binance_coinm`` only: USD per contract; default from ``symbol``
        (:func:`coinm_contract_size`).
    symbol : str or None, default None
        Instrument, for the contract size and the settlement currency.

    Returns
    -------
    VenueProfile
        The frozen profile.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the allowed names); if ``fee_tier`` is
        outside the venue's table; for Hyperliquid if both ``sz_decimals`` and ``lot_size``
        are ``None``, if ``lot_size`` is not a power of ten or disagrees with ``sz_decimals``,
        or if ``tick_size`` is not a power of ten; for Binance if ``tick_size`` (or, except
        COIN-M, ``lot_size``) is ``None``, ``sz_decimals`` is given, or a Hyperliquid discount
        is set; for any venue if a number is non-finite or out of range.

    Notes
    -----
    Fee schedules change: the defaults are the tables published in 2024–2025. Hyperliquid
    perps tier 0 (14-day volume <= $5M) charges 0.045 % taker and 0.015 % maker; in June
    2023 the schedule was 2.5 bps taker and a 0.2 bps maker rebate. Binance's 10 % discount
    for paying fees in BNB is not applied. Binance's ``MIN_NOTIONAL`` filter is set per symbol
    in ``exchangeInfo`` (5 USDT is common; some large symbols use more), so pass the symbol's
    value.

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
    >>> vip = make_profile("hyperliquid_perp", sz_decimals=4, fee_tier=2, staking_discount=0.1)
    >>> round(vip.maker_fee_bps, 10), round(vip.taker_fee_bps, 10)   # 0.8 × 0.9, 3.5 × 0.9
    (0.72, 3.15)
    >>> cm = make_profile("binance_coinm", tick_size=0.01, symbol="ETHUSD_PERP")
    >>> cm.contract, cm.contract_size, cm.settle_currency, cm.lot_size
    ('inverse', 10.0, 'ETH', 1.0)
    """
    if name not in _SPECS:
        raise ValueError(f"unknown venue profile {name!r}; allowed: {', '.join(PROFILE_NAMES)}")
    contract, min_d, settle_rule, funding_s = _SPECS[name]
    tiers = FEE_TIERS[name]
    if not (isinstance(fee_tier, int) and 0 <= fee_tier < len(tiers)):
        raise ValueError(f"{name}: fee_tier must be an integer in 0..{len(tiers) - 1}, got {fee_tier!r}")
    is_hl = name.startswith("hyperliquid")
    for label, disc in (("staking_discount", staking_discount), ("referral_discount", referral_discount)):
        if not (math.isfinite(disc) and 0.0 <= disc < 1.0):
            raise ValueError(f"{name}: {label} must be in [0, 1), got {disc!r}")
        if disc and not is_hl:
            raise ValueError(f"{name}: {label} is a Hyperliquid fee discount; leave it 0")
    keep = (1.0 - staking_discount) * (1.0 - referral_discount)
    maker_d, taker_d = (r * keep if r > 0 else r for r in tiers[fee_tier])
    base, quote = _split_symbol(symbol) if symbol else ("", "")
    settle = {"quote": quote, "base": base}.get(settle_rule, settle_rule)
    fees = {
        "maker_fee_bps": maker_d if maker_fee_bps is None else maker_fee_bps,
        "taker_fee_bps": taker_d if taker_fee_bps is None else taker_fee_bps,
        "min_notional": min_d if min_notional is None else min_notional,
        "fee_tier": fee_tier,
        "settle_currency": settle,
        "funding_interval_s": funding_s,
        "contract": contract,
        "source": _SOURCES[name],
    }
    if contract_size is not None and contract != "inverse":
        raise ValueError(f"{name}: contract_size only applies to binance_coinm (inverse)")
    if is_hl:
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
    if contract == "inverse":
        lot_size = 1.0 if lot_size is None else lot_size
        size = contract_size if contract_size is not None else coinm_contract_size(symbol or "")
        fees["contract_size"] = size
    if tick_size is None or lot_size is None:
        raise ValueError(
            f"{name} profile needs tick_size and lot_size "
            f"(PRICE_FILTER.tickSize, LOT_SIZE.stepSize); got {tick_size=}, {lot_size=}"
        )
    if sz_decimals is not None:
        raise ValueError(f"sz_decimals is a Hyperliquid setting; leave it None for {name}")
    return VenueProfile(
        name=name, price_rule="fixed_tick", lot_size=lot_size, tick_size=tick_size,
        is_perp=contract != "spot", **fees,
    )  # fmt: skip


_SOURCES = {
    "binance_usdm": "Binance FAQ 360033544231 (USDⓈ-M VIP fee table); exchangeInfo filters; "
    "funding FAQ 360033525031",
    "binance_coinm": "Binance FAQ 360033544231 (COIN-M VIP fee table, commission = contracts × "
    "contract size / price × rate); COIN-M contract specifications; funding FAQ 360033525031",
    "binance_spot": "Binance spot fee schedule (VIP table); spot exchangeInfo NOTIONAL filter",
    "hyperliquid_perp": "Hyperliquid GitBook: Trading › Fees, Trading › Funding, API › Tick and lot size",
}
_SOURCES["hyperliquid"] = _SOURCES["hyperliquid_perp"]


def profile_from_config(config, meta) -> VenueProfile:
    """Build a venue's profile from its config, falling back to what the feed recorded.

    Parameters
    ----------
    config : venues.orderbook.config.VenueConfig
        ``profile``, ``tick_size``, ``lot_size``, ``sz_decimals``, fee overrides, and (when
        present) ``fee_tier``, ``staking_discount``, ``referral_discount``, ``contract_size``.
    meta : venues.loaders.FeedMeta
        Supplies ``symbol``, ``tick_size``, ``lot_size`` and ``sz_decimals`` when the config
        leaves them out.

    Returns
    -------
    VenueProfile

    Raises
    ------
    ValueError
        As :func:`make_profile`.
    """
    name = config.profile
    is_hl = name.startswith("hyperliquid")
    sz_decimals = config.sz_decimals if config.sz_decimals is not None else meta.sz_decimals
    if not is_hl:
        sz_decimals = None
    if is_hl:
        tick = config.tick_size
        lot = config.lot_size if config.lot_size is not None else (None if sz_decimals is not None else meta.lot_size)
    else:
        tick = config.tick_size if config.tick_size is not None else meta.tick_size
        lot = config.lot_size if config.lot_size is not None else meta.lot_size
    return make_profile(
        name,
        tick_size=tick,
        lot_size=lot,
        sz_decimals=sz_decimals,
        maker_fee_bps=config.maker_fee_bps,
        taker_fee_bps=config.taker_fee_bps,
        min_notional=config.min_notional,
        fee_tier=getattr(config, "fee_tier", 0),
        staking_discount=getattr(config, "staking_discount", 0.0),
        referral_discount=getattr(config, "referral_discount", 0.0),
        contract_size=getattr(config, "contract_size", None),
        symbol=getattr(meta, "symbol", None) or None,
    )


# feed venue label (venues.loaders.FeedMeta.venue) -> the profile to use with it
_FEED_PROFILE = {
    "binance_usdm": "binance_usdm",
    "binance_coinm": "binance_coinm",
    "binance_spot": "binance_spot",
    "hyperliquid": "hyperliquid_perp",
}
_FEED_KIND = {"binance_usdm": "linear", "binance_coinm": "inverse", "binance_spot": "spot",
              "hyperliquid": "linear"}  # fmt: skip
_KIND_WORDS = {"linear": "a linear (USDⓈ-margined) perpetual", "inverse": "an inverse (COIN-M) contract",
               "spot": "a spot market"}  # fmt: skip


def check_feed_profile(profile: str, feed_venue: str | None, symbol: str = "") -> None:
    """Refuse a profile whose contract kind differs from the recorded feed's.

    An inverse capture (``BTCUSD_PERP``, dapi ``…_perp@depth`` streams, labelled
    ``binance_coinm`` by the loader) run with a linear or spot profile, a spot capture run with
    a perp profile, or a linear capture run with the inverse or spot profile is an error: the
    PnL would be in the wrong currency and off by orders of magnitude. Feeds of unknown venue
    (``hftbacktest``, ``None``) pass.

    Parameters
    ----------
    profile : str
        A :data:`PROFILE_NAMES` entry.
    feed_venue : str or None
        ``FeedMeta.venue`` (or :func:`detect_capture_venue`).
    symbol : str, default ""
        For the message.

    Raises
    ------
    ProfileMismatchError
        Naming the profile to use.

    Examples
    --------
    >>> check_feed_profile("binance_coinm", "binance_coinm")
    >>> check_feed_profile("binance_usdm", "binance_coinm", "ETHUSD_PERP")
    Traceback (most recent call last):
    ...
    venues.profiles.ProfileMismatchError: profile 'binance_usdm' is a linear (USDⓈ-margined) \
perpetual but the data (ETHUSD_PERP) is an inverse (COIN-M) contract: use profile = "binance_coinm"
    """
    kind = _FEED_KIND.get(feed_venue or "")
    if kind is None or profile not in _SPECS:
        return
    pkind = _SPECS[profile][0]
    if pkind == kind:
        return
    what = f" ({symbol})" if symbol else ""
    raise ProfileMismatchError(
        f"profile {profile!r} is {_KIND_WORDS[pkind]} but the data{what} is "
        f"{_KIND_WORDS[kind]}: use profile = \"{_FEED_PROFILE[feed_venue]}\""
    )


def detect_capture_venue(fmt: str, paths, symbol: str | None = None, max_lines: int = 20_000):
    """Venue label of a capture from its first depth message, without parsing the whole file.

    Same rules as the Binance loader (:mod:`venues.loaders.binance`): ``binance_coinm`` when the
    symbol has ``_`` (``ETHUSD_PERP``) or the diff has ``ps``; ``binance_usdm`` when diffs carry
    ``pu``; ``binance_spot`` otherwise. Hyperliquid formats are ``hyperliquid``.

    Parameters
    ----------
    fmt : str
        ``DataConfig.format``.
    paths : sequence of str
        The capture files (only the first lines of each are read, until a depth diff).
    symbol : str or None, default None
        Only this symbol's messages count.
    max_lines : int, default 20000
        Lines read per file at most.

    Returns
    -------
    tuple of (str, str) or None
        ``(venue, symbol)``, or ``None`` when unknown (other formats, unreadable file, no diff
        in the first lines); the loader reports unreadable files itself.
    """
    if fmt.startswith("hyperliquid"):
        return ("hyperliquid", symbol or "")
    if fmt != "binance_ws":
        return None
    import json

    from venues.loaders.binance import open_text

    want = symbol.upper() if symbol else None
    for path in paths:
        try:
            with open_text(path) as fh:
                for n, raw in enumerate(fh):
                    if n >= max_lines:
                        break
                    if "depthUpdate" not in raw:
                        continue
                    data = json.loads(raw[raw.find(" ") + 1 :]).get("data") or {}
                    s = str(data.get("s", ""))
                    if want is not None and s.upper() != want:
                        continue
                    if "ps" in data or "_" in s:
                        return ("binance_coinm", s)
                    return ("binance_usdm" if "pu" in data else "binance_spot", s)
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            return None
    return None


def sweep_profile_problems(venue_table: dict, axis_values: dict, data, check_files: bool = True) -> list[str]:
    """Problems of a sweep file's ``[venue]`` profile settings, as ``key.path: message`` lines.

    Checks every value given for ``profile`` (scalar, list or axis) against the recorded data
    (:func:`detect_capture_venue`, :func:`check_feed_profile`) and every ``fee_tier`` /
    ``staking_discount`` / ``referral_discount`` / ``contract_size`` against each profile.

    Parameters
    ----------
    venue_table : dict
        The ``[venue]`` table (axes given as lists still in it).
    axis_values : dict of str to tuple
        Values of ``[venue]`` axes given as tables (ranges, choices), by key.
    data : venues.loaders.DataConfig or None
        The sweep's data (``None`` when ``[data]`` was invalid: only the option checks run).
    check_files : bool, default True
        Read the capture's first lines to detect its venue.

    Returns
    -------
    list of str
    """

    def values(key, default):
        if key in axis_values:
            return list(axis_values[key])
        v = venue_table.get(key, default)
        return list(v) if isinstance(v, list) else [v]

    out: list[str] = []
    names = [p for p in values("profile", "hyperliquid") if isinstance(p, str) and p in _SPECS]
    detected = None
    if data is not None and check_files and names:
        detected = detect_capture_venue(data.format, data.paths, data.symbol)
    for name in dict.fromkeys(names):
        if detected is not None:
            try:
                check_feed_profile(name, detected[0], detected[1])
            except ProfileMismatchError as exc:
                out.append(f"venue.profile: {exc}")
        n_tiers = len(FEE_TIERS[name])
        for tier in values("fee_tier", 0):
            if isinstance(tier, int) and not 0 <= tier < n_tiers:
                out.append(f"venue.fee_tier: {tier}: profile {name!r} has fee tiers 0..{n_tiers - 1}")
        for key in ("staking_discount", "referral_discount"):
            if not name.startswith("hyperliquid") and any(isinstance(d, int | float) and d for d in values(key, 0.0)):
                out.append(f"venue.{key}: a Hyperliquid fee discount; profile {name!r} has none")
        if _SPECS[name][0] != "inverse" and any(c is not None for c in values("contract_size", None)):
            out.append(f"venue.contract_size: only for inverse contracts (binance_coinm), not {name!r}")
    return out
