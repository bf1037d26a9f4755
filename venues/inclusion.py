"""Block inclusion: a logistic model of landing in the next block as a function of the bribe.

Model
-----
A transaction offering bribe ``x >= 0`` (priority fee, or any payment to the block producer)
lands in the next block with probability

    p(x) = 1 / (1 + exp(-(a + b·x))),   b > 0.

:func:`inclusion_probability` (scalar) and :func:`inclusion_probability_array` (numpy) evaluate
it; :func:`draw_included` draws the outcome from the trial's seeded stream; :func:`optimal_bribe`
picks the bribe that maximises expected value for an opportunity worth ``V`` under two payment
rules; :func:`fit_inclusion` estimates ``(a, b)`` by logistic regression (statsmodels, or
scikit-learn); :func:`inclusion_dataset_from_blocks` builds (bribe, included) observations from
recorded Ethereum blocks that contain included transactions only.

Units
-----
``a`` is dimensionless; ``b`` is per unit of bribe; ``x`` and ``V`` must be in the same unit.
With the Ethereum data the unit is **gwei per gas** of priority fee, so an opportunity worth
``V_eth`` for a transaction using ``g`` gas enters :func:`optimal_bribe` as
``V = V_eth · 1e9 / g`` gwei/gas, and the returned bribe is the priority fee per gas to set.

See Also
--------
venues.loaders.eth_blocks : loaders of the recorded block/transaction fee data.

References
----------
P. Daian, S. Goldfeder, T. Kell, Y. Li, X. Zhao, I. Bentov, L. Breidenbach, A. Juels,
"Flash Boys 2.0: Frontrunning in Decentralized Exchanges, Miner Extractable Value, and
Consensus Instability", IEEE S&P 2020 (arXiv:1904.05234) — context on priority-gas auctions.
The logistic inclusion model itself is this project's (FORMULAS.md §5).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

__all__ = [
    "InclusionDataset",
    "InclusionFit",
    "draw_included",
    "fit_inclusion",
    "fit_inclusion_from_blocks",
    "fit_inclusion_model",
    "inclusion_curve",
    "inclusion_dataset_from_blocks",
    "inclusion_probability",
    "inclusion_probability_array",
    "lambertw_exp",
    "optimal_bribe",
]

_exp = math.exp
_log = math.log
_log1p = math.log1p
_sqrt = math.sqrt
_isfinite = math.isfinite


def inclusion_probability(bribe: float, a: float, b: float) -> float:
    """Probability that a transaction paying ``bribe`` is included: ``1 / (1 + exp(-(a + b·bribe)))``.

    Evaluated without overflow for any finite ``a + b·bribe`` (``exp`` of a non-positive number
    only).

    Parameters
    ----------
    bribe : float
        Bribe in the unit the model was fitted in (gwei/gas for the Ethereum fit).
    a : float
        Intercept (log-odds of inclusion at zero bribe).
    b : float
        Slope per unit of bribe (``> 0`` in a meaningful model; not checked here).

    Returns
    -------
    float
        In ``[0, 1]``.

    Examples
    --------
    >>> inclusion_probability(0.0, 0.0, 1.0)
    0.5
    >>> round(inclusion_probability(2.0, -1.0, 0.5), 12) == round(1 / (1 + math.exp(0.0)), 12)
    True
    """
    t = a + b * bribe
    if t >= 0.0:
        return 1.0 / (1.0 + _exp(-t))
    e = _exp(t)
    return e / (1.0 + e)


def inclusion_probability_array(bribe: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Vectorised :func:`inclusion_probability`: ``bribe``, ``a``, ``b`` broadcast as numpy arrays.

    Parameters
    ----------
    bribe, a, b : array_like
        Broadcastable arrays (or scalars).

    Returns
    -------
    ndarray of float64
        ``1 / (1 + exp(-(a + b·bribe)))`` elementwise, stable for large ``|a + b·bribe|``.
    """
    t = np.asarray(a, dtype=np.float64) + np.asarray(b, dtype=np.float64) * np.asarray(bribe, dtype=np.float64)
    e = np.exp(-np.abs(t))
    return np.where(t >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def draw_included(rng: np.random.Generator, bribe: float, a: float, b: float) -> bool:
    """Draw whether a transaction paying ``bribe`` lands in the next block.

    Consumes exactly one ``rng.random()`` double from the generator passed in (the trial's
    ``"inclusion/..."`` stream), so a seeded stream gives the same sequence of outcomes; never
    touches numpy's global RNG.

    Parameters
    ----------
    rng : numpy.random.Generator
        The trial's seeded stream.
    bribe, a, b : float
        See :func:`inclusion_probability`.

    Returns
    -------
    bool
        ``True`` with probability ``p(bribe)``.

    Raises
    ------
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (the trial's stream), got {type(rng).__name__}")
    return bool(rng.random() < inclusion_probability(bribe, a, b))


def lambertw_exp(z: float) -> float:
    """Principal-branch Lambert W of ``e^z``, computed in log space: the ``w > 0`` with ``w + ln w = z``.

    Never forms ``e^z`` for large ``z`` (so it works for ``z`` far beyond 709, where ``exp``
    overflows). Initial guess: Winitzki's approximation ``L·(1 − ln(1+L)/(2+L))``, ``L = ln(1+e^z)``
    for ``z < 20``, the asymptotic ``z − ln z + ln z / z`` above; then the iteration of Fritsch,
    Shafer & Crowley (1973, CACM 16(2):123) written with ``ln(y/w) = z − ln w``, which converges
    to double precision in one or two steps from these guesses. For ``z < -40``, ``W(e^z) = e^z``
    to double precision.

    Parameters
    ----------
    z : float
        Finite.

    Returns
    -------
    float
        ``W0(e^z) > 0`` (``0.0`` only where ``e^z`` underflows).
    """
    if z < -40.0:
        return _exp(z)
    if z < 20.0:
        L = _log1p(_exp(z))
        w = L * (1.0 - _log1p(L) / (2.0 + L))
    else:
        lz = _log(z)
        w = z - lz + lz / z
    for _ in range(8):
        zn = z - _log(w) - w
        w1 = 1.0 + w
        r = zn / w1
        t = w1 + zn * (2.0 / 3.0)  # q_n = 2·w1·t, divided out so that huge w cannot overflow
        en = r * (t - 0.5 * r) / (t - r)
        w *= 1.0 + en
        if abs(en) < 1e-15:
            break
    return w


def optimal_bribe(value: float, a: float, b: float, pay: str = "if_included") -> tuple[float, float]:
    """Bribe ``x >= 0`` that maximises the expected value of an opportunity worth ``value``.

    Derivation (FORMULAS.md §5). Write ``p = p(x)``, ``V = value``; the logistic gives
    ``p'(x) = b·p·(1 − p)``.

    ``pay="if_included"`` — the bribe is paid only when the transaction lands:
    ``E(x) = p(x)·(V − x)``. Then ``E'(x) = p·[b(1 − p)(V − x) − 1]``, so the first-order
    condition is ``b(1 − p)(V − x) = 1``; since ``1/(1 − p) = 1 + e^{a+bx}`` it reads
    ``1 + e^{a+bx} = b(V − x)``. The left side increases and the right side decreases in ``x``,
    so there is exactly one root and ``E`` rises before it and falls after it. With
    ``u = b(V − x) − 1`` the condition becomes ``u = e^{a+bV−1}·e^{−u}``, i.e.
    ``u·e^u = e^{a+bV−1}``, so ``u = W0(e^{a+bV−1})`` (principal branch; evaluated in log space
    by :func:`lambertw_exp`, so ``a + bV`` may be huge). Hence ``x* = V − (1 + u)/b``,
    ``p* = u/(1 + u)`` and ``E* = u/b``. If ``x* <= 0`` the constrained optimum is ``x = 0``
    with ``E = p(0)·V``.

    ``pay="always"`` — the bribe is paid whether or not the transaction lands:
    ``E(x) = p(x)·V − x``, ``E'(x) = bV·p(1 − p) − 1``. As ``p(1 − p) <= 1/4``, ``E`` is
    non-increasing when ``bV <= 4`` and the optimum is ``0``. For ``bV > 4`` the stationary
    points solve ``p(1 − p) = 1/(bV)``: ``p = (1 ± sqrt(1 − 4/(bV)))/2``; the smaller root is a
    local minimum and the larger, ``p_hi``, a local maximum at ``x_hi = (logit(p_hi) − a)/b``.
    The answer is ``x_hi`` if ``x_hi > 0`` and ``E(x_hi) > E(0) = p(0)·V``, else ``0``.
    (``1 − p_hi`` is computed as ``2/(bV(1 + sqrt(1 − 4/(bV))))`` to avoid cancellation.)

    Context: bribes for ordering/inclusion are the priority-gas auctions of Daian et al.,
    "Flash Boys 2.0", IEEE S&P 2020; this model of them is the project's own.

    Parameters
    ----------
    value : float
        ``V >= 0``, the opportunity's value, in the bribe's unit (gwei/gas for the Ethereum fit:
        ``V_eth · 1e9 / gas``).
    a : float
        Intercept of the inclusion model.
    b : float
        Slope, ``> 0``.
    pay : {"if_included", "always"}, default "if_included"
        Payment rule.

    Returns
    -------
    (bribe, expected_value) : tuple of float
        ``bribe >= 0`` and ``E(bribe)``.

    Raises
    ------
    ValueError
        ``b <= 0``, ``value < 0``, a non-finite input or ``a + b·value``, or an unknown ``pay``.

    Examples
    --------
    >>> x, e = optimal_bribe(10.0, -9.0, 1.0)  # a + bV - 1 = 0: u = W(1) = 0.5671432904...
    >>> round(x, 12), round(e, 12)
    (8.43285670959, 0.56714329041)
    >>> optimal_bribe(1.0, 0.0, 1.0, pay="always")  # bV < 4: never worth paying
    (0.0, 0.5)
    """
    if not (b > 0.0) or not _isfinite(b):
        raise ValueError(f"slope b must be finite and > 0, got {b!r}")
    if not (value >= 0.0) or not _isfinite(value):
        raise ValueError(f"value must be finite and >= 0, got {value!r}")
    if not _isfinite(a):
        raise ValueError(f"intercept a must be finite, got {a!r}")
    bv = b * value
    if pay == "if_included":
        z = a + bv - 1.0
        if not _isfinite(z):
            raise ValueError(f"a + b*value overflows (a={a!r}, b={b!r}, value={value!r})")
        u = lambertw_exp(z)
        x = value - (1.0 + u) / b
        if x > 0.0:
            return x, u / b
        return 0.0, inclusion_probability(0.0, a, b) * value
    if pay == "always":
        e0 = inclusion_probability(0.0, a, b) * value
        if not (bv > 4.0):
            return 0.0, e0
        if not _isfinite(bv):
            raise ValueError(f"b*value overflows (b={b!r}, value={value!r})")
        r = _sqrt(1.0 - 4.0 / bv)
        p_hi = 0.5 * (1.0 + r)
        q_hi = 2.0 / (bv * (1.0 + r))  # = 1 - p_hi without cancellation
        x = (_log(p_hi) - _log(q_hi) - a) / b
        if x > 0.0:
            e = p_hi * value - x
            if e > e0:
                return x, e
        return 0.0, e0
    raise ValueError(f"unknown pay rule {pay!r}; expected 'if_included' or 'always'")


# ----------------------------------------------------------------------------- fitting


@attrs.frozen(kw_only=True)
class InclusionFit:
    """Result of a logistic-regression fit of the inclusion model.

    Attributes
    ----------
    a, b : float
        Intercept and slope in the unit of the bribes passed in.
    se_a, se_b : float
        Standard errors from the observed information (``nan`` for ``method="sklearn"``). They
        assume independent rows; for pseudo-observations built from blocks
        (:func:`inclusion_dataset_from_blocks`) they are far too small (see there).
    n, n_included : int
        Rows used and rows with ``included = True``.
    log_likelihood : float
        At the estimate.
    method : str
        ``"statsmodels"`` or ``"sklearn"``.
    converged : bool
        The optimiser's convergence flag.
    """

    a: float
    b: float
    se_a: float
    se_b: float
    n: int
    n_included: int
    log_likelihood: float
    method: str
    converged: bool


FIT_METHODS = ("statsmodels", "sklearn")


def _check_fit_inputs(
    bribes: npt.ArrayLike, included: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = np.asarray(bribes, dtype=np.float64).ravel()
    yraw = np.asarray(included).ravel()
    if x.shape != yraw.shape:
        raise ValueError(f"bribes and included differ in length ({x.size} vs {yraw.size})")
    if x.size < 3:
        raise ValueError(f"need at least 3 observations, got {x.size}")
    if not np.all(np.isfinite(x)):
        i = int(np.argmax(~np.isfinite(x)))
        raise ValueError(f"bribes[{i}] = {x[i]!r} is not finite")
    y: npt.NDArray[np.float64]
    if yraw.dtype == bool:
        y = yraw.astype(np.float64)
    else:
        y = np.asarray(yraw, dtype=np.float64)
        bad = ~((y == 0.0) | (y == 1.0))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"included[{i}] = {yraw[i]!r} is not 0/1 or bool")
    n1 = int(y.sum())
    if n1 == 0 or n1 == y.size:
        raise ValueError("included must contain both outcomes (some True and some False)")
    x1, x0 = x[y == 1.0], x[y == 0.0]
    # In one dimension the logistic MLE exists iff the two classes overlap both ways.
    if x0.max() <= x1.min() or x1.max() <= x0.min():
        raise ValueError(
            "the outcomes are separated by the bribe (every included bribe >= every excluded one, or the "
            "reverse): the maximum-likelihood slope is infinite; add overlapping observations"
        )
    return x, y


def fit_inclusion_model(
    bribes: npt.ArrayLike, included: npt.ArrayLike, *, method: str = "statsmodels"
) -> InclusionFit:
    """Fit ``P(included | bribe) = 1/(1 + exp(-(a + b·bribe)))`` by maximum likelihood.

    Method: unpenalised logistic regression of ``included`` (0/1) on an intercept and the
    bribe. The bribe is standardised (``(x − mean)/sd``) before fitting for conditioning (wei
    and gwei scales differ by 1e9), and the coefficients are mapped back exactly:
    ``b = c1/sd``, ``a = c0 − c1·mean/sd`` (standard errors by the same linear map of the
    covariance). ``method="statsmodels"`` uses ``statsmodels.api.Logit(...).fit(method="newton")``
    (Newton–Raphson on the log-likelihood; standard errors from the inverse Hessian);
    ``method="sklearn"`` uses ``sklearn.linear_model.LogisticRegression(C=np.inf,
    solver="lbfgs")`` (no penalty — the spelling of ``penalty=None`` from scikit-learn 1.8; no
    standard errors). Both maximise the same likelihood.

    Plug in any data set of rows ``(bribe, included?)`` — e.g. mempool observations of
    transactions and whether they landed in the next block — in any consistent bribe unit; the
    returned ``a, b`` are in that unit.

    Parameters
    ----------
    bribes : array_like of float
        Bribe of each observation (finite).
    included : array_like of bool or {0, 1}
        Whether it was included.
    method : {"statsmodels", "sklearn"}, default "statsmodels"

    Returns
    -------
    InclusionFit

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than 3 rows, non-finite bribes, labels other than 0/1, a single
        outcome class, outcomes perfectly separated by the bribe (the MLE does not exist), an
        unknown method, or an optimiser that did not converge.
    ImportError
        If the library of ``method`` is not installed.
    """
    if method not in FIT_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {FIT_METHODS}")
    x, y = _check_fit_inputs(bribes, included)
    mu = float(x.mean())
    sd = float(x.std())
    if not sd > 0.0:
        raise ValueError("all bribes are equal: the slope is not identified")
    xs = (x - mu) / sd
    if method == "statsmodels":
        import statsmodels.api as sm

        X = np.column_stack([np.ones_like(xs), xs])
        res = sm.Logit(y, X).fit(method="newton", disp=False, maxiter=100, tol=1e-10)
        c = np.asarray(res.params, dtype=np.float64)
        cov = np.asarray(res.cov_params(), dtype=np.float64)
        converged = bool(res.mle_retvals.get("converged", False))
        ll = float(res.llf)
    else:
        from sklearn.linear_model import LogisticRegression

        # C = inf: no penalty (sklearn >= 1.8 deprecates penalty=None in favour of it)
        m = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-10, max_iter=1000)
        m.fit(xs[:, None], y.astype(np.int64))
        c = np.array([float(m.intercept_[0]), float(m.coef_[0, 0])])
        cov = np.full((2, 2), np.nan)
        converged = bool(int(np.max(m.n_iter_)) < 1000)
        t = c[0] + c[1] * xs
        ll = float(np.sum(y * t - np.logaddexp(0.0, t)))
    if not converged or not np.all(np.isfinite(c)):
        raise ValueError(f"logistic regression did not converge ({method}); coefficients {c.tolist()}")
    J = np.array([[1.0, -mu / sd], [0.0, 1.0 / sd]])
    ab = J @ c
    cov_ab = J @ cov @ J.T
    return InclusionFit(
        a=float(ab[0]),
        b=float(ab[1]),
        se_a=float(np.sqrt(cov_ab[0, 0])),
        se_b=float(np.sqrt(cov_ab[1, 1])),
        n=int(y.size),
        n_included=int(y.sum()),
        log_likelihood=ll,
        method=method,
        converged=converged,
    )


def fit_inclusion(
    bribes: npt.ArrayLike, included: npt.ArrayLike, *, method: str = "statsmodels"
) -> tuple[float, float]:
    """Estimate ``(a, b)`` of the inclusion model by logistic regression.

    Thin wrapper of :func:`fit_inclusion_model` (see there for the method, units and errors).

    Parameters
    ----------
    bribes : array_like of float
    included : array_like of bool or {0, 1}
    method : {"statsmodels", "sklearn"}, default "statsmodels"

    Returns
    -------
    (a, b) : tuple of float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0.0, 10.0, 20_000)
    >>> y = rng.random(x.size) < inclusion_probability_array(x, -3.0, 0.8)
    >>> a, b = fit_inclusion(x, y)
    >>> abs(a + 3.0) < 0.2 and abs(b - 0.8) < 0.05
    True
    """
    f = fit_inclusion_model(bribes, included, method=method)
    return f.a, f.b


# ------------------------------------------------------------ data set from included blocks


@attrs.frozen(kw_only=True)
class InclusionDataset:
    """(bribe, included) pseudo-observations built from blocks of included transactions.

    Attributes
    ----------
    bribes : ndarray of float64
        Bribe per row, in ``unit``.
    included : ndarray of bool
        Constructed label (see :func:`inclusion_dataset_from_blocks`).
    tx_block : ndarray of int64
        Block the transaction was actually included in.
    compared_block : ndarray of int64
        Block whose marginal fee the row compares against (``== tx_block`` for own-block rows).
    marginal : dict
        ``{block_number: marginal bribe}`` of each comparison block, in ``unit``.
    unit : str
        ``"gwei/gas"``.
    fee : str
        ``"priority"`` or ``"effective"``.
    """

    bribes: npt.NDArray[np.float64] = attrs.field(eq=False)
    included: npt.NDArray[np.bool_] = attrs.field(eq=False)
    tx_block: npt.NDArray[np.int64] = attrs.field(eq=False)
    compared_block: npt.NDArray[np.int64] = attrs.field(eq=False)
    marginal: dict[int, float]
    unit: str
    fee: str


def _tx_bribes_gwei(txs: npt.NDArray[np.void], fee: str) -> npt.NDArray[np.float64]:
    tip = txs["priority_fee_per_gas_wei"].astype(np.float64)
    if fee == "priority":
        return tip / 1e9
    if fee == "effective":
        return (tip + txs["coinbase_transfer_wei"] / txs["gas_used"].astype(np.float64)) / 1e9
    raise ValueError(f"unknown fee {fee!r}; expected 'priority' or 'effective'")


def inclusion_dataset_from_blocks(
    txs: npt.NDArray[np.void] | str | os.PathLike[str],
    *,
    fee: str = "effective",
    marginal: str | float = "min_positive",
    own_block: bool = True,
    min_block_gas_used: int = 0,
    blocks: Sequence[int] | None = None,
) -> InclusionDataset:
    """Build ``(bribe, included?)`` rows from recorded blocks that hold included transactions only.

    Identification. The recorded data (mev-inspect blocks) hold only transactions that *were*
    included, so we see the bribe distribution given inclusion, ``f(x | included)``, and never
    the transactions that were sent and not included. ``P(included | x) =
    f(x | included)·P(included) / f(x)`` needs the bribe distribution of *all* submitted
    transactions, ``f(x)``, and ``P(included)``, neither of which is observed: **``P(inclusion |
    bribe)`` is not identified from these data alone.**

    Assumption used to build the not-included side. Each block ``k`` clears at a *marginal*
    bribe ``m_k`` (by default its lowest strictly positive bribe, see ``marginal``), and a
    transaction offering ``x`` would have been included in block ``k`` iff ``x >= m_k``
    (a price threshold: no gas-size knapsack effects, nonce chains or private deals). Each
    included transaction ``i`` (bribe ``x_i``, own block ``j``) then yields one row per other
    comparison block ``k != j``: ``(x_i, x_i >= m_k)``, plus, with ``own_block``, the true
    observation ``(x_i, True)`` for its own block. Under the assumption the probability that a
    transaction paying ``x`` lands in a block drawn at random is ``P(m <= x) = F_m(x)``, the CDF
    of the clearing bribe across blocks; the logistic fit approximates ``F_m`` by a logistic CDF.
    That — not the mempool inclusion probability — is what the fit on these data estimates.

    Known biases. (1) In blocks that are not full (gas used below the EIP-1559 target), any tip
    above the producer's minimum would have fitted, so the lowest included tip overstates the
    threshold: low bribes are labelled not-included too often, ``p`` at small ``x`` is biased
    down (``min_block_gas_used`` restricts comparison blocks to full ones). (2) In full blocks a
    transaction just above ``m_k`` might not fit (gas size), biasing ``p`` up near the threshold.
    (3) The design points ``x_i`` are winners' bribes (selected on inclusion, right-skewed), so
    the fit weighs the high-fee region where labels are nearly all ``True``. (4) Rows are not
    independent — each ``m_k`` labels every transaction and each transaction is reused against
    every block — so the effective sample size is about the number of blocks (10 in the shared
    data) and the standard errors of :class:`InclusionFit` are far too small. (5) Zero-tip
    transactions (the producer's own, or paid off-chain / by coinbase transfer) are not bids in
    the fee auction; ``marginal="min_positive"`` and ``fee="effective"`` (tip + coinbase
    transfer per gas) keep them from setting ``m_k = 0``. (6) The data are 10 post-London,
    pre-Merge, pre-MEV-boost blocks of 2021; builders and private order flow changed the game
    since. With real mempool data (bribe, landed-in-next-block?) pass the rows straight to
    :func:`fit_inclusion` instead.

    Parameters
    ----------
    txs : ndarray (``TX_DTYPE``) or path
        Transactions from :func:`venues.loaders.eth_blocks.load_mev_inspect_txs`, or the path
        of ``mev_inspect_txs_derived.csv.gz`` (loaded and validated here).
    fee : {"effective", "priority"}, default "effective"
        Bribe per transaction, in **gwei per gas**: ``"priority"`` = effective gas price − base
        fee; ``"effective"`` = that plus the transaction's coinbase transfer divided by its
        gas used (the direct bribe of MEV bundles).
    marginal : "min_positive", "min" or float in [0, 1), default "min_positive"
        Block ``k``'s marginal bribe ``m_k``: its lowest strictly positive bribe, its lowest
        bribe (zeros included), or that quantile of its positive bribes (robust to one odd
        low-fee transaction).
    own_block : bool, default True
        Add the ``(x_i, True)`` row of each transaction's own block.
    min_block_gas_used : int, default 0
        Only blocks whose transactions use at least this much gas serve as comparison blocks
        (e.g. 15_000_000, the 2021 gas target, to keep full blocks only). Own-block rows are
        kept for every block.
    blocks : sequence of int or None, default None
        Restrict to these block numbers (both sides); ``None``: all.

    Returns
    -------
    InclusionDataset
        Unit ``"gwei/gas"``.

    Raises
    ------
    ValueError
        Unknown ``fee``/``marginal``, fewer than two usable blocks, or a block without positive
        bribes under ``"min_positive"``/quantile.
    venues.loaders.DataError
        From loading ``txs`` given as a path.
    """
    if isinstance(txs, str | os.PathLike):
        from venues.loaders.eth_blocks import load_mev_inspect_txs

        txs = load_mev_inspect_txs(txs)
    if blocks is not None:
        txs = txs[np.isin(txs["block_number"], np.asarray(list(blocks), dtype=np.int64))]
    x = _tx_bribes_gwei(txs, fee)
    bn = txs["block_number"].astype(np.int64)
    ublocks = np.unique(bn)
    if ublocks.size < 2:
        raise ValueError(f"need transactions from at least 2 blocks, got {ublocks.size}")
    if isinstance(marginal, str):
        if marginal not in ("min", "min_positive"):
            raise ValueError(f"unknown marginal {marginal!r}; expected 'min', 'min_positive' or a quantile")
        q = None
    else:
        q = float(marginal)
        if not 0.0 <= q < 1.0:
            raise ValueError(f"marginal quantile must be in [0, 1), got {marginal!r}")
    m: dict[int, float] = {}
    for k in ublocks.tolist():
        xk = x[bn == k]
        if int(txs["gas_used"][bn == k].sum()) < min_block_gas_used:
            continue
        if marginal == "min":
            m[k] = float(xk.min())
            continue
        pos = xk[xk > 0.0]
        if pos.size == 0:
            raise ValueError(f"block {k} has no transaction with a positive bribe; use marginal='min'")
        m[k] = float(pos.min()) if q is None else float(np.quantile(pos, q))
    comp = np.array(sorted(m), dtype=np.int64)
    if comp.size == 0:
        raise ValueError(f"no block uses at least min_block_gas_used={min_block_gas_used} gas")
    mk = np.array([m[k] for k in comp.tolist()])
    # one row per (tx, comparison block != own block)
    other = bn[:, None] != comp[None, :]
    ti, ki = np.nonzero(other)
    bribes = [x[ti]]
    inc = [x[ti] >= mk[ki]]
    txb = [bn[ti]]
    cb = [comp[ki]]
    if own_block:
        bribes.append(x)
        inc.append(np.ones(x.size, dtype=bool))
        txb.append(bn)
        cb.append(bn)
    return InclusionDataset(
        bribes=np.concatenate(bribes),
        included=np.concatenate(inc),
        tx_block=np.concatenate(txb),
        compared_block=np.concatenate(cb),
        marginal=m,
        unit="gwei/gas",
        fee=fee,
    )


# ------------------------------------------------------------ the fitted curve beside the data

CURVE_DTYPE = np.dtype(
    [("lo", np.float64), ("hi", np.float64), ("n", np.int64), ("empirical", np.float64), ("fitted", np.float64),
     ("mean_bribe", np.float64)]
)
"""One bribe bin of :func:`inclusion_curve`: bounds (gwei/gas), rows, observed and fitted inclusion rate, and
the mean bribe of its rows (where to draw the bin's point beside the curve)."""


def fit_inclusion_from_blocks(
    txs: npt.NDArray[np.void] | str | os.PathLike[str], **dataset_kwargs: Any
) -> tuple[InclusionFit, InclusionDataset]:
    """Fit the inclusion model on recorded blocks (:func:`inclusion_dataset_from_blocks`, :func:`fit_inclusion_model`).

    Parameters
    ----------
    txs : ndarray (``TX_DTYPE``) or path
        As :func:`inclusion_dataset_from_blocks` (a derived CSV); a directory of raw mev-inspect
        block JSONs is parsed with :func:`venues.loaders.eth_blocks.load_mev_inspect_json_dir`.
    **dataset_kwargs
        Passed to :func:`inclusion_dataset_from_blocks` (``fee``, ``marginal``, ...).

    Returns
    -------
    (InclusionFit, InclusionDataset)
        ``a, b`` per gwei/gas of priority fee.

    Raises
    ------
    ValueError, venues.loaders.DataError
        See the two functions.
    """
    if isinstance(txs, str | os.PathLike) and os.path.isdir(txs):
        from venues.loaders.eth_blocks import load_mev_inspect_json_dir

        txs = load_mev_inspect_json_dir(txs)[0]
    ds = inclusion_dataset_from_blocks(txs, **dataset_kwargs)
    return fit_inclusion_model(ds.bribes, ds.included), ds


def inclusion_curve(dataset: InclusionDataset, fit: InclusionFit, n_bins: int = 10) -> npt.NDArray[np.void]:
    """The fitted inclusion curve beside the data: observed vs fitted inclusion rate per bribe bin.

    Bins are the distinct quantiles of the rows' bribes (``n_bins`` requested; repeated edges
    merged, so fewer may come back). Each bin holds ``lo <= x < hi`` (the last one ``<= hi``);
    ``empirical`` is the share of its rows labelled included, ``fitted`` the mean of
    ``p(x)`` over them, ``mean_bribe`` the mean of their ``x``.

    Parameters
    ----------
    dataset : InclusionDataset
    fit : InclusionFit
        Fitted in the dataset's unit.
    n_bins : int, default 10

    Returns
    -------
    ndarray, dtype CURVE_DTYPE
        Non-empty bins, in increasing bribe.

    Raises
    ------
    ValueError
        ``n_bins < 1``.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    x, y = dataset.bribes, dataset.included.astype(np.float64)
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size < 2:
        edges = np.array([x.min(), x.max()])
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    p = inclusion_probability_array(x, fit.a, fit.b)
    rows = []
    for k in range(edges.size - 1):
        m = idx == k
        if m.any():
            rows.append((edges[k], edges[k + 1], int(m.sum()), float(y[m].mean()), float(p[m].mean()),
                         float(x[m].mean())))
    return np.array(rows, dtype=CURVE_DTYPE)


def _main(argv: Sequence[str] | None = None) -> int:
    """``python -m venues.inclusion [FEE_DATA]``: fit on recorded blocks and print the curve beside the data."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m venues.inclusion", description=_main.__doc__)
    ap.add_argument("fee_data", nargs="?", default=None,
                    help="mev_inspect_txs_derived.csv(.gz) or a directory of raw block JSONs (default: bundled)")
    ap.add_argument("--bins", type=int, default=10)
    args = ap.parse_args(argv)
    from venues.chain import DEFAULT_FEE_DATA
    from venues.loaders._common import DataError

    try:
        fit, ds = fit_inclusion_from_blocks(args.fee_data or DEFAULT_FEE_DATA)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"p(x) = 1/(1+exp(-(a + b·x))), x = effective priority fee, gwei/gas: a = {fit.a:.4f}, b = {fit.b:.4f} "
          f"({fit.n} rows from {len(ds.marginal)} blocks)")
    print(f"{'bribe from':>12} {'to':>10} {'rows':>7} {'observed':>9} {'fitted':>7}")
    for r in inclusion_curve(ds, fit, args.bins):
        print(f"{r['lo']:12.3f} {r['hi']:10.3f} {r['n']:7d} {r['empirical']:9.3f} {r['fitted']:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
