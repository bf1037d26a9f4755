"""A private local Ray instance listens on 127.0.0.1 only (issue 12, item 10).

Ray rewrites ``ray.init(_node_ip_address="127.0.0.1")`` to the machine's routable address, and
its GCS, raylet and workers then listen on every interface; the backend turns Ray's
single-machine switch on for ``ray.init`` (``experiments.backends.ray._init_local``). These tests
run a real ``mmsim sweep --backend ray`` and read the listening sockets of every process of the
sweep's tree, the driver included, two ways that share no code with the backend: the kernel's
tables (``/proc/net/tcp``, ``/proc/net/tcp6`` and ``/proc/PID/fd``, decoded here with
``socket.inet_ntop``) and iproute2's ``ss -ltnp`` where it is installed. A Ray started the old
way (the bare ``ray.init``) must make the backend refuse, with an error naming the opt-in, and
leave no Ray process behind; with the opt-in it runs and warns.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from experiments.backends.ray import _public_listeners  # noqa: E402
from experiments.backends.reaper import descendants  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"

SLOW = """
import time
from strategies.glft import GLFTQuoter


class Q(GLFTQuoter):
    def on_start(self):
        time.sleep(6)
        super().on_start()
"""

SWEEP = f"""
[sweep]
name = "loopback"
seed = 1
backend = "ray"

[data]
format = "binance_ws"
paths = ["{SAMPLE.as_posix()}"]

[venue]
profile = "binance_usdm"

[strategy]
kind = "slow_q:Q"
gamma = [0.01, 0.02]
"""


def _proc_listeners() -> dict[int, tuple[str, int]]:
    """Socket inode → (address, port) of the LISTEN sockets in /proc/net/tcp{,6} (proc(5))."""
    out = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] != "0A":  # TCP_LISTEN
                continue
            addr_hex, port_hex = cols[1].split(":")
            # each 32-bit word of the address is printed as an integer in host (little-endian) order
            raw = b"".join(struct.pack("<I", int(addr_hex[i:i + 8], 16)) for i in range(0, len(addr_hex), 8))
            out[int(cols[9])] = (socket.inet_ntop(family, raw), int(port_hex, 16))
    return out


def _loopback(addr: str) -> bool:
    return addr.startswith("127.") or addr == "::1" or addr.startswith("::ffff:127.")


def _sockets_of(pids) -> list[tuple[int, str, str, int]]:
    """(pid, command, address, port) of every listening TCP socket held by ``pids``."""
    table = _proc_listeners()
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", link)
            if m and int(m.group(1)) in table:
                out.append((pid, comm, *table[int(m.group(1))]))
    return out


def _ss_listeners(pids) -> list[tuple[int, str]]:
    """(pid, local address:port) from ``ss -ltnpH`` for ``pids``; [] when ss is absent."""
    if shutil.which("ss") is None:
        return []
    text = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        cols = line.split()
        for pid in re.findall(r"pid=(\d+)", line):
            if int(pid) in pids:
                out.append((int(pid), cols[3]))
    return out


def _has_public_interface() -> bool:
    """This machine has a routable address Ray would pick (else Ray binds loopback anyway)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            return not s.getsockname()[0].startswith("127.")
    except OSError:
        return False


def _start_sweep(tmp_path: Path, prelude: str, extra_env: dict | None = None) -> subprocess.Popen:
    (tmp_path / "slow_q.py").write_text(SLOW)
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(SWEEP))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "MMSIM_RAY_ALLOW_PUBLIC_BIND",
                                                            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    env.update(PYTHONPATH=str(REPO), MMSIM_CACHE_DIR=str(tmp_path / "cache"), **(extra_env or {}))
    code = (f"{prelude}\nfrom experiments.cli import main\n"
            f"raise SystemExit(main(['sweep', {str(toml)!r}, '--workers', '2', '--plain', "
            f"'--results', {str(tmp_path / 'r.duckdb')!r}]))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_for_trials(proc: subprocess.Popen, limit_s: float = 200.0) -> list[str]:
    """Lines of output until the first trial line (Ray is up, actors run trials)."""
    lines = []
    deadline = time.monotonic() + limit_s
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("[") or time.monotonic() > deadline:
            break
    return lines


def test_public_listeners_sees_a_wildcard_socket_and_not_a_loopback_one():
    """The backend's /proc reader: a socket on 0.0.0.0 is reported, one on 127.0.0.1 is not."""
    with socket.socket() as pub, socket.socket() as lo:
        pub.bind(("0.0.0.0", 0))
        pub.listen()
        lo.bind(("127.0.0.1", 0))
        lo.listen()
        found = _public_listeners([os.getpid()])
        port_pub, port_lo = pub.getsockname()[1], lo.getsockname()[1]
        assert any(f.endswith(f"0.0.0.0:{port_pub}") for f in found), found
        assert not any(f.endswith(f":{port_lo}") for f in found), found
        # and the test's own reader agrees
        mine = {(a, p) for _, _, a, p in _sockets_of([os.getpid()])}
        assert ("0.0.0.0", port_pub) in mine and ("127.0.0.1", port_lo) in mine


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_local_ray_sweep_listens_on_loopback_only(tmp_path):
    """A real Ray sweep (Ray imported before the backend, the harder case): while its trials run,
    the driver, gcs_server, raylet, agents and actor workers listen on loopback addresses only."""
    proc = _start_sweep(tmp_path, "import ray")
    try:
        head = _wait_for_trials(proc)
        assert proc.poll() is None, "".join(head)
        tree = set(descendants(proc.pid)) | {proc.pid}
        socks = _sockets_of(tree)
        names = {c for _, c, _, _ in socks}
        assert any("gcs_server" in n for n in names) and any("raylet" in n for n in names), socks
        assert any(pid == proc.pid for pid, _, _, _ in socks), "the driver's core-worker server"
        public = [s for s in socks if not _loopback(s[2])]
        assert not public, public
        ss = _ss_listeners(tree)
        if ss:
            bad = [(pid, a) for pid, a in ss if not re.match(r"(127\.|\[::ffff:127\.|\[::1\])", a)]
            assert not bad, bad
        rest, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, "".join(head) + rest
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


OLD_INIT = ("import experiments.backends.ray as rb\n"
            "rb._init_local = lambda ray, n: ray.init(num_cpus=n, include_dashboard=False, "
            "log_to_driver=False, _node_ip_address='127.0.0.1')")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_backend_refuses_a_ray_that_listens_on_all_interfaces(tmp_path):
    """With the bare ``ray.init`` (what this Ray does without the switch: every interface), the
    sweep stops with an error naming the opt-in, and no Ray process of it is left running."""
    if not _has_public_interface():
        pytest.skip("no routable address on this machine: Ray binds loopback whatever it is asked")
    proc = _start_sweep(tmp_path, OLD_INIT)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode != 0, out
    assert "non-loopback" in out and "MMSIM_RAY_ALLOW_PUBLIC_BIND=1" in out, out
    assert "raylet" in out or "gcs_server" in out, out
    time.sleep(1.0)
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and str(tmp_path) in _environ_marker(p)]
    assert not left, left


def _environ_marker(p: Path) -> str:
    """The MMSIM_CACHE_DIR of a process (the test's tmp_path marks the sweep's processes)."""
    try:
        env = p.joinpath("environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    for kv in env:
        if kv.startswith(b"MMSIM_CACHE_DIR="):
            return kv.decode(errors="replace")
    return ""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_opt_in_runs_a_publicly_listening_ray_with_a_warning(tmp_path):
    """``MMSIM_RAY_ALLOW_PUBLIC_BIND=1``: the same Ray runs the sweep, with a RuntimeWarning."""
    if not _has_public_interface():
        pytest.skip("no routable address on this machine: Ray binds loopback whatever it is asked")
    proc = _start_sweep(tmp_path, OLD_INIT, {"MMSIM_RAY_ALLOW_PUBLIC_BIND": "1"})
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out
    assert "RuntimeWarning" in out and "non-loopback" in out, out
