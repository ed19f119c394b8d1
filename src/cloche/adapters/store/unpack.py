"""Extract a wheel into an empty directory, refusing anything unsafe or inconsistent.

Every entry is checked before anything is written (names, types), then each file is
streamed out while hashing it, and compared with its RECORD row.
"""

from __future__ import annotations

import base64
import hashlib
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file
from installer.utils import SCHEME_NAMES, make_file_executable, parse_metadata_file
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from cloche.adapters.store.wheel import MANIFEST_NAME, RecordRow, UnpackedWheel
from cloche.core.models import NormalizedName, normalize
from cloche.errors import InstallError

_CHUNK = 1024 * 1024
_WHOLE = 8 * 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")


class CorruptWheelError(InstallError):
    """A wheel in the store is broken or unsafe; nothing of it was kept."""


@dataclass(frozen=True, slots=True)
class _Member:
    info: zipfile.ZipInfo
    path: str
    """Entry name without a trailing slash."""
    is_dir: bool


def _fail(filename: str, problem: str) -> CorruptWheelError:
    return CorruptWheelError(
        f"cannot unpack {filename}: {problem}; the wheel is broken or unsafe and was not used",
        hint="download it again, or report it to the package's maintainers",
    )


def _check_name(filename: str, info: zipfile.ZipInfo) -> _Member:
    name = info.filename
    is_dir = name.endswith("/")
    path = name.rstrip("/")
    if not path or name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _fail(filename, f"entry {name!r} is an absolute path")
    if "\\" in name or "\x00" in name:
        raise _fail(filename, f"entry {name!r} has a backslash or NUL in its name")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise _fail(filename, f"entry {name!r} escapes the wheel root or is not a normal path")
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


def _extract_file(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, algorithm: str
) -> tuple[str, str, int]:
    """Stream one entry to ``target``; returns (sha256 b64, record-algorithm b64, size)."""
    sha256 = hashlib.sha256()
    other = hashlib.new(algorithm) if algorithm != "sha256" else None
    size = 0
    with zf.open(info) as src, target.open("xb") as dst:
        # Small entries (nearly all of them) in one read: zipfile's default small
        # reads cost a seek and a read syscall each, which dominated unpacking.
        chunk_size = info.file_size if info.file_size <= _WHOLE else _CHUNK
        while chunk := src.read(chunk_size or 1):
            sha256.update(chunk)
            if other is not None:
                other.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    ours = _b64(sha256.digest())
    return ours, (_b64(other.digest()) if other is not None else ours), size


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def extract_wheel(archive: Path, sha256: str, destination: Path) -> UnpackedWheel:
    """Extract ``archive`` into the empty ``destination`` and return what it holds.

    Raises CorruptWheelError on any unsafe or inconsistent entry; the caller removes
    ``destination`` then. The returned value's ``path`` is ``destination``.
    """
    filename = archive.name
    try:
        wheel_name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        raise _fail(filename, "the file name is not a valid wheel name") from None
    try:
        with zipfile.ZipFile(archive) as zf:
            return _extract(zf, filename, sha256, destination, NormalizedName(wheel_name), version)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _fail(filename, f"the zip archive is corrupt or truncated ({exc})") from None
    except FileNotFoundError:
        raise _fail(filename, "the archive is missing from the cache") from None


def _extract(
    zf: zipfile.ZipFile,
    filename: str,
    sha256: str,
    destination: Path,
    name: NormalizedName,
    version: Version,
) -> UnpackedWheel:
    members = [_check_name(filename, info) for info in zf.infolist()]
    seen: set[str] = set()
    for member in members:
        if member.path in seen and not member.is_dir:
            raise _fail(filename, f"entry {member.path!r} appears twice")
        seen.add(member.path)
        if member.path == MANIFEST_NAME:
            raise _fail(filename, f"entry {member.path!r} has a name cloche reserves")
    dist_info = _find_dist_info(filename, members, name)
    _check_wheel_version(filename, zf, dist_info)
    record = _read_record(filename, zf, dist_info)
    unsigned = {f"{dist_info}/{n}" for n in _SIGNATURES}
    data_dir = dist_info[: -len(".dist-info")] + ".data"

    rows: list[RecordRow] = []
    made: set[Path] = set()
    for member in members:
        target = destination.joinpath(*member.path.split("/"))
        if member.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        parts = member.path.split("/")
        if parts[0] == data_dir and (len(parts) < 3 or parts[1] not in SCHEME_NAMES):
            raise _fail(filename, f"entry {member.path!r} is not in a known .data scheme")
        entry = record.get(member.path)
        if entry is None and member.path not in unsigned:
            raise _fail(filename, f"entry {member.path!r} is not listed in RECORD")
        algorithm = entry.hash_.name if entry is not None and entry.hash_ is not None else "sha256"
        if entry is not None and entry.hash_ is not None and algorithm in _WEAK_HASHES:
            raise _fail(filename, f"RECORD uses the weak hash {algorithm} for {member.path!r}")
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        ours, theirs, size = _extract_file(zf, member.info, target, algorithm)
        if member.info.external_attr >> 16 & 0o111:
            make_file_executable(target)
        if member.path in unsigned:
            continue
        assert entry is not None
        if entry.hash_ is None:
            raise _fail(filename, f"RECORD has no hash for {member.path!r}")
        if entry.hash_.value != theirs:
            raise _fail(filename, f"{member.path!r} does not match its hash in RECORD")
        if entry.size is not None and entry.size != size:
            raise _fail(filename, f"{member.path!r} does not match its size in RECORD")
        rows.append(RecordRow(member.path, ours, size))
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
