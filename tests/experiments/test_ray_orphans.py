"""The Ray backend leaves no process behind when the sweep process is SIGKILLed (issue 12,
item 10): Ray's own agents outlive their driver; the backend's watchdog kills them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from experiments.backends.reaper import descendants

pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"

SLOW = """
import time
from strategies.glft import GLFTQuoter


class Q(GLFTQuoter):
    def on_start(self):
        time.sleep(3)
        super().on_start()
"""


def _running(pid: int, start: int) -> bool:
    """The process with this pid and start time still runs (not a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in "ZX" and int(fields[19]) == start


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_of_a_ray_sweep_leaves_no_ray_process(tmp_path):
    (tmp_path / "slow_q.py").write_text(SLOW)
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(f"""
        [sweep]
        name = "r"
        seed = 1
        backend = "ray"

        [data]
        format = "binance_ws"
        paths = ["{SAMPLE.as_posix()}"]

        [venue]
        profile = "binance_usdm"

        [strategy]
        kind = "slow_q:Q"
        gamma = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]
        """))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PYTHONPATH=str(REPO), MMSIM_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "sweep", str(toml), "--workers", "2", "--plain",
         "--results", str(tmp_path / "r.duckdb")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 200
        for line in proc.stdout:  # wait until Ray runs trials
            if line.startswith("[") or time.monotonic() > deadline:
                break
        tree = descendants(proc.pid)
        names = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                 for pid in tree if Path(f"/proc/{pid}/cmdline").exists()}
        assert any("raylet" in n for n in names.values()), names
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        left = tree
        end = time.monotonic() + 30
        while left and time.monotonic() < end:
            time.sleep(0.5)
            left = {p: s for p, s in left.items() if _running(p, s)}
        assert not left, {p: names.get(p) for p in left}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
