"""PnL recorder and the per-trial metrics computed from it.

Definitions (also in the README):

``pnl``
    Net PnL in quote currency at the end of the run: cash + q · final mid, starting flat with
    zero cash; fees are already inside cash.
``pnl_per_1k_notional``
    ``pnl / peak_notional × 1000``: net PnL per $1,000 of *peak inventory notional*, where
    ``peak_notional = max_t |q_t| · mid_t`` over every fill and every sample. NaN for a trial
    that never held inventory.
``max_drawdown``
    Largest fall of the equity curve (sampled every ``sample_ms`` and after every fill) below
    its running maximum, quote currency, ``>= 0``.
"""

from __future__ import annotations

import math

import numpy as np

from components.account import Account
from components.base import Component
from engine.kernel import Simulation
from engine.time import ms_to_ns

EQUITY_DTYPE = np.dtype([("ts_ns", np.int64), ("equity", np.float64), ("q", np.float64), ("mid", np.float64)])
"""Equity curve rows: time (ns), equity (quote units, marked to mid), inventory q (base units), mid."""


class PnLRecorder(Component):
    """Samples the account's mark-to-mid equity on a fixed clock and after every fill.

    Parameters
    ----------
    sim : engine.kernel.Simulation
    account : components.account.Account
    venue : venues.orderbook.venue.OrderBookVenue
        Supplies the mid and notifies fills.
    sample_ms : float, default 100.0
        Sampling period of the equity curve, ms.
    """

    def __init__(self, sim: Simulation, account: Account, venue, sample_ms: float = 100.0) -> None:
        super().__init__(sim, "pnl_recorder")
        self.account = account
        self.venue = venue
        self.sample_ns = ms_to_ns(sample_ms)
        self._rows: list[tuple[int, float, float, float]] = []
        self.peak_notional = 0.0
        self.max_abs_q = 0.0
        venue.fill_listeners.append(self._after_fill)

    def on_start(self) -> None:
        """Start the sampling clock at the first recorded timestamp."""
        self.set_timer("sample", every_ns=self.sample_ns, at_ns=max(self.venue.start_ns, self.now_ns))

    def on_timer(self, event) -> None:
        """Take one sample."""
        self._sample(event.ts_ns, self.venue.mid)

    def on_stop(self) -> None:
        """Take the final sample."""
        self._sample(self.now_ns, self.venue.mid)

    def _after_fill(self, ts_ns: int, px: float) -> None:
        mid = self.venue.mid
        self._sample(ts_ns, mid if mid == mid else px)

    def _sample(self, ts_ns: int, mid: float) -> None:
        if mid != mid:
            return
        acct = self.account
        q = acct.q
        self._rows.append((ts_ns, acct.cash + q * mid, q, mid))
        aq = abs(q)
        if aq > self.max_abs_q:
            self.max_abs_q = aq
        if aq * mid > self.peak_notional:
            self.peak_notional = aq * mid

    def equity_curve(self) -> np.ndarray:
        """The samples as an array of :data:`EQUITY_DTYPE`, in time order."""
        return np.array(self._rows, dtype=EQUITY_DTYPE)

    def metrics(self) -> dict[str, float]:
        """Per-trial metrics (see the module docstring for definitions)."""
        acct = self.account
        curve = self.equity_curve()
        mid = float(curve["mid"][-1]) if curve.size else math.nan
        pnl = acct.cash + acct.q * mid if curve.size else 0.0
        if curve.size:
            eq = curve["equity"]
            max_dd = float(np.max(np.maximum.accumulate(eq) - eq))
        else:
            max_dd = 0.0
        return {
            "pnl": float(pnl),
            "pnl_per_1k_notional": float(pnl / self.peak_notional * 1000.0) if self.peak_notional > 0 else math.nan,
            "realized_pnl": float(acct.realized_pnl),
            "fees": float(acct.fees_paid),
            "n_fills": float(acct.n_fills),
            "maker_volume": float(acct.maker_volume),
            "taker_volume": float(acct.taker_volume),
            "max_drawdown": max_dd,
            "max_abs_q": float(self.max_abs_q),
            "final_q": float(acct.q),
            "peak_notional": float(self.peak_notional),
        }
