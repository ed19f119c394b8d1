"""What to install from a lock on one machine: packages and one file each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast
from urllib.parse import unquote, urlsplit

from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockSelectError,
)
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from cloche.core.models import DistFile, Hashes, NormalizedName, normalize
from cloche.errors import ClocheError, UsageError

if TYPE_CHECKING:
    from packaging.markers import Environment

LockedSource = PackageWheel | PackageSdist | PackageArchive | PackageVcs | PackageDirectory
SourceKind = Literal["wheel", "sdist", "archive", "vcs", "directory"]

_KINDS: tuple[tuple[type[object], SourceKind], ...] = (
    (PackageWheel, "wheel"),
    (PackageSdist, "sdist"),
    (PackageArchive, "archive"),
    (PackageVcs, "vcs"),
    (PackageDirectory, "directory"),
)


@dataclass(frozen=True, slots=True)
class LockedInstall:
    """One package a lock says to install on this machine, and the file or source to use."""

    name: NormalizedName
    version: Version | None
    """None for directory and VCS sources, whose version the lock does not pin."""
    source: LockedSource
    index: str | None
    """The simple-API project page the package came from (e.g. .../simple/numpy/)."""

    @property
    def kind(self) -> SourceKind:
        return next(kind for cls, kind in _KINDS if isinstance(self.source, cls))

    @property
    def editable(self) -> bool:
        return isinstance(self.source, PackageDirectory) and bool(self.source.editable)

    @property
    def hashes(self) -> Hashes:
        """(algorithm, digest) pairs; empty for directory and VCS sources."""
        if isinstance(self.source, PackageVcs | PackageDirectory):
            return ()
        return tuple(sorted(self.source.hashes.items()))

    @property
    def filename(self) -> str | None:
        """The wheel or sdist filename; None for other sources."""
        if isinstance(self.source, PackageWheel | PackageSdist):
            return self.source.filename
        return None

    def location(self, lock_dir: Path) -> str:
        """Where the source is: its URL, or ``path`` made absolute against the lock's directory."""
        url = getattr(self.source, "url", None)
        if isinstance(url, str) and url:
            return url
        path = Path(getattr(self.source, "path", None) or ".")
        return str(path if path.is_absolute() else lock_dir / path)

    def dist_file(self, lock_dir: Path) -> DistFile | None:
        """The wheel or sdist as a DistFile (what the store fetches); None for other sources."""
        filename = self.filename
        if filename is None or self.version is None:
            return None
        location = self.location(lock_dir)
        url = location if "://" in location else Path(location).as_uri()
        source = cast("PackageWheel | PackageSdist", self.source)
        return DistFile(
            name=self.name,
            version=self.version,
            filename=filename,
            url=url,
            index=_index_root(self.index, self.name) or url.rsplit("/", 1)[0] + "/",
            hashes=self.hashes,
            size=source.size,
            upload_time=source.upload_time.isoformat() if source.upload_time else None,
        )


def _index_root(project_url: str | None, name: str) -> str | None:
    if not project_url:
        return None
    base = project_url.rstrip("/")
    tail = unquote(urlsplit(base).path.rsplit("/", 1)[-1])
    return base.rsplit("/", 1)[0] + "/" if canonicalize_name(tail) == name else project_url


def select(
    lock: Pylock,
    marker_env: Mapping[str, str],
    tags: Sequence[Tag],
    *,
    groups: Iterable[str] | None = None,
    extras: Iterable[str] = (),
) -> list[LockedInstall]:
    """The packages (and one file each) to install on the machine described by
    ``marker_env`` (a full PEP 508 environment) and ``tags`` (best first).

    ``groups=None`` means the lock's default-groups. Unknown groups or extras raise
    UsageError; a machine the lock does not cover, or a needed package with no
    file for it, raises ClocheError.
    """
    wanted_extras = sorted({normalize(e) for e in extras})
    wanted_groups = None if groups is None else sorted({normalize(g) for g in groups})
    _check_known(wanted_extras, lock.extras or (), "extra")
    if wanted_groups is not None:
        declared = [*(lock.dependency_groups or ()), *(lock.default_groups or ())]
        _check_known(wanted_groups, declared, "dependency group")
    try:
        chosen = list(
            _fitting_wheels_only(lock, tags).select(
                environment=cast("Environment", dict(marker_env)),
                tags=tags,
                extras=wanted_extras,
                dependency_groups=wanted_groups,
            )
        )
    except PylockSelectError as exc:
        machine = " ".join(
            marker_env.get(key, "?")
            for key in ("sys_platform", "platform_machine", "python_full_version")
        )
        raise ClocheError(
            f"pylock.toml cannot be installed on this machine ({machine}): {exc}",
            hint="run 'cloche lock' with this platform among [tool.cloche] targets",
        ) from None
    return sorted((_install(package, source) for package, source in chosen), key=lambda i: i.name)


def _fitting_wheels_only(lock: Pylock, tags: Sequence[Tag]) -> Pylock:
    """``lock`` with each package's wheels cut to those whose tags this machine supports.

    A lock lists every platform's wheels (hundreds); ``Pylock.select`` parses every
    filename to rank them. Matching the tag strings first leaves it one or two per
    package. A package none of whose wheels fit is left whole, for ``select`` to explain.
    """
    supported = {str(tag) for tag in tags}
    packages = list(lock.packages)
    changed = False
    for index, package in enumerate(packages):
        wheels = package.wheels
        if wheels is None or len(wheels) < 2:
            continue
        kept = [wheel for wheel in wheels if _may_fit(wheel, supported)]
        if kept and len(kept) < len(wheels):
            packages[index] = replace(package, wheels=kept)
            changed = True
    return replace(lock, packages=packages) if changed else lock


def _may_fit(wheel: PackageWheel, supported: set[str]) -> bool:
    """Whether a tag of ``wheel``'s filename is in ``supported``; True when unsure."""
    where = wheel.name or wheel.path or wheel.url or ""
    filename = where.replace("\\", "/").rsplit("/", 1)[-1]
    if "%" in filename:
        filename = unquote(filename)
    parts = filename.removesuffix(".whl").lower().split("-")
    if not filename.endswith(".whl") or len(parts) < 5:
        return True
    pythons, abis, platforms = (part.split(".") for part in parts[-3:])
    return any(
        f"{python}-{abi}-{platform}" in supported
        for python in pythons
        for abi in abis
        for platform in platforms
    )


def _check_known(asked: Sequence[str], declared: Iterable[str], what: str) -> None:
    known = {canonicalize_name(name) for name in declared}
    for name in asked:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise UsageError(f"pylock.toml does not cover {what} {name!r} (it covers: {listed})")


def _install(package: Package, source: LockedSource) -> LockedInstall:
    return LockedInstall(
        name=NormalizedName(package.name),
        version=package.version,
        source=source,
        index=package.index,
    )
