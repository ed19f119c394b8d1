"""The PEP 751 lockfile: resolutions -> ``packaging.pylock.Pylock`` -> pylock.toml.

``build_lock`` merges one resolution per target into one lock whose entries carry
markers for the targets, dependency groups and extras that need them;
``dump_lock`` / ``load_lock`` write and read the file; ``inputs_hash`` /
``is_fresh`` tell whether pyproject.toml changed since the lock was made.
Choosing what to install from a lock lives in ``core.lock_select``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
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
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName as PackagingName
from packaging.version import Version

from cloche.core.lock_direct import ArchiveHash, direct_source, strip_credentials
from cloche.core.lock_markers import DEFAULT, RootSet, TargetMarkers, entry_marker
from cloche.core.lock_select import LockedInstall, select
from cloche.core.models import DistFile, NormalizedName, Resolution, ResolvedPackage, normalize
from cloche.core.project import LOCKFILE, ProjectSpec
from cloche.errors import ClocheError, ProjectError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "LockedInstall",
    "build_lock",
    "dump_lock",
    "inputs_hash",
    "is_fresh",
    "load_lock",
    "lock_inputs_hash",
    "parse_lock",
    "select",
]

CREATED_BY = "cloche"
LOCK_VERSION = Version("1.0")


def inputs_hash(spec: ProjectSpec, index_urls: Sequence[str]) -> str:
    """sha256 of everything in the project that a lock depends on.

    Covers dependencies, extras, groups, requires-python, targets, the Python pin
    and the index URLs (credentials removed); formatting and comments do not count.
    """
    data = {
        "dependencies": _canonical_reqs(spec.dependencies),
        "optional-dependencies": {
            str(k): _canonical_reqs(v) for k, v in sorted(spec.optional_dependencies.items())
        },
        "dependency-groups": {
            str(k): _canonical_reqs(v) for k, v in sorted(spec.dependency_groups.items())
        },
        "default-groups": sorted(spec.default_groups),
        "requires-python": str(spec.requires_python or ""),
        "targets": sorted(spec.targets),
        "python": spec.python or "",
        "index-urls": [strip_credentials(url).rstrip("/") for url in index_urls],
    }
    if spec.sources:  # only when used, so older locks keep their hash
        data["sources"] = {
            str(name): [source.path, source.editable]
            for name, source in sorted(spec.sources.items())
        }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_reqs(reqs: Sequence[Requirement]) -> list[str]:
    """Requirements in a form that ignores spelling, spacing and order."""
    out = []
    for req in reqs:
        text: str = normalize(req.name)
        if req.extras:
            text += "[" + ",".join(sorted(normalize(e) for e in req.extras)) + "]"
        text += str(req.specifier)
        if req.url:
            text += f" @ {req.url}"
        if req.marker is not None:
            text += f"; {req.marker}"
        out.append(text)
    return sorted(out)


def lock_inputs_hash(lock: Pylock) -> str | None:
    """The ``[tool.cloche] inputs-hash`` a lock was written with, if any."""
    table = (lock.tool or {}).get("cloche")
    value = table.get("inputs-hash") if isinstance(table, Mapping) else None
    return value if isinstance(value, str) else None


def is_fresh(lock: Pylock, spec: ProjectSpec, index_urls: Sequence[str]) -> bool:
    """Whether the lock was made from the project's current inputs."""
    return lock_inputs_hash(lock) == inputs_hash(spec, index_urls)


# -- building -----------------------------------------------------------------


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


# -- reading and writing ------------------------------------------------------


def dump_lock(lock: Pylock) -> str:
    """Deterministic pylock.toml text: packages sorted by name, version, marker."""
    data = dict(lock.to_dict())
    try:
        return _plain_toml(data)
    except _NotPlain:
        return _tomlkit_toml(data)


def _tomlkit_toml(data: dict[str, Any]) -> str:
    import tomlkit  # only writers pay for it; `sync` only reads

    doc = tomlkit.document()
    for key, value in data.items():
        if key not in ("packages", "tool"):
            doc.add(key, _toml_value(value))
    packages = tomlkit.aot()
    for package in sorted(data.get("packages", []), key=_dict_order):
        table = tomlkit.table()
        for key, value in package.items():
            table.add(key, _toml_value(value))
        packages.append(table)
    doc.add("packages", packages)
    if "tool" in data:
        doc.add("tool", _toml_table(data["tool"]))
    return tomlkit.dumps(doc)


def _toml_value(value: Any) -> Any:
    """Inline tables, and arrays of inline tables one per line."""
    import tomlkit

    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        for key in sorted(value) if _is_hash_table(value) else value:
            inline.append(key, _toml_value(value[key]))
        return inline
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        for item in value:
            array.append(_toml_value(item))
        if len(value) > 1 or any(isinstance(item, Mapping) for item in value):
            array.multiline(True)
        return array
    if isinstance(value, str) and '"' in value and "'" not in value and "\n" not in value:
        return tomlkit.string(value, literal=True)  # markers read better without escapes
    return value


class _NotPlain(Exception):
    """A value _plain_toml does not write exactly as tomlkit would."""


def _plain_toml(data: Mapping[str, Any]) -> str:
    """The text ``_tomlkit_toml`` writes, for the common shapes of a lock, ten times faster.

    Raises _NotPlain for anything else (odd strings, nested tool tables, no packages).
    """
    packages, tool = data.get("packages"), data.get("tool")
    if not packages or (tool is not None and set(tool) != {"cloche"}):
        raise _NotPlain
    lines = [
        f"{_plain_key(k)} = {_plain(v)}" for k, v in data.items() if k not in ("packages", "tool")
    ]
    for package in sorted(packages, key=_dict_order):
        lines += ["", "[[packages]]"]
        lines += [f"{_plain_key(k)} = {_plain(v)}" for k, v in package.items()]
    if tool is not None:
        cloche = tool["cloche"]
        if not isinstance(cloche, Mapping) or any(isinstance(v, Mapping) for v in cloche.values()):
            raise _NotPlain
        lines += ["", "[tool.cloche]"]
        lines += [f"{_plain_key(k)} = {_plain(v)}" for k, v in cloche.items()]
    return "\n".join(lines) + "\n"


def _plain_key(key: str) -> str:
    if not key or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        raise _NotPlain
    return key


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _plain_string(value)
    if isinstance(value, datetime):
        return _plain_datetime(value)
    if isinstance(value, Mapping):
        keys = sorted(value) if _is_hash_table(value) else list(value)
        if any(isinstance(value[k], list | tuple) for k in keys):
            raise _NotPlain
        return "{" + ", ".join(f"{_plain_key(k)} = {_plain(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        if len(value) > 1 or any(isinstance(item, Mapping) for item in value):
            return "[\n" + "".join(f"    {_plain(item)},\n" for item in value) + "]"
        if any(isinstance(item, list | tuple) for item in value):
            raise _NotPlain
        return "[" + "".join(_plain(item) for item in value) + "]"
    raise _NotPlain


def _plain_string(value: str) -> str:
    if not all(c.isascii() and c.isprintable() for c in value) or "\\" in value:
        raise _NotPlain
    if '"' in value and "'" not in value:
        return f"'{value}'"
    if '"' in value:
        raise _NotPlain
    return f'"{value}"'


def _plain_datetime(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise _NotPlain
    return value.replace(tzinfo=None).isoformat() + "Z"


def _dict_order(package: Mapping[str, Any]) -> tuple[str, Version, str]:
    version = package.get("version")
    return package["name"], Version(version) if version else Version("0"), package.get("marker", "")


def _is_hash_table(value: Mapping[str, Any]) -> bool:
    return all(isinstance(v, str) for v in value.values())


def _toml_table(value: Mapping[str, Any]) -> Any:
    import tomlkit

    table = tomlkit.table(is_super_table=all(isinstance(v, Mapping) for v in value.values()))
    for key, item in value.items():
        table.add(key, _toml_table(item) if isinstance(item, Mapping) else _toml_value(item))
    return table


def parse_lock(text: str, *, source: str = LOCKFILE) -> Pylock:
    """Validate pylock.toml text; errors name ``source`` and the key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{source}: invalid TOML: {exc}") from None
    try:
        return Pylock.from_dict(data)
    except PylockValidationError as exc:
        where = f"{source}: {exc.context}" if exc.context else source
        hint = "run 'cloche lock' to write it again"
        raise ProjectError(f"{where}: {exc.message}", hint=hint) from None


def load_lock(path: Path) -> Pylock:
    """Read and validate a pylock.toml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"no {path.name} in {path.parent}; run 'cloche lock'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from None
    return parse_lock(text, source=path.name)
