"""``remove`` and ``upgrade`` in a project with named locks (``pylock.cpu.toml``,
``pylock.cu128.toml``) and no ``pylock.toml``: each named lock is re-made with its own
build, as ``add`` does, and all of them are written or none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.pylock import Pylock
from packaging.version import Version

from cloche.core.project.load import load_project
from cloche.errors import ClocheError
from cloche.ops.project.edit import Edit, commit_each
from tests.support.gpu_machine import Machine, new_machine
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)


@pytest.fixture
def torch_index(make_index: Callable[[], IndexServer]) -> Iterator[TorchIndex]:
    index = TorchIndex(make_index)
    for variant in ("cpu", "cu128"):
        index.add_wheel(variant, "torch", f"2.9.0+{variant}", requires=["filelock"])
    try:
        yield index
    finally:
        index.close()


@pytest.fixture
def machine(tmp_path: Path, index_server: IndexServer, torch_index: TorchIndex) -> Machine:
    index_server.add_wheel("filelock", "3.0")
    index_server.add_wheel("six", "1.17.0")
    found = new_machine(tmp_path, index_server, torch_index)
    pyproject = found.root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace("dependencies = []", 'dependencies = ["torch", "six"]'))
    found.ok("lock", "--accelerator", "cpu", "--accelerator", "cu128")
    return found


def _files(machine: Machine) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(machine.root.glob("py*.toml"))}


def _break_the_cu128_index(machine: Machine) -> None:
    """The cu128 lock cannot be made any more; the CPU one (made first) still can."""
    machine.torch.variant("cu128").remove("torch-2.9.0+cu128-py3-none-any.whl")
    machine.env["CLOCHE_NO_CACHE"] = "1"  # no index page from the cache


def test_remove_re_makes_each_named_lock_for_its_accelerator(machine: Machine) -> None:
    result = machine.ok("remove", "six", "--no-sync")
    assert "Removed six" in result.err
    assert not (machine.root / "pylock.toml").exists()
    cpu, cu128 = machine.locked("pylock.cpu.toml"), machine.locked("pylock.cu128.toml")
    assert cpu == {"filelock": "3.0", "torch": "2.9.0+cpu"}
    assert cu128 == {"filelock": "3.0", "torch": "2.9.0+cu128"}
    assert "six" not in (machine.root / "pyproject.toml").read_text()
    machine.ok("lock", "--check")  # each named lock is fresh for the new pyproject.toml


def test_upgrade_re_makes_each_named_lock_for_its_accelerator(machine: Machine) -> None:
    machine.pypi.add_wheel("filelock", "3.1")
    result = machine.ok("upgrade", "--no-sync")
    lines = result.err.splitlines()
    for name in ("pylock.cpu.toml", "pylock.cu128.toml"):
        assert lines[lines.index(f"{name}:") + 1] == "filelock 3.0 -> 3.1", result.err
    assert not (machine.root / "pylock.toml").exists()
    cpu, cu128 = machine.locked("pylock.cpu.toml"), machine.locked("pylock.cu128.toml")
    assert cpu["filelock"] == cu128["filelock"] == "3.1"
    assert (cpu["torch"], cu128["torch"]) == ("2.9.0+cpu", "2.9.0+cu128")
    machine.ok("lock", "--check")
    machine.ok("sync", "--locked")  # this CPU machine syncs its own
    assert machine.installed()["torch"] == "2.9.0+cpu"


@pytest.mark.parametrize("command", [("remove", "six"), ("upgrade",)])
def test_a_named_lock_that_fails_leaves_every_file_as_it_was(
    machine: Machine, command: tuple[str, ...]
) -> None:
    machine.pypi.add_wheel("filelock", "3.1")
    before = _files(machine)
    _break_the_cu128_index(machine)
    result = machine.run(*command, "--no-sync")
    assert result.code != 0, result
    assert "error: package 'torch' was not found" in result.err, result
    assert _files(machine) == before  # pyproject.toml and both locks
    assert not (machine.root / "pylock.toml").exists()


def test_commit_each_puts_back_the_locks_written_before_a_failed_write(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1"\n')
    (tmp_path / "pylock.cpu.toml").write_text("old cpu\n")
    (tmp_path / "pylock.cu128.toml").mkdir()  # cannot be replaced by a file
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.toml") if p.is_file()}
    spec = load_project(tmp_path)
    lock = Pylock(lock_version=Version("1.0"), created_by="test", packages=[])
    text = '[project]\nname = "demo"\nversion = "0.2"\n'
    edits = [
        Edit(replace(spec, lock_name=name), text, lock, f"new {name}\n", None)
        for name in ("cpu", "cu128")
    ]
    with pytest.raises(ClocheError):
        commit_each(tmp_path, edits)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.toml") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
