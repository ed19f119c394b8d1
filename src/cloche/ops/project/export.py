"""``cloche export requirements``: the lock as a requirements.txt pip can install.

Lock markers may test ``extras`` and ``dependency_groups``, which pip does not
know; the export decides those for the chosen groups and extras, and writes for
each line a marker that names the lock's targets (platforms) it is for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
)

from cloche import __version__
from cloche.config import DEFAULT_INDEX_URL
from cloche.core.lock.direct import strip_credentials
from cloche.core.lock.markers import TargetMarkers
from cloche.core.models import normalize
from cloche.core.project.spec import LOCKFILE
from cloche.core.targets import target_for
from cloche.errors import UsageError


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """Which groups and extras to export, and how."""

    groups: tuple[str, ...] = ()
    all_groups: bool = False
    no_default_groups: bool = False
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    hashes: bool = False


def lock_targets(lock: Pylock, fallback: Sequence[str]) -> list[str]:
    table = (lock.tool or {}).get("cloche")
    labels = table.get("targets") if isinstance(table, dict) else None
    if isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels):
        return list(labels)
    return list(fallback)


def render_requirements(
    lock: Pylock,
    lock_dir: Path,
    python: str,
    targets: Sequence[str],
    request: ExportRequest,
    index_urls: Sequence[str] = (),
    lock_file: str = LOCKFILE,
    universe: Sequence[str] = (),
) -> str:
    """requirements.txt text for the lock's selection on every one of ``targets``.

    ``universe``: the project's targets, of which a lock for a build that exists on
    fewer platforms (a CUDA lock: no macOS) covers only ``targets``; its lines then
    carry markers that keep them off the others.
    """
    groups = _chosen(
        request.groups,
        request.all_groups,
        lock.dependency_groups or (),
        () if request.no_default_groups else (lock.default_groups or ()),
        "dependency group",
        lock_file,
    )
    extras = _chosen(request.extras, request.all_extras, lock.extras or (), (), "extra", lock_file)
    labels = [*targets, *(label for label in universe if label not in targets)]
    envs = [dict(target_for(python, label).marker_env) for label in labels]
    markers = TargetMarkers(labels, envs)
    lines = [
        f"# Exported by cloche {__version__} from {lock_file}; do not edit.",
        "# To change it, edit pyproject.toml and run 'cloche export requirements' again.",
    ]
    lines += _index_lines(index_urls)
    for package in sorted(lock.packages, key=lambda p: (p.name, str(p.version or ""))):
        members = [
            i
            for i, env in enumerate(envs[: len(targets)])
            if package.marker is None
            or package.marker.evaluate(
                {**env, "extras": extras, "dependency_groups": groups}, "lock_file"
            )
        ]
        if members:
            lines += _package_lines(package, lock_dir, markers.subset(members), request.hashes)
    return "".join(f"{line}\n" for line in lines)


def _chosen(
    asked: Sequence[str],
    every: bool,
    declared: Sequence[str],
    default: Sequence[str],
    what: str,
    lock_file: str,
) -> frozenset[str]:
    known = {normalize(name) for name in declared}
    if every:
        return frozenset(known)
    chosen = {normalize(name) for name in asked} | {normalize(name) for name in default}
    for name in sorted(chosen - known):
        listed = ", ".join(sorted(known)) or "none"
        raise UsageError(f"{lock_file} does not cover {what} {name!r} (it covers: {listed})")
    return frozenset(chosen)


def _index_lines(index_urls: Sequence[str]) -> list[str]:
    urls = [strip_credentials(url) for url in index_urls]
    if not urls or urls == [DEFAULT_INDEX_URL]:
        return []
    return [f"--index-url {urls[0]}", *(f"--extra-index-url {url}" for url in urls[1:])]


def _local_text(lock_dir: Path, path: Path) -> str:
    """A directory or archive inside the project as ``./relative`` (pip reads it from
    the directory it runs in: the project's, as in a Docker build), anything else as a
    file URL."""
    location = (path if path.is_absolute() else lock_dir / path).resolve()
    try:
        relative = location.relative_to(lock_dir.resolve())
    except ValueError:
        return location.as_uri()
    return "./" + relative.as_posix() if relative.parts else "."


def _package_lines(package: Package, lock_dir: Path, marker: str | None, hashes: bool) -> list[str]:
    suffix = f" ; {marker}" if marker else ""
    directory = package.directory
    if isinstance(directory, PackageDirectory):
        where = _local_text(lock_dir, Path(directory.path))
        return [f"-e {where}{suffix}" if directory.editable else f"{where}{suffix}"]
    if isinstance(package.vcs, PackageVcs):
        vcs = package.vcs
        return [f"{package.name} @ {vcs.type}+{vcs.url}@{vcs.commit_id}{suffix}"]
    digests: list[str] = []
    if isinstance(package.archive, PackageArchive):
        archive = package.archive
        where = archive.url or _local_text(lock_dir, Path(archive.path or "."))
        line = f"{where}{suffix}" if where.startswith(".") else f"{package.name} @ {where}{suffix}"
        digests = _digests([archive])
    else:
        line = f"{package.name}=={package.version}{suffix}"
        files: list[PackageWheel | PackageSdist] = list(package.wheels or ())
        if package.sdist is not None:
            files.append(package.sdist)
        digests = _digests(files)
    if not hashes or not digests:
        return [line]
    return [
        f"{line} \\",
        *(f"    --hash={d} \\" for d in digests[:-1]),
        f"    --hash={digests[-1]}",
    ]


def _digests(files: Sequence[PackageWheel | PackageSdist | PackageArchive]) -> list[str]:
    return sorted(
        {
            f"{algorithm}:{digest}"
            for file in files
            for algorithm, digest in file.hashes.items()
            if algorithm in ("sha256", "sha384", "sha512")
        }
    )
