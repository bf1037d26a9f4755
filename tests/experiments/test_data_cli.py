"""End to end through the real ``mmsim`` process: ``data inspect``, ``data convert``,
``validate`` checking the data, and ``sweep`` printing and storing the data warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

from experiments.datacheck import stored_problems
from venues.loaders import DataConfig, parse_feed

REPO = Path(__file__).resolve().parents[2]
BN = REPO / "data" / "binance_usdm_ethusdt"
HL = REPO / "data" / "hyperliquid_eth"
SHARED = REPO.parent / "shared" / "data"
PAIR = [str(BN / "ethusdt_20240718.gz"), str(BN / "ethusdt_20240719.gz")]


def mmsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "experiments", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=600)


def test_inspect_json_feed_and_candles(tmp_path):
    r = mmsim("data", "inspect", "--json", PAIR[0], str(HL / "orderbooks_ETH.csv.gz"))
    assert r.returncode == 0, r.stderr
    a, b = json.loads(r.stdout)
    assert a["format"] == "binance_ws" and a["symbols"] == ["ETHUSDT"] and a["venue"] == "binance_usdm"
    assert a["rows"]["trade"] > 0 and a["span"]["first"].startswith("2024-07-18T23:57")
    assert b["format"] == "hyperliquid_collector"
    assert any(":2: warning: no trades in the data (book-only)" in p for p in b["problems"])
    c = tmp_path / "c.csv"
    c.write_text("timestamp,open,high,low,close,volume\n1704067200,10,11,9,10.5,3\n1704067260,10.5,12,10,11,4\n")
    r = mmsim("data", "inspect", str(c))
    assert r.returncode == 0 and "format   ohlcv (csv)" in r.stdout and "candles 2" in r.stdout
    assert "interval 60 s" in r.stdout


def test_inspect_names_a_file_that_cannot_be_used(tmp_path):
    r = mmsim("data", "inspect", PAIR[1])
    assert r.returncode == 2
    assert f"{PAIR[1]}: error: no REST depth snapshot" in r.stdout
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world\nnot data\n")
    r = mmsim("data", "inspect", str(junk))
    assert r.returncode == 2 and f"{junk}:1: error: unknown data format" in r.stdout


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_convert_round_trip(tmp_path, suffix):
    out = tmp_path / f"eth{suffix}"
    ins = [str(HL / f"{k}_ETH.csv.gz") for k in ("orderbooks", "trades", "prices")]
    r = mmsim("data", "convert", *ins, "--to", str(out))
    assert r.returncode == 0, r.stderr
    src = parse_feed(DataConfig(format="hyperliquid_collector", paths=tuple(ins)))
    assert f"{src.events.size:,} events" in r.stdout and "format hyperliquid_collector" in r.stdout
    back = parse_feed(DataConfig(format="mmsim_events", paths=(str(out),)))
    assert all(np.array_equal(src.events[n], back.events[n]) for n in src.events.dtype.names)
    assert back.meta.symbol == "ETH" and back.meta.venue == "hyperliquid"
    assert back.meta.tick_size == src.meta.tick_size and back.meta.lot_size == src.meta.lot_size
    if suffix == ".npz":
        assert back.bbo.size == src.bbo.size > 0
    before = out.read_bytes()
    r = mmsim("data", "convert", *ins, "--to", str(out))
    assert r.returncode == 2 and "exists (use --force" in r.stderr and out.read_bytes() == before
    r = mmsim("data", "convert", PAIR[1], "--to", str(tmp_path / f"bad{suffix}"))
    assert r.returncode == 2 and not (tmp_path / f"bad{suffix}").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


def _sweep_toml(tmp_path: Path, data: str, name: str = "s.toml", results: str = "r.duckdb") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(f"""
        [sweep]
        name = "dq"
        seed = 5
        workers = 1
        results = "{tmp_path / results}"
        [data]
        {data}
        [venue]
        profile = "binance_usdm"
        [strategy]
        kind = "glft"
        gamma = 0.1
    """))
    return p


def test_validate_checks_the_data(tmp_path):
    """A Binance diff stream without its snapshot file: validate says why, exit 2."""
    cfg = _sweep_toml(tmp_path, f'format = "binance_ws"\npaths = ["{PAIR[1]}"]')
    r = mmsim("validate", str(cfg))
    assert r.returncode == 2
    assert f"{PAIR[1]}: error: no REST depth snapshot" in r.stdout
    ok = _sweep_toml(tmp_path, f'format = "binance_ws"\npaths = ["{PAIR[0]}", "{PAIR[1]}"]', name="ok.toml")
    r = mmsim("validate", str(ok))
    assert r.returncode == 0 and ": OK: 1 trials" in r.stdout


def test_sweep_reversed_files_fills_and_stores_warnings(tmp_path):
    """Files listed newest first: the sweep warns once at start, runs on the time-ordered data
    (same metrics as the ordered list, fills > 0) and stores the warnings per sweep."""
    rev = _sweep_toml(tmp_path, f'format = "binance_ws"\npaths = ["{PAIR[1]}", "{PAIR[0]}"]', "rev.toml", "rev.duckdb")
    ok = _sweep_toml(tmp_path, f'format = "binance_ws"\npaths = ["{PAIR[0]}", "{PAIR[1]}"]', "ok.toml", "ok.duckdb")
    r = mmsim("sweep", str(rev), "--plain")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("given out of time order") == 1
    r2 = mmsim("sweep", str(ok), "--plain")
    assert r2.returncode == 0, r2.stderr
    with duckdb.connect(str(tmp_path / "rev.duckdb"), read_only=True) as con:
        n_fills, pnl = con.execute("SELECT n_fills, pnl FROM metrics").fetchone()
        warn = con.execute("SELECT level, message FROM warnings ORDER BY seq").fetchall()
        sweep_ids = con.execute("SELECT DISTINCT sweep_id FROM warnings").fetchall()
    with duckdb.connect(str(tmp_path / "ok.duckdb"), read_only=True) as con:
        assert con.execute("SELECT n_fills, pnl FROM metrics").fetchone() == (n_fills, pnl)
    assert n_fills > 0
    assert any(lv == "warning" and "given out of time order" in m for lv, m in warn)
    assert len(sweep_ids) == 1


def test_sweep_book_only_warns_visibly(tmp_path):
    cfg = tmp_path / "b.toml"
    cfg.write_text(textwrap.dedent(f"""
        [sweep]
        name = "bo"
        seed = 5
        workers = 1
        results = "{tmp_path / 'b.duckdb'}"
        [data]
        format = "hyperliquid_collector"
        paths = ["{HL / 'orderbooks_ETH.csv.gz'}"]
        symbol = "ETH"
        meta_path = "{HL / 'sdk_cassette_meta_2023.json'}"
        [venue]
        profile = "hyperliquid"
        [strategy]
        kind = "glft"
        order_qty = 0.01
        gamma = 0.1
    """))
    r = mmsim("run", str(cfg))
    assert "no trades in the data (book-only)" in r.stderr
    r = mmsim("sweep", str(cfg), "--plain")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("book-only") == 1
    with duckdb.connect(str(tmp_path / "b.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT file, row, message FROM warnings WHERE message LIKE '%book-only%'").fetchall()
        (sid,) = con.execute("SELECT sweep_id FROM sweeps").fetchone()
        stored = [str(p) for p in stored_problems(con, sid)]
    assert rows == [(str(HL / "orderbooks_ETH.csv.gz"), 2, rows[0][2])]
    printed = [ln for ln in r.stderr.splitlines() if ": warning: " in ln or ln.startswith("warning: ")]
    assert stored == printed  # what the sweep printed once at start is what it stored


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")
def test_inspect_lists_the_instruments_of_a_multi_symbol_file(tmp_path):
    """A tardis trades file holding two instruments: inspect lists them (exit 0) and
    --symbol inspects one."""
    import gzip

    from experiments.datacli import inspect_file

    src = SHARED / "cex_vendor_format_samples_nautilus" / "tardis" / "bitmex_trades_XBTUSD.csv.gz"
    rows = gzip.open(src, "rt").read().splitlines()
    p = tmp_path / "two.csv"
    p.write_text("\n".join(rows[:4] + [r.replace("XBTUSD", "ETHUSD").replace("-", "x", 1) for r in rows[4:6]]) + "\n")
    info = inspect_file(str(p))
    assert info["ok"] and info["symbols"] == ["ETHUSD", "XBTUSD"] and info["format"] == "tardis_csv"
    one = inspect_file(str(p), symbol="ETHUSD")
    assert one["ok"] and one["rows"]["trade"] == 2 and one["symbols"] == ["ETHUSD"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")
def test_detect_format_of_every_layout(tmp_path):
    """Content-based detection over the recorded files (and LZ4 copies of node/S3 layouts)."""
    import gzip

    import lz4.frame

    from experiments.datacli import detect_format

    hl = SHARED / "hyperliquid_perp_l2book_trades"
    tardis = SHARED / "cex_vendor_format_samples_nautilus" / "tardis"
    cases = {
        PAIR[0]: "binance_ws",
        str(hl / "archive" / "market_data_20240101_h12_l2Book_BTC_1200-1240.jsonl.gz"): "hyperliquid_archive",
        str(hl / "hftbacktest_raw" / "BTC_20250126.gz"): "hyperliquid_ws",
        str(HL / "trades_ETH.csv.gz"): "hyperliquid_collector",
        str(tardis / "deribit_incremental_book_L2_BTC-PERPETUAL.csv.gz"): "tardis_csv",
        str(SHARED / "binance_spot_ohlcv_freqtrade" / "ETH_USDT-1h_20200511_20240508.csv.gz"): "ohlcv",
    }
    made = {
        "fills.lz4": ('["0xa", {"coin": "BTC", "px": "1", "sz": "1", "side": "B", "time": 1, "tid": 1}]',
                      "hyperliquid_node_fills"),
        "block.lz4": ('{"local_time": "2025-08-01T00:00:00", "block_time": "x", "block_number": 1, "events": []}',
                      "hyperliquid_node_fills"),
        "trades.lz4": ('{"coin": "BTC", "side": "B", "time": "2025-04-01T00:00:00", "px": "1", "sz": "1", '
                       '"side_info": []}', "hyperliquid_node_trades"),
        "ctx.csv.lz4": ("time,coin,funding,open_interest,prev_day_px,day_ntl_vlm,premium,oracle_px,mark_px,mid_px,"
                        "impact_bid_px,impact_ask_px", "hyperliquid_asset_ctxs"),
        "dt.csv": ("exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
                   "open_interest,last_price,index_price,mark_price", "tardis_derivative_ticker"),
        "cdd.csv": ("https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close,Volume X", "ohlcv"),
        "ft.json": ("[[1704067200000, 1, 2, 0.5, 1.5, 10]]", "ohlcv"),
    }
    for name, (text, fmt) in made.items():
        p = tmp_path / name
        data = (text + "\n").encode()
        p.write_bytes(lz4.frame.compress(data) if name.endswith(".lz4") else data)
        cases[str(p)] = fmt
    gz = tmp_path / "dt.csv.gz"
    gz.write_bytes(gzip.compress((made["dt.csv"][0] + "\n").encode()))
    cases[str(gz)] = "tardis_derivative_ticker"
    assert {p: detect_format(p) for p in cases} == cases
