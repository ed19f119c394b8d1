"""The undo log of one install: what was moved aside, created, or removed.

Files that an install replaces or removes are moved into a backup directory on the
same filesystem (a rename, no copy); rollback deletes what was created and moves
the backup back. Thread-safe: the linking threads record into it concurrently.

Before the first change, ``begin`` writes the same intent to disk (``journal_file``,
fsync'd): the files the install will add and the backup directory, whose tree
mirrors the absolute paths it holds. A process killed before ``commit`` (kill -9, a
power cut) leaves that file behind, and ``recovery.recover`` puts the env back from
it. Removing the file is the commit point.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from cloche.errors import InstallError

JOURNAL_NAME = ".cloche-journal"
"""Beside the backup directories (``EnvLayout.backup_parent``); ops/stamp.py knows it too."""
RESTORING_NAME = ".cloche-journal-restoring"
"""The journal once a recovery has deleted what the install added: only restoring is left."""
_FORMAT = 1


def journal_file(backup_parent: Path) -> Path:
    return backup_parent / JOURNAL_NAME


def backup_slot(backup: Path, original: Path) -> Path:
    """Where ``original`` goes in ``backup``: its absolute path below a generation directory.

    A path that is taken (the same path stashed twice) goes to the next generation.
    """
    relative = original.relative_to(original.anchor)
    generation = 0
    while True:
        slot = backup / str(generation) / relative
        if not os.path.lexists(slot):
            try:
                slot.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                generation += 1
                continue
            return slot
        generation += 1


def sync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class PycIndex:
    """Bytecode cached for sources (``__pycache__/<stem>.*.pyc``), each directory listed once."""

    def __init__(self) -> None:
        self._dirs: dict[Path, dict[str, list[str]]] = {}

    def pop(self, source: Path) -> list[Path]:
        """The .pyc files of ``source``; forgotten once returned."""
        if source.suffix != ".py":
            return []
        cache = source.parent / "__pycache__"
        stems = self._dirs.get(cache)
        if stems is None:
            stems = {}
            try:
                names = [entry.name for entry in cache.iterdir()]
            except OSError:
                names = []
            for name in names:
                if name.endswith(".pyc"):
                    stems.setdefault(name.split(".", 1)[0], []).append(name)
            self._dirs[cache] = stems
        return [cache / name for name in sorted(stems.pop(source.stem, []))]


def move_path(src: Path, dst: Path) -> None:
    try:
        src.rename(dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(src, dst)


class Journal:
    """Stash, record, then commit or roll back."""

    def __init__(self, backup_parent: Path) -> None:
        self._backup_parent = backup_parent
        self._backup: Path | None = None
        self._lock = threading.Lock()
        self._stashed: list[tuple[Path, Path]] = []
        self._created: list[str] = []
        self._created_set: set[str] = set()
        self._created_dirs: list[str] = []
        self._removed_dirs: list[Path] = []
        self._pycs = PycIndex()
        self._on_disk: Path | None = None
        self._made_parents: list[Path] = []

    def _backup_dir(self) -> Path:
        if self._backup is None:
            self._backup = Path(tempfile.mkdtemp(prefix=".cloche-backup-", dir=self._backup_parent))
        return self._backup

    def begin(self, sites: Mapping[str, Sequence[str]], others: Sequence[str]) -> None:
        """Write the on-disk journal before the first change: what will be added, and where
        what is removed goes. ``sites`` maps a directory to paths relative to it.

        The caller holds the env lock and no journal is pending, so any backup directory
        there is one a killed process left after its commit: deleted here.
        """
        for stale in self._backup_parent.glob(".cloche-backup-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in self._backup_parent.glob(f"{JOURNAL_NAME}.*.tmp"):
            stale.unlink(missing_ok=True)
        missing = [p for p in (self._backup_parent, *self._backup_parent.parents) if not p.exists()]
        self._backup_parent.mkdir(parents=True, exist_ok=True)
        self._made_parents = missing  # deepest first: a rollback removes them again
        backup = self._backup_dir()
        record = {
            "format": _FORMAT,
            "backup": str(backup),
            "anchor": backup.anchor,
            "sites": {site: list(paths) for site, paths in sites.items()},
            "others": list(others),
        }
        path = journal_file(self._backup_parent)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            # dumps, not dump: dump encodes in Python, chunk by chunk (thousands of paths).
            handle.write(json.dumps(record, separators=(",", ":")))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        sync_directory(self._backup_parent)
        self._on_disk = path

    def stash(self, path: Path | str) -> None:
        """Move ``path`` (file, link or directory) aside; a file this install created is deleted."""
        path = Path(path)
        with self._lock:
            if str(path) in self._created_set:
                path.unlink(missing_ok=True)
                return
            # Cached bytecode goes with its source, so a rollback restores both.
            for victim in [*self._pycs.pop(path), path]:
                backup = backup_slot(self._backup_dir(), victim)
                move_path(victim, backup)
                self._stashed.append((victim, backup))

    def created(self, path: Path | str) -> None:
        """``path`` is (about to be) written by this install."""
        self.created_many([os.fspath(path)])

    def created_many(self, paths: list[str]) -> None:
        """Every one of ``paths`` is (about to be) written by this install."""
        with self._lock:
            self._created.extend(paths)
            self._created_set.update(paths)

    def created_dir(self, path: Path | str) -> None:
        self._created_dirs.append(os.fspath(path))

    def removed_dir(self, path: Path) -> None:
        self._removed_dirs.append(path)

    def commit(self) -> None:
        """Forget the undo log and delete the backup (the on-disk journal first: once it
        is gone, the install is done)."""
        if self._on_disk is not None:
            # Not synced: a power cut that undoes this unlink makes the next command roll
            # the install back, which the promise allows (as before, or as after).
            self._on_disk.unlink(missing_ok=True)
            self._on_disk = None
        if self._backup is not None:
            shutil.rmtree(self._backup, ignore_errors=True)
            self._backup = None

    def rollback(self) -> None:
        """Put every path back as it was; raises InstallError if that is impossible."""
        problems: list[str] = []
        pycs = PycIndex()
        for path in map(Path, reversed(self._created)):
            for victim in [*pycs.pop(path), path]:
                try:
                    victim.unlink(missing_ok=True)
                except OSError as exc:
                    problems.append(f"{victim}: {exc.strerror}")
        for parent in {os.path.dirname(path) for path in self._created}:  # noqa: PTH120
            _rmdir_quietly(Path(parent) / "__pycache__")
        by_depth = sorted(map(Path, self._created_dirs), key=lambda p: len(p.parts), reverse=True)
        for directory in by_depth:
            _rmdir_quietly(directory / "__pycache__")
            _rmdir_quietly(directory)
        if self._on_disk is not None:
            # What the install added is gone: a recovery after a kill from here on must
            # only move the backup back (restored files look as new as added ones).
            restoring = self._on_disk.with_name(RESTORING_NAME)
            self._on_disk.replace(restoring)
            sync_directory(restoring.parent)
            self._on_disk = restoring
        for original, backup in reversed(self._stashed):
            try:
                original.parent.mkdir(parents=True, exist_ok=True)
                move_path(backup, original)
            except OSError as exc:
                problems.append(f"{original}: {exc.strerror}")
        for directory in self._removed_dirs:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                problems.append(f"{directory}: {exc.strerror}")
        if problems:
            raise InstallError(
                f"could not restore the environment ({'; '.join(problems[:3])}); "
                f"the files that were replaced are kept in {self._backup}",
                hint="the next cloche command on this environment tries again; "
                "or recreate the environment",
            )
        self.commit()
        for directory in self._made_parents:
            _rmdir_quietly(directory)


def _rmdir_quietly(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()
