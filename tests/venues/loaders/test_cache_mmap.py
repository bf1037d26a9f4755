"""``load_feed(..., mmap=True)``: the cached events as a shared, read-only memory map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from venues.loaders import DataConfig, load_feed

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"


def test_mmap_feed_equals_the_parsed_one_and_is_read_only(tmp_path, monkeypatch):
    """The first mmap load parses once and writes events.npy; later loads map it read-only and
    parse nothing; the arrays equal a plain load."""
    log = tmp_path / "parses.log"
    monkeypatch.setenv("MMSIM_PARSE_LOG", str(log))
    cfg = DataConfig(format="binance_ws", paths=(str(SAMPLE),))
    plain = load_feed(cfg, cache_dir=tmp_path / "c")
    mapped = load_feed(cfg, cache_dir=tmp_path / "c", mmap=True)
    again = load_feed(cfg, cache_dir=tmp_path / "c", mmap=True)
    assert len(log.read_text().splitlines()) == 1  # parsed once, every other load hit the cache
    assert list((tmp_path / "c").glob("*/events.npy"))
    for f in (mapped, again):
        assert np.array_equal(f.events, plain.events) and f.events.dtype == plain.events.dtype
        assert not f.events.flags.writeable
        assert f.meta == plain.meta
    with pytest.raises(ValueError):
        mapped.events["px"][0] = 1.0
