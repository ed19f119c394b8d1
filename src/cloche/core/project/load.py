"""Reading a project: pyproject.toml (and .python-version) -> ``ProjectSpec``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from cloche.core.models import NormalizedName, normalize
from cloche.core.project.extras import optional_dependencies
from cloche.core.project.fields import TomlFields
from cloche.core.project.groups import dependency_groups
from cloche.core.project.spec import (
    DEFAULT_TARGETS,
    PYPROJECT,
    PYTHON_VERSION_FILE,
    PathSource,
    ProjectSpec,
)
from cloche.errors import ProjectError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def read_pyproject(path: Path) -> dict[str, Any]:
    """The TOML at ``path``; a missing, unreadable or invalid file is one ProjectError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file", hint="run 'cloche init'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path.name}: invalid TOML: {exc}") from None
    return data


def load_project(root: Path) -> ProjectSpec:
    """Read ``root/pyproject.toml`` (and ``root/.python-version``) into a ProjectSpec."""
    path = root / PYPROJECT
    data = read_pyproject(path)
    reader = TomlFields(path)
    project = reader.table(data.get("project"), "project")
    tool = reader.table(reader.table(data.get("tool"), "tool").get("cloche"), "tool.cloche")

    name = reader.string(project.get("name"), "project.name")
    requires_python = _specifier(reader, project.get("requires-python"), "project.requires-python")
    dependencies = reader.requirements(project.get("dependencies"), "project.dependencies")
    extras = optional_dependencies(reader, project.get("optional-dependencies"), name)
    groups = dependency_groups(reader, data.get("dependency-groups"))

    raw_targets = tool.get("targets", list(DEFAULT_TARGETS))
    targets = tuple(reader.strings(raw_targets, "tool.cloche.targets"))
    if not targets:
        raise reader.error("tool.cloche.targets", "must name at least one target")
    if len(set(targets)) != len(targets):
        raise reader.error("tool.cloche.targets", "lists a target twice")

    python = reader.string(tool.get("python"), "tool.cloche.python") or _python_version_file(root)
    default_groups = _default_groups(reader, tool.get("default-groups"), groups)
    index_sources: dict[NormalizedName, str] = {}
    sources = _sources(reader, tool.get("sources"), index_sources)
    return ProjectSpec(
        root=root,
        name=name,
        requires_python=requires_python,
        dependencies=dependencies,
        optional_dependencies=MappingProxyType(extras),
        dependency_groups=MappingProxyType(groups),
        tool=MappingProxyType(dict(tool)),
        targets=targets,
        python=python,
        default_groups=default_groups,
        version=_version(reader, project.get("version")),
        buildable=isinstance(data.get("build-system"), Mapping) and name is not None,
        sources=MappingProxyType(sources),
        index_sources=MappingProxyType(index_sources),
        dynamic=frozenset(reader.strings(project.get("dynamic", []), "project.dynamic")),
    )


def _sources(
    reader: TomlFields, value: object, index_sources: dict[NormalizedName, str]
) -> dict[NormalizedName, PathSource]:
    """Path sources; index sources (``{ index = "name" }``) go into ``index_sources``."""
    out: dict[NormalizedName, PathSource] = {}
    for name, entry in reader.table(value, "tool.cloche.sources").items():
        key = f"tool.cloche.sources.{name}"
        table = reader.table(entry, key)
        if "index" in table:
            index_sources[normalize(name)] = _index_source(reader, table, key)
            continue
        unknown = sorted(set(table) - {"path", "editable"})
        if unknown:
            raise reader.error(key, f"unknown key {unknown[0]!r} (known: path, editable, index)")
        path = reader.string(table.get("path"), f"{key}.path")
        if not path:
            raise reader.error(
                key, "needs a path (a directory, wheel or sdist, relative to the project)"
            )
        editable = table.get("editable", False)
        if not isinstance(editable, bool):
            raise reader.error(f"{key}.editable", f"expected true or false, got {editable!r}")
        out[normalize(name)] = PathSource(path, editable)
    return out


def _index_source(reader: TomlFields, table: Mapping[str, object], key: str) -> str:
    """The index name of ``name = { index = "..." }`` (the settings resolve it to a URL)."""
    unknown = sorted(set(table) - {"index"})
    if unknown:
        raise reader.error(key, f"an index source takes only 'index', not {unknown[0]!r}")
    index = reader.string(table.get("index"), f"{key}.index")
    if not index:
        raise reader.error(f"{key}.index", "needs the name of a [[tool.cloche.index]]")
    return index


def _version(reader: TomlFields, value: object) -> str | None:
    text = reader.string(value, "project.version")
    if text is not None:
        from packaging.version import InvalidVersion, Version

        try:
            Version(text)
        except InvalidVersion:
            raise reader.error("project.version", f"invalid version {text!r}") from None
    return text


def _specifier(reader: TomlFields, value: object, key: str) -> SpecifierSet | None:
    text = reader.string(value, key)
    if text is None:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise reader.error(key, f"invalid version specifier {text!r}: {exc}") from None


def _python_version_file(root: Path) -> str | None:
    try:
        lines = (root / PYTHON_VERSION_FILE).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{root / PYTHON_VERSION_FILE}: cannot read: {exc}") from None
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            return text
    return None


def _default_groups(
    reader: TomlFields, value: object, groups: Mapping[NormalizedName, Any]
) -> tuple[NormalizedName, ...]:
    key = "tool.cloche.default-groups"
    if value is None:
        return (NormalizedName("dev"),) if "dev" in groups else ()
    names = [normalize(name) for name in reader.strings(value, key)]
    for name in names:
        if name not in groups:
            raise reader.error(key, f"{name!r} is not a dependency group")
    return tuple(dict.fromkeys(names))
