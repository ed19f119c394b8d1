"""The PEP 751 lockfile model: resolutions -> ``packaging.pylock.Pylock``.

``build_lock`` merges one resolution per target into one lock whose entries carry
markers for the targets, dependency groups and extras that need them. Writing the
lock is ``core.lock.toml_writer``, reading it ``core.lock.toml_reader``, its
freshness ``core.lock.inputs``, and choosing what to install from it
``core.lock.select``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageSdist,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName as PackagingName
from packaging.version import Version

from cloche.core.lock.direct import ArchiveHash, direct_source, strip_credentials
from cloche.core.lock.inputs import inputs_hash
from cloche.core.lock.markers import DEFAULT, RootSet, TargetMarkers, entry_marker
from cloche.core.models import DistFile, NormalizedName, Resolution, ResolvedPackage, normalize
from cloche.core.project.spec import LOCKFILE, ProjectSpec
from cloche.errors import ClocheError

CREATED_BY = "cloche"
LOCK_VERSION = Version("1.0")


@dataclass(slots=True)
class _Entry:
    """One (name, version, source) across the targets that resolved it."""

    first: ResolvedPackage
    membership: dict[int, frozenset[RootSet]] = field(default_factory=dict)
    files: dict[str, DistFile] = field(default_factory=dict)
    chosen: dict[str, DistFile] = field(default_factory=dict)
    dependencies: set[tuple[NormalizedName, str]] = field(default_factory=set)


def _entry_key(pkg: ResolvedPackage) -> tuple[NormalizedName, str, str]:
    return pkg.name, str(pkg.version), pkg.direct_url or ""


def _root_names(spec: ProjectSpec) -> dict[RootSet, set[NormalizedName]]:
    roots = {DEFAULT: {normalize(r.name) for r in spec.dependencies}}
    for group, reqs in spec.dependency_groups.items():
        roots[RootSet("group", group)] = {normalize(r.name) for r in reqs}
    for extra, reqs in spec.optional_dependencies.items():
        roots[RootSet("extra", extra)] = {normalize(r.name) for r in reqs}
    return roots


def _membership(
    resolution: Resolution, roots: Mapping[RootSet, set[NormalizedName]]
) -> dict[NormalizedName, frozenset[RootSet]]:
    """For each resolved name, the root sets from which it is reachable."""
    graph = resolution.by_name()
    reached: dict[NormalizedName, set[RootSet]] = {name: set() for name in graph}
    for root, names in roots.items():
        stack = [name for name in names if name in graph]
        seen: set[NormalizedName] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            reached[name].add(root)
            stack.extend(dep for dep in graph[name].dependencies if dep in graph)
    # A package no root reaches (the resolver added it some other way) is kept as default.
    return {name: frozenset(sets or {DEFAULT}) for name, sets in reached.items()}


def build_lock(
    spec: ProjectSpec,
    resolutions: Sequence[Resolution],
    index_urls: Sequence[str],
    archive_sha256: ArchiveHash | None = None,
) -> Pylock:
    """Merge one resolution per target into a lock.

    Each resolution is for one target of ``spec.targets`` and was resolved from
    ``requirements_for(spec, all_groups=True, all_extras=True)``; which entries need
    a group or extra marker is worked out from the project's requirement names and
    each package's ``dependencies``. ``archive_sha256`` hashes direct archives whose
    URL gives no hash (without it, such an archive cannot be locked).
    """
    if not resolutions:
        raise ClocheError("cannot write a lock without at least one resolution")
    labels = [r.target.platform or f"target-{i}" for i, r in enumerate(resolutions)]
    markers = TargetMarkers(labels, [r.target.markers for r in resolutions])
    roots = _root_names(spec)
    entries: dict[tuple[NormalizedName, str, str], _Entry] = {}
    for index, resolution in enumerate(resolutions):
        reach = _membership(resolution, roots)
        graph = resolution.by_name()
        for pkg in resolution.packages:
            entry = entries.setdefault(_entry_key(pkg), _Entry(first=pkg))
            entry.membership[index] = reach[pkg.name]
            for dist in pkg.files:
                entry.files.setdefault(dist.filename, dist)
            if pkg.chosen is not None:
                entry.chosen[pkg.chosen.filename] = pkg.chosen
            for dep in pkg.dependencies:
                if dep in graph:
                    entry.dependencies.add((dep, str(graph[dep].version)))
    names_with_many = _ambiguous_names(entries)
    packages = [
        _package(
            spec,
            entry,
            entry_marker(markers, entry.membership),
            index_urls,
            names_with_many,
            archive_sha256,
        )
        for entry in entries.values()
    ]
    lock = Pylock(
        lock_version=LOCK_VERSION,
        environments=sorted({Marker(markers.environment(i)) for i in range(len(labels))}, key=str),
        requires_python=spec.requires_python,
        extras=[PackagingName(e) for e in sorted(spec.optional_dependencies)],
        dependency_groups=sorted(spec.dependency_groups),
        default_groups=list(spec.default_groups),
        created_by=CREATED_BY,
        packages=sorted(packages, key=_package_order),
        tool={"cloche": {"inputs-hash": inputs_hash(spec, index_urls), "targets": labels}},
    )
    try:
        lock.validate()
    except PylockValidationError as exc:
        raise ClocheError(f"cloche built an invalid {LOCKFILE}: {exc}") from None
    return lock


def _ambiguous_names(entries: Mapping[tuple[NormalizedName, str, str], _Entry]) -> set[str]:
    counts: dict[str, int] = {}
    for name, _version, _url in entries:
        counts[name] = counts.get(name, 0) + 1
    return {name for name, count in counts.items() if count > 1}


def _package_order(package: Package) -> tuple[str, Version, str]:
    return package.name, package.version or Version("0"), str(package.marker or "")


def _package(
    spec: ProjectSpec,
    entry: _Entry,
    marker: str | None,
    index_urls: Sequence[str],
    names_with_many: set[str],
    archive_sha256: ArchiveHash | None,
) -> Package:
    pkg = entry.first
    requires_python = pkg.requires_python or next(
        (f.requires_python for f in entry.chosen.values() if f.requires_python), None
    )
    dependencies = [
        {"name": name, "version": version} if name in names_with_many else {"name": name}
        for name, version in sorted(entry.dependencies)
    ]
    common: dict[str, Any] = {
        "name": pkg.name,
        "marker": Marker(marker) if marker else None,
        "requires_python": SpecifierSet(str(requires_python)) if requires_python else None,
        "dependencies": dependencies or None,
    }
    if pkg.direct_url is not None:
        files = list(entry.files.values())
        return Package(**direct_source(spec.root, pkg, files, archive_sha256), **common)
    wheels, sdist = _dist_tables(pkg, entry)
    return Package(
        version=pkg.version,
        index=_project_url(pkg, entry, index_urls),
        wheels=wheels or None,
        sdist=sdist,
        **common,
    )


def _dist_tables(
    pkg: ResolvedPackage, entry: _Entry
) -> tuple[list[PackageWheel], PackageSdist | None]:
    for chosen in entry.chosen.values():
        if not chosen.hashes:
            raise ClocheError(
                f"cannot lock {pkg.name} {pkg.version}: the index lists no hash for "
                f"{chosen.filename}",
                hint="use an index that publishes sha256 hashes",
            )
    # Files without a hash cannot be verified, so they are not offered to installers.
    files = [f for _, f in sorted(entry.files.items()) if f.hashes]
    wheels = [PackageWheel(**_file_fields(f)) for f in files if f.is_wheel]
    sdists = [f for f in files if not f.is_wheel]
    chosen_sdist = [f for f in entry.chosen.values() if not f.is_wheel]
    sdists.sort(key=lambda f: (f not in chosen_sdist, not f.filename.endswith(".tar.gz")))
    sdist = PackageSdist(**_file_fields(sdists[0])) if sdists else None
    if not wheels and sdist is None:
        raise ClocheError(f"cannot lock {pkg.name} {pkg.version}: the index lists no files")
    return wheels, sdist


def _file_fields(dist: DistFile) -> dict[str, Any]:
    url_name = unquote(urlsplit(dist.url).path.rsplit("/", 1)[-1])
    return {
        "name": None if url_name == dist.filename else dist.filename,
        "url": strip_credentials(dist.url),
        "upload_time": _parse_time(dist.upload_time),
        "size": dist.size,
        "hashes": dict(sorted(dist.hashes)),
    }


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _project_url(pkg: ResolvedPackage, entry: _Entry, index_urls: Sequence[str]) -> str | None:
    """The simple-API page of the package on the index it came from (None for find-links)."""
    known = {strip_credentials(u).rstrip("/") for u in index_urls}
    for dist in (*entry.chosen.values(), *entry.files.values()):
        base = strip_credentials(dist.index).rstrip("/")
        if base in known:
            return f"{base}/{pkg.name}/"
    return None
