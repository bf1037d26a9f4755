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

Increases of the level size never change ``ahead`` (new orders join the back).

``ahead`` may be slightly negative: a print's excess over the queue that rounds to no lot (under
half a lot) is carried to the next print (hftbacktest's ``is_filled``, see
:func:`venues.orderbook._book_nb.advance_nb`). Such an order is at the front, so a cancel is
behind it and leaves ``ahead`` unchanged.

Below zero (``[venue] queue_below_zero``):

``"clamp"`` (default)
    A cancel never pushes ``ahead`` below 0: a cancel cannot fill us, and an order cannot be
    further ahead than the front.
``"allow"``
    hftbacktest 2.4.4's ``ProbQueueModel::depth`` arithmetic as it is: the share of a cancel put
    in front of us may exceed what is there, leaving ``front < 0`` (the next print at the price
    then fills us with its size plus ``-front``); a later decrease computes ``f(front)`` of that
    negative ``front``: with ``log(1 + x)`` a "probability" ``p > 1`` that moves the order
    *back*, and for ``front <= -1`` a NaN (``log`` of a negative number) that puts it at the back
    of the level (Rust's ``f64::min(NaN, new_qty) = new_qty``); an infinite ``p`` counts as 1.
    With ``x**3`` ``front`` rarely goes below 0, with ``log(1 + x)`` (flat) often. Only for
    reproducing hftbacktest runs (``bench/crossval_hftbacktest.py``, aligned mode). Encoded as
    the :data:`UNBOUNDED` bit of the model code (:func:`queue_model_code`).

Source: hftbacktest ``hftbacktest/src/backtest/models/queue.rs`` (``ProbQueueModel::trade``
accumulates ``cum_trade_qty``; ``ProbQueueModel::depth`` subtracts and resets it; ``is_filled``),
read at 4d700e8 (the 2.4.4 version bump, 2025-12-04; unchanged at 5f3ec40); the formulas above
are restated, not copied. Checked fill for fill against hftbacktest 2.4.4 itself in
``tests/venues/orderbook/test_queue_vs_hftbacktest.py``.
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
UNBOUNDED: int = 4
"""Bit OR'ed into a probabilistic model code: hftbacktest's arithmetic below zero (``"allow"``)."""
_BASE = 3  # mask of the model bits
QUEUE_BELOW_ZERO: tuple[str, ...] = ("clamp", "allow")


def queue_model_code(model: str, below_zero: str = "clamp") -> int:
    """Kernel code of a queue model (``[venue] queue_model`` and ``queue_below_zero``).

    Parameters
    ----------
    model : {"risk_averse", "prob_power", "prob_log"}
        Queue model name.
    below_zero : {"clamp", "allow"}, default "clamp"
        ``"allow"``: hftbacktest's unbounded ``ProbQueueModel::depth`` (see the module
        docstring). No effect on ``risk_averse``, whose rule never moves ``ahead`` on a cancel.

    Returns
    -------
    int
        ``QUEUE_MODEL_CODES[model]``, with :data:`UNBOUNDED` set for a probabilistic model and
        ``"allow"``.

    Raises
    ------
    ValueError
        Unknown ``model`` or ``below_zero`` (the message names the key).

    Examples
    --------
    >>> queue_model_code("prob_log", "allow") == PROB_LOG | UNBOUNDED
    True
    >>> queue_model_code("risk_averse", "allow") == RISK_AVERSE
    True
    """
    if model not in QUEUE_MODEL_CODES:
        raise ValueError(f"queue_model must be one of {sorted(QUEUE_MODEL_CODES)}, got {model!r}")
    if below_zero not in QUEUE_BELOW_ZERO:
        raise ValueError(f"queue_below_zero must be one of {list(QUEUE_BELOW_ZERO)}, got {below_zero!r}")
    code = QUEUE_MODEL_CODES[model]
    if below_zero == "allow" and code != RISK_AVERSE:
        code |= UNBOUNDED
    return code


@nb.njit(cache=True)
def _weight(x: float, model: int, power: float) -> float:
    """``f(x)`` of the probability function, with IEEE results for ``x < 0`` (as Rust's ``f64``):
    ``x**n`` is NaN for a non-integer ``n``, ``log(1 + x)`` is ``-inf`` at ``x = -1`` and NaN
    below (instead of Python's exceptions)."""
    if (model & _BASE) == PROB_POWER:
        if x < 0.0 and power != math.floor(power):
            return math.nan
        return math.pow(x, power)
    if x < -1.0:
        return math.nan
    if x == -1.0:
        return -math.inf
    return math.log1p(x)


@nb.njit(cache=True)
def _unbounded_update(front: float, prev_qty: float, new_qty: float, chg: float, model: int, power: float) -> float:
    """hftbacktest 2.4.4 ``ProbQueueModel::depth`` for a net decrease ``chg >= 0``, unbounded
    below (``queue_below_zero = "allow"``)."""
    back = prev_qty - front
    f_front = _weight(front, model, power)
    f_back = _weight(back, model, power)
    total = f_back + f_front
    if total == 0.0:
        p = 1.0 if f_back != 0.0 else math.nan  # x / 0: infinite -> 1; 0 / 0: NaN
    else:
        p = f_back / total
        if math.isinf(p):
            p = 1.0
    if math.isnan(p):
        return new_qty  # the estimate is NaN; Rust's NaN.min(new_qty) is new_qty
    est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
    if math.isnan(est):  # inf - inf (p huge): Rust's f64::min returns the non-NaN operand
        return new_qty
    return min(est, new_qty)


@nb.njit(cache=True)
def queue_update(
    ahead: float, prev_qty: float, new_qty: float, traded: float, model: int, power: float
) -> float:
    """New size ahead of our order after its level changed from ``prev_qty`` to ``new_qty``.

    Compiled (Numba) and called from the replay kernel; callable from Python as well.

    Parameters
    ----------
    ahead : float
        Size ahead of our order before the change, base units; negative for a carried print
        excess (or, with :data:`UNBOUNDED`, a cancel that overshot the front).
    prev_qty, new_qty : float
        Level size before and after the update, base units.
    traded : float
        Size printed at the level (against our side) since its previous update, base units;
        already taken off ``ahead`` by those prints. Ignored by ``RISK_AVERSE``.
    model : int
        ``RISK_AVERSE``, ``PROB_POWER`` or ``PROB_LOG``, optionally with :data:`UNBOUNDED`
        (:func:`queue_model_code`).
    power : float
        Exponent ``n`` of ``PROB_POWER``.

    Returns
    -------
    float
        Size ahead after the update: in ``[min(ahead, 0), new_qty]``, and never above ``ahead``;
        with :data:`UNBOUNDED` any value ``<= new_qty``.

    Examples
    --------
    >>> queue_update(5.0, 10.0, 4.0, 0.0, RISK_AVERSE, 3.0)
    4.0
    >>> queue_update(5.0, 10.0, 8.0, 0.0, PROB_POWER, 1.0)  # p = 5/10: half of the cancel is ahead
    4.0
    >>> queue_update(3.0, 10.0, 8.0, 2.0, PROB_POWER, 1.0)  # the decrease was the print: no cancel
    3.0
    >>> queue_update(0.5, 96.0, 78.0, 0.0, PROB_LOG, 3.0)  # the cancel's share ahead (1.47) > 0.5
    0.0
    >>> round(queue_update(0.5, 96.0, 78.0, 0.0, PROB_LOG | UNBOUNDED, 3.0), 6)  # hftbacktest
    -0.967007
    """
    if model == RISK_AVERSE:
        return min(ahead, new_qty)
    chg = prev_qty - new_qty - traded
    if chg < 0.0:
        return min(ahead, new_qty)
    if model & UNBOUNDED:
        return _unbounded_update(ahead, prev_qty, new_qty, chg, model, power)
    if ahead <= 0.0:  # at the front (a carried print excess): the cancel was behind us
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
