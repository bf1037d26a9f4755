"""The GPU semaphore: never more holders than slots, across spawned worker processes."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import sys
import textwrap

import pytest

from engine import gpu
from engine.gpu import GpuSlots, gpu_slot, install, visible_gpu_count

# A fake GPU stage, written to a module file at test time so that spawned workers can import
# it by name (test modules themselves are not importable from a fresh interpreter).
FAKE_STAGE = textwrap.dedent(
    """
    import time

    from engine.gpu import gpu_slot, install

    _SHARED = {}


    def init(handle, current, peak):
        install(handle)
        _SHARED["current"], _SHARED["peak"] = current, peak


    def stage(i):
        current, peak = _SHARED["current"], _SHARED["peak"]
        with gpu_slot() as on_gpu:
            if on_gpu:
                with current.get_lock():
                    current.value += 1
                    peak.value = max(peak.value, current.value)
            time.sleep(0.08)
            if on_gpu:
                with current.get_lock():
                    current.value -= 1
        return on_gpu
    """
)


@pytest.fixture
def fake_stage(tmp_path, monkeypatch):
    (tmp_path / "fake_gpu_stage.py").write_text(FAKE_STAGE)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned children inherit sys.path
    import fake_gpu_stage

    yield fake_gpu_stage
    sys.modules.pop("fake_gpu_stage", None)


@pytest.fixture(autouse=True)
def _uninstall():
    yield
    install(None)


def _run_pool(fake_stage, slots: int, tasks: int = 12, workers: int = 4):
    ctx = mp.get_context("spawn")
    gs = GpuSlots(slots, mp_context=ctx)
    current, peak = ctx.Value("i", 0), ctx.Value("i", 0)
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=fake_stage.init,
        initargs=(gs.worker_handle(), current, peak),
    ) as pool:
        results = list(pool.map(fake_stage.stage, range(tasks)))
    return results, peak.value, current.value


def test_semaphore_never_exceeds_its_slots(fake_stage):
    """12 fake GPU stages on 4 spawned workers with 2 slots: at most 2 at once, and 2 reached."""
    results, peak, current = _run_pool(fake_stage, slots=2)
    assert results == [True] * 12
    assert peak == 2
    assert current == 0


def test_zero_slots_means_cpu_everywhere(fake_stage):
    """GpuSlots(0): no handle, every stage is told to run on the CPU."""
    assert GpuSlots(0).worker_handle() is None
    results, peak, _ = _run_pool(fake_stage, slots=0, tasks=4, workers=2)
    assert results == [False] * 4
    assert peak == 0


def test_gpu_slot_without_install_and_in_process():
    """No handle → False; an installed handle in this very process works; released on errors."""
    with gpu_slot() as on_gpu:
        assert on_gpu is False
    gs = GpuSlots(1)
    install(gs.worker_handle())
    assert gpu.installed()
    with gpu_slot() as on_gpu:
        assert on_gpu is True
        with gpu_slot(timeout_s=0.05) as second:  # the only slot is taken
            assert second is False
    with pytest.raises(RuntimeError, match="boom"):
        with gpu_slot() as on_gpu:
            assert on_gpu
            raise RuntimeError("boom")
    with gpu_slot(timeout_s=0.05) as again:  # released by the exception above
        assert again is True


def test_install_rejects_garbage_and_negative_slots():
    with pytest.raises(TypeError, match="not a GPU semaphore"):
        install(42)
    with pytest.raises(ValueError, match=">= 0"):
        GpuSlots(-1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", 0), ("-1", 0), ("0", 1), ("0,1", 2), (" 0 , 2 ,3", 3), ("0,-1,1", 1),
     ("GPU-8f3e2b1c-aaaa-bbbb-cccc-0123456789ab", 1)],
)
def test_visible_gpu_count_honours_cuda_visible_devices(monkeypatch, value, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert visible_gpu_count() == expected
    assert GpuSlots().slots == expected


def test_visible_gpu_count_without_env_or_nvidia_smi(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(gpu.shutil, "which", lambda name: None)
    assert visible_gpu_count() == 0


def test_visible_gpu_count_from_nvidia_smi(monkeypatch, tmp_path):
    """Counts the ``GPU n: ...`` lines of ``nvidia-smi -L`` (MIG lines are not GPUs)."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)'\n"
        "echo '  MIG 1g.10gb Device 0: (UUID: MIG-1)'\n"
        "echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)'\n"
    )
    fake.chmod(0o755)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(gpu.shutil, "which", lambda name: str(fake))
    assert visible_gpu_count() == 2
