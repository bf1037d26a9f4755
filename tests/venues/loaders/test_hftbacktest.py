"""hftbacktest .npz loader: conversion of its event dtype and flags."""

from __future__ import annotations

import numpy as np
import pytest

from engine.feed import CLEAR, DEPTH, TRADE
from venues.loaders import DataConfig, DataError, load_feed
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

F = EXCH_EVENT | LOCAL_EVENT


def _rows():
    rows = [
        (DEPTH_CLEAR_EVENT | F | BUY_EVENT, 10, 15, 99.0, 0.0),
        (DEPTH_CLEAR_EVENT | F | SELL_EVENT, 10, 15, 102.0, 0.0),
        (DEPTH_SNAPSHOT_EVENT | F | BUY_EVENT, 10, 15, 100.0, 2.0),
        (DEPTH_SNAPSHOT_EVENT | F | SELL_EVENT, 10, 15, 101.0, 3.0),
        (DEPTH_EVENT | F | BUY_EVENT, 20, 25, 100.0, 0.0),
        (TRADE_EVENT | F | SELL_EVENT, 30, 35, 100.0, 0.5),
        (DEPTH_EVENT | EXCH_EVENT | BUY_EVENT, 40, 45, 100.5, 1.0),  # exchange-side copy only
        (TRADE_EVENT | F | BUY_EVENT, 50, 55, 101.0, 0.25),
    ]
    a = np.zeros(len(rows), dtype=HBT_DTYPE)
    for i, (ev, ex, lo, px, q) in enumerate(rows):
        a[i] = (ev, ex, lo, px, q, 0, 0, 0.0)
    return a


def test_npz_round_trip(tmp_path):
    """A small .npz in hftbacktest's dtype converts row by row: kinds, sides from the flag bits,
    timestamps, px/qty; exchange-only rows are dropped; trades get ordinal ids."""
    p = tmp_path / "d.npz"
    np.savez_compressed(p, data=_rows())
    feed = load_feed(DataConfig(format="hftbacktest_npz", paths=(str(p),), symbol="ETHUSDT"))
    ev = feed.events
    assert ev["kind"].tolist() == [CLEAR, CLEAR, DEPTH, DEPTH, DEPTH, TRADE, TRADE]
    assert ev["side"].tolist() == [1, -1, 1, -1, 1, -1, 1]
    assert ev["ts_local_ns"].tolist() == [15, 15, 15, 15, 25, 35, 55]
    assert ev["ts_exch_ns"].tolist() == [10, 10, 10, 10, 20, 30, 50]
    assert ev["px"][2:].tolist() == [100.0, 101.0, 100.0, 100.0, 101.0]
    assert ev["qty"][2:].tolist() == [2.0, 3.0, 0.0, 0.5, 0.25]
    assert ev["trade_id"].tolist() == [-1, -1, -1, -1, -1, 0, 1]
    assert feed.meta.venue == "hftbacktest" and feed.meta.symbol == "ETHUSDT"
    assert any("DEPTH_CLEAR_EVENT" in w for w in feed.warnings)


def test_npz_out_of_order_row(tmp_path):
    """A local_ts going backwards names the file and the 1-based row."""
    a = _rows()
    a["local_ts"][5] = 1
    p = tmp_path / "d.npz"
    np.savez(p, data=a)
    with pytest.raises(DataError, match=r"d\.npz: row 6: local_ts"):
        load_feed(DataConfig(format="hftbacktest_npz", paths=(str(p),)))


def test_npz_wrong_dtype(tmp_path):
    """An array that is not hftbacktest's event dtype is refused naming the file."""
    p = tmp_path / "d.npz"
    np.savez(p, data=np.zeros((3, 6)))
    with pytest.raises(DataError, match=r"d\.npz.*event dtype"):
        load_feed(DataConfig(format="hftbacktest_npz", paths=(str(p),)))
