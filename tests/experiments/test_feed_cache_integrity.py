"""The parsed-feed cache is integrity-checked (issue 12, item 11): size and sha256 of every
cache file are recorded when written and checked on reuse; a truncated or altered entry is
rebuilt with a warning and gives the arrays of a fresh parse of the recorded sample."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from venues.loaders import DataConfig, load_feed, parse_feed

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"


@pytest.fixture(scope="module")
def fresh():
    """The sample parsed without any cache: the independent reference."""
    return parse_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),)))


def _entry(cache: Path) -> Path:
    (d,) = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return d


def _load(cache: Path, mmap: bool):
    return load_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),)), cache_dir=str(cache),
                     mmap=mmap)


def _same(feed, ref) -> None:
    assert np.array_equal(np.asarray(feed.events), ref.events)
    assert np.array_equal(feed.bbo, ref.bbo)


def test_sizes_and_hashes_are_recorded(tmp_path, fresh):
    import hashlib

    _same(_load(tmp_path, mmap=True), fresh)
    d = _entry(tmp_path)
    files = json.loads((d / "feed.json").read_text())["files"]
    for name in ("events.parquet", "bbo.parquet"):
        data = (d / name).read_bytes()
        assert files[name] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    side = json.loads((d / "events.npy.json").read_text())
    npy = (d / "events.npy").read_bytes()
    assert side == {"size": len(npy), "sha256": hashlib.sha256(npy).hexdigest()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an intact entry is reused silently
        _same(_load(tmp_path, mmap=True), fresh)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
@pytest.mark.parametrize("name", ["events.parquet", "bbo.parquet"])
def test_a_corrupt_parquet_entry_is_rebuilt(tmp_path, fresh, damage, name):
    _load(tmp_path, mmap=False)
    f = _entry(tmp_path) / name
    data = bytearray(f.read_bytes())
    if damage == "truncate":
        del data[len(data) // 2:]
    else:  # same size, one byte changed in the middle (a size check alone would miss it)
        data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=f"feed cache entry .* is corrupt \\({name} changed"):
        feed = _load(tmp_path, mmap=False)
    _same(feed, fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _same(_load(tmp_path, mmap=False), fresh)  # rebuilt: intact again


def test_a_corrupt_events_npy_is_rebuilt(tmp_path, fresh):
    _load(tmp_path, mmap=True)
    npy = _entry(tmp_path) / "events.npy"
    data = bytearray(npy.read_bytes())
    data[-9] ^= 0x01  # one bit of the last event
    npy.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="events.npy is corrupt or unverified; rebuilding"):
        feed = _load(tmp_path, mmap=True)
    _same(feed, fresh)
