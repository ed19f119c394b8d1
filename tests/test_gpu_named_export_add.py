"""Named locks (``pylock.cpu.toml``, ``pylock.cu128.toml``) through ``export conda``,
``export docker`` and ``add``: a local stand-in of the PyTorch index and, where a GPU
matters, a fake ``nvidia-smi`` on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from cloche.adapters.accel.detect import CACHE_NAME
from tests.support.cli import cloche_imports
from tests.support.gpu_machine import Machine, new_machine
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)


@pytest.fixture
def machine(tmp_path: Path, index_server: IndexServer, torch_index: TorchIndex) -> Machine:
    index_server.add_wheel("filelock", "3.0")
    index_server.add_wheel("six", "1.17.0")
    found = new_machine(tmp_path, index_server, torch_index)
    pyproject = found.root / "pyproject.toml"
    text = pyproject.read_text().replace("dependencies = []", 'dependencies = ["torch"]')
    pyproject.write_text(text)
    found.ok("lock", "--accelerator", "cpu", "--accelerator", "cu128")
    return found


def _pip_lines(environment: str) -> list[str]:
    data = yaml.safe_load(environment)
    pip: list[str] = data["dependencies"][2]["pip"]
    return pip


def test_export_conda_from_a_named_lock(machine: Machine) -> None:
    cu128 = machine.ok("export", "conda", "--accelerator", "cu128").out
    assert "from pylock.cu128.toml" in cu128.splitlines()[0]
    assert "torch==2.9.0+cu128" in _pip_lines(cu128)
    cpu = machine.ok("export", "conda", "--lock", "cpu").out
    assert "torch==2.9.0+cpu" in _pip_lines(cpu)
    # Neither flag and no pylock.toml: the lock this (CPU) machine syncs.
    assert "torch==2.9.0+cpu" in _pip_lines(machine.ok("export", "conda").out)


def test_export_docker_from_a_named_lock(machine: Machine) -> None:
    machine.ok("export", "docker", "--accelerator", "cu128", "-o", "cuda")
    parser = DockerfileParser(path=str(machine.root / "cuda" / "Dockerfile"))
    assert parser.baseimage == "nvidia/cuda:12.8.1-runtime-ubuntu24.04"
    assert "from pylock.cu128.toml" in parser.content
    requirements = (machine.root / "cuda" / "requirements.lock.txt").read_text()
    assert "torch==2.9.0+cu128 \\\n    --hash=sha256:" in requirements
    result = machine.ok("export", "docker", "--accelerator", "cpu", "-o", "cpu")
    assert "(CPU image)" in result.err
    parser = DockerfileParser(path=str(machine.root / "cpu" / "Dockerfile"))
    assert parser.baseimage is not None and parser.baseimage.startswith("python:")
    assert "torch==2.9.0+cpu" in (machine.root / "cpu" / "requirements.lock.txt").read_text()
    machine.ok("export", "docker", "--lock", "cu128", "-o", "by-name")
    parser = DockerfileParser(path=str(machine.root / "by-name" / "Dockerfile"))
    assert parser.baseimage == "nvidia/cuda:12.8.1-runtime-ubuntu24.04"  # the lock's own CUDA


def test_a_missing_named_lock_names_the_command_that_makes_it(machine: Machine) -> None:
    for args, fix in [
        (("docker", "--accelerator", "cu126"), "cloche lock --accelerator cu126"),
        (("conda", "--accelerator", "cu126"), "cloche lock --accelerator cu126"),
        (("requirements", "--lock", "rocm6-4"), "cloche lock --lock rocm6-4"),
    ]:
        result = machine.run("export", *args)
        assert result.code == 2, result
        error, hint = result.err.strip().splitlines()
        wanted = args[-1].replace(".", "-")
        assert error == f"error: no pylock.{wanted}.toml in {machine.root}", result
        assert hint == f"hint: make it with '{fix}'", result
    assert not (machine.root / "Dockerfile").exists()


def test_export_docker_accelerator_of_a_plain_lock_is_the_base_image(machine: Machine) -> None:
    for name in ("cpu", "cu128"):
        (machine.root / f"pylock.{name}.toml").unlink()
    machine.ok("lock")
    machine.ok("export", "docker", "--accelerator", "cu126")
    parser = DockerfileParser(path=str(machine.root / "Dockerfile"))
    assert parser.baseimage == "nvidia/cuda:12.6.3-runtime-ubuntu24.04"
    assert "from pylock.toml" in parser.content
    assert "torch==2.9.0+cpu" in (machine.root / "requirements.lock.txt").read_text()


def test_add_re_makes_each_named_lock_for_its_accelerator(machine: Machine) -> None:
    result = machine.ok("add", "six", "torchvision", "--no-sync")
    assert not (machine.root / "pylock.toml").exists()
    assert "pylock.cpu.toml" in result.err and "pylock.cu128.toml" in result.err
    cpu, cu128 = machine.locked("pylock.cpu.toml"), machine.locked("pylock.cu128.toml")
    assert cpu["torch"] == "2.9.0+cpu" and cpu["torchvision"] == "0.24.0+cpu"
    assert cu128["torch"] == "2.9.0+cu128" and cu128["torchvision"] == "0.24.0+cu128"
    assert cpu["six"] == cu128["six"] == "1.17.0"
    assert '"six>=1.17.0"' in (machine.root / "pyproject.toml").read_text()
    machine.ok("lock", "--check")  # both fresh for the new pyproject.toml
    machine.ok("sync", "--locked")  # and this CPU machine syncs its own
    assert machine.installed()["torchvision"] == "0.24.0+cpu"


def test_add_that_fails_to_lock_leaves_every_named_lock_as_it_was(machine: Machine) -> None:
    before = {p.name: p.read_bytes() for p in machine.root.glob("pylock.*.toml")}
    pyproject = (machine.root / "pyproject.toml").read_bytes()
    result = machine.run("add", "no-such-package", "--no-sync")
    assert result.code != 0, result
    assert {p.name: p.read_bytes() for p in machine.root.glob("pylock.*.toml")} == before
    assert (machine.root / "pyproject.toml").read_bytes() == pyproject
    assert not (machine.root / "pylock.toml").exists()


@pytest.mark.parametrize("named", [True, False], ids=["named-locks", "pylock.toml"])
def test_a_no_op_sync_runs_no_detection(machine: Machine, named: bool) -> None:
    if not named:
        for name in ("cpu", "cu128"):
            (machine.root / f"pylock.{name}.toml").unlink()
        machine.ok("lock")
    machine.ok("sync")
    detected = Path(os.environ["CLOCHE_CACHE_DIR"]) / CACHE_NAME
    detected.unlink(missing_ok=True)
    env = {"CLOCHE_TORCH_INDEX_URL": machine.torch.url}
    result, imported = cloche_imports("sync", cwd=machine.root, env=env)
    assert result.code == 0, result
    assert "Environment is up to date" in result.err
    detection = {"cloche.adapters.accel", "cloche.ops.gpu", "cloche.core.variants"}
    assert not imported & detection, imported & detection
    assert not detected.exists()
