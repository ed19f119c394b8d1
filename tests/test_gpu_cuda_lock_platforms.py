"""A CUDA lock covers the platforms CUDA builds exist for (the catalog's
``[torch.platforms]``): linux and windows of the default targets, never macOS, where
PyTorch publishes no CUDA wheels. The wheels here are tagged as the real ones are:
``torch-2.9.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl`` and ``-win_amd64.whl`` on the
cu128 index, ``torch-2.9.0-cp311-none-macosx_11_0_arm64.whl`` on the CPU one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import pytest

from cloche.config import Settings
from cloche.core.lock.select import select
from cloche.core.project.spec import ProjectSpec
from cloche.core.report import NullReporter
from cloche.core.target_platforms import TARGET_NAMES
from cloche.core.targets import target_for
from cloche.core.variants.catalog import PLATFORM_LABELS, CatalogError, parse_catalog, read_catalog
from cloche.errors import ClocheError
from cloche.ops.lock import covered_targets, read_lock
from cloche.ops.named_locks import LockRefused, check_lock_covers
from tests.support.gpu_machine import RTX_3090, Machine, new_machine
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

if TYPE_CHECKING:
    from cloche.ops.services import Services

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
    return new_machine(tmp_path, index_server, torch_index, requires_python=">=3.11,<3.12")


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


def test_a_requirements_export_of_a_cuda_lock_keeps_its_lines_off_macos(
    machine: Machine,
) -> None:
    machine.smi = RTX_3090
    machine.ok("add", "torch", "--no-sync")
    text = machine.ok("export", "requirements").out
    lines = [line for line in text.splitlines() if line.startswith(("torch", "filelock"))]
    assert lines, text
    for line in lines:  # pip on macOS skips them instead of finding no CUDA wheel
        assert "sys_platform == 'linux' or sys_platform == 'win32'" in line, line


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


class _Lines(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


def test_a_rocm_lock_covers_linux_alone() -> None:
    catalog = read_catalog()
    where = catalog.build_platforms("rocm6.4")
    assert where is not None and where.build == "ROCm"
    assert catalog.build_platforms("cpu") is None  # every target
    reporter = _Lines()
    services = SimpleNamespace(
        settings=Settings(Path("/c"), build_platforms=where), reporter=reporter
    )
    spec = ProjectSpec(Path("/p"), "demo", None, lock_name="rocm6-4")
    targets = [target_for("3.11", name) for name in ("linux", "macos", "windows")]
    kept = covered_targets(targets, spec, cast("Services", services))
    assert [t.platform for t in kept] == ["linux"]
    assert reporter.lines == [
        "pylock.rocm6-4.toml covers linux: ROCm builds do not exist for macOS and windows; "
        "use pylock.cpu.toml there ('cloche lock --accelerator cpu')"
    ]
    services = SimpleNamespace(settings=Settings(Path("/c")), reporter=reporter)
    assert covered_targets(targets, spec, cast("Services", services)) == targets


def test_the_catalog_names_platforms_as_targets_do() -> None:
    labels = {target_for("3.11", name).platform for name in TARGET_NAMES}
    assert labels <= PLATFORM_LABELS
    shipped = Path(read_catalog().source).read_text(encoding="utf-8")
    for old, new, problem in [
        ('rocm = ["linux"]', 'rocm = ["linux", "mac"]', "torch.platforms.rocm: 'mac' is no"),
        ('rocm = ["linux"]', 'metal = ["macos"]', "torch.platforms.metal: not a kind"),
        ('rocm = ["linux"]', 'rocm = "linux"', "torch.platforms.rocm: missing, or not a list"),
    ]:
        with pytest.raises(CatalogError) as info:
            parse_catalog(shipped.replace(old, new), "x.toml")
        assert problem in info.value.message
    start = shipped.index("[torch.platforms]")
    end = shipped.index("\n\n", start)
    assert parse_catalog(shipped[:start] + shipped[end:], "x.toml").platforms == {}
