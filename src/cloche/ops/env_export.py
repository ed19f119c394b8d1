"""``cloche env export``: a pylock.toml of what an environment holds.

An installed wheel does not say which file it came from. The store does: each
index-listed wheel cloche unpacked has an origin entry (filename, sha256, URL),
and the unpacked tree's manifest has every file's digest. The wheel an installed
distribution came from is the one of its name and version whose METADATA has the
same digest as the installed METADATA (the same inode, when it was linked).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageVcs,
    PackageWheel,
    Pylock,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from cloche import __version__
from cloche.adapters.install import InstalledDist, installed_distributions
from cloche.adapters.store import Store, UnpackedWheel
from cloche.adapters.store.origins import IndexOrigins
from cloche.core.models import Interpreter, parse_dist_filename
from cloche.errors import ClocheError
from cloche.ops.layouts import layout_for


class ExportError(ClocheError):
    """A package of the environment cannot be written to a lock."""


@dataclass(frozen=True, slots=True)
class _Origin:
    """An index file the store holds: its name, digest, URL and size."""

    filename: str
    sha256: str
    url: str
    size: int | None


def _record_digest(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _origins(origins: IndexOrigins, dist: InstalledDist) -> list[_Origin]:
    found = []
    for directory in origins.package_dirs(dist.name):
        for filename in sorted(os.listdir(directory)):  # noqa: PTH208 - names only
            parsed = parse_dist_filename(filename)
            if parsed is None or parsed[1] != dist.version or not filename.endswith(".whl"):
                continue
            try:
                data: Any = json.loads((directory / filename).read_bytes())
                found.append(_Origin(filename, data["sha256"], data["url"], data.get("size")))
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return found


def _same_metadata(dist: InstalledDist, wheel: UnpackedWheel) -> bool:
    installed = dist.dist_info / "METADATA"
    stored = wheel.path / wheel.dist_info / "METADATA"
    try:
        if installed.stat().st_ino == stored.stat().st_ino:
            return True
        digest = _record_digest(installed)
    except OSError:
        return False
    wanted = f"{wheel.dist_info}/METADATA"
    return any(row.path == wanted and row.sha256 == digest for row in wheel.records)


def _wheel_package(dist: InstalledDist, store: Store, origins: IndexOrigins) -> Package:
    for origin in _origins(origins, dist):
        wheel = store.unpacked(origin.sha256)
        if wheel is not None and _same_metadata(dist, wheel):
            file = PackageWheel(
                name=origin.filename,
                url=origin.url,
                size=origin.size,
                hashes={"sha256": origin.sha256},
            )
            return Package(name=_name(dist), version=dist.version, wheels=[file])
    raise ExportError(
        f"cannot export {dist.name} {dist.version}: the cache does not know which index file "
        "it was installed from (installed by another tool, or the cache was cleaned)",
        hint=f"reinstall it with 'cloche pip install -n NAME --reinstall {dist.name}', then export",
    )


def _direct_package(dist: InstalledDist, info: Any) -> Package:
    url = str(info["url"])
    subdirectory = info.get("subdirectory")
    if "dir_info" in info:
        path = unquote(urlparse(url).path)
        editable = bool(info["dir_info"].get("editable", False))
        directory = PackageDirectory(path=path, editable=editable, subdirectory=subdirectory)
        return Package(name=_name(dist), version=dist.version, directory=directory)
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        source = PackageVcs(
            type=vcs["vcs"],
            url=url,
            requested_revision=vcs.get("requested_revision"),
            commit_id=vcs["commit_id"],
            subdirectory=subdirectory,
        )
        return Package(name=_name(dist), version=dist.version, vcs=source)
    archive = info.get("archive_info", {})
    hashes = dict(archive.get("hashes") or {})
    if not hashes and "hash" in archive:
        algorithm, _, value = str(archive["hash"]).partition("=")
        hashes[algorithm] = value
    if not hashes:
        raise ExportError(f"cannot export {dist.name}: installed from {url} without a hash")
    archive_source = PackageArchive(url=url, hashes=hashes, subdirectory=subdirectory)
    return Package(name=_name(dist), version=dist.version, archive=archive_source)


def export_lock(interpreter: Interpreter, store: Store) -> Pylock:
    """A lock listing each distribution of the env with the file it was installed from."""
    origins = store.origins
    packages = []
    for dist in sorted(installed_distributions(layout_for(interpreter)), key=lambda d: d.name):
        info = _direct_url(dist)
        if info is not None:
            packages.append(_direct_package(dist, info))
        else:
            packages.append(_wheel_package(dist, store, origins))
    version = interpreter.version
    return Pylock(
        lock_version=Version("1.0"),
        created_by="cloche",
        requires_python=SpecifierSet(f"=={version.major}.{version.minor}.*"),
        packages=packages,
        tool={"cloche": {"exported-by": __version__}},
    )


def _name(dist: InstalledDist) -> NormalizedName:
    return canonicalize_name(dist.name)


def _direct_url(dist: InstalledDist) -> Any:
    if not dist.direct_url:
        return None
    try:
        return json.loads(dist.direct_url)
    except ValueError:
        return None
