"""Data checks (experiments.datacheck, venues.loaders.quality) on the bundled recordings and
small files made here; expected figures come from the raw files, read independently."""

from __future__ import annotations

import csv
import gzip
import textwrap
from pathlib import Path

import numpy as np
import pytest

import venues.loaders as loaders
from experiments.config import load_sweep
from experiments.datacheck import Problem, check_sweep, format_problems, problem_from_error
from venues.loaders import DataConfig, DataError, parse_feed

REPO = Path(__file__).resolve().parents[2]
BN = REPO / "data" / "binance_usdm_ethusdt"
HL = REPO / "data" / "hyperliquid_eth"
PAIR = [str(BN / "ethusdt_20240718.gz"), str(BN / "ethusdt_20240719.gz")]


def _spec(tmp_path: Path, data: str, venue: str, strategy: str):
    p = tmp_path / "s.toml"
    p.write_text(textwrap.dedent(f"""
        [sweep]
        name = "dc"
        seed = 1
        [data]
        {data}
        [venue]
        {venue}
        [strategy]
        kind = "glft"
        {strategy}
    """))
    return load_sweep(p)


def test_problem_format_and_dataerror_location():
    e = DataError("/x/a.gz: line 12: price 'x' is not a number")
    p = problem_from_error(e)
    assert (p.level, p.file, p.row) == ("error", "/x/a.gz", 12)
    assert str(p) == "/x/a.gz:12: error: price 'x' is not a number"
    assert str(Problem("warning", "f.csv", None, "m")) == "f.csv: warning: m"
    assert format_problems([Problem("warning", "a", 1, "w"), Problem("error", "b", 2, "e")])[0].startswith("b:2: error")


def test_reversed_day_pair_replays_in_time_order(monkeypatch):
    """Regression: the day pair listed newest first used to lose the book (the snapshot file came
    second, the first diff broke the chain, 8,929 diffs were dropped) and run with no fills.
    Now the files are replayed in time order with a warning, giving the same events."""
    ok = parse_feed(DataConfig(format="binance_ws", paths=PAIR))
    rev = parse_feed(DataConfig(format="binance_ws", paths=PAIR[::-1]))
    assert all(np.array_equal(ok.events[n], rev.events[n]) for n in ok.events.dtype.names)
    assert any("given out of time order" in w and "replayed in time order: ethusdt_20240718.gz, ethusdt_20240719.gz"
               in w for w in rev.warnings)
    assert rev.meta.source_sha256 == ok.meta.source_sha256[::-1]  # recorded in the order given
    # without the reordering the book is lost: far fewer events, a gap
    monkeypatch.setattr(loaders, "time_ordered", lambda fmt, paths: (paths, None))
    broken = parse_feed(DataConfig(format="binance_ws", paths=PAIR[::-1]))
    assert broken.events.size < ok.events.size // 10 and broken.meta.n_gaps == 1


def test_spot_like_diff_stream_without_snapshot_is_an_error():
    """The second file alone (diffs, no REST snapshot) cannot be rebuilt: an error problem."""
    spec_like = DataConfig(format="binance_ws", paths=(PAIR[1],))
    with pytest.raises(DataError) as exc:
        parse_feed(spec_like)
    p = problem_from_error(exc.value)
    assert p.level == "error" and p.file == PAIR[1] and "no REST depth snapshot" in p.message


def _collector_times(path: Path) -> list[int]:
    with gzip.open(path, "rt") as f:
        rd = csv.reader(f)
        head = next(rd)
        i = head.index("timestamp")
        return [int(round(float(r[i]) * 1e9)) for r in rd if r]


def test_gap_warning_matches_the_raw_files():
    """The collector capture has one silence > 60 s; its length, read from the raw CSV
    timestamps of both files, is what the warning reports."""
    ts = sorted(_collector_times(HL / "orderbooks_ETH.csv.gz") + _collector_times(HL / "trades_ETH.csv.gz"))
    gaps = np.diff(ts)
    assert (gaps > 60e9).sum() == 1
    f = parse_feed(DataConfig(format="hyperliquid_collector", paths=(str(HL / "orderbooks_ETH.csv.gz"),
                                                                     str(HL / "trades_ETH.csv.gz"))))
    (w,) = [w for w in f.warnings if "gap(s) longer than 60 s" in w]
    assert w.startswith(f"{HL / 'trades_ETH.csv.gz'}:391: 1 gap(s)")
    assert f"{gaps.max() / 1e9:.1f} s" in w


def test_book_only_and_trades_only_warnings():
    book = parse_feed(DataConfig(format="hyperliquid_collector", paths=(str(HL / "orderbooks_ETH.csv.gz"),)))
    assert any(w.startswith(f"{HL / 'orderbooks_ETH.csv.gz'}:2: no trades in the data (book-only)")
               for w in book.warnings)
    trades = parse_feed(DataConfig(format="hyperliquid_collector", paths=(str(HL / "trades_ETH.csv.gz"),)))
    assert any("no order-book rows (trades only)" in w for w in trades.warnings)
    both = parse_feed(DataConfig(format="hyperliquid_collector", paths=(str(HL / "orderbooks_ETH.csv.gz"),
                                                                        str(HL / "trades_ETH.csv.gz"))))
    assert not any("book-only" in w or "trades only" in w for w in both.warnings)


def _trades_csv(path: Path, prices: list[float]) -> str:
    lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for i, px in enumerate(prices):
        t = 1_600_000_000_000_000 + i * 1000
        lines.append(f"binance-futures,BTCUSDT,{t},{t},{i + 1},buy,{px},1")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_mixed_tick_sizes(tmp_path):
    """Prices on a 0.01 grid, then on a 0.5 grid (60 distinct each): the tick change is named
    at the first row of the second half; a uniform grid gives no warning."""
    fine = [10000 + 0.01 * k for k in range(1, 120, 2)]
    coarse = [10000 + 0.5 * k for k in range(60)]
    p = _trades_csv(tmp_path / "mixed.csv", fine + coarse)
    f = parse_feed(DataConfig(format="tardis_csv", paths=(p,)))
    (w,) = [w for w in f.warnings if "mixed tick sizes" in w]
    assert w.startswith(f"{p}:62: mixed tick sizes: prices step by 0.01 before this row and by 0.5")
    u = _trades_csv(tmp_path / "uniform.csv", fine + [x + 1 for x in fine])
    assert not any("mixed tick" in w for w in parse_feed(DataConfig(format="tardis_csv", paths=(u,))).warnings)
    few = _trades_csv(tmp_path / "few.csv", [10000.01, 10000.5, 10001.0])  # too few prices to judge
    assert not any("mixed tick" in w for w in parse_feed(DataConfig(format="tardis_csv", paths=(few,))).warnings)


def test_order_size_below_lot_and_min_notional(tmp_path):
    """Binance ETHUSDT lot is 0.001 (the data's grid): 0.0004 rounds to 0 → error in every trial.
    Hyperliquid's $10 minimum: 0.001 ETH at ~$4,300 is ~$4.3 → error; a grid where only some
    trials are too small gives a warning naming how many."""
    data_bn = f'format = "binance_ws"\npaths = {PAIR!r}'.replace("'", '"')
    spec = _spec(tmp_path, data_bn, 'profile = "binance_usdm"', "order_qty = 0.0004")
    _, ps = check_sweep(spec)
    (p,) = [p for p in ps if "lot size" in p.message]
    assert p.level == "error" and "order_qty 0.0004 is below the instrument's lot size 0.001" in p.message
    hl = [str(HL / "orderbooks_ETH.csv.gz"), str(HL / "trades_ETH.csv.gz")]
    data_hl = (f'format = "hyperliquid_collector"\npaths = {hl!r}\nsymbol = "ETH"\n'
               f'meta_path = "{HL / "sdk_cassette_meta_2023.json"}"').replace("'", '"')
    spec = _spec(tmp_path, data_hl, 'profile = "hyperliquid"', "order_qty = [0.001, 0.01]")
    _, ps = check_sweep(spec)
    (p,) = [p for p in ps if "minimum notional" in p.message]
    assert p.level == "warning" and "(1 of 2 trial(s))" in p.message and "below the minimum notional 10" in p.message
    spec = _spec(tmp_path, data_hl, 'profile = "hyperliquid"', "order_qty = 0.01")
    assert not [p for p in check_sweep(spec)[1] if "order_qty" in p.message]
