"""Benchmark: scheduling overhead per trial of a sweep of trivial trials.

A user strategy that does nothing (``NoopStrategy``: it never quotes, so the venue replays a
tiny feed slice without stopping) runs ``--trials`` times through
:func:`experiments.executor.run_sweep` on the local backend, with the real store (DuckDB rows,
Parquet parts) and the plain reporter. Printed as JSON:

``overhead_ms_per_trial``
    ``(sweep wall − Σ trial walls / workers) / trials``: everything that is not running a trial
    (submission, pickling, result transfer, the DuckDB transaction and Parquet parts, the
    reporter), per trial. Worker start-up is excluded by measuring from the first result.
``sweep_wall_s``, ``sum_trial_wall_s``, ``trials``, ``workers``

Usage: ``python bench/bench_overhead.py [--trials 400] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PLUGIN = '''
from strategies.base import Strategy
from strategies.config import StrategyConfig
import attrs


@attrs.frozen(kw_only=True)
class NoopConfig(StrategyConfig):
    tag: int = 0


class NoopStrategy(Strategy):
    """Never quotes: a trivial trial."""

    config_class = NoopConfig
'''


def main() -> int:
    """Run the benchmark and print its JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    import numpy as np

    from experiments.config import load_sweep
    from experiments.executor import load_data, run_sweep
    from experiments.progress import PlainReporter

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "noop_plugin.py").write_text(PLUGIN)
        sample = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
        tags = ", ".join(str(i) for i in range(args.trials))
        (d / "noop.toml").write_text(f"""
[sweep]
name = "overhead"

[data]
format = "binance_ws"
paths = ["{sample.as_posix()}"]

[venue]
profile = "binance_usdm"

[strategy]
kind = "noop_plugin:NoopStrategy"
tag = [{tags}]
""")
        spec = load_sweep(d / "noop.toml")
        feed = load_data(spec)

        class Timing(PlainReporter):
            first: float | None = None
            walls: list[float] = []

            def trial_done(self, trial, outcome):  # noqa: D102
                if self.first is None:
                    self.first = time.perf_counter()
                self.walls.append(outcome.wall_s)
                super().trial_done(trial, outcome)

        rep = Timing(io.StringIO())
        t0 = time.perf_counter()
        res = run_sweep(spec, results=d / "o.duckdb", workers=args.workers, reporter=rep,
                        feed=feed)
        t1 = time.perf_counter()
        walls = np.array(rep.walls)
        # from the first result on (worker start-up excluded); that first trial not counted
        n = len(walls) - 1
        span = t1 - (rep.first or t0)
        overhead = (span - walls[1:].sum() / args.workers) / max(1, n)
        out = {
            "benchmark": "overhead",
            "trials": int(res.n_total),
            "done": res.n_done,
            "workers": args.workers,
            "sweep_wall_s": round(t1 - t0, 3),
            "measured_span_s": round(span, 3),
            "sum_trial_wall_s": round(float(walls.sum()), 3),
            "mean_trial_wall_ms": round(float(walls.mean()) * 1e3, 2),
            "overhead_ms_per_trial": round(overhead * 1e3, 2),
        }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
