"""Order latency models: how long a request takes to reach the venue and a report to come back.

Every model answers two questions, in integer nanoseconds:

``entry(ts_ns, kind)``
    A request of ``kind`` (:class:`RequestKind`: new, modify, cancel) sent by the strategy at
    local time ``ts_ns`` reaches the matching engine at ``ts_ns + entry(ts_ns, kind)``. A
    *negative* value means the request never reaches the engine (rejected on the way, as
    exchanges do under load); the strategy hears the rejection ``-value`` ns after sending.
``response(ts_ns, kind)``
    What the engine does at exchange time ``ts_ns`` (ack, fill, cancel, reject) reaches the
    strategy at ``ts_ns + response(ts_ns, kind)`` (``>= 0``).

The entry/response split and the sign convention of a rejected request follow hftbacktest's
``LatencyModel`` trait (``ConstantLatency``, ``IntpOrderLatency``; hftbacktest 2.4,
``hftbacktest/src/backtest/models/latency.rs``). Per-kind latencies (a cancel faster than a new
order) are NautilusTrader's ``LatencyModel`` (``insert_latency_nanos``, ``update_latency_nanos``,
``cancel_latency_nanos``).

Models
------
:class:`ConstantLatency`
    Fixed values, optionally per request kind.
:class:`RecordedLatency`
    Interpolated from a recorded file of ``(req_ts, exch_ts, resp_ts)`` rows
    (:func:`load_order_latency`), hftbacktest's ``IntpOrderLatency`` rule.
:class:`LognormalLatency`
    Seeded random draws: lognormal with a median and a 99th percentile, from a
    :class:`numpy.random.Generator` (a named stream of the trial's seed, :mod:`engine.rng`), so
    replicates of a sweep differ and a given seed always gives the same draws.
    :func:`fit_lognormal` gives its two parameters from recorded latencies.

The venue keeps requests and reports in order (a later request never overtakes an earlier one,
as on one connection; hftbacktest's ``OrderBus`` does the same).
"""

from __future__ import annotations

import math
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt
from attrs import validators as v


class RequestKind(IntEnum):
    """What a request to the venue does."""

    NEW = 0
    MODIFY = 1
    CANCEL = 2


class LatencyModel(Protocol):
    """The interface of every latency model (see the module docstring)."""

    def entry(self, ts_ns: int, kind: int) -> int:
        """Entry latency of a request sent at local time ``ts_ns``, ns (negative: rejected)."""
        ...

    def response(self, ts_ns: int, kind: int) -> int:
        """Response latency of a report made at exchange time ``ts_ns``, ns (``>= 0``)."""
        ...


def _opt_ge0(_inst: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"'{attribute.name}' must be >= 0 or None, got {value}")


@attrs.frozen(kw_only=True)
class ConstantLatency:
    """Fixed entry and response latency.

    Attributes
    ----------
    entry_ns : int
        Strategy → venue delay of a new order (and of every request without its own value),
        ns (``>= 0``).
    response_ns : int
        Venue → strategy delay of every report (ack, reject, cancel, fill), ns (``>= 0``).
    modify_entry_ns, cancel_entry_ns : int or None
        Entry delay of a modify / cancel request, ns; ``None``: ``entry_ns``.

    Examples
    --------
    >>> lat = ConstantLatency(entry_ns=5, response_ns=7, cancel_entry_ns=2)
    >>> lat.entry(0, RequestKind.NEW), lat.entry(0, RequestKind.CANCEL), lat.response(0, RequestKind.NEW)
    (5, 2, 7)
    """

    entry_ns: int = attrs.field(default=0, validator=v.ge(0))
    response_ns: int = attrs.field(default=0, validator=v.ge(0))
    modify_entry_ns: int | None = attrs.field(default=None, validator=_opt_ge0)
    cancel_entry_ns: int | None = attrs.field(default=None, validator=_opt_ge0)

    def entry(self, ts_ns: int, kind: int) -> int:
        """Entry latency of a request of ``kind``, ns (``ts_ns`` is not used)."""
        if kind == RequestKind.CANCEL and self.cancel_entry_ns is not None:
            return self.cancel_entry_ns
        if kind == RequestKind.MODIFY and self.modify_entry_ns is not None:
            return self.modify_entry_ns
        return self.entry_ns

    def response(self, ts_ns: int, kind: int) -> int:
        """Response latency, ns (the same for every report)."""
        return self.response_ns


def _intp(x: int, x1: int, y1: int, x2: int, y2: int) -> int:
    """Linear interpolation of ``y`` at ``x`` between ``(x1, y1)`` and ``(x2, y2)``, integer ns.

    ``int((y2 - y1) / (x2 - x1) * (x - x1)) + y1`` in float64, truncated towards zero: the
    arithmetic of hftbacktest's ``IntpOrderLatency::intp``.
    """
    return int(float(y2 - y1) / float(x2 - x1) * float(x - x1)) + y1


class RecordedLatency:
    """Latency interpolated from recorded order round trips (hftbacktest's ``IntpOrderLatency``).

    Parameters
    ----------
    req_ts, exch_ts, resp_ts : array_like of int64, shape (n,)
        Per recorded request: local send time, exchange (matching-engine) time and local
        receive time of the response, ns. ``req_ts`` must be non-decreasing. An ``exch_ts <= 0``
        marks a request the exchange rejected before matching (overload).
    source : str, default "<arrays>"
        Name used in error messages (the file).

    Raises
    ------
    ValueError
        On an empty table, arrays of different lengths, a decreasing ``req_ts``, or a row with
        ``resp_ts < req_ts`` or (when ``exch_ts > 0``) ``exch_ts < req_ts`` or
        ``resp_ts < exch_ts``; the message names the source and the row.

    Notes
    -----
    Entry latency at local time ``t`` (rule of hftbacktest 2.4 ``IntpOrderLatency::entry``):

    * before the first row: that row's ``exch_ts − req_ts``; at or after the last row: the last
      row's (a rejection row there gives minus its ``resp_ts − req_ts``);
    * otherwise with rows ``i``, ``i+1`` such that ``req_ts[i] <= t < req_ts[i+1]``: the linear
      interpolation (:func:`_intp`) of ``exch_ts − req_ts`` over ``req_ts``;
    * if either of the two rows has ``exch_ts <= 0``, the request is rejected: the result is
      minus the interpolation of ``resp_ts − req_ts`` (the strategy hears the rejection then).

    Response latency at exchange time ``u``: the same interpolation of ``resp_ts − exch_ts``
    over ``exch_ts``, using only rows with ``exch_ts > 0`` (clamped to the first/last of them
    outside their range). hftbacktest interpolates over every row there; rows with a zero
    exchange time would make its ``exch_ts`` column non-monotonic, so they are left out here.
    The same curve is used for every request kind.
    """

    def __init__(
        self, req_ts: npt.ArrayLike, exch_ts: npt.ArrayLike, resp_ts: npt.ArrayLike, source: str = "<arrays>"
    ) -> None:
        req = np.asarray(req_ts, dtype=np.int64)
        exch = np.asarray(exch_ts, dtype=np.int64)
        resp = np.asarray(resp_ts, dtype=np.int64)
        if not (req.ndim == exch.ndim == resp.ndim == 1 and req.size == exch.size == resp.size):
            raise ValueError(f"{source}: req_ts, exch_ts and resp_ts must be 1-D of one length")
        if req.size == 0:
            raise ValueError(f"{source}: no latency rows")
        bad = np.flatnonzero(np.diff(req) < 0)
        if bad.size:
            raise ValueError(f"{source}: row {int(bad[0]) + 1}: req_ts decreases ({int(req[bad[0] + 1])} < "
                             f"{int(req[bad[0]])}); rows must be in request order")
        ok = exch > 0
        problems = (resp < req) | (ok & ((exch < req) | (resp < exch)))
        bad = np.flatnonzero(problems)
        if bad.size:
            r = int(bad[0])
            raise ValueError(f"{source}: row {r}: negative latency (req_ts {int(req[r])}, exch_ts "
                             f"{int(exch[r])}, resp_ts {int(resp[r])})")
        self.source = source
        self.req_ts, self.exch_ts, self.resp_ts = req, exch, resp
        self._r_exch = exch[ok]
        self._r_lat = resp[ok] - exch[ok]
        if self._r_exch.size and np.any(np.diff(self._r_exch) < 0):
            order = np.argsort(self._r_exch, kind="stable")
            self._r_exch, self._r_lat = self._r_exch[order], self._r_lat[order]

    def __len__(self) -> int:
        return int(self.req_ts.size)

    def entry(self, ts_ns: int, kind: int = RequestKind.NEW) -> int:
        """Entry latency at local time ``ts_ns``, ns; negative when the request is rejected."""
        req, exch, resp = self.req_ts, self.exch_ts, self.resp_ts
        n = req.size
        if ts_ns < req[0]:
            i = 0
        elif ts_ns >= req[n - 1]:
            i = n - 1
        else:
            i = int(np.searchsorted(req, ts_ns, side="right")) - 1
            x1, x2 = int(req[i]), int(req[i + 1])
            if exch[i] <= 0 or exch[i + 1] <= 0:
                return -_intp(ts_ns, x1, int(resp[i]) - x1, x2, int(resp[i + 1]) - x2)
            return _intp(ts_ns, x1, int(exch[i]) - x1, x2, int(exch[i + 1]) - x2)
        if exch[i] <= 0:
            return -int(resp[i] - req[i])
        return int(exch[i] - req[i])

    def response(self, ts_ns: int, kind: int = RequestKind.NEW) -> int:
        """Response latency of a report made at exchange time ``ts_ns``, ns."""
        x, y = self._r_exch, self._r_lat
        n = x.size
        if n == 0:  # every recorded request was rejected: the rejection round trip
            return int(self.resp_ts[0] - self.req_ts[0])
        if ts_ns < x[0]:
            return int(y[0])
        if ts_ns >= x[n - 1]:
            return int(y[n - 1])
        i = int(np.searchsorted(x, ts_ns, side="right")) - 1
        return max(_intp(ts_ns, int(x[i]), int(y[i]), int(x[i + 1]), int(y[i + 1])), 0)


def load_order_latency(path: str | Path) -> RecordedLatency:
    """Read a recorded order-latency file.

    Parameters
    ----------
    path : str or Path
        ``.npz`` / ``.npy``: a structured array with int64 fields ``req_ts``, ``exch_ts``,
        ``resp_ts`` (hftbacktest's ``OrderLatencyRow`` layout; in an ``.npz`` the array named
        ``data``, or its only array). ``.csv``: a header naming those three columns, then one
        row per request. Times in ns since the epoch.

    Returns
    -------
    RecordedLatency

    Raises
    ------
    ValueError
        If the file is missing, unreadable, lacks a column, or fails
        :class:`RecordedLatency`'s checks; the message names the file (and the row).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: latency file not found")
    cols = ("req_ts", "exch_ts", "resp_ts")
    arr: npt.NDArray[Any]
    try:
        if p.suffix == ".csv":
            arr = np.genfromtxt(p, delimiter=",", names=True, dtype=np.int64)
            arr = np.atleast_1d(arr)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                keys = list(z.keys())
                if "data" in keys:
                    arr = z["data"]
                elif len(keys) == 1:
                    arr = z[keys[0]]
                else:
                    raise ValueError(f"no array named 'data' among {keys}")
        elif p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            raise ValueError("unknown extension (use .npz, .npy or .csv)")
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read ({exc})") from None
    names = arr.dtype.names or ()
    missing = [c for c in cols if c not in names]
    if missing:
        raise ValueError(f"{p}: missing column(s) {', '.join(missing)} (has {', '.join(names) or 'no named columns'})")
    return RecordedLatency(arr["req_ts"], arr["exch_ts"], arr["resp_ts"], source=str(p))


Z_99 = 2.3263478740408408
"""Standard-normal quantile at 0.99 (``scipy.stats.norm.ppf(0.99)``)."""


class LognormalLatency:
    """Seeded random latency: lognormal with a given median and 99th percentile.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream to draw from (e.g. ``sim.rng.stream("latency/venue")``).
    entry_median_ns, entry_p99_ns : int
        Median and 99th percentile of a new order's entry latency, ns (``0 <= median <= p99``;
        ``p99 > 0`` when ``median > 0``).
    response_median_ns, response_p99_ns : int
        The same for the response latency.
    modify_median_ns, cancel_median_ns : int or None
        Medians of a modify's / cancel's entry latency, ns (``None``: ``entry_median_ns``);
        their tail has the entry's ratio ``entry_p99_ns / entry_median_ns``.

    Raises
    ------
    ValueError
        If a median is negative or exceeds its p99.

    Notes
    -----
    A draw is ``round(median · exp(σ Z))`` with ``Z ~ N(0, 1)`` and
    ``σ = ln(p99 / median) / z₀.₉₉`` (:data:`Z_99`), so ``P(X ≤ median) = 1/2`` and
    ``P(X ≤ p99) = 0.99``. Lognormal round-trip latency (heavy right tail) is the usual
    description of exchange order latency, e.g. hftbacktest's documentation ("Latency Models",
    order latency of Binance Futures). ``median == 0`` gives 0 always; ``median == p99`` a
    constant. Draws happen in event order from one stream, so a run is reproducible from its
    seed.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        entry_median_ns: int,
        entry_p99_ns: int,
        response_median_ns: int,
        response_p99_ns: int,
        modify_median_ns: int | None = None,
        cancel_median_ns: int | None = None,
    ) -> None:
        self.rng = rng
        self._entry = self._params("entry", entry_median_ns, entry_p99_ns)
        self._response = self._params("response", response_median_ns, response_p99_ns)
        sigma = self._entry[1]
        self._modify = (float(modify_median_ns), sigma) if modify_median_ns is not None else self._entry
        self._cancel = (float(cancel_median_ns), sigma) if cancel_median_ns is not None else self._entry
        for name, (m, _) in (("modify", self._modify), ("cancel", self._cancel)):
            if m < 0:
                raise ValueError(f"{name} median latency must be >= 0, got {m}")

    @staticmethod
    def _params(name: str, median: int, p99: int) -> tuple[float, float]:
        if median < 0 or p99 < median:
            raise ValueError(f"{name} latency: need 0 <= median <= p99, got median {median}, p99 {p99}")
        if median == 0 or p99 == median:
            return float(median), 0.0
        return float(median), math.log(p99 / median) / Z_99

    def _draw(self, params: tuple[float, float]) -> int:
        median, sigma = params
        if median == 0.0:
            return 0
        if sigma == 0.0:
            return int(round(median))
        return int(round(median * math.exp(sigma * float(self.rng.standard_normal()))))

    def entry(self, ts_ns: int, kind: int = RequestKind.NEW) -> int:
        """One draw of the entry latency of a request of ``kind``, ns (``>= 0``)."""
        if kind == RequestKind.CANCEL:
            return self._draw(self._cancel)
        if kind == RequestKind.MODIFY:
            return self._draw(self._modify)
        return self._draw(self._entry)

    def response(self, ts_ns: int, kind: int = RequestKind.NEW) -> int:
        """One draw of the response latency, ns (``>= 0``)."""
        return self._draw(self._response)


def fit_lognormal(latencies_ns: npt.ArrayLike) -> tuple[int, int]:
    """Median and 99th percentile of the lognormal that fits recorded latencies (for ``lognormal``).

    Parameters
    ----------
    latencies_ns : array_like of int or float, shape (n,)
        Observed latencies, ns, all ``> 0`` (e.g. ``exch_ts − req_ts`` of a recorded latency
        file, rows with ``exch_ts > 0``), ``n >= 2``.

    Returns
    -------
    (median_ns, p99_ns) : tuple of int
        ``exp(μ)`` and ``exp(μ + z₀.₉₉ σ)`` with ``μ``, ``σ`` the mean and standard deviation
        (``ddof=1``) of ``ln x``: the maximum-likelihood lognormal (σ unbiased), rounded to ns.

    Raises
    ------
    ValueError
        On fewer than two values or a value ``<= 0``.
    """
    x = np.asarray(latencies_ns, dtype=np.float64)
    if x.size < 2 or not np.all(x > 0):
        raise ValueError("fit_lognormal needs at least two latencies, all > 0")
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
    return int(round(math.exp(mu))), int(round(math.exp(mu + Z_99 * sigma)))
