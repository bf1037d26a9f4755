"""Validation on load: every bad row raises DataError naming the file and the line."""

from __future__ import annotations

import gzip
import json

import pytest

from venues.loaders import DataConfig, DataError, load_feed
from venues.loaders.testing import fut_diff, snapshot, trade, write_capture

T0 = 1_721_347_021_000_000_000
GOOD_SNAP = snapshot(100, [(100.0, 2)], [(101.0, 1)])


def _load(p):
    return load_feed(DataConfig(format="binance_ws", paths=(p,)))


def _cap(tmp_path, *later):
    lines = [(T0, GOOD_SNAP), (T0 + 1, fut_diff(99, 101, 98, bids=[(100.0, 3)]))]
    lines += [(T0 + 2 + i, m) for i, m in enumerate(later)]
    return write_capture(tmp_path / "c.gz", lines)


def test_nan_price(tmp_path):
    """A NaN price in a diff names file, line and key."""
    p = _cap(tmp_path, fut_diff(102, 103, 101, bids=[("NaN", 1)]))
    with pytest.raises(DataError, match=r"c\.gz: line 3: price nan") as ei:
        _load(p)
    assert "px" in str(ei.value)


def test_negative_size(tmp_path):
    """A negative level size names file, line and key."""
    p = _cap(tmp_path, fut_diff(102, 103, 101, asks=[(101.0, -1)]))
    with pytest.raises(DataError, match=r"c\.gz: line 3: size -1\.0.*qty"):
        _load(p)


def test_zero_size_in_snapshot(tmp_path):
    """Size 0 is a delete in diffs only; in a snapshot it is an error."""
    p = write_capture(tmp_path / "c.gz", [(T0, snapshot(100, [(100.0, 0)], [(101.0, 1)])),
                                          (T0 + 1, fut_diff(99, 101, 98))])
    with pytest.raises(DataError, match=r"c\.gz: line 1: size 0"):
        _load(p)


def test_crossed_snapshot(tmp_path):
    """A snapshot whose best bid >= best ask is refused, naming file and line."""
    p = write_capture(tmp_path / "c.gz", [(T0, snapshot(100, [(102.0, 1)], [(101.0, 1)])),
                                          (T0 + 1, fut_diff(99, 101, 98))])
    with pytest.raises(DataError, match=r"c\.gz: line 1: crossed book.*best_bid 102"):
        _load(p)


def test_crossed_after_diff(tmp_path):
    """A diff that leaves the book crossed is refused too."""
    p = _cap(tmp_path, fut_diff(102, 103, 101, bids=[(101.5, 1)]))
    with pytest.raises(DataError, match=r"c\.gz: line 3: crossed book after applying this update"):
        _load(p)


def test_out_of_order_timestamps(tmp_path):
    """A local timestamp going backwards within a file names file and line."""
    lines = [(T0, GOOD_SNAP), (T0 + 10, fut_diff(99, 101, 98)), (T0 + 5, trade(1, 100.5, 1, True))]
    p = write_capture(tmp_path / "c.gz", lines)
    with pytest.raises(DataError, match=r"c\.gz: line 3: local timestamp .* earlier"):
        _load(p)


def test_duplicate_trade_id(tmp_path):
    """Two trades with the same id name the second one's line and the first one's."""
    p = _cap(tmp_path, trade(5, 100.5, 1, True), trade(5, 100.6, 2, False))
    with pytest.raises(DataError, match=r"c\.gz: line 4: duplicate trade id 5.*line 3"):
        _load(p)


def test_malformed_json(tmp_path):
    """A line that is not '<ts> <JSON>' names file and line."""
    p = tmp_path / "c.gz"
    with gzip.open(p, "wt") as f:
        f.write(f"{T0} {json.dumps(GOOD_SNAP)}\n{T0 + 1} {{not json\n")
    with pytest.raises(DataError, match=r"c\.gz: line 2: cannot parse"):
        _load(str(p))


def test_hyperliquid_ws_bad_price(tmp_path):
    """Hyperliquid websocket lines get the same checks (negative trade price)."""
    p = tmp_path / "hl.gz"
    book = {"channel": "l2Book", "data": {"coin": "ETH", "time": 1, "levels": [
        [{"px": "100.0", "sz": "1", "n": 1}], [{"px": "101.0", "sz": "1", "n": 1}]]}}
    trades = {"channel": "trades", "data": [{"coin": "ETH", "px": "-1", "side": "A", "sz": "1",
                                             "tid": 3, "time": 2}]}
    with gzip.open(p, "wt") as f:
        f.write(f"{T0} {json.dumps(book)}\n{T0 + 1} {json.dumps(trades)}\n")
    with pytest.raises(DataError, match=r"hl\.gz: line 2: price -1\.0"):
        load_feed(DataConfig(format="hyperliquid_ws", paths=(str(p),)))
