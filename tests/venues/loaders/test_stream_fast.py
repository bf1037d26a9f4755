"""The compiled single-pass stream (issue 13, item 5: parse speed) against the in-memory parse.

The stream converts and checks each chunk in one compiled pass, reads stored ``.npz`` members
with plain reads (the CRC-32 checked by a helper thread) and skips re-hashing the events file it
just wrote. Each test compares it with :func:`venues.loaders.parse_feed` (or with the
:mod:`zipfile` reader) on inputs that take the unusual branches: other field types, bad values,
a crossed snapshot, damaged and compressed archives.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.feed import EVENT_DTYPE
from venues.loaders import DataConfig, DataError, load_feed, npyfile, parse_feed, stream
from venues.loaders.hftbacktest import (
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
from venues.loaders.testing import hbt_rows, outcome

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
BOTH = EXCH_EVENT | LOCAL_EVENT


@pytest.fixture(scope="module")
def rows():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = parse_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),))).events
    return hbt_rows(ev)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_ROWS", 6_007)


def _same(cfg: DataConfig, cache: Path):
    """The streamed cache entry equals the in-memory parse, or both fail with one message."""
    ref = outcome(lambda: parse_feed(cfg))
    got = outcome(lambda: load_feed(cfg, cache_dir=cache, mmap=True))
    assert got[0] == ref[0], (got, ref)
    if ref[0] == "error":
        assert got[1] == ref[1]
        return got[1]
    a, b = got[1], ref[1]
    assert np.array_equal(np.asarray(a.events), b.events)
    assert a.meta == b.meta and a.warnings == b.warnings
    entry = next(p for p in cache.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert json.loads((entry / "feed.json").read_text())["layout"] == "npy"  # it was streamed
    return a


def _save(path: Path, arr: np.ndarray, compressed: bool = False) -> str:
    (np.savez_compressed if compressed else np.savez)(path, data=arr)
    return str(path)


def test_other_field_types_take_the_converting_path(rows, tmp_path, small_chunks):
    """Fields in another order, 4-byte prices, big-endian times, no order_id: converted as
    :func:`venues.loaders.hftbacktest.convert` does, same feed."""
    dt = np.dtype([("local_ts", ">i8"), ("px", "<f4"), ("ev", "<u8"), ("qty", "<f8"), ("exch_ts", "<i8")])
    odd = np.zeros(rows.size, dtype=dt)
    for name in dt.names:
        odd[name] = rows[name]
    p = _save(tmp_path / "odd.npz", odd)
    feed = _same(DataConfig(format="hftbacktest_npz", paths=(p,)), tmp_path / "c")
    assert not isinstance(feed, str), feed
    assert feed.events["px"][0] == np.float32(rows["px"][0])
    assert (feed.events["trade_id"][feed.events["kind"] == 2] >= 0).all()  # synthetic ids


def test_deflated_and_stored_files_stream_the_same(rows, tmp_path, small_chunks):
    n = rows.size
    a = _save(tmp_path / "a.npz", rows[: n // 2], compressed=True)  # read through zipfile
    b = _save(tmp_path / "b.npz", rows[n // 2:])  # read directly
    _same(DataConfig(format="hftbacktest_npz", paths=(a, b)), tmp_path / "c")


@pytest.mark.parametrize("damage", ["nan_px", "zero_px_trade", "neg_qty", "zero_qty_trade", "zero_qty_snapshot",
                                    "inf_qty", "no_side_trade", "backwards_first", "both_bad"])
def test_bad_rows_name_file_and_row(rows, tmp_path, small_chunks, damage):
    r = rows.copy()
    typ = r["ev"] & 0xFF
    k = r.size * 3 // 5
    tr = k + int(np.flatnonzero(typ[k:] == TRADE_EVENT)[0])
    dp = k + int(np.flatnonzero(typ[k:] == DEPTH_EVENT)[0])
    if damage == "nan_px":
        r["px"][dp] = np.nan
    elif damage == "zero_px_trade":
        r["px"][tr] = 0.0
    elif damage == "neg_qty":
        r["qty"][dp] = -1.0
    elif damage == "zero_qty_trade":
        r["qty"][tr] = 0.0
    elif damage == "zero_qty_snapshot":  # a snapshot level of size 0 is a DEPTH row: allowed
        r["ev"][dp] = DEPTH_SNAPSHOT_EVENT | BOTH | (r["ev"][dp] & (BUY_EVENT | SELL_EVENT))
        r["qty"][dp] = 0.0
    elif damage == "inf_qty":
        r["qty"][tr] = np.inf
    elif damage == "no_side_trade":
        r["ev"][tr] = TRADE_EVENT | BOTH
    elif damage == "backwards_first":  # the first row of a chunk (6_007 rows each)
        c = 6_007 * 5
        r["local_ts"][c] = r["local_ts"][c - 1] - 1
    else:  # a bad size early, a missing side later: the side is reported (convert runs first)
        r["qty"][k - 100] = -2.0
        r["ev"][tr] = DEPTH_EVENT | BOTH
    p = _save(tmp_path / "bad.npz", r)
    got = _same(DataConfig(format="hftbacktest_npz", paths=(p,)), tmp_path / "c")
    if damage == "zero_qty_snapshot":
        return
    assert isinstance(got, str) and got.startswith(f"{p}: ")
    assert not [q for q in (tmp_path / "c").iterdir() if not q.name.startswith(".")]  # nothing cached


def test_crossed_snapshot_is_named_a_snapshot(rows, tmp_path, small_chunks):
    """A message that clears the book and refills it crossed: the stream's error matches the
    in-memory check's, word for word (``snapshot``)."""
    k = rows.size // 2
    t = int(rows["local_ts"][k])
    snap = np.zeros(3, dtype=HBT_DTYPE)
    snap["local_ts"] = snap["exch_ts"] = t
    snap["ev"] = [DEPTH_CLEAR_EVENT | BOTH, DEPTH_SNAPSHOT_EVENT | BOTH | BUY_EVENT,
                  DEPTH_SNAPSHOT_EVENT | BOTH | SELL_EVENT]
    snap["px"] = [0.0, 101.0, 100.0]
    snap["qty"] = [0.0, 1.0, 1.0]
    r = np.concatenate([rows[:k], snap, rows[k:]])
    p = _save(tmp_path / "snap.npz", r)
    msg = _same(DataConfig(format="hftbacktest_npz", paths=(p,)), tmp_path / "c")
    assert f"{p}: message at row {k + 1}: crossed book after applying this snapshot" in msg


def test_rows_dropped_without_local_flag_and_skipped_types(rows, tmp_path, small_chunks):
    """A first chunk without LOCAL rows (the file is scanned for the flag), DEPTH_BBO and user rows
    inside message batches, trades with and without ids: same feed and warnings."""
    r = rows.copy()
    r["ev"][:7_000] &= ~np.uint64(LOCAL_EVENT)
    r["order_id"][r.size // 2:] = 0  # synthetic trade ids from here on
    extra = r[9_000:9_003].copy()
    extra["ev"] = [5 | BOTH | BUY_EVENT, 100 | BOTH, 11 | BOTH | SELL_EVENT]
    r = np.concatenate([r[:9_000], extra, r[9_000:]])
    p = _save(tmp_path / "mix.npz", r)
    feed = _same(DataConfig(format="hftbacktest_npz", paths=(p,)), tmp_path / "c")
    text = "\n".join(feed.warnings)
    assert "DEPTH_BBO_EVENT" in text and "other event types" in text


def _flip_data_byte(path: str, at: float) -> None:
    """Flip one byte of a stored member's rows, in the unused ``ival`` field of a row (its CRC-32
    no longer matches; the rows still parse)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("data.npy")
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(f.read(4), "<u2")
        start = info.header_offset + 30 + int(name_len) + int(extra_len)
        pos = start + 256 + 64 * int((info.file_size - 256) // 64 * at) + HBT_DTYPE.fields["ival"][1]
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x10]))


@pytest.mark.parametrize("at", [0.02, 0.99])
def test_bad_crc_is_reported_as_zipfile_reports_it(rows, tmp_path, small_chunks, at):
    p = _save(tmp_path / "crc.npz", rows)
    _flip_data_byte(p, at)
    with pytest.raises(zipfile.BadZipFile) as ref:  # what zipfile says reading the member
        with zipfile.ZipFile(p) as z, z.open("data.npy") as m:
            while m.read(1 << 16):
                pass
    want = f"{p}: member data.npy: not a readable .npz file ({ref.value})"
    for chunk in (6_007, 1 << 18):
        with pytest.raises(DataError) as got:
            list(npyfile.iter_rows(p, chunk))
        assert str(got.value) == want
    cfg = DataConfig(format="hftbacktest_npz", paths=(p,))
    with pytest.raises(DataError) as got:
        stream.stream_to_npy("hftbacktest_npz", [p], None, tmp_path / "ev.npy", chunk_rows=6_007)
    assert str(got.value) == want
    assert not (tmp_path / "ev.npy").exists()
    assert outcome(lambda: load_feed(cfg, cache_dir=tmp_path / "c", mmap=True))[1] == want


def test_direct_reads_equal_zipfile_reads(rows, tmp_path):
    """Stored members are read at their offset; the chunks equal zipfile's, for every chunk size
    and for members zipfile must read (compressed; bytes after the rows; truncated)."""
    p = _save(tmp_path / "s.npz", rows)
    with zipfile.ZipFile(p) as z:
        assert npyfile._stored(p, z.getinfo("data.npy"), 6_007) is not None
    for chunk in (97, 6_007, rows.size, rows.size + 5):
        got = np.concatenate([a for _, a in npyfile.iter_rows(p, chunk)])
        assert np.array_equal(got, rows)
        assert [s for s, _ in npyfile.iter_rows(p, chunk)] == list(range(0, rows.size, chunk))
    c = _save(tmp_path / "c.npz", rows, compressed=True)
    assert np.array_equal(np.concatenate([a for _, a in npyfile.iter_rows(c, 6_007)]), rows)
    # a member whose header announces more rows than it holds: truncated, named
    raw = tmp_path / "t.npy"
    np.save(raw, rows[:1000])
    data = bytearray(raw.read_bytes())
    short = tmp_path / "t.npz"
    with zipfile.ZipFile(short, "w") as z:
        z.writestr("data.npy", bytes(data[:-64 * 10]))
    with pytest.raises(DataError, match=r"t\.npz\[data\.npy\]: row 991: file ends after 990 of the 1000 rows"):
        list(npyfile.iter_rows(str(short), 300))
    # bytes after the rows: read through zipfile, rows unchanged
    extra = tmp_path / "x.npz"
    with zipfile.ZipFile(extra, "w") as z:
        z.writestr("data.npy", bytes(data) + b"\0" * 100)
    with zipfile.ZipFile(extra) as z:
        assert npyfile._stored(str(extra), z.getinfo("data.npy"), 300) is None
    assert np.array_equal(np.concatenate([a for _, a in npyfile.iter_rows(str(extra), 300)]), rows[:1000])


def test_events_file_is_reproducible_and_verified_once(rows, tmp_path, small_chunks):
    """Two parses write byte-identical events files (the dtype's padding bytes are 0), and the
    writing process does not hash the file again to open it."""
    p = _save(tmp_path / "r.npz", rows)
    a = stream.stream_to_npy("hftbacktest_npz", [p], None, tmp_path / "a.npy", chunk_rows=6_007)
    b = stream.stream_to_npy("hftbacktest_npz", [p], None, tmp_path / "b.npy", chunk_rows=50_000)
    assert a == b
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    ev = np.load(tmp_path / "a.npy")
    assert ev.dtype == EVENT_DTYPE
    pad = np.frombuffer((tmp_path / "a.npy").read_bytes()[npyfile.HEADER_BYTES:], np.uint8).reshape(-1, 48)[:, 42:]
    assert not pad.any()
    cfg = DataConfig(format="hftbacktest_npz", paths=(p,))
    calls = []
    real = npyfile.data_sha256
    try:
        npyfile.data_sha256 = lambda *a: calls.append(a) or real(*a)
        feed = load_feed(cfg, cache_dir=tmp_path / "c", mmap=True)
        assert not [c for c in calls if c[0].name == "events.npy"]  # written and hashed here: not read back
        npyfile._VERIFIED.clear()
        again = load_feed(cfg, cache_dir=tmp_path / "c", mmap=True)  # another process: hashed
        assert [c[0].name for c in calls if c[0].name == "events.npy"] == ["events.npy"]
    finally:
        npyfile.data_sha256 = real
    assert np.array_equal(np.asarray(again.events), np.asarray(feed.events))


def test_one_compiled_signature_whatever_the_chunk(rows, tmp_path):
    """A chunk of one row, a file of other field types, a deflated file: the compiled pass is
    called with the same argument types every time (no compilation at run time)."""
    n = 6_001  # chunks of 6_000 rows: the last has one
    a = _save(tmp_path / "a.npz", rows[:n])
    dt = np.dtype([("local_ts", "<i8"), ("ev", "<i8"), ("px", "<f8"), ("qty", "<f4"), ("exch_ts", "<i8")])
    odd = np.zeros(rows.size - n, dtype=dt)
    for name in dt.names:
        odd[name] = rows[name][n:]
    b = _save(tmp_path / "b.npz", odd, compressed=True)
    stream.stream_to_npy("hftbacktest_npz", [a, b], None, tmp_path / "ev.npy", chunk_rows=6_000)
    sigs = getattr(stream._rows_nb, "signatures", None)
    if sigs is not None:  # NUMBA_DISABLE_JIT: a plain function
        assert len(sigs) == 1, sigs
