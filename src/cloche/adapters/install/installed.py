"""What an environment holds: its ``*.dist-info`` directories."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from installer.records import InvalidRecordEntry, parse_record_file
from installer.utils import parse_metadata_file
from packaging.version import InvalidVersion, Version

from cloche.adapters.install.layout import EnvLayout
from cloche.core.models import NormalizedName, normalize
from cloche.errors import InstallError


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


def record_paths(dist: InstalledDist) -> list[str]:
    """The paths listed in ``dist``'s RECORD, relative to its site-packages directory."""
    record = dist.dist_info / "RECORD"
    text = _read_text(record)
    if text is None:
        raise InstallError(
            f"cannot uninstall {dist}: {record} is missing or unreadable",
            hint=f"reinstall it over itself (cloche pip install --force-reinstall {dist.name})",
        )
    try:
        return [row[0] for row in parse_record_file(text.splitlines()) if row[0]]
    except InvalidRecordEntry as exc:
        raise InstallError(
            f"cannot uninstall {dist}: {record} is invalid ({exc})",
            hint=f"reinstall it over itself (cloche pip install --force-reinstall {dist.name})",
        ) from None


def _top_level(dist_info: Path) -> tuple[str, ...]:
    text = _read_text(dist_info / "RECORD")
    if text is None:
        return ()
    names: set[str] = set()
    try:
        for path, _hash, _size in parse_record_file(text.splitlines()):
            first = path.split("/", 1)[0]
            if first and first not in ("..", dist_info.name) and not first.endswith(".data"):
                names.add(first)
    except InvalidRecordEntry:
        return ()
    return tuple(sorted(names))


def read_dist(dist_info: Path) -> InstalledDist | None:
    """The distribution described by ``dist_info``; None if its METADATA is unusable."""
    text = _read_text(dist_info / "METADATA")
    if text is None:
        return None
    metadata = parse_metadata_file(text)
    name, version = metadata.get("Name"), metadata.get("Version")
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
        requires=tuple(metadata.get_all("Requires-Dist") or ()),
        top_level=_top_level(dist_info),
        display_name=name.strip(),
    )


def installed_distributions(layout: EnvLayout) -> list[InstalledDist]:
    """Every distribution in purelib and platlib, sorted by name (unreadable ones skipped)."""
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
