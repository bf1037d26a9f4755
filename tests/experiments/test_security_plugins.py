"""Sweep files run only the code they name (issue 12, items 1-3), checked with real ``mmsim``
processes: modules planted beside a sweep file are never imported (not by ``validate``, not by
``sweep`` and its worker processes), a name that would shadow an installed package is refused,
the named object must be a Strategy subclass, and ``resume`` imports a user module only while
its file has the hash recorded when the sweep ran."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FILE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"
TIMEOUT_S = 240

SWEEP = """
[sweep]
name = "sec"
seed = 5

[data]
format = "binance_ws"
paths = ["{sample}"]

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001

[strategy]
kind = "{kind}"
order_qty = 0.05
max_position = 0.5
gamma = [0.01, 0.1]
"""

# What a hostile file planted beside a shared sweep file would do when imported.
PLANT = """
import pathlib
pathlib.Path({marker!r}).write_text("imported " + __name__)
"""

USER_MODULE = '''
"""A legitimate user strategy module."""
from strategies.glft import GLFTQuoter


class MyQuoter(GLFTQuoter):
    """GLFT, unchanged."""


class NotAStrategy:
    """Has an attrs config_class but is no Strategy."""
    config_class = GLFTQuoter.config_class


def not_a_class():
    return 1
'''


PLANTED = ("numpy", "colorama", "duckdb", "rich", "annotationlib", "bottleneck", "numexpr",
           "pytz", "cython", "substrait", "org")
"""Names a sweep imports or tries to import (found with a meta-path probe on a real sweep)."""


def _env(d: Path) -> dict[str, str]:
    return dict(os.environ, MMSIM_CACHE_DIR=str(d / "cache"), PYTHONPATH=str(REPO))


def _mmsim(d: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.cli", *argv], cwd=d, env=_env(d),
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def _sweep_file(d: Path, kind: str, name: str = "sweep.toml") -> Path:
    path = d / name
    path.write_text(textwrap.dedent(SWEEP).replace("{sample}", SAMPLE_FILE.as_posix())
                    .replace("{kind}", kind))
    return path


def _plant(d: Path, *names: str) -> Path:
    marker = d / "PLANTED_CODE_RAN"
    for name in names:
        (d / f"{name}.py").write_text(PLANT.format(marker=str(marker)))
    return marker


@pytest.fixture
def folder(tmp_path):
    # the sweep file lives in its own folder, the process runs elsewhere (not on sys.path)
    d = tmp_path / "shared"
    d.mkdir()
    (d / "my_quoters.py").write_text(USER_MODULE)
    return d


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("kind", ["glft", "my_quoters:MyQuoter"])
def test_planted_modules_never_run_in_validate_sweep_or_workers(folder, tmp_path, kind):
    """Modules beside the sweep file named like packages mmsim or its dependencies import
    (numpy, colorama) or try to import and may not find (pandas' optional bottleneck,
    numexpr, pytz; attrs' annotationlib...) do not run, whether the kind is built in or a user
    module; the sweep uses two worker processes, which import the user module too."""
    marker = _plant(folder, *PLANTED)
    toml = _sweep_file(folder, kind)
    v = _mmsim(tmp_path, "validate", str(toml))
    assert v.returncode == 0, v.stderr
    s = _mmsim(tmp_path, "sweep", str(toml), "--workers", "2", "--plain", "--results",
               str(tmp_path / "r.duckdb"))
    assert s.returncode == 0, s.stdout + s.stderr
    assert not marker.exists(), marker.read_text()
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    try:
        statuses = con.execute("SELECT status FROM trials").fetchall()
    finally:
        con.close()
    assert statuses == [("done",), ("done",)]


@pytest.mark.parametrize("name", ["numpy", "colorama"])
def test_a_module_named_like_an_installed_package_is_refused(folder, tmp_path, name):
    """``kind = "numpy:Quoter"`` with a numpy.py beside the file: ambiguous, exit 2, the
    planted file does not run (nor is the installed one used silently)."""
    marker = _plant(folder, name)
    toml = _sweep_file(folder, f"{name}:Quoter")
    for argv in (["validate", str(toml)],
                 ["sweep", str(toml), "--results", str(tmp_path / "r.duckdb")]):
        p = _mmsim(tmp_path, *argv)
        assert p.returncode == 2, p.stdout + p.stderr
        assert "Traceback" not in p.stderr
        assert f"module '{name}' is both an installed module" in p.stderr
        assert str(folder / f"{name}.py") in p.stderr
    assert not marker.exists()
    assert not (tmp_path / "r.duckdb").exists()


@pytest.mark.parametrize(("attr", "needle"), [
    ("NotAStrategy", "is not a subclass of strategies.base.Strategy"),
    ("not_a_class", "is not a class (got function"),
])
def test_the_named_object_must_be_a_strategy_subclass(folder, tmp_path, attr, needle):
    """A class with a config_class that is no Strategy, or a function: exit 2 in validate,
    sweep and run, nothing written."""
    toml = _sweep_file(folder, f"my_quoters:{attr}")
    results = tmp_path / "r.duckdb"
    for argv in (["validate", str(toml)], ["sweep", str(toml), "--results", str(results)],
                 ["run", str(toml)]):
        p = _mmsim(tmp_path, *argv)
        assert p.returncode == 2, p.stdout + p.stderr
        assert f"strategy.kind: 'my_quoters:{attr}' {needle}" in p.stderr
    assert not results.exists()


def test_only_the_named_module_is_loaded_not_its_neighbours(folder, tmp_path):
    """The user module itself cannot import a planted neighbour: the folder is not on sys.path."""
    marker = _plant(folder, "helper_mod")
    (folder / "uses_helper.py").write_text(
        "import helper_mod  # noqa\nfrom strategies.glft import GLFTQuoter as Q\n")
    p = _mmsim(tmp_path, "validate", str(_sweep_file(folder, "uses_helper:Q")))
    assert p.returncode == 2
    assert "No module named 'helper_mod'" in p.stderr
    assert not marker.exists()


def _interrupted_copy(src: Path, dst: Path, drop: int = 1) -> None:
    """Copy a finished results file, mark its sweep interrupted and drop ``drop`` trials."""
    dst.write_bytes(src.read_bytes())
    con = duckdb.connect(str(dst))
    try:
        ids = [r[0] for r in con.execute(
            "SELECT trial_id FROM trials ORDER BY trial_id LIMIT ?", [drop]).fetchall()]
        for table in ("trials", "metrics", "equity", "fills", "alerts"):
            con.execute(f"DELETE FROM {table} WHERE trial_id IN (SELECT unnest(?))", [ids])
        con.execute("UPDATE sweeps SET status = 'interrupted'")
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_resume_imports_a_user_module_only_with_its_recorded_hash(folder, tmp_path):
    """The sweep records the module's sha256; resume prints the module it loads; after the
    file changed (here: code that writes a marker appended), resume exits 2 naming the file
    and the changed code never runs."""
    toml = _sweep_file(folder, "my_quoters:MyQuoter")
    done = tmp_path / "done.duckdb"
    s = _mmsim(tmp_path, "sweep", str(toml), "--plain", "--results", str(done))
    assert s.returncode == 0, s.stdout + s.stderr
    con = duckdb.connect(str(done), read_only=True)
    (mods,) = con.execute("SELECT user_modules FROM sweeps").fetchone()
    con.close()
    import hashlib
    import json

    want = hashlib.sha256((folder / "my_quoters.py").read_bytes()).hexdigest()
    assert json.loads(mods) == [{"name": "my_quoters", "file": str(folder / "my_quoters.py"),
                                 "sha256": want}]

    ok = tmp_path / "ok.duckdb"
    _interrupted_copy(done, ok)
    r = _mmsim(tmp_path, "resume", str(ok), "--plain")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"loading user module my_quoters from {folder / 'my_quoters.py'}" in r.stdout

    changed = tmp_path / "changed.duckdb"
    _interrupted_copy(done, changed)
    marker = tmp_path / "CHANGED_CODE_RAN"
    with open(folder / "my_quoters.py", "a") as f:
        f.write(PLANT.format(marker=str(marker)))
    r = _mmsim(tmp_path, "resume", str(changed), "--plain")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "user module 'my_quoters' changed since the sweep ran" in r.stderr
    assert str(folder / "my_quoters.py") in r.stderr
    assert not marker.exists()


def test_resume_refuses_a_user_module_the_results_file_did_not_record(folder, tmp_path):
    """A crafted results file (a sweep row naming a user module, no recorded hash): exit 2,
    nothing of the module runs."""
    marker = _plant(folder, "evil")
    toml_text = (textwrap.dedent(SWEEP).replace("{sample}", SAMPLE_FILE.as_posix())
                 .replace("{kind}", "evil:Q"))
    crafted = tmp_path / "crafted.duckdb"
    from experiments.store import ResultStore

    store = ResultStore(crafted, parts=False)
    store.begin_sweep(
        name="x", config_path=str(folder / "sweep.toml"), config_toml=toml_text, root_seed=5,
        replicates=1, n_trials=2, workers=1, strategy_kind="evil:Q", strategy_class="evil:Q",
        data_format="binance_ws", data_paths=[str(SAMPLE_FILE)], data_sha256=[], symbol=None,
        code_version="x", param_columns={"gamma": "DOUBLE"})
    store.con.execute("UPDATE sweeps SET status = 'interrupted'")
    store.close()
    r = _mmsim(tmp_path, "resume", str(crafted))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "user module 'evil'" in r.stderr and "was not recorded" in r.stderr
    assert not marker.exists()
