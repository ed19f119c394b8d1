"""The ``[build-system]`` table of a source tree (PEP 517 / PEP 518), read and validated."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement

from cloche.errors import BuildError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
LEGACY_REQUIRES = ("setuptools>=40.8.0",)


@dataclass(frozen=True, slots=True)
class BuildSystem:
    """What PEP 517 needs to call a project's build backend."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()


LEGACY_BUILD_SYSTEM = BuildSystem(requires=LEGACY_REQUIRES, backend=LEGACY_BACKEND)


def _load_pyproject(project_dir: Path) -> dict[str, Any] | None:
    path = project_dir / "pyproject.toml"
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"invalid TOML in {path}: {exc}; fix the file and try again") from None
    except OSError as exc:
        raise BuildError(f"cannot read {path}: {exc.strerror or exc}") from None
    return data


def read_build_system(project_dir: Path) -> BuildSystem:
    """The validated ``[build-system]`` of ``project_dir``, or the PEP 517 setuptools fallback."""
    data = _load_pyproject(project_dir)
    if data is None or "build-system" not in data:
        return LEGACY_BUILD_SYSTEM
    where = project_dir / "pyproject.toml"
    table = data["build-system"]
    if not isinstance(table, dict):
        raise BuildError(f"[build-system] in {where} must be a table")
    requires = table.get("requires")
    if requires is None:
        raise BuildError(
            f"[build-system] in {where} has no 'requires' key; list the build dependencies there"
        )
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise BuildError(f"build-system.requires in {where} must be a list of strings")
    for text in requires:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise BuildError(
                f"build-system.requires in {where} has an invalid requirement {text!r}: {exc}"
            ) from None
    backend = table.get("build-backend", LEGACY_BACKEND)
    if not isinstance(backend, str) or not _is_backend_spec(backend):
        raise BuildError(
            f"build-system.build-backend in {where} must be a string like "
            f"'package.module:object', got {backend!r}"
        )
    backend_path = table.get("backend-path", [])
    if not isinstance(backend_path, list) or not all(isinstance(p, str) for p in backend_path):
        raise BuildError(f"build-system.backend-path in {where} must be a list of strings")
    for entry in backend_path:
        if not _is_inside(entry):
            raise BuildError(
                f"build-system.backend-path in {where} has {entry!r}, which is not a "
                "relative path inside the project"
            )
    return BuildSystem(tuple(requires), backend, tuple(backend_path))


def _is_backend_spec(spec: str) -> bool:
    module, _, obj = spec.partition(":")
    parts = module.split(".") + (obj.split(".") if obj else [])
    return all(part.isidentifier() for part in parts)


def _is_inside(entry: str) -> bool:
    """True for a relative path that stays inside the directory it is relative to."""
    if PurePosixPath(entry).is_absolute() or PureWindowsPath(entry).is_absolute():
        return False
    depth = 0
    for part in entry.replace("\\", "/").split("/"):
        depth += -1 if part == ".." else part not in ("", ".")
        if depth < 0:
            return False
    return True


def describe_project(project_dir: Path) -> str:
    """``name version`` of a source tree for messages, as far as it is known without a build.

    Reads the static ``[project]`` table, then an sdist's PKG-INFO; falls back to the
    directory name. Never raises.
    """
    try:
        data = _load_pyproject(project_dir) or {}
    except BuildError:
        data = {}
    project = data.get("project")
    if isinstance(project, dict) and isinstance(project.get("name"), str):
        version = project.get("version")
        if isinstance(version, str):
            return f"{project['name']} {version}"
        return str(project["name"])
    try:
        raw, _unparsed = parse_email((project_dir / "PKG-INFO").read_bytes())
    except OSError:
        return project_dir.name
    name, version = raw.get("name"), raw.get("version")
    if name and version:
        return f"{name} {version}"
    return name or project_dir.name
