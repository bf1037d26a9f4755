"""A plain-Python L2 reference book for checking loaders' output (crossed books, rebuilds).

This is a correctness reference, not the simulator's book: the compiled replay lives in
:mod:`venues.orderbook`. It applies ``DEPTH``/``CLEAR`` rows of :data:`engine.feed.EVENT_DTYPE`
and answers best_bid / best_ask.

See Also
--------
venues.loaders._common.check_crossed : uses it on every load.
"""

from __future__ import annotations

import numpy as np

from engine.feed import BID, CLEAR, DEPTH


class RefBook:
    """Price → size maps for both sides with cached best prices.

    Examples
    --------
    >>> b = RefBook()
    >>> b.set(1, 100.0, 2.0); b.set(-1, 101.0, 1.0); b.set(1, 100.5, 0.5)
    >>> (b.best_bid(), b.best_ask())
    (100.5, 101.0)
    >>> b.set(1, 100.5, 0.0); b.best_bid()
    100.0
    """

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self._bb: float | None = None
        self._ba: float | None = None
        self._bb_ok = True
        self._ba_ok = True

    def clear(self, side: int) -> None:
        """Empty the bids (``side`` +1), the asks (-1) or both (0)."""
        if side >= 0:
            self.bids.clear()
            self._bb, self._bb_ok = None, True
        if side <= 0:
            self.asks.clear()
            self._ba, self._ba_ok = None, True

    def set(self, side: int, px: float, qty: float) -> None:
        """Set the absolute size at ``px`` (quote units); ``qty == 0`` deletes the level."""
        if side == BID:
            if qty > 0:
                self.bids[px] = qty
                if self._bb_ok and (self._bb is None or px > self._bb):
                    self._bb = px
            elif self.bids.pop(px, None) is not None and px == self._bb:
                self._bb_ok = False
        else:
            if qty > 0:
                self.asks[px] = qty
                if self._ba_ok and (self._ba is None or px < self._ba):
                    self._ba = px
            elif self.asks.pop(px, None) is not None and px == self._ba:
                self._ba_ok = False

    def best_bid(self) -> float | None:
        """Highest bid price, or ``None`` when the bid side is empty."""
        if not self._bb_ok:
            self._bb = max(self.bids) if self.bids else None
            self._bb_ok = True
        return self._bb

    def best_ask(self) -> float | None:
        """Lowest ask price, or ``None`` when the ask side is empty."""
        if not self._ba_ok:
            self._ba = min(self.asks) if self.asks else None
            self._ba_ok = True
        return self._ba

    def apply(self, events: np.ndarray) -> None:
        """Apply the ``DEPTH``/``CLEAR`` rows of ``events`` in order (trades are ignored)."""
        for k, s, p, q in zip(
            events["kind"].tolist(),
            events["side"].tolist(),
            events["px"].tolist(),
            events["qty"].tolist(),
            strict=True,
        ):
            if k == DEPTH:
                self.set(s, p, q)
            elif k == CLEAR:
                self.clear(s)
