"""Source distributions on disk: their PKG-INFO, and safe unpacking."""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from cloche.core.metadata import is_static_sdist_metadata, parse_core_metadata
from cloche.core.models import Metadata
from cloche.errors import BuildError

_ARCHIVE_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile)


def read_sdist_metadata(sdist: Path) -> Metadata | None:
    """Metadata from an sdist's PKG-INFO when it is static (PEP 643), else None.

    Only PKG-INFO is read from the archive. None means the caller must build:
    Metadata-Version below 2.2, Requires-Dist or Requires-Python marked Dynamic,
    or no top-level PKG-INFO at all.
    """
    try:
        data = _read_pkg_info(sdist)
    except _ARCHIVE_ERRORS as exc:
        raise BuildError(f"cannot read sdist {sdist}: {exc}; the file may be corrupt") from None
    if data is None or not is_static_sdist_metadata(data):
        return None
    return parse_core_metadata(data, source=f"PKG-INFO in {sdist.name}")


def _read_pkg_info(sdist: Path) -> bytes | None:
    if zipfile.is_zipfile(sdist):
        with zipfile.ZipFile(sdist) as zf:
            for info in zf.infolist():
                if _is_top_pkg_info(info.filename):
                    return zf.read(info)
        return None
    with tarfile.open(sdist, "r:*") as tf:
        # Iterating reads member headers in order, so we stop at PKG-INFO without
        # decompressing the rest of the archive.
        for member in tf:
            if member.isfile() and _is_top_pkg_info(member.name):
                fh = tf.extractfile(member)
                return fh.read() if fh is not None else None
    return None


def _is_top_pkg_info(name: str) -> bool:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack a .tar.gz (or other tar) / .zip sdist into ``dest``; return its project directory.

    Refuses, before writing anything, members with absolute paths or ``..`` that
    escape ``dest``, links pointing outside it, members under a link, and devices.
    """
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    unpack = _unpack_zip if zipfile.is_zipfile(sdist) else _unpack_tar
    try:
        names = unpack(sdist, root)
    except _ARCHIVE_ERRORS as exc:
        raise BuildError(f"cannot unpack sdist {sdist}: {exc}; the file may be corrupt") from None
    tops = {parts[0] for parts in (_lexical(_parts(n)) for n in names) if parts}
    if len(tops) != 1 or not (root / next(iter(tops))).is_dir():
        raise BuildError(
            f"{sdist.name} is not a valid sdist: it must hold exactly one top-level "
            f"directory, found {len(tops)} top-level entries"
        )
    return root / tops.pop()


def _parts(name: str) -> list[str]:
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def _lexical(parts: Sequence[str]) -> list[str] | None:
    """``parts`` with ``..`` applied; None when they climb above the start."""
    out: list[str] = []
    for part in parts:
        if part == "..":
            if not out:
                return None
            out.pop()
        elif part not in ("", "."):
            out.append(part)
    return out


def _is_absolute(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).is_absolute() or bool(PureWindowsPath(name).drive)


def _refuse(sdist: Path, member: str, why: str) -> BuildError:
    return BuildError(f"refusing to unpack {sdist.name}: member {member!r} {why}")


def _check_path(sdist: Path, name: str) -> list[str]:
    """The member's path parts below the destination; an error when it would escape."""
    if _is_absolute(name):
        raise _refuse(sdist, name, "has an absolute path")
    parts = _lexical(_parts(name))
    if parts is None:
        raise _refuse(sdist, name, "points outside the destination")
    return parts


def _unpack_tar(sdist: Path, root: Path) -> list[str]:
    with tarfile.open(sdist, "r:*") as tf:
        members = tf.getmembers()
        _check_tar_members(sdist, members)
        if hasattr(tarfile, "data_filter"):
            # Defence in depth: the stdlib filter also resolves links against the disk.
            try:
                tf.extractall(root, members=members, filter="data")
            except tarfile.FilterError as exc:
                name = exc.tarinfo.name if exc.tarinfo is not None else "?"
                raise _refuse(sdist, name, f"is unsafe ({exc})") from None
        else:  # pragma: no cover - Python 3.10 before the security backport
            for member in members:
                member.mode = (member.mode & 0o755) | 0o600
                member.uid, member.gid = os.getuid(), os.getgid()
                member.uname = member.gname = ""
            tf.extractall(root, members=members)
        return [m.name for m in members]


def _check_tar_members(sdist: Path, members: Sequence[tarfile.TarInfo]) -> None:
    links = {"/".join(_parts(m.name)) for m in members if m.issym() or m.islnk()}
    for member in members:
        parts = _check_path(sdist, member.name)
        raw = _parts(member.name)
        if any("/".join(raw[:i]) in links for i in range(1, len(raw))):
            raise _refuse(sdist, member.name, "lies under a link")
        if member.isdev():
            raise _refuse(sdist, member.name, "is a device or FIFO")
        if member.issym() or member.islnk():
            if _is_absolute(member.linkname):
                raise _refuse(sdist, member.name, f"links to the absolute path {member.linkname!r}")
            # A symlink is relative to its directory, a hard link to the archive root.
            base = parts[:-1] if member.issym() else []
            target = _lexical([*base, *_parts(member.linkname)])
            if not target:
                raise _refuse(
                    sdist, member.name, f"links outside the destination ({member.linkname!r})"
                )
        elif not (member.isfile() or member.isdir()):
            raise _refuse(sdist, member.name, "is not a regular file, directory or link")


def _unpack_zip(sdist: Path, root: Path) -> list[str]:
    with zipfile.ZipFile(sdist) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_path(sdist, info.filename)
        for info in infos:
            written = Path(zf.extract(info, root))
            mode = (info.external_attr >> 16) & 0o777
            if not info.is_dir() and mode & 0o111:
                written.chmod(0o755)
        return [info.filename for info in infos]
