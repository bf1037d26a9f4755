"""Compiled (Numba) kernels for bars from trades, and a top-of-book sampler.

Pure ``numba.njit(cache=True)`` functions on plain 1-D arrays; no input is mutated except the
``out`` arrays named in a kernel's docstring. The Python API (validation, dtypes, defaults) is
:mod:`signals.bars`; the reference twins (straightforward pandas: ``cumsum`` + ``groupby`` on the
bar id, plus a plain-Python loop for the imbalance boundaries and
:class:`venues.loaders.book.RefBook` for the book) live in ``tests/signals/test_bars.py`` and are
compared *exactly* (bit for bit) with these kernels.

A bar is described by its *exclusive end index* into the trade arrays: bar ``k`` holds trades
``ends[k-1] .. ends[k]-1`` (``ends[-1] = 0``). The boundary kernels (``*_ends_nb``) decide where
bars close; :func:`aggregate_nb` turns ends into OHLCV rows. Trades after the last end (the
partial last bar) are never aggregated.

Records are written as ``out[k]["field"]`` so the kernels also run with ``NUMBA_DISABLE_JIT=1``.

References
----------
López de Prado, M. (2018). *Advances in Financial Machine Learning*, ch. 2 ("Financial Data
Structures"), §2.3.1 (standard bars), §2.3.2.1 (tick imbalance bars).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

BAR_DTYPE = np.dtype(
    [
        ("ts_open_ns", np.int64),
        ("ts_close_ns", np.int64),
        ("open", np.float64),
        ("high", np.float64),
        ("low", np.float64),
        ("close", np.float64),
        ("volume", np.float64),
        ("dollar_volume", np.float64),
        ("n_trades", np.int64),
        ("buy_volume", np.float64),
        ("vwap", np.float64),
    ],
    align=True,
)
"""Structured dtype of one bar (88 bytes, aligned); see :mod:`signals.bars` for the fields."""


@nb.njit(cache=True)
def tick_bar_ends_nb(n, n_per_bar):
    """Exclusive end indices of tick bars: every ``n_per_bar`` trades (AFML §2.3.1.2).

    Parameters
    ----------
    n : int
        Number of trades.
    n_per_bar : int
        Trades per bar, >= 1.

    Returns
    -------
    ndarray of shape (n // n_per_bar,), dtype int64
        ``n_per_bar, 2*n_per_bar, ...``; the remainder (partial last bar) is dropped.

    Notes
    -----
    Reference twin: ``tick_bar_ids`` (``arange(n) // n_per_bar``) in the tests.
    """
    m = n // n_per_bar
    ends = np.empty(m, dtype=np.int64)
    for k in range(m):
        ends[k] = (k + 1) * n_per_bar
    return ends


@nb.njit(cache=True)
def threshold_bar_ends_nb(values, threshold):
    """Exclusive end indices of bars that close each time ``cumsum(values)`` crosses a multiple of
    ``threshold`` (volume bars AFML §2.3.1.3, dollar bars §2.3.1.4).

    Trade ``i`` closes a bar when ``floor(c_i / threshold) > floor(c_{i-1} / threshold)``, with
    ``c_i = values[0] + ... + values[i]`` accumulated left to right in float64 (exactly
    ``np.cumsum``) and ``c_{-1} = 0``. The trade that reaches or overshoots the threshold closes
    the bar whole (no splitting); the overshoot stays on the cumulative clock, so bar ``k`` closes
    at the first trade with ``c_i >= k * threshold`` (a single trade crossing several multiples
    closes one bar).

    Parameters
    ----------
    values : ndarray of shape (n,), dtype float64
        Per-trade amount: ``qty`` (base units) for volume bars, ``px * qty`` (quote units) for
        dollar bars. Not mutated.
    threshold : float
        Bar size in the units of ``values``, > 0.

    Returns
    -------
    ndarray of shape (n_bars,), dtype int64
        Exclusive end indices; trades after the last crossing (partial last bar) are dropped.

    Notes
    -----
    Reference twin: ``threshold_bar_ids`` (``np.floor(cumsum / threshold)``) in the tests.
    """
    n = values.shape[0]
    ends = np.empty(n, dtype=np.int64)
    m = 0
    c = 0.0
    prev = 0.0  # floor(0 / threshold)
    for i in range(n):
        c += values[i]
        cur = math.floor(c / threshold)
        if cur > prev:
            ends[m] = i + 1
            m += 1
        prev = cur
    return ends[:m]


@nb.njit(cache=True)
def time_bar_ends_nb(ts_ns, period_ns):
    """Exclusive end indices of time bars on the clock ``floor(ts_ns / period_ns)`` (AFML §2.3.1.1).

    A bar ``[k * period_ns, (k + 1) * period_ns)`` is closed by the first trade at or after its
    end, so the bar holding the last trade is always dropped (nothing shows it is complete).
    Periods without trades produce no bar.

    Parameters
    ----------
    ts_ns : ndarray of shape (n,), dtype int64
        Trade times, ns since the epoch, non-decreasing, >= 0. Not mutated.
    period_ns : int
        Bar length, ns, >= 1.

    Returns
    -------
    ndarray of shape (n_bars,), dtype int64

    Notes
    -----
    Reference twin: ``time_bar_ids`` (``ts_ns // period_ns``) in the tests.
    """
    n = ts_ns.shape[0]
    ends = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(1, n):
        if ts_ns[i] // period_ns != ts_ns[i - 1] // period_ns:
            ends[m] = i
            m += 1
    return ends[:m]


@nb.njit(cache=True)
def tick_rule_nb(px, b0):
    """Signs of trades by the tick rule (AFML §2.3.2.1): ``b_t = sign(Δp_t)``, else ``b_{t-1}``.

    Parameters
    ----------
    px : ndarray of shape (n,), dtype float64
        Trade prices. Not mutated.
    b0 : int
        Sign given to the first trade (+1 or -1): it has no previous price.

    Returns
    -------
    ndarray of shape (n,), dtype int8
        +1 / -1 per trade.

    Notes
    -----
    Reference twin: ``tick_rule`` in the tests.
    """
    n = px.shape[0]
    b = np.empty(n, dtype=np.int8)
    last = b0
    for i in range(n):
        if i > 0:
            if px[i] > px[i - 1]:
                last = 1
            elif px[i] < px[i - 1]:
                last = -1
        b[i] = last
    return b


@nb.njit(cache=True)
def imbalance_bar_ends_nb(b, expected_ticks_init, span, min_ticks, max_ticks):
    """Exclusive end indices of tick imbalance bars (AFML §2.3.2.1).

    The bar accumulates the signed imbalance ``θ_T = Σ b_t`` and closes at the first trade where
    ``|θ_T| >= E0[T] · |2P[b=1] − 1|``. Both expectations are exponentially weighted moving
    averages over *prior bars* (fixed while a bar is open, so no look-ahead):

    * ``E0[T] ← E0[T] + α (T_k − E0[T])``, with ``T_k`` the length of the bar just closed,
      then clipped to ``[min_ticks, max_ticks]``;
    * ``E0[2P−1] ← E0[2P−1] + α (θ_k / T_k − E0[2P−1])``: the bar's mean sign ``θ_k / T_k`` is
      the sample estimate of ``2P[b=1] − 1`` over its ticks;

    with ``α = 2 / (span + 1)`` (pandas ``ewm(span=span, adjust=False)``).

    Initialisation: the first bar is a plain tick bar of ``expected_ticks_init`` trades; its
    ``T`` and ``θ / T`` seed both EWMAs (then clipped as above).

    Parameters
    ----------
    b : ndarray of shape (n,), dtype int8
        Trade signs +1 / -1 (taker side, or the tick rule). Not mutated.
    expected_ticks_init : int
        Length of the warm-up bar and first ``E0[T]``, >= 1.
    span : float
        EWMA span in bars, >= 1.
    min_ticks, max_ticks : float
        Clip of ``E0[T]`` (a guard against the well-known collapse/explosion of imbalance-bar
        sizes when ``E0[2P−1]`` drifts towards 0 or 1).

    Returns
    -------
    ndarray of shape (n_bars,), dtype int64
        Exclusive end indices; the partial last bar is dropped.

    Notes
    -----
    Reference twin: ``imbalance_bar_ids`` (a plain-Python loop with the same float operations)
    in the tests.
    """
    n = b.shape[0]
    alpha = 2.0 / (span + 1.0)
    ends = np.empty(n, dtype=np.int64)
    m = 0
    e_t = 0.0
    e_b = 0.0
    theta = 0.0
    start = 0
    for i in range(n):
        theta += b[i]
        t = i - start + 1
        if m == 0:
            close = t >= expected_ticks_init
        else:
            close = abs(theta) >= e_t * abs(e_b)
        if close:
            ends[m] = i + 1
            if m == 0:
                e_t = float(t)
                e_b = theta / t
            else:
                e_t = e_t + alpha * (t - e_t)
                e_b = e_b + alpha * (theta / t - e_b)
            e_t = min(max(e_t, min_ticks), max_ticks)
            m += 1
            theta = 0.0
            start = i + 1
    return ends[:m]


@nb.njit(cache=True, inline="always")
def _kahan(s, c, val):
    # pandas' compensated summation (group_cumsum): y = v - c; t = s + y; c = t - s - y; s = t
    y = val - c
    t = s + y
    c = t - s - y
    if c != c:  # inf - inf (pandas GH#53606)
        c = 0.0
    return t, c


@nb.njit(cache=True)
def aggregate_nb(ts_ns, px, qty, side, ends, out):
    """Fill ``out`` with one OHLCV row per bar ``[ends[k-1], ends[k])``.

    Sums (``volume``, ``dollar_volume``, ``buy_volume``) use Kahan compensated summation in
    trade order (the algorithm of pandas' grouped cumulative sum, so the reference matches bit
    for bit); ``dollar_volume`` sums ``px * qty``; ``buy_volume`` adds ``qty`` for
    ``side > 0`` and ``0.0`` otherwise; ``vwap = dollar_volume / volume``.

    Parameters
    ----------
    ts_ns : ndarray of shape (n,), dtype int64
        Trade times, ns.
    px, qty : ndarray of shape (n,), dtype float64
        Price (quote units) and size (base units).
    side : ndarray of shape (n,), dtype int8
        Taker side, +1 buy / -1 sell.
    ends : ndarray of shape (m,), dtype int64
        Exclusive end indices, strictly increasing, ``ends[-1] <= n``.
    out : ndarray of shape (m,), dtype BAR_DTYPE
        Written in place (the only mutated argument). ``ts_open_ns`` / ``ts_close_ns`` are the
        first / last trade's times.

    Notes
    -----
    Reference twin: ``pandas_bars`` in the tests (``groupby(bar_id)`` first/max/min/last/size
    and ``cumsum().last()``).
    """
    start = 0
    for k in range(ends.shape[0]):
        end = ends[k]
        o = px[start]
        hi = o
        lo = o
        v = 0.0
        vc = 0.0
        d = 0.0
        dc = 0.0
        bv = 0.0
        bc = 0.0
        for i in range(start, end):
            p = px[i]
            q = qty[i]
            if p > hi:
                hi = p
            if p < lo:
                lo = p
            v, vc = _kahan(v, vc, q)
            d, dc = _kahan(d, dc, p * q)
            bv, bc = _kahan(bv, bc, q if side[i] > 0 else 0.0)
        row = out[k]
        row["ts_open_ns"] = ts_ns[start]
        row["ts_close_ns"] = ts_ns[end - 1]
        row["open"] = o
        row["high"] = hi
        row["low"] = lo
        row["close"] = px[end - 1]
        row["volume"] = v
        row["dollar_volume"] = d
        row["n_trades"] = end - start
        row["buy_volume"] = bv
        row["vwap"] = d / v
        start = end


@nb.njit(cache=True)
def book_top_at_nb(ts_ns, kind, side, idx, qty, n_levels, sample_ts_ns, out_idx, out_qty):
    """Replay an L2 feed on a dense price grid and sample the best bid/ask at given times.

    The state sampled at ``sample_ts_ns[j]`` is the book after every event with
    ``ts_ns <= sample_ts_ns[j]``.

    Parameters
    ----------
    ts_ns : ndarray of shape (n,), dtype int64
        Event times (``ts_local_ns``), non-decreasing.
    kind, side : ndarray of shape (n,), dtype int8
        :data:`engine.feed.EVENT_DTYPE` kinds (1 ``DEPTH``, 3 ``CLEAR``; others ignored) and sides
        (+1 bid, -1 ask, 0 both for ``CLEAR``).
    idx : ndarray of shape (n,), dtype int64
        Price index on the grid (``round((px - px_min) / tick)``), in ``[0, n_levels)``.
    qty : ndarray of shape (n,), dtype float64
        Absolute level size; 0 deletes the level.
    n_levels : int
        Grid size.
    sample_ts_ns : ndarray of shape (m,), dtype int64
        Sample times, non-decreasing.
    out_idx : ndarray of shape (m, 2), dtype int64
        Written: best bid / best ask index per sample, -1 when that side is empty.
    out_qty : ndarray of shape (m, 2), dtype float64
        Written: size at the best bid / ask (0.0 when empty).

    Notes
    -----
    Reference twin: :class:`venues.loaders.book.RefBook` (tests).
    """
    bids = np.zeros(n_levels, dtype=np.float64)
    asks = np.zeros(n_levels, dtype=np.float64)
    bb = -1
    ba = -1
    b_lo = n_levels  # occupied index range of each side, for cheap clears
    b_hi = -1
    a_lo = n_levels
    a_hi = -1
    n = ts_ns.shape[0]
    i = 0
    for j in range(sample_ts_ns.shape[0]):
        s = sample_ts_ns[j]
        while i < n and ts_ns[i] <= s:
            k = kind[i]
            if k == 1:
                x = idx[i]
                q = qty[i]
                if side[i] > 0:
                    bids[x] = q
                    if q > 0.0:
                        b_lo = min(b_lo, x)
                        b_hi = max(b_hi, x)
                        if x > bb:
                            bb = x
                    elif x == bb:
                        bb = -1
                        for y in range(x - 1, b_lo - 1, -1):
                            if bids[y] > 0.0:
                                bb = y
                                break
                else:
                    asks[x] = q
                    if q > 0.0:
                        a_lo = min(a_lo, x)
                        a_hi = max(a_hi, x)
                        if ba < 0 or x < ba:
                            ba = x
                    elif x == ba:
                        ba = -1
                        for y in range(x + 1, a_hi + 1):
                            if asks[y] > 0.0:
                                ba = y
                                break
            elif k == 3:
                if side[i] >= 0:
                    for y in range(b_lo, b_hi + 1):
                        bids[y] = 0.0
                    bb = -1
                    b_lo = n_levels
                    b_hi = -1
                if side[i] <= 0:
                    for y in range(a_lo, a_hi + 1):
                        asks[y] = 0.0
                    ba = -1
                    a_lo = n_levels
                    a_hi = -1
            i += 1
        out_idx[j, 0] = bb
        out_idx[j, 1] = ba
        out_qty[j, 0] = bids[bb] if bb >= 0 else 0.0
        out_qty[j, 1] = asks[ba] if ba >= 0 else 0.0
