"""doctor's GPU checks against envs built for real: torch / TensorFlow / JAX wheels
built here with the names and metadata of the real builds (``torch-2.9.0+cu128``,
``nvidia-*-cu12`` runtime wheels, ``jax-cuda12-plugin``), installed by cloche. The
only fake is the hardware: an ``nvidia-smi`` on PATH, or none (no GPU)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.doctor_support import findings, install, make_venv
from tests.support.cli import cloche
from tests.support.index_server import IndexServer

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)

RTX_3090_DRIVER_550 = "NVIDIA GeForce RTX 3090, 24576, 8.6, 550.54.14"
RTX_3090_DRIVER_570 = "NVIDIA GeForce RTX 3090, 24576, 8.6, 570.86.10"
GTX_1080_DRIVER_580 = "NVIDIA GeForce GTX 1080, 8192, 6.1, 580.65.06"
MB = b"\0" * 1_000_000


def machine(tmp_path: Path, smi_line: str | None) -> dict[str, str]:
    """PATH with a fake ``nvidia-smi`` printing ``smi_line`` (None: no nvidia-smi)."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    if smi_line is not None:
        script = bin_dir / "nvidia-smi"
        script.write_text(f'#!/bin/sh\necho "{smi_line}"\n', encoding="utf-8")
        script.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def gpu_findings(venv: Path, cwd: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    return [f for f in findings(venv, cwd, **env) if f["check"].startswith("gpu-")]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def test_cuda_build_needs_a_newer_driver(
    index_server: IndexServer, tmp_path: Path, work: Path
) -> None:
    index_server.add_wheel("torch", "2.9.0+cu130")
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "torch==2.9.0+cu130")
    (found,) = gpu_findings(venv, work, machine(tmp_path, RTX_3090_DRIVER_550))
    assert found["check"] == "gpu-driver" and found["severity"] == "error"
    assert found["what"] == (
        "torch 2.9.0+cu130 (CUDA 13.0 build) cannot run on this NVIDIA driver: "
        "CUDA 13.0 needs driver >= 580"
    )
    assert "this machine: NVIDIA GeForce RTX 3090 (sm_86), driver 550.54.14" in found["evidence"][0]
    # The build this machine gets instead: the same release's newest CUDA 12 build (a
    # 550 driver runs every CUDA 12 toolkit under the compatible policy).
    assert "--index-url https://download.pytorch.org/whl/cu128" in found["fix_command"]
    assert '"torch==2.9.0"' in found["fix_command"]


def test_a_fitting_cuda_build_is_healthy(
    index_server: IndexServer, tmp_path: Path, work: Path
) -> None:
    index_server.add_wheel("torch", "2.9.0+cu128")
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "torch==2.9.0+cu128")
    assert gpu_findings(venv, work, machine(tmp_path, RTX_3090_DRIVER_570)) == []


def test_tensorflow_and_cuda_on_a_cuda_11_driver(
    index_server: IndexServer, tmp_path: Path, work: Path
) -> None:
    cuda = [
        'nvidia-cudnn-cu12; extra == "and-cuda"',
        'nvidia-cuda-runtime-cu12; extra == "and-cuda"',
    ]
    index_server.add_wheel("tensorflow", "2.20.0", requires=cuda, extras={"and-cuda": []})
    index_server.add_wheel("nvidia-cudnn-cu12", "9.3.0.75")
    index_server.add_wheel("nvidia-cuda-runtime-cu12", "12.5.82")
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "tensorflow[and-cuda]==2.20.0")
    smi = "Tesla T4, 15360, 7.5, 520.61.05"
    (found,) = gpu_findings(venv, work, machine(tmp_path, smi))
    assert found["check"] == "gpu-driver"
    assert "tensorflow 2.20.0 (CUDA 12.5 build)" in found["what"]
    assert "needs driver >= 525.60.13" in found["what"]


def test_cuda_build_without_code_for_this_gpu(
    index_server: IndexServer, tmp_path: Path, work: Path
) -> None:
    # torch 2.8+'s CUDA 12.8 builds dropped Pascal (sm_61).
    index_server.add_wheel("torch", "2.9.0+cu128")
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "torch==2.9.0+cu128")
    (found,) = gpu_findings(venv, work, machine(tmp_path, GTX_1080_DRIVER_580))
    assert found["check"] == "gpu-arch" and found["severity"] == "error"
    assert "dropped this GPU's architecture: no code for sm_61" in found["what"]
    assert "no kernel image is available" in found["evidence"][1]
    assert "--index-url https://download.pytorch.org/whl/cu126" in found["fix_command"]


def test_cpu_builds_on_a_gpu_machine(index_server: IndexServer, tmp_path: Path, work: Path) -> None:
    index_server.add_wheel("torch", "2.9.0+cpu")
    index_server.add_wheel("jaxlib", "0.7.2")
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "torch==2.9.0+cpu", "jaxlib==0.7.2")
    found = gpu_findings(venv, work, machine(tmp_path, RTX_3090_DRIVER_570))
    assert [(f["check"], f["severity"]) for f in found] == [("gpu-cpu-build", "warning")] * 2
    torch, jax = found
    assert (
        torch["what"]
        == "torch 2.9.0+cpu (CPU-only build) on a machine with a GPU: it runs on the CPU only"
    )
    assert "--index-url https://download.pytorch.org/whl/cu128" in torch["fix_command"]
    assert '"jax[cuda12]==0.7.2"' in jax["fix_command"]


def test_cuda_builds_on_a_machine_without_a_gpu(
    index_server: IndexServer, tmp_path: Path, work: Path
) -> None:
    # torch from PyPI: no local label; CUDA because its nvidia-*-cu12 wheels came along.
    torch_needs = ["nvidia-cuda-runtime-cu12==12.8.90", "nvidia-cublas-cu12==12.8.4.1"]
    index_server.add_wheel("torch", "2.9.0", requires=torch_needs, files={"torch/a.so": 3 * MB})
    index_server.add_wheel("nvidia-cuda-runtime-cu12", "12.8.90", files={"nvidia/rt.so": MB})
    index_server.add_wheel("nvidia-cublas-cu12", "12.8.4.1", files={"nvidia/blas.so": 5 * MB})
    index_server.add_wheel("jaxlib", "0.7.2")
    index_server.add_wheel(
        "jax-cuda12-plugin", "0.7.2", requires=["nvidia-cublas-cu12"], files={"p/x.so": 2 * MB}
    )
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "torch==2.9.0", "jaxlib", "jax-cuda12-plugin")
    (found,) = gpu_findings(venv, work, machine(tmp_path, None))
    assert found["check"] == "gpu-unused-cuda" and found["severity"] == "warning"
    assert found["what"] == (
        "CUDA builds on a machine with no NVIDIA GPU: 11.0 MB on disk that cannot be used"
    )
    evidence = found["evidence"]
    assert evidence[0].startswith("torch 2.9.0 (CUDA 12.8 build): 3.0 MB")
    assert evidence[1].startswith("jaxlib 0.7.2 (CUDA 12.")
    assert evidence[2] == (
        "3 CUDA runtime package(s) (jax-cuda12-plugin, nvidia-cublas-cu12, "
        "nvidia-cuda-runtime-cu12): 8.0 MB"
    )
    assert "--index-url https://download.pytorch.org/whl/cpu" in found["fix_command"]
    assert "cloche pip uninstall" in found["fix_command"]
    assert "nvidia-cublas-cu12" in found["fix_command"]


def test_no_framework_means_no_detection(
    index_server: IndexServer, tmp_path: Path, work: Path
) -> None:
    # Detection would write its answer to the cache; with no framework it never runs.
    index_server.add_wheel("plain", "1.0")
    venv = make_venv(tmp_path / "env")
    install(index_server, venv, "plain")
    assert findings(venv, work, **machine(tmp_path, RTX_3090_DRIVER_570)) == []
    assert not (Path(os.environ["CLOCHE_CACHE_DIR"]) / "accel-v1.json").exists()


def test_doctor_a_named_env(
    index_server: IndexServer, tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOCHE_ENVS_DIR", str(tmp_path / "envs"))
    index_server.add_wheel("app", "1.0", requires=["lib"])
    index_server.add_wheel("lib", "1.0")
    made = cloche("env", "create", "ml", "--index-url", index_server.url)
    assert made.code == 0, made
    install(index_server, tmp_path / "envs" / "ml", "--no-deps", "app")
    result = cloche("doctor", "-n", "ml", "--json", cwd=work)
    assert result.code == 1, result
    data = json.loads(result.out)
    assert data["env"] == str(tmp_path / "envs" / "ml")
    assert [f["check"] for f in data["findings"]] == ["unmet-requirement"]
    both = cloche("doctor", "-n", "ml", "--python", str(tmp_path), cwd=work)
    assert both.code == 2 and "-n/--name and --python both choose" in both.err
    missing = cloche("doctor", "-n", "nope", cwd=work)
    assert missing.code == 2, missing
