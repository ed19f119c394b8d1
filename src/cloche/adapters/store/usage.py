"""Disk usage of store entries and their removal without a half-deleted state."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


def disk_usage(paths: Iterable[Path], seen: set[tuple[int, int]]) -> int:
    """Apparent size of every file under ``paths``; an inode already in ``seen`` counts once."""
    total = 0
    for path in paths:
        for directory, _dirs, files in os.walk(path):
            for name in files:
                try:
                    st = os.lstat(os.path.join(directory, name))  # noqa: PTH118 - os.walk is str-based
                except OSError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key not in seen:
                    seen.add(key)
                    total += st.st_size
        if path.is_file() or path.is_symlink():
            st = path.lstat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def remove_entry(path: Path, trash_parent: Path) -> int:
    """Delete ``path`` (file or tree) and return the bytes it held.

    A directory is first renamed into ``trash_parent`` (same filesystem), so other
    processes see it whole or not at all, never half-deleted.
    """
    if not path.exists() and not path.is_symlink():
        return 0
    size = disk_usage([path], set())
    if path.is_dir() and not path.is_symlink():
        trash_parent.mkdir(parents=True, exist_ok=True)
        trash = Path(tempfile.mkdtemp(prefix="trash-", dir=trash_parent))
        path.replace(trash / "entry")
        shutil.rmtree(trash, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return size
