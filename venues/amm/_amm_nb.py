"""Float fast path of the AMM swap math for bulk replay, with plain-Python reference twins.

The exact integer path (:mod:`venues.amm.aerodrome`, :mod:`venues.amm.pancake`) is what a
simulated swap must use when it has to match the chain to the wei. Replaying millions of recorded
swaps only needs reserves to the precision of a float64, and this module does that in compiled
loops. ``tests/venues/amm/test_fast_path.py`` bounds the difference to the exact path:

* constant product (Aerodrome volatile, PancakeSwap / Uniswap v2):
  ``|fast − exact| <= 1e-9·exact + 1`` raw unit;
* Aerodrome stable: ``|fast − exact| <= 1e-9·exact + 2`` raw units, for pools holding at least
  one whole token a side (observed error: a few 1e-16 relative plus the final floor). Below one
  token the contract's invariant, floored by 1e18 after every product, keeps only a few
  significant digits and the exact quote departs from the smooth curve (2.5e-4 in a
  0.001/0.001 pool); the float path does not reproduce that flooring.

Every ``*_nb`` kernel is ``numba.njit(cache=True)`` of the function with the same name without
the suffix (its reference twin, which runs under plain Python). Inputs are float64 scalars or
1-D float64 / int64 arrays; no input is mutated. This module holds no integer-exact math.

See Also
--------
venues.amm.aerodrome : exact Aerodrome math.
venues.amm.pancake : exact PancakeSwap / Uniswap v2 math.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "cpmm_amount_out",
    "cpmm_amount_out_nb",
    "replay_cpmm",
    "replay_cpmm_nb",
    "replay_stable",
    "replay_stable_nb",
    "stable_amount_out",
    "stable_amount_out_nb",
]


def cpmm_amount_out(amount_in, reserve_in, reserve_out, fee_bps, fee_floored):
    """Constant-product output for one swap, float64.

    Parameters
    ----------
    amount_in : float
        Input, raw token units (float64), >= 0.
    reserve_in : float
        Reserve of the input token, raw units, > 0.
    reserve_out : float
        Reserve of the output token, raw units, > 0.
    fee_bps : float
        Fee in basis points, [0, 10000).
    fee_floored : bool
        True for Aerodrome (``a' = a − ⌊a·fee/10000⌋``), False for the Uniswap v2 family (``a' =
        a·(10000 − fee)/10000`` inside one rational expression).

    Returns
    -------
    float
        ``⌊a'·R_out/(R_in + a')⌋``, raw output units.

    Notes
    -----
    Reference twin of :func:`cpmm_amount_out_nb`. Rounding error is a few float64 ulps before the
    floor.
    """
    if fee_floored:
        a = amount_in - np.floor(amount_in * fee_bps / 10000.0)
    else:
        a = amount_in * (10000.0 - fee_bps) / 10000.0
    return np.floor(a * reserve_out / (reserve_in + a))


def stable_amount_out(amount_in, reserve_in, reserve_out, scale_in, scale_out, fee_bps):
    """Aerodrome stable-pool (x³y + xy³) output for one swap, float64.

    Parameters
    ----------
    amount_in : float
        Input, raw units, >= 0.
    reserve_in : float
        Reserve of the input token, raw units, > 0.
    reserve_out : float
        Reserve of the output token, raw units, > 0.
    scale_in : float
        ``10**decimals`` of the input token.
    scale_out : float
        ``10**decimals`` of the output token.
    fee_bps : float
        Fee in basis points, [0, 10000); floored from the input as ``Pool.getAmountOut`` does.

    Returns
    -------
    float
        Output, raw units, floored.

    Notes
    -----
    Reference twin of :func:`stable_amount_out_nb`. With x, y the reserves and a the net input in
    token units, x0 = x + a, the output dy solves G(dy) = 0 where
    ``G(dy) = A·(y − dy) − x³·dy + a·y³ − x0·dy·(3y² − 3y·dy + dy²)`` and ``A = a·(3x² + 3xa + a²)``
    (this is f(x0, y − dy) − f(x, y) expanded so that no large terms cancel). G is decreasing and
    convex, so Newton from dy = 0 increases monotonically to the root; ``G' = −(x0³ + 3·x0·(y −
    dy)²)``.
    """
    a_raw = amount_in - np.floor(amount_in * fee_bps / 10000.0)
    x = reserve_in / scale_in
    y = reserve_out / scale_out
    a = a_raw / scale_in
    if a <= 0.0:
        return 0.0
    x0 = x + a
    big_a = a * (3.0 * x * x + 3.0 * x * a + a * a)
    x3 = x * x * x
    dy = 0.0
    for _ in range(100):
        yp = y - dy
        g = big_a * yp - x3 * dy + a * y * y * y - x0 * dy * (3.0 * y * y - 3.0 * y * dy + dy * dy)
        gp = x0 * x0 * x0 + 3.0 * x0 * yp * yp
        step = g / gp
        dy += step
        if step <= 1e-17 * dy:
            break
    if dy > y:
        dy = y
    return np.floor(dy * scale_out)


def replay_cpmm(reserve0, reserve1, fee_bps, fee_leaves_pool, amounts_in, tokens_in):
    """Replay a sequence of exact-input swaps on a constant-product pool, float64.

    Parameters
    ----------
    reserve0 : float
        Initial reserve of token0, raw units, > 0.
    reserve1 : float
        Initial reserve of token1, raw units, > 0.
    fee_bps : float
        Fee in basis points, [0, 10000).
    fee_leaves_pool : bool
        True for Aerodrome (the floored fee goes to ``PoolFees``; reserves grow by the net input),
        False for the Uniswap v2 family (the fee stays in the pair).
    amounts_in : ndarray of float64, shape (n,)
        Inputs, raw units of the token given by ``tokens_in``.
    tokens_in : ndarray of int64, shape (n,)
        0 if token0 is sold, 1 if token1 is sold.

    Returns
    -------
    amounts_out : ndarray of float64, shape (n,)
        Output of each swap, raw units.
    reserve0 : ndarray of float64, shape (n,)
        Reserve of token0 after each swap.
    reserve1 : ndarray of float64, shape (n,)
        Reserve of token1 after each swap.

    Notes
    -----
    Reference twin of :func:`replay_cpmm_nb`. A swap whose output would be 0 is skipped (the pair
    reverts) and leaves the reserves unchanged.
    """
    n = amounts_in.shape[0]
    out = np.zeros(n)
    r0s = np.empty(n)
    r1s = np.empty(n)
    r0 = reserve0
    r1 = reserve1
    for i in range(n):
        a = amounts_in[i]
        if tokens_in[i] == 0:
            o = cpmm_amount_out(a, r0, r1, fee_bps, fee_leaves_pool)
            if o > 0.0:
                r0 += a - np.floor(a * fee_bps / 10000.0) if fee_leaves_pool else a
                r1 -= o
                out[i] = o
        else:
            o = cpmm_amount_out(a, r1, r0, fee_bps, fee_leaves_pool)
            if o > 0.0:
                r1 += a - np.floor(a * fee_bps / 10000.0) if fee_leaves_pool else a
                r0 -= o
                out[i] = o
        r0s[i] = r0
        r1s[i] = r1
    return out, r0s, r1s


def replay_stable(reserve0, reserve1, scale0, scale1, fee_bps, amounts_in, tokens_in):
    """Replay a sequence of exact-input swaps on an Aerodrome stable pool, float64.

    Parameters
    ----------
    reserve0 : float
        Initial reserve of token0, raw units, > 0.
    reserve1 : float
        Initial reserve of token1, raw units, > 0.
    scale0 : float
        ``10**decimals0``.
    scale1 : float
        ``10**decimals1``.
    fee_bps : float
        Fee in basis points, [0, 10000); the floored fee leaves the pool.
    amounts_in : ndarray of float64, shape (n,)
        Inputs, raw units.
    tokens_in : ndarray of int64, shape (n,)
        0 if token0 is sold, 1 if token1 is sold.

    Returns
    -------
    amounts_out : ndarray of float64, shape (n,)
        Output of each swap, raw units.
    reserve0 : ndarray of float64, shape (n,)
        Reserve of token0 after each swap.
    reserve1 : ndarray of float64, shape (n,)
        Reserve of token1 after each swap.

    Notes
    -----
    Reference twin of :func:`replay_stable_nb`. Zero-output swaps are skipped.
    """
    n = amounts_in.shape[0]
    out = np.zeros(n)
    r0s = np.empty(n)
    r1s = np.empty(n)
    r0 = reserve0
    r1 = reserve1
    for i in range(n):
        a = amounts_in[i]
        net = a - np.floor(a * fee_bps / 10000.0)
        if tokens_in[i] == 0:
            o = stable_amount_out(a, r0, r1, scale0, scale1, fee_bps)
            if o > 0.0:
                r0 += net
                r1 -= o
                out[i] = o
        else:
            o = stable_amount_out(a, r1, r0, scale1, scale0, fee_bps)
            if o > 0.0:
                r1 += net
                r0 -= o
                out[i] = o
        r0s[i] = r0
        r1s[i] = r1
    return out, r0s, r1s


cpmm_amount_out_nb = nb.njit(cache=True)(cpmm_amount_out)
stable_amount_out_nb = nb.njit(cache=True)(stable_amount_out)


@nb.njit(cache=True)
def replay_cpmm_nb(reserve0, reserve1, fee_bps, fee_leaves_pool, amounts_in, tokens_in):
    """Compiled :func:`replay_cpmm` (same parameters and returns; reference twin: :func:`replay_cpmm`).

    Parameters
    ----------
    reserve0 : float
        Initial reserve of token0, raw units.
    reserve1 : float
        Initial reserve of token1, raw units.
    fee_bps : float
        Fee in basis points.
    fee_leaves_pool : bool
        True for Aerodrome, False for the Uniswap v2 family.
    amounts_in : ndarray of float64, shape (n,)
        Inputs, raw units (not mutated).
    tokens_in : ndarray of int64, shape (n,)
        0 or 1 per swap (not mutated).

    Returns
    -------
    amounts_out, reserve0, reserve1 : ndarray of float64, shape (n,)
        Outputs and the reserves after each swap.
    """
    n = amounts_in.shape[0]
    out = np.zeros(n)
    r0s = np.empty(n)
    r1s = np.empty(n)
    r0 = reserve0
    r1 = reserve1
    for i in range(n):
        a = amounts_in[i]
        if tokens_in[i] == 0:
            o = cpmm_amount_out_nb(a, r0, r1, fee_bps, fee_leaves_pool)
            if o > 0.0:
                r0 += a - np.floor(a * fee_bps / 10000.0) if fee_leaves_pool else a
                r1 -= o
                out[i] = o
        else:
            o = cpmm_amount_out_nb(a, r1, r0, fee_bps, fee_leaves_pool)
            if o > 0.0:
                r1 += a - np.floor(a * fee_bps / 10000.0) if fee_leaves_pool else a
                r0 -= o
                out[i] = o
        r0s[i] = r0
        r1s[i] = r1
    return out, r0s, r1s


@nb.njit(cache=True)
def replay_stable_nb(reserve0, reserve1, scale0, scale1, fee_bps, amounts_in, tokens_in):
    """Compiled :func:`replay_stable` (same parameters and returns; reference twin: :func:`replay_stable`).

    Parameters
    ----------
    reserve0 : float
        Initial reserve of token0, raw units.
    reserve1 : float
        Initial reserve of token1, raw units.
    scale0 : float
        ``10**decimals0``.
    scale1 : float
        ``10**decimals1``.
    fee_bps : float
        Fee in basis points.
    amounts_in : ndarray of float64, shape (n,)
        Inputs, raw units (not mutated).
    tokens_in : ndarray of int64, shape (n,)
        0 or 1 per swap (not mutated).

    Returns
    -------
    amounts_out, reserve0, reserve1 : ndarray of float64, shape (n,)
        Outputs and the reserves after each swap.
    """
    n = amounts_in.shape[0]
    out = np.zeros(n)
    r0s = np.empty(n)
    r1s = np.empty(n)
    r0 = reserve0
    r1 = reserve1
    for i in range(n):
        a = amounts_in[i]
        net = a - np.floor(a * fee_bps / 10000.0)
        if tokens_in[i] == 0:
            o = stable_amount_out_nb(a, r0, r1, scale0, scale1, fee_bps)
            if o > 0.0:
                r0 += net
                r1 -= o
                out[i] = o
        else:
            o = stable_amount_out_nb(a, r1, r0, scale1, scale0, fee_bps)
            if o > 0.0:
                r1 += net
                r0 -= o
                out[i] = o
        r0s[i] = r0
        r1s[i] = r1
    return out, r0s, r1s
