"""Routing the torch family to the build this machine can run, and per-accelerator
named locks, end to end: a local index with the PyTorch index's layout and local
version labels, and a fake ``nvidia-smi`` on PATH as the only fake."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import cloche
from tests.support.gpu_machine import GTX_1080, OLD_DRIVER, RTX_3090, Machine, new_machine
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)


@pytest.fixture
def pypi(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel("filelock", "3.0")
    index_server.add_wheel("torch", "2.9.0")  # PyPI's own build: never chosen when routed
    index_server.add_wheel("torch", "3.0.0")
    index_server.add_wheel("jax-cuda12-plugin", "0.7.0")
    index_server.add_wheel("jax-cuda13-plugin", "0.7.0")
    extras = {"cuda12": ["jax-cuda12-plugin"], "cuda13": ["jax-cuda13-plugin"]}
    index_server.add_wheel("jax", "0.7.0", extras=extras)
    return index_server


@pytest.fixture
def machine(tmp_path: Path, pypi: IndexServer, torch_index: TorchIndex) -> Machine:
    return new_machine(tmp_path, pypi, torch_index)


def test_cpu_machine_locks_the_cpu_build_and_never_asks_the_cuda_index(machine: Machine) -> None:
    result = machine.ok("add", "torch", "torchvision", "--no-sync")
    assert "torch: the cpu build from " + machine.torch.url + "/cpu" in result.err
    assert machine.locked()["torch"] == "2.9.0+cpu"
    assert machine.locked()["torchvision"] == "0.24.0+cpu"
    assert machine.locked()["filelock"] == "3.0"  # everything else: the normal index
    assert '"torch>=2.9.0"' in (machine.root / "pyproject.toml").read_text()
    assert machine.torch.asked("cu128") == 0 and machine.torch.asked("cu126") == 0
    assert not machine.pypi.requests_to("/simple/torch/")  # pinned: PyPI is never asked
    machine.ok("sync")
    assert machine.installed()["torch"] == "2.9.0+cpu"
    again = machine.ok("sync")  # the lock stays fresh: nothing to do
    assert "Environment is up to date" in again.err
    machine.ok("upgrade")
    machine.ok("remove", "torchvision")
    assert machine.locked()["torch"] == "2.9.0+cpu" and "torchvision" not in machine.locked()
    machine.ok("sync", "--locked")  # still fresh: routed the same way each time
    assert machine.torch.asked("cu128") == 0
    machine.env["CLOCHE_ACCELERATOR"] = "cu128"  # the setting moves pylock.toml's build
    machine.ok("lock")
    assert machine.locked()["torch"] == "2.9.0+cu128"


def test_cuda_12_8_driver_and_sm_86_lock_cu128(machine: Machine) -> None:
    machine.smi = RTX_3090
    machine.ok("add", "torch", "--no-sync")
    assert machine.locked()["torch"] == "2.9.0+cu128"
    assert machine.torch.asked("cpu") == 0


def test_a_pascal_gpu_gets_a_build_that_still_has_its_code(machine: Machine) -> None:
    machine.smi = GTX_1080
    result = machine.ok("add", "torch", "--no-sync")
    assert machine.locked()["torch"] == "2.9.0+cu126"
    assert "sm_61" in result.err
    assert machine.torch.asked("cu128") == 0


def test_add_jax_takes_the_cuda_extra_the_driver_allows(machine: Machine) -> None:
    machine.smi = RTX_3090
    result = machine.ok("add", "jax", "--no-sync")
    assert "jax[cuda12]" in result.err
    assert '"jax[cuda12]>=0.7.0"' in (machine.root / "pyproject.toml").read_text()
    assert machine.locked()["jax-cuda12-plugin"] == "0.7.0"


def test_named_locks_through_sync_run_export_tree_and_check(machine: Machine) -> None:
    pyproject = machine.root / "pyproject.toml"
    text = pyproject.read_text().replace("dependencies = []", 'dependencies = ["torch"]')
    pyproject.write_text(text)
    result = machine.ok("lock", "--accelerator", "cpu", "--accelerator", "cu128")
    assert "pylock.cpu.toml" in result.err and "pylock.cu128.toml" in result.err
    assert not (machine.root / "pylock.toml").exists()
    assert machine.locked("pylock.cpu.toml")["torch"] == "2.9.0+cpu"
    assert machine.locked("pylock.cu128.toml")["torch"] == "2.9.0+cu128"
    machine.ok("lock", "--check", "--accelerator", "cu128")
    assert "pylock.cpu.toml is up to date" in machine.ok("lock", "--check").err
    exported = machine.ok("export", "requirements", "--lock", "cu128").out
    assert "torch==2.9.0+cu128" in exported
    assert "torch v2.9.0+cpu" in machine.ok("tree", "--accelerator", "cpu").out
    # No pylock.toml: this CPU machine picks pylock.cpu.toml by itself.
    machine.ok("sync", "--locked")
    assert machine.installed()["torch"] == "2.9.0+cpu"
    machine.ok("sync", "--accelerator", "cu128")
    assert machine.installed()["torch"] == "2.9.0+cu128"
    code = "import torch; print(torch.__version__)"
    ran = machine.ok("run", "--lock", "cpu", "python", "-c", code)
    assert ran.out.strip() == "2.9.0+cpu"
    assert machine.installed()["torch"] == "2.9.0+cpu"


def test_a_lock_the_driver_cannot_run_is_refused_before_installing(machine: Machine) -> None:
    pyproject = machine.root / "pyproject.toml"
    text = pyproject.read_text().replace("dependencies = []", 'dependencies = ["torch"]')
    pyproject.write_text(text)
    machine.ok("lock", "--accelerator", "cu128")
    machine.smi = OLD_DRIVER
    result = machine.run("sync", "--accelerator", "cu128")
    assert result.code == 2, result
    assert "pylock.cu128.toml holds torch 2.9.0+cu128" in result.err
    assert "CUDA 12.8 needs driver >= 525.60.13" in result.err
    assert "--accelerator cu118" in result.err  # the fix: a build this driver runs
    assert "or install an NVIDIA driver >= 525.60.13" in result.err
    assert "torch" not in machine.installed()
    machine.smi = GTX_1080  # a new enough driver, but a GPU the cu128 build has no code for
    result = machine.run("sync", "--accelerator", "cu128")
    assert result.code == 2 and "no code for sm_61" in result.err, result
    assert "--accelerator cu126" in result.err
    assert "torch" not in machine.installed() and "NVIDIA driver" not in result.err


def test_unknown_accelerator_and_a_missing_named_lock(machine: Machine) -> None:
    result = machine.run("sync", "--accelerator", "cu999")
    assert result.code == 2 and "unknown accelerator 'cu999'" in result.err, result
    missing = machine.run("sync", "--accelerator", "rocm6.4", "--frozen")
    assert missing.code != 0 and "no pylock.rocm6-4.toml" in missing.err, missing
    dotted = machine.run("sync", "--lock", "rocm6.4")
    assert dotted.code == 2 and "is no lock name" in dotted.err, dotted
    pip = machine.run("pip", "install", "torch", "--accelerator", "tpu", "--dry-run")
    assert pip.code == 2 and "unknown accelerator 'tpu'" in pip.err, pip


def test_pip_install_accelerator_auto_and_an_unknown_release(
    machine: Machine, tmp_path: Path
) -> None:
    venv = tmp_path / "env"
    assert cloche("venv", venv, "--python", sys.executable).code == 0
    index = ("--python", str(venv), "--index-url", machine.pypi.url)
    result = machine.ok("pip", "install", "torch", "--accelerator", "auto", *index)
    assert "torch: the cpu build" in result.err
    assert machine.torch.asked("cu128") == 0
    without = machine.ok("pip", "install", "torch==3.0.0", *index)  # no flag: normal indexes
    assert "3.0.0" in without.err
    unknown = machine.ok("pip", "install", "torch==3.0.0", "--accelerator", "auto", *index)
    assert "knows no torch release for torch 3.0" in unknown.err


REAL_TORCH = (
    sorted(Path("/opt/wheels").glob("torch-*+cpu-*.whl")) if Path("/opt/wheels").is_dir() else []
)
LOCAL_PYPI = Path("/opt/pypi/simple")


@pytest.mark.slow
@pytest.mark.skipif(
    not REAL_TORCH or not LOCAL_PYPI.is_dir(), reason="no real CPU build of torch on this disk"
)
def test_a_real_cpu_build_of_torch_installs_and_imports(
    make_index: Callable[[], IndexServer], tmp_path: Path
) -> None:
    """One real install: torch's CPU build from a local stand-in of the PyTorch index,
    its dependencies from a local copy of PyPI (both found on this machine's disk)."""
    wheel = REAL_TORCH[-1]
    if f"cp{sys.version_info[0]}{sys.version_info[1]}" not in wheel.name:
        pytest.skip(f"{wheel.name} is not for this Python")
    torch_index = TorchIndex(make_index)
    try:
        torch_index.variant("cpu").add(wheel)
        torch_index.variant("cu128")  # listed, never asked
        venv = tmp_path / "env"
        assert cloche("venv", venv, "--python", sys.executable).code == 0
        env = {"CLOCHE_TORCH_INDEX_URL": torch_index.url}
        args = ("--python", venv, "--index-url", LOCAL_PYPI.as_uri() + "/")
        result = cloche("pip", "install", "torch", "--accelerator", "auto", *args, env=env)
        assert result.code == 0, result
        assert "torch: the cpu build" in result.err
        assert torch_index.asked("cu128") == 0
        code = (
            "import torch; "
            "print(torch.__version__, torch.cuda.is_available(), torch.ones(2).sum().item())"
        )
        ran = subprocess.run(
            [venv / "bin" / "python", "-c", code], capture_output=True, text=True, check=False
        )
        assert ran.returncode == 0, ran.stderr
        version, cuda, total = ran.stdout.split()
        assert version.endswith("+cpu") and cuda == "False" and total == "2.0"
    finally:
        torch_index.close()
