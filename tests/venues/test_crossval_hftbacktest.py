"""A short slice of the hftbacktest cross-validation (``bench/crossval_hftbacktest.py``).

hftbacktest 2.4.4 (the ``dev`` extra) converts the bundled ETHUSDT capture with its own
converter and runs the GLFT loop of ``bench/bench_vs_hftbacktest.py`` on its API; mmsim runs
:class:`strategies.glft.GLFTQuoter` on the same converted file with hftbacktest's modelling
choices (``mode = "aligned"``). The fills must agree one-to-one on (exchange time, side,
price, qty) and so must the PnL and the equity at every decision step. The full run (both
data sets, three queue models, both modes) is ``just crossval``.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "components", "strategies", "venues", "experiments", "signals")


@pytest.fixture(scope="module")
def crossval():
    pytest.importorskip("hftbacktest")
    spec = importlib.util.spec_from_file_location("crossval_hftbacktest", ROOT / "bench" / "crossval_hftbacktest.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["crossval_hftbacktest"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def report(crossval, tmp_path_factory):
    npz = tmp_path_factory.mktemp("hbt_npz")
    return crossval.run(["ethusdt_20240718-19"], ["risk_averse", "prob_power"], ["aligned"], npz, 200.0, False)


def test_aligned_slice_matches_fill_for_fill(report):
    """Aligned mode on the first 200 s of the ETHUSDT pair: fill_match >= 0.99, PnL within 1%,
    equity equal at every step (outside the fee-booking latency window), for the risk-averse
    and the power (n = 3) probabilistic queue models."""
    rows = report["runs"]
    assert [r["queue_model"] for r in rows] == ["risk_averse", "prob_power"]
    for r in rows:
        assert r["mode"] == "aligned" and r["hbt_fills"] >= 5, r
        assert r["hbt_fills"] == r["hbt_num_trades"]  # the loop logged every hftbacktest fill
        assert r["fill_match"] >= 0.99, (r["only_mmsim"], r["only_hbt"])
        assert r["pnl_rel_diff"] <= 0.01, r
        assert r["max_abs_equity_diff"] < 1e-6, r
        assert r["options_missing_in_mmsim"] == [], r


def test_match_counts_one_to_one(crossval):
    """fill_match arithmetic: duplicates pair at most once; a fill 1 ms or one tick off does
    not match."""
    a = [(1, 1, 100, 2), (1, 1, 100, 2), (5, -1, 101, 2), (9, 1, 99, 2)]
    b = [(1, 1, 100, 2), (5, -1, 101, 2), (9, 1, 98, 2), (9_000_001, 1, 99, 2)]
    n, only_a, only_b = crossval.match(a, b)
    assert n == 2
    assert only_a == [(1, 1, 100, 2), (9, 1, 99, 2)]
    assert only_b == [(9, 1, 98, 2), (9_000_001, 1, 99, 2)]


def test_package_never_imports_hftbacktest():
    """hftbacktest is a dev-only dependency: no module of the mmsim package imports it (the
    loader module ``venues/loaders/hftbacktest.py`` only reads its file format)."""
    offenders = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                if any(n == "hftbacktest" or n.startswith("hftbacktest.") for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
