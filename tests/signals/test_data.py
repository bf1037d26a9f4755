"""signals.data.load_data: every source parses, validation names file and line, tick bars + book."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals import bars
from signals.data import MarketData, SignalDataConfig, load_data, read_ohlcv, uniswap_tick_to_price
from venues.loaders import DataConfig, load_feed
from venues.loaders._common import DataError

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
BUNDLED = tuple(str(ROOT / "data" / "binance_usdm_ethusdt" / f"ethusdt_2024071{d}.gz") for d in (8, 9))
CB = SHARED / "coinbase_ethusd_minute_trade_quote_lean"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")


def _write_gz(path: Path, text: str) -> str:
    with gzip.open(path, "wt") as f:
        f.write(text)
    return str(path)


def test_candles_parse_and_unknown_fields_nan(tmp_path):
    """Candle rows map to time bars with ts_close = open + interval and NaN for unknown fields."""
    p = _write_gz(
        tmp_path / "ETH_USDT-1m_x.csv.gz",
        "open_time_ms,open,high,low,close,volume\n60000,10,11,9,10.5,3\n120000,10.5,12,10,11,4\n",
    )
    md = load_data(SignalDataConfig(source="binance_candles", paths=(p,)))
    assert isinstance(md, MarketData) and md.top is None
    b = md.bars
    assert b["ts_open_ns"].tolist() == [60_000_000_000, 120_000_000_000]
    assert b["ts_close_ns"].tolist() == [120_000_000_000, 180_000_000_000]
    assert b["close"].tolist() == [10.5, 11.0] and b["volume"].tolist() == [3.0, 4.0]
    assert np.isnan(b["vwap"]).all() and np.isnan(b["dollar_volume"]).all() and (b["n_trades"] == -1).all()


@pytest.mark.parametrize(
    ("rows", "line", "what"),
    [
        ("60000,10,11,9,10.5,3\n120000,nan,12,10,11,4\n", 3, "open"),
        ("60000,10,11,9,10.5,3\n120000,10,12,0,11,4\n", 3, "low"),
        ("60000,10,11,9,10.5,3\n60000,10,12,9,11,4\n", 3, "duplicate"),
        ("120000,10,11,9,10.5,3\n60000,10,12,9,11,4\n", 3, "out-of-order"),
    ],
)
def test_candle_validation_names_file_and_line(tmp_path, rows, line, what):
    """NaN/non-positive prices and duplicate/out-of-order timestamps raise DataError with file:line."""
    p = _write_gz(tmp_path / "ETH_USDT-1m_bad.csv.gz", "open_time_ms,open,high,low,close,volume\n" + rows)
    with pytest.raises(DataError, match=rf"{p}: line {line}: .*{what}"):
        load_data(SignalDataConfig(source="binance_candles", paths=(p,)))


def test_out_of_order_across_files(tmp_path):
    """Files are concatenated in order; a later file starting earlier raises naming that file."""
    hdr = "open_time_ms,open,high,low,close,volume\n"
    a = _write_gz(tmp_path / "A-1m_.csv.gz", hdr + "120000,10,11,9,10.5,3\n")
    b = _write_gz(tmp_path / "B-1m_.csv.gz", hdr + "60000,10,11,9,10.5,3\n")
    with pytest.raises(DataError, match=rf"{b}: line 2"):
        load_data(SignalDataConfig(source="binance_candles", paths=(a, b)))


def test_minute_sources_reject_other_bars(tmp_path):
    """Candles give time bars only."""
    p = _write_gz(tmp_path / "X-1m_.csv.gz", "open_time_ms,open,high,low,close,volume\n60000,10,11,9,10.5,3\n")
    with pytest.raises(ValueError, match="time bars only"):
        load_data(SignalDataConfig(source="binance_candles", paths=(p,), bar="dollar", bar_size=1e6))


def test_missing_file():
    """A missing path raises DataError naming it."""
    with pytest.raises(DataError, match="nope.csv: data file not found"):
        load_data(SignalDataConfig(source="binance_candles", paths=("nope.csv",)))


def test_uniswap_price_and_volumes(tmp_path):
    """Price = 1e12 / 1.0001**tick (high at lowestTick); volumes from in/net amounts (net = in - out)."""
    p = _write_gz(
        tmp_path / "pool.minute.csv.gz",
        "timestamp,netAmount0,netAmount1,closeTick,openTick,lowestTick,highestTick,inAmount0,inAmount1,currentLiquidity\n"
        "2024-01-05 00:00:00,1000000,-500000000000000000,200000,199990,199980,200010,3000000,0,1\n",
    )
    b = load_data(SignalDataConfig(source="uniswap_minute", paths=(p,))).bars
    assert b["ts_open_ns"][0] == 1_704_412_800_000_000_000
    assert b["open"][0] == uniswap_tick_to_price(199990.0)
    assert b["high"][0] == uniswap_tick_to_price(199980.0) > b["low"][0] == uniswap_tick_to_price(200010.0)
    assert b["volume"][0] == 0.5 and b["buy_volume"][0] == 0.5  # 0.5 WETH out, none in
    assert b["dollar_volume"][0] == 5.0  # 3 USDC in + 2 USDC out
    assert b["vwap"][0] == 10.0


@needs_shared
def test_coinbase_trade_and_quote_bars():
    """LEAN minute trades of two days + quotes: ts from filename date + ms; top of book at close."""
    paths = tuple(str(CB / f"2018040{d}_ethusd_minute_{k}.csv.gz") for k in ("trade", "quote") for d in (4, 5))
    md = load_data(SignalDataConfig(source="coinbase_minute", paths=paths))
    n_rows = sum(len(gzip.open(p, "rt").read().split()) for p in paths[:2])
    assert len(md.bars) == n_rows > 2400
    assert md.bars["ts_open_ns"][0] == 1_522_800_000_000_000_000  # 2018-04-04 00:00 UTC
    assert (np.diff(md.bars["ts_close_ns"]) > 0).all()
    assert md.top is not None and len(md.top) == len(md.bars)
    ok = ~np.isnan(md.top["bid_px"])
    assert ok.mean() > 0.99 and (md.top["bid_px"][ok] < md.top["ask_px"][ok]).all()


@needs_shared
def test_long_candles_load():
    """The 1m Binance series (105,120 gapless candles) loads with strictly increasing closes."""
    p = SHARED / "binance_spot_ohlcv_freqtrade" / "ETH_USDT-1m_20250520_20250731.csv.gz"
    b = load_data(SignalDataConfig(source="binance_candles", paths=(str(p),))).bars
    assert len(b) == 105_120 and (np.diff(b["ts_open_ns"]) == 60_000_000_000).all()


def test_ticks_dollar_bars_and_book():
    """Recorded Binance ticks → the same bars as signals.bars, plus an uncrossed top of book."""
    cfg = SignalDataConfig(source="ticks", paths=BUNDLED, bar="dollar", bar_size=100_000.0)
    md = load_data(cfg)
    trades = bars.trades_from_events(load_feed(DataConfig(format="binance_ws", paths=BUNDLED)).events)
    want = bars.dollar_bars(*trades, dollar=100_000.0)
    assert md.bars.tobytes() == want.tobytes()
    top = md.top
    assert top is not None and (top["ts_ns"] == md.bars["ts_close_ns"]).all()
    ok = ~np.isnan(top["bid_px"]) & ~np.isnan(top["ask_px"])
    assert ok.mean() > 0.95 and (top["bid_px"][ok] < top["ask_px"][ok]).all()
    # the closing trade printed at or inside the book it left (taker side crosses the touch)
    assert (np.abs(md.bars["close"][ok] - (top["bid_px"][ok] + top["ask_px"][ok]) / 2) < 5.0).all()


def test_ticks_time_bars_need_size():
    """Time bars from ticks need a period."""
    with pytest.raises(ValueError, match="bar_size > 0"):
        load_data(SignalDataConfig(source="ticks", paths=BUNDLED, bar="time"))


# ---------------------------------------------------------------- OHLCV layouts (source "ohlcv")

FT = SHARED / "binance_spot_ohlcv_freqtrade"


def _real_daily(n: int = 40) -> list[list[str]]:
    """The first ``n`` real daily candles (freqtrade CSV, ascending)."""
    with gzip.open(FT / "ETH_USDT-1d_20200511_20241205.csv.gz", "rt") as f:
        rows = [line.strip().split(",") for line in f][1:]
    return rows[:n]


def _ohlcv(*paths, source="ohlcv"):
    return load_data(SignalDataConfig(source=source, paths=tuple(map(str, paths))))


@needs_shared
def test_freqtrade_json_equals_csv(tmp_path):
    """freqtrade's JSON candles [[ts_ms,o,h,l,c,v],...] give the same bars as the CSV."""
    rows = _real_daily()
    csv_p = tmp_path / "ETH_USDT-1d_.csv"
    csv_p.write_text("open_time_ms,open,high,low,close,volume\n" + "\n".join(",".join(r) for r in rows) + "\n")
    js = tmp_path / "ETH_USDT-1d.json"
    js.write_text("[" + ",".join("[" + ",".join(r) + "]" for r in rows) + "]")
    a, b = _ohlcv(csv_p).bars, _ohlcv(js).bars
    assert a.size == b.size == 40
    for name in ("ts_open_ns", "ts_close_ns", "open", "high", "low", "close", "volume"):
        assert np.array_equal(a[name], b[name]), name
    assert a["ts_open_ns"][0] == 1589155200000 * 1_000_000  # 2020-05-11 00:00 UTC, from the file
    assert (a["ts_close_ns"] - a["ts_open_ns"] == 86_400 * 10**9).all()


@needs_shared
def test_cryptodatadownload_newest_first_with_unit_switch(tmp_path):
    """A CDD file: URL line, newest-first rows, unix seconds for older rows and ms for newer ones,
    one candle published in both units → ascending bars, the duplicate dropped with a warning."""
    rows = _real_daily()
    out = ["https://www.CryptoDataDownload.com",
           "unix,date,symbol,open,high,low,close,Volume ETH,Volume USDT,tradecount"]
    cdd = []
    for i, (t, o, h, lo, c, v) in enumerate(rows):
        ms = int(t)
        unix = str(ms) if i >= 20 else str(ms // 1000)
        day = str(np.datetime64(ms, "ms").astype("datetime64[D]"))
        cdd.append(f"{unix},{day} 00:00:00,ETH/USDT,{o},{h},{lo},{c},{v},{float(v) * float(c):.2f},1000")
    t, o, h, lo, c, v = rows[20]
    cdd.append(f"{int(t) // 1000},dup,ETH/USDT,{o},{h},{lo},{c},{v},0,1000")  # same candle, seconds
    p = tmp_path / "Binance_ETHUSDT_d.csv"
    p.write_text("\n".join(out + cdd[::-1]) + "\n")  # newest first, as CDD publishes
    md = _ohlcv(p)
    b = md.bars
    assert b.size == 40
    assert b["ts_open_ns"].tolist() == [int(r[0]) * 1_000_000 for r in rows]
    assert b["close"].tolist() == [float(r[4]) for r in rows]
    assert b["volume"].tolist() == [float(r[5]) for r in rows]  # base volume: the first Volume column
    assert (b["ts_close_ns"] - b["ts_open_ns"] == 86_400 * 10**9).all()
    (w,) = md.warnings
    assert "1 candle(s) repeat an earlier open time" in w and "seconds and milliseconds" in w and str(p) in w
    # the binance_candles source reads it too (it used to fail on the URL line)
    assert _ohlcv(p, source="binance_candles").bars.size == 40


def test_plain_csv_iso_and_epoch_seconds(tmp_path):
    iso = tmp_path / "iso.csv"
    iso.write_text("timestamp,open,high,low,close,volume\n"
                   "2024-01-01 00:00:00,10,11,9,10.5,3\n2024-01-01T00:01:00Z,10.5,12,10,11,4\n")
    sec = tmp_path / "sec.csv"
    sec.write_text("timestamp,open,high,low,close,volume\n1704067200,10,11,9,10.5,3\n1704067260,10.5,12,10,11,4\n")
    a, b = _ohlcv(iso).bars, _ohlcv(sec).bars
    assert a["ts_open_ns"].tolist() == b["ts_open_ns"].tolist() == [1704067200 * 10**9, 1704067260 * 10**9]
    assert (a["ts_close_ns"] - a["ts_open_ns"] == 60 * 10**9).all()


def test_other_files_are_named_with_their_row(tmp_path):
    """Something else than candles → DataError naming the file and row (not a parser trace)."""
    tardis = tmp_path / "trades.csv"
    tardis.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,X,1,2,a,buy,1,1\n")
    with pytest.raises(DataError, match=rf"{tardis}: line 1: not an OHLCV file"):
        _ohlcv(tardis)
    with pytest.raises(DataError, match=r"line 1: not an OHLCV file"):
        _ohlcv(BUNDLED[0])
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n1704067200,10,11,9,10.5,3\n1704067260,10.5,12,10,x,4\n")
    with pytest.raises(DataError, match=rf"{bad}: line 3: close 'x' is not a number"):
        _ohlcv(bad)
    short = tmp_path / "short.csv"
    short.write_text("timestamp,open,high,low,close,volume\n1704067200,10,11,9\n")
    with pytest.raises(DataError, match=r"short\.csv: line 2: 4 fields, the header has 6"):
        _ohlcv(short)
    js = tmp_path / "x.json"
    js.write_text('[[1704067200000, 1, 2, 0.5, 1.5, 10], {"a": 1}]')
    with pytest.raises(DataError, match=r"x\.json: row 2: .* is not \[ts_ms, open, high, low, close, volume\]"):
        _ohlcv(js)


@settings(max_examples=40, deadline=None)
@given(
    opens=st.lists(st.integers(1_500_000_000, 1_700_000_000), min_size=1, max_size=30, unique=True),
    in_ms=st.lists(st.booleans(), min_size=30, max_size=30),
    dup=st.lists(st.integers(0, 29), max_size=5),
)
def test_cdd_any_units_and_repeats_give_ascending_unique(tmp_path_factory, opens, in_ms, dup):
    """Property of the CDD reader: whatever mix of second/millisecond stamps, newest-first order
    and repeated candles, the result is the ascending set of distinct open times, each candle
    keeping its own values."""
    rows = []
    for i, t in enumerate(opens):
        stamp = t * 1000 if in_ms[i] else t
        rows.append((t, f"{stamp},d,X/Y,{t % 97 + 1},{t % 97 + 2},{t % 97 + 0.5},{t % 97 + 1.5},{t % 13}"))
    for k in dup:
        t, _ = rows[k % len(rows)]
        rows.append((t, f"{t if in_ms[k % len(rows)] else t * 1000},d,X/Y,{t % 97 + 1},{t % 97 + 2},"
                        f"{t % 97 + 0.5},{t % 97 + 1.5},{t % 13}"))
    rows.sort(key=lambda r: -r[0])
    p = tmp_path_factory.mktemp("cdd") / "Binance_XY_minute.csv"
    p.write_text("https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close,Volume X\n"
                 + "\n".join(r[1] for r in rows) + "\n")
    c = read_ohlcv(str(p))
    want = sorted(set(opens))
    assert c.ts_ns.tolist() == [t * 10**9 for t in want]
    assert c.open.tolist() == [float(t % 97 + 1) for t in want]
    assert bool(c.warnings) == (len(rows) > len(want))
