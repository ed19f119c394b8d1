"""Running a command inside a project's environment (``run``, ``shell``).

On the no-op fast path: standard library only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cloche.errors import ClocheError, CommandNotFound


def scripts_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def activated_environ(venv: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) as ``source .venv/bin/activate`` would leave it."""
    env = dict(os.environ if base is None else base)
    env["VIRTUAL_ENV"] = str(venv)
    path = env.get("PATH", "")
    env["PATH"] = str(scripts_dir(venv)) + (os.pathsep + path if path else "")
    env.pop("PYTHONHOME", None)
    env.pop("CONDA_PREFIX", None)
    return env


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def run_in(venv: Path, argv: Sequence[str], project: Path | None = None) -> int:
    """Run ``argv`` with the env activated; returns its exit code (on POSIX this process
    becomes the command, so it only returns when the command cannot be started).

    With ``project``, a Ray driver among them starts its workers in the project's env."""
    env = activated_environ(venv)
    if project is not None:
        from cloche.ops.project.ray_driver import with_ray_hook

        env = with_ray_hook(env, venv, project)
    if os.name != "nt":
        _flush()
        try:
            os.execvpe(argv[0], list(argv), env)
        except FileNotFoundError:
            raise CommandNotFound(
                f"command not found: {argv[0]} (not in {scripts_dir(venv)} nor on PATH)",
                hint="add the package that provides it with 'cloche add', or check the spelling",
            ) from None
        except OSError as exc:
            raise ClocheError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    import shutil
    import subprocess

    program = shutil.which(argv[0], path=env["PATH"])
    if program is None:
        raise CommandNotFound(f"command not found: {argv[0]}")
    return subprocess.run([program, *argv[1:]], env=env, check=False).returncode


def run_shell(venv: Path) -> int:
    """An interactive sub-shell with the env activated; returns its exit code."""
    import subprocess

    if os.name == "nt":
        shell = os.environ.get("COMSPEC", "cmd.exe")
    else:
        shell = os.environ.get("SHELL") or "/bin/sh"
    env = activated_environ(venv)
    try:
        return subprocess.run([shell], env=env, check=False).returncode
    except OSError as exc:
        raise ClocheError(f"cannot start {shell}: {exc.strerror or exc}") from None
