"""An unpacked wheel in the store, and the manifest that describes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from packaging.version import InvalidVersion, Version

from cloche.core.models import NormalizedName, normalize

MANIFEST_NAME = ".cloche-manifest.json"
"""Written inside ``wheels-v1/<sha256>/`` last, before the directory is renamed into place."""

_MANIFEST_FORMAT = 1


class RecordRow(NamedTuple):
    """One verified file of a wheel: where it is, its digest and size.

    A named tuple rather than a frozen dataclass: a warm install reads thousands of
    them from manifests, and tuples are several times cheaper to make.
    """

    path: str
    """Path relative to the wheel root, ``/``-separated."""
    sha256: str
    """Digest as RECORD writes it: urlsafe base64 without padding (no ``sha256=`` prefix)."""
    size: int


@dataclass(frozen=True, slots=True)
class UnpackedWheel:
    """A wheel unpacked once into ``wheels-v1/<sha256>/``; installs link from ``path``."""

    path: Path
    sha256: str
    filename: str
    name: NormalizedName
    version: Version
    dist_info: str
    """Name of the ``.dist-info`` directory inside the wheel."""
    records: tuple[RecordRow, ...]
    """Every file of the wheel except RECORD and its signatures, verified against RECORD."""


def manifest_json(wheel: UnpackedWheel) -> str:
    """The manifest text stored next to the wheel's tree."""
    data = {
        "format": _MANIFEST_FORMAT,
        "sha256": wheel.sha256,
        "filename": wheel.filename,
        "name": wheel.name,
        "version": str(wheel.version),
        "dist_info": wheel.dist_info,
        "records": [[row.path, row.sha256, row.size] for row in wheel.records],
    }
    return json.dumps(data, separators=(",", ":"))


def read_manifest(directory: Path) -> UnpackedWheel | None:
    """The wheel described by ``directory``'s manifest; None when absent or unreadable."""
    try:
        data: Any = json.loads((directory / MANIFEST_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return parse_manifest(data, directory)


def parse_manifest(data: Any, directory: Path) -> UnpackedWheel | None:
    """The wheel a decoded manifest describes, unpacked in ``directory``; None if malformed."""
    try:
        if data["format"] != _MANIFEST_FORMAT:
            return None
        records = tuple(map(RecordRow._make, data["records"]))
        if {(type(p), type(h), type(n)) for p, h, n in records} - {(str, str, int)}:
            return None
        return UnpackedWheel(
            path=directory,
            sha256=str(data["sha256"]),
            filename=str(data["filename"]),
            name=normalize(str(data["name"])),
            version=Version(str(data["version"])),
            dist_info=str(data["dist_info"]),
            records=records,
        )
    except (ValueError, KeyError, TypeError, InvalidVersion):
        return None
