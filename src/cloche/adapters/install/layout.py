"""Where an environment keeps things, and what an install is asked to add."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from packaging.version import Version

from cloche.adapters.install.lock_name import LOCK_NAME


@dataclass(frozen=True, slots=True)
class EnvLayout:
    """An environment's install scheme (built by the caller from ``Interpreter.scheme``)."""

    purelib: Path
    platlib: Path
    scripts: Path
    include: Path
    """Where ``.data/headers`` go, one subdirectory per distribution
    (for a venv, pip uses ``<prefix>/include/site/pythonX.Y``)."""
    data: Path
    """The ``data`` scheme directory; the prefix for a venv."""
    python_executable: Path
    python_version: Version
    lock_file: Path | None = None
    """The install lock (None: ``.cloche-install.lock`` beside site-packages)."""
    work_dir: Path | None = None
    """Where an install keeps what it replaces until it is done; on the filesystem of
    the other paths (None: the directory that holds site-packages)."""

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every directory an install may write under."""
        return (self.purelib, self.platlib, self.scripts, self.include, self.data)

    @property
    def backup_parent(self) -> Path:
        return self.work_dir if self.work_dir is not None else self.purelib.parent


class RecordRowLike(Protocol):
    """A verified file of an unpacked wheel (``store.RecordRow`` fits)."""

    @property
    def path(self) -> str: ...
    @property
    def sha256(self) -> str:
        """Urlsafe base64 digest without padding, as RECORD writes it."""
        ...

    @property
    def size(self) -> int: ...


class UnpackedWheelLike(Protocol):
    """A wheel unpacked in the store (``store.UnpackedWheel`` fits)."""

    @property
    def path(self) -> Path: ...
    @property
    def filename(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> Version: ...
    @property
    def dist_info(self) -> str: ...
    @property
    def records(self) -> Sequence[RecordRowLike]: ...


@dataclass(frozen=True, slots=True)
class InstallRequest:
    """One wheel to install from the store."""

    wheel: UnpackedWheelLike
    requested: bool = False
    """Asked for by the user (writes REQUESTED), not only pulled in as a dependency."""
    direct_url: str | None = None
    """PEP 610 ``direct_url.json`` text, for ``name @ url`` / path installs."""


_held: set[Path] = set()
"""Env locks this process holds: taking one again (recovery while installing) is a no-op."""


def lock_path(layout: EnvLayout) -> Path:
    return layout.lock_file or layout.purelib.parent / LOCK_NAME


def env_lock(
    layout: EnvLayout, on_wait: Callable[[], None] | None = None
) -> AbstractContextManager[None]:
    """Held around ``install`` so two processes never change one env at once.

    ``on_wait`` is called when another process holds the lock, before waiting for it.
    """
    return lock_at(lock_path(layout), on_wait)


@contextmanager
def lock_at(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """The env lock held in the file ``path`` (``env_lock``; ``venv --clear`` before a layout)."""
    if path in _held:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    from cloche.file_lock import FileLock, LockTimeout

    lock = FileLock(path)
    try:
        lock.acquire(timeout=0 if on_wait is not None else -1)
    except LockTimeout:
        assert on_wait is not None
        on_wait()
        lock.acquire()
    _held.add(path)
    try:
        yield
    finally:
        _held.discard(path)
        lock.release()
