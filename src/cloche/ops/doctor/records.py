"""Reading an installed distribution's RECORD and comparing it with the files on disk.

Every listed file is stat'ed: missing, or a size that differs, is a change. Content
is hashed for the files modified after RECORD was written (an install writes RECORD
last; an edit, even one that keeps the size, moves the file's mtime past it). That
finds hand edits in site-packages while a scan of a 600 MB env (scipy, pandas,
scikit-learn, ...) stays well under a second: hashing every file took 1.5 s there.
A change that also set an old mtime back (``cp -p``) is seen only when its size differs.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from installer.records import InvalidRecordEntry, parse_record_file

from cloche.adapters.install import InstalledDist

HASH_LIMIT = 1 << 20
"""With ``every_file``, files up to this size are hashed whatever their mtime."""


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """What a comparison of RECORD with the disk found."""

    has_record: bool
    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    matching: int = 0


def check_record(dist: InstalledDist, *, every_file: bool = False) -> RecordCheck:
    """Compare ``dist``'s RECORD with its files (``.pyc`` files, rebuilt on import, skipped).

    ``every_file`` hashes every file up to ``HASH_LIMIT`` bytes, not only those
    modified after the install.
    """
    record = dist.dist_info / "RECORD"
    try:
        written = -1 if every_file else record.stat().st_mtime_ns
        text = record.read_text("utf-8")
        rows = list(parse_record_file(text.splitlines()))
    except (OSError, UnicodeDecodeError, InvalidRecordEntry):
        return RecordCheck(has_record=False)
    site = dist.dist_info.parent
    missing: list[str] = []
    changed: list[str] = []
    matching = 0
    for path, hash_text, size_text in rows:
        if not path or path.endswith(".pyc"):
            continue
        state = _file_state(os.path.normpath(site / path), hash_text, size_text, written)
        if state == "missing":
            missing.append(path)
        elif state == "changed":
            changed.append(path)
        elif state == "same":
            matching += 1
    return RecordCheck(True, tuple(missing), tuple(changed), matching)


def record_agreement(dist: InstalledDist) -> int:
    """How many of ``dist``'s RECORD entries match the disk (-1 without a RECORD)."""
    result = check_record(dist, every_file=True)
    return result.matching if result.has_record else -1


def _file_state(path: str, hash_text: str | None, size_text: str | int | None, written: int) -> str:
    """``missing``, ``changed``, ``same`` (hashed and equal) or ``unchecked``.

    ``written``: RECORD's mtime (ns); only files modified later are hashed
    (-1: every file up to ``HASH_LIMIT``)."""
    try:
        stat = Path(path).stat()
    except OSError:
        return "missing"
    size = stat.st_size
    if size_text not in (None, "") and int(size_text) != size:
        return "changed"
    if not hash_text or "=" not in hash_text:
        return "unchecked"
    if (written == -1 and size > HASH_LIMIT) or (written != -1 and stat.st_mtime_ns <= written):
        return "unchecked"
    algorithm, _, expected = hash_text.partition("=")
    try:
        digest = hashlib.new(algorithm, Path(path).read_bytes()).digest()
    except (ValueError, OSError):
        return "unchecked"
    actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return "same" if actual == expected else "changed"
