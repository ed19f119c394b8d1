"""A warm ``cloche gpu`` prints the answer kept on disk without importing click, the
catalog or the settings; anything it was made from changing makes it again. The only
fake is ``nvidia-smi`` on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloche.adapters.accel.detect import CACHE_NAME
from cloche.cli.gpu_fast import parse
from tests.support.cli import cloche_imports

pytestmark = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or Path("/opt/rocm").exists(),
    reason="a real GPU driver here would be detected before the fake nvidia-smi",
)

RTX_3090 = 'echo "NVIDIA GeForce RTX 3090, 24576, 8.6, 570.86.10"'


def gpu(cwd: Path, smi: str | None, *args: str, **env: str) -> tuple[str, str, bool]:
    """(stdout, stderr without import times, whether click was imported)."""
    bin_dir = cwd.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    if smi is None:
        script.unlink(missing_ok=True)
    else:
        script.write_text(f"#!/bin/sh\n{smi}\n", encoding="utf-8")
        script.chmod(0o755)
    path = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result, imported = cloche_imports("gpu", *args, cwd=cwd, env={**path, **env})
    assert result.code == 0, result
    return result.out, result.err, "click" in imported


@pytest.fixture
def where(tmp_path: Path) -> Path:
    cwd = tmp_path / "work"
    cwd.mkdir()
    return cwd


def test_a_warm_run_answers_without_click(where: Path) -> None:
    out, err, slow = gpu(where, None)
    assert slow and "accelerator  cpu" in out
    again, again_err, fast = gpu(where, None)
    assert (again, again_err, fast) == (out, err, False)
    as_json, _, slow = gpu(where, None, "--json")
    assert slow and '"accelerator": "cpu"' in as_json  # another question: made once
    assert gpu(where, None, "--json")[0::2] == (as_json, False)


def test_a_new_machine_or_setting_makes_the_answer_again(where: Path) -> None:
    gpu(where, None)
    assert gpu(where, None)[2] is False
    # Detected afresh (the detection cache is gone): a GPU now.
    (Path(os.environ["CLOCHE_CACHE_DIR"]) / CACHE_NAME).unlink()
    out, _, slow = gpu(where, RTX_3090)
    assert slow and "accelerator  cu128" in out
    assert gpu(where, RTX_3090)[0::2] == (out, False)
    forced, _, slow = gpu(where, RTX_3090, CLOCHE_ACCELERATOR="cpu")
    assert slow and "accelerator  cpu" in forced
    # A project with its own setting, made under the directory: asked again.
    (where / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\n[tool.cloche]\naccelerator = "cu126"\n'
    )
    out, _, slow = gpu(where, RTX_3090)
    assert slow and "accelerator  cu126" in out
    assert gpu(where, RTX_3090)[2] is False
    (where / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    out, _, slow = gpu(where, RTX_3090)
    assert slow and "accelerator  cu128" in out


def test_a_warning_is_kept_with_the_answer(where: Path) -> None:
    _, err, slow = gpu(where, "echo 'Segmentation fault'")
    assert slow and "warning:" in err
    _, again, fast = gpu(where, "echo 'Segmentation fault'")
    assert again == err and fast is False


@pytest.mark.parametrize(
    "args",
    [
        ["gpu", "--help"],
        ["gpu", "--accelerator"],
        ["gpu", "--jsn"],
        ["-v", "gpu"],
        ["pip", "gpu"],
    ],
)
def test_only_plain_gpu_command_lines_are_answered_fast(args: list[str]) -> None:
    assert parse(args) is None


def test_the_fast_parser_reads_the_options_in_any_order() -> None:
    one = parse(["gpu", "--json", "--accelerator", "cu128", "--cuda-policy=strict"])
    two = parse(["--cache-dir", os.environ["CLOCHE_CACHE_DIR"], "gpu", "--cuda-policy", "strict"])
    three = parse(["gpu", "--cuda-policy", "strict", "--accelerator=cu128", "--json"])
    assert one is not None and two is not None and three is not None
    assert one.question == three.question != two.question
    assert one.cache_dir == two.cache_dir
