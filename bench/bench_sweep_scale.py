"""Scale benchmark: an N-trial GLFT sweep of a synthetic busy day vs hftbacktest trial by trial.

Input: a day written by ``bench/make_busy_day.py`` (hftbacktest ``.npz`` files, tick 0.01, lot
0.001, fitted to the bundled ETHUSDT capture). Steps, all on that one input:

1. **mmsim sweep** — ``mmsim sweep`` of a generated TOML: ``N`` GLFT trials (γ log-spaced over
   ``1e-3 .. 1`` × order size 0.05 / 0.1 ETH, ``max_position`` 10 orders, 100 ms decisions,
   ``queue_model = "risk_averse"``, binance_usdm fees, 10 ms latencies) with ``--workers W``:
   wall time, trials/s and the peak RSS of the process tree (bench/bench_sweep.py's
   ``measure_sweep``). Trials share one replay per batch (the batch path,
   :mod:`venues.orderbook.batch`).
2. **one mmsim trial** — :func:`experiments.trial.run_trial` (the compiled path) on the cached,
   memory-mapped feed after one warm-up trial (page cache, exchange-clock file): wall time and events/s.
3. **one hftbacktest trial** — hftbacktest 2.4.4's GLFT loop of bench/bench_vs_hftbacktest.py
   on the same npz files (warm-up on the first file, then one timed run): wall time and
   events/s. ``hbt_sweep_equiv_s = hbt_trial_s × N / cores`` is what running the sweep
   trial by trial on hftbacktest would take on this machine.

Prints one JSON object with ``sweep`` (step 1), ``mmsim_trial`` and ``hbt_trial`` (steps 2–3),
``single_trial_events_per_s_ratio`` (mmsim / hftbacktest, > 1: mmsim faster) and
``sweep_speedup_vs_hbt`` (``hbt_sweep_equiv_s / sweep wall_s``).

Usage (from the repository root; hftbacktest comes with ``pip install -e '.[dev]'``)::

    python bench/make_busy_day.py --out /tmp/busy --rows 1e8      # the 100 M-row day
    python bench/bench_sweep_scale.py --data /tmp/busy --trials 1000 --workers 2
    python bench/bench_sweep_scale.py --data /tmp/busy --trials 1000 --no-hbt   # skip step 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TICK, LOT = 0.01, 0.001


def _bench(name: str):
    """Load bench/<name>.py by path (bench/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def day_files(data: Path) -> list[Path]:
    """The day's ``.npz`` files in replay order."""
    files = sorted(data.glob("*.npz"))
    if not files:
        raise SystemExit(f"{data}: no .npz files (write a day with bench/make_busy_day.py)")
    return files


def sweep_toml(tmp: Path, files: list[Path], n: int) -> Path:
    """A GLFT grid of ``n`` trials on ``files`` (γ × two order sizes)."""
    gammas = ", ".join(f"{g:.6g}" for g in np.geomspace(1e-3, 1.0, max(1, n // 2)))
    paths = ", ".join(f'"{p.as_posix()}"' for p in files)
    path = tmp / f"scale{n}.toml"
    path.write_text(f"""
[sweep]
name = "scale{n}"
seed = 1

[data]
format = "hftbacktest_npz"
paths = [{paths}]
symbol = "ETHUSDT"

[venue]
profile = "binance_usdm"
tick_size = {TICK}
lot_size = {LOT}
queue_model = "risk_averse"

[strategy]
kind = "glft"
gamma = [{gammas}]
order_qty = [0.05, 0.1]
max_position = 0.5
""")
    return path


def mmsim_trial(files: list[Path]) -> dict:
    """One compiled GLFT trial (run_trial) on the whole day: wall, events/s."""
    from experiments.executor import cache_dir
    from experiments.trial import run_trial
    from strategies.glft import GLFTConfig, GLFTQuoter
    from venues.loaders import DataConfig, load_feed
    from venues.orderbook.config import VenueConfig

    t0 = time.perf_counter()  # as a sweep worker loads it: the cached events, memory-mapped
    feed = load_feed(DataConfig(format="hftbacktest_npz", paths=tuple(map(str, files)), symbol="ETHUSDT"),
                     cache_dir=cache_dir(), mmap=True)  # fmt: skip
    load_s = time.perf_counter() - t0
    venue = VenueConfig(profile="binance_usdm", tick_size=TICK, lot_size=LOT)
    strategy = GLFTConfig(order_qty=0.05, max_position=0.5)
    run_trial(feed, venue, strategy, GLFTQuoter, seed=0)  # warm-up: compiled code, page cache, exchange clock
    t0 = time.perf_counter()
    res = run_trial(feed, venue, strategy, GLFTQuoter, seed=0)
    wall = time.perf_counter() - t0
    n = int(res.metrics["n_events"])
    return {"load_s": round(load_s, 2), "wall_s": round(wall, 3), "events": n,
            "events_per_s": round(n / wall), "fills": int(res.metrics["n_fills"])}


def hbt_trial(files: list[Path]) -> dict:
    """One hftbacktest GLFT trial on the same files: wall, events/s."""
    B = _bench("bench_vs_hftbacktest")
    arrays = [np.load(str(p))["data"] for p in files]
    B.run_hbt_glft(arrays[:1], TICK, LOT, 0.05, "risk_averse")  # warm-up (JIT)
    run = B.run_hbt_glft(arrays, TICK, LOT, 0.05, "risk_averse")
    n = sum(len(a) for a in arrays)
    return {"wall_s": round(run["wall_s"], 3), "events": n, "events_per_s": round(n / run["wall_s"]),
            "fills": int(len(run["fill_ts"]))}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of a make_busy_day.py day")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-hbt", action="store_true", help="skip the hftbacktest trial")
    ap.add_argument("--no-single", action="store_true", help="skip the single mmsim trial")
    args = ap.parse_args(argv)
    files = day_files(args.data)
    out: dict = {"benchmark": "sweep_scale", "data": str(args.data), "files": len(files), "trials": args.trials,
                 "workers": args.workers, "cpu_count": os.cpu_count()}
    if not args.no_single:
        out["mmsim_trial"] = mmsim_trial(files)
    if not args.no_hbt:
        out["hbt_trial"] = hbt_trial(files)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = sweep_toml(Path(tmp), files, args.trials)
        out["sweep"] = _bench("bench_sweep").measure_sweep(str(cfg), workers=args.workers,
                                                           label=f"{args.trials}-trial GLFT grid")
    cores = os.cpu_count() or 1
    if "hbt_trial" in out:
        equiv = out["hbt_trial"]["wall_s"] * args.trials / cores
        out["hbt_sweep_equiv_s"] = round(equiv, 1)
        out["sweep_speedup_vs_hbt"] = round(equiv / out["sweep"]["wall_s"], 2)
        if "mmsim_trial" in out:
            out["single_trial_events_per_s_ratio"] = round(
                out["mmsim_trial"]["events_per_s"] / out["hbt_trial"]["events_per_s"], 3)
    print(json.dumps(out, indent=2))
    return int(out["sweep"]["returncode"])


if __name__ == "__main__":
    sys.exit(main())
