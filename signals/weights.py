"""Sample weights for overlapping labels: concurrency, uniqueness, sequential bootstrap.

Implements López de Prado, *Advances in Financial Machine Learning* (Wiley, 2018),
chapter 4 ("Sample Weights"): Snippet 4.1 (``mpNumCoEvents``), Snippet 4.2
(``mpSampleTW``, average uniqueness), Snippets 4.3–4.5 (``getIndMatrix``,
``getAvgUniqueness``, ``seqBootstrap``) and Snippet 4.10 (``mpSampleW``,
return attribution).

Conventions
-----------
Events are closed spans of **bar positions** ``[t0_idx[i], t1_idx[i]]`` (both ends included,
as the book's ``count.loc[tIn:tOut] += 1``), e.g. the ``t0_idx`` / ``t1_idx`` fields of
:func:`signals.labels.triple_barrier_labels`. ``n_bars`` defaults to ``max(t1_idx) + 1``.
Randomness only comes from a :class:`numpy.random.Generator` passed in by the caller.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "average_uniqueness",
    "indicator_matrix",
    "num_concurrent_events",
    "return_attribution_weights",
    "sequential_bootstrap",
    "sequential_bootstrap_probabilities",
]


def _spans(t0_idx, t1_idx, n_bars: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    t0 = np.asarray(t0_idx)
    t1 = np.asarray(t1_idx)
    for name, a in (("t0_idx", t0), ("t1_idx", t1)):
        if a.size and a.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer bar positions, got dtype {a.dtype}")
    t0 = t0.astype(np.int64).ravel()
    t1 = t1.astype(np.int64).ravel()
    if t0.shape != t1.shape:
        raise ValueError(f"t0_idx and t1_idx differ in length: {t0.size} vs {t1.size}")
    if t0.size and (t0.min() < 0 or np.any(t1 < t0)):
        raise ValueError("need 0 <= t0_idx <= t1_idx for every event")
    needed = int(t1.max()) + 1 if t1.size else 0
    if n_bars is None:
        n_bars = needed
    elif n_bars < needed:
        raise ValueError(f"n_bars={n_bars} but an event ends at bar {needed - 1}")
    return t0, t1, int(n_bars)


def _span_sum(prefix: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    # Sum of a per-bar series over [t0, t1] from its exclusive prefix sum (prefix[0] = 0).
    return prefix[t1 + 1] - prefix[t0]


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.zeros(x.size + 1)
    np.cumsum(x, out=out[1:])
    return out


def num_concurrent_events(t0_idx: np.ndarray, t1_idx: np.ndarray, n_bars: int | None = None) -> np.ndarray:
    """Number of events whose label span covers each bar, ``c_t`` (AFML §4.3, Snippet 4.1).

    ``c_t = Σ_i 1_{t,i}`` with ``1_{t,i} = 1`` iff ``t0_idx[i] ≤ t ≤ t1_idx[i]``.

    Parameters
    ----------
    t0_idx, t1_idx : numpy.ndarray
        Integer bar positions of each event's start and label end (inclusive).
    n_bars : int, optional
        Length of the output; default ``max(t1_idx) + 1``.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of length ``n_bars``.
    """
    t0, t1, n = _spans(t0_idx, t1_idx, n_bars)
    diff = np.zeros(n + 1, np.int64)
    np.add.at(diff, t0, 1)
    np.add.at(diff, t1 + 1, -1)
    return np.cumsum(diff[:-1])


def average_uniqueness(t0_idx: np.ndarray, t1_idx: np.ndarray, n_bars: int | None = None) -> np.ndarray:
    """Average uniqueness of each event over its lifespan (AFML §4.4, Snippet 4.2).

    ``ū_i = (Σ_{t=t0_i}^{t1_i} 1/c_t) / (t1_i − t0_i + 1)`` with ``c_t`` from
    :func:`num_concurrent_events` over all the events given; the book's
    ``(1. / numCoEvents.loc[tIn:tOut]).mean()``.

    Parameters
    ----------
    t0_idx, t1_idx : numpy.ndarray
        Integer bar positions of each event's start and label end (inclusive).
    n_bars : int, optional
        Number of bars; default ``max(t1_idx) + 1``.

    Returns
    -------
    numpy.ndarray
        ``float64`` in (0, 1], one per event; usable directly as sample weights
        (AFML §4.4) or averaged to size a bagging ensemble's ``max_samples`` (§4.5).
    """
    t0, t1, n = _spans(t0_idx, t1_idx, n_bars)
    if t0.size == 0:
        return np.zeros(0)
    c = num_concurrent_events(t0, t1, n)
    inv = np.zeros(n)
    np.divide(1.0, c, out=inv, where=c > 0)
    return _span_sum(_prefix(inv), t0, t1) / (t1 - t0 + 1)


def return_attribution_weights(
    t0_idx: np.ndarray, t1_idx: np.ndarray, close: np.ndarray, normalize: bool = True
) -> np.ndarray:
    """Sample weights by attributed absolute log-return (AFML §4.6, Snippet 4.10).

    ``w̃_i = |Σ_{t=t0_i}^{t1_i} r_t / c_t|`` with ``r_t = log(close_t / close_{t−1})``
    (``r_0 = 0``, the book's ``np.log(close).diff()`` whose NaN ``sum`` skips) and ``c_t``
    the concurrency of :func:`num_concurrent_events`. As in the book the sum starts at the
    event's first bar, so it includes ``r_{t0}`` (the return *into* bar ``t0``); this is kept
    for fidelity to Snippet 4.10. With ``normalize`` the weights are rescaled to sum to the
    number of events, ``w_i = w̃_i · I / Σ_j w̃_j`` (the book's ``w *= w.shape[0] / w.sum()``).

    Parameters
    ----------
    t0_idx, t1_idx : numpy.ndarray
        Integer bar positions of each event's start and label end (inclusive).
    close : numpy.ndarray
        Close prices (positive) of all bars; ``n_bars = len(close)``.
    normalize : bool, default True
        Rescale to ``Σ w = I``. If every raw weight is 0 the weights stay 0.

    Returns
    -------
    numpy.ndarray
        ``float64`` weights ≥ 0, one per event.
    """
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1 or np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ValueError("close must be a 1-D array of finite positive prices")
    t0, t1, n = _spans(t0_idx, t1_idx, c.size)
    if t0.size == 0:
        return np.zeros(0)
    conc = num_concurrent_events(t0, t1, n)
    r = np.zeros(n)
    r[1:] = np.diff(np.log(c))
    attr = np.zeros(n)
    np.divide(r, conc, out=attr, where=conc > 0)
    w = np.abs(_span_sum(_prefix(attr), t0, t1))
    if normalize:
        total = w.sum()
        if total > 0:
            w = w * (w.size / total)
    return w


def indicator_matrix(t0_idx: np.ndarray, t1_idx: np.ndarray, n_bars: int | None = None) -> np.ndarray:
    """Bar-by-event indicator matrix ``1_{t,i}`` (AFML §4.5.3, Snippet 4.3, ``getIndMatrix``).

    Parameters
    ----------
    t0_idx, t1_idx : numpy.ndarray
        Integer bar positions of each event's start and label end (inclusive).
    n_bars : int, optional
        Number of rows; default ``max(t1_idx) + 1``.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(n_bars, n_events)``; dense, so meant for small problems
        and inspection — :func:`sequential_bootstrap` does not build it.
    """
    t0, t1, n = _spans(t0_idx, t1_idx, n_bars)
    bars = np.arange(n)[:, None]
    return ((bars >= t0[None, :]) & (bars <= t1[None, :])).astype(np.uint8)


def sequential_bootstrap_probabilities(
    t0_idx: np.ndarray, t1_idx: np.ndarray, drawn: np.ndarray | list[int], n_bars: int | None = None
) -> np.ndarray:
    """Draw probabilities of the next sequential-bootstrap draw (AFML §4.5.3, Snippets 4.4–4.5).

    Given the events already drawn (with repetition), candidate ``i``'s average uniqueness
    is ``ū_i = mean_{t ∈ [t0_i, t1_i]} 1 / (1 + c⁽φ⁾_t)`` where ``c⁽φ⁾_t`` counts the drawn
    events covering bar ``t`` — the last column of ``getAvgUniqueness(indM[phi + [i]])``.
    The probability is ``δ_i = ū_i / Σ_j ū_j``.

    Parameters
    ----------
    t0_idx, t1_idx : numpy.ndarray
        Integer bar positions of each event's start and label end (inclusive).
    drawn : array-like of int
        Event numbers drawn so far (``φ``), repeats allowed.
    n_bars : int, optional
        Number of bars; default ``max(t1_idx) + 1``.

    Returns
    -------
    numpy.ndarray
        ``float64`` probabilities, one per event, summing to 1.
    """
    t0, t1, n = _spans(t0_idx, t1_idx, n_bars)
    d = np.asarray(drawn, dtype=np.int64).ravel()
    if d.size and (d.min() < 0 or d.max() >= t0.size):
        raise IndexError("drawn holds an event number out of range")
    counts = np.bincount(d, minlength=t0.size).astype(np.int64)
    cov = np.zeros(n + 1, np.int64)
    np.add.at(cov, t0, counts)
    np.add.at(cov, t1 + 1, -counts)
    c = np.cumsum(cov[:-1])
    u = _span_sum(_prefix(1.0 / (c + 1.0)), t0, t1) / (t1 - t0 + 1)
    return u / u.sum()


def sequential_bootstrap(
    t0_idx: np.ndarray,
    t1_idx: np.ndarray,
    rng: np.random.Generator,
    n_samples: int | None = None,
    n_bars: int | None = None,
) -> np.ndarray:
    """Sequential bootstrap draw of event numbers (AFML §4.5.3, Snippets 4.3–4.5, ``seqBootstrap``).

    Draws ``n_samples`` events with replacement; each draw picks event ``i`` with the
    probability of :func:`sequential_bootstrap_probabilities` given the draws so far, so
    events overlapping already-drawn ones become less likely and the sample's average
    uniqueness is higher than a standard bootstrap's (AFML §4.5.4, Snippet 4.9). The book
    recomputes every candidate's uniqueness from the indicator matrix at each draw; here the
    drawn concurrency is updated incrementally and each draw costs ``O(n_bars + I)``.

    Parameters
    ----------
    t0_idx, t1_idx : numpy.ndarray
        Integer bar positions of each event's start and label end (inclusive).
    rng : numpy.random.Generator
        Source of randomness (e.g. ``np.random.default_rng(seed)``); the global NumPy RNG is
        never used, so a seeded generator gives a reproducible draw.
    n_samples : int, optional
        Sample size; default the number of events (the book's ``sLength``).
    n_bars : int, optional
        Number of bars; default ``max(t1_idx) + 1``.

    Returns
    -------
    numpy.ndarray
        ``int64`` event numbers (positions into ``t0_idx``) in draw order.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed))")
    t0, t1, n = _spans(t0_idx, t1_idx, n_bars)
    m = t0.size
    if n_samples is None:
        n_samples = m
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    if m == 0:
        if n_samples:
            raise ValueError("cannot draw from zero events")
        return np.zeros(0, np.int64)
    length = (t1 - t0 + 1).astype(np.float64)
    c = np.zeros(n, np.int64)
    out = np.empty(n_samples, np.int64)
    prefix = np.zeros(n + 1)
    for k in range(n_samples):
        np.cumsum(1.0 / (c + 1.0), out=prefix[1:])
        u = (prefix[t1 + 1] - prefix[t0]) / length
        cdf = np.cumsum(u)
        # inverse-CDF draw, as Generator.choice(p=...) does
        i = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        i = min(i, m - 1)
        out[k] = i
        c[t0[i] : t1[i] + 1] += 1
    return out
