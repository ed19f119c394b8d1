"""What an environment holds: its ``*.dist-info`` directories."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from cloche.adapters.install.layout import EnvLayout
from cloche.adapters.install.recovery import recover_pending
from cloche.core.headers import first, read_headers
from cloche.core.models import NormalizedName, normalize


@dataclass(frozen=True, slots=True)
class InstalledDist:
    """One installed distribution."""

    name: NormalizedName
    version: Version
    dist_info: Path
    installer: str | None
    """Contents of INSTALLER (``cloche``, ``pip``, ...), None when absent."""
    requested: bool
    direct_url: str | None
    """Text of ``direct_url.json`` (PEP 610), None when absent."""
    requires: tuple[str, ...]
    """Requires-Dist lines as written in METADATA."""
    top_level: tuple[str, ...]
    """First path components of RECORD entries inside site-packages (``numpy``, ``six.py``)."""
    display_name: str = ""
    """The Name field as METADATA spells it."""

    def __str__(self) -> str:
        return f"{self.display_name or self.name} {self.version}"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _listed(dist_info: Path) -> list[str] | None:
    """The paths ``dist_info``'s RECORD lists; None when it is missing, unreadable or invalid."""
    text = _read_text(dist_info / "RECORD")
    if text is None:
        return None
    paths = []
    # PEP 376: CSV rows of path, hash, size (the hash and size may be empty).
    for row in csv.reader(text.splitlines()):
        if len(row) != 3:
            return None
        if row[0]:
            paths.append(row[0].replace("\\", "/"))
    return paths


def record_paths(dist: InstalledDist) -> list[str]:
    """The paths listed in ``dist``'s RECORD, relative to its site-packages directory.

    Without a usable RECORD (an install that was cut short), nothing but the
    ``.dist-info`` directory is known to be the distribution's.
    """
    return _listed(dist.dist_info) or []


def damage(dist: InstalledDist) -> str | None:
    """Why ``dist`` is not wholly installed, or None: its RECORD is missing or invalid, or
    lists files that are gone (bytecode aside, which may be deleted at will)."""
    listed = _listed(dist.dist_info)
    if listed is None:
        return "its RECORD is missing or invalid"
    site = str(dist.dist_info.parent)
    missing = [
        path
        for path in listed
        if not path.endswith(".pyc") and not os.path.lexists(os.path.join(site, path))  # noqa: PTH118
    ]
    if not missing:
        return None
    count = f"{len(missing)} files" if len(missing) > 1 else "a file"
    return f"{count} its RECORD lists {'are' if len(missing) > 1 else 'is'} missing ({missing[0]})"


def _top_level(dist_info: Path) -> tuple[str, ...]:
    names: set[str] = set()
    for path in _listed(dist_info) or ():
        top = path.split("/", 1)[0]
        if top and top not in ("..", dist_info.name) and not top.endswith(".data"):
            names.add(top)
    return tuple(sorted(names))


def read_dist(dist_info: Path) -> InstalledDist | None:
    """The distribution described by ``dist_info``; None if its METADATA is unusable."""
    text = _read_text(dist_info / "METADATA")
    if text is None:
        return None
    metadata = read_headers(text)
    name, version = first(metadata, "Name"), first(metadata, "Version")
    if not name or not version:
        return None
    try:
        parsed_version = Version(version)
    except InvalidVersion:
        return None
    installer = _read_text(dist_info / "INSTALLER")
    return InstalledDist(
        name=normalize(name),
        version=parsed_version,
        dist_info=dist_info,
        installer=installer.strip() if installer is not None else None,
        requested=(dist_info / "REQUESTED").exists(),
        direct_url=_read_text(dist_info / "direct_url.json"),
        requires=tuple(metadata.get("requires-dist", ())),
        top_level=_top_level(dist_info),
        display_name=name.strip(),
    )


def installed_distributions(layout: EnvLayout) -> list[InstalledDist]:
    """Every distribution in purelib and platlib, sorted by name (unreadable ones skipped).

    An install into ``layout`` that was killed is rolled back first.
    """
    recover_pending(layout)
    found: dict[Path, InstalledDist] = {}
    for site in dict.fromkeys([layout.purelib, layout.platlib]):
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info")]
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir():
                continue
            path = Path(entry.path)
            key = path.resolve()
            if key not in found and (dist := read_dist(path)) is not None:
                found[key] = dist
    return sorted(found.values(), key=lambda d: (d.name, d.version))
