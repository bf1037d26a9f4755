"""The README's "Extending" example runs as written and visibly changes the outcome.

The ``python`` and ``toml`` blocks of the README's "Extending: your own strategy" section are
written next to each other exactly as a user would copy them, completed with the bundled data
and venue tables, and run through ``mmsim run`` (a real process); the same file with
``kind = "glft"`` is the parent strategy. The subclass doubles the inventory skew, so it must
hold less inventory on average and trade a different set of fills.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "binance_usdm_ethusdt"

HEAD = f"""[sweep]
name = "extending"
seed = 7

[data]
format = "binance_ws"
paths = ["{DATA / 'ethusdt_20240718.gz'}", "{DATA / 'ethusdt_20240719.gz'}"]
symbol = "ETHUSDT"
on_gap = "resync"

[venue]
profile = "binance_usdm"
tick_size = 0.01
lot_size = 0.001

"""


def _readme_blocks() -> tuple[str, str]:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Extending") :]
    section = section[: section.index("\n## ", 4)]
    python = re.search(r"```python\n(.*?)```", section, re.S)
    toml = re.search(r"```toml\n(.*?)```", section, re.S)
    assert python and toml, "the README's Extending section lost its code blocks"
    return python.group(1), toml.group(1)


def _metrics(config: Path, trial: int, cwd: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", str(config), "--trial", str(trial)],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"│\s*(\w+)\s*│\s*(-?[\d.eE+-]+)\s*│", out.stdout)
    return {k: float(v) for k, v in rows}


@pytest.mark.slow
def test_readme_extending_example_changes_the_outcome(tmp_path):
    python, toml = _readme_blocks()
    module = re.search(r'kind = "(\w+):(\w+)"', toml)
    assert module, "the README's TOML block must name the subclass by 'module:Class'"
    (tmp_path / f"{module.group(1)}.py").write_text(python)
    (tmp_path / "my_sweep.toml").write_text(HEAD + toml)
    (tmp_path / "parent.toml").write_text(HEAD + toml.replace(module.group(0), 'kind = "glft"'))
    for trial in (0, 1):  # both gamma values of the example
        child = _metrics(tmp_path / "my_sweep.toml", trial, tmp_path)
        parent = _metrics(tmp_path / "parent.toml", trial, tmp_path)
        assert child["n_fills"] > 0 and parent["n_fills"] > 0
        assert child["mean_abs_q"] < parent["mean_abs_q"]  # leaning harder keeps it flatter
        assert (child["n_fills"], child["pnl"]) != (parent["n_fills"], parent["pnl"])
