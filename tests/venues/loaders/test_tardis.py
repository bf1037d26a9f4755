"""tardis.dev CSV loaders on the real nautilus/tardis samples (../shared/data) and small files
made from their rows; expected values are read off the vendor files by hand."""

from __future__ import annotations

import gzip
from pathlib import Path

import lz4.frame
import numpy as np
import pytest

from engine.feed import CLEAR, DEPTH, TRADE
from venues.loaders import DataConfig, DataError, parse_feed
from venues.loaders.book import RefBook
from venues.loaders.tardis import detect_kind, funding_arrays, load_derivative_ticker

TARDIS = "cex_vendor_format_samples_nautilus/tardis"


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as f:
        return f.read().splitlines()


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.size == b.size and all(np.array_equal(a[n], b[n]) for n in a.dtype.names)


def _load(*paths, symbol=None):
    return parse_feed(DataConfig(format="tardis_csv", paths=tuple(map(str, paths)), symbol=symbol))


def test_detect_kind_from_headers(shared):
    """Each sample's header maps to its tardis data type (names are not used)."""
    d = shared / TARDIS
    kinds = {p.name: detect_kind(_lines(p)[0].split(",")) for p in sorted(d.glob("*.csv.gz"))}
    assert kinds == {
        "binance-futures_book_snapshot_25_BTCUSDT.csv.gz": "book_snapshot",
        "binance-futures_book_snapshot_5_BTCUSDT.csv.gz": "book_snapshot",
        "bitmex_trades_XBTUSD.csv.gz": "trades",
        "deribit_incremental_book_L2_BTC-PERPETUAL.csv.gz": "incremental_book_L2",
        "huobi-dm-swap_quotes_BTC-USD.csv.gz": "quotes",
    }
    assert detect_kind(["exchange", "symbol", "timestamp", "local_timestamp", "funding_timestamp",
                        "funding_rate", "predicted_funding_rate", "open_interest", "last_price",
                        "index_price", "mark_price"]) == "derivative_ticker"
    assert detect_kind(["timestamp", "open", "high"]) is None


def test_incremental_snapshot_real_deribit(shared):
    """The Deribit sample is a 15-level ask snapshot: CLEAR + 15 DEPTH rows; µs → ns exactly."""
    f = _load(shared / TARDIS / "deribit_incremental_book_L2_BTC-PERPETUAL.csv.gz")
    ev = f.events
    assert ev["kind"].tolist() == [CLEAR] + [DEPTH] * 15
    assert (ev["ts_local_ns"] == 1585699200355684 * 1000).all()
    assert (ev["ts_exch_ns"] == 1585699200245000 * 1000).all()
    assert (ev["side"][1:] == -1).all()
    book = RefBook()
    book.apply(ev)
    assert book.best_ask() == 6421.5 and book.asks[6421.5] == 18640.0 and book.best_bid() is None
    assert f.meta.symbol == "BTC-PERPETUAL" and f.meta.venue == "deribit"
    assert f.meta.tick_size == 0.5
    assert any("no trades in the data (book-only)" in w for w in f.warnings)


def _deribit_with_diffs(shared, tmp_path) -> tuple[str, list[str]]:
    rows = _lines(shared / TARDIS / "deribit_incremental_book_L2_BTC-PERPETUAL.csv.gz")
    t = 1585699200455684
    more = [
        f"deribit,BTC-PERPETUAL,{t - 100000},{t},false,bid,6421,5000",     # a bid appears
        f"deribit,BTC-PERPETUAL,{t - 100000},{t},false,ask,6421.5,0",      # best ask deleted
        f"deribit,BTC-PERPETUAL,{t + 1000 - 100000},{t + 1000},false,ask,6422,700",  # resized
        # a new snapshot after diffs: the old book must be discarded
        f"deribit,BTC-PERPETUAL,{t + 5000 - 100000},{t + 5000},true,bid,6410,1",
        f"deribit,BTC-PERPETUAL,{t + 5000 - 100000},{t + 5000},true,ask,6430,2",
    ]
    return _write(tmp_path / "deribit_l2.csv", rows + more), rows


def test_incremental_diffs_and_resnapshot(shared, tmp_path):
    """Diffs set absolute sizes (0 deletes); a snapshot after diffs clears the book first."""
    path, _ = _deribit_with_diffs(shared, tmp_path)
    ev = _load(path).events
    t = 1585699200455684 * 1000
    book = RefBook()
    book.apply(ev[ev["ts_local_ns"] <= t])
    assert book.best_bid() == 6421.0 and book.bids[6421.0] == 5000.0
    assert book.best_ask() == 6422.0 and 6421.5 not in book.asks
    book.apply(ev[(ev["ts_local_ns"] > t) & (ev["ts_local_ns"] <= t + 1_000_000)])
    assert book.asks[6422.0] == 700.0
    late = ev[ev["ts_local_ns"] == t + 5_000_000]
    assert late["kind"].tolist() == [CLEAR, DEPTH, DEPTH]
    book.apply(late)
    assert book.bids == {6410.0: 1.0} and book.asks == {6430.0: 2.0}
    assert (ev["kind"] == CLEAR).sum() == 2


def test_incremental_without_snapshot_is_an_error(shared, tmp_path):
    """A diff stream with no snapshot cannot be rebuilt: DataError, like a Binance capture."""
    rows = _lines(shared / TARDIS / "deribit_incremental_book_L2_BTC-PERPETUAL.csv.gz")
    diffs = [rows[0]] + [r.replace(",true,", ",false,") for r in rows[1:]]
    p = _write(tmp_path / "nosnap.csv", diffs)
    with pytest.raises(DataError, match="no is_snapshot=true rows"):
        _load(p)


def test_diffs_before_first_snapshot_dropped_with_warning(shared, tmp_path):
    rows = _lines(shared / TARDIS / "deribit_incremental_book_L2_BTC-PERPETUAL.csv.gz")
    t0 = 1585699200300000
    early = [f"deribit,BTC-PERPETUAL,{t0},{t0},false,bid,6400,1", f"deribit,BTC-PERPETUAL,{t0},{t0},false,ask,6500,1"]
    p = _write(tmp_path / "early.csv", [rows[0], *early, *rows[1:]])
    f = _load(p)
    assert f.events["kind"].tolist() == [CLEAR] + [DEPTH] * 15
    assert any("2 incremental_book_L2 row(s) before the first snapshot were dropped" in w and ":" in w
               for w in f.warnings)


def test_book_snapshot_25_and_5_agree(shared):
    """Each snapshot row → CLEAR + 25 bids + 25 asks; the 5-level file of the same day holds the
    same top 5 at the timestamps both files have."""
    f25 = _load(shared / TARDIS / "binance-futures_book_snapshot_25_BTCUSDT.csv.gz")
    f5 = _load(shared / TARDIS / "binance-futures_book_snapshot_5_BTCUSDT.csv.gz")
    assert f25.events.size == 10 * 51 and f5.events.size == 10 * 11
    assert f25.meta.venue == "binance_usdm" and f25.meta.symbol == "BTCUSDT"
    first = f25.events[:51]
    book = RefBook()
    book.apply(first)
    # from line 2 of the file: asks[0] 11657.08 x 1.714, bids[0] 11657.07 x 10.896
    assert (book.best_bid(), book.best_ask()) == (11657.07, 11657.08)
    assert book.bids[11657.07] == 10.896 and book.asks[11657.08] == 1.714
    common = np.intersect1d(f25.events["ts_local_ns"], f5.events["ts_local_ns"])
    assert common.size >= 4
    for ts in common:
        b25, b5 = RefBook(), RefBook()
        b25.apply(f25.events[f25.events["ts_local_ns"] == ts])
        b5.apply(f5.events[f5.events["ts_local_ns"] == ts])
        top = lambda d, rev: dict(sorted(d.items(), reverse=rev)[:5])  # noqa: E731
        assert top(b25.bids, True) == b5.bids and top(b25.asks, False) == b5.asks


def test_trades_real_bitmex(shared):
    """10 sells; UUID ids become distinct stable hashes; amounts as recorded (contracts)."""
    f = _load(shared / TARDIS / "bitmex_trades_XBTUSD.csv.gz")
    ev = f.events
    assert (ev["kind"] == TRADE).all() and ev.size == 10
    assert (ev["side"] == -1).all() and (ev["px"] == 8531.5).all()
    assert ev["qty"].tolist() == [2152.0] + [1.0] * 9
    assert np.unique(ev["trade_id"]).size == 10 and (ev["trade_id"] >= 0).all()
    again = _load(shared / TARDIS / "bitmex_trades_XBTUSD.csv.gz").events["trade_id"]
    assert (again == ev["trade_id"]).all()
    assert any("no order-book rows (trades only)" in w for w in f.warnings)


def test_trade_duplicate_id_and_unknown_side(shared, tmp_path):
    rows = _lines(shared / TARDIS / "bitmex_trades_XBTUSD.csv.gz")
    dup = _write(tmp_path / "dup.csv", rows + [rows[3].replace("1583020803336743", "1583020803336744", 1)])
    with pytest.raises(DataError, match=r"dup\.csv: line 12: duplicate trade id"):
        _load(dup)
    unk = _write(tmp_path / "unk.csv", rows[:3] + [rows[3].replace(",sell,", ",unknown,")])
    f = _load(unk)
    assert f.events.size == 2
    assert any("1 trade(s) with side 'unknown'" in w for w in f.warnings)


def test_quotes_real_huobi(shared):
    """Quotes are the BBO; without a depth file they also replay as one-level snapshots."""
    f = _load(shared / TARDIS / "huobi-dm-swap_quotes_BTC-USD.csv.gz")
    assert f.bbo.size == 10
    b0 = f.bbo[0]
    assert (b0["bid_px"], b0["bid_qty"], b0["ask_px"], b0["ask_qty"]) == (8629.2, 806.0, 8629.3, 5494.0)
    assert b0["ts_local_ns"] == 1588291201234268000 and b0["ts_exch_ns"] == 1588291201099000000
    assert f.events["kind"].tolist()[:3] == [CLEAR, DEPTH, DEPTH]
    assert any("replayed as one-level snapshots" in w for w in f.warnings)


def test_symbols_and_exchanges(shared, tmp_path):
    rows = _lines(shared / TARDIS / "bitmex_trades_XBTUSD.csv.gz")
    other = [r.replace("XBTUSD", "ETHUSD") for r in rows[1:]]
    p = _write(tmp_path / "two.csv", [rows[0], *rows[1:4], *[o.replace("-", "x", 1) for o in other[:2]]])
    with pytest.raises(DataError, match=r"more than one symbol.*set DataConfig.symbol"):
        _load(p)
    assert _load(p, symbol="xbtusd").events.size == 3
    f2 = _write(tmp_path / "deribit.csv", [rows[0], rows[1].replace("bitmex", "deribit")])
    with pytest.raises(DataError, match="several exchanges"):
        _load(p, f2, symbol="XBTUSD")


def test_bad_cell_and_backwards_time_name_the_line(shared, tmp_path):
    rows = _lines(shared / TARDIS / "bitmex_trades_XBTUSD.csv.gz")
    bad = _write(tmp_path / "bad.csv", rows[:5] + [rows[5].replace(",8531.5,", ",abc,")])
    with pytest.raises(DataError, match=r"bad\.csv: line 6: column 'price': 'abc' is not a number"):
        _load(bad)
    back = _write(tmp_path / "back.csv", [rows[0], rows[2], rows[1]])
    with pytest.raises(DataError, match=r"back\.csv: line 3: local_timestamp .* earlier"):
        _load(back)
    with pytest.raises(DataError, match=r"line 1: not a tardis.dev CSV header"):
        _load(_write(tmp_path / "x.csv", ["a,b,c", "1,2,3"]))


def test_lz4_and_gzip_read_the_same(shared, tmp_path):
    src = shared / TARDIS / "binance-futures_book_snapshot_5_BTCUSDT.csv.gz"
    raw = gzip.decompress(src.read_bytes())
    lz = tmp_path / "snap.csv.lz4"
    lz.write_bytes(lz4.frame.compress(raw))
    a, b = _load(src).events, _load(lz).events
    assert _same(a, b)


def test_files_merge_by_local_time(shared, tmp_path):
    """Two halves of a file given in reverse order replay as the whole file."""
    rows = _lines(shared / TARDIS / "binance-futures_book_snapshot_5_BTCUSDT.csv.gz")
    a = _write(tmp_path / "a.csv", rows[:6])
    b = _write(tmp_path / "b.csv", [rows[0], *rows[6:]])
    whole = _load(shared / TARDIS / "binance-futures_book_snapshot_5_BTCUSDT.csv.gz").events
    f = _load(b, a)
    assert _same(f.events, whole)
    assert any("given out of time order" in w for w in f.warnings)


DERIV_HEADER = ("exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,"
                "predicted_funding_rate,open_interest,last_price,index_price,mark_price")


def test_derivative_ticker_funding_arrays(tmp_path):
    """Schema of tardis.dev's derivative_ticker (documented header; values made here): empty
    cells are NaN / -1, rows without a funding rate are left out of funding_arrays."""
    p = _write(tmp_path / "dt.csv", [
        DERIV_HEADER,
        "binance-futures,BTCUSDT,1598918400000000,1598918400100000,1598947200000000,0.0001,0.00012,"
        "52000.5,11650.1,11649.9,11650.3",
        "binance-futures,BTCUSDT,1598918401000000,1598918401100000,,,,,11651,,",
        "binance-futures,BTCUSDT,1598918402000000,1598918402100000,1598947200000000,0.000105,,,,,11651.7",
    ])
    t = load_derivative_ticker(p)
    assert t.symbol == "BTCUSDT" and t.exchange == "binance-futures"
    assert t.ts_ns.tolist() == [1598918400000000000, 1598918401000000000, 1598918402000000000]
    assert np.isnan(t.funding_rate[1]) and t.next_funding_ts_ns[1] == -1
    ts, rate, mark, nxt = funding_arrays(p)
    assert ts.tolist() == [1598918400000000000, 1598918402000000000]
    assert rate.tolist() == [0.0001, 0.000105] and mark.tolist() == [11650.3, 11651.7]
    assert nxt.tolist() == [1598947200000000000] * 2  # 2020-09-01 08:00 UTC: a Binance funding time
    with pytest.raises(DataError, match="not derivative_ticker"):
        load_derivative_ticker(_write(tmp_path / "tr.csv", ["exchange,symbol,timestamp,local_timestamp,id,"
                                                            "side,price,amount"]))
    f = _load(p, _write(tmp_path / "q.csv", [
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
        "binance-futures,BTCUSDT,1598918400000000,1598918400100000,1,11650.5,11650.4,2"]))
    assert any("derivative_ticker" in w and "skipped" in w for w in f.warnings)
