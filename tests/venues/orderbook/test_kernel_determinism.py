"""Two runs of one venue input give bit-identical reports, with every kernel option on (issue 10)."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from components.orders import TimeInForce
from engine.testing import book_rows

T0 = 1_000_000_000
MS = 1_000_000


def _feed(seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = book_rows(T0, [((10_000 - k) / 100, float(rng.integers(1, 9))) for k in range(1, 40)],
                     [((10_000 + k) / 100, float(rng.integers(1, 9))) for k in range(1, 40)])  # fmt: skip
    for ms in range(1, 300):
        k = int(rng.integers(1, 8))
        side = int(rng.choice([1, -1]))
        if rng.random() < 0.5:
            rows.append((T0 + ms * MS, "depth", side, (10_000 - side * k) / 100, float(rng.integers(0, 9)) / 7))
        else:
            rows.append((T0 + ms * MS, "trade", side, (10_000 + side * k) / 100, float(rng.integers(1, 30)) / 11))
        if ms % 97 == 0:
            rows.append((T0 + ms * MS, "clear", 0, 0.0, 0.0))
            rows += book_rows(T0 + ms * MS, [((10_000 - k) / 100, 2.5) for k in range(1, 10)],
                              [((10_000 + k) / 100, 2.5) for k in range(1, 10)])[1:]  # fmt: skip
    rows.append((T0 + 500 * MS, "depth", 1, 99.0, 1.0))
    return rows


def _bits(report) -> tuple:
    """Every field of a report; floats as their exact hex form."""
    return tuple(v.hex() if isinstance(v, float) else v for v in attrs.astuple(report))


@pytest.mark.parametrize(
    "options",
    [
        {"queue_model": "prob_log"},
        {"queue_model": "prob_power", "fill_rule": "no_partial_fill", "own_impact": True},
    ],
)
def test_two_runs_are_bit_identical(venue_harness, options):
    """A 200-order ladder plus IOCs on a random feed with snapshots: same reports, same float bits."""
    runs = []
    for _ in range(2):
        h = venue_harness(_feed(7), **options)
        rng = np.random.default_rng(3)
        for coid in range(1, 201):
            side = 1 if coid % 2 else -1
            k = int(rng.integers(1, 30))
            h.submit(T0 + int(rng.integers(0, 250)) * MS, coid, side, (10_000 - side * k) / 100,
                     float(rng.integers(1, 40)) / 1000)  # fmt: skip
        for coid in range(201, 231):
            side = 1 if coid % 2 else -1
            h.submit(T0 + int(rng.integers(0, 250)) * MS, coid, side, (10_000 + side * 3) / 100, 1.5,
                     TimeInForce.IOC)  # fmt: skip
        h.run()
        runs.append([(t, type(e).__name__, repr(e), _bits(e)) for t, e in h.log])
    assert len(runs[0]) > 230
    assert runs[0] == runs[1]
