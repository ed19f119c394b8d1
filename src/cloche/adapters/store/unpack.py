"""Extract a wheel into an empty directory, refusing anything unsafe or inconsistent.

Every entry is checked before anything is written (names, types: ``checks.py``), then
each file is streamed out while hashing it, and compared with its RECORD row.
"""

from __future__ import annotations

import io
import mmap
import os
import zipfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from installer.records import RecordEntry
from packaging.version import Version

from cloche.adapters.store.checks import (
    Member,
    RecordCheck,
    RecordDigests,
    check_entries,
    check_wheel_version,
    corrupt_wheel,
    find_dist_info,
    parse_filename,
    read_record,
)
from cloche.adapters.store.held import write_all
from cloche.adapters.store.wheel import UnpackedWheel
from cloche.adapters.store.zipread import (
    CORRUPT_ARCHIVE,
    check_crc,
    direct,
    inflated_pieces,
    mapped,
    member_data,
    packed_data,
)
from cloche.core.models import NormalizedName
from cloche.worker_pool import WorkerPool

_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)

PIECE_FROM = 1024 * 1024
"""Members this big are inflated, hashed and written a piece at a time: one buffer of
their whole size would be fresh memory (page faults) and fall out of the CPU cache
between inflating, hashing and writing."""


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
    name, version = parse_filename(filename)
    try:
        with archive.open("rb") as fh, mapped(fh) as data, zipfile.ZipFile(fh) as zf:
            return _extract(zf, data, filename, sha256, destination, name, version)
    except CORRUPT_ARCHIVE as exc:
        raise corrupt_wheel(filename, f"the zip archive is corrupt or truncated ({exc})") from None
    except FileNotFoundError:
        if not in_cache:
            raise
        raise corrupt_wheel(filename, "the archive is missing from the cache") from None


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
    name, version = parse_filename(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _extract(zf, data, filename, sha256, destination, name, version, prior)
    except CORRUPT_ARCHIVE as exc:
        raise corrupt_wheel(filename, f"the zip archive is corrupt or truncated ({exc})") from None


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
    members = check_entries(filename, zf)
    dist_info = find_dist_info(filename, members, name)
    check_wheel_version(filename, zf, dist_info)
    record = read_record(filename, zf, dist_info)
    with memoryview(buffer) as view:
        writer = _Writer(filename, zf, view, str(destination), record, dist_info, prior or Prior())
        _write_members(writer, members, sum(m.info.compress_size for m in members))
        writer.drop_strays()
    rows = writer.checks.rows
    rows.sort(key=lambda row: row.path)
    return UnpackedWheel(
        path=destination,
        sha256=sha256,
        filename=filename,
        name=name,
        version=version,
        dist_info=dist_info,
        records=tuple(rows),
    )


PARALLEL_BYTES = 4 * 1024 * 1024
"""A wheel with this much compressed data is written by two threads."""


def _write_members(writer: _Writer, members: list[Member], packed: int) -> None:
    """Write every member; a big wheel on two threads (inflating, hashing and writing
    release the GIL), so the last big wheel of a cold install uses both cores."""
    if packed < PARALLEL_BYTES:
        for member in members:
            writer.add(member)
        return
    for member in members:  # directories first, so the two threads never race to make one
        writer.prepare_dirs(member)
    files = [m for m in members if not m.is_dir]
    with WorkerPool(2) as pool:
        for _ in pool.map(_add_all, [writer, writer], [files[0::2], files[1::2]]):
            pass


def _add_all(writer: _Writer, members: list[Member]) -> None:
    for member in members:
        writer.add(member)


class _Writer:
    """Writes the members of one wheel under ``root``, each checked by ``checks``."""

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
        self.zf = zf
        self.view = view
        self.root = root
        self.checks = RecordCheck(filename, record, dist_info, self._data)
        self.prior = dict(prior.files)
        self.made = prior.dirs

    def prepare_dirs(self, member: Member) -> None:
        """Make the directory ``member`` is, or is in."""
        self._mkdir(member.path if member.is_dir else member.path.rpartition("/")[0])

    def add(self, member: Member) -> None:
        if member.is_dir:
            self._mkdir(member.path)
            return
        path = member.path
        checks = self.checks
        entry, algorithm = checks.entry(path)
        info = member.info
        unsigned = path in checks.unsigned
        done = self._written_before(info, path)
        if done is not None:
            if unsigned:
                check_crc(info, self._data(info))
            else:
                assert entry is not None
                checks.verify_prior(info, entry, done.sha256, done.file_size, algorithm)
            return
        self._mkdir(path.rpartition("/")[0])
        if not unsigned and info.file_size >= PIECE_FROM and direct(info):
            assert entry is not None
            self._write_in_pieces(info, entry, algorithm)
            return
        data = self._data(info)
        if unsigned:
            check_crc(info, data)
        write_file(f"{self.root}/{path}", data, _executable(info))
        if not unsigned:
            assert entry is not None
            checks.verify(info, entry, data, algorithm)

    def _write_in_pieces(self, info: zipfile.ZipInfo, entry: RecordEntry, algorithm: str) -> None:
        hashes = RecordDigests(algorithm)
        packed = packed_data(self.view, info)
        pieces = inflated_pieces(
            info.filename, packed, info.compress_type, info.file_size, hashes.update
        )
        write_pieces(f"{self.root}/{entry.path}", pieces, _executable(info))
        self.checks.check_hashes(info, entry, hashes, info.file_size)

    def _data(self, info: zipfile.ZipInfo) -> memoryview | bytes:
        return member_data(self.zf, self.view, info)

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

    def drop_strays(self) -> None:
        """Remove files written early for local entries the central directory does not list."""
        for path in self.prior:
            with suppress(FileNotFoundError):
                os.unlink(f"{self.root}/{path}")  # noqa: PTH108 - string path, as created

    def _mkdir(self, path: str) -> None:
        make_dir(self.root, path, self.made)
