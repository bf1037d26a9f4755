"""Bounded-memory loading (issue 13, item 5): the streamed parse into a memory-mapped cache file,
the exchange-clock file built in chunks, and replays from the map.

The reference is always the in-memory path (:func:`venues.loaders.parse_feed`, the in-memory
:func:`venues.orderbook.venue.exchange_clock`, a replay of in-memory events). Chunk sizes are
made tiny so that every chunk boundary case (a message batch split over two chunks, a snapshot
split, the merge buffer of the exchange clock) is crossed many times on the small sample.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from engine.feed import CLEAR, EVENT_DTYPE, PageReleaser, mapped_path
from venues.loaders import DataConfig, DataError, load_feed, parse_feed, stream
from venues.loaders import exchange_clock as xc
from venues.loaders.hftbacktest import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    EXCH_EVENT,
    HBT_DTYPE,
    LOCAL_EVENT,
    TRADE_EVENT,
)
from venues.loaders.npyfile import HEADER_BYTES, open_npy
from venues.loaders.testing import hbt_rows, outcome

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"


@pytest.fixture(scope="module")
def sample_events():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),))).events


@pytest.fixture(scope="module")
def hbt_files(sample_events, tmp_path_factory):
    """The recorded sample as three hourly-style hftbacktest files, split mid-stream."""
    d = tmp_path_factory.mktemp("hbt")
    rows = hbt_rows(sample_events)
    cuts = [0, rows.size // 3, 2 * rows.size // 3, rows.size]
    # never cut inside a group of rows with one local time (a file boundary ends a batch)
    ts = rows["local_ts"]
    cuts = [0, *[int(np.searchsorted(ts, ts[c], side="left")) for c in cuts[1:-1]], rows.size]
    paths = []
    for k in range(3):
        p = d / f"part_{k}.npz"
        np.savez(p, data=rows[cuts[k]:cuts[k + 1]])
        paths.append(str(p))
    return tuple(paths)


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_ROWS", 7_777)
    monkeypatch.setattr(xc, "CHUNK_ROWS", 5_003)


def _same_feed(a, b) -> None:
    assert a.events.dtype == b.events.dtype == EVENT_DTYPE
    assert a.events.size == b.events.size
    assert np.array_equal(np.asarray(a.events), b.events)  # every field, row for row
    assert a.meta == b.meta
    assert a.warnings == b.warnings
    assert a.gaps == b.gaps


def test_streamed_cache_equals_the_in_memory_parse(hbt_files, tmp_path, tiny_chunks):
    cfg = DataConfig(format="hftbacktest_npz", paths=hbt_files)
    ref = parse_feed(cfg)
    feed = load_feed(cfg, cache_dir=tmp_path, mmap=True)
    _same_feed(feed, ref)
    assert ref.events.size > 5 * 7_777  # many chunks
    assert mapped_path(feed.events) is not None and not feed.events.flags.writeable
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert sorted(p.name for p in entry.iterdir()) == ["bbo.npy", "events.npy", "feed.json"]
    size = (entry / "events.npy").stat().st_size
    assert size == HEADER_BYTES + 48 * ref.events.size  # 48 bytes per event, one copy
    info = json.loads((entry / "feed.json").read_text())
    assert info["layout"] == "npy" and info["files"]["events.npy"]["rows"] == ref.events.size
    _same_feed(load_feed(cfg, cache_dir=tmp_path, mmap=False), ref)  # a hit, read into memory


def _quirky(sample_events, d: Path) -> tuple[str, ...]:
    """Files that exercise the streamed warnings: a 2-minute silence (gap warning), a second
    file whose second half (after a full book clear) is on a 0.1 price grid (mixed ticks),
    DEPTH_BBO and user rows (skipped and counted), and a third file that starts with more than
    a chunk of rows without the LOCAL_EVENT flag (dropped, since the file has LOCAL rows: the
    stream cannot tell from the first chunk and checks the whole file first)."""
    rows = hbt_rows(sample_events)
    n = rows.size
    a, b, c = rows[: n // 3].copy(), rows[n // 3: 2 * n // 3].copy(), rows[2 * n // 3:].copy()
    shift = 120 * 10**9
    for part in (b, c):
        part["local_ts"] += shift
        part["exch_ts"] += shift
    extra = np.zeros(2, dtype=HBT_DTYPE)
    extra["ev"] = [5 | EXCH_EVENT | LOCAL_EVENT | BUY_EVENT, 100 | EXCH_EVENT | LOCAL_EVENT]
    extra["local_ts"] = extra["exch_ts"] = a["local_ts"][-1]
    a = np.concatenate([a, extra])
    lt = b["local_ts"]
    h = int(np.searchsorted(lt, lt[b.size // 2], side="left"))
    clear = np.zeros(1, dtype=HBT_DTYPE)
    clear["ev"] = DEPTH_CLEAR_EVENT | EXCH_EVENT | LOCAL_EVENT
    clear["local_ts"], clear["exch_ts"] = b["local_ts"][h], b["exch_ts"][h]
    tail = b[h:].copy()
    typ, buy = tail["ev"] & 0xFF, (tail["ev"] & BUY_EVENT) != 0
    coarse = np.where(typ == TRADE_EVENT, np.round(tail["px"], 1),
                      np.where(buy, np.floor(tail["px"] * 10 + 1e-6), np.ceil(tail["px"] * 10 - 1e-6)) / 10)
    tail["px"] = np.round(coarse, 1)  # bids down, asks up: never crossed
    b = np.concatenate([b[:h], clear, tail])
    dropped = c[:9_000].copy()
    dropped["ev"] &= ~np.uint64(LOCAL_EVENT)  # exchange-side copies only
    clear2 = clear.copy()  # the coarse book of file 2 is not continued by file 3's diffs
    clear2["local_ts"], clear2["exch_ts"] = c["local_ts"][0], c["exch_ts"][0]
    c = np.concatenate([dropped, clear2, c])
    paths = []
    for k, part in enumerate((a, b, c)):
        p = d / f"q_{k}.npz"
        np.savez(p, data=part)
        paths.append(str(p))
    return tuple(paths)


def test_streamed_warnings_and_local_rows_match(sample_events, tmp_path, tiny_chunks):
    paths = _quirky(sample_events, tmp_path)
    cfg = DataConfig(format="hftbacktest_npz", paths=paths)
    ref = parse_feed(cfg)
    got = load_feed(cfg, cache_dir=tmp_path / "c", mmap=True)
    _same_feed(got, ref)
    text = "\n".join(ref.warnings)
    for want in ("gap(s) longer than 60 s", "DEPTH_BBO_EVENT", "other event types",
                 "mixed tick sizes: prices step by 0.01"):
        assert want in text


@pytest.mark.parametrize("damage", ["cross", "backwards", "dup_trade", "no_side"])
def test_streamed_errors_match(sample_events, tmp_path, tiny_chunks, damage):
    rows = hbt_rows(sample_events)
    k = rows.size * 2 // 3
    if damage == "cross":  # a bid level far above the asks, alone in its message
        ref_px = float(np.median(rows["px"][rows["px"] > 0]))
        near = ((rows["ev"][k:] & 0xFF) == DEPTH_EVENT) & (np.abs(rows["px"][k:] / ref_px - 1) < 1e-3)
        i = k + int(np.flatnonzero(near)[0])
        rows["ev"][i] = DEPTH_EVENT | BUY_EVENT | EXCH_EVENT | LOCAL_EVENT
        rows["px"][i] = round(rows["px"][i] * 1.02, 2)
        rows["qty"][i] = 1.0
    elif damage == "backwards":
        rows["local_ts"][k] = rows["local_ts"][k - 1] - 1
    elif damage == "dup_trade":
        tr = np.flatnonzero((rows["ev"] & 0xFF) == TRADE_EVENT)
        rows["order_id"][tr[-1]] = rows["order_id"][tr[0]]
    else:
        rows["ev"][k] = DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT
    p = tmp_path / "bad.npz"
    np.savez(p, data=rows)
    cfg = DataConfig(format="hftbacktest_npz", paths=(str(p),))
    ref = outcome(lambda: parse_feed(cfg))
    got = outcome(lambda: load_feed(cfg, cache_dir=tmp_path / "c", mmap=True))
    assert ref[0] == got[0] == "error"
    assert got[1] == ref[1]
    assert str(p) in got[1]
    assert not [q for q in (tmp_path / "c").iterdir() if not q.name.startswith(".")]  # nothing cached


def test_overlapping_files_fall_back_to_the_in_memory_parse(hbt_files, tmp_path, tiny_chunks):
    cfg = DataConfig(format="hftbacktest_npz", paths=(hbt_files[1], hbt_files[0]))
    ref = parse_feed(cfg)
    feed = load_feed(cfg, cache_dir=tmp_path, mmap=True)
    _same_feed(feed, ref)
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert (entry / "events.parquet").is_file()


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_corrupt_cache_file_is_named_and_rebuilt(hbt_files, tmp_path, damage):
    cfg = DataConfig(format="hftbacktest_npz", paths=hbt_files[:1])
    ref = load_feed(cfg, cache_dir=tmp_path, mmap=True)
    ref_events = np.array(ref.events)
    del ref
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    npy = entry / "events.npy"
    data = bytearray(npy.read_bytes())
    if damage == "truncate":
        del data[-100:]
    elif damage == "flip":
        data[-9] ^= 0x01
    else:
        data[:6] = b"NOTNPY"
    npy.write_bytes(bytes(data))
    from venues.loaders import npyfile

    npyfile._VERIFIED.clear()  # damage in place can keep size and mtime (same second)
    with pytest.raises(DataError, match=str(npy).replace(".", r"\.")) as ei:
        open_npy(npy, EVENT_DTYPE, json.loads((entry / "feed.json").read_text())["files"]["events.npy"])
    want = {"truncate": "truncated", "flip": "sha256 differs", "header": "not a readable .npy"}[damage]
    assert want in str(ei.value)
    with pytest.warns(UserWarning, match=f"feed cache entry .* is corrupt .*{want}.*; rebuilding it"):
        again = load_feed(cfg, cache_dir=tmp_path, mmap=True)
    assert np.array_equal(np.asarray(again.events), ref_events)


@pytest.mark.parametrize("feed_latency_ms", [None, 3.0])
def test_exchange_clock_file_equals_the_in_memory_sort(hbt_files, tmp_path, tiny_chunks, feed_latency_ms):
    from venues.orderbook import venue as V

    cfg = DataConfig(format="hftbacktest_npz", paths=hbt_files)
    mapped = load_feed(cfg, cache_dir=tmp_path, mmap=True).events
    mem = np.array(mapped)
    V._EXCH_CACHE.clear()
    ref, ref_off = V.exchange_clock(mem, "two", feed_latency_ms)
    got, off = xc.exchange_clock_file(mapped, feed_latency_ms)
    assert ref is not None and got is not None
    assert off == ref_off
    assert np.array_equal(np.asarray(got), ref)
    assert mapped_path(got) is not None
    again, _ = xc.exchange_clock_file(mapped, feed_latency_ms)  # reused, not rebuilt
    assert mapped_path(again) == mapped_path(got)
    k = mapped.size // 3  # a prefix of the same mapped file (the pilot's) gets its own copy
    V._EXCH_CACHE.clear()
    ref_k, _ = V.exchange_clock(mem[:k], "two", feed_latency_ms)
    got_k, _ = xc.exchange_clock_file(mapped[:k], feed_latency_ms)
    assert np.array_equal(np.asarray(got_k), ref_k)


def test_barriers_in_chunks_equal_one_pass(sample_events):
    from venues.orderbook._match_nb import snapshot_barriers_nb

    ev = sample_events
    x_ref = np.where(ev["ts_exch_ns"] > 0, ev["ts_exch_ns"], ev["ts_local_ns"]).astype(np.int64)
    x = x_ref.copy()
    snapshot_barriers_nb(ev["ts_local_ns"], x_ref, ev["kind"])
    state = xc.new_barrier_state()
    for lo in range(0, ev.size, 999):
        sl = slice(lo, lo + 999)
        part = x[sl].copy()
        xc.barriers_nb(ev["ts_local_ns"][sl], part, ev["kind"][sl], state)
        x[sl] = part
    assert np.array_equal(x, x_ref)
    assert (ev["kind"] == CLEAR).any()


def _glft_run(feed, compiled):
    from experiments.trial import run_trial
    from strategies.glft import GLFTConfig, GLFTQuoter
    from venues.orderbook.config import VenueConfig

    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, entry_latency_ms=5.0,
                        response_latency_ms=5.0)
    cfg = GLFTConfig(order_qty=0.01, max_position=0.1, interval_ms=100.0, window_s=60.0, warmup_s=20.0,
                     gamma=0.05)
    return run_trial(feed, venue, cfg, GLFTQuoter, seed=7, compiled=compiled)


@pytest.mark.parametrize("compiled", [False, True])
def test_replay_from_the_map_equals_the_in_memory_replay(hbt_files, tmp_path, tiny_chunks, compiled, monkeypatch):
    from venues.orderbook import venue as V

    monkeypatch.setattr(V, "WINDOW_ROWS", 4_099)
    cfg = DataConfig(format="hftbacktest_npz", paths=hbt_files)
    mem = parse_feed(cfg)
    mapped = load_feed(cfg, cache_dir=tmp_path, mmap=True)
    V._EXCH_CACHE.clear()
    a = _glft_run(mem, compiled)
    V._EXCH_CACHE.clear()
    b = _glft_run(mapped, compiled)
    assert list(tmp_path.glob("*/events.exch-rec-*.npy"))  # the matching book read the mapped copy
    assert a.fills.size > 0
    assert np.array_equal(a.fills, b.fills)
    assert np.array_equal(a.equity, b.equity)
    assert a.metrics.keys() == b.metrics.keys()
    for k in a.metrics:
        assert a.metrics[k] == b.metrics[k] or (np.isnan(a.metrics[k]) and np.isnan(b.metrics[k])), k


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_page_releaser_keeps_a_mapped_pass_resident_set_small(tmp_path, monkeypatch):
    import engine.feed as F

    monkeypatch.setattr(F, "RELEASE_BYTES", 8 << 20)
    n = 4_000_000  # 192 MB of events
    np.save(tmp_path / "ev.npy", np.zeros(n, dtype=EVENT_DTYPE))
    ev = np.asarray(np.load(tmp_path / "ev.npy", mmap_mode="r"))

    def sweep(release: bool) -> float:
        rel = PageReleaser(ev)
        assert rel.active
        base, peak = _resident_mb(), 0.0
        for lo in range(0, n, 250_000):
            float(ev["px"][lo:lo + 250_000].sum())
            if release:
                rel.release_to(lo + 250_000)
            peak = max(peak, _resident_mb() - base)
        return peak

    held = sweep(release=False)
    assert held > 150  # without releasing, the whole file ends up resident
    ev2 = np.asarray(np.load(tmp_path / "ev.npy", mmap_mode="r"))
    ev = ev2
    assert sweep(release=True) < 40
