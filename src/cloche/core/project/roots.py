"""The requirements a project asks for: its dependencies plus the chosen groups and
extras, each pointed at its ``[tool.cloche.sources]`` path when it has one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.requirements import Requirement

from cloche.core.models import NormalizedName, UserRequirement, normalize, parse_dist_filename
from cloche.core.project.spec import PYPROJECT, ProjectSpec
from cloche.errors import ProjectError, UsageError


def requirements_for(
    spec: ProjectSpec,
    *,
    groups: Iterable[str] = (),
    extras: Iterable[str] = (),
    all_groups: bool = False,
    all_extras: bool = False,
    source: str = PYPROJECT,
) -> list[UserRequirement]:
    """The project's requirements plus those of the named groups and extras.

    Unknown group or extra names raise UsageError listing the known ones (in ``source``).
    """
    chosen_groups = _pick(spec.dependency_groups, groups, all_groups, "dependency group", source)
    chosen_extras = _pick(spec.optional_dependencies, extras, all_extras, "extra", source)
    pairs = [(req, PYPROJECT) for req in spec.dependencies]
    for extra in chosen_extras:
        origin = f"{PYPROJECT} [project.optional-dependencies] {extra}"
        pairs.extend((req, origin) for req in spec.optional_dependencies[extra])
    for group in chosen_groups:
        origin = f"{PYPROJECT} [dependency-groups] {group}"
        pairs.extend((req, origin) for req in spec.dependency_groups[group])
    return [_sourced(spec, req, origin) for req, origin in pairs]


def _sourced(spec: ProjectSpec, req: Requirement, origin: str) -> UserRequirement:
    """``req``, pointed at its ``[tool.cloche.sources]`` directory or file when it has one."""
    source = spec.sources.get(normalize(req.name))
    if source is None or req.url:
        return UserRequirement(req, origin)
    key = f"tool.cloche.sources.{normalize(req.name)}"
    path = (spec.root / source.path).resolve()
    is_file = is_dist_file(path)
    if not is_file and not path.is_dir():
        raise ProjectError(
            f"{PYPROJECT}: {key}: {source.path} is not a directory, wheel or sdist "
            f"(paths are relative to {spec.root})"
        )
    if is_file and source.editable:
        raise ProjectError(
            f"{PYPROJECT}: {key}: {source.path} is a file; only a directory is editable"
        )
    if req.specifier:
        raise ProjectError(
            f"{origin}: {str(req)!r} has a version range, but {key} is a "
            f"{'file' if is_file else 'directory'}, which has one version; name it alone"
        )
    return UserRequirement(pointed_at(req, path.as_uri()), origin, editable=source.editable)


def is_dist_file(path: Path) -> bool:
    """A wheel or sdist file (by its name, as an index would list it)."""
    return path.is_file() and parse_dist_filename(path.name) is not None


def pointed_at(req: Requirement, url: str | None) -> Requirement:
    """``req``'s name, extras and marker, with ``url`` as its source (None: by name alone)."""
    text = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
    if url is not None:
        text += f" @ {url}"
    if req.marker is not None:
        text += f" ; {req.marker}"
    return Requirement(text)


def _pick(
    available: Mapping[NormalizedName, object],
    asked: Iterable[str],
    every: bool,
    what: str,
    source: str,
) -> list[NormalizedName]:
    if every:
        return sorted(available)
    chosen = list(dict.fromkeys(normalize(name) for name in asked))
    unknown = [name for name in chosen if name not in available]
    if unknown:
        known = ", ".join(sorted(available)) or "none"
        raise UsageError(f"unknown {what} {unknown[0]!r} in {source} (defined: {known})")
    return chosen
