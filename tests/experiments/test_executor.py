"""The executor with a stand-in ``run_trial``: failures are recorded and the sweep goes on."""

from __future__ import annotations

import math
import sys
import time
import types

import duckdb
import pytest

from experiments.config import load_sweep
from experiments.executor import resolve_workers, run_sweep
from experiments.progress import PlainReporter


@pytest.fixture
def fake_trial(monkeypatch):
    """Replace ``experiments.trial`` in this process: metrics from (seed, gamma); gamma >= 0.5
    raises; gamma == 0.1 reports a NaN ``pnl_per_1k_notional`` (never held inventory)."""
    mod = types.ModuleType("experiments.trial")

    class TrialResult:
        def __init__(self, metrics):
            self.metrics = metrics
            self.equity = None
            self.fills = None

    def run_trial(feed, venue, strategy, strategy_cls, seed, extras=None):
        if strategy.gamma >= 0.5:
            raise ZeroDivisionError(f"fake failure at gamma={strategy.gamma}")
        per_1k = math.nan if strategy.gamma == 0.1 else seed % 1000 / 7.0
        return TrialResult({"pnl": seed % 997 * 0.5, "pnl_per_1k_notional": per_1k,
                            "n_fills": 3.0, "extra_metric": 1.5})

    mod.run_trial, mod.TrialResult = run_trial, TrialResult
    monkeypatch.setitem(sys.modules, "experiments.trial", mod)
    return mod


def test_failing_trials_are_recorded_and_the_sweep_goes_on(
    write_sweep, base_toml, fake_trial, tmp_path
):
    """A trial that raises is stored as 'failed' with 'Type: message'; the others finish."""
    spec = load_sweep(write_sweep(base_toml.replace('"glft"', '"mm_test_plugins:ExplodingQuoter"')))
    db = tmp_path / "out" / "r.duckdb"
    lines = []

    class Stream:
        def write(self, s):
            lines.append(s)

        def flush(self):
            pass

    res = run_sweep(spec, results=db, workers=1, reporter=PlainReporter(Stream(), ["gamma"]),
                    feed=object())
    assert (res.n_done, res.n_failed, res.n_total, res.interrupted) == (4, 2, 6, False)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT gamma, queue_model, status, error, traceback IS NOT NULL FROM trials "
        "WHERE status = 'failed' ORDER BY queue_model"
    ).fetchall()
    assert rows == [
        (1.0, "prob_power", "failed", "ZeroDivisionError: fake failure at gamma=1.0", True),
        (1.0, "risk_averse", "failed", "ZeroDivisionError: fake failure at gamma=1.0", True),
    ]
    assert con.execute("SELECT count(*) FROM metrics").fetchone() == (4,)
    # NaN metrics are stored as NULL so that ORDER BY ... DESC does not rank them first
    assert con.execute(
        "SELECT count(*) FROM metrics JOIN trials USING (sweep_id, trial_id) "
        "WHERE gamma = 0.1 AND pnl_per_1k_notional IS NULL"
    ).fetchone() == (2,)
    # metrics the schema did not know are added as DOUBLE columns
    assert con.execute("SELECT DISTINCT extra_metric FROM metrics").fetchall() == [(1.5,)]
    assert con.execute("SELECT status, n_trials, strategy_class FROM sweeps").fetchone() == (
        "done", 6, "mm_test_plugins:ExplodingQuoter"
    )
    text = "".join(lines)
    assert "[6/6]" in text and "failed" in text and "4 done, 2 failed" in text


def test_seeds_in_the_store_are_the_derived_ones(write_sweep, base_toml, fake_trial, tmp_path):
    """Every stored seed and id equals the spec's (derived from root seed and trial id)."""
    spec = load_sweep(write_sweep(base_toml))
    db = tmp_path / "r.duckdb"
    run_sweep(spec, results=db, workers=1, reporter=PlainReporter(open("/dev/null", "w")),
              feed=object())
    con = duckdb.connect(str(db), read_only=True)
    stored = dict(con.execute("SELECT trial_id, seed FROM trials").fetchall())
    assert stored == {t.trial_id: t.seed for t in spec.trials}


def test_resolve_workers(write_sweep, base_toml):
    """0 means all cores; never more workers than trials; an explicit value wins."""
    spec = load_sweep(write_sweep(base_toml))
    assert resolve_workers(1, spec) == 1
    assert resolve_workers(64, spec) == 6
    assert 1 <= resolve_workers(0, spec) <= 6
    assert resolve_workers(None, spec) == resolve_workers(0, spec)


# -- the local backend on real data: timeouts, crashed workers, stored arrays ----------------

EVIL_PLUGIN = '''
import os
import time

from strategies.glft import GLFTQuoter


class EvilQuoter(GLFTQuoter):
    """gamma == 0.2 hangs, gamma == 0.3 kills its worker process, others run normally."""

    def on_start(self):
        if self.config.gamma == 0.2:
            time.sleep(60)
        if self.config.gamma == 0.3:
            os._exit(3)
        super().on_start()
'''

REAL_TOML = """
[sweep]
name = "evil"
seed = 1

[data]
format = "binance_ws"
paths = ["{sample}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001

[strategy]
kind = "evil_plugin:EvilQuoter"
order_qty = 0.05
max_position = 0.5
gamma = {gammas}
"""


@pytest.mark.timeout(180)
def test_timeout_and_crashed_worker_fail_their_trials_only(tmp_path):
    """A hanging trial ends 'failed' with a TimeoutError after timeout_s, a worker that dies
    fails its trial with the exit code; pebble replaces the workers and the rest finish."""
    from pathlib import Path

    from experiments.backends.local import LocalBackend
    from experiments.config import load_sweep
    from experiments.executor import cache_dir, load_data
    from experiments.worker import WorkerContext

    sample = Path(__file__).resolve().parents[2] / "data/binance_usdm_ethusdt/ethusdt_20240718.gz"
    (tmp_path / "evil_plugin.py").write_text(EVIL_PLUGIN)
    body = (REAL_TOML.replace("{sample}", sample.as_posix())
            .replace("{gammas}", "[0.01, 0.2, 0.3, 0.1]"))
    toml = tmp_path / "evil.toml"
    toml.write_text(body)
    spec = load_sweep(toml)
    load_data(spec)  # the parent parses once and writes the shared events.npy
    ctx = WorkerContext(data=spec.data, cache_dir=cache_dir(), sys_path=tuple(sys.path),
                        strategy_path=spec.strategy_path, search_dir=str(tmp_path))
    backend = LocalBackend()
    backend.start(ctx, 2)
    try:
        for t in spec.trials:
            backend.submit(t, timeout_s=4.0)
        got = {}
        seen_running = False
        deadline = time.monotonic() + 150
        while len(got) < len(spec.trials) and time.monotonic() < deadline:
            for trial, outcome in backend.poll(0.2):
                got[trial.strategy.gamma] = outcome
            seen_running |= bool(backend.running())
    finally:
        backend.shutdown()
    assert seen_running
    assert got[0.01].status == "done" and got[0.1].status == "done"
    assert got[0.01].equity is not None and got[0.01].host
    assert (got[0.2].status, got[0.2].error) == ("failed", "TimeoutError: trial exceeded 4 s")
    assert got[0.3].status == "failed" and "exit code 3" in got[0.3].error


def test_store_keeps_equity_fills_and_reproducibility_metadata(write_sweep, base_toml, tmp_path):
    """Equity (downsampled), fills and per-trial metadata land in DuckDB in one transaction."""
    import numpy as np

    from components.metrics import EQUITY_DTYPE, FILL_DTYPE
    from experiments.store import ResultStore

    eq = np.zeros(5000, EQUITY_DTYPE)
    eq["ts_ns"] = np.arange(5000)
    eq["equity"] = np.linspace(0, 1, 5000)
    fills = np.zeros(3, FILL_DTYPE)
    fills["px"] = [1.0, 2.0, 3.0]
    fills["is_maker"] = True
    store = ResultStore(tmp_path / "r.duckdb")
    sid = store.begin_sweep(
        name="s", config_path="/x.toml", config_toml="", root_seed=1, replicates=1, n_trials=1,
        workers=1, strategy_kind="glft", strategy_class="x:Y", data_format="binance_ws",
        data_paths=[], data_sha256=["ab"], symbol=None, code_version="0",
        param_columns={"gamma": "DOUBLE"},
    )
    store.record_trial(sid, trial_id="t1", trial_index=0, params={"gamma": 0.1}, replicate=0,
                       seed=9, status="done", wall_s=0.1, metrics={"pnl": 1.0}, equity=eq,
                       fills=fills, repro={"config_sha256": "c", "code_revision": "abc",
                                           "code_dirty": True, "data_sha256": ["ab"],
                                           "package_versions": {"numpy": "2"}, "host": "h"})
    # the live Parquet parts exist until the sweep is done
    assert (tmp_path / "r.duckdb.parts" / sid / "equity" / "t1.parquet").is_file()
    assert store.finished_trials(sid)["t1"]["pnl"] == 1.0
    store.finish_sweep(sid, "done")
    store.close()
    assert not (tmp_path / "r.duckdb.parts").exists()
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    n, first, last = con.execute("SELECT count(*), min(ts_ns), max(ts_ns) FROM equity").fetchone()
    assert n <= 2000 and (first, last) == (0, 4999)
    assert con.execute("SELECT px, is_maker FROM fills ORDER BY px").fetchall() == [
        (1.0, True), (2.0, True), (3.0, True)]
    assert con.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    row = con.execute("SELECT config_sha256, code_revision, code_dirty, data_sha256, "
                      "package_versions, host, seed FROM trials").fetchone()
    assert row == ("c", "abc", True, '["ab"]', '{"numpy": "2"}', "h", 9)


CHATTY_PLUGIN = '''
import logging
import sys
import warnings

from strategies.glft import GLFTQuoter


class ChattyQuoter(GLFTQuoter):
    """Prints, warns and logs from the worker process (as user code and libraries do)."""

    def on_start(self):
        print(f"chatty stdout gamma={self.config.gamma}")
        sys.stderr.write("chatty stderr [/x] line\\n")
        warnings.warn("chatty warning")
        logging.getLogger("chatty").warning("chatty log record")
        super().on_start()
'''


class _LogReporter(PlainReporter):
    def __init__(self):
        import io

        super().__init__(stream=io.StringIO())
        self.lines: list[str] = []

    def log(self, line: str) -> None:
        self.lines.append(line)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_worker_output_goes_through_the_reporter(tmp_path, capfd):
    """Worker processes' print/stderr/warnings/logging lines reach the parent's reporter (the
    live view prints them above itself) and none is written straight to the terminal."""
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "data" / "binance_usdm_ethusdt" / \
        "ethusdt_20240718.gz"
    (tmp_path / "chatty_plugin.py").write_text(CHATTY_PLUGIN)
    toml = tmp_path / "chatty.toml"
    toml.write_text(REAL_TOML.replace("{sample}", sample.as_posix())
                    .replace("{gammas}", "[0.01, 0.1]")
                    .replace("evil_plugin:EvilQuoter", "chatty_plugin:ChattyQuoter"))
    spec = load_sweep(toml)
    reporter = _LogReporter()
    capfd.readouterr()
    res = run_sweep(spec, results=tmp_path / "r.duckdb", workers=2, reporter=reporter)
    raw = capfd.readouterr()
    assert res.n_done == 2
    text = "\n".join(reporter.lines)
    for needle in ("chatty stdout gamma=0.01", "chatty stdout gamma=0.1",
                   "chatty stderr [/x] line", "chatty warning", "chatty log record"):
        assert needle in text, reporter.lines
    assert "chatty" not in raw.out and "chatty" not in raw.err


def test_live_view_prints_markup_in_names_errors_and_logs_verbatim():
    """Rich markup in a sweep name, a parameter value, an error or a worker line ([/x]) is
    printed as text by the live view, not parsed (it used to raise MarkupError)."""
    import io

    from rich.console import Console

    from experiments.progress import RichReporter, TrialOutcome

    buf = io.StringIO()
    rep = RichReporter(console=Console(file=buf, width=200, force_terminal=False),
                       axis_columns=["queue_model"])
    rep.start(name="[/x] sweep", total=2, workers=1, objective="pnl")
    trial = types.SimpleNamespace(trial_id="t0", params={"queue_model": "[/y]"}, index=0)
    rep.tick([(trial, time.monotonic())])
    rep.log("worker said [/z] and [bold]")
    rep.trial_done(trial, TrialOutcome(trial_id="t0", status="failed", error="Boom: [/w]"))
    rep.trial_done(trial, TrialOutcome(trial_id="t0", status="done", metrics={"pnl": 1.0}))
    rep.finish(interrupted=False)
    out = buf.getvalue()
    for needle in ("[/x] sweep", "worker said [/z] and [bold]", "Boom: [/w]", "[/y]"):
        assert needle in out
