"""Benchmark: wall time and peak memory of ``mmsim sweep`` (default: experiments/gamma.toml).

Runs the sweep as a subprocess into a temporary DuckDB file and prints one JSON object:

``wall_s``
    Wall time of the whole command (imports, feed load from cache or parse, workers, trials).
``peak_rss_tree_mb``
    Peak of the summed resident set size of the process tree (the CLI and its workers),
    sampled from ``/proc`` every 50 ms (Linux; ``null`` elsewhere). Compare with the 4 GB
    target of DESIGN.md.
``peak_rss_max_process_mb``
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: the largest single descendant's peak.
``cpu_s_tree``, ``cpu_s_parent``
    CPU seconds (user + system) of the whole tree (``getrusage(RUSAGE_CHILDREN)``) and of the
    CLI process alone (its ``/proc`` counters at the last sample): the parent's share is the
    cost of receiving and storing results, the rest the workers'.
``n_trials``, ``n_done``, ``n_failed``, ``trials_per_s``, ``workers``
    From the results file.
``data_parses``
    How many times any process of the sweep parsed the vendor files (feed-cache misses,
    counted through ``MMSIM_PARSE_LOG``): 1 with ``--cold`` (the parent; every worker maps the
    parent's cache), 0 with a warm cache.
``results_mb``
    Size of the DuckDB file after the sweep.

The feed cache is warmed first (``mmsim validate`` does not parse; one ``load_feed`` call
does), so the timing is of the sweep, not of the one-off parse; ``--cold`` uses a fresh,
empty cache directory instead.

``--trials N`` writes a temporary grid file on the bundled ETHUSDT pair instead of CONFIG:
``N / 2`` γ values (log-spaced from 1e-4 to 10) × the two queue models ``risk_averse`` and
``prob_power``, e.g. ``--trials 1000`` for the 1,000-trial target.

Usage: ``python bench/bench_sweep.py [CONFIG] [--workers N] [--cold] [--trials N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _tree_rss_bytes(root: int) -> int:
    """Summed VmRSS of ``root`` and its descendants (Linux /proc), bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as f:
                pages = int(f.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def _grid_file(tmp: Path, n: int) -> Path:
    """A grid of ``n`` trials (``n/2`` gammas x 2 queue models) on the bundled ETHUSDT pair."""
    import numpy as np

    data = REPO / "data" / "binance_usdm_ethusdt"
    gammas = ", ".join(f"{g:.6g}" for g in np.geomspace(1e-4, 10.0, max(1, n // 2)))
    path = tmp / f"grid{n}.toml"
    path.write_text(f"""
[sweep]
name = "bench{n}"
seed = 1

[data]
format = "binance_ws"
paths = ["{(data / 'ethusdt_20240718.gz').as_posix()}", "{(data / 'ethusdt_20240719.gz').as_posix()}"]

[venue]
profile = "binance_usdm"
queue_model = ["risk_averse", "prob_power"]

[strategy]
kind = "glft"
gamma = [{gammas}]
""")
    return path


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc/PID/stat``, fields 14-15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_sweep(config: str, *, workers: int | None = None, cold: bool = False, label: str | None = None) -> dict:
    """Run ``mmsim sweep CONFIG`` in a subprocess; wall time, peak RSS and counts as a dict.

    Parameters
    ----------
    config : str
        Sweep TOML.
    workers : int or None
        ``--workers`` (``None``: the file's).
    cold : bool
        Start from an empty feed cache instead of warming it first.
    label : str or None
        ``config`` field of the result (default: the path relative to the repository).
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MMSIM_PARSE_LOG=str(Path(tmp) / "parses.log"))
        if cold:
            env["MMSIM_CACHE_DIR"] = str(Path(tmp) / "feed-cache")
        else:
            if str(REPO) not in sys.path:
                sys.path.insert(0, str(REPO))
            from experiments.config import load_sweep
            from experiments.executor import load_data

            load_data(load_sweep(config))
        results = Path(tmp) / "bench.duckdb"
        cmd = [sys.executable, "-m", "experiments.cli", "sweep", config, "--plain",
               "--results", str(results)]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        peak, parent_cpu = [0], [0.0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=env)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], _tree_rss_bytes(proc.pid))
                    parent_cpu[0] = _cpu_s(proc.pid)
                except (OSError, ValueError, IndexError):
                    pass
                done.wait(0.05)

        sampler = None
        if Path("/proc").is_dir():
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        _, stderr = proc.communicate()
        wall = time.perf_counter() - t0
        done.set()
        if sampler is not None:
            sampler.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        tree_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        maxrss_kb = after.ru_maxrss
        if sys.platform == "darwin":
            maxrss_kb //= 1024
        counts = {}
        if results.exists():
            import duckdb

            con = duckdb.connect(str(results), read_only=True)
            n, ok, bad = con.execute(
                "SELECT count(*), count(*) FILTER (status = 'done'), "
                "count(*) FILTER (status = 'failed') FROM trials").fetchone()
            (n_workers,) = con.execute("SELECT workers FROM sweeps").fetchone()
            con.close()
            counts = {"n_trials": n, "n_done": ok, "n_failed": bad, "workers": n_workers,
                      "trials_per_s": round(n / wall, 3) if wall > 0 else None,
                      "results_mb": round(results.stat().st_size / 2**20, 1)}
        log = Path(env["MMSIM_PARSE_LOG"])
        counts["data_parses"] = len(log.read_text().splitlines()) if log.exists() else 0
    out = {
        "benchmark": "sweep",
        "config": label or os.path.relpath(config, REPO),
        "returncode": proc.returncode,
        "wall_s": round(wall, 3),
        "peak_rss_tree_mb": round(peak[0] / 2**20, 1) if sampler is not None else None,
        "peak_rss_max_process_mb": round(maxrss_kb / 1024, 1),
        "cpu_s_tree": round(tree_cpu, 1),
        "cpu_s_parent": round(parent_cpu[0], 1) if sampler is not None else None,
        **counts,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "cold_cache": cold,
    }
    if proc.returncode != 0:
        out["stderr_tail"] = stderr[-2000:]
    return out


def main() -> int:
    """Run the benchmark and print its JSON result.

    Returns
    -------
    int
        The sweep command's exit code.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=str(REPO / "experiments" / "gamma.toml"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--cold", action="store_true",
                    help="start from an empty feed cache (the sweep parses the data once)")
    ap.add_argument("--trials", type=int, default=None, metavar="N",
                    help="generate an N-trial grid (N/2 gammas x 2 queue models) instead of CONFIG")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = str(_grid_file(Path(tmp), args.trials)) if args.trials else args.config
        out = measure_sweep(config, workers=args.workers, cold=args.cold,
                            label=f"generated {args.trials}-trial grid" if args.trials else None)
    print(json.dumps(out, indent=2))
    return int(out["returncode"])


if __name__ == "__main__":
    sys.exit(main())
