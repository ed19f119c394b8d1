"""What ``cloche run`` adds for a Ray driver: the hook that starts Ray's workers in
the project's locked env (``integrations/ray_driver_hook``), when the env has Ray.

Standard library only (the ``run`` fast path).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

HOOK_VAR = "RAY_RUNTIME_ENV_HOOK"
HOOK = "cloche_ray_hook.hook"
PY_EXECUTABLE_VAR = "CLOCHE_RAY_PY_EXECUTABLE"
PROJECT_VAR = "CLOCHE_RAY_PROJECT"
HOOK_DIR = Path(__file__).resolve().parents[2] / "integrations" / "ray_driver_hook"


def has_ray(venv: Path, env: Mapping[str, str]) -> bool:
    """Ray importable in ``venv`` (its site-packages, or a ``PYTHONPATH`` folder)."""
    folders = [*venv.glob("lib/python*/site-packages"), venv / "Lib" / "site-packages"]
    folders += [Path(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return any((folder / "ray" / "__init__.py").is_file() for folder in folders)


def worker_command() -> str:
    """How a Ray worker starts: this cloche syncs Ray's copy of the project (the job's
    ``working_dir``) from its lock, then runs the env's python."""
    return shlex.join([sys.executable, "-m", "cloche", "run", "--frozen", "python"])


def with_ray_hook(env: dict[str, str], venv: Path, project: Path) -> dict[str, str]:
    """``env`` with the hook set, unless Ray is absent or another hook is set."""
    if HOOK_VAR in env or not has_ray(venv, env):
        return env
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = (path + os.pathsep if path else "") + str(HOOK_DIR)
    env[HOOK_VAR] = HOOK
    env[PY_EXECUTABLE_VAR] = worker_command()
    env[PROJECT_VAR] = str(project)
    return env
