"""What a caller can ask of one resolve, besides the requirements themselves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from packaging.version import Version

from cloche.core.models import NormalizedName, UserRequirement
from cloche.core.prerelease import PrereleaseMode

ALL = ":all:"
"""Member of ``no_binary`` / ``only_binary`` meaning every package (pip's spelling)."""

DEFAULT_MAX_ROUNDS = 200_000


class FilePolicy(Enum):
    """Which kinds of file a package may be installed from."""

    ANY = "any"
    NO_BINARY = "no-binary"
    ONLY_BINARY = "only-binary"


@dataclass(frozen=True, slots=True)
class ResolveOptions:
    """Knobs of one resolve; the defaults behave like ``pip install``."""

    constraints: tuple[UserRequirement, ...] = ()
    """Limit versions of packages that are otherwise required; never add packages."""
    preferences: tuple[tuple[NormalizedName, Version], ...] = ()
    """Existing pins to keep while they remain allowed (``pip compile`` keeps its output)."""
    upgrade: bool = False
    """Ignore every preference."""
    upgrade_packages: frozenset[NormalizedName] = frozenset()
    """Ignore the preferences of these packages."""
    prerelease: bool = False
    """Allow pre-releases of every package."""
    prerelease_mode: PrereleaseMode | None = None
    """uv's modes; None: pip's rule (see PrereleaseMode)."""
    no_binary: frozenset[str] = frozenset()
    """Normalized names (or ``ALL``) that must be built from the sdist."""
    only_binary: frozenset[str] = frozenset()
    """Normalized names (or ``ALL``) that must come from a wheel."""
    max_rounds: int = DEFAULT_MAX_ROUNDS
    """Give up after this many resolver rounds (each pins or backtracks once)."""
    hashes: tuple[tuple[NormalizedName, frozenset[str]], ...] = ()
    """--require-hashes: the sha256 values each package's file may have. A release's
    file is chosen among those (a hash of the sdist alone chooses the sdist)."""

    def preferred(self) -> dict[NormalizedName, Version]:
        """The preferences still in force after ``upgrade`` / ``upgrade_packages``."""
        if self.upgrade:
            return {}
        return {n: v for n, v in self.preferences if n not in self.upgrade_packages}

    def allowed_sha256(self, name: NormalizedName) -> frozenset[str]:
        """The sha256 values ``name``'s file may have; empty: any."""
        for known, values in self.hashes:
            if known == name:
                return values
        return frozenset()

    def file_policy(self, name: NormalizedName) -> FilePolicy:
        """A name listed explicitly beats ``ALL``; listed in both sets, no_binary wins."""
        if name in self.no_binary:
            return FilePolicy.NO_BINARY
        if name in self.only_binary:
            return FilePolicy.ONLY_BINARY
        if ALL in self.no_binary:
            return FilePolicy.NO_BINARY
        if ALL in self.only_binary:
            return FilePolicy.ONLY_BINARY
        return FilePolicy.ANY
