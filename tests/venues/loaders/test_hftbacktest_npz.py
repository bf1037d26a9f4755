"""hftbacktest ``.npz`` loader on files written by hftbacktest's own converter (issue 10, item 5).

hftbacktest's ``binancefutures.convert`` writes one row per price level, all bid levels of a
depth message before its ask levels, so the book can look crossed *inside* a message. The
loader used to check crossing after every row and refused hftbacktest's own files; it now
checks after each message batch (consecutive rows with the same ``exch_ts`` and ``local_ts``).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from venues.loaders import DataConfig, DataError, load_feed
from venues.loaders.book import RefBook
from venues.loaders.hftbacktest import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    HBT_DTYPE,
    LOCAL_EVENT,
    SELL_EVENT,
)

ROOT = Path(__file__).resolve().parents[3]
RAW = ROOT / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
F = EXCH_EVENT | LOCAL_EVENT


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """ethusdt_20240718 converted by hftbacktest 2.4.4's own converter (the dev extra)."""
    binancefutures = pytest.importorskip("hftbacktest.data.utils.binancefutures")
    out = tmp_path_factory.mktemp("hbt") / "ethusdt_20240718.npz"
    with contextlib.redirect_stdout(io.StringIO()):
        binancefutures.convert(str(RAW), output_filename=str(out), combined_stream=True, buffer_size=2_000_000)
    return out


def test_converter_output_loads(converted):
    """The converted file loads; every LOCAL row of a depth/trade/clear type becomes one event,
    in the file's order, with its exchange time."""
    a = np.load(converted)["data"]
    feed = load_feed(DataConfig(format="hftbacktest_npz", paths=(str(converted),)))
    local = a[(a["ev"] & LOCAL_EVENT) != 0]
    typ = local["ev"] & 0xFF
    kept = local[np.isin(typ, [1, 2, 3, 4])]
    assert feed.events.size == kept.size > 10_000
    np.testing.assert_array_equal(feed.events["ts_local_ns"], kept["local_ts"])
    np.testing.assert_array_equal(feed.events["ts_exch_ns"], kept["exch_ts"])
    assert feed.meta.tick_size == pytest.approx(0.01) and feed.meta.lot_size == pytest.approx(0.001)


def test_converter_output_is_crossed_inside_messages(converted):
    """The situation the fix is for, measured on the converter's file: replayed row by row the
    book is crossed at some rows, but never after a whole (exch_ts, local_ts) batch."""
    a = np.load(converted)["data"]
    a = a[(a["ev"] & LOCAL_EVENT) != 0]
    typ = a["ev"] & 0xFF
    side = np.where((a["ev"] & BUY_EVENT) != 0, 1, -1)
    end = np.ones(a.size, dtype=bool)
    end[:-1] = (a["local_ts"][1:] != a["local_ts"][:-1]) | (a["exch_ts"][1:] != a["exch_ts"][:-1])
    book = RefBook()
    crossed_rows = crossed_batches = 0
    for i in range(a.size):
        if typ[i] == DEPTH_CLEAR_EVENT:
            book.clear(int(side[i]))
        elif typ[i] in (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT):
            book.set(int(side[i]), float(a["px"][i]), float(a["qty"][i]))
        else:
            continue
        bb, ba = book.best_bid(), book.best_ask()
        if bb is not None and ba is not None and bb >= ba:
            crossed_rows += 1
            crossed_batches += bool(end[i])
    assert crossed_rows > 0 and crossed_batches == 0


def _write(tmp_path, rows):
    arr = np.zeros(len(rows), dtype=HBT_DTYPE)
    for i, (ev, ex, lo, px, q) in enumerate(rows):
        arr[i] = (ev, ex, lo, px, q, 0, 0, 0.0)
    p = tmp_path / "d.npz"
    np.savez(p, data=arr)
    return p


SNAP = [
    (DEPTH_CLEAR_EVENT | F | BUY_EVENT, 10, 15, 99.0, 0.0),
    (DEPTH_SNAPSHOT_EVENT | F | BUY_EVENT, 10, 15, 100.0, 2.0),
    (DEPTH_CLEAR_EVENT | F | SELL_EVENT, 10, 15, 102.0, 0.0),
    (DEPTH_SNAPSHOT_EVENT | F | SELL_EVENT, 10, 15, 101.0, 3.0),
]


def test_bid_before_ask_in_one_message(tmp_path):
    """Hand case in the converter's layout: one message moves the bid up to 101 (row 5) and
    deletes the ask at 101 (row 6). After row 5 alone the book is 101 / 101 (crossed); after
    the message it is 101 / 102. It loads (before the fix: DataError at row 5)."""
    p = _write(tmp_path, [*SNAP,
                          (DEPTH_EVENT | F | BUY_EVENT, 20, 25, 101.0, 1.0),
                          (DEPTH_EVENT | F | SELL_EVENT, 20, 25, 101.0, 0.0),
                          (DEPTH_EVENT | F | SELL_EVENT, 20, 25, 102.0, 4.0)])  # fmt: skip
    feed = load_feed(DataConfig(format="hftbacktest_npz", paths=(str(p),)))
    assert feed.events.size == 7


def test_crossed_after_whole_message_is_refused(tmp_path):
    """A batch that leaves the book crossed is still an error, naming the file and the
    batch's first row; a different local_ts splits a batch."""
    p = _write(tmp_path, [*SNAP,
                          (DEPTH_EVENT | F | BUY_EVENT, 20, 25, 101.0, 1.0),
                          (DEPTH_EVENT | F | SELL_EVENT, 20, 26, 101.0, 0.0)])  # fmt: skip
    with pytest.raises(DataError, match=r"d\.npz: message at row 5: crossed book"):
        load_feed(DataConfig(format="hftbacktest_npz", paths=(str(p),)))
