"""The report's inclusion section (issue 15): for a sweep with a ``[chain]`` table, the inclusion
probability against the bribe — the curve fitted on the recorded fee data over the binned recorded
rows, or the configured logistic curve — with the fit's numbers and its data source; absent for
an order-book sweep. The fitted numbers are checked against what ``python -m venues.inclusion``
prints for the same file (the figures published in docs/chain.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.report import build_report
from experiments.store import ResultStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
FEES = REPO / "data" / "ethereum_block_fees" / "mev_inspect_txs_derived.csv.gz"

CHAIN_SWEEP = f"""
[sweep]
name = "inclusion-report"
seed = 3
objective = "desk_pnl"

[data]
format = "binance_ws"
paths = ["{SAMPLE.as_posix()}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001

[strategy]
kind = "glft"
gamma = 0.001
order_qty = 0.05
max_position = 2.0
warmup_s = 5.0

[chain]
inclusion = ["fitted", "logistic"]
inclusion_b = 4.0
fee_data_path = "fees/mev_inspect_txs_derived.csv.gz"

[pool]
kind = "pancake_v2"

[hedger]
band = 0.05
bribe_policy = "optimal"
"""


def _cli_curve(path: Path) -> tuple[float, float, int, int, list[tuple[float, ...]]]:
    """``python -m venues.inclusion PATH``: a, b, rows, blocks and the table (lo, hi, rows, observed, fitted)."""
    out = subprocess.run([sys.executable, "-m", "venues.inclusion", str(path)], capture_output=True, text=True,
                         cwd=REPO, timeout=120, check=True).stdout
    m = re.search(r"a = (-?[\d.]+), b = (-?[\d.]+) \((\d+) rows from (\d+) blocks\)", out)
    assert m, out
    table = [tuple(float(v) for v in line.split()) for line in out.splitlines()[2:] if line.strip()]
    return float(m.group(1)), float(m.group(2)), int(m.group(3)), int(m.group(4)), table


def _figures(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="mmsim-figures">(.*?)</script>',
                                page, re.S).group(1))


@pytest.fixture(scope="module")
def chain_report(tmp_path_factory):
    """A real 2-trial hedged sweep (``inclusion`` fitted on a copy of the bundled fee file next to
    the sweep file, and logistic with b = 4) and its report."""
    d = tmp_path_factory.mktemp("inclusion")
    (d / "fees").mkdir()
    (d / "fees" / FEES.name).write_bytes(FEES.read_bytes())
    toml = d / "chain.toml"
    toml.write_text(textwrap.dedent(CHAIN_SWEEP))
    db = d / "r.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMSIM_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "feed-cache"))
        assert main(["sweep", str(toml), "--results", str(db), "--workers", "1", "--plain"]) == 0
    out = d / "report"
    page = build_report(db, out).read_text()
    return {"dir": d, "page": page, "out": out}


@pytest.mark.timeout(300)
def test_chain_sweep_report_shows_the_fitted_curve_beside_the_data(chain_report):
    """The section, its nav link, the fit's a and b, rows, blocks and every bin of the table equal
    the CLI's output for the same file; the data source is named with its sha256."""
    page, d = chain_report["page"], chain_report["dir"]
    assert '<section id="inclusion">' in page and 'href="#inclusion"' in page
    source = str((d / "fees" / FEES.name).resolve())
    assert f"fit on {source}</h3>" in page
    import hashlib

    assert hashlib.sha256(FEES.read_bytes()).hexdigest() in page
    a, b, rows, blocks, table = _cli_curve(FEES)
    assert (a, b, rows, blocks) == (-4.7922, 4.7252, 22880, 10)  # as published in docs/chain.md
    assert f"a = {a:.4f}, b = {b:.4f} per gwei/gas" in page
    assert f"{rows} rows of which" in page and f"of {blocks} blocks" in page
    section = page[page.index('<section id="inclusion">'):page.index('<section id="alerts">')]
    cells = re.findall(r"<tr><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td><td>(\d+)</td>"
                       r"\s*<td>([\d.]+)</td><td>([\d.]+)</td></tr>", section)
    got = [(float(lo), float(hi), float(n), float(obs), float(fit)) for lo, hi, _mean, n, obs, fit in cells]
    assert got == table
    assert "inclusion = &#39;fitted&#39; (1 trial)" in section
    # the logistic trial: its configured curve, named as not fitted
    assert "a = 0, b = 4</td>\n<td>1 trial</td>" in section and "not fitted" in section
    assert sorted(p.name for p in chain_report["out"].glob("inclusion_*.png")) == ["inclusion_0.png",
                                                                                  "inclusion_1.png"]


def test_chain_report_figure_is_the_fitted_logistic_over_the_binned_points(chain_report):
    """The interactive figure: the fit trace is 1/(1+exp(-(a+bx))) (p = 1/2 at x = -a/b, computed
    here from the printed a, b), and the recorded points carry the table's observed rates."""
    page = chain_report["page"]
    fit_fig, conf_fig = _figures(page)["inclusion"]
    a, b, _, _, table = _cli_curve(FEES)
    curve = fit_fig["data"][0]
    x, y = np.array(curve["x"]), np.array(curve["y"])
    assert np.allclose(y, 1.0 / (1.0 + np.exp(-(a + b * x))), atol=2e-4)  # a, b printed to 4 decimals
    assert np.interp(-a / b, x, y) == pytest.approx(0.5, abs=1e-3)
    points = fit_fig["data"][2]
    shown = [r for r in table if r[0] < x[-1]]
    assert points["y"] == pytest.approx([r[3] for r in shown], abs=5e-4)
    assert all(lo <= m <= hi for m, (lo, hi, *_r) in zip(points["x"], shown, strict=True))
    cx, cy = np.array(conf_fig["data"][0]["x"]), np.array(conf_fig["data"][0]["y"])
    assert np.allclose(cy, 1.0 / (1.0 + np.exp(-(0.0 + 4.0 * cx))))


def _store(path: Path, config_toml: str, params: list[dict]) -> None:
    store = ResultStore(path, parts=False)
    sid = store.begin_sweep(
        name="s", config_path=str(path.parent / "s.toml"), config_toml=config_toml, root_seed=1, replicates=1,
        n_trials=len(params), workers=1, strategy_kind="glft", strategy_class="strategies.glft:GLFTQuoter",
        data_format="binance_ws", data_paths=[], data_sha256=[], symbol="X", code_version="0",
        objective="pnl", param_columns={k: "VARCHAR" if isinstance(v, str) or v is None else "DOUBLE"
                                        for k, v in params[0].items()})
    for i, p in enumerate(params):
        store.record_trial(sid, trial_id=f"t{i}", trial_index=i, params=p, replicate=0, seed=i, status="done",
                           wall_s=0.1, metrics={"pnl": float(i)})
    store.finish_sweep(sid, "done")
    store.close()


def test_order_book_sweep_has_no_inclusion_section(tmp_path):
    """A sweep file without [chain] (experiments/gamma.toml): no section, no nav link, no chart, and
    an inclusion chart left in the folder by an earlier report is removed."""
    db = tmp_path / "r.duckdb"
    _store(db, (REPO / "experiments" / "gamma.toml").read_text(), [{"gamma": 0.1}, {"gamma": 0.2}])
    out = tmp_path / "out"
    out.mkdir()
    (out / "inclusion_0.png").write_bytes(b"old")
    page = build_report(db, out).read_text()
    assert 'id="inclusion"' not in page and "Inclusion vs bribe" not in page
    assert "inclusion" not in _figures(page)
    assert not list(out.glob("inclusion_*.png"))


def test_unreadable_fee_data_is_named_and_the_report_still_builds(tmp_path):
    """A fee file gone since the sweep: the section says so, naming the file; the rest is drawn."""
    gone = tmp_path / "moved" / "fees.csv.gz"
    toml = '[chain]\ninclusion = "auction"\n'
    _store(tmp_path / "r.duckdb", toml, [{"inclusion": "auction", "fee_data_path": str(gone),
                                          "competitor_fee_scale": 1.0}])
    page = build_report(tmp_path / "r.duckdb", tmp_path / "out").read_text()
    section = page[page.index('<section id="inclusion">'):page.index('<section id="alerts">')]
    assert f"fit on {gone}</h3>" in section and "cannot fit this file now" in section and str(gone) in section
    assert not list((tmp_path / "out").glob("inclusion_*.png"))


def _report_test_helpers():
    """The headless-Chromium helpers of test_report.py (DevTools client, page problems)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_mmsim_test_report", Path(__file__).with_name("test_report.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.timeout(300)
def test_inclusion_charts_draw_in_headless_chromium(chain_report, tmp_path):
    """Real Chromium: both inclusion charts are drawn by the inlined plotly.js (SVG with traces),
    with no console error, exception or request beyond the file itself."""
    h = _report_test_helpers()
    exe = h._chromium()
    pytest.importorskip("websocket", reason="websocket-client not installed (pip install -e '.[dev]')")
    import tempfile

    page = chain_report["out"] / "index.html"
    with tempfile.TemporaryDirectory() as user_dir:
        cdp = h._DevTools(exe, user_dir)
        try:
            s = h._open_page(cdp, page.as_uri())
            drawn = ("[0, 1].map(i => { var el = document.getElementById('plot-inclusion-' + i); "
                     "return el.classList.contains('js-plotly-plot') && el.data.length > 0 && "
                     "el.querySelectorAll('.main-svg').length > 0; })")
            assert h._eval(cdp, s, drawn) == [True, True]
            assert h._eval(cdp, s, "document.getElementById('plot-inclusion-0').data.length") == 3
            cdp.drain(0.3)
            problems = h._problems(cdp)
            requests = h._requests(cdp)
        finally:
            cdp.close()
    assert not problems, problems
    assert all(u == page.as_uri() or u.startswith("data:") for u in requests), requests
