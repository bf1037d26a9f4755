"""Funding payments of a perpetual position, charged at each recorded settlement.

At each settlement time ``t_k`` in the replayed span, with the position ``q`` held at that
moment (fills before ``t_k`` count, a fill at ``t_k`` does not: the settlement runs before
the strategy's timers and after the fills the replay produced up to ``t_k``), the account pays::

    linear  (USDⓈ-M, Hyperliquid):  payment = q × mark_k × rate_k               quote units
    inverse (COIN-M):               payment = q × contract_size / mark_k × rate_k   coin

so **longs pay and shorts receive when the rate is positive** (a negative payment is income).
``mark_k`` is the recorded mark price at the settlement (Binance: mark price [1]_; Hyperliquid:
oracle price [2]_); when the source records none (Hyperliquid ``fundingHistory``), the venue's
mid at ``t_k`` stands in (counted in ``funding_mark_from_mid``).

Rates are used as recorded: the exchanges already applied their caps and clamps, which are
(for the docstring's completeness, not re-applied here): Binance ``F = P + clamp(I − P,
−0.05 %, 0.05 %)`` per 8 h with a per-symbol cap/floor (e.g. ±0.375 % / 8 h on BTCUSDT),
settled at 00:00, 08:00 and 16:00 UTC, only positions open at that instant pay [1]_;
Hyperliquid: the 8-hour rate ``premium + clamp(interest − premium, ±0.0005)`` paid as 1/8 every
hour, capped at 4 % per hour [2]_.

A run spanning nominal funding times (:func:`nominal_funding_times`)
without recorded rates charges nothing for them and says so: ``funding_missing`` counts those
times, and the trial's warnings name them. Spot profiles have no funding.

References
----------
.. [1] Binance FAQ 360033525031, "Introduction to Binance Futures Funding Rates"; COIN-M:
   "funding amount = nominal value × rate, nominal value = contracts × contract size / mark".
.. [2] Hyperliquid GitBook, "Trading › Funding" (``funding payment = position size × oracle
   price × funding rate``; hourly; 4 %/h cap).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from components.base import Component
from engine.events import Priority

_HOUR_NS = 3600 * 10**9

if TYPE_CHECKING:
    from components.account import Account
    from engine.kernel import Simulation
    from venues.loaders.funding import FundingRates
    from venues.orderbook.venue import OrderBookVenue

__all__ = ["FUNDING_DTYPE", "FundingSchedule", "funding_payment"]

FUNDING_DTYPE = np.dtype(
    [("ts_ns", np.int64), ("rate", np.float64), ("mark", np.float64), ("q", np.float64),
     ("payment", np.float64)]
)  # fmt: skip
"""Settlement log rows: time (ns), rate (fraction), mark used (quote units per base unit),
position held (base units or contracts), payment (settlement currency; > 0 paid)."""


def funding_payment(q: float, mark: float, rate: float, contract_size: float | None = None) -> float:
    """Funding paid by a position at one settlement (module docstring formula).

    Parameters
    ----------
    q : float
        Signed position: base units (linear) or contracts (inverse).
    mark : float
        Mark / oracle price, quote units per base unit, ``> 0``.
    rate : float
        Funding rate of the interval, decimal fraction.
    contract_size : float or None, default None
        ``None``: linear (quote units). Else inverse: quote value of one contract (coin result).

    Returns
    -------
    float
        Positive when paid (long with a positive rate), negative when received.

    Examples
    --------
    >>> funding_payment(2.0, 30_000.0, 0.0001)            # long 2 BTC pays 6 USDT
    6.0
    >>> round(funding_payment(-50, 2_500.0, 0.0001, 10.0), 12)  # short 50 × 10 USD receives coin
    -2e-05
    """
    if contract_size is None:
        return q * mark * rate
    return q * contract_size / mark * rate


def _iso(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def nominal_funding_times(venue: str, start_ns: int, end_ns: int) -> npt.NDArray[np.int64]:
    """Funding times a venue's schedule puts in ``(start_ns, end_ns]``, ns.

    Binance perpetuals settle at 00:00, 08:00 and 16:00 UTC (most symbols; some use 4 h) [1]_,
    Hyperliquid every whole hour [2]_; spot and unknown venues never.

    Parameters
    ----------
    venue : str
        ``FeedMeta.venue`` or a profile name.
    start_ns, end_ns : int
        The replayed span, ns since the epoch.

    Returns
    -------
    ndarray of int64

    References
    ----------
    .. [1] Binance FAQ 360033525031, "Introduction to Binance Futures Funding Rates".
    .. [2] Hyperliquid GitBook, "Trading › Funding".
    """
    if venue in ("binance_usdm", "binance_coinm"):
        step = 8 * _HOUR_NS
    elif venue.startswith("hyperliquid"):
        step = _HOUR_NS
    else:
        return np.zeros(0, dtype=np.int64)
    first = (start_ns // step + 1) * step
    return np.arange(first, end_ns + 1, step, dtype=np.int64)



class FundingSchedule(Component):
    """Charges recorded funding to an account at each settlement inside the replay.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    venue : venues.orderbook.venue.OrderBookVenue
        Its ``profile`` (contract, funding clock), ``start_ns``/``end_ns`` and ``mid``.
    account : components.account.Account
        Debited/credited with :meth:`~components.account.Account.on_funding`.
    rates : venues.loaders.funding.FundingRates or None
        Recorded settlements; ``None`` when none were found.
    feed_venue : str, default ""
        ``FeedMeta.venue``: picks the nominal funding clock used to detect missing data (the
        profile's clock when the feed's venue is not a known perp label).
    on_payment : callable or None, default None
        Called as ``on_payment(ts_ns, mark)`` after each settlement (the PnL recorder logs cash).
    name : str, default "funding"

    Attributes
    ----------
    log : list of tuple
        One :data:`FUNDING_DTYPE` row per settlement charged.
    n_missing : int
        Nominal funding times inside the span with no recorded settlement within half an
        interval.
    warnings : list of str
        Human-readable notes (missing data, mid used as mark).
    """

    def __init__(self, sim: Simulation, venue: OrderBookVenue, account: Account, rates: FundingRates | None,
                 feed_venue: str = "", on_payment: Callable[[int, float], None] | None = None,
                 name: str = "funding") -> None:  # fmt: skip
        super().__init__(sim, name)
        self.venue = venue
        self.account = account
        self.rates = rates
        self.on_payment = on_payment
        self.log: list[tuple[int, float, float, float, float]] = []
        self.n_mark_from_mid = 0
        self.warnings: list[str] = []
        prof = venue.profile
        self._size = prof.contract_size if prof.is_inverse else None
        self.n_missing = 0
        interval_s = prof.funding_interval_s
        if interval_s is None:  # not prof.has_funding
            self._due = np.zeros(0, dtype=np.int64)
            return
        start, end = venue.start_ns, venue.end_ns
        known = feed_venue.startswith(("binance_usdm", "binance_coinm", "hyperliquid"))
        nominal = nominal_funding_times(feed_venue if known else prof.name, start, end)
        half = interval_s * 10**9 // 2
        if rates is None or len(rates) == 0:
            idx = np.zeros(0, dtype=np.int64)
            missing = nominal
        else:
            idx = rates.within(start, end)
            got = rates.ts_ns
            j = np.searchsorted(got, nominal)
            near = np.zeros(nominal.size, dtype=bool)
            for off in (-1, 0):
                k = np.clip(j + off, 0, max(got.size - 1, 0))
                near |= np.abs(got[k] - nominal) <= half
            missing = nominal[~near]
        self._due = idx
        self.n_missing = int(missing.size)
        if missing.size:
            self.warnings.append(
                f"funding: the run spans {missing.size} funding time(s) with no recorded rate "
                f"(first {_iso(int(missing[0]))}); no funding is charged for them "
                "(set [data] funding = PATH to a funding-history file)"
            )

    def on_start(self) -> None:
        """Schedule one settlement event per recorded rate inside the span."""
        now = self.sim.now_ns
        rates = self.rates
        if rates is None:  # nothing recorded (then _due is empty)
            return
        for i in self._due.tolist():
            ts = int(rates.ts_ns[i])
            if ts >= now:
                self.sim.schedule(ts, Priority.TIMER, i, self._settle)

    def _settle(self, i: int) -> None:
        rates = self.rates
        assert rates is not None  # scheduled by on_start only when rates were recorded
        ts = int(rates.ts_ns[i])
        rate = float(rates.rate[i])
        mark = float(rates.mark[i])
        if not (mark > 0 and math.isfinite(mark)):
            mark = self.venue.mid
            self.n_mark_from_mid += 1
            if not (mark > 0 and math.isfinite(mark)):
                self.warnings.append(f"funding: no mark price at {_iso(ts)} (empty book); settlement skipped")
                return
        q = self.account.q
        pay = funding_payment(q, mark, rate, self._size) if q != 0.0 else 0.0
        if pay != 0.0:
            self.account.on_funding(pay)
        self.log.append((ts, rate, mark, q, pay))
        if self.on_payment is not None:
            self.on_payment(ts, mark)

    def settlements(self) -> npt.NDArray[np.void]:
        """Every settlement charged, as an array of :data:`FUNDING_DTYPE`."""
        return np.array(self.log, dtype=FUNDING_DTYPE)

    def metrics(self) -> dict[str, float]:
        """``n_funding`` (settlements in the span), ``funding_missing`` (nominal times without
        data), ``funding_mark_from_mid`` (settlements marked at the mid)."""
        return {
            "n_funding": float(len(self.log)),
            "funding_missing": float(self.n_missing),
            "funding_mark_from_mid": float(self.n_mark_from_mid),
        }
