"""Bars from trades: time, tick, volume, dollar and tick-imbalance bars (AFML ch. 2).

Each function takes the trades as four aligned 1-D arrays and returns a structured array of
:data:`BAR_DTYPE`, one row per *completed* bar, computed by the Numba kernels of
:mod:`signals._bars_nb`. This module validates inputs and documents the conventions; it does not
load files (that is :mod:`signals.data`) nor compute features.

Conventions (all bar types)
---------------------------
* **No splitting.** The trade that reaches or overshoots a threshold belongs, whole, to the bar
  it closes.
* **Partial last bar dropped.** Trades after the last closed bar are discarded: a bar is
  emitted only once the data show it is complete (for time bars: once a later trade falls in a
  later period), so bars computed on a prefix of the data are a prefix of the bars of the whole.
* **Sums** are Kahan-compensated in trade order.

Fields of :data:`BAR_DTYPE`
---------------------------
``ts_open_ns``, ``ts_close_ns`` : int64
    ns since the epoch. Trade-driven bars: first / last (closing) trade's time. Time bars: the
    period's start / end. ``ts_close_ns`` is when the bar is known (use it as the label time).
``open``, ``high``, ``low``, ``close`` : float64
    Trade prices, quote units per base unit.
``volume`` : float64
    Σ qty, base units.
``dollar_volume`` : float64
    Σ px·qty, quote units.
``n_trades`` : int64
    Number of trades (-1 where unknown, e.g. candles).
``buy_volume`` : float64
    Σ qty of taker buys (side +1), base units.
``vwap`` : float64
    ``dollar_volume / volume``.

See Also
--------
signals._bars_nb : the kernels and their reference twins.
signals.data.load_data : bars from recorded files.

References
----------
López de Prado, M. (2018). *Advances in Financial Machine Learning*, Wiley, ch. 2 "Financial
Data Structures": §2.3.1 standard bars (time, tick, volume, dollar), §2.3.2.1 tick imbalance bars.
"""

from __future__ import annotations

import numpy as np

from engine.feed import TRADE
from signals._bars_nb import (
    BAR_DTYPE,
    aggregate_nb,
    imbalance_bar_ends_nb,
    threshold_bar_ends_nb,
    tick_bar_ends_nb,
    tick_rule_nb,
    time_bar_ends_nb,
)

__all__ = [
    "BAR_DTYPE",
    "BAR_KINDS",
    "dollar_bars",
    "empty_bars",
    "make_bars",
    "tick_bars",
    "tick_imbalance_bars",
    "tick_rule",
    "time_bars",
    "trades_from_events",
    "volume_bars",
]

BAR_KINDS = ("time", "tick", "volume", "dollar", "imbalance")
"""Bar kinds accepted by :func:`make_bars` (and ``SignalDataConfig.bar``)."""


def empty_bars(n: int) -> np.ndarray:
    """Allocate ``n`` bars with every float field NaN and ``n_trades = -1``.

    Parameters
    ----------
    n : int
        Number of rows.

    Returns
    -------
    ndarray of shape (n,), dtype BAR_DTYPE
        ``ts_open_ns = ts_close_ns = 0``.
    """
    out = np.zeros(n, dtype=BAR_DTYPE)
    for name in BAR_DTYPE.names:
        if BAR_DTYPE[name].kind == "f":
            out[name] = np.nan
    out["n_trades"] = -1
    return out


def _check(ts_ns, px, qty, side):
    ts_ns = np.ascontiguousarray(ts_ns, dtype=np.int64)
    px = np.ascontiguousarray(px, dtype=np.float64)
    qty = np.ascontiguousarray(qty, dtype=np.float64)
    side = np.ascontiguousarray(side, dtype=np.int8)
    n = ts_ns.shape[0]
    if ts_ns.ndim != 1 or px.shape != (n,) or qty.shape != (n,) or side.shape != (n,):
        raise ValueError(
            f"trade arrays must be 1-D and aligned; got shapes {ts_ns.shape}, {px.shape}, {qty.shape}, {side.shape}"
        )
    if n:
        if not (np.isfinite(px).all() and (px > 0).all()):
            i = int(np.argmax(~(np.isfinite(px) & (px > 0))))
            raise ValueError(f"trade {i}: price {px[i]!r} is not a finite positive number")
        if not (np.isfinite(qty).all() and (qty > 0).all()):
            i = int(np.argmax(~(np.isfinite(qty) & (qty > 0))))
            raise ValueError(f"trade {i}: size {qty[i]!r} is not a finite positive number")
        if n > 1 and (ts_ns[1:] < ts_ns[:-1]).any():
            i = int(np.argmax(ts_ns[1:] < ts_ns[:-1])) + 1
            raise ValueError(f"trade {i}: timestamp {ts_ns[i]} ns is earlier than the previous trade's")
    return ts_ns, px, qty, side


def _aggregate(ts_ns, px, qty, side, ends):
    out = np.empty(ends.shape[0], dtype=BAR_DTYPE)
    aggregate_nb(ts_ns, px, qty, side, ends, out)
    return out


def tick_bars(ts_ns, px, qty, side, *, n_trades: int) -> np.ndarray:
    """Tick bars: one bar every ``n_trades`` trades (AFML §2.3.1.2).

    Parameters
    ----------
    ts_ns : array_like of shape (n,), int64
        Trade times, ns since the epoch, non-decreasing.
    px : array_like of shape (n,), float64
        Trade prices, quote units, finite and > 0.
    qty : array_like of shape (n,), float64
        Trade sizes, base units, finite and > 0.
    side : array_like of shape (n,), int8
        Taker side, +1 buy / -1 sell.
    n_trades : int
        Trades per bar, >= 1.

    Returns
    -------
    ndarray of shape (n // n_trades,), dtype BAR_DTYPE
        The partial last bar is dropped.

    Raises
    ------
    ValueError
        Misaligned arrays, invalid price/size, decreasing timestamps, ``n_trades < 1``.

    References
    ----------
    López de Prado (2018), *AFML*, §2.3.1.2 "Tick Bars".

    Examples
    --------
    >>> b = tick_bars([1, 2, 3, 4, 5], [10., 11., 9., 10., 12.], [1., 1., 2., 1., 1.],
    ...               [1, -1, 1, 1, -1], n_trades=2)
    >>> b["close"].tolist(), b["volume"].tolist(), b["buy_volume"].tolist()
    ([11.0, 10.0], [2.0, 3.0], [1.0, 3.0])
    """
    if int(n_trades) < 1:
        raise ValueError(f"n_trades must be >= 1, got {n_trades}")
    ts_ns, px, qty, side = _check(ts_ns, px, qty, side)
    return _aggregate(ts_ns, px, qty, side, tick_bar_ends_nb(ts_ns.shape[0], int(n_trades)))


def volume_bars(ts_ns, px, qty, side, *, volume: float) -> np.ndarray:
    """Volume bars: a bar closes each time cumulative volume crosses a multiple of ``volume``
    (AFML §2.3.1.3).

    Trade ``i`` closes a bar when ``floor(cumsum(qty)[i] / volume)`` increases. The closing trade
    is not split; its overshoot stays on the cumulative clock (the next bar closes at the next
    multiple), so bars average ``volume`` and never drift. A trade crossing several multiples
    closes one bar.

    Parameters
    ----------
    ts_ns, px, qty, side : array_like of shape (n,)
        Trades, as in :func:`tick_bars`.
    volume : float
        Bar size, base units, > 0.

    Returns
    -------
    ndarray, dtype BAR_DTYPE
        The partial last bar is dropped.

    Raises
    ------
    ValueError
        Invalid trades (see :func:`tick_bars`) or ``volume <= 0``.

    References
    ----------
    López de Prado (2018), *AFML*, §2.3.1.3 "Volume Bars".

    Examples
    --------
    >>> volume_bars([1, 2, 3, 4], [10., 11., 9., 10.], [1., 1.5, 1., 1.], [1, 1, -1, 1],
    ...             volume=2.0)["n_trades"].tolist()
    [2, 2]
    """
    if not volume > 0:
        raise ValueError(f"volume must be > 0, got {volume}")
    ts_ns, px, qty, side = _check(ts_ns, px, qty, side)
    return _aggregate(ts_ns, px, qty, side, threshold_bar_ends_nb(qty, float(volume)))


def dollar_bars(ts_ns, px, qty, side, *, dollar: float) -> np.ndarray:
    """Dollar bars: a bar closes each time cumulative traded value ``Σ px·qty`` crosses a
    multiple of ``dollar`` (AFML §2.3.1.4).

    Same crossing rule as :func:`volume_bars`, on ``px * qty`` (quote units).

    Parameters
    ----------
    ts_ns, px, qty, side : array_like of shape (n,)
        Trades, as in :func:`tick_bars`.
    dollar : float
        Bar size, quote units, > 0.

    Returns
    -------
    ndarray, dtype BAR_DTYPE
        The partial last bar is dropped.

    Raises
    ------
    ValueError
        Invalid trades or ``dollar <= 0``.

    References
    ----------
    López de Prado (2018), *AFML*, §2.3.1.4 "Dollar Bars".
    """
    if not dollar > 0:
        raise ValueError(f"dollar must be > 0, got {dollar}")
    ts_ns, px, qty, side = _check(ts_ns, px, qty, side)
    return _aggregate(ts_ns, px, qty, side, threshold_bar_ends_nb(px * qty, float(dollar)))


def time_bars(ts_ns, px, qty, side, *, period_ns: int) -> np.ndarray:
    """Time bars on the grid ``[k·period_ns, (k+1)·period_ns)`` (AFML §2.3.1.1).

    ``ts_open_ns`` / ``ts_close_ns`` are the period's bounds. Periods without trades produce no
    bar; the period holding the last trade is dropped (no later trade shows it is complete).

    Parameters
    ----------
    ts_ns, px, qty, side : array_like of shape (n,)
        Trades, as in :func:`tick_bars`; ``ts_ns >= 0``.
    period_ns : int
        Bar length, ns, >= 1.

    Returns
    -------
    ndarray, dtype BAR_DTYPE

    Raises
    ------
    ValueError
        Invalid trades or ``period_ns < 1``.

    References
    ----------
    López de Prado (2018), *AFML*, §2.3.1.1 "Time Bars".
    """
    period_ns = int(period_ns)
    if period_ns < 1:
        raise ValueError(f"period_ns must be >= 1, got {period_ns}")
    ts_ns, px, qty, side = _check(ts_ns, px, qty, side)
    if ts_ns.size and ts_ns[0] < 0:
        raise ValueError("time bars need ts_ns >= 0")
    out = _aggregate(ts_ns, px, qty, side, time_bar_ends_nb(ts_ns, period_ns))
    k = out["ts_open_ns"] // period_ns
    out["ts_open_ns"] = k * period_ns
    out["ts_close_ns"] = (k + 1) * period_ns
    return out


def tick_rule(px, *, b0: int = 1) -> np.ndarray:
    """Trade signs by the tick rule (AFML §2.3.2.1): the sign of the last non-zero price change.

    Parameters
    ----------
    px : array_like of shape (n,), float64
        Trade prices.
    b0 : {1, -1}, default 1
        Sign of the first trade (no previous price).

    Returns
    -------
    ndarray of shape (n,), dtype int8

    Raises
    ------
    ValueError
        If ``b0`` is not ±1.

    References
    ----------
    López de Prado (2018), *AFML*, §2.3.2.1 (the tick rule ``b_t``).

    Examples
    --------
    >>> tick_rule([10., 11., 11., 10.5]).tolist()
    [1, 1, 1, -1]
    """
    if b0 not in (1, -1):
        raise ValueError(f"b0 must be +1 or -1, got {b0}")
    return tick_rule_nb(np.ascontiguousarray(px, dtype=np.float64), int(b0))


def tick_imbalance_bars(
    ts_ns,
    px,
    qty,
    side,
    *,
    expected_ticks_init: int,
    span: float = 20.0,
    min_ticks: float | None = None,
    max_ticks: float | None = None,
    sign: str = "side",
) -> np.ndarray:
    """Tick imbalance bars (AFML §2.3.2.1).

    With ``b_t ∈ {+1, −1}`` the sign of trade ``t``, a bar closes at the first trade where the
    imbalance ``|θ_T| = |Σ_{t ≤ T} b_t|`` reaches ``E0[T] · |2P[b=1] − 1|``.

    * ``E0[T]``: EWMA (span ``span`` bars, ``α = 2/(span+1)``, no bias adjustment) of the lengths
      of prior bars, clipped to ``[min_ticks, max_ticks]``.
    * ``2P[b=1] − 1``: EWMA (same span) of prior bars' mean sign ``θ_k / T_k``.
    * Initialisation: the first bar is a plain tick bar of ``expected_ticks_init`` trades; its
      length and mean sign seed the two EWMAs. Both estimates are updated only when a bar closes,
      so the threshold of a bar uses prior bars only.

    Parameters
    ----------
    ts_ns, px, qty, side : array_like of shape (n,)
        Trades, as in :func:`tick_bars`.
    expected_ticks_init : int
        ``E0[T]`` before any bar (length of the warm-up bar), >= 1.
    span : float, default 20.0
        EWMA span, in bars, >= 1.
    min_ticks : float or None, default None
        Lower clip of ``E0[T]``; ``None``: ``max(1, expected_ticks_init / 10)``.
    max_ticks : float or None, default None
        Upper clip of ``E0[T]``; ``None``: ``10 * expected_ticks_init``.
    sign : {"side", "tick_rule"}, default "side"
        ``b_t`` from the recorded taker side (exact where the venue reports the aggressor, as
        Binance and Hyperliquid do), or AFML's tick rule (:func:`tick_rule`, ``b0 = +1``).

    Returns
    -------
    ndarray, dtype BAR_DTYPE
        The partial last bar is dropped.

    Raises
    ------
    ValueError
        Invalid trades or parameters.

    Notes
    -----
    The clip guards against the known degeneracy of imbalance bars: when ``|E0[2P−1]|`` is small
    the threshold falls under 1 and every trade closes a bar, which then drags ``E0[T]`` down
    (and vice versa). ``min_ticks``/``max_ticks`` bound ``E0[T]`` only; the clip does not change
    ``E0[2P−1]``.

    References
    ----------
    López de Prado (2018), *AFML*, §2.3.2.1 "Tick Imbalance Bars".
    """
    if int(expected_ticks_init) < 1:
        raise ValueError(f"expected_ticks_init must be >= 1, got {expected_ticks_init}")
    if not span >= 1:
        raise ValueError(f"span must be >= 1, got {span}")
    t0 = int(expected_ticks_init)
    lo = max(1.0, t0 / 10.0) if min_ticks is None else float(min_ticks)
    hi = 10.0 * t0 if max_ticks is None else float(max_ticks)
    if not 0 < lo <= hi:
        raise ValueError(f"need 0 < min_ticks <= max_ticks, got {lo}, {hi}")
    ts_ns, px, qty, side = _check(ts_ns, px, qty, side)
    if sign == "side":
        if side.size and not np.isin(side, (-1, 1)).all():
            raise ValueError("sign='side' needs side in {+1, -1} for every trade")
        b = side
    elif sign == "tick_rule":
        b = tick_rule_nb(px, 1)
    else:
        raise ValueError(f"sign must be 'side' or 'tick_rule', got {sign!r}")
    ends = imbalance_bar_ends_nb(b, t0, float(span), lo, hi)
    return _aggregate(ts_ns, px, qty, side, ends)


def make_bars(kind: str, ts_ns, px, qty, side, size: float) -> np.ndarray:
    """Dispatch on ``kind`` with one numeric ``size``.

    Parameters
    ----------
    kind : {"time", "tick", "volume", "dollar", "imbalance"}
        Bar type.
    ts_ns, px, qty, side : array_like of shape (n,)
        Trades, as in :func:`tick_bars`.
    size : float
        ``time``: period in seconds; ``tick``: trades per bar; ``volume``: base units;
        ``dollar``: quote units; ``imbalance``: ``expected_ticks_init`` (other parameters at
        their defaults).

    Returns
    -------
    ndarray, dtype BAR_DTYPE

    Raises
    ------
    ValueError
        Unknown ``kind`` or invalid arguments.
    """
    if kind == "time":
        return time_bars(ts_ns, px, qty, side, period_ns=round(size * 1e9))
    if kind == "tick":
        return tick_bars(ts_ns, px, qty, side, n_trades=round(size))
    if kind == "volume":
        return volume_bars(ts_ns, px, qty, side, volume=size)
    if kind == "dollar":
        return dollar_bars(ts_ns, px, qty, side, dollar=size)
    if kind == "imbalance":
        return tick_imbalance_bars(ts_ns, px, qty, side, expected_ticks_init=round(size))
    raise ValueError(f"unknown bar kind {kind!r}; expected one of {BAR_KINDS}")


def trades_from_events(events: np.ndarray, *, ts_field: str = "ts_local_ns"):
    """Extract trades from a feed as the four arrays the bar functions take.

    Parameters
    ----------
    events : ndarray, dtype engine.feed.EVENT_DTYPE
        A loaded feed (``venues.loaders.load_feed(...).events``), sorted by ``ts_local_ns``.
    ts_field : {"ts_local_ns", "ts_exch_ns"}, default "ts_local_ns"
        Which clock stamps the trades. The default is sim time (the feed's sort key), so bars
        line up with the simulator's decision times.

    Returns
    -------
    tuple of ndarray
        ``(ts_ns int64, px float64, qty float64, side int8)``, contiguous copies.

    Raises
    ------
    ValueError
        Unknown ``ts_field``.
    """
    if ts_field not in ("ts_local_ns", "ts_exch_ns"):
        raise ValueError(f"ts_field must be 'ts_local_ns' or 'ts_exch_ns', got {ts_field!r}")
    tr = events[events["kind"] == TRADE]
    return (
        np.ascontiguousarray(tr[ts_field], dtype=np.int64),
        np.ascontiguousarray(tr["px"], dtype=np.float64),
        np.ascontiguousarray(tr["qty"], dtype=np.float64),
        np.ascontiguousarray(tr["side"], dtype=np.int8),
    )
