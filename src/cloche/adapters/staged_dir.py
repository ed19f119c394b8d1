"""A directory that appears whole or not at all, however many processes make it at once.

Makers of ``<parent>/<name>`` take the file lock ``<parent>/.<name>.lock``, build in a
staging directory ``<parent>/.<name>.tmp-*`` beside it (same filesystem) and rename
it into place. Whatever sits at the final name was committed by a rename, so a
reader never sees half of it; a maker that died left only a staging directory,
which the next maker (holding the lock, so no one else is building) removes.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cloche.errors import ClocheError

_STAGING = ".tmp-"
_TRASH = ".trash-"


class StagedDirError(ClocheError):
    """A staged directory could not be made, committed or removed."""


def _error(action: str, path: Path, exc: OSError) -> StagedDirError:
    return StagedDirError(f"cannot {action} {path}: {exc.strerror or exc}")


def lock_path(path: Path) -> Path:
    return path.parent / f".{path.name}.lock"


@contextmanager
def held(path: Path, timeout: float = -1) -> Iterator[None]:
    """Hold the inter-process lock of ``path`` (released when the holder dies, too)."""
    from cloche.file_lock import FileLock, LockTimeout

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error("create", path.parent, exc) from None
    lock = FileLock(lock_path(path))
    try:
        lock.acquire(timeout=timeout)
    except LockTimeout:
        raise StagedDirError(
            f"{path} is being made by another process (waited {timeout}s)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def clear_leftovers(path: Path) -> None:
    """Remove staging and trash directories of ``path`` that dead makers left.

    Call only while holding ``held(path)``: then no live maker is using them.
    """
    prefixes = (f".{path.name}{_STAGING}", f".{path.name}{_TRASH}")
    try:
        entries = list(os.scandir(path.parent))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(prefixes):
            shutil.rmtree(entry.path, ignore_errors=True)


def staging(path: Path) -> Path:
    """A new empty directory beside ``path`` to build it in."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{path.name}{_STAGING}", dir=path.parent))
    except OSError as exc:
        raise _error("create a staging directory in", path.parent, exc) from None


def commit(built: Path, path: Path) -> None:
    """Rename the staging directory ``built`` to ``path`` (which must not exist)."""
    try:
        built.rename(path)
    except OSError as exc:
        raise _error("move a finished directory into", path, exc) from None


def discard(path: Path) -> int:
    """Remove ``path`` as one step for readers (rename away, then delete); its bytes.

    Bytes are those of files no other directory links to (a store's hardlinks stay).
    """
    if not path.is_dir() or path.is_symlink():
        return 0
    size = unshared_bytes(path)
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".{path.name}{_TRASH}", dir=path.parent))
        path.rename(trash / "entry")
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise _error("remove", path, exc) from None
    shutil.rmtree(trash, ignore_errors=True)
    return size


def unshared_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` that have no other hardlink."""
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                info = (Path(top) / name).lstat()
            except OSError:
                continue
            if info.st_nlink == 1 and stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
