"""Hyperliquid S3/node layouts: LZ4 l2Book archive objects, node_fills (plain and by block),
node_trades and asset_ctxs, built from real recorded lines in ../shared/data (compressed with
``lz4.frame`` here) and checked against the other recorded formats of the same data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import lz4.frame
import numpy as np
import pytest

from engine.feed import TRADE
from venues.loaders import DataConfig, DataError, parse_feed
from venues.loaders.book import RefBook
from venues.loaders.hyperliquid import HOUR_NS, funding_arrays, iso_to_ns, load_asset_ctxs

HL = "hyperliquid_perp_l2book_trades"


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.size == b.size and all(np.array_equal(a[n], b[n]) for n in a.dtype.names)


def _lz4(path: Path, lines: list[str]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lz4.frame.compress(("\n".join(lines) + "\n").encode()))
    return str(path)


def _load(fmt, *paths, symbol=None):
    return parse_feed(DataConfig(format=fmt, paths=tuple(map(str, paths)), symbol=symbol))


def test_l2book_archive_lz4_object(shared, tmp_path):
    """market_data/<date>/<hour>/l2Book/<coin>.lz4 as published (LZ4 frame) reads like the text."""
    src = shared / HL / "archive" / "market_data_20240101_h12_l2Book_BTC_1200-1240.jsonl.gz"
    with gzip.open(src, "rt") as f:
        lines = [next(f).rstrip("\n") for _ in range(40)]
    obj = _lz4(tmp_path / "market_data" / "20240101" / "12" / "l2Book" / "BTC.lz4", lines)
    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    a, b = _load("hyperliquid_archive", obj), _load("hyperliquid_archive", plain)
    assert _same(a.events, b.events) and a.events.size == 40 * 41
    book = RefBook()
    book.apply(a.events[:41])
    rec = json.loads(lines[0])
    bids, asks = rec["raw"]["data"]["levels"]
    assert book.best_bid() == 42727.0 == float(bids[0]["px"]) and book.bids[42727.0] == 0.02265
    assert book.best_ask() == float(asks[0]["px"])
    assert a.events["ts_local_ns"][0] == iso_to_ns("2024-01-01T12:00:01.138942031")
    assert a.events["ts_exch_ns"][0] == 1704110399915 * 1_000_000


def _real_trades(shared) -> list[dict]:
    out = []
    with gzip.open(shared / HL / "hftbacktest_raw" / "BTC_20250126.gz", "rt") as f:
        for raw in f:
            ts, msg = raw.split(" ", 1)
            m = json.loads(msg)
            if m["channel"] == "trades":
                for t in m["data"]:
                    out.append({**t, "_local": int(ts)})
    assert len(out) >= 9
    return out


def _fills(t: dict) -> list[list]:
    """The two node fills of one real trade: the taker's (crossed) and the maker's."""
    buyer, seller = t["users"]
    taker_buys = t["side"] == "B"
    common = {"coin": t["coin"], "px": t["px"], "sz": t["sz"], "time": t["time"], "hash": t["hash"],
              "tid": t["tid"], "startPosition": "0.0", "closedPnl": "0.0", "fee": "0.0", "feeToken": "USDC"}
    taker = {**common, "side": t["side"], "crossed": True, "oid": 1, "dir": "Open Long" if taker_buys else "Open Short"}
    maker = {**common, "side": "A" if taker_buys else "B", "crossed": False, "oid": 2,
             "dir": "Open Short" if taker_buys else "Open Long"}
    return [[buyer if taker_buys else seller, taker], [seller if taker_buys else buyer, maker]]


def _ws_trades(shared):
    f = _load("hyperliquid_ws", shared / HL / "hftbacktest_raw" / "BTC_20250126.gz")
    return f.events[f.events["kind"] == TRADE]


def test_node_fills_give_the_websocket_tape(shared, tmp_path):
    """node_fills/hourly/<date>/<hour>.lz4 lines [user, fill] → the taker fill of each trade:
    same px, size, taker side, tid and exchange time as the recorded websocket trades."""
    trades = _real_trades(shared)
    lines = [json.dumps(f) for t in trades for f in _fills(t)]
    p = _lz4(tmp_path / "node_fills" / "hourly" / "20250126" / "19.lz4", lines)
    f = _load("hyperliquid_node_fills", p)
    ws = _ws_trades(shared)
    order = np.argsort(ws["ts_exch_ns"], kind="stable")
    got = f.events
    assert got.size == ws.size == len(trades)
    for name in ("px", "qty", "side", "trade_id", "ts_exch_ns"):
        assert np.array_equal(np.sort(got[name]), np.sort(ws[order][name])), name
    assert any(f"{len(trades)} maker-side fill(s)" in w for w in f.warnings)


def test_node_fills_by_block_use_local_time(shared, tmp_path):
    trades = _real_trades(shared)
    blocks = []
    for i, t in enumerate(trades):
        local = np.datetime64(t["_local"], "ns")
        blocks.append(json.dumps({"local_time": str(local), "block_time": str(np.datetime64(t["time"], "ms")),
                                  "block_number": 500_000_000 + i, "events": _fills(t)}))
    p = _lz4(tmp_path / "node_fills_by_block" / "hourly" / "20250126" / "19.lz4", blocks)
    ev = _load("hyperliquid_node_fills", p).events
    assert ev["ts_local_ns"].tolist() == [t["_local"] for t in trades]
    assert ev["ts_exch_ns"].tolist() == [t["time"] * 1_000_000 for t in trades]


def test_node_trades_layout(shared, tmp_path):
    """node_trades lines (taker side, naive ISO time, side_info = [buyer, seller])."""
    trades = _real_trades(shared)
    lines = []
    for t in trades:
        iso = str(np.datetime64(t["time"], "ms"))
        lines.append(json.dumps({"coin": t["coin"], "side": t["side"], "time": iso, "px": t["px"], "sz": t["sz"],
                                 "hash": t["hash"], "trade_dir_override": "Na",
                                 "side_info": [{"user": t["users"][i], "start_pos": "0", "oid": 2 * t["tid"] + i,
                                                "twap_id": None, "cloid": None} for i in range(2)]}))
    p = _lz4(tmp_path / "node_trades" / "hourly" / "20250126" / "19.lz4", lines)
    ev = _load("hyperliquid_node_trades", p).events
    ws = _ws_trades(shared)
    assert np.array_equal(np.sort(ev["px"]), np.sort(ws["px"]))
    assert np.array_equal(np.sort(ev["ts_exch_ns"]), np.sort(ws["ts_exch_ns"]))
    assert (ev["kind"] == TRADE).all() and set(ev["side"].tolist()) <= {1, -1}


def test_node_fills_other_coins_need_a_symbol(shared, tmp_path):
    t = _real_trades(shared)[0]
    eth = {**t, "coin": "ETH", "tid": t["tid"] + 1}
    p = _lz4(tmp_path / "f.lz4", [json.dumps(f) for f in _fills(t) + _fills(eth)])
    with pytest.raises(DataError, match="more than one coin"):
        _load("hyperliquid_node_fills", p)
    assert _load("hyperliquid_node_fills", p, symbol="btc").events.size == 1
    bad = _lz4(tmp_path / "bad.lz4", [json.dumps(_fills(t)[0]), '["0xabc", {"coin": "BTC", "crossed": true}]'])
    with pytest.raises(DataError, match=r"bad\.lz4: line 2: malformed node fill record"):
        _load("hyperliquid_node_fills", bad)


HEADER = ("time,coin,funding,open_interest,prev_day_px,day_ntl_vlm,premium,oracle_px,mark_px,mid_px,"
          "impact_bid_px,impact_ask_px")


def _ctx_rows(shared) -> list[str]:
    """asset_ctxs CSV rows (documented 12-column layout) from the real allDexsAssetCtxs message;
    its contexts are index-aligned to the universe (0 = BTC, 1 = ETH by price, per PROVENANCE)."""
    with gzip.open(shared / "hyperliquid_meta_funding" / "nautilus_ws_all_dexs_asset_ctxs.json.gz", "rt") as f:
        msg = json.load(f)
    ctxs = dict((d, c) for d, c in msg["data"]["ctxs"])[""]
    rows = []
    for stamp in ("2026-01-10T12:58:00Z", "2026-01-10T12:59:00Z", "2026-01-10T13:00:00Z"):
        for coin, c in (("BTC", ctxs[0]), ("ETH", ctxs[1])):
            rows.append(",".join([stamp, coin, c["funding"], c["openInterest"], c["prevDayPx"], c["dayNtlVlm"],
                                  c["premium"], c["oraclePx"], c["markPx"], c["midPx"] or "", *c["impactPxs"]]))
    return rows


def test_asset_ctxs_lz4(shared, tmp_path):
    rows = _ctx_rows(shared)
    p = _lz4(tmp_path / "asset_ctxs" / "20260110.csv.lz4", [HEADER, *rows])
    eth = load_asset_ctxs(p, "eth")
    assert eth.ts_ns.size == 3
    assert eth.funding.tolist() == [0.0000125] * 3 and eth.mark_px[0] == 2123.7
    assert eth.oracle_px[0] == 2124.6 and eth.open_interest[0] == 605822.2557999999
    btc = load_asset_ctxs(p, "BTC")
    assert btc.funding[0] == -0.0000015186 and btc.mark_px[0] == 77562.0
    ts, rate, mark, nxt = funding_arrays(p, "BTC")
    t0 = iso_to_ns("2026-01-10T12:58:00Z")
    assert ts[0] == t0 and nxt[0] == iso_to_ns("2026-01-10T13:00:00Z")
    # a context stamped exactly on the hour belongs to the next settlement
    assert nxt[2] == iso_to_ns("2026-01-10T13:00:00Z") + HOUR_NS
    with pytest.raises(DataError, match="no asset_ctxs rows for coin 'SOL'"):
        load_asset_ctxs(p, "SOL")
    with pytest.raises(DataError, match="line 1: not a Hyperliquid asset_ctxs CSV"):
        load_asset_ctxs(_lz4(tmp_path / "x.lz4", ["a,b", "1,2"]), "BTC")
