"""Side-by-side replay throughput: mmsim vs hftbacktest (Rust core) on the same raw capture.

Both engines replay the same Binance USD-M websocket capture (L2 ``depth@0ms`` diffs + trades)
with a GLFT quoter deciding every 100 ms, 10 ms entry / 10 ms response latency, a risk-averse
queue model, maker 2 bp / taker 5 bp. Each side: one warm-up trial (JIT compile, page faults),
then the median wall time of ``--repeats`` timed trials; ``events/s = rows replayed / wall``.

hftbacktest 2.4.4 comes with the ``dev`` extra (``pip install -e '.[dev]'``; it needs
``numpy<2.3``). The ``mmsim`` package never imports it: only this script,
``bench/crossval_hftbacktest.py`` (which reuses the GLFT loop, :func:`hbt_asset` and
:func:`run_hbt_glft` defined here) and their tests do.

Steps (run from the repository root)::

    # 1. convert the raw captures with hftbacktest's own converter
    #    (hftbacktest.data.utils.binancefutures.convert) -> /tmp/hbt_data/*.npz
    python bench/bench_vs_hftbacktest.py --convert [--npz-dir /tmp/hbt_data]

    # 2a. hftbacktest side (our own GLFT loop on its public API, @njit)
    python bench/bench_vs_hftbacktest.py --engine hftbacktest \\
        --data /tmp/hbt_data/btcusdt_20240808.npz [--tick 0.1 --lot 0.001 --qty 0.002]

    # 2b. mmsim side (bench/bench_replay.py's bench_one on the same raw capture)
    python bench/bench_vs_hftbacktest.py --engine mmsim [--dataset btcusdt_20240808]

    # 3. both, back to back in one session, with ratios (hftbacktest runs in a subprocess
    #    of --hbt-python, default this interpreter; mmsim in this process)
    python bench/bench_vs_hftbacktest.py --engine both [--rounds 2] [--out FILE]

Every mode prints one JSON object. Data sets (``--dataset``): ``btcusdt_20240808`` (the
shared capture, ``../shared/data/binance_ws_depth_trades_hftbacktest/usdm``; tick 0.1, lot
0.001, order 0.002 BTC) and ``ethusdt_20240718-19`` (the bundled day pair in ``data/``; tick
0.01, lot 0.001, order 0.05 ETH). hftbacktest's converter handles one file at a time; a day
pair is converted file by file and the npz files are fed to one ``BacktestAsset`` in order.

What is counted (the engines count rows differently, so both counts are reported):

* hftbacktest ``events`` = rows of the converted npz: one row per depth level per diff
  (including diffs received before the REST snapshot, which its converter keeps), one row per
  trade, the snapshot as 2 clear rows + one row per snapshot level. ``bookTicker`` is skipped.
* mmsim ``events`` = rows replayed by the venue (``n_events``): its loader drops diffs older
  than the snapshot (Binance's local-book procedure), so it replays fewer rows of the same
  market span. ``bookTicker`` is kept aside for checks, not replayed.

Because the counts differ, the fairer figure is wall time per second of market time
(``wall_per_market_s``); ``--engine both`` reports both ratios (> 1 means mmsim is faster).
Wall time covers, on each side, building the venue/backtest from data already in memory,
the replay and the strategy (mmsim: ``experiments.trial.run_trial``; hftbacktest: building
``BacktestAsset`` + ``HashMapMarketDepthBacktest`` from the loaded arrays, the @njit loop,
``close``). Loading/parsing files is excluded on both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "binance_ws_depth_trades_hftbacktest" / "usdm"
DEFAULT_NPZ_DIR = Path("/tmp/hbt_data")
DEFAULT_HBT_PYTHON = sys.executable

# name -> (raw capture paths in replay order, tick, lot, order qty)
DATASETS = {
    "btcusdt_20240808": ([SHARED / "btcusdt_20240808.gz"], 0.1, 0.001, 0.002),
    "ethusdt_20240718-19": (
        [
            ROOT / "data/binance_usdm_ethusdt/ethusdt_20240718.gz",
            ROOT / "data/binance_usdm_ethusdt/ethusdt_20240719.gz",
        ],
        0.01,
        0.001,
        0.05,
    ),
}
# bench_replay.DATASETS name of each data set (same paths, tick, lot, qty)
BENCH_REPLAY_NAME = {
    "btcusdt_20240808": "binance_usdm_btcusdt_20240808",
    "ethusdt_20240718-19": "bundled_binance_usdm_ethusdt_20240718-19",
}

# Common settings (mmsim defaults: GLFTConfig + VenueConfig(profile="binance_usdm"))
INTERVAL_NS = 100_000_000  # 100 ms decisions
LATENCY_NS = 10_000_000  # 10 ms entry, 10 ms response
MAKER_FEE, TAKER_FEE = 0.0002, 0.0005  # 2 bp / 5 bp
GAMMA = 0.05
WINDOW_STEPS = 600  # 60 s of 100 ms steps
WARMUP_STEPS = 100  # 10 s
RECAL_EVERY = 10  # refit every 10 steps (1 s)
FIT_DEPTHS = 50  # depths 0.5, 1.5, ..., 49.5 ticks
MIN_DEPTH_TICKS = 0.5
MAX_POS_UNITS = 10  # max position, in order sizes


def npz_paths(name: str, npz_dir: Path) -> list[Path]:
    """Converted npz files of a data set (one per raw file, same stem)."""
    return [npz_dir / (p.name.split(".")[0] + ".npz") for p in DATASETS[name][0]]


# ----------------------------------------------------------------------------------------------
# --convert (hbt venv)
# ----------------------------------------------------------------------------------------------
def convert(npz_dir: Path, names: list[str]) -> dict:
    """Convert raw captures with hftbacktest's own ``binancefutures.convert``."""
    from hftbacktest.data.utils import binancefutures

    npz_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        for raw, npz in zip(DATASETS[name][0], npz_paths(name, npz_dir), strict=True):
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):  # keep stdout pure JSON
                data = binancefutures.convert(
                    str(raw), output_filename=str(npz), combined_stream=True, buffer_size=50_000_000
                )
            out.append(
                {
                    "raw": str(raw),
                    "npz": str(npz),
                    "rows": len(data),
                    "convert_s": round(time.perf_counter() - t0, 3),
                }
            )
    return {"mode": "convert", "files": out}


# ----------------------------------------------------------------------------------------------
# hftbacktest side: the GLFT rule on hftbacktest's API (shared with bench/crossval_hftbacktest.py)
# ----------------------------------------------------------------------------------------------
QUEUE_MODELS = ("risk_averse", "prob_power", "prob_log")
"""mmsim's ``[venue] queue_model`` names; :func:`hbt_asset` maps each to hftbacktest's model."""
QUEUE_POWER = 3.0  # prob_power exponent n (mmsim queue_power default; hftbacktest PowerProbQueueFunc n)
MAX_DEPTH_TICKS = float(FIT_DEPTHS)  # GLFTConfig.max_depth_ticks default: max_fit_depth_ticks
PRICE_BAND = 0.05  # GLFTConfig.price_band default
HBT_FILLED = 3  # hftbacktest.order.FILLED


def hbt_asset(arrays, tick: float, lot: float, queue: str, *, partial_fill: bool = False):
    """A ``BacktestAsset`` over ``arrays`` with the common settings.

    Linear contract, constant 10 ms / 10 ms order latency, 2 / 5 bp fees on traded value,
    ``NoPartialFillExchange`` (``partial_fill=False``) or ``PartialFillExchange``, and the
    queue model named by mmsim's ``queue`` (``risk_averse`` → ``RiskAdverseQueueModel``,
    ``prob_power`` → ``PowerProbQueueFunc(3)``, ``prob_log`` → ``LogProbQueueFunc``).
    """
    from hftbacktest import BacktestAsset

    asset = (
        BacktestAsset()
        .data(arrays)
        .linear_asset(1.0)
        .constant_order_latency(LATENCY_NS, LATENCY_NS)
        .trading_value_fee_model(MAKER_FEE, TAKER_FEE)
        .tick_size(tick)
        .lot_size(lot)
        .last_trades_capacity(10_000)
    )
    asset = asset.partial_fill_exchange() if partial_fill else asset.no_partial_fill_exchange()
    if queue == "risk_averse":
        return asset.risk_adverse_queue_model()
    if queue == "prob_power":
        return asset.power_prob_queue_model(QUEUE_POWER)
    if queue == "prob_log":
        return asset.log_prob_queue_model()
    raise ValueError(f"unknown queue model {queue!r} (one of {QUEUE_MODELS})")


def _build_hbt_strategy():
    """Compile-on-first-call GLFT loop written against hftbacktest's public API.

    It computes the same quotes as :class:`strategies.glft.GLFTQuoter` with the settings above
    (``GLFTConfig`` defaults): the same arrival depths, σ, intensity fit (``NaN`` when not
    identified, then the last identified A, k are kept), formula, depth floor and cap, price
    band, rounding, touch rule and order keeping. It also logs every fill (exchange time,
    side, price in ticks, qty) and the equity at every step (local time, mark-to-mid).
    """
    import numpy as np
    from hftbacktest import BUY, BUY_EVENT, GTX, LIMIT, NEW, NONE
    from numba import njit

    @njit
    def fit_intensity(depths, n, n_grid):
        # OLS of log(lambda) on delta, lambda(delta) = share of steps with arrival depth >= delta
        sx = 0.0
        sy = 0.0
        sxx = 0.0
        sxy = 0.0
        m = 0
        c_first = -1
        c_last = -1
        for j in range(n_grid):
            x = j + 0.5
            c = 0
            for i in range(n):
                if depths[i] >= x:
                    c += 1
            if c > 0:
                if c_first < 0:
                    c_first = c
                c_last = c
                y = math.log(c / n)
                sx += x
                sy += y
                sxx += x * x
                sxy += x * y
                m += 1
        if m < 3 or c_first == c_last:  # too few points, or flat lambda: k not identified
            return np.nan, np.nan
        slope = (m * sxy - sx * sy) / (m * sxx - sx * sx)
        return math.exp((sy - slope * sx) / m), -slope

    @njit
    def log_fills(hbt, fills, fill_ts, n_fills):
        # orders the local side already knows as filled (before clear_inactive_orders drops them)
        orders = hbt.orders(0)
        values = orders.values()
        while values.has_next():
            o = values.get()
            if o.status == HBT_FILLED and n_fills < fills.shape[0]:
                fill_ts[n_fills] = o.exch_timestamp
                fills[n_fills, 0] = o.exch_timestamp
                fills[n_fills, 1] = 1.0 if o.side == BUY else -1.0
                fills[n_fills, 2] = o.exec_price_tick
                fills[n_fills, 3] = o.exec_qty
                n_fills += 1
        return n_fills

    @njit
    def glft_loop(hbt, order_qty, gamma, stats, fills, fill_ts, equity, equity_ts):
        depth_buf = np.full(WINDOW_STEPS, np.nan)
        dmid_buf = np.full(WINDOW_STEPS, np.nan)
        n_steps = 0
        prev_mid = np.nan
        sigma = np.nan
        A = np.nan
        k = np.nan
        next_id = 1
        n_submit = 0
        n_cancel = 0
        n_dec = 0
        n_fills = 0
        n_eq = 0
        n_unident = 0
        while hbt.elapse(INTERVAL_NS) == 0:
            n_dec += 1
            n_fills = log_fills(hbt, fills, fill_ts, n_fills)
            hbt.clear_inactive_orders(0)
            depth = hbt.depth(0)
            tick = depth.tick_size
            bb = depth.best_bid
            ba = depth.best_ask
            if n_eq < equity.shape[0] and bb < ba:
                sv = hbt.state_values(0)
                equity_ts[n_eq] = hbt.current_timestamp
                equity[n_eq, 0] = hbt.current_timestamp
                equity[n_eq, 1] = sv.balance + sv.position * 0.5 * (bb + ba) - sv.fee
                equity[n_eq, 2] = np.nan
                equity[n_eq, 3] = A
                equity[n_eq, 4] = k
                n_eq += 1
            # 1. market trades since the previous step: deepest buy / sell prints
            trades = hbt.last_trades(0)
            max_buy = np.nan
            min_sell = np.nan
            for i in range(len(trades)):
                px = trades[i].px
                if trades[i].ev & BUY_EVENT:
                    if not (max_buy >= px):
                        max_buy = px
                else:
                    if not (min_sell <= px):
                        min_sell = px
            hbt.clear_last_trades(0)
            if not bb < ba:  # empty / crossed (NaN compares False)
                continue
            bb_t = int(round(bb / tick))
            ba_t = int(round(ba / tick))
            mid = 0.5 * (bb_t + ba_t)
            # 2. arrival depth and mid change of this step; periodic refit
            if prev_mid == prev_mid:
                slot = n_steps % WINDOW_STEPS
                # prices in whole ticks (as strategies.glft.in_ticks): exact half-tick depths
                buy_t = float(round(max_buy / tick)) if max_buy == max_buy else np.nan
                sell_t = float(round(min_sell / tick)) if min_sell == min_sell else np.nan
                if buy_t != buy_t:
                    arr = prev_mid - sell_t
                elif sell_t != sell_t:
                    arr = buy_t - prev_mid
                else:
                    arr = max(buy_t - prev_mid, prev_mid - sell_t)
                depth_buf[slot] = arr
                if n_eq > 0 and equity_ts[n_eq - 1] == hbt.current_timestamp:
                    equity[n_eq - 1, 2] = arr  # trace: the step's arrival depth, ticks
                dmid_buf[slot] = mid - prev_mid
                n_steps += 1
                if n_steps >= WARMUP_STEPS and n_steps % RECAL_EVERY == 0:
                    n = min(n_steps, WINDOW_STEPS)
                    sigma = np.std(dmid_buf[:n])
                    A_new, k_new = fit_intensity(depth_buf, n, FIT_DEPTHS)
                    if 0.0 < A_new < np.inf and 0.0 < k_new < np.inf:
                        A = A_new
                        k = k_new
                    else:
                        n_unident += 1
            prev_mid = mid
            if not (A > 0 and k > 0 and sigma == sigma):
                continue
            # 3. GLFT depths (Gueant 2017 eqs. 4.6-4.7, xi = gamma, Delta = 1), ticks
            q = hbt.position(0) / order_qty
            r = gamma / k
            lr = math.log1p(r)
            c1 = lr / gamma
            c2 = math.sqrt(gamma / (2.0 * A * k) * math.exp((k / gamma + 1.0) * lr))
            half = c1 + 0.5 * sigma * c2
            skew = sigma * c2
            cap = max(min(MAX_DEPTH_TICKS, PRICE_BAND * mid), MIN_DEPTH_TICKS)
            bid_d = min(max(half + skew * q, MIN_DEPTH_TICKS), cap)
            ask_d = min(max(half - skew * q, MIN_DEPTH_TICKS), cap)
            bid_t = int(math.floor(mid - bid_d + 1e-9))
            ask_t = int(math.ceil(mid + ask_d - 1e-9))
            if bid_t >= ba_t:
                bid_t = ba_t - 1
            if ask_t <= bb_t:
                ask_t = bb_t + 1
            want_bid = q < MAX_POS_UNITS - 1e-9
            want_ask = q > -MAX_POS_UNITS + 1e-9
            # 4. keep orders at the wanted price, cancel the others, send a missing side
            have_bid = False
            have_ask = False
            orders = hbt.orders(0)
            values = orders.values()
            while values.has_next():
                o = values.get()
                if o.req != NONE and o.req != NEW:
                    continue  # cancel already pending
                if o.side == BUY:
                    if want_bid and not have_bid and o.price_tick == bid_t:
                        have_bid = True
                    elif o.cancellable:
                        hbt.cancel(0, o.order_id, False)
                        n_cancel += 1
                else:
                    if want_ask and not have_ask and o.price_tick == ask_t:
                        have_ask = True
                    elif o.cancellable:
                        hbt.cancel(0, o.order_id, False)
                        n_cancel += 1
            if want_bid and not have_bid:
                hbt.submit_buy_order(0, next_id, bid_t * tick, order_qty, GTX, LIMIT, False)
                next_id += 1
                n_submit += 1
            if want_ask and not have_ask:
                hbt.submit_sell_order(0, next_id, ask_t * tick, order_qty, GTX, LIMIT, False)
                next_id += 1
                n_submit += 1
        n_fills = log_fills(hbt, fills, fill_ts, n_fills)  # fills reported in the last partial step
        sv = hbt.state_values(0)
        depth = hbt.depth(0)
        mid_px = 0.5 * (depth.best_bid + depth.best_ask)
        stats[0] = n_dec
        stats[1] = n_steps
        stats[2] = n_submit
        stats[3] = n_cancel
        stats[4] = sv.num_trades
        stats[5] = sv.position
        stats[6] = sv.balance + sv.position * mid_px - sv.fee  # mark-to-mid PnL, quote units
        stats[7] = sigma
        stats[8] = A
        stats[9] = k
        stats[10] = n_fills
        stats[11] = n_eq
        stats[12] = n_unident
        return n_dec

    return glft_loop


_HBT_LOOP = None


def run_hbt_glft(arrays, tick: float, lot: float, qty: float, queue: str, *, partial_fill: bool = False) -> dict:
    """One GLFT run on hftbacktest over event ``arrays`` (loaded npz ``data``, replay order).

    Returns
    -------
    dict
        ``stats`` (ndarray of 13 floats, see ``glft_loop``), ``fills`` (float64, shape
        (n, 4): exchange ns (rounded to float64), side ±1, price in ticks, qty), ``fill_ts``
        (int64, shape (n,): the exact exchange ns of each fill), ``equity`` (float64, shape (m, 5):
        local ns, mark-to-mid equity in quote units after fees; trace: the step's arrival
        depth in ticks or NaN, and A, k in force before the step's refit), ``equity_ts`` (int64,
        shape (m,): the exact local ns of each equity row) and ``wall_s`` (building the
        asset and backtest, the loop and ``close``).
    """
    import numpy as np
    from hftbacktest import HashMapMarketDepthBacktest

    global _HBT_LOOP
    if _HBT_LOOP is None:
        _HBT_LOOP = _build_hbt_strategy()
    span = int(arrays[-1]["local_ts"][-1]) - int(arrays[0]["local_ts"][0])
    stats = np.zeros(13)
    fills = np.zeros((100_000, 4))
    fill_ts = np.zeros(100_000, dtype=np.int64)
    equity = np.zeros((span // INTERVAL_NS + 16, 5))
    equity_ts = np.zeros(equity.shape[0], dtype=np.int64)
    t0 = time.perf_counter()
    hbt = HashMapMarketDepthBacktest([hbt_asset(arrays, tick, lot, queue, partial_fill=partial_fill)])
    _HBT_LOOP(hbt, qty, GAMMA, stats, fills, fill_ts, equity, equity_ts)
    hbt.close()
    wall = time.perf_counter() - t0
    n = int(stats[10])
    return {"stats": stats, "fills": fills[:n].copy(), "fill_ts": fill_ts[:n].copy(),
            "equity": equity[: int(stats[11])].copy(), "equity_ts": equity_ts[: int(stats[11])].copy(),
            "wall_s": wall}  # fmt: skip


def bench_hftbacktest(data: list[Path], tick: float, lot: float, qty: float, repeats: int, queue: str) -> dict:
    """Time ``repeats`` runs of our GLFT loop on hftbacktest; returns a dict of figures."""
    import hftbacktest
    import numba
    import numpy as np
    from hftbacktest import TRADE_EVENT

    t0 = time.perf_counter()
    arrays = [np.load(str(p))["data"] for p in data]
    load_s = time.perf_counter() - t0
    n_rows = sum(len(a) for a in arrays)
    n_trades = int(sum(((a["ev"] & 0xFF) == TRADE_EVENT).sum() for a in arrays))
    span_s = (int(arrays[-1]["local_ts"][-1]) - int(arrays[0]["local_ts"][0])) / 1e9

    def one_trial():
        return run_hbt_glft(arrays, tick, lot, qty, queue)

    t0 = time.perf_counter()
    one_trial()  # warm-up: numba compile of the loop and hftbacktest's jitclasses
    warm_s = time.perf_counter() - t0
    walls, stats = [], None
    for _ in range(repeats):
        res = one_trial()
        stats = res["stats"]
        walls.append(res["wall_s"])
    wall = statistics.median(walls)
    return {
        "engine": "hftbacktest",
        "version": hftbacktest.__version__,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "data": [str(p) for p in data],
        "queue_model": queue,
        "events": n_rows,
        "events_counting": "rows of the converted npz (depth levels + trades + snapshot rows)",
        "trade_rows": n_trades,
        "span_s": round(span_s, 1),
        "decisions": int(stats[0]),
        "load_s_first": round(load_s, 3),
        "warmup_trial_s": round(warm_s, 3),
        "wall_s_median": round(wall, 4),
        "wall_s_all": [round(w, 4) for w in walls],
        "events_per_s": round(n_rows / wall),
        "wall_per_market_s": wall / span_s,
        "fills": int(stats[4]),
        "submits": int(stats[2]),
        "cancels": int(stats[3]),
        "position": float(stats[5]),
        "pnl": round(float(stats[6]), 4),
        "last_sigma_A_k": [float(stats[7]), float(stats[8]), float(stats[9])],
    }


# ----------------------------------------------------------------------------------------------
# --engine mmsim (main environment)
# ----------------------------------------------------------------------------------------------
def _bench_replay_module():
    """Load bench/bench_replay.py by path (bench/ is not a package)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("bench_replay", ROOT / "bench" / "bench_replay.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench_mmsim(name: str, repeats: int) -> dict:
    """mmsim figures from ``bench_replay.bench_one`` on the raw capture of ``name``."""
    br = _bench_replay_module()
    row = {d[0]: d for d in br.DATASETS}[BENCH_REPLAY_NAME[name]]
    paths, tick, lot, qty = row[1], row[2], row[3], row[4]
    assert [Path(p) for p in paths] == DATASETS[name][0] and (tick, lot, qty) == DATASETS[name][1:]
    with tempfile.TemporaryDirectory() as cache:
        res = br.bench_one(name, paths, tick, lot, qty, repeats, cache)
    res = {"engine": "mmsim", **res}
    res["events_counting"] = "rows replayed by the venue (n_events; pre-snapshot diffs dropped)"
    res["wall_per_market_s"] = res["wall_s_median"] / res["span_s"]
    return res


# ----------------------------------------------------------------------------------------------
# --engine both
# ----------------------------------------------------------------------------------------------
def run_hbt_subprocess(args, name: str) -> dict:
    paths, tick, lot, qty = DATASETS[name]
    cmd = [args.hbt_python, str(Path(__file__).resolve()), "--engine", "hftbacktest",
           "--data", *map(str, npz_paths(name, args.npz_dir)), "--tick", repr(tick),
           "--lot", repr(lot), "--qty", repr(qty), "--repeats", str(args.repeats),
           "--queue", args.queue]  # fmt: skip
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/tmp", env=env)
    return json.loads(out.stdout)


def run_both(args) -> dict:
    names = args.dataset or list(DATASETS)
    missing = [str(p) for n in names for p in npz_paths(n, args.npz_dir) if not p.exists()]
    if missing:
        sys.exit(f"missing converted files {missing}; run --convert with {args.hbt_python} first")
    rounds = []
    for r in range(args.rounds):
        for name in names:
            hbt = run_hbt_subprocess(args, name)
            mm = bench_mmsim(name, args.repeats)
            rounds.append(
                {
                    "round": r,
                    "dataset": name,
                    "events_per_s_ratio_mmsim_over_hbt": round(mm["events_per_s"] / hbt["events_per_s"], 3),
                    "wall_per_market_s_ratio_hbt_over_mmsim": round(
                        hbt["wall_per_market_s"] / mm["wall_per_market_s"], 3
                    ),
                    "events": {"mmsim": mm["events"], "hftbacktest": hbt["events"]},
                    "span_s": {"mmsim": mm["span_s"], "hftbacktest": hbt["span_s"]},
                    "wall_s_median": {"mmsim": mm["wall_s_median"], "hftbacktest": hbt["wall_s_median"]},
                    "events_per_s": {"mmsim": mm["events_per_s"], "hftbacktest": hbt["events_per_s"]},
                    "fills": {"mmsim": mm["fills"], "hftbacktest": hbt["fills"]},
                    "mmsim": mm,
                    "hftbacktest": hbt,
                }
            )
    return {
        "benchmark": "replay_glft_100ms_vs_hftbacktest",
        "note": "ratios > 1 mean mmsim is faster; wall_per_market_s = median wall / market span",
        "repeats": args.repeats,
        "results": rounds,
    }


def main() -> None:
    """Parse arguments, run the selected mode, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("hftbacktest", "mmsim", "both"))
    ap.add_argument("--convert", action="store_true", help="convert raw captures (hbt venv)")
    ap.add_argument("--data", type=Path, nargs="+", help="npz file(s), replay order (hbt)")
    ap.add_argument("--dataset", choices=list(DATASETS), action="append",
                    help="mmsim/both/convert: data set(s) (default: all)")  # fmt: skip
    ap.add_argument("--tick", type=float, default=0.1)
    ap.add_argument("--lot", type=float, default=0.001)
    ap.add_argument("--qty", type=float, default=0.002)
    ap.add_argument("--queue", choices=QUEUE_MODELS, default="risk_averse",
                    help="queue model (mmsim names; prob_power = hftbacktest PowerProbQueueFunc(3))")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="both: back-to-back rounds")
    ap.add_argument("--npz-dir", type=Path, default=DEFAULT_NPZ_DIR)
    ap.add_argument("--hbt-python", default=DEFAULT_HBT_PYTHON)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.convert:
        report = convert(args.npz_dir, args.dataset or list(DATASETS))
    elif args.engine == "hftbacktest":
        if not args.data:
            ap.error("--engine hftbacktest needs --data")
        report = bench_hftbacktest(args.data, args.tick, args.lot, args.qty, args.repeats, args.queue)
    elif args.engine == "mmsim":
        report = {"results": [bench_mmsim(n, args.repeats) for n in args.dataset or list(DATASETS)]}
    elif args.engine == "both":
        report = run_both(args)
    else:
        ap.error("give --convert or --engine")
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
