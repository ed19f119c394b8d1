"""A remote file seen through HTTP range requests, seekable enough for ``zipfile``.

Reading a wheel's METADATA this way costs the tail (end of central directory,
usually the whole central directory and, as dist-info sits last, often the
METADATA entry itself), and for big wheels one more request.
"""

from __future__ import annotations

import io
from collections.abc import Callable

TAIL_SIZE = 64 << 10
_MIN_FETCH = 32 << 10
_LOOKBEHIND = 128 << 10


class RangeUnavailable(Exception):
    """The server stopped honouring ranges mid-way; the caller falls back to a download."""


class RangeFile(io.RawIOBase):
    """Read-only, seekable bytes of a remote file, fetched in ranges on demand."""

    def __init__(
        self,
        size: int,
        tail: bytes,
        fetch: Callable[[int, int], bytes],
    ) -> None:
        super().__init__()
        self._size = size
        self._fetch = fetch
        """fetch(start, end_inclusive) -> exactly those bytes, or RangeUnavailable."""
        self._segments: list[tuple[int, bytes]] = [(size - len(tail), tail)]
        self._pos = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = self._read_span(self._pos, want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _read_span(self, start: int, length: int) -> bytes:
        end = start + length
        for seg_start, seg in self._segments:
            if seg_start <= start and end <= seg_start + len(seg):
                return seg[start - seg_start : end - seg_start]
        # zipfile's first miss is the central directory; dist-info sits just before it, so
        # reading behind as well usually brings METADATA's local header and data along,
        # saving a round trip. Later misses read ahead (header, then name, then data).
        behind = _LOOKBEHIND if len(self._segments) == 1 else 0
        fetch_start = max(start - behind, 0)
        fetch_end = min(max(end, start + _MIN_FETCH), self._size)
        for seg_start, _seg in self._segments:
            if start < seg_start < fetch_end:
                fetch_end = max(seg_start, end)
        data = self._fetch(fetch_start, fetch_end - 1)
        self.requests += 1
        if len(data) != fetch_end - fetch_start:
            raise RangeUnavailable(f"asked for {fetch_end - fetch_start} bytes, got {len(data)}")
        self._segments.append((fetch_start, data))
        return data[start - fetch_start : end - fetch_start]
