"""Zip members read straight from the archive's buffer: local header, stored or
deflated bytes, whole or a piece at a time, and their CRC."""

from __future__ import annotations

import mmap
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO

from cloche.adapters.store.inflate import ERRORS as INFLATE_ERRORS
from cloche.adapters.store.inflate import raw_inflater

CORRUPT_ARCHIVE: tuple[type[BaseException], ...] = (zipfile.BadZipFile, EOFError, *INFLATE_ERRORS)
"""What reading a damaged zip archive raises."""

_LOCAL_HEADER = struct.Struct("<4s2xH18xHH")
"""A zip local file header: magic, flags, then the name and extra field lengths."""
_LOCAL_MAGIC = b"PK\x03\x04"
_UTF8_FLAG = 0x800
_ENCRYPTED = 0x1
_FAST_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def member_data(zf: zipfile.ZipFile, view: memoryview, info: zipfile.ZipInfo) -> memoryview | bytes:
    """The uncompressed bytes of ``info``, read straight from the archive's buffer."""
    if not direct(info):
        return zf.read(info)
    packed = packed_data(view, info)
    return unpack_member(info.filename, packed, info.compress_type, info.file_size)


def direct(info: zipfile.ZipInfo) -> bool:
    """Whether ``info`` can be read from the buffer without zipfile (stored or deflated)."""
    return not info.flag_bits & _ENCRYPTED and info.compress_type in _FAST_METHODS


def packed_data(view: memoryview, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of ``info`` in the archive's buffer, after its local header."""
    offset = info.header_offset
    header = view[offset : offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"truncated local header for {info.orig_filename!r}")
    magic, flags, name_len, extra_len = _LOCAL_HEADER.unpack(header)
    if magic != _LOCAL_MAGIC:
        raise zipfile.BadZipFile(f"bad local header magic for {info.orig_filename!r}")
    name_end = offset + _LOCAL_HEADER.size + name_len
    encoding = "utf-8" if flags & _UTF8_FLAG else "cp437"
    if bytes(view[name_end - name_len : name_end]).decode(encoding) != info.orig_filename:
        raise zipfile.BadZipFile(f"file name in directory and header differ for {info.filename!r}")
    start = name_end + extra_len
    packed = view[start : start + info.compress_size]
    if len(packed) != info.compress_size:
        raise zipfile.BadZipFile(f"{info.filename!r} is cut short")
    return packed


def unpack_member(
    name: str, packed: memoryview | bytes, method: int, size: int
) -> memoryview | bytes:
    """``packed`` stored or deflated; ``size`` bytes, else BadZipFile."""
    if method == zipfile.ZIP_STORED:
        data = packed
    else:
        inflater = raw_inflater()
        data = inflater.decompress(packed, size + 1)
        if not inflater.eof:
            raise zipfile.BadZipFile(f"{name!r} is cut short or too long")
    if len(data) != size:
        raise zipfile.BadZipFile(f"{name!r} does not have its recorded size")
    return data


_PIECE_IN = 256 * 1024
_PIECE_OUT = 4 * 1024 * 1024


def inflated_pieces(
    name: str,
    packed: memoryview,
    method: int,
    size: int,
    seen: Callable[[memoryview | bytes], object],
) -> Iterator[memoryview | bytes]:
    """``packed`` inflated a piece at a time, each passed to ``seen`` first; exactly
    ``size`` bytes in all, else BadZipFile (as ``unpack_member``)."""
    if method == zipfile.ZIP_STORED:
        if len(packed) != size:
            raise zipfile.BadZipFile(f"{name!r} does not have its recorded size")
        for start in range(0, size, _PIECE_OUT):
            chunk = packed[start : start + _PIECE_OUT]
            seen(chunk)
            yield chunk
        return
    inflater = raw_inflater()
    done = position = 0
    tail = b""
    while not inflater.eof:
        if not tail:
            if position >= len(packed):
                raise zipfile.BadZipFile(f"{name!r} is cut short or too long")
            source: memoryview | bytes = packed[position : position + _PIECE_IN]
            position += len(source)
        else:
            source = tail  # what the last call left for want of room: under 256 KB
        piece = inflater.decompress(source, _PIECE_OUT)
        tail = inflater.unconsumed_tail
        done += len(piece)
        if done > size:
            raise zipfile.BadZipFile(f"{name!r} is cut short or too long")
        if piece:
            seen(piece)
            yield piece
    if done != size:
        raise zipfile.BadZipFile(f"{name!r} does not have its recorded size")


def check_crc(info: zipfile.ZipInfo, data: memoryview | bytes) -> None:
    if zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 for {info.filename!r}")


@contextmanager
def mapped(fh: BinaryIO) -> Iterator[mmap.mmap | bytes]:
    """The whole file, mapped read-only (an empty file, which mmap refuses, as b"")."""
    try:
        mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:
        yield b""
        return
    try:
        yield mapping
    finally:
        with suppress(BufferError):  # a view still held by a traceback; GC closes it
            mapping.close()
