"""A project on disk: finding it, its interpreter, and its ``.venv``."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.core.models import Interpreter
from cloche.core.project.load import load_project
from cloche.core.project.root import find_project_root
from cloche.core.project.spec import ProjectSpec
from cloche.core.report import NullReporter, Reporter
from cloche.errors import InterpreterNotFound, ProjectError, UnusableEnvError
from cloche.ops.stamp import VENV_NAME

if TYPE_CHECKING:
    from cloche.config import Settings

_PLAIN_VERSION = re.compile(r"^3\.\d+(?:\.\d+)?$")


def find_project(start: Path | None = None) -> ProjectSpec:
    """The project around ``start`` (default: the working directory), read and checked."""
    here = Path.cwd() if start is None else start
    root = find_project_root(here)
    if root is None:
        raise ProjectError(
            f"no pyproject.toml with a [project] table in {here} or any parent directory",
            hint="run 'cloche init' to start a project here",
        )
    return load_project(root)


def venv_dir(spec: ProjectSpec) -> Path:
    return spec.root / VENV_NAME


def python_request(spec: ProjectSpec) -> str | None:
    """What the project asks of its interpreter: its Python pin, else requires-python."""
    if spec.python:
        return spec.python
    return str(spec.requires_python) if spec.requires_python else None


def _fits(spec: ProjectSpec, interpreter: Interpreter) -> bool:
    from cloche.adapters.python.request import parse_request

    if spec.requires_python is not None and not spec.requires_python.contains(
        interpreter.version, prereleases=True
    ):
        return False
    return spec.python is None or parse_request(spec.python, cwd=spec.root).matches(interpreter)


def _venv_interpreter(spec: ProjectSpec, cache_dir: Path) -> Interpreter | None:
    from cloche.adapters.python.discovery import probe

    python = venv_dir(spec) / "bin" / "python"
    if not python.exists():
        return None
    try:
        return probe(python, cache_dir)
    except InterpreterNotFound:
        return None


def base_interpreter(
    spec: ProjectSpec,
    cache_dir: Path,
    settings: Settings | None = None,
    reporter: Reporter | None = None,
) -> Interpreter:
    """The interpreter the project's venv is (or would be) made from: the project's
    Python pin, else the one ``python3`` runs (as ``init`` chooses) when it fits
    requires-python, else the highest that fits. With ``settings``, one that is not
    found is downloaded as ``python-downloads`` allows."""
    from cloche.adapters.python.discovery import find_interpreter

    if spec.python is None:
        try:
            default: Interpreter | None = find_interpreter(None, cache_dir=cache_dir)
        except InterpreterNotFound:
            if settings is None:
                raise
            default = None  # no python3 on PATH: one that fits may still be found or fetched
        if default is not None and _fits(spec, default):
            return default
    request = python_request(spec)
    if settings is None:
        found = find_interpreter(request, cache_dir=cache_dir)
    else:
        from cloche.ops.python_install import find_or_install

        found = find_or_install(request, settings, reporter)
    if not _fits(spec, found):
        raise InterpreterNotFound(
            f"Python {found.version} ({found.executable}) does not satisfy the project's "
            f"requires-python '{spec.requires_python}'",
            hint="install a matching Python, or set [tool.cloche] python / .python-version",
        )
    return found


def project_interpreter(spec: ProjectSpec, cache_dir: Path) -> Interpreter:
    """The venv's interpreter when it fits the project, else the base one (creates nothing)."""
    existing = _venv_interpreter(spec, cache_dir)
    if existing is not None and _fits(spec, existing):
        return existing
    return base_interpreter(spec, cache_dir)


def ensure_venv(
    spec: ProjectSpec, settings: Settings, reporter: Reporter | None = None
) -> Interpreter:
    """The project's ``.venv`` interpreter, creating (or re-creating) the venv when needed,
    with a Python downloaded first when none fits and ``python-downloads`` allows it."""
    reporter = reporter or NullReporter()
    existing = _venv_interpreter(spec, settings.cache_dir)
    if existing is not None and _fits(spec, existing):
        return existing
    from cloche.ops.venv_lock import making

    def say() -> None:
        reporter.info(f"Waiting for another cloche process to make {venv_dir(spec)}")

    with making(os.fspath(venv_dir(spec)), os.fspath(settings.cache_dir), say):
        return _make_venv(spec, settings, reporter)


def _make_venv(spec: ProjectSpec, settings: Settings, reporter: Reporter) -> Interpreter:
    from cloche.ops.venv_create import create_venv

    cache_dir = settings.cache_dir
    path = venv_dir(spec)
    existing = _venv_interpreter(spec, cache_dir)
    if existing is not None and _fits(spec, existing):
        return existing
    if path.exists() and not (path / "pyvenv.cfg").is_file():
        raise UnusableEnvError(
            f"{path} exists but is not a virtual environment; move it away and run again"
        )
    base = base_interpreter(spec, cache_dir, settings, reporter)
    if existing is not None:
        reporter.info(
            f"Re-creating {VENV_NAME}: Python {existing.version} does not fit the project"
        )
    else:
        reporter.info(
            f"Creating {VENV_NAME} with Python {base.version} ({_why(spec, base, cache_dir)})"
        )
    return create_venv(
        path,
        base,
        prompt=spec.name or spec.root.name,
        clear=existing is not None or path.exists(),
        cache_dir=cache_dir,
    )


def _why(spec: ProjectSpec, base: Interpreter, cache_dir: Path) -> str:
    """Which Python ``ensure_venv`` chose, and why (as the user would check it)."""
    from cloche.adapters.python.discovery import find_interpreter

    if spec.python is not None:
        return f"{base.executable}, the project's Python {spec.python}"
    try:
        default = find_interpreter(None, cache_dir=cache_dir).executable
    except InterpreterNotFound:
        default = None
    if default == base.executable:
        return f"{base.executable}, python3 on PATH"
    return f"{base.executable}, the highest found for requires-python {spec.requires_python}"


def needs_interpreter(spec: ProjectSpec) -> bool:
    """Whether only an interpreter can tell the Python version a lock is for."""
    pinned = bool(spec.python and _PLAIN_VERSION.match(spec.python.strip()))
    return not pinned and not (spec.requires_python is not None and str(spec.requires_python))


def lock_python(spec: ProjectSpec, interpreter: Interpreter | None = None) -> str:
    """The Python version a lock resolves for: the project's pin, else the lowest that
    requires-python allows, else the interpreter's."""
    if spec.python and _PLAIN_VERSION.match(spec.python.strip()):
        return spec.python.strip()
    if spec.requires_python is not None and str(spec.requires_python):
        from cloche.core.targets import default_lock_targets

        lowest = default_lock_targets(spec.requires_python)[0].python_version
        return f"{lowest.major}.{lowest.minor}.{lowest.micro}"
    if interpreter is None:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"{interpreter.version.major}.{interpreter.version.minor}"
