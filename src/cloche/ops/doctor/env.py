"""Finding and reading the environment doctor examines, without running its packages.

The env's own Python is probed (a cached subprocess) for its tags and markers; when
it cannot run (a venv whose base interpreter is gone) doctor still reads the files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from packaging.version import InvalidVersion, Version

from cloche.adapters.install import EnvLayout, InstalledDist, installed_distributions
from cloche.core.models import Interpreter
from cloche.core.project.load import load_project
from cloche.core.project.root import find_project_root
from cloche.core.project.spec import ProjectSpec
from cloche.errors import ClocheError, UsageError
from cloche.ops.doctor.model import DoctorEnv, GpuContext

_EXECUTABLES = ("bin/python", "bin/python3", "Scripts/python.exe", "python.exe")
_BIN_DIRS = ("bin", "Scripts")


class NotAnEnvironment(UsageError):
    """The path doctor was pointed at is not a Python environment, or cannot be read."""


def open_env(
    python: str | None,
    cwd: Path,
    environ: Mapping[str, str],
    cache_dir: Path,
    gpu: GpuContext | None = None,
) -> DoctorEnv:
    """The environment named by ``--python``, else the project's ``.venv``, else the
    active one (``$VIRTUAL_ENV``, ``$CONDA_PREFIX``), else a ``.venv`` above ``cwd``.

    ``gpu`` is how the GPU checks see the machine (None skips them)."""
    prefix, project = _locate(python, cwd, environ, cache_dir)
    config = read_venv_config(prefix)
    interpreter = _probe_env(prefix, cache_dir)
    sites = _site_dirs(prefix, interpreter)
    if not sites and not config and not (prefix / "conda-meta").is_dir():
        raise NotAnEnvironment(
            f"{prefix} is not a Python environment (no pyvenv.cfg, no conda-meta, "
            "no lib/pythonX.Y/site-packages)"
        )
    for site in sites:
        try:
            with os.scandir(site) as entries:
                next(entries, None)
        except OSError as exc:
            raise NotAnEnvironment(f"cannot read {site}: {exc.strerror or exc}") from None
    version = _python_version(interpreter, config, sites)
    return DoctorEnv(
        prefix=prefix,
        site_dirs=sites,
        python_version=version,
        interpreter=interpreter,
        dists=_read_dists(sites, prefix, version),
        marker_env=_marker_env(interpreter, version),
        cwd=cwd,
        project=project,
        venv_config=config,
        gpu=gpu,
    )


def _locate(
    python: str | None, cwd: Path, environ: Mapping[str, str], cache_dir: Path
) -> tuple[Path, ProjectSpec | None]:
    if python is not None:
        return _prefix_of(Path(python).expanduser().absolute(), cache_dir), None
    root = find_project_root(cwd)
    if root is not None and (root / ".venv").is_dir():
        return root / ".venv", load_project(root)
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if environ.get(variable):
            return Path(environ[variable]), None
    for directory in (cwd.absolute(), *cwd.absolute().parents):
        if (directory / ".venv").is_dir():
            return directory / ".venv", None
    raise NotAnEnvironment(
        "no environment to examine: pass --python PATH, activate a venv, "
        "or run in a project that has a .venv"
    )


def _prefix_of(path: Path, cache_dir: Path) -> Path:
    if path.is_dir():
        return path
    if not path.exists() and not path.is_symlink():
        raise NotAnEnvironment(
            f"{path} does not exist; pass an environment directory or its python"
        )
    parent = path.parent
    if parent.name in _BIN_DIRS and (
        (parent.parent / "pyvenv.cfg").is_file() or (parent.parent / "conda-meta").is_dir()
    ):
        return parent.parent
    from cloche.adapters.python.discovery import probe

    try:
        return Path(probe(path, cache_dir).prefix)
    except ClocheError:
        raise NotAnEnvironment(f"{path} is not a Python interpreter or environment") from None


def read_venv_config(prefix: Path) -> dict[str, str]:
    """``pyvenv.cfg`` as keys and values (empty when there is none)."""
    try:
        text = (prefix / "pyvenv.cfg").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    config = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip().lower()] = value.strip()
    return config


def _probe_env(prefix: Path, cache_dir: Path) -> Interpreter | None:
    from cloche.adapters.python.discovery import probe

    for relative in _EXECUTABLES:
        candidate = prefix / relative
        if candidate.is_file():
            try:
                return probe(candidate, cache_dir)
            except (ClocheError, OSError):
                return None
    return None


def _site_dirs(prefix: Path, interpreter: Interpreter | None) -> tuple[Path, ...]:
    if interpreter is not None and Path(interpreter.prefix).resolve() == prefix.resolve():
        scheme = interpreter.scheme
        found = [Path(scheme["purelib"]), Path(scheme["platlib"])]
    else:
        found = [
            *sorted(prefix.glob("lib/python3*/site-packages")),
            *sorted(prefix.glob("lib64/python3*/site-packages")),
            prefix / "Lib" / "site-packages",
        ]
    unique: dict[Path, Path] = {}
    for site in found:
        if site.is_dir():
            unique.setdefault(site.resolve(), site)
    return tuple(unique.values())


def _python_version(
    interpreter: Interpreter | None, config: Mapping[str, str], sites: tuple[Path, ...]
) -> str:
    if interpreter is not None:
        return f"{interpreter.version.major}.{interpreter.version.minor}"
    for key in ("version_info", "version"):
        try:
            version = Version(config.get(key, ""))
        except InvalidVersion:
            continue
        return f"{version.major}.{version.minor}"
    for site in sites:
        if site.parent.name.startswith("python3"):
            return site.parent.name.removeprefix("python")
    return ""


def _read_dists(sites: tuple[Path, ...], prefix: Path, version: str) -> tuple[InstalledDist, ...]:
    found: dict[Path, InstalledDist] = {}
    python_version = Version(version or "3")
    for site in sites:
        layout = EnvLayout(
            purelib=site,
            platlib=site,
            scripts=prefix / "bin",
            include=prefix / "include",
            data=prefix,
            python_executable=prefix / "bin" / "python",
            python_version=python_version,
        )
        for dist in installed_distributions(layout):
            found.setdefault(dist.dist_info.resolve(), dist)
    return tuple(sorted(found.values(), key=lambda d: (d.name, d.version)))


def _marker_env(interpreter: Interpreter | None, version: str) -> dict[str, str]:
    if interpreter is not None:
        return dict(interpreter.marker_env)
    from packaging.markers import default_environment

    environment = {key: str(value) for key, value in default_environment().items()}
    if version:
        environment["python_version"] = version
        environment["python_full_version"] = f"{version}.0"
    return environment
