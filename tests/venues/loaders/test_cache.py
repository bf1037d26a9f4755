"""Parquet cache: hits return identical arrays without parsing; options change the key."""

from __future__ import annotations

import numpy as np
import pytest

import venues.loaders as loaders
from venues.loaders import DataConfig, load_feed
from venues.loaders.testing import fut_diff, snapshot, trade, write_capture

T0 = 1_721_347_021_000_000_000


def _cap(tmp_path):
    return write_capture(tmp_path / "c.gz", [
        (T0, snapshot(100, [(100.0, 2)], [(101.0, 1)])),
        (T0 + 1, fut_diff(99, 101, 98, bids=[(100.0, 3)])),
        (T0 + 2, trade(1, 100.5, 1, True)),
        (T0 + 3, fut_diff(102, 104, 101, asks=[(101.0, 0), (101.5, 2)])),
    ])


def test_cache_hit_identical_no_reparse(tmp_path, monkeypatch):
    """The second load is served from the cache (the parser is never called) and returns
    identical arrays, meta, gaps and warnings."""
    cfg = DataConfig(format="binance_ws", paths=(_cap(tmp_path),))
    cache = tmp_path / "cache"
    first = load_feed(cfg, cache_dir=cache)
    assert len(list(cache.iterdir())) == 1

    def boom(*a, **k):
        raise AssertionError("re-parsed despite a cache hit")

    monkeypatch.setattr(loaders, "_parse", boom)
    second = load_feed(cfg, cache_dir=cache)
    assert second.events.dtype == first.events.dtype
    assert np.array_equal(second.events, first.events)
    assert np.array_equal(second.bbo, first.bbo)
    assert second.meta == first.meta and second.gaps == first.gaps
    assert second.warnings == first.warnings


def test_cache_key_changes_with_options_and_bytes(tmp_path):
    """on_gap, symbol and the file bytes are part of the key; a renamed copy still hits."""
    from venues.loaders.cache import cache_key

    p = _cap(tmp_path)
    base = DataConfig(format="binance_ws", paths=(p,))
    k = cache_key(base, [p])
    assert cache_key(DataConfig(format="binance_ws", paths=(p,), on_gap="stop"), [p]) != k
    assert cache_key(DataConfig(format="binance_ws", paths=(p,), symbol="ETHUSDT"), [p]) != k
    copy = tmp_path / "renamed.gz"
    copy.write_bytes((tmp_path / "c.gz").read_bytes())
    assert cache_key(base, [str(copy)]) == k
    copy.write_bytes(copy.read_bytes() + b"\n")
    assert cache_key(base, [str(copy)]) != k


def test_corrupt_cache_entry_is_rebuilt(tmp_path):
    """A damaged entry is a miss, re-parsed and replaced; no temp directories are left."""
    cfg = DataConfig(format="binance_ws", paths=(_cap(tmp_path),))
    cache = tmp_path / "cache"
    first = load_feed(cfg, cache_dir=cache)
    (entry,) = cache.iterdir()
    (entry / "events.parquet").write_bytes(b"garbage")
    again = load_feed(cfg, cache_dir=cache)
    assert np.array_equal(again.events, first.events)
    assert [x.name for x in cache.iterdir()] == [entry.name]
    assert np.array_equal(load_feed(cfg, cache_dir=cache).events, first.events)


def test_config_validation():
    """DataConfig rejects unknown formats and on_gap values; lists become tuples."""
    with pytest.raises(ValueError):
        DataConfig(format="csv", paths=("a",))
    with pytest.raises(ValueError):
        DataConfig(format="binance_ws", paths=("a",), on_gap="ignore")
    assert DataConfig(format="binance_ws", paths=["a", "b"]).paths == ("a", "b")
