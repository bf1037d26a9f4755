"""Avellaneda–Stoikov quoter: the classic inventory-skewed baseline, calibrated like GLFT.

Quotes around the reservation price ``r = mid − q·γ·σ²·τ`` with the half spread
``γσ²τ/2 + ln(1 + γ/k)/γ`` (Avellaneda & Stoikov 2008, eqs. (29)–(30)), where the remaining
horizon ``T − t`` is replaced by a constant ``τ = horizon_s`` (the usual rolling-horizon use of
the model for a market maker that never reaches T). σ and k are estimated online exactly as in
:class:`strategies.glft.GLFTQuoter` (same window, same fit; A is not used by this model).

See Also
--------
strategies.glft : the GLFT quoter whose calibration this reuses.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from strategies._glft_nb import as_depths_nb
from strategies.glft import GLFTConfig, GLFTQuoter


def as_depths(q: float, sigma: float, k: float, gamma: float, tau: float) -> tuple[float, float]:
    """Bid and ask depths from mid under Avellaneda–Stoikov.

    Parameters
    ----------
    q : float
        Inventory in order sizes (long > 0).
    sigma : float
        Mid volatility, depth units per √(time unit). ``>= 0``.
    k : float
        Decay of the fill intensity with depth, 1 / depth unit. ``> 0``.
    gamma : float
        Risk aversion. ``> 0``.
    tau : float
        Remaining horizon ``T − t`` in the time unit of ``sigma``. ``>= 0``.

    Returns
    -------
    tuple of float
        ``(bid_depth, ask_depth)``: ``mid − bid`` and ``ask − mid``, depth units.

    Raises
    ------
    ValueError
        If ``k`` or ``gamma`` is not positive or ``sigma``/``tau`` is negative.

    Notes
    -----
    ``r = mid − qγσ²τ``; half spread ``δ = γσ²τ/2 + ln(1 + γ/k)/γ``; so
    ``bid_depth = qγσ²τ + δ`` and ``ask_depth = δ − qγσ²τ``.

    References
    ----------
    .. [1] M. Avellaneda, S. Stoikov (2008), "High-frequency trading in a limit order book",
       Quantitative Finance 8(3), 217–224, eqs. (29)–(30).

    Examples
    --------
    >>> import math
    >>> b, a = as_depths(q=0.0, sigma=1.0, k=1.0, gamma=1.0, tau=1.0)
    >>> round(b, 6) == round(a, 6) == round(0.5 + math.log(2.0), 6)
    True
    """
    if not (k > 0 and gamma > 0):
        raise ValueError(f"as_depths needs k, gamma > 0 (got {k=}, {gamma=})")
    if not (sigma >= 0 and tau >= 0):
        raise ValueError(f"as_depths needs sigma, tau >= 0 (got {sigma=}, {tau=})")
    bid, ask = as_depths_nb(float(q), float(sigma), float(k), float(gamma), float(tau))
    return float(bid), float(ask)


@attrs.frozen(kw_only=True)
class ASConfig(GLFTConfig):
    """Settings of :class:`AvellanedaStoikovQuoter` (adds to :class:`~strategies.glft.GLFTConfig`).

    Attributes
    ----------
    horizon_s : float, default 60.0
        The constant remaining horizon ``τ = T − t``, seconds. ``> 0``.
    """

    horizon_s: float = attrs.field(default=60.0, validator=v.gt(0))


class AvellanedaStoikovQuoter(GLFTQuoter):
    """Avellaneda–Stoikov quotes with GLFT's online σ, k calibration (time unit: one step).

    Override :meth:`target_depths` or :meth:`estimate` as for the GLFT quoter.
    """

    config_class = ASConfig

    def target_depths(self, q: float) -> tuple[float, float]:
        """Bid and ask depth from mid in ticks for inventory ``q`` (in order sizes) (hook)."""
        c = self.config
        tau_steps = c.horizon_s * 1000.0 / c.interval_ms
        return as_depths(q, self.sigma, self.k, c.gamma, tau_steps)
