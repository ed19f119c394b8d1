"""The CPU lock ``cloche add torch`` makes from the PyTorch index serves Linux, macOS and
Windows: that index's real CPU layout has ``+cpu`` wheels for Linux and Windows and
unlabelled ones for macOS (``torch-2.9.0-cp311-none-macosx_11_0_arm64.whl``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloche.core.lock.select import select
from cloche.core.targets import target_for
from cloche.ops.lock import read_lock
from tests.support.gpu_machine import Machine, new_machine
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)

CPU_WHEELS = (
    ("2.9.0+cpu", "cp311-cp311-manylinux_2_28_x86_64"),
    ("2.9.0+cpu", "cp311-cp311-win_amd64"),
    ("2.9.0", "cp311-none-macosx_11_0_arm64"),
)
EXPECTED = {
    "linux": "torch-2.9.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
    "windows": "torch-2.9.0+cpu-cp311-cp311-win_amd64.whl",
    "macos": "torch-2.9.0-cp311-none-macosx_11_0_arm64.whl",
}


@pytest.fixture
def torch_index(make_index: Callable[[], IndexServer]) -> Iterator[TorchIndex]:
    index = TorchIndex(make_index)
    for version, tag in CPU_WHEELS:
        index.add_wheel("cpu", "torch", version, tag=tag, requires=["filelock"])
    index.add_wheel("cu128", "torch", "2.9.0+cu128", tag="cp311-cp311-manylinux_2_28_x86_64")
    try:
        yield index
    finally:
        index.close()


@pytest.fixture
def machine(tmp_path: Path, index_server: IndexServer, torch_index: TorchIndex) -> Machine:
    index_server.add_wheel("filelock", "3.0")
    return new_machine(tmp_path, index_server, torch_index, requires_python=">=3.11,<3.12")


def _installs(lock_path: Path) -> dict[str, dict[str, str]]:
    """For each default target: package -> the file it installs there."""
    lock = read_lock(lock_path)
    assert lock is not None
    out = {}
    for platform in EXPECTED:
        target = target_for("3.11", platform)
        chosen = select(lock, target.markers, target.tags)
        out[platform] = {str(i.name): i.filename or "" for i in chosen}
    return out


def test_the_cpu_lock_installs_on_linux_macos_and_windows(machine: Machine) -> None:
    result = machine.ok("add", "torch", "--no-sync")
    assert f"the cpu build from {machine.torch.url}/cpu" in result.err
    installs = _installs(machine.root / "pylock.toml")
    for platform, wheel in EXPECTED.items():
        assert installs[platform]["torch"] == wheel, (platform, installs)
        assert installs[platform]["filelock"] == "filelock-3.0-py3-none-any.whl"
    assert machine.torch.asked("cu128") == 0  # never a CUDA wheel on a CPU machine
    # The named CPU lock is the same: every platform, from the CPU index alone.
    machine.ok("lock", "--accelerator", "cpu")
    assert _installs(machine.root / "pylock.cpu.toml") == installs
    exported = machine.ok("export", "requirements", "--lock", "cpu").out
    assert f"--extra-index-url {machine.torch.url}/cpu" in exported
    assert "torch==2.9.0 ; sys_platform == 'darwin'" in exported
    assert "torch==2.9.0+cpu ; sys_platform == 'linux' or sys_platform == 'win32'" in exported
