"""A downloaded wheel held in memory until it is unpacked, never written to the cache.

On Linux the bytes go into an anonymous in-memory file (``memfd_create``) that an
unpack helper opens and maps through ``/proc``: it reads the parent's pages as they
are, where sending them down a pipe copied them into fresh memory on both sides.
Touching fresh memory costs a page fault per 4 KB (~6 us each on a VM): ~50,000 of
them, a quarter of a second of CPU, for the 100 MB of wheels of a data-science stack.
Elsewhere (or where memfd is refused) the bytes are held in a buffer and sent.
"""

from __future__ import annotations

import io
import os
from pathlib import Path


class HeldArchive:
    """Receives a wheel's bytes (``write``, ``restart``: a download ``Sink``)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._fd = _memory_file()
        self._buffer = io.BytesIO() if self._fd is None else None

    def write(self, chunk: bytes) -> None:
        if self._fd is None:
            assert self._buffer is not None
            self._buffer.write(chunk)
            return
        write_all(self._fd, chunk)

    def restart(self) -> None:
        """Forget what was written: the download starts over."""
        if self._fd is None:
            self._buffer = io.BytesIO()
        else:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)

    @property
    def path(self) -> Path | None:
        """Where another process of this user can open the bytes; None: use ``data``."""
        return None if self._fd is None else Path(f"/proc/{os.getpid()}/fd/{self._fd}")

    def data(self) -> bytes:
        """The bytes received (read back from the in-memory file if there is one)."""
        if self._fd is None:
            assert self._buffer is not None
            return self._buffer.getvalue()  # hands over its buffer: no copy
        size = os.fstat(self._fd).st_size
        return os.pread(self._fd, size, 0)

    def close(self) -> None:
        """Free the memory (a helper's mapping of it stays valid until it unmaps)."""
        fd, self._fd = self._fd, None
        self._buffer = None
        if fd is not None:
            os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may take only part)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _memory_file() -> int | None:
    create = getattr(os, "memfd_create", None)
    if create is None or not Path(f"/proc/{os.getpid()}/fd").is_dir():
        return None
    try:
        fd: int = create("cloche-wheel", os.MFD_CLOEXEC)
    except OSError:  # a kernel or sandbox without memfd
        return None
    return fd
