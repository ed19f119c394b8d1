"""Reading core metadata out of archives: wheels (METADATA) and sdists (PKG-INFO).

The wheel reader takes any seekable binary file, so the same code reads a local
wheel and a remote one seen through HTTP range requests (see ``ranges``).
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import IO

from packaging.utils import canonicalize_name

from cloche.errors import CorruptArchive

_MAX_METADATA = 16 << 20
"""No real METADATA is anywhere near this; a bigger one is a zip bomb."""


def _metadata_member(names: list[str], filename: str) -> str:
    """The top-level ``*.dist-info/METADATA`` of a wheel, preferring the one named like it."""
    found = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if not found:
        raise CorruptArchive(f"{filename} has no .dist-info/METADATA; the wheel is broken")
    project = canonicalize_name(filename.split("-", 1)[0])
    for member in found:
        if canonicalize_name(member.split("/", 1)[0].split("-", 1)[0]) == project:
            return member
    return found[0]


def wheel_metadata(source: IO[bytes] | Path, filename: str) -> bytes:
    """The METADATA bytes of a wheel read from a path or a seekable file object."""
    try:
        with zipfile.ZipFile(source) as zf:
            member = _metadata_member(zf.namelist(), filename)
            if zf.getinfo(member).file_size > _MAX_METADATA:
                raise CorruptArchive(f"{filename}: {member} is implausibly large; refusing it")
            return zf.read(member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise CorruptArchive(f"{filename} is not a valid wheel (zip): {exc}") from None
    except NotImplementedError as exc:
        raise CorruptArchive(f"{filename} uses an unsupported zip feature: {exc}") from None


def sdist_metadata(path: Path, filename: str) -> bytes:
    """The top-level PKG-INFO of an sdist (.tar.gz or .zip)."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                if not names:
                    raise CorruptArchive(f"{filename} has no PKG-INFO; the sdist is broken")
                return zf.read(names[0])
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                    if member.size > _MAX_METADATA:
                        raise CorruptArchive(f"{filename}: PKG-INFO is implausibly large")
                    extracted = tf.extractfile(member)
                    if extracted is not None:
                        return extracted.read()
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CorruptArchive(f"{filename} is not a valid sdist: {exc}") from None
    except OSError as exc:
        raise CorruptArchive(f"cannot read {filename}: {exc.strerror or exc}") from None
    raise CorruptArchive(f"{filename} has no PKG-INFO; the sdist is broken")
