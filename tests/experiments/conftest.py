"""Fixtures for the experiments tests: sweep files in a temporary directory, a feed cache."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt"

PLUGIN_FILE = Path(__file__).with_name("mm_test_plugins.py")


@pytest.fixture(autouse=True)
def _feed_cache(tmp_path_factory, monkeypatch):
    """Keep the parsed-feed cache out of the user's home, shared by the whole session."""
    monkeypatch.setenv("MMSIM_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "feed-cache"))


@pytest.fixture
def write_sweep(tmp_path):
    """Write a sweep TOML (and the user plugin module beside it) into ``tmp_path``.

    Returns a function ``(body, name="sweep.toml") -> Path``; ``body`` is dedented. Two empty
    placeholder data files ``a.gz`` and ``b.gz`` exist beside it.
    """
    shutil.copy(PLUGIN_FILE, tmp_path / "mm_test_plugins.py")
    (tmp_path / "a.gz").write_bytes(b"")
    (tmp_path / "b.gz").write_bytes(b"")

    def write(body: str, name: str = "sweep.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path

    return write


@pytest.fixture
def base_toml() -> str:
    """A valid 2 x 3 grid (queue_model x gamma) over placeholder data files."""
    return BASE_TOML


BASE_TOML = """
[sweep]
name = "t"
seed = 3

[data]
format = "binance_ws"
paths = ["a.gz", "b.gz"]

[venue]
profile = "binance_usdm"
queue_model = ["risk_averse", "prob_power"]

[strategy]
kind = "glft"
gamma = [0.01, 0.1, 1.0]
"""
