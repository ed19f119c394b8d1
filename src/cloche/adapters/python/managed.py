"""Interpreters cloche installed: ``<managed root>/cpython-<version>-<triple>/``.

An install is unpacked in a temporary directory beside the root and renamed into
place whole, so a directory under its final name is always complete; nothing is
left behind when the download, the checksum or the unpacking fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from cloche.adapters.python.downloads import Build, archive_url, open_url
from cloche.errors import CorruptArchive, HashMismatchError

INSTALL_RECORD = "cloche-python.json"
_INSTALL_DIR = re.compile(r"^cpython-(?P<version>[^-]+)-(?P<triple>.+)$")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ManagedPython:
    """One installed interpreter directory."""

    path: Path
    version: Version

    @property
    def executable(self) -> Path:
        for name in ("python3", "python"):
            candidate = self.path / "bin" / name
            if candidate.exists():
                return candidate
        return self.path / "python.exe"


def installed(root: Path) -> list[ManagedPython]:
    """What the managed root holds (by directory name, nothing run), newest first."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    found = []
    for entry in entries:
        match = _INSTALL_DIR.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        try:
            found.append(ManagedPython(Path(entry.path), Version(match.group("version"))))
        except InvalidVersion:
            continue
    return sorted(found, key=lambda m: m.version, reverse=True)


def _download(url: str, into: Path, expected: str) -> Path:
    """``url`` saved in ``into``, its sha256 checked against ``expected``."""
    target = into / "archive.tar.gz"
    digest = hashlib.sha256()
    with open_url(url) as response, target.open("wb") as out:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected:
        raise HashMismatchError(
            f"{url} has sha256 {digest.hexdigest()}, but the release's SHA256SUMS says "
            f"{expected}; refusing it (nothing was installed)"
        )
    return target


def _unpack(archive: Path, into: Path) -> Path:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, filter="data")
            else:  # Python 3.10 before 3.10.12: the same refusals, by hand
                _check_members(tar)
                tar.extractall(into)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CorruptArchive(f"cannot unpack {archive.name}: {exc}") from None
    unpacked = into / "python"
    if not (unpacked / "bin").is_dir() and not (unpacked / "python.exe").is_file():
        raise CorruptArchive(f"{archive.name} has no python/bin (not an install_only build)")
    return unpacked


def _check_members(tar: tarfile.TarFile) -> None:
    for member in tar.getmembers():
        names = [member.name]
        if member.issym():
            names.append(posixpath.join(posixpath.dirname(member.name), member.linkname))
        elif member.islnk():
            names.append(member.linkname)
        for name in names:
            normal = posixpath.normpath(name)
            if posixpath.isabs(name) or normal == ".." or normal.startswith("../"):
                raise CorruptArchive(f"archive member {member.name!r} points outside the archive")
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            raise CorruptArchive(f"archive member {member.name!r} is not a file or directory")


def install(build: Build, mirror: str, root: Path, *, replace: bool = False) -> ManagedPython:
    """Download ``build`` from ``mirror``, check it, and unpack it under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / build.install_name
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        archive = _download(archive_url(mirror, build), staging, build.sha256)
        unpacked = _unpack(archive, staging / "unpacked")
        record = {"tag": build.tag, "archive": build.filename, "sha256": build.sha256}
        (unpacked / INSTALL_RECORD).write_text(json.dumps(record, indent=2) + "\n", "utf-8")
        if final.exists():
            if not replace:
                return ManagedPython(final, build.version)
            _remove_dir(final)
        unpacked.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ManagedPython(final, build.version)


def _remove_dir(path: Path) -> None:
    # Renamed aside first, so the install disappears at once even if the removal stops.
    trash = Path(tempfile.mkdtemp(prefix=".old-", dir=path.parent))
    path.rename(trash / path.name)
    shutil.rmtree(trash, ignore_errors=True)


def uninstall(found: ManagedPython) -> None:
    _remove_dir(found.path)
