"""Extract a wheel into an empty directory, refusing anything unsafe or inconsistent.

Every entry is checked before anything is written (names, types), then each file is
streamed out while hashing it, and compared with its RECORD row.
"""

from __future__ import annotations

import base64
import hashlib
import io
import mmap
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file
from installer.utils import SCHEME_NAMES, parse_metadata_file
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from cloche.adapters.store.held import write_all
from cloche.adapters.store.inflate import ERRORS as INFLATE_ERRORS
from cloche.adapters.store.inflate import raw_inflater
from cloche.adapters.store.wheel import MANIFEST_NAME, CorruptWheelError, RecordRow, UnpackedWheel
from cloche.core.models import NormalizedName, normalize

CORRUPT_ARCHIVE: tuple[type[BaseException], ...] = (zipfile.BadZipFile, EOFError, *INFLATE_ERRORS)
"""What reading a damaged zip archive raises."""

_LOCAL_HEADER = struct.Struct("<4s2xH18xHH")
"""A zip local file header: magic, flags, then the name and extra field lengths."""
_LOCAL_MAGIC = b"PK\x03\x04"
_UTF8_FLAG = 0x800
_ENCRYPTED = 0x1
_FAST_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True, slots=True)
class _Member:
    """One zip entry of a wheel and its checked path."""

    info: zipfile.ZipInfo
    path: str
    """Entry name without a trailing slash."""
    is_dir: bool


def _fail(filename: str, problem: str) -> CorruptWheelError:
    return CorruptWheelError(
        f"cannot unpack {filename}: {problem}; the wheel is broken or unsafe and was not used",
        hint="download it again, or report it to the package's maintainers",
    )


def unsafe_name(name: str) -> str | None:
    """Why the zip entry ``name`` cannot be extracted as is; None when it can."""
    path = name.rstrip("/")
    if not path or name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path"
    if "\\" in name or "\x00" in name:
        return "has a backslash or NUL in its name"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "escapes the wheel root or is not a normal path"
    return None


def _check_name(filename: str, info: zipfile.ZipInfo) -> _Member:
    name = info.filename
    is_dir = name.endswith("/")
    path = name.rstrip("/")
    problem = unsafe_name(name)
    if problem is not None:
        raise _fail(filename, f"entry {name!r} {problem}")
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if stat.S_ISLNK(file_type):
        raise _fail(filename, f"entry {name!r} is a symbolic link")
    if file_type and not (stat.S_ISREG(file_type) or stat.S_ISDIR(file_type)):
        raise _fail(filename, f"entry {name!r} is not a regular file")
    return _Member(info, path, is_dir or stat.S_ISDIR(file_type))


def _find_dist_info(filename: str, members: list[_Member], name: NormalizedName) -> str:
    tops = {m.path.split("/", 1)[0] for m in members}
    dist_infos = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(dist_infos) != 1:
        found = ", ".join(dist_infos) or "none"
        raise _fail(filename, f"expected one top-level .dist-info directory, found {found}")
    dist_info = dist_infos[0]
    if normalize(dist_info[: -len(".dist-info")].split("-", 1)[0]) != name:
        raise _fail(filename, f"{dist_info} does not match the wheel's name {name}")
    return dist_info


def _read_record(filename: str, zf: zipfile.ZipFile, dist_info: str) -> dict[str, RecordEntry]:
    record_name = f"{dist_info}/RECORD"
    try:
        text = zf.read(record_name).decode("utf-8")
    except KeyError:
        raise _fail(filename, f"{record_name} is missing") from None
    except UnicodeDecodeError:
        raise _fail(filename, f"{record_name} is not UTF-8 text") from None
    entries: dict[str, RecordEntry] = {}
    try:
        for row in parse_record_file(text.splitlines()):
            entry = RecordEntry.from_elements(*row)
            entries[entry.path] = entry
    except InvalidRecordEntry as exc:
        raise _fail(filename, f"{record_name} is invalid ({exc})") from None
    return entries


def _check_wheel_version(filename: str, zf: zipfile.ZipFile, dist_info: str) -> None:
    try:
        text = zf.read(f"{dist_info}/WHEEL").decode("utf-8")
    except KeyError:
        raise _fail(filename, f"{dist_info}/WHEEL is missing") from None
    except UnicodeDecodeError:
        raise _fail(filename, f"{dist_info}/WHEEL is not UTF-8 text") from None
    version = parse_metadata_file(text).get("Wheel-Version", "")
    if version.split(".", 1)[0] != "1":
        raise _fail(filename, f"unsupported Wheel-Version {version!r} (cloche reads 1.x)")


def _member_data(
    zf: zipfile.ZipFile, view: memoryview, info: zipfile.ZipInfo
) -> memoryview | bytes:
    """The uncompressed bytes of ``info``, read straight from the archive's buffer."""
    if not _direct(info):
        return zf.read(info)
    packed = _packed(view, info)
    return unpack_member(info.filename, packed, info.compress_type, info.file_size)


def _direct(info: zipfile.ZipInfo) -> bool:
    """Whether ``info`` can be read from the buffer without zipfile (stored or deflated)."""
    return not info.flag_bits & _ENCRYPTED and info.compress_type in _FAST_METHODS


def _packed(view: memoryview, info: zipfile.ZipInfo) -> memoryview:
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


PIECE_FROM = 1024 * 1024
"""Members this big are inflated, hashed and written a piece at a time: one buffer of
their whole size would be fresh memory (page faults) and fall out of the CPU cache
between inflating, hashing and writing."""
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


def _check_crc(info: zipfile.ZipInfo, data: memoryview | bytes) -> None:
    if zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 for {info.filename!r}")


def write_file(target: str, data: memoryview | bytes, executable: bool = False) -> None:
    """Create ``target`` (it must not exist) holding ``data``; nothing is left on failure."""
    write_pieces(target, (data,), executable)


def write_pieces(
    target: str, pieces: Iterable[memoryview | bytes], executable: bool = False
) -> None:
    """``write_file`` for content that comes in pieces (an error while they come too)."""
    fd = os.open(target, _CREATE, 0o777 if executable else 0o666)
    try:
        for data in pieces:
            write_all(fd, data)
        if executable:
            _fix_exec_bits(fd)
    except BaseException:
        os.close(fd)
        with suppress(OSError):
            os.unlink(target)  # noqa: PTH108 - string path, as created
        raise
    os.close(fd)


def _fix_exec_bits(fd: int) -> None:
    mode = os.fstat(fd).st_mode & 0o777
    if mode & 0o111 != 0o111:  # a umask that masks x bits: do as installer does
        os.fchmod(fd, mode | 0o111)


def _make_executable(target: str) -> None:
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fchmod(fd, os.fstat(fd).st_mode & 0o777 | 0o111)
    finally:
        os.close(fd)


def _executable(info: zipfile.ZipInfo) -> bool:
    return bool(info.external_attr >> 16 & 0o111)


class _RecordDigests:
    """sha256 (what the manifest keeps) and the RECORD's own algorithm, fed together."""

    __slots__ = ("_ours", "_theirs")

    def __init__(self, algorithm: str) -> None:
        self._ours = hashlib.sha256()
        self._theirs = None if algorithm == "sha256" else hashlib.new(algorithm)

    def update(self, data: memoryview | bytes) -> None:
        self._ours.update(data)
        if self._theirs is not None:
            self._theirs.update(data)

    def digests(self) -> tuple[str, str]:
        """(sha256, RECORD's algorithm), urlsafe base64 without padding."""
        ours = b64(self._ours.digest())
        return ours, ours if self._theirs is None else b64(self._theirs.digest())


def b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def extract_wheel(
    archive: Path, sha256: str, destination: Path, filename: str | None = None
) -> UnpackedWheel:
    """Extract ``archive`` into the empty ``destination`` and return what it holds.

    ``filename`` is the wheel's name where ``archive`` is not named after it. Raises
    CorruptWheelError on any unsafe or inconsistent entry; the caller removes
    ``destination`` then. The returned value's ``path`` is ``destination``.
    """
    in_cache = filename is None
    filename = filename or archive.name
    name, version = _parse_filename(filename)
    try:
        with archive.open("rb") as fh, _mapped(fh) as data, zipfile.ZipFile(fh) as zf:
            return _extract(zf, data, filename, sha256, destination, name, version)
    except CORRUPT_ARCHIVE as exc:
        raise _fail(filename, f"the zip archive is corrupt or truncated ({exc})") from None
    except FileNotFoundError:
        if not in_cache:
            raise
        raise _fail(filename, "the archive is missing from the cache") from None


@dataclass(frozen=True, slots=True)
class Extracted:
    """A member written before its archive was complete (see ``stream.py``)."""

    offset: int
    """Where its local header starts in the archive."""
    compress_size: int
    file_size: int
    sha256: str
    """Urlsafe base64 without padding, as RECORD writes it."""


@dataclass(slots=True)
class Prior:
    """What was extracted into the destination before the archive was whole."""

    files: dict[str, Extracted] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=lambda: {""})
    """Directories made, relative to the destination; "" is the destination itself."""


def make_dir(root: str, path: str, made: set[str]) -> None:
    """Make ``root/path`` (``/``-separated) and its missing parents; ``made`` is what exists."""
    if path in made:
        return
    make_dir(root, path.rpartition("/")[0], made)
    os.mkdir(f"{root}/{path}")  # noqa: PTH102 - one syscall, string paths
    made.add(path)


def extract_wheel_data(
    data: bytes, filename: str, sha256: str, destination: Path, prior: Prior | None = None
) -> UnpackedWheel:
    """Like ``extract_wheel``, for a wheel held in memory (its sha256 already checked).

    Members in ``prior`` are trusted only where the central directory puts them at the
    same offset with the same sizes; any other file ``prior`` wrote is removed.
    """
    name, version = _parse_filename(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _extract(zf, data, filename, sha256, destination, name, version, prior)
    except CORRUPT_ARCHIVE as exc:
        raise _fail(filename, f"the zip archive is corrupt or truncated ({exc})") from None


def _parse_filename(filename: str) -> tuple[NormalizedName, Version]:
    try:
        wheel_name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        raise _fail(filename, "the file name is not a valid wheel name") from None
    return NormalizedName(wheel_name), version


@contextmanager
def _mapped(fh: BinaryIO) -> Iterator[mmap.mmap | bytes]:
    """The whole file, mapped read-only (an empty file, which mmap refuses, as b"")."""
    try:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:
        yield b""
        return
    try:
        yield mapped
    finally:
        with suppress(BufferError):  # a view still held by a traceback; GC closes it
            mapped.close()


def _check_entries(filename: str, zf: zipfile.ZipFile) -> list[_Member]:
    members = [_check_name(filename, info) for info in zf.infolist()]
    seen: set[str] = set()
    for member in members:
        if member.path in seen and not member.is_dir:
            raise _fail(filename, f"entry {member.path!r} appears twice")
        seen.add(member.path)
        if member.path == MANIFEST_NAME:
            raise _fail(filename, f"entry {member.path!r} has a name cloche reserves")
    return members


def _extract(
    zf: zipfile.ZipFile,
    buffer: mmap.mmap | bytes,
    filename: str,
    sha256: str,
    destination: Path,
    name: NormalizedName,
    version: Version,
    prior: Prior | None = None,
) -> UnpackedWheel:
    members = _check_entries(filename, zf)
    dist_info = _find_dist_info(filename, members, name)
    _check_wheel_version(filename, zf, dist_info)
    record = _read_record(filename, zf, dist_info)
    with memoryview(buffer) as view:
        writer = _Writer(filename, zf, view, str(destination), record, dist_info, prior or Prior())
        _write_members(writer, members, sum(m.info.compress_size for m in members))
        writer.drop_strays()
    writer.rows.sort(key=lambda row: row.path)
    return UnpackedWheel(
        path=destination,
        sha256=sha256,
        filename=filename,
        name=name,
        version=version,
        dist_info=dist_info,
        records=tuple(writer.rows),
    )


PARALLEL_BYTES = 4 * 1024 * 1024
"""A wheel with this much compressed data is written by two threads."""


def _write_members(writer: _Writer, members: list[_Member], packed: int) -> None:
    """Write every member; a big wheel on two threads (inflating, hashing and writing
    release the GIL), so the last big wheel of a cold install uses both cores."""
    if packed < PARALLEL_BYTES:
        for member in members:
            writer.add(member)
        return
    for member in members:  # directories first, so the two threads never race to make one
        writer.prepare_dirs(member)
    files = [m for m in members if not m.is_dir]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in pool.map(_add_all, [writer, writer], [files[0::2], files[1::2]]):
            pass


def _add_all(writer: _Writer, members: list[_Member]) -> None:
    for member in members:
        writer.add(member)


class _Writer:
    """Writes the members of one wheel under ``root``, checking each against RECORD."""

    def __init__(
        self,
        filename: str,
        zf: zipfile.ZipFile,
        view: memoryview,
        root: str,
        record: dict[str, RecordEntry],
        dist_info: str,
        prior: Prior,
    ) -> None:
        self.filename = filename
        self.zf = zf
        self.view = view
        self.root = root
        self.record = record
        self.unsigned = {f"{dist_info}/{n}" for n in _SIGNATURES}
        self.data_dir = dist_info[: -len(".dist-info")] + ".data"
        self.prior = dict(prior.files)
        self.made = prior.dirs
        self.rows: list[RecordRow] = []

    def prepare_dirs(self, member: _Member) -> None:
        """Make the directory ``member`` is, or is in."""
        self._mkdir(member.path if member.is_dir else member.path.rpartition("/")[0])

    def add(self, member: _Member) -> None:
        if member.is_dir:
            self._mkdir(member.path)
            return
        path = member.path
        parts = path.split("/")
        if parts[0] == self.data_dir and (len(parts) < 3 or parts[1] not in SCHEME_NAMES):
            raise _fail(self.filename, f"entry {path!r} is not in a known .data scheme")
        entry = self.record.get(path)
        if entry is None and path not in self.unsigned:
            raise _fail(self.filename, f"entry {path!r} is not listed in RECORD")
        algorithm = entry.hash_.name if entry is not None and entry.hash_ is not None else "sha256"
        if entry is not None and entry.hash_ is not None and algorithm in _WEAK_HASHES:
            raise _fail(self.filename, f"RECORD uses the weak hash {algorithm} for {path!r}")
        done = self._written_before(member.info, path)
        if done is not None:
            if path in self.unsigned:
                _check_crc(member.info, self._data(member.info))
            else:
                assert entry is not None
                self._verify_prior(member.info, entry, done, algorithm)
            return
        info = member.info
        unsigned = path in self.unsigned
        self._mkdir(path.rpartition("/")[0])
        if not unsigned and info.file_size >= PIECE_FROM and _direct(info):
            assert entry is not None
            self._write_in_pieces(info, entry, algorithm)
            return
        data = self._data(info)
        if unsigned:
            _check_crc(info, data)
        write_file(f"{self.root}/{path}", data, _executable(info))
        if not unsigned:
            assert entry is not None
            self._verify(info, entry, data, algorithm)

    def _write_in_pieces(self, info: zipfile.ZipInfo, entry: RecordEntry, algorithm: str) -> None:
        hashes = _RecordDigests(algorithm)
        packed = _packed(self.view, info)
        pieces = inflated_pieces(
            info.filename, packed, info.compress_type, info.file_size, hashes.update
        )
        write_pieces(f"{self.root}/{entry.path}", pieces, _executable(info))
        self._check_hashes(info, entry, hashes, info.file_size)

    def _data(self, info: zipfile.ZipInfo) -> memoryview | bytes:
        return _member_data(self.zf, self.view, info)

    def _written_before(self, info: zipfile.ZipInfo, path: str) -> Extracted | None:
        done = self.prior.pop(path, None)
        if done is None:
            return None
        if (done.offset, done.compress_size, done.file_size) != (
            info.header_offset,
            info.compress_size,
            info.file_size,
        ):
            raise zipfile.BadZipFile(f"local header and central directory differ for {path!r}")
        if _executable(info):
            _make_executable(f"{self.root}/{path}")
        return done

    def _verify_prior(
        self, info: zipfile.ZipInfo, entry: RecordEntry, done: Extracted, algorithm: str
    ) -> None:
        if algorithm != "sha256" or entry.hash_ is None:
            self._verify(info, entry, self._data(info), algorithm)
            return
        self._check_row(info, entry, done.sha256, done.sha256, done.file_size)

    def _verify(
        self, info: zipfile.ZipInfo, entry: RecordEntry, data: memoryview | bytes, algorithm: str
    ) -> None:
        hashes = _RecordDigests(algorithm)
        hashes.update(data)
        self._check_hashes(info, entry, hashes, len(data))

    def _check_hashes(
        self, info: zipfile.ZipInfo, entry: RecordEntry, hashes: _RecordDigests, size: int
    ) -> None:
        if entry.hash_ is None:
            raise _fail(self.filename, f"RECORD has no hash for {entry.path!r}")
        ours, theirs = hashes.digests()
        self._check_row(info, entry, ours, theirs, size)

    def _check_row(
        self, info: zipfile.ZipInfo, entry: RecordEntry, ours: str, theirs: str, size: int
    ) -> None:
        path = entry.path
        assert entry.hash_ is not None
        if entry.hash_.value != theirs:
            _check_crc(info, self._data(info))  # a damaged archive is reported as such
            raise _fail(self.filename, f"{path!r} does not match its hash in RECORD")
        if entry.size is not None and entry.size != size:
            raise _fail(self.filename, f"{path!r} does not match its size in RECORD")
        self.rows.append(RecordRow(path, ours, size))

    def drop_strays(self) -> None:
        """Remove files written early for local entries the central directory does not list."""
        for path in self.prior:
            with suppress(FileNotFoundError):
                os.unlink(f"{self.root}/{path}")  # noqa: PTH108 - string path, as created

    def _mkdir(self, path: str) -> None:
        make_dir(self.root, path, self.made)
