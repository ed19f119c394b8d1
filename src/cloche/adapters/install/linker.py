"""Put a store file into an environment: reflink, else hardlink, else copy.

Paths are plain strings: a big install links thousands of files, and pathlib
objects cost more than the system calls.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import threading
from collections.abc import Callable

from cloche.config import LinkMode
from cloche.errors import InstallError

_FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_AUTO_ORDER = (LinkMode.CLONE, LinkMode.HARDLINK, LinkMode.COPY)


def _clone(src: str, dst: str) -> None:
    if sys.platform == "darwin":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.clonefile(os.fsencode(src), os.fsencode(dst), 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(dst))
        return
    if not sys.platform.startswith("linux"):
        raise OSError(errno.EOPNOTSUPP, "reflinks are not supported on this platform", str(dst))
    import fcntl

    with open(src, "rb") as source:
        mode = os.fstat(source.fileno()).st_mode & 0o777
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            fcntl.ioctl(fd, _FICLONE, source.fileno())
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dst)
            raise
        os.close(fd)


def _copy(src: str, dst: str) -> None:
    with open(src, "rb") as source:
        target = open(dst, "xb")  # noqa: SIM115 - closed below, where a full disk may show
        try:
            with target:
                shutil.copyfileobj(source, target, 1024 * 1024)
            shutil.copymode(src, dst)
        except BaseException:
            # Nothing half-written stays behind: the last buffer is written at close.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dst)
            raise


_OPERATIONS: dict[LinkMode, Callable[[str, str], None]] = {
    LinkMode.CLONE: _clone,
    LinkMode.HARDLINK: os.link,
    LinkMode.COPY: _copy,
}


class Linker:
    """Links files in one mode; ``AUTO`` settles on the first mode that works, once."""

    def __init__(self, mode: LinkMode = LinkMode.AUTO) -> None:
        self.requested = mode
        self._mode = mode
        self._lock = threading.Lock()

    @property
    def mode(self) -> LinkMode:
        """The mode in use (AUTO until the first file was placed)."""
        return self._mode

    def operation(self) -> Callable[[str, str], None]:
        """The bare system call of the settled mode, for a hot loop.

        Any OSError it raises goes to ``link``, which settles the mode, falls back and
        explains. Before the mode is settled this is ``link`` itself.
        """
        mode = self._mode
        return self.link if mode is LinkMode.AUTO else _OPERATIONS[mode]

    def link(self, src: str, dst: str) -> None:
        """Create ``dst`` from ``src``; raises FileExistsError when ``dst`` exists."""
        mode = self._mode
        if mode is LinkMode.AUTO:
            with self._lock:
                if self._mode is LinkMode.AUTO:
                    self._mode = self._probe(src, dst)
                    return
                mode = self._mode
        try:
            _OPERATIONS[mode](src, dst)
        except (FileExistsError, FileNotFoundError):
            raise
        except OSError as exc:
            # A file with too many hardlinks (EMLINK) still has to be installed.
            if self.requested is LinkMode.AUTO and mode is not LinkMode.COPY:
                _copy(src, dst)
                return
            raise InstallError(
                f"cannot {mode.value} {src} to {dst}: {exc.strerror or exc}",
                hint=_hint_for(exc, mode),
            ) from None

    def _probe(self, src: str, dst: str) -> LinkMode:
        for mode in _AUTO_ORDER:
            try:
                _OPERATIONS[mode](src, dst)
                return mode
            except (FileExistsError, FileNotFoundError):
                raise
            except OSError:
                if mode is LinkMode.COPY:
                    raise
        raise AssertionError("unreachable: copy either works or raises")


def _hint_for(exc: OSError, mode: LinkMode) -> str | None:
    """What the user can do about a failed link or copy; None when nothing obvious."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space (the environment was left as it was)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "check that you may write to the environment"
    if mode is not LinkMode.COPY:
        return "this filesystem may not support it; try --link-mode copy"
    return None
