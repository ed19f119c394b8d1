"""Lock entries for packages that come from a URL, a local path or a VCS.

PEP 751 gives these ``archive``, ``directory`` and ``vcs`` tables instead of
wheels and an sdist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.pylock import PackageArchive, PackageDirectory, PackageVcs

from cloche.core.models import DistFile, ResolvedPackage
from cloche.errors import ClocheError

_VCS_SCHEMES = ("git", "hg", "svn", "bzr")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar", ".tar.xz")
_HASH_NAMES = ("sha256", "sha384", "sha512")


def strip_credentials(url: str) -> str:
    """The URL without ``user:password@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


ArchiveHash = Callable[[str], str]
"""A direct archive URL -> the sha256 of its content (reading or downloading it)."""


def direct_source(
    root: Path,
    pkg: ResolvedPackage,
    files: Sequence[DistFile],
    archive_sha256: ArchiveHash | None = None,
) -> dict[str, Any]:
    """``Package`` keyword arguments (vcs, directory or archive, and version) for a
    package resolved from ``pkg.direct_url``; local paths inside ``root`` are written
    relative to it. An archive whose URL and files carry no hash gets the sha256
    ``archive_sha256`` reports."""
    url = strip_credentials(pkg.direct_url or "")
    scheme = url.split("+", 1)[0] if "+" in url.split("://", 1)[0] else ""
    if scheme in _VCS_SCHEMES:
        return {"vcs": _vcs(pkg, url, scheme)}
    location, fragment = _split_fragment(url)
    local = _local_path(location)
    if local is not None and not location.lower().endswith(_ARCHIVE_SUFFIXES):
        directory = PackageDirectory(
            path=_relative(root, local),
            editable=True if pkg.editable else None,
            subdirectory=fragment.get("subdirectory"),
        )
        return {"directory": directory}
    hashes = {algo: fragment[algo] for algo in _HASH_NAMES if algo in fragment}
    if not hashes:
        hashes = next((dict(sorted(f.hashes)) for f in files if f.hashes), {})
    if not hashes and archive_sha256 is not None:
        hashes = {"sha256": archive_sha256(pkg.direct_url or url)}
    if not hashes:
        raise ClocheError(
            f"cannot lock {pkg.name}: no hash is known for {location}",
            hint="add #sha256=<digest> to the URL",
        )
    archive = PackageArchive(
        url=None if local is not None else location,
        path=_relative(root, local) if local is not None else None,
        hashes=hashes,
        subdirectory=fragment.get("subdirectory"),
    )
    return {"archive": archive, "version": pkg.version}


def _vcs(pkg: ResolvedPackage, url: str, scheme: str) -> PackageVcs:
    location, fragment = _split_fragment(url.split("+", 1)[1])
    parts = urlsplit(location)
    path, revision = parts.path, None
    if "@" in path.rsplit("/", 1)[-1]:
        path, revision = path.rsplit("@", 1)
    if revision is None or len(revision) not in (40, 64) or not _is_hex(revision):
        raise ClocheError(
            f"cannot lock {pkg.name}: {url} is not pinned to a commit",
            hint="add @<full commit hash> to the requirement's URL",
        )
    return PackageVcs(
        type=scheme,
        url=urlunsplit(parts._replace(path=path)),
        requested_revision=revision,
        commit_id=revision,
        subdirectory=fragment.get("subdirectory"),
    )


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text.lower())


def _split_fragment(url: str) -> tuple[str, dict[str, str]]:
    location, _, fragment = url.partition("#")
    pairs = (item.partition("=") for item in fragment.split("&") if item)
    return location, {key: value for key, _, value in pairs}


def _local_path(location: str) -> Path | None:
    if location.startswith("file:"):
        return Path(unquote(urlsplit(location).path))
    if "://" in location:
        return None
    return Path(location)


def _relative(root: Path, path: Path) -> str:
    """A path for the lock: relative to the project (POSIX style) when inside it."""
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.as_posix()
