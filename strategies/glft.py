"""GLFT market maker: the Guéant–Lehalle–Fernandez-Tapia closed-form quotes and a quoter.

:func:`glft_depths` is the pure formula. :class:`GLFTQuoter` estimates its inputs online from
the replayed market (σ from mid changes; A and k from how far trades reach from mid) and quotes
every ``interval_ms``. Rounding onto the venue's price grid, inventory limits and the
never-cross-the-touch rule live in the quoter, never in the formula.

See Also
--------
strategies.fixed_spread : the fixed-spread baseline.
strategies.base : the Strategy base class and its hooks.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from attrs import validators as v

from engine.time import ms_to_ns
from strategies._glft_nb import glft_depths_nb, glft_estimate_nb
from strategies.base import Strategy
from strategies.config import StrategyConfig


def glft_depths(
    q: float,
    sigma: float,
    A: float,
    k: float,
    gamma: float,
    xi: float | None = None,
    delta: float = 1.0,
) -> tuple[float, float]:
    """Optimal bid and ask depths from mid under the GLFT closed-form approximation.

    Parameters
    ----------
    q : float
        Inventory, in units of the order size ``delta`` (long > 0).
    sigma : float
        Volatility of the mid, in depth units per square root of the time unit of ``A``.
    A : float
        Order-arrival intensity at zero depth, ``λ(δ) = A·exp(−kδ)``, per time unit. ``> 0``.
    k : float
        Decay of the arrival intensity with depth, in 1 / depth unit. ``> 0``.
    gamma : float
        Risk aversion γ. ``> 0``.
    xi : float or None, default None
        Objective parameter ξ of Guéant (2017): ``None`` means ξ = γ (GLFT 2013's CARA
        utility); ``0`` is the risk-neutral limit with a running inventory penalty.
    delta : float, default 1.0
        Order size Δ, in the same units as ``q``.

    Returns
    -------
    tuple of float
        ``(bid_depth, ask_depth)``: distance below and above mid, in the units of ``sigma`` and
        ``1/k`` (ticks if those are in ticks). Not rounded or clamped; may be negative for
        large ``|q|``.

    Raises
    ------
    ValueError
        If ``A``, ``k`` or ``gamma`` is not positive, ``sigma`` or ``xi`` is negative, or
        ``delta`` is not positive.

    Notes
    -----
    Guéant (2017), eqs. (4.6)–(4.7)::

        c1 = ln(1 + ξΔ/k) / (ξΔ)
        c2 = sqrt(γ / (2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1))
        half_spread = c1 + (Δ/2)·σ·c2,   skew = σ·c2
        bid_depth = half_spread + skew·q,   ask_depth = half_spread − skew·q

    For ξ = γ and Δ = 1 this is GLFT (2013)'s asymptotic formula (Theorem 2 / §4). In the
    limit ξ → 0, ``c1 → 1/k`` and ``c2 → sqrt(γe / (2AΔk))``.

    References
    ----------
    .. [1] O. Guéant, C.-A. Lehalle, J. Fernandez-Tapia (2013), "Dealing with the inventory
       risk: a solution to the market making problem", Math. Financ. Econ. 7(4), 477–507.
    .. [2] O. Guéant (2017), "Optimal market making", Applied Mathematical Finance 24(2),
       112–154, eqs. (4.6)–(4.7).

    Examples
    --------
    >>> bid, ask = glft_depths(q=0.0, sigma=1.0, A=1.0, k=1.0, gamma=1.0)
    >>> round(bid, 6) == round(ask, 6)
    True
    """
    if not (A > 0 and k > 0 and gamma > 0 and delta > 0):
        raise ValueError(
            f"glft_depths needs A, k, gamma, delta > 0 (got {A=}, {k=}, {gamma=}, {delta=})"
        )
    if not sigma >= 0:
        raise ValueError(f"glft_depths needs sigma >= 0 (got {sigma=})")
    x = gamma if xi is None else xi
    if not x >= 0:
        raise ValueError(f"glft_depths needs xi >= 0 (got {xi=})")
    bid, ask = glft_depths_nb(float(q), float(sigma), float(A), float(k), float(gamma), float(x), float(delta))
    return float(bid), float(ask)


def in_ticks(px: float, tick: float) -> float:
    """``px / tick`` snapped to the nearest whole number when within 1e-6 of it.

    Prices on the grid are whole numbers of ticks, but ``px / tick`` in floating point is off
    by an ulp or so (61812.7 / 0.1 = 618127.0000000001); arrival depths built from such
    values sit a hair below or above the fit's grid points (0.5, 1.5, … ticks) and flip the
    ``depth >= δ`` counts. Snapping makes them exact half-integers. NaN stays NaN; a price
    off the grid (a venue whose tick varies with price) is returned unsnapped.
    """
    x = px / tick
    if x != x:
        return x
    r = round(x)
    return float(r) if abs(x - r) <= 1e-6 else x


@attrs.frozen(kw_only=True)
class GLFTConfig(StrategyConfig):
    """Settings of :class:`GLFTQuoter` (adds to :class:`~strategies.config.StrategyConfig`).

    Attributes
    ----------
    gamma : float, default 0.05
        Risk aversion γ (per unit of ``order_qty`` inventory, depths in ticks). ``> 0``.
    xi : float or None, default None
        Guéant's ξ; ``None`` means ξ = γ.
    window_s : float, default 60.0
        Length of the rolling window used to estimate σ, A and k, in seconds.
    warmup_s : float, default 10.0
        No quotes until this much market has been observed, in seconds.
    recalibrate_every : int, default 10
        Refit A and k every this many decision steps.
    max_fit_depth_ticks : int, default 50
        Largest depth (ticks from mid) used in the fit of ``log λ(δ) = log A − kδ``.
    min_half_spread_ticks : float, default 0.5
        Floor on each depth, in ticks, after the formula.
    max_depth_ticks : float or None, default None
        Cap on each depth, in ticks, after the formula; ``None`` means ``max_fit_depth_ticks``
        (the intensity is measured only up to there: a deeper quote would rest on an
        extrapolated λ). ``>= min_half_spread_ticks``.
    price_band : float, default 0.05
        No quote further than this fraction of the mid from the mid (before rounding onto
        the grid): each depth is also capped at ``price_band × mid``. ``0 < price_band < 1``
        keeps every bid positive. 5% is the order-price band of many Binance USD-M
        contracts (``PERCENT_PRICE`` filter, ``multiplierUp`` 1.05 / ``multiplierDown`` 0.95).
    prior_A, prior_k : float or None, default None
        Intensity used until the first identified fit (A per step, k per tick); both or
        neither. ``None``: no quotes until the fit is identified.
    alpha : float, default 0.0
        Signal skew: the quote centre moves by ``alpha × signal`` ticks (signal in [−1, 1] from
        the signal component, see :mod:`components.signal`); 0 ignores the signal.
    confidence_widen : float, default 0.0
        Extra depth, in ticks, added to both sides times ``1 − confidence`` of the signal.
    """

    gamma: float = attrs.field(default=0.05, validator=v.gt(0))
    xi: float | None = attrs.field(default=None, validator=v.optional(v.ge(0)))
    window_s: float = attrs.field(default=60.0, validator=v.gt(0))
    warmup_s: float = attrs.field(default=10.0, validator=v.ge(0))
    recalibrate_every: int = attrs.field(default=10, validator=v.ge(1))
    max_fit_depth_ticks: int = attrs.field(default=50, validator=v.ge(2))
    min_half_spread_ticks: float = attrs.field(default=0.5, validator=v.ge(0))
    max_depth_ticks: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    price_band: float = attrs.field(default=0.05, validator=[v.gt(0), v.lt(1)])
    prior_A: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    prior_k: float | None = attrs.field(default=None, validator=v.optional(v.gt(0)))
    alpha: float = attrs.field(default=0.0)
    confidence_widen: float = attrs.field(default=0.0, validator=v.ge(0))

    def __attrs_post_init__(self) -> None:
        if (self.prior_A is None) != (self.prior_k is None):
            raise ValueError("GLFTConfig: give both prior_A and prior_k, or neither")
        cap = self.max_depth_ticks
        if cap is not None and cap < self.min_half_spread_ticks:
            raise ValueError(
                f"GLFTConfig: max_depth_ticks ({cap}) must be >= min_half_spread_ticks "
                f"({self.min_half_spread_ticks})"
            )


class GLFTQuoter(Strategy):
    """GLFT market maker with online calibration of σ, A and k.

    Every ``interval_ms`` (one *step*) it:

    1. reads the mid (ticks) and the most aggressive buy/sell trade prices since the last step;
       the *arrival depth* of the step is how far trades reached from the previous mid, in ticks;
    2. every ``recalibrate_every`` steps (after ``warmup_s``), over the last ``window_s``:
       σ = standard deviation of the per-step mid change (ticks per √step); λ(δ) = fraction of
       steps whose arrival depth was ``>= δ`` for δ = 0.5, 1.5, … ticks; and fits
       ``log λ(δ) = log A − kδ`` by least squares (A per step, k per tick). A fit that is not
       identified (too few depths reached, or λ flat: :func:`strategies._glft_nb.fit_intensity_nb`;
       or a non-finite / non-positive A or k) is discarded: the quoter keeps its last identified
       A and k (before the first one: ``prior_A``/``prior_k`` if given, else no quotes) and
       counts it in :attr:`n_unidentified_fits`;
    3. quotes ``mid − bid_depth`` / ``mid + ask_depth`` from :func:`glft_depths` with q in units
       of ``order_qty``, each depth clamped to ``[min_half_spread_ticks, cap]`` with ``cap =
       min(max_depth_ticks, price_band × mid)`` (ticks), rounded outwards onto the venue's
       price grid (bids down, asks up) and never crossing the touch; no bid at ``q >= max_position``
       and no ask at ``q <= -max_position``.

    Parameters
    ----------
    sim, config, venue, name
        As :class:`strategies.base.Strategy`; ``config`` is a :class:`GLFTConfig`.

    Notes
    -----
    The arrival-depth calibration follows the GLFT tutorial of hftbacktest's documentation
    ("GLFT Market Making Model and Grid Trading"), measuring intensity per decision step.
    Hooks to override in a subclass: :meth:`estimate` (returns σ, A, k) and
    :meth:`target_depths` (returns the bid and ask depths in ticks), e.g. to add an alpha skew.

    References
    ----------
    .. [1] Guéant, Lehalle & Fernandez-Tapia (2013), Math. Financ. Econ. 7(4).
    .. [2] Guéant (2017), Applied Mathematical Finance 24(2), eqs. (4.6)–(4.7).
    """

    config_class = GLFTConfig

    def __init__(self, sim, config: GLFTConfig, venue, name: str = "strategy") -> None:
        super().__init__(sim, config, venue, name)
        n = max(int(round(config.window_s * 1000.0 / config.interval_ms)), 2)
        self._depths = np.full(n, np.nan)
        self._dmid = np.full(n, np.nan)
        self._n_steps = 0
        self._prev_mid = math.nan
        self._warmup_steps = int(math.ceil(config.warmup_s * 1000.0 / config.interval_ms))
        self._fit_grid = np.arange(config.max_fit_depth_ticks, dtype=np.float64) + 0.5
        self.sigma = math.nan
        self.A = math.nan if config.prior_A is None else float(config.prior_A)
        self.k = math.nan if config.prior_k is None else float(config.prior_k)
        self._max_depth = float(
            config.max_depth_ticks if config.max_depth_ticks is not None else config.max_fit_depth_ticks
        )
        self.n_unidentified_fits = 0
        """Refits discarded as not identified (the previous A and k were kept)."""

    def on_start(self) -> None:
        """Start the requote timer."""
        self.set_timer("requote", every_ns=ms_to_ns(self.config.interval_ms))

    def on_timer(self, event) -> None:
        """One decision step: measure, maybe recalibrate, requote."""
        venue = self.venue
        bb, ba = venue.touch()
        if not bb < ba:  # empty or crossed book (NaN compares False)
            return
        tick = venue.tick_size
        mid = 0.5 * (in_ticks(bb, tick) + in_ticks(ba, tick))
        max_buy, min_sell = venue.take_trade_extremes()
        buy_t, sell_t = in_ticks(max_buy, tick), in_ticks(min_sell, tick)
        prev = self._prev_mid
        if prev == prev:
            slot = self._n_steps % self._depths.size
            depth = max(buy_t - prev, prev - sell_t)
            if buy_t != buy_t:  # NaN: no buy-taker trade this step
                depth = prev - sell_t
            elif sell_t != sell_t:
                depth = buy_t - prev
            self._depths[slot] = depth
            self._dmid[slot] = mid - prev
            self._n_steps += 1
            if (
                self._n_steps >= self._warmup_steps
                and self._n_steps % self.config.recalibrate_every == 0
            ):
                sigma, A, k = self.estimate(self._depths, self._dmid, min(self._n_steps, self._depths.size))
                self.sigma = sigma
                if 0.0 < A < math.inf and 0.0 < k < math.inf:
                    self.A, self.k = A, k
                else:  # not identified: keep the last identified A, k (or the prior)
                    self.n_unidentified_fits += 1
        self._prev_mid = mid
        if not (self.A > 0 and self.k > 0 and self.sigma == self.sigma):
            return
        bid_depth, ask_depth = self.target_depths(self.q / self.config.order_qty)
        floor = self.config.min_half_spread_ticks
        cap = max(min(self._max_depth, self.config.price_band * mid), floor)
        self.quote_around_touch(
            (mid - min(max(bid_depth, floor), cap)) * tick, (mid + min(max(ask_depth, floor), cap)) * tick, bb, ba
        )

    def estimate(self, depths: np.ndarray, dmid: np.ndarray, n: int) -> tuple[float, float, float]:
        """Estimate ``(sigma, A, k)`` from the rolling window (hook).

        Parameters
        ----------
        depths : ndarray of float64, shape (window,)
            Arrival depth per step, ticks (NaN: no trade in that step). Ring buffer.
        dmid : ndarray of float64, shape (window,)
            Mid change per step, ticks. Ring buffer.
        n : int
            Number of valid entries (``<= window``).

        Returns
        -------
        tuple of float
            σ (ticks/√step), A (per step), k (per tick); NaN where the fit is not identified
            (the quoter then keeps its previous A and k).
        """
        sigma, A, k = glft_estimate_nb(depths, dmid, n, self._fit_grid)
        return float(sigma), float(A), float(k)

    signal = None
    """Optional :class:`components.signal.SignalFeed` (set by the trial wiring)."""

    def target_depths(self, q: float) -> tuple[float, float]:
        """Bid and ask depth from mid, in ticks, for inventory ``q`` (in order sizes) (hook).

        With a signal feed and ``alpha != 0`` the centre moves by ``alpha × signal`` ticks (the
        bid depth shrinks and the ask depth grows for a positive signal); ``confidence_widen``
        adds ``(1 − confidence) × confidence_widen`` ticks to both sides.
        """
        c = self.config
        bid, ask = glft_depths(q, self.sigma, self.A, self.k, c.gamma, c.xi)
        if self.signal is not None and (c.alpha != 0.0 or c.confidence_widen != 0.0):
            value, confidence = self.signal.latest(self.now_ns)
            if value == value:
                bid -= c.alpha * value
                ask += c.alpha * value
            if confidence == confidence:
                widen = (1.0 - confidence) * c.confidence_widen
                bid += widen
                ask += widen
        return bid, ask
