"""PnL recorder and the per-trial metrics computed from it.

Definitions (also in the README):

``pnl``
    Net PnL of the order-book account in quote currency at the end of the run: cash + q ·
    final mid, starting flat with zero cash; fees are already inside cash (a hedged desk's
    total is ``desk_pnl``).
``pnl_per_1k_notional``
    ``pnl / peak_notional × 1000``: net PnL per $1,000 of *peak inventory notional*, where
    ``peak_notional = max_t |q_t| · mid_t`` over every fill and every sample. NaN for a trial
    that never held inventory.
``max_drawdown``
    Largest fall of the equity curve (sampled on the venue's clock, 100 ms by default, and
    after every fill) below its running maximum, quote currency, ``>= 0``. For a hedged desk
    the curve includes every tracked account (the hedger's on-chain wallet,
    :meth:`PnLRecorder.track_account`), so it is the desk's drawdown.
``n_fills``
    Order-book fills of the account, a count (stored as ``BIGINT``).
``zero_fills``
    1 when the trial had no fill at all (an idle quoter: its ratios are undefined and the
    live view and the summary rank it after every trial that traded), else 0 (stored as
    ``BOOLEAN``).
``maker_volume``, ``taker_volume``
    ``Σ px·qty`` of maker / taker fills, quote currency (:class:`Account`).

Risk-adjusted ratios (Sharpe, Sortino, Calmar), VaR, markouts, inventory statistics, the
fill ratio and the cost breakdown are defined in :mod:`components.performance`;
:meth:`PnLRecorder.performance` computes them for a trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from components._performance_nb import merge_curve_nb
from components.account import Account

if TYPE_CHECKING:
    from components.orders import Fill
    from strategies.hedger import Hedger
    from venues.orderbook.venue import OrderBookVenue

FILL_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),
        ("client_order_id", np.int64),
        ("side", np.int8),
        ("is_maker", np.bool_),
        ("px", np.float64),
        ("qty", np.float64),
        ("fee", np.float64),
        ("q_after", np.float64),
        ("mid", np.float64),
    ]
)
"""Fill log rows: venue time (ns), order id, side (+1 buy/-1 sell), maker flag, price (quote
units), size (base units), fee (quote units, negative = rebate), inventory after the fill
(base units) and the mid at the fill (quote units; the fill price if the book was one-sided)."""

_CASH_DTYPE = np.dtype([("ts", np.int64), ("cash", np.float64), ("q", np.float64), ("mid", np.float64)])
"""The recorder's log of the account after each fill or cash change."""

EQUITY_DTYPE = np.dtype(
    [("ts_ns", np.int64), ("equity", np.float64), ("q", np.float64), ("mid", np.float64)]
)
"""Equity curve rows: time (ns), equity (quote units, marked to mid), inventory q (base units), mid."""


def _ordered(ts: npt.NDArray[np.int64]) -> bool:
    """Whether ``ts`` never decreases."""
    return bool(ts.size < 2 or np.all(ts[1:] >= ts[:-1]))


class PnLRecorder:
    """Builds the mark-to-mid equity curve from the venue's touch samples and the fills.

    Nothing runs in Python between fills: the venue samples its best bid/ask on a fixed clock
    inside the compiled replay, the recorder logs ``(ts, cash, q)`` after every fill, and the
    curve is assembled once, vectorised, at the end (:meth:`equity_curve`).

    Parameters
    ----------
    account : components.account.Account
    venue : venues.orderbook.venue.OrderBookVenue
        Supplies the touch samples and notifies fills.
    """

    def __init__(self, account: Account, venue: OrderBookVenue) -> None:
        self.account = account
        self.venue = venue
        self._fills: list[tuple[int, float, float, float]] = []
        self._log: list[tuple[int, int, int, bool, float, float, float, float, float]] = []
        # (cash log, fill log) arrays: add_fills, and the rows above once moved there (_flush)
        self._chunks: list[tuple[npt.NDArray[np.void], npt.NDArray[np.void]]] = []
        self._curve: npt.NDArray[np.void] | None = None
        self._tracked: list[tuple[Account, list[tuple[int, float, float]]]] = []
        venue.fill_listeners.append(self._after_fill)

    def track_account(self, account: Account) -> Callable[[int], None]:
        """Add another account of the desk (e.g. a hedger's on-chain wallet) to the equity.

        Its ``cash + q · mid``, marked to the order book's mid, joins every equity row from
        the time of each change on (rows at the same time included).

        Parameters
        ----------
        account : components.account.Account

        Returns
        -------
        callable
            ``changed(ts_ns)``: call it after every change of the account (cash or q) with
            the simulation time of the change, ns; it logs ``(ts_ns, cash, q)``.
        """
        log: list[tuple[int, float, float]] = []
        self._tracked.append((account, log))

        def changed(ts_ns: int) -> None:
            log.append((int(ts_ns), float(account.cash), float(account.q)))
            self._curve = None

        return changed

    def record_cash(self, ts_ns: int, mark: float | None = None) -> None:
        """Log the account after a cash change that is not a fill (a funding payment) at ``ts_ns``.

        The equity curve then carries the change from ``ts_ns`` on; :meth:`fills` is unchanged.
        The row is marked at the book's mid, else ``mark`` (quote units per base unit).
        """
        mid = self.venue.mid
        if not mid == mid:
            mid = mark if mark is not None else self.account.avg_entry_px
        acct = self.account
        self._fills.append((int(ts_ns), acct.cash, acct.q, mid))
        self._curve = None

    def _after_fill(self, fill: Fill) -> None:
        mid = self.venue.mid
        mid = mid if mid == mid else fill.px
        acct = self.account
        ts = fill.venue_ts_ns
        self._fills.append((ts, acct.cash, acct.q, mid))
        self._log.append(
            (ts, fill.client_order_id, fill.side, fill.liquidity == 0, fill.px, fill.qty, fill.fee, acct.q, mid)
        )

    def add_fills(self, fills: npt.NDArray[np.void], cash_after: npt.NDArray[np.float64]) -> None:
        """Log many booked fills at once (the batch path), as :meth:`_after_fill` does one by one.

        Parameters
        ----------
        fills : ndarray of FILL_DTYPE, shape (n,)
            In the order they were booked, ``q_after`` and ``mid`` filled in (``mid``: the
            fill price when the book was one-sided).
        cash_after : ndarray of float64, shape (n,)
            The account's cash after each fill, quote units.
        """
        self._flush()
        cash = np.empty(len(fills), dtype=_CASH_DTYPE)
        cash["ts"], cash["cash"], cash["q"], cash["mid"] = fills["ts_ns"], cash_after, fills["q_after"], fills["mid"]
        self._chunks.append((cash, np.asarray(fills, dtype=FILL_DTYPE)))
        self._curve = None

    def _flush(self) -> None:
        """Move the rows logged one by one into the array chunks (order kept)."""
        if self._fills or self._log:
            self._chunks.append((np.array(self._fills, dtype=_CASH_DTYPE), np.array(self._log, dtype=FILL_DTYPE)))
            self._fills, self._log = [], []

    def _cash_log(self) -> npt.NDArray[np.void]:
        """``(ts, cash, q, mid)`` after every fill and cash change, in time order."""
        self._flush()
        if not self._chunks:
            return np.zeros(0, dtype=_CASH_DTYPE)
        return np.concatenate([c for c, _ in self._chunks])

    def fills(self) -> npt.NDArray[np.void]:
        """Every fill of the trial, in time order, as an array of :data:`FILL_DTYPE`."""
        self._flush()
        if not self._chunks:
            return np.zeros(0, dtype=FILL_DTYPE)
        return np.concatenate([f for _, f in self._chunks])

    def equity_curve(self) -> npt.NDArray[np.void]:
        """Equity at every touch sample (with a two-sided book) and after every fill.

        Returns
        -------
        ndarray of EQUITY_DTYPE
            Rows in time order (a sample before a fill with the same timestamp). ``equity``
            is the desk's: the book account plus every tracked account
            (:meth:`track_account`) as of that time, all marked to the row's mid; ``q`` is
            the book account's inventory.
        """
        if self._curve is not None and getattr(self.venue, "is_closed", False):
            return self._curve  # the venue was closed after the run: the curve is final
        samples = self.venue.touch_samples()
        mid = 0.5 * (samples["best_bid"] + samples["best_ask"])
        ok = np.isfinite(mid)
        ts, mid = samples["ts_ns"][ok], mid[ok]
        fills = self._cash_log()
        curve = np.empty(ts.size + fills.size, dtype=EQUITY_DTYPE)
        cash = np.empty(curve.size, dtype=np.float64)
        if _ordered(ts) and _ordered(fills["ts"]):  # both logs in time order: one merge
            merge_curve_nb(ts, mid, fills["ts"], fills["cash"], fills["q"], fills["mid"], curve["ts_ns"], cash,
                           curve["q"], curve["mid"])  # fmt: skip
        else:  # position and cash at each sample: the last fill strictly before it; a stable sort
            k = np.searchsorted(fills["ts"], ts, side="left") - 1
            has = k >= 0
            at = np.maximum(k, 0)
            s_cash = np.where(has, fills["cash"][at] if fills.size else 0.0, 0.0)
            s_q = np.where(has, fills["q"][at] if fills.size else 0.0, 0.0)
            order = np.argsort(np.concatenate([ts, fills["ts"]]), kind="stable")
            curve["ts_ns"] = np.concatenate([ts, fills["ts"]])[order]
            curve["q"] = np.concatenate([s_q, fills["q"]])[order]
            curve["mid"] = np.concatenate([mid, fills["mid"]])[order]
            cash = np.concatenate([s_cash, fills["cash"]])[order]
        # cash + position value: q·mid (linear) or −q·C/mid in coin (inverse, Account Notes)
        curve["equity"] = cash + self.account.position_value(curve["q"], curve["mid"])
        for _, log in self._tracked:
            if not log:
                continue
            w = np.array(log, dtype=[("ts", np.int64), ("cash", np.float64), ("q", np.float64)])
            j = np.searchsorted(w["ts"], curve["ts_ns"], side="right") - 1
            has = j >= 0
            jj = np.maximum(j, 0)
            curve["equity"] += np.where(has, w["cash"][jj] + w["q"][jj] * curve["mid"], 0.0)
        self._curve = curve
        return self._curve

    def performance(self, *, n_orders: float, q_max: float, sample_ms: float = 1000.0, hedger: Hedger | None = None,
                    final_mid: float | None = None) -> dict[str, float]:  # fmt: skip
        """Risk, adverse-selection, inventory and cost metrics of the run.

        Shorthand for :func:`components.performance.trial_performance` on this recorder (see
        there for the keys, definitions and units).
        """
        from components.performance import trial_performance

        return trial_performance(self, n_orders=n_orders, q_max=q_max, sample_ms=sample_ms, hedger=hedger,
                                 final_mid=final_mid)  # fmt: skip

    def metrics(self) -> dict[str, float]:
        """Per-trial metrics (see the module docstring for definitions)."""
        acct = self.account
        curve = self.equity_curve()
        mid = float(curve["mid"][-1]) if curve.size else math.nan
        pnl = acct.equity(mid) if curve.size else 0.0
        if curve.size:
            eq = curve["equity"]
            max_dd = float(np.max(np.maximum.accumulate(eq) - eq))
            abs_q = np.abs(curve["q"])
            max_abs_q = float(abs_q.max())
            peak_notional = float(acct.notional(curve["q"], curve["mid"]).max())  # coin when inverse
        else:
            max_dd = max_abs_q = peak_notional = 0.0
        return {
            "pnl": float(pnl),
            "pnl_per_1k_notional": float(pnl / peak_notional * 1000.0)
            if peak_notional > 0
            else math.nan,
            "realized_pnl": float(acct.realized_pnl),
            "fees": float(acct.fees_paid),
            "n_fills": float(acct.n_fills),
            "zero_fills": float(acct.n_fills == 0),
            "maker_volume": float(acct.maker_volume),
            "taker_volume": float(acct.taker_volume),
            "max_drawdown": max_dd,
            "max_abs_q": max_abs_q,
            "final_q": float(acct.q),
            "peak_notional": peak_notional,
        }
