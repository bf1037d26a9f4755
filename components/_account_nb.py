"""Compiled average-cost booking of fills: the one implementation behind :class:`components.account.Account`.

A *ledger* is a float64 array of :data:`N_LEDGER` slots (``LQ`` … ``N_FILLS``). :func:`book_nb`
books one linear fill into it (``Account._book`` calls it for every fill); :func:`book_fills_nb`
books a whole fill log at once (the batch path, :mod:`venues.orderbook.batch`), with the same
arithmetic in the same order, so both give the same floats.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

LQ, LX, CASH, FEES, MAKER_VOLUME, TAKER_VOLUME, REALIZED, N_FILLS = range(8)
N_LEDGER = 8
FLAT_RTOL = 1e-12
"""A closing fill within this relative size of the position closes it exactly (``Account`` Notes)."""


@nb.njit(cache=True)
def book_nb(ledger: npt.NDArray[np.float64], s: float, x: float, w: float, fee: float, notional: float,
            is_maker: bool) -> None:
    """Book side ``s`` (±1.0), price ``x``, size ``w`` of a linear fill into ``ledger`` (mutated).

    Parameters
    ----------
    ledger : ndarray of float64, shape (N_LEDGER,)
        Position ``LQ``, average entry ``LX``, cash, fees, maker/taker volume, realised PnL and
        fill count, in the ledger's units (:class:`components.account.Account`, Notes).
    s : float
        ``+1.0`` buy, ``-1.0`` sell.
    x, w : float
        Price and size in the ledger's units.
    fee : float
        Fee, account currency (negative: rebate).
    notional : float
        Added to the maker or taker volume.
    is_maker : bool
    """
    q = ledger[LQ]
    ledger[CASH] -= s * x * w + fee
    ledger[FEES] += fee
    if is_maker:
        ledger[MAKER_VOLUME] += notional
    else:
        ledger[TAKER_VOLUME] += notional
    ledger[N_FILLS] += 1.0
    if q == 0.0 or (q > 0.0) == (s > 0.0):  # opening or adding: size-weighted average entry
        pos = abs(q)
        ledger[LX] = (ledger[LX] * pos + x * w) / (pos + w)
        ledger[LQ] = q + s * w
        return
    pos = abs(q)
    avg = ledger[LX]
    sign_q = -s
    if w < pos * (1.0 - FLAT_RTOL):  # partial close: average entry unchanged
        ledger[REALIZED] += sign_q * w * (x - avg)
        ledger[LQ] = q + s * w
    elif w <= pos * (1.0 + FLAT_RTOL):  # exact close (to rounding)
        ledger[REALIZED] += sign_q * (x * w - avg * pos)
        ledger[LQ] = 0.0
        ledger[LX] = 0.0
    else:  # flip through zero: close pos at x, open the remainder at x
        ledger[REALIZED] += sign_q * pos * (x - avg)
        ledger[LQ] = q + s * w
        ledger[LX] = x


@nb.njit(cache=True)
def book_fills_nb(ledger: npt.NDArray[np.float64], side: npt.NDArray[np.int8], px: npt.NDArray[np.float64],
                  qty: npt.NDArray[np.float64], fee: npt.NDArray[np.float64], is_maker: npt.NDArray[np.bool_],
                  cash_after: npt.NDArray[np.float64], q_after: npt.NDArray[np.float64]) -> None:
    """Book a log of linear fills in order; ``cash_after``/``q_after`` get the account after each.

    Parameters
    ----------
    ledger : ndarray of float64, shape (N_LEDGER,)
        Mutated.
    side : ndarray of int8, shape (n,)
        ±1.
    px, qty, fee : ndarray of float64, shape (n,)
        Quote units per base unit, base units, quote units.
    is_maker : ndarray of bool, shape (n,)
    cash_after, q_after : ndarray of float64, shape (n,)
        Output (mutated).
    """
    for i in range(side.size):
        s = 1.0 if side[i] == 1 else -1.0
        book_nb(ledger, s, px[i], qty[i], fee[i], px[i] * qty[i], is_maker[i])
        cash_after[i] = ledger[CASH]
        q_after[i] = ledger[LQ]
