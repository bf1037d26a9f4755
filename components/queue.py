"""Queue-position models for the strategy's resting orders in an L2 replay.

An L2 feed shows the size at each price, not who is in front of whom. When our order joins a
level we place it at the back (everything already there is ``ahead`` of us). After that:

* a print at our price removes its size from ``ahead`` (the queue is FIFO); once ``ahead``
  would go negative the excess fills our order (in whole lots, see
  :func:`venues.orderbook._book_nb.advance_nb`);
* a decrease of the level's size is a cancel somewhere in the queue, *net of the size printed
  at the level since its previous update*: a print shows up twice in an L2 feed, once as the
  trade and again as the depth decrease it causes, and must move us only once. The models
  differ in where they assume a cancel happened:

``risk_averse``
    Cancels always come from *behind* us: ``ahead = min(ahead, level_qty)``. We only advance on
    prints and when the level shrinks below our position. Conservative (hftbacktest's
    ``RiskAdverseQueueModel``, documentation page "Queue Models").
``prob_power`` / ``prob_log``
    hftbacktest's ``ProbQueueModel`` with ``PowerProbQueueFunc`` (``f(x) = x**n``) or
    ``LogProbQueueFunc`` (``f(x) = log(1 + x)``), after Rigtorp (2013), "Estimating order
    queue position" (rigtorp.se). With ``front = ahead``, ``back = prev_qty - front`` and the
    net decrease ``chg = prev_qty - new_qty - traded``, the probability that the cancel was
    behind us is ``p = f(back) / (f(back) + f(front))`` and::

        ahead' = min(front - (1 - p)·chg + min(back - p·chg, 0), new_qty)

    (the second term moves to the front the part of the cancel the back cannot hold). When the
    prints since the last update exceed the decrease (``chg < 0``) only ``min(ahead, new_qty)``
    applies. The printed size is reset at every update of the level.

Increases of the level size never change ``ahead`` (new orders join the back). Unlike
hftbacktest we never let a cancel push ``ahead`` below 0 (a cancel cannot fill us).

Source: hftbacktest ``hftbacktest/src/backtest/models/queue.rs`` (``ProbQueueModel::trade``
accumulates ``cum_trade_qty``; ``ProbQueueModel::depth`` subtracts and resets it), read at
commit 5f3ec40b (2025-12); the formula above is restated, not copied.
"""

from __future__ import annotations

import math

import numba as nb

RISK_AVERSE: int = 0
PROB_POWER: int = 1
PROB_LOG: int = 2

QUEUE_MODEL_CODES: dict[str, int] = {
    "risk_averse": RISK_AVERSE,
    "prob_power": PROB_POWER,
    "prob_log": PROB_LOG,
}


@nb.njit(cache=True)
def queue_update(
    ahead: float, prev_qty: float, new_qty: float, traded: float, model: int, power: float
) -> float:
    """New size ahead of our order after its level changed from ``prev_qty`` to ``new_qty``.

    Compiled (Numba) and called from the replay kernel; callable from Python as well.

    Parameters
    ----------
    ahead : float
        Size ahead of our order before the change, base units (``>= 0``).
    prev_qty, new_qty : float
        Level size before and after the update, base units.
    traded : float
        Size printed at the level (against our side) since its previous update, base units;
        already taken off ``ahead`` by those prints. Ignored by ``RISK_AVERSE``.
    model : int
        ``RISK_AVERSE``, ``PROB_POWER`` or ``PROB_LOG``.
    power : float
        Exponent ``n`` of ``PROB_POWER``.

    Returns
    -------
    float
        Size ahead after the update, in ``[0, new_qty]``.

    Examples
    --------
    >>> queue_update(5.0, 10.0, 4.0, 0.0, RISK_AVERSE, 3.0)
    4.0
    >>> queue_update(5.0, 10.0, 8.0, 0.0, PROB_POWER, 1.0)  # p = 5/10: half of the cancel is ahead
    4.0
    >>> queue_update(3.0, 10.0, 8.0, 2.0, PROB_POWER, 1.0)  # the decrease was the print: no cancel
    3.0
    """
    if model == RISK_AVERSE:
        return min(ahead, new_qty)
    chg = prev_qty - new_qty - traded
    if chg < 0.0:
        return min(ahead, new_qty)
    front = ahead
    back = max(prev_qty - front, 0.0)
    if model == PROB_POWER:
        f_front = front**power
        f_back = back**power
    else:
        f_front = math.log1p(front)
        f_back = math.log1p(back)
    total = f_front + f_back
    p = f_back / total if total > 0.0 else 0.0
    est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
    return min(max(est, 0.0), new_qty)
