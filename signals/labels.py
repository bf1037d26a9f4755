"""Event labels: AFML daily volatility and the triple-barrier method with meta-labelling.

Implements López de Prado, *Advances in Financial Machine Learning* (Wiley, 2018),
chapter 3 ("Labeling"): Snippet 3.1 (``getDailyVol``), Snippets 3.2–3.4
(``applyPtSlOnT1``, ``getEvents``, ``addVerticalBarrier``), Snippet 3.5 (``getBins``) and
§3.6 / Snippet 3.7 (meta-labelling), following the conventions fixed in
``FORMULAS.md`` §6 of the shared workspace.

Conventions
-----------
Time
    Timestamps are ``int64`` nanoseconds (``ts_ns``), non-decreasing. Where the book uses
    ``pd.Timedelta(days=1)`` these functions take a length in ns (``lookback_ns``,
    ``vertical_ns``), so they work unchanged on intraday bars.
Positions, not labels
    Events are identified by **bar positions** (``t0_idx``, ``t1_idx``) into ``close``; the
    book's time index is recovered as ``ts_ns[t0_idx]``.
Per-bar inputs
    ``target`` and ``side`` are per-bar arrays (length ``len(close)``) sampled at the
    event bars — as the book's ``trgt.loc[tEvents]`` / ``side.loc[trgt.index]`` — or
    scalars.
Censoring
    An event whose path reaches the end of the data without touching a horizontal barrier
    and without reaching its vertical barrier has no label (the book's ``t1`` is ``NaT``
    and ``getBins`` drops it with ``dropna(subset=['t1'])``); it is dropped here too.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from signals._features_nb import ewm_std_nb  # pandas-equal online EWM std (NaN-aware)

__all__ = [
    "BARRIER_LOWER",
    "BARRIER_UPPER",
    "BARRIER_VERTICAL",
    "DAY_NS",
    "LABEL_DTYPE",
    "daily_vol",
    "ewm_std",
    "triple_barrier_labels",
]

DAY_NS: int = 86_400 * 1_000_000_000
"""One day in nanoseconds (the book's ``pd.Timedelta(days=1)``)."""

BARRIER_UPPER: int = 1
"""``barrier`` code: the profit-taking (upper) horizontal barrier was touched first."""
BARRIER_LOWER: int = -1
"""``barrier`` code: the stop-loss (lower) horizontal barrier was touched first."""
BARRIER_VERTICAL: int = 0
"""``barrier`` code: the vertical (time) barrier was reached first."""

LABEL_DTYPE = np.dtype(
    [
        ("t0_idx", np.int64),
        ("t1_idx", np.int64),
        ("t0", np.int64),
        ("t1", np.int64),
        ("target", np.float64),
        ("side", np.int8),
        ("ret", np.float64),
        ("label", np.int8),
        ("barrier", np.int8),
    ]
)
"""Record layout returned by :func:`triple_barrier_labels` (one row per kept event)."""


# --------------------------------------------------------------------------- daily volatility


def ewm_std(x: np.ndarray, span: float) -> np.ndarray:
    """Exponentially weighted standard deviation, pandas ``x.ewm(span=span).std()``.

    Weights are ``w_a = (1 − α)^a`` for an observation ``a`` steps old, ``α = 2/(span + 1)``
    (``adjust=True``); the weighted variance is bias-corrected by
    ``(Σw)² / ((Σw)² − Σw²)`` (``bias=False``). This is the estimator the book applies in
    Snippet 3.1 (AFML §3.3).

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, oldest first.
    span : float
        EWM span, ``≥ 1``.

    Returns
    -------
    numpy.ndarray
        Same length as ``x``; element 0 is NaN (one observation has no variance).
    """
    if span < 1:
        raise ValueError(f"span must be >= 1, got {span}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("x must be 1-D")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    return ewm_std_nb(x, 2.0 / (span + 1.0))


def _check_ts_close(ts_ns: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.asarray(ts_ns)
    if ts.dtype.kind not in "iu":
        raise TypeError(f"ts_ns must be integer nanoseconds, got dtype {ts.dtype}")
    ts = ts.astype(np.int64, copy=False)
    c = np.asarray(close, dtype=np.float64)
    if ts.ndim != 1 or c.ndim != 1 or ts.shape != c.shape:
        raise ValueError(f"ts_ns and close must be 1-D of equal length, got {ts.shape} and {c.shape}")
    if ts.size > 1 and np.any(np.diff(ts) < 0):
        raise ValueError("ts_ns must be non-decreasing")
    return ts, c


def daily_vol(ts_ns: np.ndarray, close: np.ndarray, span: float = 100, lookback_ns: int = DAY_NS) -> np.ndarray:
    """Daily volatility estimate used as the barrier width (AFML Snippet 3.1, ``getDailyVol``).

    For each bar ``t`` the reference is the **last observation strictly before**
    ``t − lookback_ns``: with ``k = searchsorted(ts, ts[t] − lookback_ns, side='left')`` it is
    bar ``k − 1``; bars with ``k = 0`` have no reference. The return
    ``r_t = close[t] / close[k − 1] − 1`` is then smoothed by :func:`ewm_std` with ``span``
    over the bars that have a reference, exactly as the book's
    ``df0.ewm(span=span0).std()``. On a daily grid with ``lookback_ns = 1 day`` the
    reference is two bars back (FORMULAS.md §6).

    Parameters
    ----------
    ts_ns : numpy.ndarray
        ``int64`` bar timestamps in ns, non-decreasing.
    close : numpy.ndarray
        Close prices, positive, same length.
    span : float, default 100
        EWM span (the book's ``span0``).
    lookback_ns : int, default one day
        Return horizon; the book's ``pd.Timedelta(days=1)``. Use it to run the estimator on
        intraday bars with a shorter (or the same one-day) horizon.

    Returns
    -------
    numpy.ndarray
        ``float64``, length ``len(close)``: NaN for bars without a reference and for the
        first bar with one (the EWM std of one value is undefined), the volatility estimate
        otherwise. Each value uses only bars at or before ``t`` (no look-ahead).
    """
    ts, c = _check_ts_close(ts_ns, close)
    if lookback_ns <= 0:
        raise ValueError(f"lookback_ns must be > 0, got {lookback_ns}")
    n = ts.size
    out = np.full(n, np.nan)
    if n == 0:
        return out
    k = np.searchsorted(ts, ts - np.int64(lookback_ns), side="left")
    valid = k > 0  # monotone in t, so this is a suffix
    if not valid.any():
        return out
    first = int(np.argmax(valid))
    ref = k[first:] - 1
    ret = c[first:] / c[ref] - 1.0
    out[first:] = ewm_std(ret, span)
    return out


# --------------------------------------------------------------------------- triple barrier


@nb.njit(cache=True)
def _triple_barrier_nb(c, t0_idx, vert_idx, up, lo, side):  # pragma: no cover - numba
    # For each event scan the path close[t0 .. vert] (vert = n-1 when censored at the data
    # end) for the first strict crossing of ``up`` / ``lo`` by (c_t/c_t0 − 1)·side.
    m = t0_idx.shape[0]
    n = c.shape[0]
    t1 = np.full(m, -1, np.int64)
    barrier = np.zeros(m, np.int8)
    for e in range(m):
        i0 = t0_idx[e]
        iv = vert_idx[e]
        end = iv if iv >= 0 else n - 1
        base = c[i0]
        s = side[e]
        for t in range(i0, end + 1):
            r = (c[t] / base - 1.0) * s
            if r > up[e]:
                t1[e] = t
                barrier[e] = 1
                break
            if r < lo[e]:
                t1[e] = t
                barrier[e] = -1
                break
        if t1[e] < 0 and iv >= 0:
            t1[e] = iv
            barrier[e] = 0
    return t1, barrier


def _per_bar(x, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or a per-bar array of length {n}, got shape {a.shape}")
    return a


def triple_barrier_labels(
    ts_ns: np.ndarray,
    close: np.ndarray,
    t_events_idx: np.ndarray,
    target: np.ndarray | float,
    pt: float,
    sl: float | None,
    vertical_ns: int | None,
    side: np.ndarray | float | None = None,
    min_ret: float = 0.0,
) -> np.ndarray:
    """Triple-barrier labels with optional meta-labelling (AFML §3.4–3.6, Snippets 3.2–3.5, 3.7).

    For each event bar ``t0`` (from ``t_events_idx``, e.g. a CUSUM filter, AFML §2.5.2.1):

    1. ``trgt = target[t0]``; events with ``trgt ≤ min_ret`` (or NaN) are dropped
       (Snippet 3.3, ``trgt = trgt[trgt > minRet]``).
    2. Horizontal barriers: upper ``+pt·trgt``, lower ``−sl·trgt`` on the **signed** return
       ``r_t = (c_t / c_t0 − 1)·side``. A multiple ``≤ 0`` disables that barrier (the book's
       ``ptSl[i] = 0``). Without ``side`` the book sets ``side = +1`` and makes the barriers
       symmetric, ``sl = pt`` (Snippet 3.3: ``ptSl_ = [ptSl[0], ptSl[0]]``).
    3. Vertical barrier: the first bar at or after ``ts[t0] + vertical_ns``
       (Snippet 3.4, ``searchsorted``); none if that is past the data or ``vertical_ns`` is
       None.
    4. The path runs from ``t0`` (inclusive) to the vertical barrier, or to the last bar.
       ``t1`` is the first bar where ``r_t > +pt·trgt`` or ``r_t < −sl·trgt`` (strict), or the
       vertical barrier if no crossing comes first (Snippet 3.2 and ``getEvents``'
       ``min(axis=1)``). An event with neither (censored at the data end) is dropped, as
       ``getBins`` drops ``t1 = NaT``.
    5. ``ret = c_t1 / c_t0 − 1``, multiplied by ``side`` when a side is given;
       ``label = sign(ret)`` ∈ {−1, 0, +1}. Meta-labelling (side given, Snippet 3.7):
       ``label = 0`` where ``ret ≤ 0``, so ``label`` ∈ {0, 1} says whether to act on the
       primary model's side.

    Parameters
    ----------
    ts_ns : numpy.ndarray
        ``int64`` bar timestamps (ns), non-decreasing.
    close : numpy.ndarray
        Close prices, positive.
    t_events_idx : numpy.ndarray
        Integer bar positions of the events; sorted and de-duplicated here.
    target : numpy.ndarray or float
        Barrier width in return units, per bar (length ``len(close)``, e.g.
        :func:`daily_vol`) or a scalar.
    pt, sl : float
        Profit-taking and stop-loss multiples of ``trgt``. Without ``side``, ``sl`` must be
        None or equal to ``pt`` (the book's symmetric barriers); passing a different value
        raises rather than being silently ignored.
    vertical_ns : int or None
        Holding-period limit in ns (the book's ``numDays``); None for no vertical barrier.
    side : numpy.ndarray or float, optional
        Side of the primary model's bet per bar (±1) or a scalar. Events whose side is 0 or
        NaN (no bet) are dropped. Enables meta-labelling.
    min_ret : float, default 0.0
        Minimum target (the book's ``minRet``).

    Returns
    -------
    numpy.ndarray
        Structured array of :data:`LABEL_DTYPE`, one row per kept event in ``t0`` order:
        ``t0_idx``, ``t1_idx`` (bar positions), ``t0``, ``t1`` (ns), ``target``, ``side``
        (``+1`` without a side), ``ret``, ``label``, and ``barrier`` — which barrier set
        ``t1``: :data:`BARRIER_UPPER` (+1), :data:`BARRIER_LOWER` (−1) or
        :data:`BARRIER_VERTICAL` (0). A horizontal touch on the vertical bar itself counts as
        horizontal. Convert with ``pandas.DataFrame(out)``.
    """
    ts, c = _check_ts_close(ts_ns, close)
    n = ts.size
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ValueError("close must be finite and positive")
    ev = np.asarray(t_events_idx)
    if ev.size and ev.dtype.kind not in "iu":
        raise TypeError(f"t_events_idx must hold integer bar positions, got dtype {ev.dtype}")
    ev = np.unique(ev.astype(np.int64).ravel())
    if ev.size and (ev[0] < 0 or ev[-1] >= n):
        raise IndexError(f"t_events_idx out of range [0, {n})")
    if side is None:
        if sl is not None and sl != pt:
            raise ValueError(
                "without a side the barriers are symmetric (AFML Snippet 3.3 uses pt for both); "
                f"got pt={pt}, sl={sl}: pass sl=None or sl=pt, or give a side"
            )
        sl = pt
    elif sl is None:
        raise ValueError("sl is required when a side is given")
    if vertical_ns is not None and vertical_ns < 0:
        raise ValueError(f"vertical_ns must be >= 0 or None, got {vertical_ns}")

    trgt_bar = _per_bar(target, n, "target")
    side_bar = np.ones(n) if side is None else _per_bar(side, n, "side")

    trgt = trgt_bar[ev]
    sd = side_bar[ev]
    keep = np.isfinite(trgt) & (trgt > min_ret)
    if side is not None:
        if np.any(np.isfinite(sd) & (sd != 0) & (np.abs(sd) != 1)):
            raise ValueError("side must be +1, -1, 0 or NaN")
        keep &= np.isfinite(sd) & (sd != 0)
    ev, trgt, sd = ev[keep], trgt[keep], sd[keep]

    if vertical_ns is None:
        vert = np.full(ev.size, -1, np.int64)
    else:
        vert = np.searchsorted(ts, ts[ev] + np.int64(vertical_ns), side="left").astype(np.int64)
        vert[vert >= n] = -1
    up = pt * trgt if pt > 0 else np.full(ev.size, np.inf)
    lo = -sl * trgt if sl > 0 else np.full(ev.size, -np.inf)

    t1, barrier = _triple_barrier_nb(c, ev, vert, up, lo, sd)
    ok = t1 >= 0
    ev, t1, barrier, trgt, sd = ev[ok], t1[ok], barrier[ok], trgt[ok], sd[ok]

    ret = c[t1] / c[ev] - 1.0
    if side is not None:
        ret = ret * sd
    label = np.sign(ret).astype(np.int8)
    if side is not None:
        label[ret <= 0] = 0

    out = np.empty(ev.size, dtype=LABEL_DTYPE)
    out["t0_idx"] = ev
    out["t1_idx"] = t1
    out["t0"] = ts[ev]
    out["t1"] = ts[t1]
    out["target"] = trgt
    out["side"] = sd.astype(np.int8)
    out["ret"] = ret
    out["label"] = label
    out["barrier"] = barrier
    return out
