"""One requirements file for every platform and Python: resolutions merged with markers.

``cloche pip compile --universal`` resolves once per (platform, Python minor) of a
grid and merges the pins here. A pin that every target chose has no marker; one
that only some chose gets a marker true on exactly those: the platforms as
``core.lock.markers`` writes them (``sys_platform``, ``platform_machine``) and
the Pythons as a range (``python_version >= '3.11'``), so a Python newer than the
grid's newest takes the newest's pins. Where targets chose different versions of
one package, each version is a pin of its own with disjoint markers (a fork).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from cloche.core.lock.markers import TargetMarkers
from cloche.core.models import DistFile, Resolution, ResolvedPackage
from cloche.errors import ClocheError


@dataclass(frozen=True, slots=True)
class UniversalPin:
    """A pinned package and the environments it applies to (None: all)."""

    package: ResolvedPackage
    marker: str | None


@dataclass(slots=True)
class _Merged:
    """One (name, version, source) and the grid cells that chose it."""

    first: ResolvedPackage
    members: set[tuple[int, int]] = field(default_factory=set)
    files: dict[str, DistFile] = field(default_factory=dict)
    requested_by: dict[str, None] = field(default_factory=dict)


def merge_universal(
    grid: Sequence[Sequence[Resolution]], pythons: Sequence[int]
) -> list[UniversalPin]:
    """Merge ``grid[platform][python]`` resolutions; ``pythons`` are the grid's minors
    (3.x), ascending; each row resolves the same platform for each of them."""
    if not grid or any(len(row) != len(pythons) for row in grid):
        raise ClocheError("a universal resolution needs one resolution per platform and Python")
    platforms = TargetMarkers(
        [row[0].target.platform for row in grid], [row[0].target.markers for row in grid]
    )
    merged: dict[tuple[str, str, str], _Merged] = {}
    for p, row in enumerate(grid):
        for y, resolution in enumerate(row):
            for pkg in resolution.packages:
                key = (pkg.name, str(pkg.version), pkg.direct_url or "")
                entry = merged.setdefault(key, _Merged(pkg))
                entry.members.add((p, y))
                for dist in (*pkg.files, *((pkg.chosen,) if pkg.chosen else ())):
                    entry.files.setdefault(dist.filename, dist)
                entry.requested_by.update(dict.fromkeys(pkg.requested_by))
    pins = [
        UniversalPin(
            replace(
                entry.first,
                files=tuple(entry.files[name] for name in sorted(entry.files)),
                requested_by=tuple(entry.requested_by),
            ),
            _marker(entry.members, platforms, pythons),
        )
        for entry in merged.values()
    ]
    return sorted(pins, key=lambda pin: (pin.package.name, pin.package.version))


def _marker(
    members: set[tuple[int, int]], platforms: TargetMarkers, pythons: Sequence[int]
) -> str | None:
    """True on exactly ``members`` of the grid: platforms grouped by their Python range."""
    by_python: dict[str | None, list[int]] = {}
    for p in range(len(platforms.labels)):
        present = [y for y in range(len(pythons)) if (p, y) in members]
        if present:
            by_python.setdefault(_python_range(present, pythons), []).append(p)
    if list(by_python) == [None]:
        return _platforms_marker(by_python[None], platforms)
    parts = [_both(platforms.subset(ps), py) for py, ps in by_python.items()]
    if any(part is None for part in parts):
        return None
    if len(parts) == 1:
        return parts[0]
    return " or ".join(sorted(_wrap(part) for part in parts if part is not None))


def _platforms_marker(inside: Sequence[int], platforms: TargetMarkers) -> str | None:
    """``subset``, or ``key != 'value'`` when the other platforms share one value (so a
    platform outside the grid, e.g. FreeBSD, takes the pin as uv's files do)."""
    marker = platforms.subset(inside)
    outside = [p for p in range(len(platforms.labels)) if p not in inside]
    other = platforms.subset(outside) if outside else None
    if other is None or " and " in other or " or " in other:
        return marker
    return other.replace(" == ", " != ", 1)


def _python_range(present: Sequence[int], pythons: Sequence[int]) -> str | None:
    """A marker for the grid's Python minors at ``present`` (indexes, ascending)."""
    if len(present) == len(pythons):
        return None
    runs: list[list[int]] = []
    for y in present:
        if runs and runs[-1][-1] == y - 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    terms = []
    for run in runs:
        low, high = run[0], run[-1]
        bounds = []
        if low > 0:
            bounds.append(f"python_version >= '3.{pythons[low]}'")
        if high < len(pythons) - 1:
            bounds.append(f"python_version < '3.{pythons[high + 1]}'")
        terms.append(" and ".join(bounds))
    if len(terms) == 1:
        return terms[0]
    return " or ".join(_wrap(term) for term in terms)


def _both(left: str | None, right: str | None) -> str | None:
    if left is None or right is None:
        return left if right is None else right
    return f"{_wrap(left)} and {_wrap(right)}"


def _wrap(text: str) -> str:
    return f"({text})" if " or " in text else text
