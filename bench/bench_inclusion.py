"""Benchmark: time per call of :func:`venues.inclusion.optimal_bribe` (target < 50 µs).

Calls ``optimal_bribe`` on a fixed, seeded set of ``(V, a, b)`` inputs covering interior optima,
corner solutions (bribe 0), ``bV < 4`` and huge ``a + bV`` (log-space Lambert W), for each
payment rule. Each repeat times ``--calls`` calls with ``time.perf_counter_ns``; the figure is
the median over ``--repeats`` repeats of (repeat time / calls). Also times
``inclusion_probability`` and ``draw_included``. Printed as JSON:

``optimal_bribe_if_included_us``, ``optimal_bribe_always_us``, ``inclusion_probability_us``,
``draw_included_us`` (median µs per call), ``target_us`` (50), ``calls``, ``repeats``.

Usage: ``python bench/bench_inclusion.py [--calls 20000] [--repeats 15]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from venues.inclusion import draw_included, inclusion_probability, optimal_bribe


def _inputs(n: int) -> list[tuple[float, float, float]]:
    rng = np.random.default_rng(12345)
    V = 10.0 ** rng.uniform(-2, 4, n)
    a = rng.uniform(-20, 20, n)
    b = 10.0 ** rng.uniform(-3, 3, n)
    return list(zip(V.tolist(), a.tolist(), b.tolist(), strict=True))


def _median_us(fn, args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(args)
        times.append((time.perf_counter_ns() - t0) / len(args) / 1e3)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    xs = _inputs(args.calls)
    rng = np.random.default_rng(7)

    def run_if(xs):
        for v, a, b in xs:
            optimal_bribe(v, a, b, "if_included")

    def run_always(xs):
        for v, a, b in xs:
            optimal_bribe(v, a, b, "always")

    def run_p(xs):
        for v, a, b in xs:
            inclusion_probability(v, a, b)

    def run_draw(xs):
        for v, a, b in xs:
            draw_included(rng, v, a, b)

    out = {
        "optimal_bribe_if_included_us": round(_median_us(run_if, xs, args.repeats), 3),
        "optimal_bribe_always_us": round(_median_us(run_always, xs, args.repeats), 3),
        "inclusion_probability_us": round(_median_us(run_p, xs, args.repeats), 3),
        "draw_included_us": round(_median_us(run_draw, xs, args.repeats), 3),
        "target_us": 50.0,
        "calls": args.calls,
        "repeats": args.repeats,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
