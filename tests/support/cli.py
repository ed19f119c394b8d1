"""Run the real ``cloche`` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.index_server import IndexServer


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def cloche(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> Result:
    """Run ``python -m cloche ARGS``; the environment is the test's, plus ``env``."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "cloche", *map(str, args)],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def cloche_imports(
    *args: str | Path, cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[Result, set[str]]:
    """Run ``python -X importtime -m cloche ARGS``: its result (stderr without the
    import lines) and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cloche", *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stderr.splitlines()
    imported = {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}
    said = "".join(f"{line}\n" for line in lines if not line.startswith("import time:"))
    return Result(proc.returncode, proc.stdout, said), imported


def run_python(python: Path, code: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip(index: IndexServer, venv: Path, *args: str | Path, cwd: Path | None = None) -> Result:
    """``cloche pip ARGS`` for ``venv`` against the local ``index``."""
    return cloche("pip", *args, "--python", venv, "--index-url", index.url, cwd=cwd)


def installed(venv: Path) -> dict[str, str]:
    """What ``cloche pip list`` says ``venv`` holds: name -> version."""
    result = cloche("pip", "list", "--python", venv, "--format", "json")
    assert result.code == 0, result
    return {d["name"]: d["version"] for d in json.loads(result.out)}
