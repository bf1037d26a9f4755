"""``mmsim report``: the page from a real sweep on the bundled sample, deterministic, escaped,
self-contained; opened in real headless Chromium (Debian's ``chromium``) through the DevTools
protocol: no console errors or exceptions, no network requests, the Plotly charts are drawn,
the heat-map ``<select>`` and the sortable table work, and a screenshot is not blank. The PnL
waterfall adds up to the net PnL recomputed from the stored fills and the final mark; the
overfitting checks count every trial. Also: the docs' tutorial code runs and the generated
TOML reference covers the schema."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from experiments.cli import main
from experiments.report import build_report, pnl_series_1s
from experiments.store import ResultStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt"

# 2 axes x 2 values = 4 trials on both bundled files (478 s of market)
TOML = """
[sweep]
name = "report-test"
seed = 5
workers = 1
objective = "pnl_per_1k_notional"

[data]
format = "binance_ws"
paths = ["{a}", "{b}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001
queue_model = ["risk_averse", "prob_power"]

[strategy]
kind = "glft"
order_qty = 0.05
max_position = 0.5
gamma = [0.01, 0.1]
"""

EVIL = "<script>alert('$x')</script>"  # HTML for the page, an unbalanced $ for matplotlib


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A real 4-trial sweep (``plain.duckdb``) and a copy with alerts added (``rich.duckdb``),
    the latter holding an HTML-looking monitor name."""
    d = tmp_path_factory.mktemp("report")
    toml = d / "tiny.toml"
    toml.write_text(textwrap.dedent(TOML).format(a=(SAMPLE / "ethusdt_20240718.gz").as_posix(),
                                                 b=(SAMPLE / "ethusdt_20240719.gz").as_posix()))
    plain = d / "plain.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMSIM_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "feed-cache"))
        rc = main(["sweep", str(toml), "--results", str(plain), "--workers", "1", "--plain"])
    assert rc == 0
    rich = d / "rich.duckdb"
    shutil.copy(plain, rich)
    con = duckdb.connect(str(rich))
    sid, = con.execute("SELECT sweep_id FROM sweeps").fetchone()
    tids = [r[0] for r in con.execute("SELECT trial_id FROM trials ORDER BY trial_index").fetchall()]
    t0, = con.execute("SELECT min(ts_ns) FROM equity").fetchone()
    rows = [(sid, tids[0], t0 + 30 * 10**9, "drawdown", "drawdown", 5.1, 5.0, "warn"),
            (sid, tids[1], t0 + 120 * 10**9, "var", "var_99_hist", 2.5, 2.0, "halt"),
            (sid, tids[2], t0 + 200 * 10**9, EVIL, "q", 0.6, 0.5, "flatten")]
    con.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return {"dir": d, "plain": plain, "rich": rich, "sweep_id": sid, "trial_ids": tids}


def _assert_self_contained(page: str) -> None:
    from plotly.offline import get_plotlyjs

    # the inlined bundle is plotly's own (its string literals hold attribution URLs that are
    # never fetched: the Chromium test checks that no request leaves the page)
    bundle = re.search(r'<script id="plotly-js">(.*?)</script>', page, re.S)
    assert bundle and bundle.group(1) == get_plotlyjs()
    page = page.replace(bundle.group(0), "")
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    assert refs, "expected inline images"
    remote = [r for r in refs if re.match(r"(?i)(https?:)?//", r)]
    assert not remote, remote
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?https?://", page)
    assert "@import" not in page and "url(http" not in page
    for r in refs:
        assert r.startswith(("data:", "#")), r


def test_report_plain_sweep(sweep, tmp_path, capsys):
    """`mmsim report` on the real sweep: index.html + PNGs, every section, nothing remote."""
    out = tmp_path / "rep"
    assert main(["report", str(sweep["plain"]), "--out", str(out)]) == 0
    assert "index.html" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    _assert_self_contained(page)
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "curves.png" in pngs and "objective_hist.png" in pngs
    assert [p for p in pngs if p.startswith("heatmap_")] == ["heatmap_0_queue_model__gamma.png"]
    for p in out.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # the same bytes are inlined in the page
        assert base64.b64encode(p.read_bytes()).decode() in page
    for needle in ("report-test", sweep["sweep_id"], "grid", "pnl_per_1k_notional",
                   "4 stored of 4 planned: 4 done", "queue_model × gamma", '<select id="pair">',
                   "Risk alerts", "Overfitting checks", '<table id="trials">'):
        assert needle in page, needle
    con = duckdb.connect(str(sweep["plain"]), read_only=True)
    rev, = con.execute("SELECT any_value(code_revision) FROM trials").fetchone()
    sha, = con.execute("SELECT data_sha256 FROM sweeps").fetchone()
    cost_cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics' "
        "AND column_name LIKE 'cost\\_%' ESCAPE '\\'").fetchall()]
    n_alerts, = con.execute("SELECT count(*) FROM alerts").fetchone()
    currencies = {r[0] for r in con.execute("SELECT DISTINCT pnl_currency FROM trials").fetchall()}
    stored = [r[0] for r in con.execute("SELECT message FROM warnings ORDER BY seq").fetchall()]
    con.close()
    assert currencies == {"USDT"}  # a linear USD-M contract settles in USDT
    assert "PnL currency" in page and "USDT (pnl, fees" in page
    assert stored, "the bundled pair spans no recorded funding: the sweep stores that warning"
    for message in stored:  # every stored data warning is on the page (HTML-escaped)
        assert html.escape(message, quote=False) in page, message
    if rev:
        assert rev in page
    for h in json.loads(sha):
        assert h in page
    assert cost_cols, "the trials record their cost breakdown"
    assert "waterfall.png" in pngs and "costs.png" not in pngs
    for needle in ("PnL waterfall", "spread capture", "fees paid", "net PnL", "Σ steps − net"):
        assert needle in page, needle
    assert ("no alerts" in page) == (n_alerts == 0)
    assert ("alerts.png" in pngs) == (n_alerts > 0)
    for tid in sweep["trial_ids"]:
        assert page.count(tid) >= 2  # the table and at least one chart legend / summary
    try:
        import experiments.overfit  # noqa: F401
    except ImportError:
        assert "overfitting checks unavailable" in page
    else:  # the sentence of sweep_overfitting_report, or the stated reason it could not run
        assert ('class="sentence"' in page)


def test_report_is_deterministic(sweep, tmp_path):
    """Two reports of the same file are byte-identical (page and every PNG)."""
    a, b = tmp_path / "a", tmp_path / "b"
    build_report(sweep["rich"], a)
    build_report(sweep["rich"], b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_report_alerts_costs_and_escaping(sweep, tmp_path):
    """Alerts give a timeline and a table; DB text is escaped by the template (autoescape) and
    inside the figures' JSON; the only scripts are plotly.js, the figures and ours."""
    index = build_report(sweep["rich"], tmp_path, sweep_id=sweep["sweep_id"])
    page = index.read_text()
    assert (tmp_path / "alerts.png").is_file() and (tmp_path / "waterfall.png").is_file()
    assert EVIL not in page and "&lt;script&gt;alert(&#39;$x&#39;)&lt;/script&gt;" in page
    assert re.findall(r"(?i)<script\b[^>]*>", page) == [
        '<script id="plotly-js">', '<script type="application/json" id="mmsim-figures">',
        '<script id="report-js">']
    assert len(re.findall(r"(?i)</script", page)) == 3
    figs = json.loads(re.search(r'id="mmsim-figures">(.*?)</script>', page, re.S).group(1))
    lanes = {y for tr in figs["alerts"]["data"] for y in tr["y"]}
    assert "&lt;script&gt;alert('$x')&lt;/script&gt;/q" in lanes  # Plotly shows it as text
    assert "var_99_hist" in page and "halt" in page and "no alerts" not in page
    assert "no cost breakdown" not in page
    _assert_self_contained(page)


def test_report_bad_input(sweep, tmp_path, capsys):
    """A missing file or an unknown sweep id exits 2 with one line and writes nothing."""
    assert main(["report", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "o")]) == 2
    assert "results file not found" in capsys.readouterr().err
    assert main(["report", str(sweep["plain"]), "--out", str(tmp_path / "o"),
                 "--sweep-id", "feedbeef"]) == 2
    assert "no sweep 'feedbeef'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_pnl_series_1s_hand_computed():
    """Last value at or before each whole second, first value before a trial starts."""
    s = 10**9
    eq = {"a": np.array([[0.5 * s, 1.0, 0], [1.2 * s, 3.0, 0], [2.9 * s, 2.0, 0]]),
          "b": np.array([[1.5 * s, 10.0, 0], [3.0 * s, 4.0, 0]])}
    ticks, pnl = pnl_series_1s(eq, ["a", "b", "missing"])
    assert list(ticks) == [1 * s, 2 * s, 3 * s]
    # a at 1,2,3 s: 1, 3, 2; b: 10 (first value), 10, 4
    assert pnl["a"].tolist() == [2.0, -1.0] and pnl["b"].tolist() == [0.0, -6.0]
    assert set(pnl) == {"a", "b"}


def _synthetic(path: Path, n_trials: int = 6, seed: int = 0) -> tuple[str, dict]:
    """A results file with 3 swept parameters and random-walk equity curves (600 s, 0.5 s)."""
    rng = np.random.default_rng(seed)
    store = ResultStore(path, parts=False)
    sid = store.begin_sweep(
        name="synthetic <&>", config_path="/x/s.toml", config_toml="[sweep]\nname = 'x'\n",
        root_seed=1, replicates=1, n_trials=n_trials, workers=1, strategy_kind="glft",
        strategy_class="strategies.glft:GLFTQuoter", data_format="binance_ws",
        data_paths=["/d/a.gz"], data_sha256=["ab" * 32], symbol="ETHUSDT",
        code_version="0.1.0", method="random", objective="pnl",
        param_columns={"gamma": "DOUBLE", "queue_model": "VARCHAR", "order_qty": "DOUBLE"})
    eqdt = np.dtype([("ts_ns", np.int64), ("equity", np.float64), ("q", np.float64),
                     ("mid", np.float64)])
    ts = (1_700_000_000 + np.arange(1200) * 0.5) * 1e9
    curves = {}
    for i in range(n_trials):
        tid = f"{i:016x}"
        eq = np.zeros(1200, eqdt)
        eq["ts_ns"] = ts.astype(np.int64)
        eq["equity"] = np.cumsum(rng.normal(0.01 * i, 1.0, 1200))
        eq["q"] = rng.integers(-3, 4, 1200) * 0.1
        eq["mid"] = 3000.0
        curves[tid] = eq
        params = {"gamma": [0.01, 0.1, 1.0][i % 3], "queue_model": ["a", "b"][i % 2],
                  "order_qty": [0.1, 0.2][i // 3]}
        status = "failed" if i == n_trials - 1 else "done"
        store.record_trial(sid, trial_id=tid, trial_index=i, params=params, replicate=0, seed=i,
                           status=status, wall_s=0.1, error="ValueError: <b>boom</b>" if
                           status == "failed" else None,
                           metrics={"pnl": float(eq["equity"][-1]), "n_fills": 10.0 + i},
                           equity=eq)
    store.finish_sweep(sid, "done")
    store.close()
    return sid, curves


def test_overfitting_section_uses_sweep_overfitting_report(tmp_path):
    """The page shows sweep_overfitting_report's sentence for the trials' 1 s PnL series."""
    overfit = pytest.importorskip("experiments.overfit", reason="experiments.overfit not there yet")
    db = tmp_path / "s.duckdb"
    _, curves = _synthetic(db)
    page = build_report(db, tmp_path / "out").read_text()
    done = {t: np.column_stack([c["ts_ns"], c["equity"], c["q"]]).astype(float)
            for t, c in list(curves.items())[:-1]}
    _, pnl = pnl_series_1s(done, list(done))
    assert all(len(x) == 599 for x in pnl.values())
    expected = overfit.sweep_overfitting_report(pnl)
    from markupsafe import escape

    assert str(escape(expected["interpretation"])) in page
    assert "overfitting checks unavailable" not in page
    assert "599 observations each" in page
    assert "no equity_samples" in page  # an old file: the thinned curves, and the page says so


def test_overfitting_placeholder_when_module_missing(tmp_path, monkeypatch):
    """Without experiments.overfit the section says why instead of failing the report."""
    monkeypatch.setitem(sys.modules, "experiments.overfit", None)
    db = tmp_path / "s.duckdb"
    _synthetic(db)
    page = build_report(db, tmp_path / "out").read_text()
    assert re.search(r"overfitting checks unavailable: (ModuleNotFound|Import)Error", page)


# -- real headless Chromium through the DevTools protocol ---------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars"]


def _chromium() -> str:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                       else None)
    if exe is None:
        msg = ("Chromium not installed: `apt-get install chromium` (Debian's package; "
               ".ci/run installs it)")
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


class _DevTools:
    """Minimal Chrome DevTools Protocol client over the browser websocket (flat sessions)."""

    def __init__(self, exe: str, user_dir: str):
        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={user_dir}", "--remote-debugging-port=0",
             "--window-size=1280,2000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        url: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            for line in self.proc.stderr:
                self.stderr.append(line)
                m = re.search(r"DevTools listening on (ws://\S+)", line)
                if m:
                    url.append(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(60) or not url:
            self.close()
            raise AssertionError("Chromium did not start its DevTools endpoint:\n"
                                 + "".join(self.stderr[-20:]))
        import websocket

        self.ws = websocket.create_connection(url[0], suppress_origin=True, timeout=60)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg: dict = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev.get("method") == method and not ev.get("_seen"):
                    ev["_seen"] = True
                    return ev
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {method}")
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            self.events.append(json.loads(self.ws.recv()))

    def drain(self, seconds: float) -> None:
        import websocket

        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            try:
                self.send("Browser.close")
            except Exception:  # noqa: BLE001 - it may be gone already
                pass
            self.ws.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _open_page(cdp: _DevTools, url: str) -> str:
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        cdp.send(f"{domain}.enable", session=session)
    cdp.send("Page.navigate", {"url": url}, session=session)
    cdp.wait_for("Page.loadEventFired")
    cdp.drain(0.5)
    return session


def _eval(cdp: _DevTools, session: str, expr: str):
    res = cdp.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
    assert "exceptionDetails" not in res, res
    return res["result"].get("value")


def _problems(cdp: _DevTools) -> list[str]:
    out = []
    for ev in cdp.events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails'].get('text')} "
                       f"{p['exceptionDetails'].get('exception', {}).get('description')}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
        elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            out.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url')}")
        elif m == "Network.loadingFailed":
            out.append(f"network failure: {p.get('errorText')}")
    return out


def _requests(cdp: _DevTools) -> list[str]:
    return [ev["params"]["request"]["url"] for ev in cdp.events
            if ev.get("method") == "Network.requestWillBeSent"]


def _screenshot_not_blank(png: Path) -> None:
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000, img.shape
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    non_white = float(np.mean(np.any(img < 245, axis=2)))
    assert colours > 50, colours
    assert non_white > 0.01, non_white


@pytest.mark.timeout(120)
def test_page_in_headless_chromium(sweep, tmp_path):
    """Real Chromium: no console errors, exceptions or network requests besides the file
    itself; the select switches the heat-map; a header click sorts; the screenshot has content."""
    exe = _chromium()
    pytest.importorskip("websocket", reason="websocket-client not installed (pip install -e '.[dev]')")
    pytest.importorskip("PIL", reason="Pillow (a matplotlib dependency) not installed")
    real = build_report(sweep["rich"], tmp_path / "real")
    db = tmp_path / "s.duckdb"
    _synthetic(db)
    synth = build_report(db, tmp_path / "synth")
    with tempfile.TemporaryDirectory() as user_dir:
        cdp = _DevTools(exe, user_dir)
        try:
            s1 = _open_page(cdp, real.as_uri())
            assert _eval(cdp, s1, "document.querySelectorAll('section').length") == 9
            assert _eval(cdp, s1, "Array.from(document.images).every(i => i.complete && "
                                  "i.naturalWidth > 100)") is True
            # every interactive chart was drawn by the inlined plotly.js (an SVG with traces)
            drawn = ("['heatmap', 'curves', 'hist', 'waterfall', 'alerts'].map(k => {"
                     "var el = document.getElementById('plot-' + k); return el.classList.contains("
                     "'js-plotly-plot') && el.data.length > 0 && el.querySelectorAll('.main-svg').length > 0; })")
            assert _eval(cdp, s1, drawn) == [True] * 5
            assert _eval(cdp, s1, "document.getElementById('plot-curves').data.length") == 8  # 4 x 2
            # the waterfall menu picks a trial: one trace visible at a time
            assert _eval(cdp, s1, "document.getElementById('plot-waterfall').data"
                                  ".map(t => t.visible)") == [True, False, False, False]
            s2 = _open_page(cdp, synth.as_uri())
            # three swept parameters: three pairs, one visible image at a time
            visible = ("Array.from(document.querySelectorAll('img.heatmap'))"
                       ".filter(i => !i.hidden).map(i => i.getAttribute('data-pair'))")
            assert _eval(cdp, s2, "document.getElementById('pair').options.length") == 3
            assert _eval(cdp, s2, visible) == ["0"]
            _eval(cdp, s2, "var s = document.getElementById('pair'); s.value = '2'; "
                           "s.dispatchEvent(new Event('change'))")
            assert _eval(cdp, s2, visible) == ["2"]
            # ... and the interactive heat-map follows the select
            assert "order_qty" in _eval(cdp, s2, "document.getElementById('plot-heatmap').layout.title.text")
            # sort by pnl: ascending, then descending; the failed trial (no pnl) stays last
            col = _eval(cdp, s2, "Array.from(document.querySelectorAll('#trials th'))"
                                 ".findIndex(th => th.textContent === 'pnl')")
            assert col > 0
            read = (f"Array.from(document.querySelectorAll('#trials tbody tr'))"
                    f".map(r => r.cells[{col}].getAttribute('data-v'))")
            head = f"document.querySelectorAll('#trials th')[{col}].click()"
            _eval(cdp, s2, head)
            asc = _eval(cdp, s2, read)
            _eval(cdp, s2, head)
            desc = _eval(cdp, s2, read)
            vals = [float(v) for v in asc if v]
            assert len(vals) == 5 and vals == sorted(vals) and asc[-1] == ""
            assert [float(v) for v in desc if v] == sorted(vals, reverse=True) and desc[-1] == ""
            cdp.drain(0.3)
            problems = _problems(cdp)
            requests = _requests(cdp)
        finally:
            cdp.close()
    assert not problems, problems
    allowed = {real.as_uri(), synth.as_uri()}
    assert requests and all(u in allowed or u.startswith("data:") for u in requests), requests

    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as user_dir:
        proc = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={user_dir}", f"--screenshot={shot}",
             "--window-size=1280,2000", real.as_uri()],
            capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    _screenshot_not_blank(shot)


# -- docs ------------------------------------------------------------------------------------------


def _code_blocks(md: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", md, flags=re.S)


@pytest.mark.timeout(180)
def test_docs_tutorial_code_runs(tmp_path):
    """The tutorial's strategy module and sweep file work as written: validate, and run a trial."""
    md = (REPO / "docs" / "tutorial.md").read_text()
    (py,) = [b for b in _code_blocks(md, "python") if "class WideWhenLong" in b]
    (toml,) = [b for b in _code_blocks(md, "toml") if "[sweep]" in b]
    (tmp_path / "my_quoters.py").write_text(py)
    data = (SAMPLE / "ethusdt_20240718.gz").as_posix()
    toml = re.sub(r"paths = \[[^\]]*\]", f'paths = ["{data}"]', toml)
    (tmp_path / "my_sweep.toml").write_text(toml)
    env = dict(os.environ, PYTHONPATH=str(REPO),
               MMSIM_CACHE_DIR=str(tmp_path / "cache"))
    for args in (["validate", "my_sweep.toml"], ["run", "my_sweep.toml", "--trial", "1"]):
        proc = subprocess.run([sys.executable, "-m", "experiments.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=150)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pnl_per_1k_notional" in proc.stdout


def test_docs_reference_generated_from_schema():
    """docs/gen_reference.py renders every table and key of config_json_schema()."""
    import importlib.util

    from experiments.jsonschema import config_json_schema

    spec = importlib.util.spec_from_file_location("gen_reference", REPO / "docs" / "gen_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = mod.render()
    schema = config_json_schema()
    for table, sub in schema["properties"].items():
        assert f"`[{table}]`" in text, table
        for key in sub.get("properties", {}):
            assert f"`{key}`" in text, (table, key)


# -- counts, idle trials, full-resolution series ------------------------------------------------------


def _small_store(path: Path, curves: dict, metrics: dict) -> str:
    store = ResultStore(path, parts=False)
    sid = store.begin_sweep(
        name="s", config_path="/x/s.toml", config_toml="", root_seed=1, replicates=1,
        n_trials=len(curves), workers=1, strategy_kind="glft", strategy_class="strategies.glft:GLFTQuoter",
        data_format="binance_ws", data_paths=[], data_sha256=[], symbol="X", code_version="0",
        objective="pnl_per_1k_notional", param_columns={"gamma": "DOUBLE"})
    for i, (tid, eq) in enumerate(curves.items()):
        store.record_trial(sid, trial_id=tid, trial_index=i, params={"gamma": float(i)}, replicate=0, seed=i,
                           status="done", wall_s=0.1, metrics=metrics[tid], equity=eq)
    store.finish_sweep(sid, "done")
    store.close()
    return sid


def _curve(ts_s, equity):
    eq = np.zeros(len(ts_s), np.dtype([("ts_ns", np.int64), ("equity", np.float64), ("q", np.float64),
                                       ("mid", np.float64)]))
    eq["ts_ns"] = (np.asarray(ts_s) * 1e9).astype(np.int64)
    eq["equity"] = equity
    eq["mid"] = 100.0
    return eq


def test_counts_are_integers_and_idle_trials_rank_last(tmp_path):
    """Issue 14 items 1 and 3: n_fills is a BIGINT, zero_fills a BOOLEAN; a trial without a fill
    is never the best trial (summary, top_trials) even with the best objective."""
    t = np.arange(0, 60, 0.5)
    rng = np.random.default_rng(0)
    curves = {"idle": _curve(t, np.zeros(t.size)), "busy": _curve(t, np.cumsum(rng.normal(0, 1, t.size)))}
    metrics = {"idle": {"pnl_per_1k_notional": 0.0, "pnl": 0.0, "n_fills": 0.0, "zero_fills": 1.0},
               "busy": {"pnl_per_1k_notional": -3.0, "pnl": -1.0, "n_fills": 17.0, "zero_fills": 0.0}}
    db = tmp_path / "r.duckdb"
    sid = _small_store(db, curves, metrics)
    con = duckdb.connect(str(db), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'metrics'").fetchall())
    assert types["n_fills"] == "BIGINT" and types["zero_fills"] == "BOOLEAN"
    assert con.execute("SELECT n_fills, zero_fills FROM metrics ORDER BY trial_id").fetchall() == [
        (17, False), (0, True)]
    con.close()
    store = ResultStore(db, parts=False)
    try:
        _, rows = store.top_trials(sid, "pnl_per_1k_notional", ["gamma"])
    finally:
        store.close()
    assert [r[0] for r in rows] == ["busy", "idle"]
    page = build_report(db, tmp_path / "out").read_text()
    assert "best trial</td><td>busy" in page and "1 done without a single fill (ranked last)" in page


def test_overfitting_uses_full_resolution_samples_and_counts_flat_trials(tmp_path):
    """Issue 14 item 5: the DSR/PBO series are the equity at every tick of the metric interval
    (equity_samples, not the thinned equity table), and a flat trial is one of the N."""
    overfit = pytest.importorskip("experiments.overfit")
    rng = np.random.default_rng(2)
    t = np.arange(0, 3000, 0.25)  # 12,000 rows: thinned to 2,000 in the equity table
    curves = {f"t{i}": _curve(1_700_000_000 + t, np.cumsum(rng.normal(0.002 * i, 1.0, t.size)))
              for i in range(4)}
    curves["flat"] = _curve(1_700_000_000 + t, np.zeros(t.size))
    metrics = {k: {"pnl": float(c["equity"][-1]), "n_fills": 5.0, "metric_interval_s": 1.0}
               for k, c in curves.items()}
    db = tmp_path / "r.duckdb"
    _small_store(db, curves, metrics)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM equity WHERE trial_id = 't0'").fetchone()[0] == 2000
    assert con.execute("SELECT count(*) FROM equity_samples WHERE trial_id = 't0'").fetchone()[0] == 3000
    con.close()
    # independent series: equity at each whole second (last row at or before it), differenced
    ticks = (1_700_000_000 + np.arange(0, 3000)) * 10**9
    pnl = {}
    for k, c in curves.items():
        idx = np.searchsorted(c["ts_ns"], ticks, side="right") - 1
        pnl[k] = np.diff(c["equity"][idx])
    expected = overfit.sweep_overfitting_report(pnl)
    assert expected["n_trials"] == 5 and expected["n_flat"] == 1
    page = build_report(db, tmp_path / "out").read_text()
    from markupsafe import escape

    assert str(escape(expected["interpretation"])) in page
    assert "N = 5 trials tried: every finished trial is counted, 1 of them with a flat equity curve" in page
    assert "2999 observations each" in page and "equity_samples" in page
