"""The signal component: a trained model's predictions, available to strategies at decision times.

Predictions are computed offline (purged out-of-sample, :mod:`signals.train`) at bar closes and
handed to the simulation as a time series. A prediction made at a bar's close becomes visible
``latency_ns`` later and stays the latest until the next one, so a strategy deciding at ``t``
never sees a prediction made after ``t`` (no look-ahead).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class SignalFeed:
    """Latest model prediction at any simulated time.

    Parameters
    ----------
    ts_ns : ndarray of int64, shape (n,)
        When each prediction was made (bar close), ns; non-decreasing.
    value : ndarray of float64, shape (n,)
        The signal, in [−1, 1]: expected direction (e.g. ``2·P(up) − 1``). NaN = no opinion.
    confidence : ndarray of float64, shape (n,), optional
        Confidence in [0, 1] (1 when omitted).
    latency_ns : int, default 0
        Delay before a prediction can be used, ns.

    Raises
    ------
    ValueError
        If the arrays differ in length or ``ts_ns`` decreases.
    """

    def __init__(
        self,
        ts_ns: npt.ArrayLike,
        value: npt.ArrayLike,
        confidence: npt.ArrayLike | None = None,
        latency_ns: int = 0,
    ) -> None:
        ts = np.asarray(ts_ns, dtype=np.int64) + int(latency_ns)
        value = np.asarray(value, dtype=np.float64)
        conf = np.ones_like(value) if confidence is None else np.asarray(confidence, dtype=np.float64)
        if not (ts.shape == value.shape == conf.shape):
            raise ValueError(f"ts_ns, value and confidence differ in length ({ts.size}, {value.size}, {conf.size})")
        if ts.size > 1 and np.any(ts[1:] < ts[:-1]):
            raise ValueError("signal timestamps must be non-decreasing")
        self.ts_ns, self.value, self.confidence = ts, value, conf
        self.n_reads = 0

    def latest(self, now_ns: int) -> tuple[float, float]:
        """``(value, confidence)`` of the last prediction visible at ``now_ns``; ``(nan, nan)`` before any."""
        self.n_reads += 1
        i = int(np.searchsorted(self.ts_ns, now_ns, side="right")) - 1
        if i < 0:
            return float("nan"), float("nan")
        return float(self.value[i]), float(self.confidence[i])
