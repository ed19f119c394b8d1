"""Where the store keeps what, and the helpers every part of it shares.

Layout under the root (other adapters own ``http-v1``, ``metadata-v1``, ``interpreter-v3``)::

    archives-v1/<sha[:2]>/<sha256>/<filename>
    wheels-v1/<sha256>/...             the wheel's tree + .cloche-manifest.json
    built-v1/<key>/<wheel filename>
    origins-v1/...                     which index listed which stored wheel (origins.py)
    tmp/                               staging, same filesystem as the buckets
    locks/<name>.lock

Every entry appears by one rename (file or directory), so readers never see half of one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.errors import CacheError

if TYPE_CHECKING:
    from cloche.file_lock import FileLock

ARCHIVES = "archives-v1"
WHEELS = "wheels-v1"
BUILT = "built-v1"
TMP = "tmp"
LOCKS = "locks"

SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK = 1024 * 1024


def check_sha256(sha256: str) -> str:
    digest = sha256.lower()
    if not SHA256.match(digest):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return digest


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a valid store key: {key!r}")
    return key


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_error(action: str, path: Path, exc: OSError) -> CacheError:
    return CacheError(
        f"cannot {action} {path}: {exc.strerror or exc}",
        hint="check the cache directory's permissions and free space, or set CLOCHE_CACHE_DIR",
    )


def archive_dir(root: Path, sha256: str) -> Path:
    """Where the archive with this (checked) sha256 is kept."""
    return root / ARCHIVES / sha256[:2] / sha256


def store_lock(root: Path, name: str) -> FileLock:
    """An inter-process lock ``<root>/locks/<name>.lock`` (not yet acquired)."""
    from cloche.file_lock import FileLock

    locks = root / LOCKS
    try:
        locks.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cache_error("create", locks, exc) from None
    return FileLock(locks / f"{check_key(name)}.lock")


def copy_into(root: Path, src: Path, dest: Path) -> None:
    """Copy through a temp file on the store's filesystem, then rename into place."""
    tmp_dir = root / TMP
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="copy-", dir=tmp_dir)
    os.close(fd)
    tmp = Path(name)
    try:
        shutil.copyfile(src, tmp)
        tmp.chmod(0o644)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
