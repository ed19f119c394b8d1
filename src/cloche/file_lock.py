"""An inter-process lock held on a file: ``flock`` on POSIX, ``msvcrt.locking`` on Windows.

The operating system drops the lock when its holder dies (kill -9 included), so a lock
file left on disk never blocks anyone. Cheap to import on purpose: every command that
changes an environment or the store takes one, and a general-purpose locking library
cost ~10 ms of start-up (its logging, decimal and threading-local machinery).
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from types import TracebackType

_POLL_S = 0.05


class LockTimeout(Exception):
    """The lock is held by someone else and the timeout ran out."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the lock {path} is held by another process")
        self.path = path


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive lock on the file ``path`` (made if missing, never deleted).

    Re-entrant for the object that holds it (``with lock:`` may nest); two objects for
    one path exclude each other, in one process as across processes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fd: int | None = None
        self._depth = 0

    @property
    def is_locked(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float = -1) -> None:
        """Wait for the lock (``timeout`` < 0: for ever; 0: not at all), else LockTimeout."""
        if self._fd is not None:
            self._depth += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if timeout < 0 else time.monotonic() + timeout
        try:
            while not _try_lock(fd):
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeout(self.path)
                time.sleep(_POLL_S)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._depth = fd, 1

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def directory_lock_path(lock_dir: str, directory: str) -> str:
    """The lock file in ``lock_dir`` (the cache's) for ``directory``, which cannot hold
    its own lock: an install target, or a venv while it is made."""
    from cloche.core.digests import sha256_hex

    key = sha256_hex(os.path.realpath(directory).encode())[:16]
    return os.path.join(lock_dir, f"directory-{key}.lock")  # noqa: PTH118
