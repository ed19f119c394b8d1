"""A CUDA lock covers the platforms CUDA builds exist for (the catalog's
``[torch.platforms]``): linux and windows of the default targets, never macOS, where
PyTorch publishes no CUDA wheels. The wheels here are tagged as the real ones are:
``torch-2.9.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl`` and ``-win_amd64.whl`` on the
cu128 index, ``torch-2.9.0-cp311-none-macosx_11_0_arm64.whl`` on the CPU one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloche.config import Settings
from cloche.core.lock.select import select
from cloche.core.targets import target_for
from cloche.errors import ClocheError
from cloche.ops.lock import read_lock
from cloche.ops.named_locks import LockRefused, check_lock_covers
from tests.support.gpu_machine import RTX_3090, Machine, new_machine
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)

LINUX = "cp311-cp311-manylinux_2_28_x86_64"
WINDOWS = "cp311-cp311-win_amd64"
MACOS = "cp311-none-macosx_11_0_arm64"
CUDA = {
    "linux": f"torch-2.9.0+cu128-{LINUX}.whl",
    "windows": f"torch-2.9.0+cu128-{WINDOWS}.whl",
}
CPU = {
    "linux": f"torch-2.9.0+cpu-{LINUX}.whl",
    "windows": f"torch-2.9.0+cpu-{WINDOWS}.whl",
    "macos": f"torch-2.9.0-{MACOS}.whl",
}
NARROWED = (
    "covers linux and windows: CUDA builds do not exist for macOS; use pylock.cpu.toml "
    "there ('cloche lock --accelerator cpu')"
)


@pytest.fixture
def torch_index(make_index: Callable[[], IndexServer]) -> Iterator[TorchIndex]:
    index = TorchIndex(make_index)
    for tag in (LINUX, WINDOWS):
        index.add_wheel("cu128", "torch", "2.9.0+cu128", tag=tag, requires=["filelock"])
        index.add_wheel("cpu", "torch", "2.9.0+cpu", tag=tag, requires=["filelock"])
    index.add_wheel("cpu", "torch", "2.9.0", tag=MACOS, requires=["filelock"])
    try:
        yield index
    finally:
        index.close()


@pytest.fixture
def machine(tmp_path: Path, index_server: IndexServer, torch_index: TorchIndex) -> Machine:
    index_server.add_wheel("filelock", "3.0")
    found = new_machine(tmp_path, index_server, torch_index)
    pyproject = found.root / "pyproject.toml"
    text = pyproject.read_text()
    start = text.index("requires-python")
    end = text.index("\n", start)
    pyproject.write_text(text[:start] + 'requires-python = ">=3.11,<3.12"' + text[end:])
    return found


def _installs(lock_path: Path) -> dict[str, str | None]:
    """For each default target: the torch wheel the lock installs there (None: the lock
    does not cover it)."""
    lock = read_lock(lock_path)
    assert lock is not None
    out: dict[str, str | None] = {}
    for platform in ("linux", "windows", "macos"):
        target = target_for("3.11", platform)
        try:
            chosen = select(lock, target.markers, target.tags)
        except ClocheError:
            out[platform] = None
            continue
        names = {str(i.name): i.filename for i in chosen}
        assert names["filelock"] == "filelock-3.0-py3-none-any.whl"
        out[platform] = names["torch"]
    return out


def _refusal_on_macos(machine: Machine, lock_file: str) -> LockRefused:
    lock = read_lock(machine.root / lock_file)
    assert lock is not None
    settings = Settings(cache_dir=machine.root / "cache")
    with pytest.raises(LockRefused) as caught:
        check_lock_covers(settings, lock, lock_file, target_for("3.11", "macos").markers)
    for platform in ("linux", "windows"):  # where it is covered, nothing is said
        check_lock_covers(settings, lock, lock_file, target_for("3.11", platform).markers)
    return caught.value


def test_add_torch_on_an_nvidia_machine_locks_cuda_for_linux_and_windows(
    machine: Machine,
) -> None:
    machine.smi = RTX_3090  # driver 570 (CUDA 12.8), sm_86: the cu128 build
    result = machine.ok("add", "torch", "--no-sync")
    assert f"the cu128 build from {machine.torch.url}/cu128" in result.err
    assert f"pylock.toml {NARROWED}" in result.err, result.err
    assert _installs(machine.root / "pylock.toml") == {**CUDA, "macos": None}
    refused = _refusal_on_macos(machine, "pylock.toml")
    assert refused.message.startswith("pylock.toml covers linux, windows only: it holds torch")
    assert "CUDA builds do not exist for this machine (darwin arm64)" in refused.message
    assert refused.hint == (
        "use pylock.cpu.toml here: 'cloche sync --accelerator cpu' (made when missing)"
    )
    machine.ok("lock", "--check")  # the project's own targets stay in the inputs
    assert machine.ok("lock").err.count(NARROWED) == 1  # kept as it is, said again


def _depend_on_torch(machine: Machine) -> None:
    pyproject = machine.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = []", 'dependencies = ["torch"]')
    )


def test_named_locks_cover_what_their_build_exists_for(machine: Machine) -> None:
    _depend_on_torch(machine)
    result = machine.ok("lock", "--accelerator", "cpu", "--accelerator", "cu128")
    assert result.err.count("covers") == 1
    assert f"pylock.cu128.toml {NARROWED}" in result.err
    assert "for linux, macos, windows in pylock.cpu.toml" in result.err
    assert "for linux, windows in pylock.cu128.toml" in result.err
    assert _installs(machine.root / "pylock.cpu.toml") == CPU
    assert _installs(machine.root / "pylock.cu128.toml") == {**CUDA, "macos": None}
    assert _refusal_on_macos(machine, "pylock.cu128.toml").message.startswith(
        "pylock.cu128.toml covers linux, windows only"
    )
    machine.ok("lock", "--check", "--accelerator", "cu128")
    machine.ok("sync", "--accelerator", "cpu")  # this (Linux, CPU) machine
    assert machine.installed()["torch"] == "2.9.0+cpu"


def test_a_cuda_lock_for_macos_only_is_refused_and_nothing_is_written(
    machine: Machine,
) -> None:
    _depend_on_torch(machine)
    with (machine.root / "pyproject.toml").open("a") as fh:
        fh.write('targets = ["macos"]\n')
    result = machine.run("lock", "--accelerator", "cu128")
    assert result.code == 2, result
    error, hint = result.err.strip().splitlines()[-2:]
    assert error == (
        "error: pylock.cu128.toml would cover none of the project's targets: CUDA builds of "
        "torch do not exist for macOS (only for linux, linux-aarch64 and windows)"
    )
    assert hint == "hint: lock the CPU build for them: 'cloche lock --accelerator cpu'"
    assert not (machine.root / "pylock.cu128.toml").exists()
    assert machine.torch.asked("cu128") == 0
