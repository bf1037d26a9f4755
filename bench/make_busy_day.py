"""Write a seeded synthetic busy day of L2 book + trade events, fitted to the bundled captures.

The input of the scale benchmarks (issue 13: one replay, many trials), never of the test suite.
The statistics that matter for a replay's cost and for a market maker's fills are fitted to the
bundled Binance USD-M ETHUSDT capture (``data/binance_usdm_ethusdt``, 8 minutes, 2024-07-18/19)
and reproduced by the generator:

- event rates: depth updates and trades per second (the total scaled by ``--rows``, the mix
  kept as recorded);
- where depth updates land: the distribution of a same-side update's distance from that side's
  best price, in ticks (empirical histogram out to ``MAX_OFFSET`` ticks), and the share of
  updates that delete a level;
- level sizes and trade sizes: lognormal fits (mean and standard deviation of ``log qty``) of
  the recorded non-zero depth sizes per offset bucket (:data:`BUCKET_EDGES`: inside, touch,
  1–4, 5–49, 50+ ticks; the touch holds ~20× the size of a deep level) with the share of
  deletions per bucket, and of the recorded trade sizes; rounded to the lot;
- the spread: updates inside the spread only improve a side while the spread is wider than one
  tick, and a trade consumes the opposite best level (a trade that empties it moves the best
  price), so the spread and the mid path come from the same mechanics as the recorded book;
- feed latency: ``local_ts - exch_ts`` drawn from the recorded distribution shifted to start
  at ``--min-latency-us`` (the capture's clock is offset by about -1.5 s, so only the shape
  of that distribution is meaningful); rows arrive in order, so a row's local time is the
  later of its own ``exch_ts + latency`` and the previous row's local time.

Output: one hftbacktest-format ``.npz`` per hour (``busy_day_HH.npz``, key ``data``, the
64-byte dtype of :data:`venues.loaders.hftbacktest.HBT_DTYPE`, rows flagged as exchange and
local events), so mmsim (``[data] format = "hftbacktest_npz"``) and hftbacktest read the same
input; the first file starts with a snapshot of the initial book. A ``busy_day.json`` beside
them records the seed, the fitted parameters and the statistics of the generated day next to
the recorded ones.

Usage::

    python bench/make_busy_day.py --out /tmp/busy_day            # ~100 M rows, 24 hourly files
    python bench/make_busy_day.py --out /tmp/small --rows 2e6 --hours 1
    python bench/make_busy_day.py --out /tmp/month --rows 5e6 --days 30   # day_00/ … day_29/

The same ``--seed``, ``--rows`` and ``--hours`` give byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numba as nb
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.feed import DEPTH, TRADE  # noqa: E402
from venues.loaders import DataConfig, load_feed  # noqa: E402
from venues.loaders.hftbacktest import (  # noqa: E402
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    HBT_DTYPE,
    LOCAL_EVENT,
    SELL_EVENT,
    TRADE_EVENT,
)

CAPTURE = (
    REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz",
    REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240719.gz",
)
MAX_OFFSET = 400
"""Depth updates are generated at most this many ticks behind a side's best price."""
N_LEVELS = 4096
"""Price levels of the generator's dense book window (re-centred when the mid drifts)."""
NS_PER_HOUR = 3_600 * 10**9
BUCKET_EDGES = np.array([-1, 0, 1, 5, 50, MAX_OFFSET + 2])
"""Offset buckets (ticks behind the best; -1 inside the spread, 0 at the touch) with their own
fitted size distribution and deletion share: the touch holds far more size than deep levels."""


def fit(capture: tuple[Path, ...] = CAPTURE) -> dict:
    """Fit the generator's parameters to a recorded capture (replayed through mmsim's loader).

    Returns
    -------
    dict
        ``depth_per_s``, ``trade_per_s`` (events/s), ``p_delete`` (share of depth updates with
        size 0), ``offset_pmf`` (list, probability of a same-side update ``k`` ticks behind the
        best for ``k = -1 … MAX_OFFSET``, index 0 is an update inside the spread),
        ``bucket_edges``, ``bucket_logqty_mean``, ``bucket_logqty_std``, ``bucket_p_delete``
        (depth sizes per offset bucket), ``trade_logqty`` (``[mean, std]`` of log size), ``latency_ns``
        (sorted sample of ``local - exch``), ``tick_size``, ``lot_size``, ``start_px``.
    """
    feed = load_feed(DataConfig(format="binance_ws", paths=tuple(str(p) for p in capture)))
    ev = feed.events
    tick, lot = feed.meta.tick_size, feed.meta.lot_size
    span_s = (int(ev["ts_exch_ns"][-1]) - int(ev["ts_exch_ns"][0])) / 1e9
    depth = ev[ev["kind"] == DEPTH]
    trades = ev[ev["kind"] == TRADE]
    offsets, upd_spread, spread = _book_stats(ev, tick)
    wide = upd_spread >= 2
    hist = np.bincount(np.clip(offsets + 1, 0, MAX_OFFSET + 1), minlength=MAX_OFFSET + 2)[: MAX_OFFSET + 2]
    # the depth rows that _book_stats measured (those with a best price on their side) are the last ones
    q = depth["qty"][-offsets.size :]
    bucket = np.searchsorted(BUCKET_EDGES, offsets, side="right") - 1
    mu, sd, p_del = [], [], []
    for b in range(len(BUCKET_EDGES) - 1):
        qb = q[bucket == b]
        lq = np.log(qb[qb > 0])
        mu.append(float(lq.mean()))
        sd.append(float(lq.std()))
        p_del.append(float(np.mean(qb == 0)))
    lat = np.sort(ev["ts_local_ns"] - ev["ts_exch_ns"])
    first_trade = trades["px"][0] if trades.size else depth["px"][0]
    return {
        "depth_per_s": depth.size / span_s,
        "trade_per_s": trades.size / span_s,
        "p_delete": float(np.mean(depth["qty"] == 0)),
        "bucket_edges": BUCKET_EDGES.tolist(),
        "bucket_logqty_mean": mu,
        "bucket_logqty_std": sd,
        "bucket_p_delete": p_del,
        "offset_pmf": (hist / hist.sum()).tolist(),
        "trade_logqty": [float(np.log(trades["qty"]).mean()), float(np.log(trades["qty"]).std())],
        "latency_ns": lat[:: max(1, lat.size // 2000)].tolist(),
        "tick_size": tick,
        "lot_size": lot,
        "start_px": float(first_trade),
        "spread_ticks_p50_p90_p99": np.percentile(spread, [50, 90, 99]).tolist(),
        "p_inside_when_wide": float(np.mean(offsets[wide] == -1)) if wide.any() else 0.0,
    }


def _book_stats(ev: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replayed statistics of an ``EVENT_DTYPE`` array: for each depth update, the ticks between
    it and its side's best price just before it (-1 = inside the spread) and the spread then;
    the spread in ticks before every event."""
    px_t = np.rint(ev["px"] / tick).astype(np.int64)
    return _offsets_nb(ev["kind"], ev["side"], px_t, ev["qty"])


@nb.njit(cache=True)
def _offsets_nb(kind, side, px_t, qty):
    lo = px_t.min()
    n_px = px_t.max() - lo + 1
    bids = np.zeros(n_px)
    asks = np.zeros(n_px)
    best_bid = -1
    best_ask = n_px
    out = np.full(kind.size, MAX_OFFSET + 1, dtype=np.int64)
    out_spread = np.full(kind.size, -1, dtype=np.int64)
    spread = np.full(kind.size, -1, dtype=np.int64)
    m = 0
    for i in range(kind.size):
        if best_bid >= 0 and best_ask < n_px:
            spread[i] = best_ask - best_bid
        j = px_t[i] - lo
        if kind[i] == 3:  # CLEAR
            bids[:] = 0.0
            asks[:] = 0.0
            best_bid, best_ask = -1, n_px
            continue
        if kind[i] != 1:
            continue
        if side[i] == 1:
            if best_bid >= 0:
                out[m] = max(best_bid - j, -1)
                out_spread[m] = spread[i]
                m += 1
            bids[j] = qty[i]
            if qty[i] > 0 and j > best_bid:
                best_bid = j
            elif qty[i] == 0 and j == best_bid:
                while best_bid >= 0 and bids[best_bid] <= 0:
                    best_bid -= 1
        else:
            if best_ask < n_px:
                out[m] = max(j - best_ask, -1)
                out_spread[m] = spread[i]
                m += 1
            asks[j] = qty[i]
            if qty[i] > 0 and j < best_ask:
                best_ask = j
            elif qty[i] == 0 and j == best_ask:
                while best_ask < n_px and asks[best_ask] <= 0:
                    best_ask += 1
    return out[:m], out_spread[:m], spread[spread >= 0]


@nb.njit(cache=True)
def _generate_hour(
    ev, exch, local, px, qty, state, book, rng_u, rng_n, t1_ns, mean_gap_ns, p_trade,
    offset_cdf, edges, b_mu, b_sd, b_del, trade_mu, trade_sd, lat_sample, tick, lot
):  # fmt: skip
    """Fill the columns ``ev … qty`` with events up to ``t1_ns``; returns the number of rows written.

    ``state`` = [best_bid_j, best_ask_j, base_tick, ts_ns, draw, last_local_ns]; ``book`` is (2, N_LEVELS) of
    sizes (row 0 bids, row 1 asks) over ticks ``base_tick + j``. The random streams are
    pre-drawn arrays indexed by ``state[4]`` (wrapping), so the output depends on the seed only.
    """
    n_levels = book.shape[1]
    n_draw = rng_u.shape[0]
    m = 0
    bb, ba, base, ts, d, last_local = state[0], state[1], state[2], state[3], state[4], state[5]
    while True:
        ts += int(-mean_gap_ns * np.log(1.0 - rng_u[d % n_draw])) + 1
        d += 1
        if ts >= t1_ns or m + 2 > ev.shape[0]:
            break
        # delivered in order (one connection): local time never goes back
        last_local = max(last_local, ts + lat_sample[int(rng_u[d % n_draw] * lat_sample.shape[0])])
        d += 1
        is_trade = rng_u[d % n_draw] < p_trade
        d += 1
        buy = rng_u[d % n_draw] < 0.5
        d += 1
        if is_trade:
            # the taker buys at the best ask (sells at the best bid) and consumes that level
            j = ba if buy else bb
            lvl = 1 if buy else 0
            q = max(lot, np.floor(np.exp(trade_mu + trade_sd * rng_n[d % n_draw]) / lot) * lot)
            d += 1
            q = min(q, book[lvl, j])
            if q <= 0.0:  # that side of the window is empty: no print
                continue
            ev[m] = TRADE_EVENT | EXCH_EVENT | LOCAL_EVENT | (BUY_EVENT if buy else SELL_EVENT)
            exch[m], local[m], px[m], qty[m] = ts, last_local, (base + j) * tick, q
            m += 1
            left = np.floor((book[lvl, j] - q) / lot + 0.5) * lot
            book[lvl, j] = left
            ev[m] = DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | (SELL_EVENT if buy else BUY_EVENT)
            exch[m], local[m], px[m], qty[m] = ts, last_local, (base + j) * tick, left
            m += 1
            if left <= 0.0:
                if buy:
                    while ba < n_levels - 1 and book[1, ba] <= 0.0:
                        ba += 1
                else:
                    while bb > 0 and book[0, bb] <= 0.0:
                        bb -= 1
        else:
            # a same-side update k ticks behind the best (k = -1: one tick inside the spread)
            u = rng_u[d % n_draw]
            d += 1
            k = np.searchsorted(offset_cdf, u) - 2  # cdf[0] = 0 and pmf index 0 is offset -1
            lvl = 0 if buy else 1
            if k < 0:
                j = bb + 1 if buy else ba - 1
                if j >= ba or j <= bb:  # a one-tick spread has no inside
                    j = bb if buy else ba
            else:
                j = bb - k if buy else ba + k
            if j < 0 or j >= n_levels:
                continue
            b = np.searchsorted(edges, k, side="right") - 1
            if rng_u[d % n_draw] < b_del[b] and not (j == bb and buy) and not (j == ba and not buy):
                q = 0.0
            else:
                q = max(lot, np.floor(np.exp(b_mu[b] + b_sd[b] * rng_n[d % n_draw]) / lot) * lot)
            d += 1
            book[lvl, j] = q
            if buy and j > bb and q > 0.0:
                bb = j
            if (not buy) and j < ba and q > 0.0:
                ba = j
            ev[m] = DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | (BUY_EVENT if buy else SELL_EVENT)
            exch[m], local[m], px[m], qty[m] = ts, last_local, (base + j) * tick, q
            m += 1
        # re-centre the window when the touch nears an edge: levels that fall out are dropped
        mid = (bb + ba) // 2
        if mid < n_levels // 4 or mid > 3 * n_levels // 4:
            shift = mid - n_levels // 2
            new = np.zeros_like(book)
            for s in range(2):
                for jj in range(n_levels):
                    src = jj + shift
                    if 0 <= src < n_levels:
                        new[s, jj] = book[s, src]
            book[:, :] = new
            bb -= shift
            ba -= shift
            base += shift
    state[0], state[1], state[2], state[3], state[4], state[5] = bb, ba, base, ts, d, last_local
    return m


def _initial_book(params: dict, rng: np.random.Generator) -> tuple[np.ndarray, int, int, int]:
    """A book of ``MAX_OFFSET`` levels a side around ``start_px``, sizes from the bucket fits."""
    tick, lot = params["tick_size"], params["lot_size"]
    mu, sd = params["bucket_logqty_mean"], params["bucket_logqty_std"]
    book = np.zeros((2, N_LEVELS))
    mid = N_LEVELS // 2
    bb, ba = mid - 1, mid
    for k in range(MAX_OFFSET + 1):
        b = int(np.searchsorted(BUCKET_EDGES, k, side="right")) - 1
        for s, j in ((0, bb - k), (1, ba + k)):
            book[s, j] = max(lot, np.floor(np.exp(mu[b] + sd[b] * rng.standard_normal()) / lot) * lot)
    base = int(round(params["start_px"] / tick)) - mid
    return book, bb, ba, base


def _snapshot_rows(book: np.ndarray, base: int, tick: float, ts: int) -> np.ndarray:
    rows = []
    for s, flag in ((0, BUY_EVENT), (1, SELL_EVENT)):
        for j in np.flatnonzero(book[s] > 0):
            rows.append((DEPTH_SNAPSHOT_EVENT | EXCH_EVENT | LOCAL_EVENT | flag, ts, ts, (base + j) * tick,
                         book[s, j], 0, 0, 0.0))  # fmt: skip
    return np.array(rows, dtype=HBT_DTYPE)


def generate(out_dir: Path, *, rows: float, hours: int, seed: int, min_latency_us: float, day: int = 0) -> dict:
    """Write ``hours`` hourly files of about ``rows × hours / 24`` events in total; returns the summary.

    ``day`` (0-based) shifts the start by that many days (2024-07-19 + ``day``, 1 s in) and
    starts its first file with a full book clear (``DEPTH_CLEAR_EVENT``) before the snapshot; the
    caller passes a different ``seed`` per day (:func:`main`: ``seed + day``)."""
    params = fit()
    rng = np.random.default_rng(seed)
    rate = rows / 86_400.0  # events per second over a 24 h day
    depth_share = params["depth_per_s"] / (params["depth_per_s"] + params["trade_per_s"])
    # a trade writes 2 rows (print + the level's new size): solve for the arrival rate
    p_trade = 1.0 - depth_share
    arrivals_per_s = rate / (1.0 + p_trade)
    mean_gap_ns = 1e9 / arrivals_per_s
    lat = np.asarray(params["latency_ns"], dtype=np.int64)
    lat = lat - lat.min() + int(min_latency_us * 1e3)
    cdf = np.cumsum(params["offset_pmf"])
    cdf = np.concatenate([[0.0], cdf / cdf[-1]])
    book, bb, ba, base = _initial_book(params, rng)
    # 2024-07-19 00:00:00 UTC + day days; a later day starts 1 s in, after the previous day's
    # last row has arrived (its local time may pass midnight by the feed latency)
    day0 = 1_721_347_200 * 10**9 + day * 24 * NS_PER_HOUR
    t0 = day0 + (10**9 if day else 0)
    state = np.array([bb, ba, base, t0, 0, t0], dtype=np.int64)
    n_draw = 1 << 22
    out_dir.mkdir(parents=True, exist_ok=True)
    files, total, t_start = [], 0, time.perf_counter()
    for h in range(hours):
        rng_u = rng.random(n_draw)
        rng_n = rng.standard_normal(n_draw)
        state[4] = 0
        cap = int(arrivals_per_s * 3600 * 2.2) + 1024
        cols = (np.zeros(cap, np.uint64), np.zeros(cap, np.int64), np.zeros(cap, np.int64),
                np.zeros(cap, np.float64), np.zeros(cap, np.float64))  # fmt: skip
        parts = []
        if h == 0:
            if day:  # the previous day's book is replaced by this day's snapshot
                clear = np.zeros(1, dtype=HBT_DTYPE)
                clear["ev"] = DEPTH_CLEAR_EVENT | EXCH_EVENT | LOCAL_EVENT
                clear["exch_ts"] = clear["local_ts"] = t0
                parts.append(clear)
            parts.append(_snapshot_rows(book, int(state[2]), params["tick_size"], t0))
        t1 = day0 + (h + 1) * NS_PER_HOUR
        while state[3] < t1:
            m = _generate_hour(*cols, state, book, rng_u, rng_n, t1, mean_gap_ns,
                               p_trade, cdf, BUCKET_EDGES, np.array(params["bucket_logqty_mean"]),
                               np.array(params["bucket_logqty_std"]), np.array(params["bucket_p_delete"]),
                               *params["trade_logqty"], lat, params["tick_size"], params["lot_size"])  # fmt: skip
            chunk = np.zeros(m, dtype=HBT_DTYPE)
            for name, col in zip(("ev", "exch_ts", "local_ts", "px", "qty"), cols, strict=True):
                chunk[name] = col[:m]
            parts.append(chunk)
            if m < cap - 2:
                break
        data = np.concatenate(parts)
        path = out_dir / f"busy_day_{h:02d}.npz"
        np.savez(path, data=data)
        files.append(path.name)
        total += data.size
    summary = {
        "day": day,
        "seed": seed,
        "hours": hours,
        "rows": total,
        "files": files,
        "generate_s": round(time.perf_counter() - t_start, 1),
        "fitted": {k: v for k, v in params.items() if k != "latency_ns"},
        "generated": _stats(out_dir / files[-1], params["tick_size"]),
    }
    (out_dir / "busy_day.json").write_text(json.dumps(summary, indent=1))
    return summary


def _stats(path: Path, tick: float) -> dict:
    """Rates, sizes and spread of one generated file, to set beside the fitted values."""
    d = np.load(path)["data"]
    events = load_feed(DataConfig(format="hftbacktest_npz", paths=(str(path),))).events
    _, _, spread = _book_stats(events, tick)
    kind = d["ev"] & 0xFF
    span_s = (d["exch_ts"][-1] - d["exch_ts"][0]) / 1e9
    trades = d[kind == TRADE_EVENT]
    depth = d[kind == DEPTH_EVENT]
    return {
        "file": path.name,
        "depth_per_s": round(depth.size / span_s, 1),
        "trade_per_s": round(trades.size / span_s, 2),
        "trade_logqty": [round(float(np.log(trades["qty"]).mean()), 3), round(float(np.log(trades["qty"]).std()), 3)],
        "p_delete": round(float(np.mean(depth["qty"] == 0)), 4),
        "spread_ticks_p50_p90_p99": np.percentile(spread, [50, 90, 99]).tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder (created)")
    ap.add_argument("--rows", type=float, default=100e6, help="rows in a full 24 h day (default 1e8)")
    ap.add_argument("--hours", type=int, default=24, help="hours to write (default 24)")
    ap.add_argument("--seed", type=int, default=20240719)
    ap.add_argument("--min-latency-us", type=float, default=500.0, help="smallest feed latency, µs")
    ap.add_argument("--days", type=int, default=1,
                    help="consecutive days to write (default 1); with N > 1 day d goes to OUT/day_DD/ "
                         "with seed SEED + d (the 30-day memory benchmark, bench/bench_memory.py)")
    args = ap.parse_args(argv)
    if not 1 <= args.hours <= 24:
        ap.error("--hours must be within 1..24")
    if args.days < 1:
        ap.error("--days must be >= 1")
    for d in range(args.days):
        out = args.out if args.days == 1 else args.out / f"day_{d:02d}"
        summary = generate(out, rows=args.rows, hours=args.hours, seed=args.seed + d,
                           min_latency_us=args.min_latency_us, day=d)  # fmt: skip
        print(json.dumps({"out": str(out), **{k: summary[k] for k in ("rows", "files", "generate_s", "generated")}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
