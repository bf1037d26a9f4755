"""Shared harness for the order-book venue tests: a venue on a scripted feed plus a report log.

Test modules cannot import each other (``--import-mode=importlib``), so the harness is handed
out by the ``venue_harness`` fixture (a factory). Scripted feeds are built with
:func:`engine.testing.make_feed` / :func:`engine.testing.book_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from components.account import Account
from components.orders import Fill, TimeInForce
from engine.events import Priority
from engine.kernel import Simulation
from engine.testing import make_feed
from venues.orderbook.config import VenueConfig
from venues.orderbook.venue import OrderBookVenue


class VenueHarness:
    """One simulation, one account and one ``binance_usdm`` venue (tick 0.01, lot 0.001).

    Commands are scheduled at chosen sim times (``Priority.STRATEGY``, so a command at ``t``
    runs after the recorded rows stamped ``t``); every report lands in :attr:`reports` as
    ``(receive_ns, event)``.
    """

    def __init__(
        self,
        rows: Iterable[tuple],
        *,
        queue_model: str = "risk_averse",
        entry_latency_ms: float = 1.0,
        response_latency_ms: float = 1.0,
        min_notional: float | None = 0.0,
        **config: Any,
    ) -> None:
        self.sim = Simulation(seed=0)
        self.account = Account()
        self.config = VenueConfig(
            profile="binance_usdm",
            tick_size=0.01,
            lot_size=0.001,
            min_notional=min_notional,
            entry_latency_ms=entry_latency_ms,
            response_latency_ms=response_latency_ms,
            queue_model=queue_model,
            **config,
        )
        self.venue = OrderBookVenue(self.sim, make_feed(rows), self.config, self.account)
        self.log: list[tuple[int, Any]] = []

    # -- scripting ------------------------------------------------------------------------
    def at(self, ts_ns: int, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` at sim time ``ts_ns`` (after the recorded rows stamped ``ts_ns``)."""
        self.sim.schedule(ts_ns, Priority.STRATEGY, None, target=lambda _: fn())

    def probe(self, ts_ns: int, fn: Callable[[], Any]) -> list:
        """Evaluate ``fn()`` at ``ts_ns``; the result is appended to the returned list."""
        out: list = []
        self.at(ts_ns, lambda: out.append(fn()))
        return out

    def _receive(self, event: Any) -> None:
        self.log.append((self.sim.now_ns, event))

    def submit(self, ts_ns: int, coid: int, side: int, px: float, qty: float,
               tif: TimeInForce = TimeInForce.GTC) -> None:  # fmt: skip
        """Send a limit order from the strategy side at ``ts_ns``."""
        self.at(ts_ns, lambda: self.venue.submit(self._receive, coid, side, px, qty, tif))

    def cancel(self, ts_ns: int, coid: int) -> None:
        """Send a cancel from the strategy side at ``ts_ns``."""
        self.at(ts_ns, lambda: self.venue.cancel(coid))

    def run(self) -> list:
        """Run to the end of the feed; return the reports (events only, in arrival order)."""
        self.sim.run()
        return self.reports

    # -- reading the log --------------------------------------------------------------------
    @property
    def reports(self) -> list:
        """Every report received so far, in arrival order."""
        return [e for _, e in self.log]

    def of(self, cls: type, coid: int | None = None) -> list:
        """Reports of type ``cls`` (optionally for one client order id)."""
        return [e for e in self.reports if type(e) is cls and (coid is None or e.client_order_id == coid)]

    def filled(self, coid: int) -> float:
        """Total filled size of an order, base units."""
        return sum(f.qty for f in self.of(Fill, coid))


@pytest.fixture(scope="session")
def venue_harness() -> Callable[..., VenueHarness]:
    """Factory ``venue_harness(rows, **options) -> VenueHarness``; stateless, so session-scoped."""
    return VenueHarness
