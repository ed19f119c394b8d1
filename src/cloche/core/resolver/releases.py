"""The releases of one package as seen from one target: which file each would install."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from cloche.core.models import DistFile, NormalizedName, Target
from cloche.core.resolver.options import FilePolicy


class Exclusion(Enum):
    """Why a release cannot be used on the target."""

    REQUIRES_PYTHON = "requires-python"
    NO_FILE = "no-file"


@dataclass(frozen=True, slots=True)
class Release:
    """One version of a package with the file the target would install, if any."""

    version: Version
    files: tuple[DistFile, ...]
    """Every listed file of this version, usable or not (lockfiles record them all)."""
    chosen: DistFile | None
    """Best usable file: not yanked if possible, then best wheel, then the sdist."""
    yanked: bool = False
    """Every usable file is yanked: only an exact pin may select this release."""
    excluded: Exclusion | None = None
    """Set when ``chosen`` is None."""

    @property
    def requires_python(self) -> SpecifierSet | None:
        for file in (self.chosen, *self.files):
            if file is not None and file.requires_python is not None:
                return file.requires_python
        return None


def _rank(
    file: DistFile, priority: Mapping[Tag, int], policy: FilePolicy
) -> tuple[int, int] | None:
    """Sort key of a file that fits the target (lower is better); None when it does not."""
    if file.is_wheel:
        if policy is FilePolicy.NO_BINARY:
            return None
        ranks = [priority[tag] for tag in file.tags if tag in priority]
        return (0, min(ranks)) if ranks else None
    if policy is FilePolicy.ONLY_BINARY:
        return None
    return (1, 0 if file.filename.endswith(".tar.gz") else 1)


def _python_ok(file: DistFile, python: Version) -> bool:
    spec = file.requires_python
    return spec is None or spec.contains(python, prereleases=True)


def _release(
    version: Version,
    files: tuple[DistFile, ...],
    target: Target,
    priority: Mapping[Tag, int],
    policy: FilePolicy,
) -> Release:
    fitting = [f for f in files if _python_ok(f, target.python_version)]
    if not fitting:
        return Release(version, files, None, excluded=Exclusion.REQUIRES_PYTHON)
    ranked = [(rank, f) for f in fitting if (rank := _rank(f, priority, policy)) is not None]
    if not ranked:
        return Release(version, files, None, excluded=Exclusion.NO_FILE)
    # Yanked files go last, so a yanked file is chosen only when nothing else fits.
    ranked.sort(key=lambda pair: (pair[1].yanked is not None, pair[0], pair[1].filename))
    best = ranked[0][1]
    return Release(version, files, best, yanked=best.yanked is not None)


def releases_for(
    name: NormalizedName,
    files: Iterable[DistFile],
    target: Target,
    priority: Mapping[Tag, int],
    policy: FilePolicy,
) -> tuple[Release, ...]:
    """Releases of ``name`` from its listed files, newest first, each judged for ``target``."""
    by_version: dict[Version, list[DistFile]] = {}
    for file in files:
        if file.name == name:
            by_version.setdefault(file.version, []).append(file)
    return tuple(
        _release(version, tuple(by_version[version]), target, priority, policy)
        for version in sorted(by_version, reverse=True)
    )
