"""Locked files from a local folder instead of their URL: how ``cloche sync --offline
--find-links DIR`` installs from a bundle. The file must have the locked name, and it
is checked against the lock's sha256 like a download (a mismatch is refused)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cloche.core.models import DistFile

_SUBDIRS = ("", "wheels")
"""A bundle's root holds its files in ``wheels/``; a plain folder holds them itself."""


def local_folders(find_links: Sequence[str]) -> tuple[Path, ...]:
    """The find-links locations that are local directories."""
    folders = []
    for location in find_links:
        lowered = location.lower()
        if "://" in location and not lowered.startswith("file:"):
            continue
        path = Path(location)
        if lowered.startswith("file:"):
            # Only here: the download module pulls in the HTTP client (a sync without
            # find-links must not pay for it).
            from cloche.adapters.index.download import local_path

            path = local_path(location)
        path = path.expanduser()
        if path.is_dir():
            folders.append(path)
    return tuple(folders)


def local_copy(file: DistFile, folders: Sequence[Path]) -> DistFile:
    """``file`` pointing at a same-named file in ``folders``, or ``file`` unchanged."""
    for folder in folders:
        for sub in _SUBDIRS:
            candidate = folder / sub / file.filename
            if candidate.is_file():
                return replace(file, url=candidate.absolute().as_uri())
    return file
