"""Finish what a killed install left: put the environment back from its on-disk journal.

A journal (``journal.Journal.begin``) names every file the install was to add and the
backup directory holding what it moved aside. Recovery deletes the added files that
are newer than the journal (a file that was already there and not yet moved aside is
older, and stays), removes the directories left empty, then moves the backup back. The
journal is renamed between the two steps, so a recovery that is itself killed resumes
without deleting what it already restored.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from cloche.adapters.install.journal import (
    JOURNAL_NAME,
    RESTORING_NAME,
    PycIndex,
    move_path,
    sync_directory,
)
from cloche.adapters.install.layout import EnvLayout, env_lock
from cloche.core import notices
from cloche.errors import InstallError


def pending(layout: EnvLayout) -> bool:
    """Whether an install into ``layout`` was interrupted and not yet recovered (two stats)."""
    parent = layout.backup_parent
    return (parent / JOURNAL_NAME).exists() or (parent / RESTORING_NAME).exists()


def recover_pending(layout: EnvLayout) -> bool:
    """Roll back an interrupted install into ``layout``, under the env lock; say so once.

    Returns whether there was one.
    """
    if not pending(layout):
        return False
    with env_lock(layout):
        if not pending(layout):  # another process recovered it meanwhile
            return False
        restored = recover(layout)
    notices.notice(
        f"an earlier cloche was interrupted while changing {layout.data}; "
        f"it is back as it was before ({restored} files put back)"
    )
    return True


def _read(path: Path) -> dict[str, object]:
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InstallError(
            f"cannot read the journal of an interrupted install, {path} ({exc})",
            hint="recreate the environment (cloche venv --clear), then install again",
        ) from None
    if not isinstance(record, dict):
        raise InstallError(f"{path} is not a cloche journal", hint=f"remove {path}")
    return record


def recover(layout: EnvLayout) -> int:
    """Put back the env as it was before the interrupted install; the caller holds the lock.

    Returns how many files or directories were moved back from the backup.
    """
    parent = layout.backup_parent
    journal = parent / JOURNAL_NAME
    restoring = parent / RESTORING_NAME
    if journal.exists():
        record = _read(journal)
        threshold = journal.stat().st_mtime_ns
        _remove_added(_added_paths(record), threshold, layout.roots)
        journal.replace(restoring)
        sync_directory(parent)
    if not restoring.exists():
        return 0
    record = _read(restoring)
    restored = 0
    backup_text = record.get("backup")
    if isinstance(backup_text, str) and os.path.isdir(backup_text):  # noqa: PTH112
        backup = Path(backup_text)
        restored = _restore(backup, Path(str(record.get("anchor") or backup.anchor)))
        shutil.rmtree(backup, ignore_errors=True)
    restoring.unlink()
    sync_directory(parent)
    for stale in parent.glob(f"{JOURNAL_NAME}.*.tmp"):
        stale.unlink(missing_ok=True)
    return restored


def _added_paths(record: dict[str, object]) -> list[str]:
    paths: list[str] = []
    sites = record.get("sites")
    if isinstance(sites, dict):
        for site, relative in sites.items():
            paths.extend(os.path.join(site, path) for path in relative)  # noqa: PTH118
    others = record.get("others")
    if isinstance(others, list):
        paths.extend(map(str, others))
    return paths


def _remove_added(paths: Sequence[str], threshold: int, roots: Sequence[Path]) -> None:
    """Delete each of ``paths`` (and its bytecode) changed since ``threshold``, then the
    directories that leaves empty, up to the scheme directories."""
    pycs = PycIndex()
    parents: set[str] = set()
    for path in paths:
        for victim in [*pycs.pop(Path(path)), Path(path)]:
            try:
                info = victim.lstat()
            except OSError:
                continue
            # A link or a copy made by the install changed its inode after the journal
            # was written (linking updates the ctime); a file that was there before did not.
            if not stat.S_ISDIR(info.st_mode) and info.st_ctime_ns >= threshold:
                victim.unlink()
        parents.add(os.path.dirname(path))  # noqa: PTH120
    _remove_empty(parents, roots)


def _remove_empty(parents: Iterable[str], roots: Sequence[Path]) -> None:
    stops = {os.path.normpath(root) for root in roots}
    inside = tuple(stop + os.sep for stop in stops)
    for directory in sorted(parents, key=lambda p: p.count(os.sep), reverse=True):
        current = os.path.normpath(directory)
        while current.startswith(inside) and current not in stops:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(current, "__pycache__"))  # noqa: PTH106, PTH118
            try:
                os.rmdir(current)  # noqa: PTH106
            except OSError:
                break
            current = os.path.dirname(current)  # noqa: PTH120


def _restore(backup: Path, anchor: Path) -> int:
    restored = 0
    generations = [e.name for e in os.scandir(backup) if e.name.isdigit()]
    for generation in sorted(generations, key=int, reverse=True):
        restored += _merge(backup / generation, anchor)
    return restored


def _merge(source_dir: Path, target_dir: Path) -> int:
    """Move everything under ``source_dir`` to the same place under ``target_dir``."""
    moved = 0
    for entry in os.scandir(source_dir):
        source = Path(entry.path)
        target = target_dir / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            moved += _merge(source, target)
            with contextlib.suppress(OSError):
                source.rmdir()
            continue
        if target.is_symlink() or target.is_file():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        move_path(source, target)
        moved += 1
    return moved
