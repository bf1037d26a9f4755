"""Fixed-spread quoter: the baseline every model-based quoter has to beat.

Quotes ``mid ± half_spread`` with a linear inventory skew, every ``interval_ms``.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from engine.time import ms_to_ns
from strategies.base import Strategy
from strategies.config import StrategyConfig


@attrs.frozen(kw_only=True)
class FixedSpreadConfig(StrategyConfig):
    """Settings of :class:`FixedSpreadQuoter`.

    Attributes
    ----------
    half_spread_bps : float, default 2.0
        Distance of each quote from mid, basis points of mid. ``> 0``.
    skew_bps : float, default 0.0
        Shift of both quotes against inventory at ``q = max_position``, in bps of mid
        (linear in ``q / max_position``). ``>= 0``.
    """

    half_spread_bps: float = attrs.field(default=2.0, validator=v.gt(0))
    skew_bps: float = attrs.field(default=0.0, validator=v.ge(0))


class FixedSpreadQuoter(Strategy):
    """Quote ``reservation_px ± half_spread`` with ``reservation_px = mid − skew · q / q_max``.

    Prices are rounded outwards onto the venue's grid and never cross the touch; no bid at
    ``q >= max_position`` and no ask at ``q <= -max_position``. Override :meth:`reservation_px`
    to try another centre (e.g. the microprice).
    """

    config_class = FixedSpreadConfig

    def on_start(self) -> None:
        """Start the requote timer."""
        self.set_timer("requote", every_ns=ms_to_ns(self.config.interval_ms))

    def reservation_px(self, mid: float) -> float:
        """Centre of the quotes, quote units (hook)."""
        c = self.config
        return mid * (1.0 - c.skew_bps * 1e-4 * self.q / c.max_position)

    def on_timer(self, event) -> None:
        """Requote around the reservation price."""
        venue = self.venue
        bb, ba = venue.touch()
        if not bb < ba:
            return
        c = self.config
        mid = 0.5 * (bb + ba)
        r = self.reservation_px(mid)
        half = mid * c.half_spread_bps * 1e-4
        self.quote_around_touch(r - half, r + half, bb, ba)
