"""Reading an installed distribution's RECORD and comparing it with the files on disk.

Every listed file is stat'ed (missing, or a size that differs, is a change). Content
is hashed only for files up to ``HASH_LIMIT`` bytes: that covers every Python source
file (what people edit in site-packages by hand) while keeping a scan of an env
with multi-GB CUDA libraries well under a second; bigger files are checked by size.
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


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """What a comparison of RECORD with the disk found."""

    has_record: bool
    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    matching: int = 0


def check_record(dist: InstalledDist) -> RecordCheck:
    """Compare ``dist``'s RECORD with its files (``.pyc`` files, rebuilt on import, skipped)."""
    try:
        text = (dist.dist_info / "RECORD").read_text("utf-8")
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
        state = _file_state(os.path.normpath(site / path), hash_text, size_text)
        if state == "missing":
            missing.append(path)
        elif state == "changed":
            changed.append(path)
        elif state == "same":
            matching += 1
    return RecordCheck(True, tuple(missing), tuple(changed), matching)


def record_agreement(dist: InstalledDist) -> int:
    """How many of ``dist``'s RECORD entries match the disk (-1 without a RECORD)."""
    result = check_record(dist)
    return result.matching if result.has_record else -1


def _file_state(path: str, hash_text: str | None, size_text: str | int | None) -> str:
    try:
        size = Path(path).stat().st_size
    except OSError:
        return "missing"
    if size_text not in (None, "") and int(size_text) != size:
        return "changed"
    if not hash_text or "=" not in hash_text or size > HASH_LIMIT:
        return "unchecked"
    algorithm, _, expected = hash_text.partition("=")
    try:
        digest = hashlib.new(algorithm, Path(path).read_bytes()).digest()
    except (ValueError, OSError):
        return "unchecked"
    actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return "same" if actual == expected else "changed"
