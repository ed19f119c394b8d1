"""Values shared across layers: distribution files, metadata, targets, resolutions.

Everything here is a frozen dataclass. Names are always normalized (PEP 503).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, NewType

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version  # imported by packaging.utils anyway

if TYPE_CHECKING:
    # Annotations only: commands on the fast path (venv, a no-op sync) never parse them.
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.tags import Tag

NormalizedName = NewType("NormalizedName", str)


def normalize(name: str) -> NormalizedName:
    """PEP 503 normalized form of a project name."""
    return NormalizedName(canonicalize_name(name))


class FileKind(Enum):
    WHEEL = "wheel"
    SDIST = "sdist"


Hashes = tuple[tuple[str, str], ...]
"""(algorithm, hexdigest) pairs, e.g. (("sha256", "ab12..."),)."""


@dataclass(frozen=True, slots=True)
class DistFile:
    """One downloadable file of one release, as an index or find-links source lists it."""

    name: NormalizedName
    version: Version
    filename: str
    url: str
    """Absolute URL (http(s) or file). Never carries credentials."""
    index: str
    """The index URL or find-links location this file was listed by (no credentials)."""
    hashes: Hashes = ()
    requires_python: SpecifierSet | None = None
    yanked: str | None = None
    """None when not yanked; the reason (possibly "") when yanked (PEP 592)."""
    metadata_hashes: Hashes | None = None
    """PEP 658/714: None when the index does not advertise a ``.metadata`` file."""
    size: int | None = None
    upload_time: str | None = None

    @property
    def kind(self) -> FileKind:
        return FileKind.WHEEL if self.filename.endswith(".whl") else FileKind.SDIST

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def sha256(self) -> str | None:
        return sha256_of(self.hashes)

    @property
    def tags(self) -> frozenset[Tag]:
        """Wheel tags; empty for an sdist."""
        if not self.is_wheel:
            return frozenset()
        return frozenset(parse_wheel_filename(self.filename)[3])


def sha256_of(hashes: Hashes) -> str | None:
    """The sha256 digest among ``hashes``, if there is one."""
    return next((digest for algo, digest in hashes if algo == "sha256"), None)


def wheel_fits(filename: str, tags: Iterable[Tag]) -> bool:
    """Whether the wheel ``filename`` installs where ``tags`` are supported."""
    try:
        wheel_tags = parse_wheel_filename(filename)[3]
    except ValueError:  # InvalidWheelFilename, InvalidVersion
        return False
    return not wheel_tags.isdisjoint(tags)


def parse_dist_filename(filename: str) -> tuple[NormalizedName, Version] | None:
    """Name and version from a wheel or sdist filename; None when it is neither."""
    try:
        if filename.endswith(".whl"):
            fast = _wheel_name_version(filename)
            if fast is not None:
                return fast
            name, version, _build, _tags = parse_wheel_filename(filename)
            return NormalizedName(name), version
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return NormalizedName(name), version
    except ValueError:
        return None
    return None


@functools.cache
def _plain_wheel() -> re.Pattern[str]:
    """A wheel filename less ``.whl``: five dash-separated parts, a normalized name, plain
    tags. Compiled on first use: most commands that import this module read no filename."""
    return re.compile(
        r"(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)-(?P<version>[^-]*)(?:-[A-Za-z0-9_.]+){3}"
    )


def _wheel_name_version(filename: str) -> tuple[NormalizedName, Version] | None:
    """The common, already-normalized wheel filename, parsed with plain string work.

    An index page lists thousands of wheels; packaging's full parser dominated the
    time to read one. Anything unusual (upper case, build tags, odd versions) returns
    None and goes through ``parse_wheel_filename``.
    """
    match = _plain_wheel().fullmatch(filename, 0, len(filename) - 4)
    if match is None:
        return None
    version = _canonical_version(match["version"])
    if version is None:
        return None
    return NormalizedName(match["name"].replace("_", "-")), version


@functools.lru_cache(maxsize=8192)
def _canonical_version(text: str) -> Version | None:
    """``text`` as a Version when it is already in normal form (one release's files share it)."""
    version = valid_version(text)
    return version if version is not None and str(version) == text else None


@functools.lru_cache(maxsize=8192)
def valid_version(text: str) -> Version | None:
    """``Version(text)``, or None where it does not parse; one object per text (a page
    lists the same version in file after file)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


@dataclass(frozen=True, slots=True)
class Metadata:
    """The part of a distribution's core metadata the resolver needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...] = ()
    requires_python: SpecifierSet | None = None
    provides_extras: frozenset[NormalizedName] = frozenset()


@dataclass(frozen=True, slots=True)
class Target:
    """What a resolution is for: a marker environment and the wheel tags it accepts.

    Built from a probed interpreter (``Interpreter.target()``) or from a
    Python version plus a platform name (``core.targets.target_for``).
    """

    python_version: Version
    """Full version, e.g. 3.11.7 (3.11.0 style when only major.minor is known)."""
    marker_env: tuple[tuple[str, str], ...]
    tags: tuple[Tag, ...]
    """Compatible tags, most preferred first (same order as packaging.tags.sys_tags)."""
    platform: str = ""
    """A short label for messages and lock entries: linux, macos, windows, or the host."""

    @property
    def markers(self) -> dict[str, str]:
        return dict(self.marker_env)

    def tag_priority(self) -> Mapping[Tag, int]:
        """Tag -> rank (lower is better)."""
        return {tag: i for i, tag in enumerate(self.tags)}


@dataclass(frozen=True, slots=True)
class Interpreter:
    """A Python interpreter probed once (see adapters.python)."""

    executable: str
    version: Version
    implementation: str
    """sys.implementation.name, e.g. cpython."""
    marker_env: tuple[tuple[str, str], ...]
    tags: tuple[Tag, ...]
    prefix: str
    base_prefix: str
    paths: tuple[tuple[str, str], ...]
    """sysconfig paths of this interpreter's prefix: purelib, platlib, scripts, include, data."""

    @property
    def is_venv(self) -> bool:
        return self.prefix != self.base_prefix

    @property
    def scheme(self) -> dict[str, str]:
        return dict(self.paths)

    def target(self) -> Target:
        return Target(
            python_version=self.version,
            marker_env=self.marker_env,
            tags=self.tags,
            platform=dict(self.marker_env).get("sys_platform", ""),
        )


@dataclass(frozen=True, slots=True)
class UserRequirement:
    """A requirement as the user gave it, with where it came from."""

    requirement: Requirement
    origin: str
    """e.g. "requirements.in:3", "-r requirements.in", "command line", "pyproject.toml"."""
    editable: bool = False
    hashes: Hashes = ()
    """--hash options attached to a requirements-file line."""

    @property
    def name(self) -> NormalizedName:
        return normalize(self.requirement.name)


@dataclass(frozen=True, slots=True)
class ResolvedPackage:
    """One pinned package in a resolution."""

    name: NormalizedName
    version: Version
    files: Sequence[DistFile]
    """Every listed file of this version (for hashes in lockfiles / --generate-hashes);
    may build them when first read."""
    chosen: DistFile | None
    """The file to install on the resolution's target: best wheel, else the sdist.
    None only for a direct-URL/path requirement (see ``direct_url``)."""
    extras: frozenset[NormalizedName] = frozenset()
    dependencies: tuple[NormalizedName, ...] = ()
    """Names this package depends on in the resolution (after markers and extras)."""
    requested_by: tuple[str, ...] = ()
    """Names of packages that depend on this one, and/or user origins such as
    "-r requirements.in" for what the user asked for directly."""
    direct_url: str | None = None
    """For ``name @ url`` / path / VCS requirements: the URL as given (no credentials)."""
    editable: bool = False
    requires_python: SpecifierSet | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """The result of a successful resolve, in a stable (alphabetical) order."""

    target: Target
    packages: tuple[ResolvedPackage, ...] = field(default_factory=tuple)

    def by_name(self) -> dict[NormalizedName, ResolvedPackage]:
        return {p.name: p for p in self.packages}
