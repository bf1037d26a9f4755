"""Memory on long data (issue 13, item 5): parse speed, cache size and the peak RSS of replays.

Input: synthetic busy days from ``bench/make_busy_day.py --days N`` (``SRC/day_00/``,
``SRC/day_01/``, … of hourly hftbacktest ``.npz`` files). For each ``--days`` value N the first N
days are one feed (one ``[data]`` of N × 24 files). Every measurement runs in a fresh
subprocess, so its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own:

* ``parse``: ``load_feed(..., cache_dir, mmap=True)`` on an empty cache: the streamed parse
  (:mod:`venues.loaders.stream`) writes ``events.npy``. Reports rows, seconds, rows/s
  (source rows read per second, wall time including hashing the sources for the cache key),
  cache bytes per event and peak RSS.
* ``replay``: ``load_feed`` (a cache hit, events memory-mapped) and one GLFT
  :func:`experiments.trial.run_trial` over the whole feed, in two processes one after the
  other: the first also writes the exchange-clock copy beside the cache
  (:mod:`venues.loaders.exchange_clock`), the second reuses it. Reports events, wall seconds,
  the RSS right after loading, the peak RSS of the replay itself (``peak_rss_replay_mb``: the
  peak when the replay is over and ``trial_result`` starts computing metrics), and the peak of
  the whole trial (``peak_rss_mb``: with the metrics step, which builds the 100 ms equity
  curve of the whole span). ``--compiled`` runs the batch kernel instead of the per-trial
  path.

Command (the figures of the report)::

    python bench/make_busy_day.py --out /tmp/month --rows 5e6 --days 30
    python bench/bench_memory.py --src /tmp/month --days 1 3 10 30 --cache /tmp/mm_cache \\
        --interval-ms 1000 --out bench_memory.json

``--in-memory N`` also times the in-memory parse (:func:`venues.loaders.parse_feed`, the path
before streaming) of the first N days, with its peak RSS per event.

Output: one JSON object (also written to ``--out``): ``{"parse": {N: {...}}, "replay": {N:
{"first": {...}, "second": {...}}}, "parse_in_memory": {...}, "machine": ...}``. The cache
directory is wiped first unless ``--keep-cache``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _files(src: Path, days: int) -> list[str]:
    dirs = sorted(p for p in src.iterdir() if p.is_dir() and p.name.startswith("day_"))
    if not dirs:  # a single day written without --days
        dirs = [src]
    if len(dirs) < days:
        raise SystemExit(f"{src}: {len(dirs)} day folder(s), {days} asked (make_busy_day.py --days {days})")
    return [str(f) for d in dirs[:days] for f in sorted(d.glob("busy_day_*.npz"))]


def _child_parse(cache: str, files: list[str]) -> dict:
    import numpy as np

    from venues.loaders import DataConfig, load_feed

    cfg = DataConfig(format="hftbacktest_npz", paths=tuple(files))
    src_rows = 0
    for f in files:  # rows announced by the .npy headers inside the archives (no data read)
        import zipfile

        with zipfile.ZipFile(f) as z, z.open("data.npy") as m:
            np.lib.format.read_magic(m)
            src_rows += int(np.lib.format.read_array_header_1_0(m)[0][0])
    t = time.perf_counter()
    feed = load_feed(cfg, cache_dir=cache, mmap=True)
    wall = time.perf_counter() - t
    entry = next(p for p in Path(cache).iterdir() if p.is_dir() and not p.name.startswith("."))
    size = (entry / "events.npy").stat().st_size
    return {"source_rows": src_rows, "events": int(feed.events.size), "seconds": round(wall, 2),
            "rows_per_s": round(src_rows / wall), "cache_bytes_per_event": round(size / feed.events.size, 2),
            "peak_rss_mb": round(_peak_mb(), 1)}


def _child_parse_in_memory(files: list[str]) -> dict:
    from venues.loaders import DataConfig, parse_feed

    base = _peak_mb()
    t = time.perf_counter()
    feed = parse_feed(DataConfig(format="hftbacktest_npz", paths=tuple(files)))
    wall = time.perf_counter() - t
    n = int(feed.events.size)
    return {"events": n, "seconds": round(wall, 2), "rows_per_s": round(n / wall),
            "peak_rss_mb": round(_peak_mb(), 1), "peak_rss_bytes_per_event": round((_peak_mb() - base) * 2**20 / n, 1)}


def _child_replay(cache: str, files: list[str], interval_ms: float, compiled: bool) -> dict:
    import experiments.trial as T
    from strategies.glft import GLFTConfig, GLFTQuoter
    from venues.loaders import DataConfig, load_feed
    from venues.orderbook.config import VenueConfig

    cfg = DataConfig(format="hftbacktest_npz", paths=tuple(files))
    feed = load_feed(cfg, cache_dir=cache, mmap=True)
    out = {"events": int(feed.events.size), "rss_after_load_mb": round(_rss_mb(), 1)}
    inner = T.trial_result

    def trial_result(*args, **kw):  # the replay is over: its peak, before the metrics step
        out["peak_rss_replay_mb"] = round(_peak_mb(), 1)
        out["rss_end_of_replay_mb"] = round(_rss_mb(), 1)
        return inner(*args, **kw)

    T.trial_result = trial_result
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, entry_latency_ms=1.0,
                        response_latency_ms=1.0)
    strat = GLFTConfig(order_qty=0.01, max_position=0.1, interval_ms=interval_ms, window_s=600.0,
                       warmup_s=600.0, gamma=0.05)
    t = time.perf_counter()
    res = T.run_trial(feed, venue, strat, GLFTQuoter, seed=1, compiled=compiled)
    out.update(seconds=round(time.perf_counter() - t, 2), fills=int(res.fills.size),
               peak_rss_mb=round(_peak_mb(), 1))
    return out


def _run_child(args: list[str]) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                       cwd=REPO, check=False)
    if r.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, help="folder written by make_busy_day.py --days N")
    ap.add_argument("--days", type=int, nargs="+", default=[1], help="feed lengths in days (default 1)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mmsim_bench_memory_cache"))
    ap.add_argument("--keep-cache", action="store_true", help="do not wipe --cache first")
    ap.add_argument("--interval-ms", type=float, default=1000.0, help="GLFT decision interval (default 1000)")
    ap.add_argument("--compiled", action="store_true", help="replay through the compiled batch path")
    ap.add_argument("--skip", choices=("parse", "replay"), action="append", default=[])
    ap.add_argument("--in-memory", type=int, default=0, metavar="N",
                    help="also time the in-memory parse (parse_feed, no cache) of the first N days, "
                         "the path before streaming (0: skip)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind, cache, *rest = a.child
        if kind == "parse":
            print(json.dumps(_child_parse(cache, rest)))
        elif kind == "parse_in_memory":
            print(json.dumps(_child_parse_in_memory(rest)))  # cache argument unused ("-")
        else:
            interval, compiled, *files = rest
            print(json.dumps(_child_replay(cache, files, float(interval), compiled == "1")))
        return 0
    if a.src is None:
        ap.error("--src is required")
    if not a.keep_cache and a.cache.exists():
        shutil.rmtree(a.cache)
    report: dict = {"command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "platform": platform.platform()},
                    "parse": {}, "replay": {}}
    if a.in_memory:
        report["parse_in_memory"] = {a.in_memory: _run_child(["parse_in_memory", "-", *_files(a.src, a.in_memory)])}
        print(json.dumps({"parse_in_memory": report["parse_in_memory"]}), file=sys.stderr)
    for n in a.days:
        files = _files(a.src, n)
        cache = str(a.cache / f"days_{n}")
        if "parse" not in a.skip:
            if Path(cache).exists():
                shutil.rmtree(cache)
            report["parse"][n] = _run_child(["parse", cache, *files])
            print(json.dumps({"parse": {n: report["parse"][n]}}), file=sys.stderr)
        if "replay" not in a.skip:
            rargs = ["replay", cache, str(a.interval_ms), "1" if a.compiled else "0", *files]
            report["replay"][n] = {"first": _run_child(rargs), "second": _run_child(rargs)}
            print(json.dumps({"replay": {n: report["replay"][n]}}), file=sys.stderr)
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
