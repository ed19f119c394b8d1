"""Shared pieces of the doctor tests: real venvs, real installs, the doctor command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.support.cli import Result, cloche
from tests.support.index_server import IndexServer


def make_venv(path: Path) -> Path:
    result = cloche("venv", path, "--python", sys.executable)
    assert result.code == 0, result
    return path


def install(index: IndexServer, venv: Path, *args: str | Path, cwd: Path | None = None) -> None:
    result = cloche("pip", "install", "--python", venv, "--index-url", index.url, *args, cwd=cwd)
    assert result.code == 0, result


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def doctor(venv: Path | None, *args: str, cwd: Path | None = None, **env: str) -> Result:
    where = ("--python", str(venv)) if venv is not None else ()
    return cloche("doctor", *where, *args, cwd=cwd, env=env)


def findings(venv: Path | None, cwd: Path | None = None, **env: str) -> list[dict[str, Any]]:
    """The JSON findings of ``cloche doctor`` (which must exit 0 or 1)."""
    result = doctor(venv, "--json", cwd=cwd, **env)
    assert result.code in (0, 1), result
    data = json.loads(result.out)
    assert data["healthy"] == (result.code == 0)
    found: list[dict[str, Any]] = data["findings"]
    return found


def checks(venv: Path | None, cwd: Path | None = None) -> set[str]:
    return {f["check"] for f in findings(venv, cwd)}
