"""Ray's ``RAY_RUNTIME_ENV_HOOK`` for a driver started by ``cloche run``.

``cloche run`` puts this folder on ``PYTHONPATH`` (the project's env need not hold
cloche; this module uses the standard library only) and exports the command that
starts a worker through the project's locked env, as Ray's own hook does for
``uv run``: every worker runs ``cloche run --frozen python ...`` in the job's
``working_dir`` (the project, uploaded by Ray), so each node syncs the project's
``pylock.toml`` once and starts its workers in it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PY_EXECUTABLE_VAR = "CLOCHE_RAY_PY_EXECUTABLE"
PROJECT_VAR = "CLOCHE_RAY_PROJECT"
# What the workers must not receive from the driver's folder: its envs.
EXCLUDES = [".venv", ".venv/**", "**/__pycache__"]
_OWN_ENV = ("py_executable", "pip", "uv", "conda", "container", "image_uri", "cloche")


def hook(runtime_env: dict[str, Any] | None) -> dict[str, Any]:
    """The job's runtime_env with ``py_executable`` set to the project's env."""
    runtime_env = dict(runtime_env or {})
    command = os.environ.get(PY_EXECUTABLE_VAR)
    if not command:
        return runtime_env
    chosen = [key for key in _OWN_ENV if runtime_env.get(key)]
    if chosen:
        if chosen[0] in ("pip", "uv", "conda"):
            raise RuntimeError(
                f"runtime_env['{chosen[0]}'] cannot be used under 'cloche run': the "
                "workers run in the project's locked env; add the packages to the "
                "project ('cloche add ...') instead"
            )
        return runtime_env  # the job chose its own interpreter
    runtime_env["py_executable"] = command
    if "working_dir" not in runtime_env:
        runtime_env["working_dir"] = os.environ.get(PROJECT_VAR) or str(Path.cwd())
        runtime_env["excludes"] = [*runtime_env.get("excludes", []), *EXCLUDES]
    return runtime_env
