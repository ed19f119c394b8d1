"""``cloche gpu`` end to end in a subprocess, a fake ``nvidia-smi`` on PATH as the only
fake; each test has its own cache directory (conftest), so detection runs afresh."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import Result, cloche

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)


def gpu(tmp_path: Path, smi: str | None, *args: str, **env: str) -> Result:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if smi is not None:
        script = bin_dir / "nvidia-smi"
        script.write_text(f"#!/bin/sh\n{smi}\n", encoding="utf-8")
        script.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return cloche("gpu", *args, cwd=tmp_path, env={"PATH": path, **env})


def as_json(result: Result) -> dict[str, object]:
    assert result.code == 0, result
    data: dict[str, object] = json.loads(result.out)
    return data


def test_no_gpu_json(tmp_path: Path) -> None:
    data = as_json(gpu(tmp_path, None, "--json"))
    assert data["accelerator"] == "cpu"
    assert data["driver_version"] is None and data["cuda_driver_version"] is None
    assert data["gpus"] == []
    torch = data["torch"]
    assert isinstance(torch, dict)
    assert torch["variant"] == "cpu"
    assert torch["index_url"] == "https://download.pytorch.org/whl/cpu"
    assert {"variant", "index_url", "extra", "reason"} <= set(torch)
    for framework in ("tensorflow", "jax"):
        choice = data[framework]
        assert isinstance(choice, dict) and choice["variant"] == "cpu" and choice["reason"]


def test_fake_nvidia_smi_chooses_cu128_and_the_cuda12_extras(tmp_path: Path) -> None:
    smi = 'echo "NVIDIA GeForce RTX 3090, 24576, 8.6, 570.86.10"'
    data = as_json(gpu(tmp_path, smi, "--json"))
    assert data["accelerator"] == "cu128"
    assert data["driver_version"] == "570.86.10"
    assert data["gpus"] == [
        {
            "name": "NVIDIA GeForce RTX 3090",
            "memory_mb": 24576,
            "compute_capability": "8.6",
            "gfx": None,
        }
    ]
    assert data["tensorflow"]["extra"] == "and-cuda"  # type: ignore[index]
    assert data["jax"]["extra"] == "cuda12"  # type: ignore[index]


def test_pascal_gets_a_build_with_its_code_and_the_table_says_why(tmp_path: Path) -> None:
    result = gpu(tmp_path, 'echo "NVIDIA GeForce GTX 1080, 8192, 6.1, 580.65.06"')
    assert result.code == 0, result
    assert "accelerator  cu126" in result.out
    assert "gpu 0        NVIDIA GeForce GTX 1080, 8192 MiB, sm_61" in result.out
    assert "https://download.pytorch.org/whl/cu126" in result.out
    assert "why torch:" in result.out and "no code for sm_61" in result.out
    assert "why jax:" in result.out and "why tensorflow:" in result.out


def test_garbage_from_nvidia_smi_is_a_warning_and_cpu(tmp_path: Path) -> None:
    result = gpu(tmp_path, "echo 'Segmentation fault'", "--json")
    assert json.loads(result.out)["accelerator"] == "cpu"
    assert "warning: nvidia-smi printed something unexpected" in result.err


def test_overrides_from_the_environment(tmp_path: Path) -> None:
    forced = as_json(gpu(tmp_path, None, "--json", CLOCHE_ACCELERATOR="cu126"))
    assert forced["accelerator"] == "cu126"
    assert "CLOCHE_ACCELERATOR" in forced["torch"]["reason"]  # type: ignore[index]
    driver = gpu(
        tmp_path, "exit 1", "--json", "--cuda-policy", "strict", CLOCHE_CUDA_DRIVER_VERSION="12.4"
    )
    data = as_json(driver)
    assert (data["accelerator"], data["cuda_driver_version"]) == ("cu118", "12.4")
    assert data["source"] == "CLOCHE_CUDA_DRIVER_VERSION"
    compatible = as_json(gpu(tmp_path, None, "--json", CLOCHE_CUDA_DRIVER_VERSION="12.4"))
    assert compatible["accelerator"] == "cu128"


def test_too_old_driver_is_cpu_with_the_reason(tmp_path: Path) -> None:
    data = as_json(gpu(tmp_path, 'echo "Quadro K6000, 12288, 3.5, 418.40.04"', "--json"))
    assert data["accelerator"] == "cpu"
    assert "no CUDA build fits driver 418.40.04" in data["torch"]["reason"]  # type: ignore[index]


def test_accelerator_flag_and_a_company_mirror(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text(
        '[project]\nname = "p"\nversion = "0"\n\n'
        '[tool.cloche]\ntorch-index-url = "https://mirror.example/torch/"\n',
        encoding="utf-8",
    )
    data = as_json(gpu(tmp_path, None, "--json", "--accelerator", "rocm6.4"))
    assert data["accelerator"] == "rocm6.4"
    assert data["torch"]["index_url"] == "https://mirror.example/torch/rocm6.4"  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--accelerator", "cu999"), {}, "error: unknown accelerator 'cu999' in --accelerator"),
        ((), {"CLOCHE_ACCELERATOR": "tpu"}, "error: unknown accelerator 'tpu'"),
        ((), {"CLOCHE_CUDA_POLICY": "loose"}, "invalid value for CLOCHE_CUDA_POLICY"),
        ((), {"CLOCHE_TORCH_INDEX_URL": "ftp://x"}, "is not an http(s):// or file:// URL"),
        ((), {"CLOCHE_VARIANT_CATALOG": "/nonexistent.toml"}, "cannot read the build catalog"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = gpu(tmp_path, None, *args, **env)
    assert result.code == 2, result
    assert result.err.startswith(message) or message in result.err.splitlines()[0]
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_a_catalog_that_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.toml"
    bad.write_text("schema = 1\n[cuda\n", encoding="utf-8")
    result = gpu(tmp_path, None, CLOCHE_VARIANT_CATALOG=str(bad))
    assert result.code == 2, result
    assert result.err.startswith(f"error: {bad}: invalid TOML")
