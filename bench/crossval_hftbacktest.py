"""Fill-for-fill cross-validation of mmsim against hftbacktest 2.4.4 on recorded Binance data.

Both engines replay the same recorded market and run the same GLFT rule (γ = 0.05, 100 ms
decisions, 60 s calibration window, 10 s warm-up, refit every 10 steps, depths floored at 0.5
and capped at 50 ticks and 5% of mid; order 0.05 ETH / 0.002 BTC, at most 10 orders of
inventory), 10 ms entry / 10 ms response latency, maker 2 bp / taker 5 bp:

* hftbacktest: the GLFT loop of :mod:`bench_vs_hftbacktest` (``@njit`` over its public API,
  ``HashMapMarketDepthBacktest``, ``NoPartialFillExchange``) on files written by its own
  converter (``hftbacktest.data.utils.binancefutures.convert``);
* mmsim: :class:`strategies.glft.GLFTQuoter` through :func:`experiments.trial.run_trial`.

Modes (mmsim side; the hftbacktest side is the same in both):

``aligned``
    mmsim replays hftbacktest's converted ``.npz`` (its timestamps and pre-snapshot rows) with
    hftbacktest's modelling choices: matching on the exchange clock with the recorded feed
    latency (``timeline = "two"``), recorded rows before a request at the same nanosecond
    (``tie_order = "data_first"``), ``fill_rule = "no_partial_fill"``, no own market impact.
    ``each_choice_reverted`` repeats the mmsim run with one of those switched to mmsim's
    alternative: the match drops for each rule hftbacktest actually uses.
``default``
    mmsim as a user runs it: its own loader on the raw capture (drops the diffs older than the
    REST snapshot, keeps the recorded local clock) and ``[venue]`` defaults other than the
    shared settings above. ``differences`` lists each default that differs from hftbacktest's
    choice with the fill_match obtained when only that one is switched to hftbacktest's.

For each data set and each queue model (``risk_averse`` ↔ ``RiskAdverseQueueModel``,
``prob_power`` ↔ ``PowerProbQueueFunc(3)``, ``prob_log`` ↔ ``LogProbQueueFunc``) it prints
one JSON object ``{"runs": [...]}``; each run has ``dataset, mode, queue_model, mmsim_fills,
hbt_fills, fill_match, mmsim_pnl, hbt_pnl, pnl_rel_diff, max_abs_equity_diff,
mmsim_events_per_s, hbt_events_per_s`` and examples of unmatched fills.

``fill_match`` = fills matched one-to-one on (exchange timestamp ns, side, price in ticks,
qty in lots) / max(mmsim_fills, hbt_fills). A fill's timestamp is the exchange time of the
market row that filled it (hftbacktest: ``Order.exch_timestamp``; mmsim: the fill's venue
time on the exchange clock, or with ``timeline = "local"`` the exchange time of the row
replayed at that local time). ``max_abs_equity_diff``: the largest difference, quote units,
between hftbacktest's equity (balance + position·mid − fees) at each decision step and mmsim's
equity curve as of the same local time. PnL: each engine's own mark-to-mid at the end.
``events_per_s``: rows replayed per second of wall time of one run (mmsim: ``n_events``;
hftbacktest: npz rows), after a warm-up run when ``--timing`` (default without ``--slice-s``).

Usage (from the repository root; hftbacktest comes with ``pip install -e '.[dev]'``)::

    python bench/crossval_hftbacktest.py --json                  # full run (just crossval)
    python bench/crossval_hftbacktest.py --json --dataset ethusdt_20240718-19 \\
        --queue risk_averse --slice-s 150                         # a short slice

The converted files are cached in ``--npz-dir`` (default ``$MMSIM_CACHE_DIR/hbt_npz`` or
``~/.cache/mmsim/hbt_npz``) and re-converted when missing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import attrs
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _bench_module():
    """Load bench/bench_vs_hftbacktest.py by path (bench/ is not a package)."""
    name = "bench_vs_hftbacktest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


B = _bench_module()
MODES = ("aligned", "default")

ALIGNED_OPTIONS = {
    "timeline": "two",
    "feed_latency_ms": None,
    "tie_order": "data_first",
    "fill_rule": "no_partial_fill",
    "own_impact": False,
    "queue_below_zero": "allow",
}
"""hftbacktest's modelling choices as mmsim ``[venue]`` keys (used where mmsim has the key)."""

WHY = {
    "input": "mmsim's binance_ws loader drops depth diffs older than the REST snapshot (Binance's "
    "local-book procedure) and keeps the recorded local clock, moving exchange times back by the "
    "recorder's clock skew (one offset for the whole feed); hftbacktest's converter keeps those diffs "
    "and moves local_ts forward instead, by a separate offset per file (1.2722 s BTCUSDT; 1.5222 / "
    "1.5236 s for the two ETHUSDT files). The 100 ms decision grid therefore starts at another market "
    "moment, every quote is decided on a slightly different book, and the fills drift apart",
    "timeline": "mmsim default two (exchange clock for matching) is hftbacktest's choice too",
    "tie_order": "mmsim default: a request reaching the venue at the same ns as recorded rows is "
    "matched before them (stamps are truncated); hftbacktest applies the rows first",
    "fill_rule": "mmsim default partial_fill: the print's excess over the queue fills us in lots "
    "and is used up; hftbacktest's NoPartialFillExchange fills the order whole",
    "queue_below_zero": "mmsim default clamp: a cancel never puts the queue estimate below 0; hftbacktest's "
    "ProbQueueModel lets it go negative and then evaluates f(front) there (prob_log: p > 1 moves the order "
    "back, front <= -1 puts it at the back of the level)",
    "feed_latency_ms": "feed latency source",
    "own_impact": "own market impact",
}


def default_npz_dir() -> Path:
    base = os.environ.get("MMSIM_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "mmsim") / "hbt_npz"


def ensure_converted(names: list[str], npz_dir: Path) -> None:
    """Convert the raw captures of ``names`` with hftbacktest's converter where missing."""
    missing = [n for n in names if not all(p.exists() for p in B.npz_paths(n, npz_dir))]
    if missing:
        with contextlib.redirect_stdout(sys.stderr):
            B.convert(npz_dir, missing)


def load_arrays(name: str, npz_dir: Path, slice_s: float | None) -> list[np.ndarray]:
    """hftbacktest event arrays of a data set, cut at ``slice_s`` seconds of local time."""
    arrays = [np.load(str(p))["data"] for p in B.npz_paths(name, npz_dir)]
    if slice_s is None:
        return arrays
    end = int(arrays[0]["local_ts"][0]) + int(slice_s * 1e9)
    return [a[a["local_ts"] < end] for a in arrays if a.size and a["local_ts"][0] < end]


# ----------------------------------------------------------------------------------------------
# mmsim side
# ----------------------------------------------------------------------------------------------
def venue_fields() -> set[str]:
    from venues.orderbook.config import VenueConfig

    return set(attrs.fields_dict(VenueConfig))


def mmsim_venue(tick: float, lot: float, queue: str, options: dict):
    """``VenueConfig`` with the shared settings plus ``options`` (keys mmsim does not have are
    skipped; :func:`run` reports them)."""
    from venues.orderbook.config import VenueConfig

    have = venue_fields()
    extra = {k: v for k, v in options.items() if k in have}
    return VenueConfig(profile="binance_usdm", tick_size=tick, lot_size=lot, maker_fee_bps=B.MAKER_FEE * 1e4,
                       taker_fee_bps=B.TAKER_FEE * 1e4, entry_latency_ms=B.LATENCY_NS / 1e6,
                       response_latency_ms=B.LATENCY_NS / 1e6, queue_model=queue, queue_power=B.QUEUE_POWER,
                       **extra)  # fmt: skip


def glft_config(qty: float):
    """The GLFT settings of the hftbacktest loop, as a :class:`GLFTConfig`."""
    from strategies.glft import GLFTConfig

    return GLFTConfig(gamma=B.GAMMA, order_qty=qty, max_position=B.MAX_POS_UNITS * qty,
                      interval_ms=B.INTERVAL_NS / 1e6, window_s=B.WINDOW_STEPS * B.INTERVAL_NS / 1e9,
                      warmup_s=B.WARMUP_STEPS * B.INTERVAL_NS / 1e9, recalibrate_every=B.RECAL_EVERY,
                      max_fit_depth_ticks=B.FIT_DEPTHS, min_half_spread_ticks=B.MIN_DEPTH_TICKS,
                      max_depth_ticks=B.MAX_DEPTH_TICKS, price_band=B.PRICE_BAND)  # fmt: skip


def run_mmsim(feed, venue, qty: float) -> dict:
    """One mmsim GLFT trial: fills, equity curve, pnl, events and wall time."""
    from experiments.trial import run_trial
    from strategies.glft import GLFTQuoter

    t0 = time.perf_counter()
    res = run_trial(feed, venue, glft_config(qty), GLFTQuoter, seed=0)
    wall = time.perf_counter() - t0
    return {"fills": res.fills, "equity": res.equity, "pnl": float(res.metrics["pnl"]),
            "events": int(res.metrics["n_events"]), "wall_s": wall}  # fmt: skip


def clock_offset_ns(feed) -> int:
    """Clock skew mmsim removes from recorded exchange times with ``timeline = "two"``: the
    largest negative ``ts_local − ts_exch`` (0 when none; 0 for hftbacktest's converted files,
    whose converter already shifted ``local_ts``)."""
    ev = feed.events
    has = ev["ts_exch_ns"] > 0
    if not has.any():
        return 0
    return max(0, -int((ev["ts_local_ns"][has] - ev["ts_exch_ns"][has]).min()))


def mmsim_fill_keys(run: dict, feed, tick: float, lot: float, exchange_clock: bool) -> list[tuple]:
    """(exchange ns, side, price ticks, qty lots) of every mmsim fill: on the exchange clock
    the venue time plus :func:`clock_offset_ns`; on the local clock the exchange time of the
    row replayed at the fill's local time."""
    f = run["fills"]
    ts = f["ts_ns"].astype(np.int64)
    if exchange_clock:
        ts = ts + clock_offset_ns(feed)
    elif ts.size:
        ev = feed.events
        i = np.searchsorted(ev["ts_local_ns"], ts, side="left")
        i = np.minimum(i, ev.size - 1)
        ts = np.where(ev["ts_local_ns"][i] == ts, ev["ts_exch_ns"][i], ts)
    px = np.rint(f["px"] / tick).astype(np.int64)
    qty = np.rint(f["qty"] / lot).astype(np.int64)
    return list(zip(ts.tolist(), f["side"].astype(int).tolist(), px.tolist(), qty.tolist(), strict=True))


def hbt_fill_keys(run: dict, lot: float) -> list[tuple]:
    """(exchange ns, side, price ticks, qty lots) of every hftbacktest fill."""
    f = run["fills"]
    return [(int(t), int(r[1]), int(round(r[2])), int(round(r[3] / lot)))
            for t, r in zip(run["fill_ts"], f, strict=True)]  # fmt: skip


def match(a: list[tuple], b: list[tuple]) -> tuple[int, list, list]:
    """Number of one-to-one matches of two fill lists, and the unmatched of each (in order)."""
    common = Counter(a) & Counter(b)
    n = sum(common.values())
    left_a, left_b = Counter(common), Counter(common)
    only_a, only_b = [], []
    for k in a:
        if left_a[k] > 0:
            left_a[k] -= 1
        else:
            only_a.append(k)
    for k in b:
        if left_b[k] > 0:
            left_b[k] -= 1
        else:
            only_b.append(k)
    return n, only_a, only_b


def equity_diff(hbt_ts: np.ndarray, hbt_eq: np.ndarray, mm_eq: np.ndarray, fill_ts: np.ndarray) -> float:
    """Max |hbt − mmsim| equity over hftbacktest's steps (mmsim's curve as of each step).

    Steps within one round trip (entry + response latency) after a fill of either engine
    (``fill_ts``, exchange ns) are left out: mmsim books a fill at its exchange time,
    hftbacktest's local state learns it one response latency later, so in between the two
    equities differ by the fill's fee and spread although both engines agree.
    """
    if hbt_eq.size == 0 or mm_eq.size == 0:
        return math.nan
    t = hbt_ts.astype(np.int64)
    j = np.searchsorted(mm_eq["ts_ns"], t, side="right") - 1
    ok = j >= 0
    if fill_ts.size:
        f = np.sort(fill_ts.astype(np.int64))
        k = np.searchsorted(f, t, side="right") - 1  # last fill at or before t
        recent = (k >= 0) & (t - f[np.maximum(k, 0)] < 2 * B.LATENCY_NS)
        ok &= ~recent
    if not ok.any():
        return math.nan
    return float(np.max(np.abs(hbt_eq[ok, 1] - mm_eq["equity"][j[ok]])))


def _fmt_fill(k: tuple, tick: float, lot: float) -> dict:
    return {"exch_ts_ns": k[0], "side": "buy" if k[1] > 0 else "sell", "px": round(k[2] * tick, 10),
            "qty": round(k[3] * lot, 10)}  # fmt: skip


# ----------------------------------------------------------------------------------------------
# one data set × queue model
# ----------------------------------------------------------------------------------------------
def load_mmsim_feeds(name: str, arrays: list[np.ndarray], tmp: Path, slice_s: float | None, modes):
    """mmsim feeds: the converted npz (aligned) and the raw capture (default, cut likewise)."""
    from venues.loaders import DataConfig, load_feed

    feeds = {}
    if "aligned" in modes:
        paths = []
        for i, a in enumerate(arrays):
            p = tmp / f"{name}_{i}.npz"
            np.savez(p, data=a)
            paths.append(str(p))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feeds["aligned"] = load_feed(DataConfig(format="hftbacktest_npz", paths=tuple(paths)),
                                         cache_dir=str(tmp))  # fmt: skip
    if "default" in modes:
        raw = B.DATASETS[name][0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feed = load_feed(DataConfig(format="binance_ws", paths=tuple(map(str, raw))), cache_dir=str(tmp))
        if slice_s is not None:
            # same market span as the cut npz: its last exchange time
            end_exch = max(int(a["exch_ts"].max()) for a in arrays)
            keep = feed.events["ts_exch_ns"] <= end_exch
            feed = attrs.evolve(feed, events=feed.events[keep])
        feeds["default"] = feed
    return feeds


def run_one(name: str, queue: str, arrays, feeds: dict, modes, timing: bool) -> list[dict]:
    """Both engines on one data set with one queue model; one result row per mode."""
    _, tick, lot, qty = B.DATASETS[name]
    n_rows = sum(len(a) for a in arrays)
    if timing:
        B.run_hbt_glft(arrays, tick, lot, qty, queue)  # warm-up
    hbt = B.run_hbt_glft(arrays, tick, lot, qty, queue)
    hbt_keys = hbt_fill_keys(hbt, lot)
    hbt_pnl = float(hbt["stats"][6])
    have = venue_fields()
    rows = []
    for mode in modes:
        feed = feeds[mode]
        options = dict(ALIGNED_OPTIONS) if mode == "aligned" else {}
        venue = mmsim_venue(tick, lot, queue, options)
        if timing:
            run_mmsim(feed, venue, qty)  # warm-up
        mm = run_mmsim(feed, venue, qty)
        exch_clock = getattr(venue, "timeline", "local") == "two"
        mm_keys = mmsim_fill_keys(mm, feed, tick, lot, exch_clock)
        n, only_mm, only_hbt = match(mm_keys, hbt_keys)
        denom = max(len(mm_keys), len(hbt_keys))
        row = {
            "dataset": name,
            "mode": mode,
            "queue_model": queue,
            "mmsim_fills": len(mm_keys),
            "hbt_fills": len(hbt_keys),
            "fill_match": round(n / denom, 4) if denom else 1.0,
            "mmsim_pnl": round(mm["pnl"], 6),
            "hbt_pnl": round(hbt_pnl, 6),
            "pnl_rel_diff": round(abs(mm["pnl"] - hbt_pnl) / abs(hbt_pnl), 6) if hbt_pnl else None,
            "max_abs_equity_diff": round(equity_diff(hbt["equity_ts"], hbt["equity"], mm["equity"],
                                                     np.array([k[0] for k in mm_keys + hbt_keys])), 6),
            "mmsim_events_per_s": round(mm["events"] / mm["wall_s"]),
            "hbt_events_per_s": round(n_rows / hbt["wall_s"]),
            "mmsim_events": mm["events"],
            "hbt_events": n_rows,
            "hbt_num_trades": int(hbt["stats"][4]),  # its own fill count: equals hbt_fills
            "hbt_unidentified_fits": int(hbt["stats"][12]),
            "only_mmsim": [_fmt_fill(k, tick, lot) for k in only_mm[:3]],
            "only_hbt": [_fmt_fill(k, tick, lot) for k in only_hbt[:3]],
        }
        if mode == "aligned":
            row["venue_options"] = {k: v for k, v in options.items() if k in have}
            row["options_missing_in_mmsim"] = sorted(k for k in options if k not in have)
            row["each_choice_reverted"] = sensitivity(feed, queue, hbt_keys, tick, lot, qty)
        else:
            row["differences"] = explain_default(name, queue, feeds, venue, hbt_keys, tick, lot, qty)
        rows.append(row)
    return rows


OTHER_CHOICE = {"timeline": "local", "tie_order": "orders_first", "fill_rule": "partial_fill",
                "queue_below_zero": "clamp"}  # fmt: skip
"""mmsim's alternative to each of hftbacktest's choices (for :func:`sensitivity`)."""


def sensitivity(feed, queue, hbt_keys, tick, lot, qty) -> list[dict]:
    """Aligned mode with one choice switched to mmsim's alternative at a time: which rules
    hftbacktest actually uses (the match drops when a choice it uses is reverted)."""
    out = []
    have = venue_fields()
    for key, other in OTHER_CHOICE.items():
        if key not in have or (key == "queue_below_zero" and queue == "risk_averse"):  # no effect there
            continue
        v = mmsim_venue(tick, lot, queue, {**ALIGNED_OPTIONS, key: other})
        mm = run_mmsim(feed, v, qty)
        keys = mmsim_fill_keys(mm, feed, tick, lot, getattr(v, "timeline", "local") == "two")
        n, _, _ = match(keys, hbt_keys)
        out.append({"option": key, "value": other, "mmsim_fills": len(keys), "mmsim_pnl": round(mm["pnl"], 6),
                    "fill_match": round(n / max(len(keys), len(hbt_keys), 1), 4)})  # fmt: skip
    return out


def explain_default(name, queue, feeds, venue, hbt_keys, tick, lot, qty) -> list[dict]:
    """Each default that differs from hftbacktest's choice, with the fill_match when only it is
    switched to hftbacktest's (the input: the converted npz instead of the raw capture)."""
    out = []
    base = {k: getattr(venue, k) for k in ALIGNED_OPTIONS if hasattr(venue, k)}
    for key, want in ALIGNED_OPTIONS.items():
        if key not in base or base[key] == want or (key == "queue_below_zero" and queue == "risk_averse"):
            continue
        v = mmsim_venue(tick, lot, queue, {key: want})
        mm = run_mmsim(feeds["default"], v, qty)
        keys = mmsim_fill_keys(mm, feeds["default"], tick, lot, getattr(v, "timeline", "local") == "two")
        n, _, _ = match(keys, hbt_keys)
        out.append({"difference": key, "mmsim": base[key], "hftbacktest": want, "why": WHY.get(key, ""),
                    "fill_match_with_only_this_aligned": round(n / max(len(keys), len(hbt_keys), 1), 4)})  # fmt: skip
    if "aligned" in feeds:
        mm = run_mmsim(feeds["aligned"], venue, qty)
        keys = mmsim_fill_keys(mm, feeds["aligned"], tick, lot, getattr(venue, "timeline", "local") == "two")
        n, _, _ = match(keys, hbt_keys)
        fm = round(n / max(len(keys), len(hbt_keys), 1), 4)
        out.insert(0, {"difference": "input", "mmsim": "raw capture, binance_ws loader",
                       "hftbacktest": "its converted npz", "why": WHY["input"],
                       "fill_match_with_only_this_aligned": fm})  # fmt: skip
    return out


def run(names: list[str], queues: list[str], modes: list[str], npz_dir: Path, slice_s: float | None,
        timing: bool) -> dict:  # fmt: skip
    """The whole cross-validation; returns ``{"runs": [...], ...}``."""
    ensure_converted(names, npz_dir)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            arrays = load_arrays(name, npz_dir, slice_s)
            feed_modes = set(modes) | ({"aligned"} if "default" in modes else set())
            feeds = load_mmsim_feeds(name, arrays, Path(tmp), slice_s, feed_modes)
            for queue in queues:
                runs.extend(run_one(name, queue, arrays, feeds, modes, timing))
    import hftbacktest

    return {
        "runs": runs,
        "hftbacktest": hftbacktest.__version__,
        "slice_s": slice_s,
        "target": "aligned: fill_match >= 0.99 and pnl_rel_diff <= 0.01",
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print JSON (``--json``) or a table; exit 1 when an aligned run
    misses the target with ``--check``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--markdown", action="store_true", help="print the table of docs/fills.md")
    ap.add_argument("--dataset", choices=list(B.DATASETS), action="append", help="default: all")
    ap.add_argument("--queue", choices=B.QUEUE_MODELS, action="append", help="default: all three")
    ap.add_argument("--mode", choices=MODES, action="append", help="default: both")
    ap.add_argument("--slice-s", type=float, help="replay only the first N seconds (local time)")
    ap.add_argument("--timing", action=argparse.BooleanOptionalAction, default=None,
                    help="warm-up runs before the measured ones (default: on for full runs)")  # fmt: skip
    ap.add_argument("--npz-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--check", action="store_true", help="exit 1 if an aligned run misses the target")
    args = ap.parse_args(argv)
    timing = args.timing if args.timing is not None else args.slice_s is None
    report = run(args.dataset or list(B.DATASETS), args.queue or list(B.QUEUE_MODELS), args.mode or list(MODES),
                 args.npz_dir or default_npz_dir(), args.slice_s, timing)  # fmt: skip
    text = json.dumps(report, indent=2)
    if args.json:
        print(text)
    elif args.markdown:
        print(markdown_table(report) + "\n\n" + sensitivity_table(report))
    else:
        cols = ("dataset", "mode", "queue_model", "mmsim_fills", "hbt_fills", "fill_match", "mmsim_pnl", "hbt_pnl",
                "max_abs_equity_diff", "mmsim_events_per_s", "hbt_events_per_s")  # fmt: skip
        print(" | ".join(cols))
        for r in report["runs"]:
            print(" | ".join(str(r[c]) for c in cols))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    bad = [r for r in report["runs"] if r["mode"] == "aligned" and not on_target(r)]
    return 1 if (args.check and bad) else 0


def markdown_table(report: dict) -> str:
    """The cross-validation table of ``docs/fills.md`` (one line per run)."""
    out = ["| data set | queue model | mode | fills mmsim / hbt | fill_match | PnL mmsim / hbt (USDT) "
           "| max equity diff | events/s mmsim / hbt |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in report["runs"]:
        out.append(f"| {r['dataset']} | {r['queue_model']} | {r['mode']} | {r['mmsim_fills']} / {r['hbt_fills']} "
                   f"| {r['fill_match']:.4f} | {r['mmsim_pnl']:.4f} / {r['hbt_pnl']:.4f} "
                   f"| {r['max_abs_equity_diff']:.4f} | {r['mmsim_events_per_s'] / 1e6:.2f} M / "
                   f"{r['hbt_events_per_s'] / 1e6:.2f} M |")  # fmt: skip
    return "\n".join(out)


def sensitivity_table(report: dict) -> str:
    """fill_match of the aligned runs with one choice reverted (``docs/fills.md``)."""
    keys = list(OTHER_CHOICE)
    out = ["| data set | queue model | " + " | ".join(f"`{k} = \"{OTHER_CHOICE[k]}\"`" for k in keys) + " |",
           "|---|---|" + "---|" * len(keys)]  # fmt: skip
    for r in report["runs"]:
        if r["mode"] != "aligned":
            continue
        got = {x["option"]: x for x in r.get("each_choice_reverted", [])}
        cells = [f"{got[k]['fill_match']:.4f} ({got[k]['mmsim_fills']} fills)" if k in got else "n/a" for k in keys]
        out.append(f"| {r['dataset']} | {r['queue_model']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def on_target(row: dict) -> bool:
    """Aligned-mode target: fill_match >= 0.99 and PnL within 1%."""
    rel = row["pnl_rel_diff"]
    return row["fill_match"] >= 0.99 and (rel is None or rel <= 0.01)


if __name__ == "__main__":
    sys.exit(main())
