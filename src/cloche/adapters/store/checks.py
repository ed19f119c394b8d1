"""What a wheel must be before cloche unpacks it, and each member against its RECORD.

Before anything is written: a valid wheel file name, entries that stay under the root
(no absolute paths, ``..``, backslashes or NULs), no links or devices, no duplicate, one
``.dist-info`` named after the wheel, a WHEEL of version 1.x and a readable RECORD.
While writing (``RecordCheck``): every file listed in RECORD, in a known ``.data``
scheme, and matching the hash (no weak one) and size RECORD gives it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file
from installer.utils import SCHEME_NAMES, parse_metadata_file
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from cloche.adapters.store.wheel import MANIFEST_NAME, RecordRow
from cloche.adapters.store.zipread import check_crc
from cloche.core.models import NormalizedName, normalize
from cloche.errors import CorruptWheelError

_DRIVE = re.compile(r"^[A-Za-z]:")
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True, slots=True)
class Member:
    """One zip entry of a wheel and its checked path."""

    info: zipfile.ZipInfo
    path: str
    """Entry name without a trailing slash."""
    is_dir: bool


def corrupt_wheel(filename: str, problem: str) -> CorruptWheelError:
    return CorruptWheelError(
        f"cannot unpack {filename}: {problem}; the wheel is broken or unsafe and was not used",
        hint="download it again, or report it to the package's maintainers",
    )


def parse_filename(filename: str) -> tuple[NormalizedName, Version]:
    try:
        wheel_name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        raise corrupt_wheel(filename, "the file name is not a valid wheel name") from None
    return NormalizedName(wheel_name), version


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


def _check_name(filename: str, info: zipfile.ZipInfo) -> Member:
    name = info.filename
    is_dir = name.endswith("/")
    path = name.rstrip("/")
    problem = unsafe_name(name)
    if problem is not None:
        raise corrupt_wheel(filename, f"entry {name!r} {problem}")
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if stat.S_ISLNK(file_type):
        raise corrupt_wheel(filename, f"entry {name!r} is a symbolic link")
    if file_type and not (stat.S_ISREG(file_type) or stat.S_ISDIR(file_type)):
        raise corrupt_wheel(filename, f"entry {name!r} is not a regular file")
    return Member(info, path, is_dir or stat.S_ISDIR(file_type))


def check_entries(filename: str, zf: zipfile.ZipFile) -> list[Member]:
    members = [_check_name(filename, info) for info in zf.infolist()]
    seen: set[str] = set()
    for member in members:
        if member.path in seen and not member.is_dir:
            raise corrupt_wheel(filename, f"entry {member.path!r} appears twice")
        seen.add(member.path)
        if member.path == MANIFEST_NAME:
            raise corrupt_wheel(filename, f"entry {member.path!r} has a name cloche reserves")
    return members


def find_dist_info(filename: str, members: list[Member], name: NormalizedName) -> str:
    tops = {m.path.split("/", 1)[0] for m in members}
    dist_infos = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(dist_infos) != 1:
        found = ", ".join(dist_infos) or "none"
        raise corrupt_wheel(filename, f"expected one top-level .dist-info directory, found {found}")
    dist_info = dist_infos[0]
    if normalize(dist_info[: -len(".dist-info")].split("-", 1)[0]) != name:
        raise corrupt_wheel(filename, f"{dist_info} does not match the wheel's name {name}")
    return dist_info


def check_wheel_version(filename: str, zf: zipfile.ZipFile, dist_info: str) -> None:
    try:
        text = zf.read(f"{dist_info}/WHEEL").decode("utf-8")
    except KeyError:
        raise corrupt_wheel(filename, f"{dist_info}/WHEEL is missing") from None
    except UnicodeDecodeError:
        raise corrupt_wheel(filename, f"{dist_info}/WHEEL is not UTF-8 text") from None
    version = parse_metadata_file(text).get("Wheel-Version", "")
    if version.split(".", 1)[0] != "1":
        raise corrupt_wheel(filename, f"unsupported Wheel-Version {version!r} (cloche reads 1.x)")


def read_record(filename: str, zf: zipfile.ZipFile, dist_info: str) -> dict[str, RecordEntry]:
    record_name = f"{dist_info}/RECORD"
    try:
        text = zf.read(record_name).decode("utf-8")
    except KeyError:
        raise corrupt_wheel(filename, f"{record_name} is missing") from None
    except UnicodeDecodeError:
        raise corrupt_wheel(filename, f"{record_name} is not UTF-8 text") from None
    entries: dict[str, RecordEntry] = {}
    try:
        for row in parse_record_file(text.splitlines()):
            entry = RecordEntry.from_elements(*row)
            entries[entry.path] = entry
    except InvalidRecordEntry as exc:
        raise corrupt_wheel(filename, f"{record_name} is invalid ({exc})") from None
    return entries


class RecordDigests:
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


class RecordCheck:
    """Checks the members of one wheel against its RECORD; ``rows`` are those that passed."""

    def __init__(
        self,
        filename: str,
        record: dict[str, RecordEntry],
        dist_info: str,
        read: Callable[[zipfile.ZipInfo], memoryview | bytes],
    ) -> None:
        self.filename = filename
        self.record = record
        self.unsigned = {f"{dist_info}/{n}" for n in _SIGNATURES}
        self.data_dir = dist_info[: -len(".dist-info")] + ".data"
        self.rows: list[RecordRow] = []
        self._read = read
        """A member's bytes, to tell a damaged archive from a wrong RECORD."""

    def entry(self, path: str) -> tuple[RecordEntry | None, str]:
        """The RECORD row of the file ``path`` (None for RECORD or its signatures, when
        unlisted) and the algorithm it is hashed with."""
        parts = path.split("/")
        if parts[0] == self.data_dir and (len(parts) < 3 or parts[1] not in SCHEME_NAMES):
            raise corrupt_wheel(self.filename, f"entry {path!r} is not in a known .data scheme")
        entry = self.record.get(path)
        if entry is None and path not in self.unsigned:
            raise corrupt_wheel(self.filename, f"entry {path!r} is not listed in RECORD")
        algorithm = entry.hash_.name if entry is not None and entry.hash_ is not None else "sha256"
        if entry is not None and entry.hash_ is not None and algorithm in _WEAK_HASHES:
            raise corrupt_wheel(
                self.filename, f"RECORD uses the weak hash {algorithm} for {path!r}"
            )
        return entry, algorithm

    def verify_prior(
        self, info: zipfile.ZipInfo, entry: RecordEntry, sha256: str, size: int, algorithm: str
    ) -> None:
        """Check a file written early, whose ``sha256`` and ``size`` were taken then."""
        if algorithm != "sha256" or entry.hash_ is None:
            self.verify(info, entry, self._read(info), algorithm)
            return
        self._check_row(info, entry, sha256, sha256, size)

    def verify(
        self, info: zipfile.ZipInfo, entry: RecordEntry, data: memoryview | bytes, algorithm: str
    ) -> None:
        hashes = RecordDigests(algorithm)
        hashes.update(data)
        self.check_hashes(info, entry, hashes, len(data))

    def check_hashes(
        self, info: zipfile.ZipInfo, entry: RecordEntry, hashes: RecordDigests, size: int
    ) -> None:
        if entry.hash_ is None:
            raise corrupt_wheel(self.filename, f"RECORD has no hash for {entry.path!r}")
        ours, theirs = hashes.digests()
        self._check_row(info, entry, ours, theirs, size)

    def _check_row(
        self, info: zipfile.ZipInfo, entry: RecordEntry, ours: str, theirs: str, size: int
    ) -> None:
        path = entry.path
        assert entry.hash_ is not None
        if entry.hash_.value != theirs:
            check_crc(info, self._read(info))  # a damaged archive is reported as such
            raise corrupt_wheel(self.filename, f"{path!r} does not match its hash in RECORD")
        if entry.size is not None and entry.size != size:
            raise corrupt_wheel(self.filename, f"{path!r} does not match its size in RECORD")
        self.rows.append(RecordRow(path, ours, size))
