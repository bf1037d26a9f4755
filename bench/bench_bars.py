"""Benchmark: Numba bars (signals.bars) vs the pandas reference of tests/signals/test_bars.py.

Trade sets: the largest recorded one, Binance USD-M BTCUSDT 2024-08-08
(``../shared/data/binance_ws_depth_trades_hftbacktest/usdm/btcusdt_20240808.gz``, skipped if
absent), and the bundled ``data/binance_usdm_ethusdt/*`` pair. For each bar type: median of
``--repeat`` timed calls after one warm-up call (JIT compilation excluded). Prints JSON with
seconds and the pandas/numba ratio.

Run: ``python bench/bench_bars.py [--repeat 21]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from pathlib import Path

from signals import bars
from venues.loaders import DataConfig, load_feed

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "binance_ws_depth_trades_hftbacktest" / "usdm" / "btcusdt_20240808.gz"
BUNDLED = tuple(str(p) for p in sorted((ROOT / "data" / "binance_usdm_ethusdt").glob("*.gz")))
SIZES = {
    "btcusdt_20240808": {"tick": 50, "volume": 10.0, "dollar": 500_000.0, "imbalance": 50, "time": 5.0},
    "ethusdt_20240718_19": {"tick": 50, "volume": 25.0, "dollar": 50_000.0, "imbalance": 50, "time": 5.0},
}


def _reference_module():
    spec = importlib.util.spec_from_file_location("_bars_ref", ROOT / "tests" / "signals" / "test_bars.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _median(fn, repeat):
    fn()  # warm-up (JIT compile / pandas import paths)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    ref = _reference_module()
    sets = {}
    if SHARED.is_file():
        sets["btcusdt_20240808"] = (str(SHARED),)
    sets["ethusdt_20240718_19"] = BUNDLED
    result = {"repeat": args.repeat, "sets": {}}
    for name, paths in sets.items():
        trades = bars.trades_from_events(load_feed(DataConfig(format="binance_ws", paths=paths)).events)
        entry = {"n_trades": int(trades[0].size), "bars": {}}
        for kind, size in SIZES[name].items():
            t_nb = _median(lambda k=kind, s=size, t=trades: bars.make_bars(k, *t, s), args.repeat)
            t_pd = _median(lambda k=kind, s=size, t=trades: ref.reference(k, *t, s), max(3, args.repeat // 3))
            entry["bars"][kind] = {
                "n_bars": int(len(bars.make_bars(kind, *trades, size))),
                "numba_s": t_nb,
                "pandas_s": t_pd,
                "ratio": t_pd / t_nb,
            }
        result["sets"][name] = entry
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
