"""The code stays typed and lint-clean (mypy --strict on src/, ruff), and cheap to import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_check() -> None:
    result = _run("ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dataclass_has_a_docstring() -> None:
    # Without one, @dataclass computes inspect.signature() for __doc__ at import time:
    # ~0.1 ms per class, paid by every command that imports it.
    import dataclasses
    import importlib
    import pkgutil

    import cloche

    bare = []
    for info in pkgutil.walk_packages(cloche.__path__, "cloche."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
                and (value.__doc__ or "").startswith(f"{value.__name__}(")
            ):
                bare.append(f"{module.__name__}.{name}")
    assert not bare, f"dataclasses without a docstring: {bare}"
