"""``cloche env create NAME --accelerator``: the torch family from the build index the
accelerator chooses, as ``cloche pip install --accelerator`` routes it. A local index
with the PyTorch index's layout; the machine is this one (no GPU) or the
``CLOCHE_ACCELERATOR`` override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Result, cloche, installed
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected",
)


@pytest.fixture
def pypi(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel("filelock", "3.0")
    index_server.add_wheel("torch", "2.9.0")  # PyPI's own build: never chosen when routed
    index_server.add_wheel("numpy", "2.0")
    return index_server


@pytest.fixture
def envs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "envs"
    monkeypatch.setenv("CLOCHE_ENVS_DIR", str(root))
    return root


def create(
    pypi: IndexServer, torch: TorchIndex, *args: str, env: dict[str, str] | None = None
) -> Result:
    return cloche(
        "env",
        "create",
        *args,
        "--index-url",
        pypi.url,
        env={"CLOCHE_TORCH_INDEX_URL": torch.url, **(env or {})},
    )


def record(envs: Path, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((envs / name / "cloche-env.json").read_text())
    return data


def test_auto_on_a_cpu_machine_installs_the_cpu_build(
    pypi: IndexServer, torch_index: TorchIndex, envs: Path
) -> None:
    result = create(pypi, torch_index, "g", "torch", "torchvision", "--accelerator", "auto")
    assert result.code == 0, result
    assert "torch: the cpu build from" in result.err
    assert installed(envs / "g") == {
        "torch": "2.9.0+cpu",
        "torchvision": "0.24.0+cpu",
        "filelock": "3.0",
    }
    assert torch_index.asked("cu128") == 0 and torch_index.asked("cu126") == 0
    assert record(envs, "g")["accelerator"] == "cpu"


def test_a_named_build_and_the_setting(
    pypi: IndexServer, torch_index: TorchIndex, envs: Path
) -> None:
    named = create(pypi, torch_index, "a", "torch", "--accelerator", "cu128")
    assert named.code == 0, named
    assert installed(envs / "a")["torch"] == "2.9.0+cu128"
    assert record(envs, "a")["accelerator"] == "cu128"
    # The accelerator setting (CLOCHE_ACCELERATOR) stands in for this machine's.
    setting = create(
        pypi, torch_index, "b", "torch", "--accelerator", "auto", env={"CLOCHE_ACCELERATOR": "cpu"}
    )
    assert setting.code == 0, setting
    assert installed(envs / "b")["torch"] == "2.9.0+cpu"


def test_without_the_flag_the_normal_indexes(
    pypi: IndexServer, torch_index: TorchIndex, envs: Path
) -> None:
    result = create(pypi, torch_index, "plain", "torch")
    assert result.code == 0, result
    assert installed(envs / "plain")["torch"] == "2.9.0"
    assert record(envs, "plain")["accelerator"] is None
    assert sum(torch_index.asked(v) for v in ("cpu", "cu126", "cu128")) == 0


def test_no_gpu_built_package_routes_nothing(
    pypi: IndexServer, torch_index: TorchIndex, envs: Path, tmp_path: Path
) -> None:
    result = create(pypi, torch_index, "np", "numpy", "--accelerator", "cu128")
    assert result.code == 0, result
    assert "torch:" not in result.err
    assert installed(envs / "np") == {"numpy": "2.0"}
    assert record(envs, "np")["accelerator"] is None
    # torch named in a requirements file is routed too.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch\n")
    from_file = create(pypi, torch_index, "rf", "-r", str(requirements), "--accelerator", "cpu")
    assert from_file.code == 0, from_file
    assert installed(envs / "rf")["torch"] == "2.9.0+cpu"


def test_bad_input_makes_nothing(
    pypi: IndexServer, torch_index: TorchIndex, envs: Path, tmp_path: Path
) -> None:
    unknown = create(pypi, torch_index, "x", "numpy", "--accelerator", "tpu")
    assert unknown.code == 2 and "unknown accelerator 'tpu'" in unknown.err, unknown
    assert "Traceback" not in unknown.err
    empty = create(pypi, torch_index, "x", "--accelerator", "cu999")
    assert empty.code == 2 and "unknown accelerator 'cu999'" in empty.err, empty
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "test"\n')
    with_lock = create(pypi, torch_index, "x", "--lock", str(lock), "--accelerator", "cpu")
    assert with_lock.code == 2 and "--accelerator" in with_lock.err, with_lock
    assert not envs.exists() or not list(envs.iterdir())
