"""Unpack a wheel while it downloads: each member is written as soon as it has arrived.

Zip members come one after the other, each behind a local header that gives its size,
so most of a wheel can be extracted before its last byte (and the central directory)
is in. Nothing written early is trusted: ``finish`` checks the whole archive exactly as
``extract_wheel`` does, reusing an early file only where the central directory agrees
with the local header it came from. Anything unusual stops the early extraction and
leaves the rest to ``finish``.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import threading
import zipfile
from pathlib import Path

from cloche.adapters.store.checks import b64, unsafe_name
from cloche.adapters.store.unpack import Extracted, Prior, extract_wheel_data, make_dir, write_file
from cloche.adapters.store.wheel import MANIFEST_NAME, UnpackedWheel
from cloche.adapters.store.zipread import CORRUPT_ARCHIVE, unpack_member

_NOT_EARLY: tuple[type[BaseException], ...] = (OSError, *CORRUPT_ARCHIVE)
"""A member that fails to write early is left to the final pass, which reports it."""

_HEADER = struct.Struct("<4sHHH4xIIIHH")
"""A zip local file header: magic, version, flags, method, (time), crc, sizes, name and
extra field lengths."""
_MAGIC = b"PK\x03\x04"
_STREAMABLE_FLAGS = 0x800
"""Only the UTF-8 name flag: encryption or a trailing data descriptor stop streaming."""
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_ZIP64 = 0xFFFFFFFF


class WheelStream:
    """Receives one wheel's bytes (``write``) and extracts them into ``destination``."""

    def __init__(self, filename: str, destination: Path, slots: threading.Semaphore) -> None:
        self.filename = filename
        self._slots = slots
        """Held while extracting; when all are taken, bytes just pile up until one is free."""
        self._destination = destination
        self._root = str(destination)
        self._data = bytearray()
        self._pos = 0
        self._streaming = True
        self._prior = Prior()

    def restart(self) -> None:
        """The download starts over: forget (and remove) everything received so far."""
        if self._prior.files or len(self._prior.dirs) > 1:
            for child in self._destination.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        self._data = bytearray()
        self._pos = 0
        self._streaming = True
        self._prior = Prior()

    def write(self, chunk: bytes) -> None:
        self._data += chunk
        if self._streaming and self._slots.acquire(blocking=False):
            try:
                while self._streaming and self._next():
                    pass
            finally:
                self._slots.release()

    def finish(self, sha256: str) -> UnpackedWheel:
        """Check the complete (hash-verified) archive and extract what is left."""
        data = bytes(self._data)
        self._data = bytearray()
        with self._slots:
            return extract_wheel_data(data, self.filename, sha256, self._destination, self._prior)

    def _next(self) -> bool:
        """Extract the member at the read position if it is all here; False to wait."""
        data, pos = self._data, self._pos
        if len(data) < pos + _HEADER.size:
            return False
        magic, _version, flags, method, _crc, packed_size, size, name_len, extra_len = (
            _HEADER.unpack_from(data, pos)
        )
        if (
            magic != _MAGIC
            or flags & ~_STREAMABLE_FLAGS
            or method not in _METHODS
            or _ZIP64 in (packed_size, size)
        ):
            self._streaming = False  # the central directory, or something finish() handles
            return False
        start = pos + _HEADER.size + name_len + extra_len
        end = start + packed_size
        if len(data) < end:
            return False
        raw_name = bytes(data[pos + _HEADER.size : pos + _HEADER.size + name_len])
        self._pos = end
        try:
            name = raw_name.decode("utf-8" if flags & _STREAMABLE_FLAGS else "cp437")
        except UnicodeDecodeError:
            self._streaming = False
            return False
        if not self._extract(pos, name, bytes(data[start:end]), method, size):
            self._streaming = False
        return self._streaming

    def _extract(self, pos: int, name: str, packed: bytes, method: int, size: int) -> bool:
        """Write one member; False (and nothing written) when finish() must handle it."""
        if name.endswith("/"):
            return True  # a directory: finish() makes it
        if unsafe_name(name) or name == MANIFEST_NAME or name in self._prior.files:
            return False
        try:
            data = unpack_member(name, packed, method, size)
            make_dir(self._root, name.rpartition("/")[0], self._prior.dirs)
            write_file(f"{self._root}/{name}", data)
        except _NOT_EARLY:
            return False
        digest = b64(hashlib.sha256(data).digest())
        self._prior.files[name] = Extracted(pos, len(packed), size, digest)
        return True
