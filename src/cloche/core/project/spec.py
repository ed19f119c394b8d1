"""The project model: what pyproject.toml (and .python-version) declare.

Reading it is ``core.project.load``; edits that keep comments live in
``core.pyproject_edit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cloche.core.models import NormalizedName, normalize

PYPROJECT = "pyproject.toml"
LOCKFILE = "pylock.toml"
PYTHON_VERSION_FILE = ".python-version"
DEFAULT_TARGETS = ("linux", "macos", "windows")


def _no_requirements() -> Mapping[NormalizedName, tuple[Requirement, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PathSource:
    """``[tool.cloche.sources] name = { path = "libs/x", editable = true }``: where a
    dependency named only by name comes from, relative to the project root (a
    directory, or a wheel or sdist file)."""

    path: str
    editable: bool = False


def _no_sources() -> Mapping[NormalizedName, PathSource]:
    return MappingProxyType({})


def _no_index_sources() -> Mapping[NormalizedName, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """Everything cloche reads from a project's pyproject.toml."""

    root: Path
    name: str | None
    requires_python: SpecifierSet | None
    dependencies: tuple[Requirement, ...] = ()
    optional_dependencies: Mapping[NormalizedName, tuple[Requirement, ...]] = field(
        default_factory=_no_requirements
    )
    """Extras, with self-references (``proj[a]`` inside extra ``all``) expanded."""
    dependency_groups: Mapping[NormalizedName, tuple[Requirement, ...]] = field(
        default_factory=_no_requirements
    )
    """PEP 735 groups with ``include-group`` expanded."""
    tool: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[tool.cloche]`` table (for ``config.load_settings(project_table=...)``)."""
    targets: tuple[str, ...] = DEFAULT_TARGETS
    python: str | None = None
    """``[tool.cloche] python``, else the first line of ``.python-version``."""
    default_groups: tuple[NormalizedName, ...] = ()
    """Groups installed when none are named: ``[tool.cloche] default-groups``, else
    ``dev`` when the project has that group."""
    version: str | None = None
    """``[project] version`` when static (None when dynamic or absent)."""
    buildable: bool = False
    """The project has a ``[build-system]``: ``sync`` installs it into the env, editable."""
    sources: Mapping[NormalizedName, PathSource] = field(default_factory=_no_sources)
    """``[tool.cloche.sources]``: local directories for dependencies named by name."""
    dynamic: frozenset[str] = frozenset()
    """``[project] dynamic``: the fields the build backend gives (``dependencies``:
    locking asks the backend's ``prepare_metadata_for_build_wheel`` for them)."""
    index_sources: Mapping[NormalizedName, str] = field(default_factory=_no_index_sources)
    """``[tool.cloche.sources] torch = { index = "pytorch" }``: the name of the
    ``[[tool.cloche.index]]`` a dependency comes from (and only from)."""
    lock_name: str | None = None
    """A PEP 751 named lock (``cu128`` -> ``pylock.cu128.toml``); None for pylock.toml."""

    @property
    def named(self) -> frozenset[NormalizedName]:
        """Every name in the dependencies, the extras and the groups."""
        lists = (
            self.dependencies,
            *self.optional_dependencies.values(),
            *self.dependency_groups.values(),
        )
        return frozenset(normalize(req.name) for reqs in lists for req in reqs)

    @property
    def pyproject_path(self) -> Path:
        return self.root / PYPROJECT

    @property
    def lock_file(self) -> str:
        """The lock's file name: ``pylock.toml``, or ``pylock.<name>.toml`` for a named one."""
        return lock_file_name(self.lock_name)

    @property
    def lock_path(self) -> Path:
        return self.root / self.lock_file


def lock_file_name(name: str | None) -> str:
    """``pylock.toml`` for None, else the PEP 751 named lock ``pylock.<name>.toml``."""
    return LOCKFILE if name is None else f"pylock.{name}.toml"
