"""Find Python interpreters (PATH, pyenv) and the environment pip-style commands act on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.python import cache as python_cache
from cloche.adapters.python.probe import (
    cached_interpreter,
    interpreter_from_data,
    probe_interpreter,
)
from cloche.core.models import Interpreter
from cloche.errors import InterpreterNotFound, UnusableEnvError

if TYPE_CHECKING:
    from cloche.adapters.python.request import PythonRequest

__all__ = ["find_environment", "find_interpreter", "list_interpreters", "probe"]

_ENV_EXECUTABLES = ("bin/python3", "bin/python", "bin/pypy3", "Scripts/python.exe")
_PROBE_WORKERS = 8


def probe(executable: Path, cache_dir: Path | None = None) -> Interpreter:
    """Describe the interpreter at ``executable``: version, markers, tags, prefix, paths.

    The result is cached under ``cache_dir``; a cache hit runs no subprocess.
    """
    return probe_interpreter(executable, cache_dir)


def find_interpreter(request: str | None, *, cache_dir: Path | None = None) -> Interpreter:
    """The interpreter best matching ``request`` (None: python3/python on PATH)."""
    if request is None:
        return _default_interpreter(cache_dir)
    # Imported here: a compile for the default interpreter parses no request.
    from cloche.adapters.python.request import parse_request

    parsed = parse_request(request)
    if parsed.path is not None:
        return _probe_path(parsed.path, cache_dir)
    found = _discover(cache_dir)
    matching = [interp for interp in found if parsed.matches(interp)]
    if matching:
        # Highest version wins; on a tie the earliest (PATH order first) stays.
        return max(matching, key=lambda interp: interp.version)
    raise InterpreterNotFound(_not_found_message(parsed, found))


def find_active_interpreter(
    request: str | None,
    *,
    cache_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Interpreter:
    """As ``find_interpreter``, but with no request an activated environment's Python
    ($VIRTUAL_ENV, then $CONDA_PREFIX) comes before python3 on PATH.

    PATH alone can point elsewhere even inside an activated environment: pyenv's
    shims put their own Python's directory first when they run cloche.
    """
    if request is None:
        env = os.environ if environ is None else environ
        for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
            if env.get(variable):
                return _environment_interpreter(Path(env[variable]), variable, cache_dir)
    return find_interpreter(request, cache_dir=cache_dir)


def list_interpreters(cache_dir: Path | None = None) -> list[Interpreter]:
    """Every usable interpreter on PATH, in pyenv, asdf, conda and cloche's own
    directory, one per binary, newest first."""
    return sorted(_discover(cache_dir), key=lambda interp: interp.version, reverse=True)


def find_environment(
    python: str | None,
    *,
    system: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Interpreter:
    """The environment pip-style commands act on.

    In order: ``python`` (a path to an interpreter or environment, or a version
    request), ``$VIRTUAL_ENV``, ``$CONDA_PREFIX``, a ``.venv`` in ``cwd`` or a parent.
    A Python that is not a virtual (or conda) environment needs ``system=True``.
    """
    env = os.environ if environ is None else environ
    here = cwd if cwd is not None else Path.cwd()
    if python is not None:
        from cloche.adapters.python.request import parse_request

        parsed = parse_request(python, cwd=here)
        if parsed.path is not None:
            interp = _probe_path(parsed.path, cache_dir)
        else:
            interp = find_interpreter(python, cache_dir=cache_dir)
    elif env.get("VIRTUAL_ENV"):
        interp = _environment_interpreter(Path(env["VIRTUAL_ENV"]), "VIRTUAL_ENV", cache_dir)
    elif env.get("CONDA_PREFIX"):
        interp = _environment_interpreter(Path(env["CONDA_PREFIX"]), "CONDA_PREFIX", cache_dir)
    else:
        venv_dir = _find_dot_venv(here)
        if venv_dir is None:
            raise UnusableEnvError(
                "no virtual environment found; create one with 'cloche venv' "
                "and activate it, or pass --python"
            )
        interp = _environment_interpreter(venv_dir, None, cache_dir)
    if not system and not interp.is_venv and not _is_conda_env(interp):
        raise UnusableEnvError(
            f"{interp.executable} is not a virtual environment (it is the system Python); "
            "pass --system to install into it anyway"
        )
    return interp


def _default_interpreter(cache_dir: Path | None) -> Interpreter:
    executable, data = python_cache.default_interpreter(
        None if cache_dir is None else os.fspath(cache_dir)
    )
    return interpreter_from_data(executable, data)


def _probe_path(path: Path, cache_dir: Path | None) -> Interpreter:
    if path.is_dir():
        return _environment_interpreter(path, None, cache_dir)
    if not path.exists():
        raise InterpreterNotFound(f"no Python at {path}; check the path passed to --python")
    return probe(path, cache_dir)


def _environment_interpreter(
    root: Path, variable: str | None, cache_dir: Path | None
) -> Interpreter:
    where = f"{variable} is set to {root}, which" if variable else f"{root}"
    if not root.is_dir():
        raise UnusableEnvError(
            f"{where} does not exist or is not a directory; "
            f"deactivate it or create it with 'cloche venv {root}'"
        )
    for relative in _ENV_EXECUTABLES:
        candidate = root / relative
        if candidate.is_file():
            return probe(candidate, cache_dir)
    raise UnusableEnvError(
        f"{where} has no Python interpreter (no bin/python); "
        f"recreate it with 'cloche venv --clear {root}'"
    )


def _find_dot_venv(start: Path) -> Path | None:
    start = Path(os.path.normpath(start.absolute()))
    for directory in (start, *start.parents):
        candidate = directory / ".venv"
        if candidate.is_dir():
            return candidate
    return None


def _is_conda_env(interp: Interpreter) -> bool:
    return (Path(interp.prefix) / "conda-meta").is_dir()


def _discover(cache_dir: Path | None) -> list[Interpreter]:
    from cloche.adapters.python.places import candidates

    unique: dict[str, Path] = {}
    for candidate in candidates():
        if python_cache.is_binary(candidate):
            unique.setdefault(os.path.realpath(candidate), candidate)

    def attempt(path: Path) -> Interpreter | None:
        try:
            return probe(path, cache_dir)
        except InterpreterNotFound:
            return None

    # Cached probes first, in this thread: on a warm cache, starting the pool cost
    # more (~10 ms of thread starts) than reading every entry.
    results: dict[Path, Interpreter | None] = {}
    for path in unique.values():
        try:
            cached = cached_interpreter(path, cache_dir)
        except InterpreterNotFound:
            results[path] = None
            continue
        if cached is not None:
            results[path] = cached
    missing = [path for path in unique.values() if path not in results]
    if len(missing) == 1:
        results[missing[0]] = attempt(missing[0])
    elif missing:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=_PROBE_WORKERS) as pool:
            results.update(zip(missing, pool.map(attempt, missing), strict=True))
    found = (results[path] for path in unique.values())
    return [interp for interp in found if interp is not None]


def _not_found_message(request: PythonRequest, found: list[Interpreter]) -> str:
    versions = sorted({interp.version for interp in found})
    listed = ", ".join(str(v) for v in versions) or "none"
    if request.implementation in (None, "cpython"):
        how = f"install one with 'cloche python install {request.text}' (or pyenv),"
    else:
        how = "install one with pyenv"
    return (
        f"no Python matching {request.text!r} found (found: {listed}; {how} or pass --python PATH)"
    )
