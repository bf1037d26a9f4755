"""Every SQL query in README.md and docs/*.md runs against a real results file (issue 14 item 11).

The queries are taken from the fenced code blocks as written (``mmsim query FILE "SQL"`` in
shell blocks, ``.sql(\"\"\"SQL\"\"\")`` in Python blocks) and run through ``mmsim query`` on a
results file holding **two** runs of a small γ sweep (and, for the tutorial, the tutorial's own
sweep). Queries over trials must not count a trial once per run: a query of the latest sweep
returns exactly one row per trial.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import duckdb
import pytest

from experiments.cli import main
from experiments.store import open_for_query

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

GAMMA = """
[sweep]
name = "gamma"
seed = 7
workers = 1

[data]
format = "binance_ws"
paths = ["{data}"]

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
N_TRIALS = 4


def _queries() -> list[tuple[str, str, str]]:
    """``(where, results file as written, sql)`` for every query in the docs' code blocks."""
    out = []
    for md in DOCS:
        text = md.read_text(encoding="utf-8")
        for k, (lang, body) in enumerate(re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)):
            where = f"{md.name} block {k}"
            if lang in ("bash", "sh", "shell", "console", ""):
                for m in re.finditer(r'mmsim query (\S+) "(.*?)"', body, flags=re.S):
                    out.append((where, m.group(1), m.group(2)))
            elif lang == "python":
                con = re.search(r'duckdb\.connect\("([^"]+)"', body)
                for m in re.finditer(r'\.sql\(\s*"""(.*?)"""', body, flags=re.S):
                    out.append((where, con.group(1) if con else "?", m.group(1)))
    return out


QUERIES = _queries()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """``results/<name>.duckdb`` as the docs name them → a real file: gamma (two runs of a
    4-trial sweep) and the tutorial's wide_when_long sweep."""
    d = tmp_path_factory.mktemp("q")
    cache = tmp_path_factory.mktemp("cache")
    files = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMSIM_CACHE_DIR", str(cache))
        mp.chdir(d)
        toml = d / "gamma.toml"
        toml.write_text(textwrap.dedent(GAMMA).format(data=SAMPLE.as_posix()))
        db = d / "gamma.duckdb"
        for _ in range(2):  # a second run into the same file, as a user re-running the quickstart
            assert main(["sweep", str(toml), "--results", str(db), "--workers", "1", "--plain"]) == 0
        files["results/gamma.duckdb"] = db
        tutorial = (REPO / "docs" / "tutorial.md").read_text()
        (py,) = [b for b in re.findall(r"```python\n(.*?)```", tutorial, re.S) if "class WideWhenLong" in b]
        (tt,) = [b for b in re.findall(r"```toml\n(.*?)```", tutorial, re.S) if "[sweep]" in b]
        (d / "my_quoters.py").write_text(py)
        (d / "my_sweep.toml").write_text(re.sub(r"paths = \[[^\]]*\]", f'paths = ["{SAMPLE.as_posix()}"]', tt))
        db2 = d / "wide_when_long.duckdb"
        assert main(["sweep", str(d / "my_sweep.toml"), "--results", str(db2), "--workers", "1", "--plain"]) == 0
        files["results/wide_when_long.duckdb"] = db2
        files["results/hedge_chains.duckdb"] = _hedge_chains_cut(d)
    return files


def _hedge_chains_cut(d: Path) -> Path:
    """``experiments/hedge_chains.toml`` cut to 2 trials (Base; two pool kinds), its data paths
    made absolute: the chain docs' query runs on the columns that example really writes."""
    text = (REPO / "experiments" / "hedge_chains.toml").read_text()
    text = text.replace('"../data/', f'"{(REPO / "data").as_posix()}/')
    cuts = {"profile": '"base"', "kind": '["pancake_v2", "uniswap_v3"]', "bribe_policy": '"optimal"',
            "submission": '"public"'}  # fmt: skip
    for key, value in cuts.items():
        text, n = re.subn(rf"^{key} = \[[^\]]*\]", f"{key} = {value}", text, count=1, flags=re.M)
        assert n == 1, f"hedge_chains.toml has no {key} axis any more"
    (d / "hedge_chains.toml").write_text(text)
    db = d / "hedge_chains.duckdb"
    assert main(["sweep", str(d / "hedge_chains.toml"), "--results", str(db), "--workers", "1", "--plain"]) == 0
    return db


def test_the_docs_have_queries():
    wheres = {w.split()[0] for w, _, _ in QUERIES}
    assert {"README.md", "results.md", "getting-started.md", "tutorial.md"} <= wheres
    assert len(QUERIES) >= 12


@pytest.mark.parametrize("where,path,sql", QUERIES, ids=[f"{w}:{i}" for i, (w, _, _) in enumerate(QUERIES)])
def test_every_docs_query_runs(results, where, path, sql, capsys):
    """The query runs through ``mmsim query`` (exit 0); over the trials of the file it returns
    one row per trial of the latest sweep, not one per run."""
    assert path in results, f"{where}: a query of {path}, which no test sweep writes"
    db = results[path]
    rc = main(["query", str(db), sql])
    out = capsys.readouterr()
    assert rc == 0, f"{where}: {sql}\n{out.err}"
    con, _ = open_for_query(db)
    try:
        rows = con.execute(sql).fetchall()
        n_latest = con.execute("SELECT count(*) FROM latest_trials").fetchone()[0]
    finally:
        con.close()
    flat = " ".join(sql.split())
    main_table = re.search(r"\bFROM (\w+)", flat)  # the first FROM: the rows' table
    per_trial = (main_table is not None and main_table.group(1) in ("latest_trials", "trials")
                 and "GROUP BY" not in flat and "DISTINCT" not in flat and "status = 'failed'" not in flat)
    if per_trial:
        assert len(rows) == n_latest, f"{where}: {len(rows)} rows for {n_latest} trials: {flat}"
    if re.search(r"\btrials\s+JOIN\s+metrics\b", flat):  # allowed only with a sweep filter
        assert "WHERE sweep_id =" in flat, f"{where}: counts every run: {flat}"


def test_latest_trials_is_the_latest_sweep_only(results):
    """Two runs into one file: 8 trial rows, the view holds the 4 of the latest run."""
    con = duckdb.connect(str(results["results/gamma.duckdb"]), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM trials").fetchone()[0] == 2 * N_TRIALS
        latest = con.execute("SELECT sweep_id FROM sweeps ORDER BY created_at DESC LIMIT 1").fetchone()[0]
        rows = con.execute("SELECT DISTINCT sweep_id FROM latest_trials").fetchall()
        assert rows == [(latest,)]
        assert con.execute("SELECT count(*) FROM latest_trials").fetchone()[0] == N_TRIALS
        # the pre-fix quickstart query counts each trial twice
        assert con.execute("SELECT count(*) FROM trials JOIN metrics USING (trial_id)").fetchone()[0] == 16
    finally:
        con.close()
