"""Gather what the user asked for: requirement arguments, -r files, -c files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloche.config import Settings, check_index_url
from cloche.core.models import UserRequirement
from cloche.core.requirements.file import (
    RequirementsFile,
    binary_choices,
    is_project_file,
    merge,
    parse_requirement,
    parse_requirements_file,
)
from cloche.core.requirements.line import UnnamedReference, UnnamedRequirement

if TYPE_CHECKING:
    from cloche.ops.project_sources import ProjectFiles


@dataclass(frozen=True, slots=True)
class Asked:
    """Requirements and constraints from the command line and files, merged."""

    requirements: tuple[UserRequirement, ...]
    constraints: tuple[UserRequirement, ...]
    files: RequirementsFile | None
    unnamed: tuple[UnnamedReference, ...] = ()
    """URLs and paths written without ``name @`` (on the command line or in files):
    ``ops.prepare.naming`` names them from their metadata."""

    def named(self, names: Sequence[str]) -> Asked:
        """This request with ``unnamed[i]`` named ``names[i]``."""
        extra = tuple(u.named(n) for u, n in zip(self.unnamed, names, strict=True))
        return replace(self, requirements=(*self.requirements, *extra), unnamed=())

    @property
    def require_hashes(self) -> bool:
        return bool(self.files and self.files.require_hashes) or any(
            r.hashes for r in self.requirements
        )


def gather(
    args: Sequence[str] = (),
    requirement_files: Sequence[Path] = (),
    constraint_files: Sequence[Path] = (),
    editables: Sequence[str] = (),
    *,
    only_binary: Sequence[str] = (),
    no_binary: Sequence[str] = (),
    projects: ProjectFiles | None = None,
) -> Asked:
    """Parse command-line requirements and requirement/constraint files.

    ``only_binary``/``no_binary`` (the command line's) apply after every file's. A
    ``pyproject.toml`` / ``setup.py`` / ``setup.cfg`` among ``requirement_files`` gives
    the project's dependencies (read by ``projects``).
    """
    reqs: list[UserRequirement] = []
    unnamed: list[UnnamedReference] = []
    for text, editable in [(a, False) for a in args] + [(e, True) for e in editables]:
        try:
            reqs.append(
                parse_requirement(text, "command line", editable=editable, base_dir=Path.cwd())
            )
        except UnnamedRequirement as exc:
            unnamed.append(exc.reference)
    if projects is None and any(is_project_file(p) for p in requirement_files):
        from cloche.ops.project_sources import ProjectFiles

        projects = ProjectFiles()
    if projects is not None:
        projects.check(requirement_files)
        for path in filter(is_project_file, requirement_files):
            reqs += projects.requirements(path)
    parsed = [parse_requirements_file(p) for p in requirement_files if not is_project_file(p)]
    parsed += [parse_requirements_file(p, constraint=True) for p in constraint_files]
    if only_binary or no_binary:
        parsed.append(binary_choices(only_binary, no_binary))
    files = merge(parsed) if parsed else None
    if files is not None:
        reqs += files.requirements
        unnamed += files.unnamed
    return Asked(tuple(reqs), files.constraints if files else (), files, tuple(unnamed))


def settings_with_file_options(
    settings: Settings, files: RequirementsFile | None, explicit: Mapping[str, Any]
) -> Settings:
    """Index options written in requirements files, unless given on the command line."""
    if files is None:
        return settings
    changes: dict[str, Any] = {}
    if files.index_url and explicit.get("index_url") is None:
        check_index_url(files.index_url)
        changes["index_url"] = files.index_url
    if files.extra_index_urls:
        for url in files.extra_index_urls:
            check_index_url(url)
        changes["extra_index_urls"] = tuple(
            dict.fromkeys((*settings.extra_index_urls, *files.extra_index_urls))
        )
    if files.find_links:
        changes["find_links"] = tuple(dict.fromkeys((*settings.find_links, *files.find_links)))
    if files.no_index and explicit.get("no_index") is None:
        changes["no_index"] = True
    if files.pre:
        changes["prerelease"] = True
    return replace(settings, **changes) if changes else settings
