"""Queue-position models for the strategy's resting orders in an L2 replay.

An L2 feed shows the size at each price, not who is in front of whom. When our order joins a
level we place it at the back (everything already there is ``ahead`` of us). After that:

* a trade at our price removes its size from ``ahead`` (the queue is FIFO); once ``ahead``
  would go negative the excess fills our order;
* a decrease of the level's size that is not a trade is a cancel somewhere in the queue. The
  models differ in where they assume it happened:

``risk_averse``
    Cancels always come from *behind* us: ``ahead = min(ahead, level_qty)``. We only advance when
    the level shrinks below our position. Conservative (the "risk-averse" model of hftbacktest's
    documentation, "Queue Models").
``prob_power`` / ``prob_log``
    A decrease ``Δ`` is split between the front and the back of the queue in proportion to
    ``f(ahead) / (f(ahead) + f(behind))`` with ``f(x) = x**n`` or ``f(x) = log(1 + x)``:
    cancels are more likely where more size sits. This is the probabilistic queue-position
    estimate of Rigtorp (2013), "Estimating order queue position" (rigtorp.se), in the
    parametrisation documented by hftbacktest ("ProbQueueModel", power and log functions).

Increases of the level size never change ``ahead`` (new orders join the back).

The compiled implementation is :func:`venues.orderbook._book_nb.queue_update_nb`;
:func:`queue_update` is its plain-Python reference twin (tested to agree).
"""

from __future__ import annotations

import math

RISK_AVERSE: int = 0
PROB_POWER: int = 1
PROB_LOG: int = 2

QUEUE_MODEL_CODES: dict[str, int] = {
    "risk_averse": RISK_AVERSE,
    "prob_power": PROB_POWER,
    "prob_log": PROB_LOG,
}


def queue_update(ahead: float, prev_qty: float, new_qty: float, model: int, power: float) -> float:
    """New size ahead of our order after the level changed from ``prev_qty`` to ``new_qty``.

    Parameters
    ----------
    ahead : float
        Size ahead of our order before the change, base units (``>= 0``).
    prev_qty, new_qty : float
        Level size before and after the change (not a trade), base units.
    model : int
        ``RISK_AVERSE``, ``PROB_POWER`` or ``PROB_LOG``.
    power : float
        Exponent ``n`` of ``PROB_POWER``.

    Returns
    -------
    float
        Size ahead after the change, in ``[0, new_qty]``.

    Examples
    --------
    >>> queue_update(5.0, 10.0, 4.0, RISK_AVERSE, 3.0)
    4.0
    >>> queue_update(5.0, 10.0, 8.0, PROB_POWER, 1.0)  # half the queue is ahead: half of Δ
    4.0
    """
    if new_qty >= prev_qty or model == RISK_AVERSE:
        return min(ahead, new_qty)
    chg = prev_qty - new_qty
    front = ahead
    back = max(prev_qty - front, 0.0)
    if model == PROB_POWER:
        f_front, f_back = front**power, back**power
    else:
        f_front, f_back = math.log1p(front), math.log1p(back)
    total = f_front + f_back
    share = f_front / total if total > 0 else 1.0
    return min(max(front - share * chg, 0.0), new_qty)
