"""Compiled loops behind :mod:`signals.features`.

Every kernel is ``numba.njit(cache=True)``, takes 1-D float64 / int64 arrays, never mutates its
inputs and returns new arrays of the input length. Each output value at index ``t`` is computed
from inputs at indices ``<= t`` only, with the same sequence of floating-point operations
whatever the length of the input, so truncating the input after ``t`` leaves the value at ``t``
bit-for-bit unchanged (``tests/signals/test_no_lookahead.py``).

The public, documented entry points are in :mod:`signals.features`; these kernels do no
argument checking.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = [
    "cusum_nb",
    "encode_quantile_nb",
    "ewm_std_nb",
    "rolling_lz_nb",
    "rolling_plugin_entropy_nb",
    "rolling_quantile_nb",
    "rolling_std_nb",
    "rolling_sum_nb",
    "rsi_wilder_nb",
    "sadf_nb",
    "vpin_nb",
]


@nb.njit(cache=True)
def rolling_sum_nb(x, window):
    """Sum of ``x[t-window+1 : t+1]`` (NaN if the window is short or holds a NaN)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        s = 0.0
        for j in range(t - window + 1, t + 1):
            s += x[j]
        out[t] = s
    return out


@nb.njit(cache=True)
def rolling_std_nb(x, window, ddof):
    """Two-pass standard deviation of ``x[t-window+1 : t+1]`` with ``ddof``."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if window - ddof <= 0:
        return out
    for t in range(window - 1, n):
        m = 0.0
        for j in range(t - window + 1, t + 1):
            m += x[j]
        m /= window
        ss = 0.0
        for j in range(t - window + 1, t + 1):
            ss += (x[j] - m) * (x[j] - m)
        out[t] = math.sqrt(ss / (window - ddof))
    return out


@nb.njit(cache=True, inline="always")
def _lerp(a, b, frac):
    """numpy's quantile interpolation (``numpy.lib._function_base_impl._lerp``), bit for bit."""
    diff = b - a
    if frac >= 0.5:
        return b - diff * (1.0 - frac)
    return a + diff * frac


@nb.njit(cache=True)
def rolling_quantile_nb(x, window, q):
    """Quantile ``q`` (numpy ``"linear"`` rule) of ``x[t-window+1 : t+1]``; NaN if a NaN is inside."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    buf = np.empty(window)
    for t in range(window - 1, n):
        bad = False
        for j in range(window):
            v = x[t - window + 1 + j]
            if np.isnan(v):
                bad = True
                break
            buf[j] = v
        if bad:
            continue
        srt = np.sort(buf)
        pos = q * (window - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, window - 1)
        out[t] = _lerp(srt[lo], srt[hi], pos - lo)
    return out


@nb.njit(cache=True)
def encode_quantile_nb(x, window, n_q):
    """Code ``x[t]`` by its quantile bin within ``x[t-window+1 : t+1]``: ``#{k: x[t] > e_k}``.

    ``e_k`` (k = 1..n_q-1) are the ``k/n_q`` quantiles (numpy ``"linear"``) of the window. Codes lie
    in ``0..n_q-1``; ``-1`` where the window is short or holds a NaN.
    """
    n = x.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    buf = np.empty(window)
    for t in range(window - 1, n):
        bad = False
        for j in range(window):
            v = x[t - window + 1 + j]
            if np.isnan(v):
                bad = True
                break
            buf[j] = v
        if bad:
            continue
        srt = np.sort(buf)
        code = 0
        for k in range(1, n_q):
            pos = (k / n_q) * (window - 1)
            lo = int(math.floor(pos))
            hi = min(lo + 1, window - 1)
            e = _lerp(srt[lo], srt[hi], pos - lo)
            if x[t] > e:
                code += 1
        out[t] = code
    return out


@nb.njit(cache=True)
def ewm_std_nb(x, alpha):
    """pandas ``Series.ewm(alpha=alpha, adjust=True, ignore_na=False).std()`` (bias-corrected).

    Leading NaNs give NaN; an interior NaN decays the weights without an observation and repeats
    the previous output, as pandas does.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = -1
    for i in range(n):
        if not np.isnan(x[i]):
            start = i
            break
    if start < 0:
        return out
    decay = 1.0 - alpha
    mean_x = x[start]
    cov = 0.0
    sum_wt = 1.0
    sum_wt2 = 1.0
    old_wt = 1.0
    out[start] = np.nan  # one observation: the bias-corrected variance is undefined
    for i in range(start + 1, n):
        cur = x[i]
        sum_wt *= decay
        sum_wt2 *= decay * decay
        old_wt *= decay
        if not np.isnan(cur):
            old_mean = mean_x
            if mean_x != cur:
                mean_x = (old_wt * old_mean + cur) / (old_wt + 1.0)
            cov = (old_wt * (cov + (old_mean - mean_x) * (old_mean - mean_x)) + (cur - mean_x) * (cur - mean_x)) / (
                old_wt + 1.0
            )
            sum_wt += 1.0
            sum_wt2 += 1.0
            old_wt += 1.0
        num = sum_wt * sum_wt
        den = num - sum_wt2
        if den > 0.0:
            v = num / den * cov
            out[i] = math.sqrt(v) if v > 0.0 else 0.0
    return out


@nb.njit(cache=True)
def cusum_nb(diff, h):
    """Symmetric CUSUM filter (AFML Snippet 2.4) on increments ``diff`` with thresholds ``h[t]``.

    Returns ``(event, s_pos, s_neg)``: ``event[t]`` is +1 / -1 when the upper / lower sum crossed
    (the sum is then reset to 0), else 0; ``s_pos`` / ``s_neg`` are the sums after the reset.
    NaN increments leave the sums unchanged; a NaN threshold emits no event.
    """
    n = diff.shape[0]
    event = np.zeros(n, dtype=np.int8)
    s_pos = np.zeros(n)
    s_neg = np.zeros(n)
    sp = 0.0
    sn = 0.0
    for i in range(n):
        d = diff[i]
        if not np.isnan(d):
            sp = max(0.0, sp + d)
            sn = min(0.0, sn + d)
            hi = h[i]
            if sn < -hi:
                sn = 0.0
                event[i] = -1
            elif sp > hi:
                sp = 0.0
                event[i] = 1
        s_pos[i] = sp
        s_neg[i] = sn
    return event, s_pos, s_neg


@nb.njit(cache=True)
def _adf_stat(xtx, xty, yty, nrows, k):
    """t-statistic of coefficient 0 from normal equations via Cholesky; NaN if singular."""
    L = np.zeros((k, k))
    for j in range(k):
        s = xtx[j, j]
        for m in range(j):
            s -= L[j, m] * L[j, m]
        if not (s > 1e-12 * xtx[j, j]) or s <= 0.0:
            return np.nan
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, k):
            s2 = xtx[i, j]
            for m in range(j):
                s2 -= L[i, m] * L[j, m]
            L[i, j] = s2 / L[j, j]
    # b = A^-1 xty: forward then backward substitution
    z = np.empty(k)
    for i in range(k):
        s = xty[i]
        for m in range(i):
            s -= L[i, m] * z[m]
        z[i] = s / L[i, i]
    b = np.empty(k)
    for i in range(k - 1, -1, -1):
        s = z[i]
        for m in range(i + 1, k):
            s -= L[m, i] * b[m]
        b[i] = s / L[i, i]
    # (A^-1)_00 = ||L^-1 e0||^2
    e = np.zeros(k)
    inv00 = 0.0
    for i in range(k):
        s = 1.0 if i == 0 else 0.0
        for m in range(i):
            s -= L[i, m] * e[m]
        e[i] = s / L[i, i]
        inv00 += e[i] * e[i]
    ssr = yty
    for i in range(k):
        ssr -= b[i] * xty[i]
    dof = nrows - k
    if dof <= 0 or not (ssr > 0.0):
        return np.nan
    se = math.sqrt(ssr / dof * inv00)
    return b[0] / se


@nb.njit(cache=True)
def sadf_nb(y, min_window, lags, trend, max_window):
    """Supremum ADF (AFML §17.4.2, Snippets 17.1-17.4) at every end index ``t``.

    Regression rows ``i`` (``lags+1 <= i <= t``): ``dy_i = b0*y_{i-1} + sum_l g_l dy_{i-l}
    [+ c] [+ tau*i] + e``. For a fixed ``t`` the start ``s`` runs backwards from ``t`` while
    ``t-s+1 <= max_window`` (``max_window <= 0``: no bound), the normal equations are updated by
    one row per step and every window of at least ``min_window`` rows contributes its ADF
    t-statistic ``b0/se(b0)``; ``sadf[t]`` is their maximum (NaN-ignoring). ``trend``: -1 no
    constant, 0 constant, 1 constant and linear trend. The level and trend regressors are shifted
    by their values at ``t`` (exact, since a constant is in the model; for ``trend=-1`` no shift).
    """
    n = y.shape[0]
    out = np.full(n, np.nan)
    k = 1 + lags + (0 if trend < 0 else 1) + (1 if trend > 0 else 0)
    first = lags + 1
    row = np.empty(k)
    for t in range(first + min_window - 1, n):
        ref = y[t] if trend >= 0 else 0.0
        xtx = np.zeros((k, k))
        xty = np.zeros(k)
        yty = 0.0
        best = -np.inf
        found = False
        lo = first
        if max_window > 0:
            lo = max(first, t - max_window + 1)
        for s in range(t, lo - 1, -1):
            dy = y[s] - y[s - 1]
            row[0] = y[s - 1] - ref
            for m in range(1, lags + 1):
                row[m] = y[s - m] - y[s - m - 1]
            c = lags + 1
            if trend >= 0:
                row[c] = 1.0
                c += 1
            if trend > 0:
                row[c] = float(s - t)
            for a in range(k):
                xty[a] += row[a] * dy
                for b in range(a + 1):
                    xtx[a, b] += row[a] * row[b]
            yty += dy * dy
            nrows = t - s + 1
            if nrows >= min_window:
                for a in range(k):
                    for b in range(a + 1, k):
                        xtx[a, b] = xtx[b, a]
                stat = _adf_stat(xtx, xty, yty, nrows, k)
                if not np.isnan(stat):
                    found = True
                    if stat > best:
                        best = stat
        if found:
            out[t] = best
    return out


@nb.njit(cache=True)
def rolling_plugin_entropy_nb(codes, window, word_len, n_symbols):
    """Plug-in (maximum-likelihood) entropy rate, bits per symbol (AFML Snippet 18.1).

    At ``t`` the message is ``codes[t-window+1 : t+1]``; its ``window-word_len+1`` overlapping
    words of length ``word_len`` give the empirical pmf ``p``; the output is
    ``-sum p log2 p / word_len``. NaN where the window is short or holds a code ``< 0``.
    """
    n = codes.shape[0]
    out = np.full(n, np.nan)
    n_words_total = 1
    for _ in range(word_len):
        n_words_total *= n_symbols
    counts = np.zeros(n_words_total, dtype=np.int64)
    n_words = window - word_len + 1
    wcodes = np.empty(n_words, dtype=np.int64)
    for t in range(window - 1, n):
        start = t - window + 1
        bad = False
        for j in range(start, t + 1):
            if codes[j] < 0:
                bad = True
                break
        if bad:
            continue
        for w in range(n_words):
            c = 0
            for m in range(word_len):
                c = c * n_symbols + codes[start + w + m]
            wcodes[w] = c
            counts[c] += 1
        h = 0.0
        for w in range(n_words):
            c = wcodes[w]
            cnt = counts[c]
            if cnt > 0:
                p = cnt / n_words
                h -= p * math.log2(p)
                counts[c] = 0
        out[t] = h / word_len
    return out


@nb.njit(cache=True)
def rolling_lz_nb(codes, window, n_symbols):
    """Lempel-Ziv (LZ78 incremental parse) complexity of ``codes[t-window+1 : t+1]``.

    Number of phrases in the library built by AFML Snippet 18.2 divided by ``window``; a trailing
    partial phrase already in the library is not counted. NaN where the window is short or holds
    a code ``< 0``.
    """
    n = codes.shape[0]
    out = np.full(n, np.nan)
    children = np.full((window + 1, n_symbols), -1, dtype=np.int64)
    for t in range(window - 1, n):
        start = t - window + 1
        bad = False
        for j in range(start, t + 1):
            if codes[j] < 0:
                bad = True
                break
        if bad:
            continue
        children[:, :] = -1
        n_nodes = 1
        node = 0
        count = 0
        for j in range(start, t + 1):
            s = codes[j]
            child = children[node, s]
            if child < 0:
                children[node, s] = n_nodes
                n_nodes += 1
                count += 1
                node = 0
            else:
                node = child
        out[t] = count / window
    return out


@nb.njit(cache=True)
def rsi_wilder_nb(close, window):
    """Wilder's RSI: seed averages are the simple means of the first ``window`` gains / losses.

    Then ``avg = (avg*(window-1) + x)/window``; ``RSI = 100 - 100/(1 + avg_gain/avg_loss)``, 100
    when ``avg_loss == 0 < avg_gain`` and 50 when both are 0. Output NaN for ``t < window``.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n <= window:
        return out
    ag = 0.0
    al = 0.0
    for i in range(1, window + 1):
        d = close[i] - close[i - 1]
        if d > 0:
            ag += d
        else:
            al -= d
    ag /= window
    al /= window
    for i in range(window, n):
        if i > window:
            d = close[i] - close[i - 1]
            g = d if d > 0 else 0.0
            lo = -d if d < 0 else 0.0
            ag = (ag * (window - 1) + g) / window
            al = (al * (window - 1) + lo) / window
        if al == 0.0:
            out[i] = 50.0 if ag == 0.0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + ag / al)
    return out


@nb.njit(cache=True)
def vpin_nb(volume, buy_volume, bucket_volume, n_buckets):
    """VPIN over equal-volume buckets (Easley, López de Prado & O'Hara 2012).

    Bars are poured in order into buckets of ``bucket_volume``; a bar that overflows a bucket
    spills into the next with the same buy fraction ``buy_volume/volume``. A completed bucket's
    order imbalance is ``|V_buy - V_sell| / bucket_volume``; ``vpin[t]`` is the mean over the last
    ``n_buckets`` buckets completed by the end of bar ``t`` (NaN before ``n_buckets`` have been).
    Bars with non-finite or non-positive volume are skipped.
    """
    n = volume.shape[0]
    out = np.full(n, np.nan)
    ring = np.zeros(n_buckets)
    n_done = 0
    filled = 0.0
    buy = 0.0
    tol = 1e-12 * bucket_volume
    for t in range(n):
        v = volume[t]
        if v > 0.0 and np.isfinite(v):
            f = buy_volume[t] / v
            if f < 0.0:
                f = 0.0
            elif f > 1.0:
                f = 1.0
            rem = v
            while rem > tol:
                take = min(rem, bucket_volume - filled)
                filled += take
                buy += take * f
                rem -= take
                if filled >= bucket_volume - tol:
                    ring[n_done % n_buckets] = abs(2.0 * buy - bucket_volume) / bucket_volume
                    n_done += 1
                    filled = 0.0
                    buy = 0.0
        if n_done >= n_buckets:
            s = 0.0
            for j in range(n_buckets):
                s += ring[(n_done - n_buckets + j) % n_buckets]
            out[t] = s / n_buckets
    return out
