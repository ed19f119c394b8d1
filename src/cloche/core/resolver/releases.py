"""The releases of one package as seen from one target: which file each would install."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from cloche.core.listing import FileGroup, FileListing
from cloche.core.models import DistFile, NormalizedName, Target
from cloche.core.resolver.options import FilePolicy


class Exclusion(Enum):
    """Why a release cannot be used on the target."""

    REQUIRES_PYTHON = "requires-python"
    NO_FILE = "no-file"


@dataclass(frozen=True, slots=True)
class Release:
    """One version of a package with the file the target would install, if any."""

    version: Version
    files: FileGroup
    """Every listed file of this version, usable or not (lockfiles record them all);
    each built when first read."""
    chosen: DistFile | None
    """Best usable file: not yanked if possible, then best wheel, then the sdist."""
    yanked: bool = False
    """Every usable file is yanked: only an exact pin may select this release."""
    excluded: Exclusion | None = None
    """Set when ``chosen`` is None."""

    @property
    def requires_python(self) -> SpecifierSet | None:
        if self.chosen is not None and self.chosen.requires_python is not None:
            return self.chosen.requires_python
        for at in range(len(self.files)):
            requires_python = self.files.facts(at)[0]
            if requires_python is not None:
                return requires_python
        return None


def _rank(
    filename: str,
    priority: Mapping[str, int],
    policy: FilePolicy,
    compressed: dict[str, int | None],
) -> tuple[int, int] | None:
    """Sort key of a file that fits the target (lower is better); None when it does not.

    Plain string work: this runs for every file of every release the resolver looks
    at, where building ``Tag`` objects through ``parse_wheel_filename`` dominated the
    run time. ``compressed`` remembers what compressed tag sets rank.
    """
    if filename.endswith(".whl"):
        if policy is FilePolicy.NO_BINARY:
            return None
        parts = filename[:-4].split("-")
        if len(parts) < 5:
            return None
        tags = f"{parts[-3]}-{parts[-2]}-{parts[-1]}"
        if "." not in tags:  # most often: one tag, no compressed set to expand
            rank = priority.get(tags.lower())
        else:
            rank = compressed.get(tags, -1)
            if rank == -1:
                rank = compressed[tags] = _best_rank(tags, priority)
        return None if rank is None else (0, rank)
    if policy is FilePolicy.ONLY_BINARY:
        return None
    return (1, 0 if filename.endswith(".tar.gz") else 1)


def _best_rank(tags: str, priority: Mapping[str, int]) -> int | None:
    """The best rank of a compressed ``py-abi-plat`` tag set's expanded tags."""
    pythons, abis, platforms = (part.split(".") for part in tags.split("-"))
    expanded = (
        f"{py}-{abi}-{plat}".lower() for py in pythons for abi in abis for plat in platforms
    )
    return min((priority[t] for t in expanded if t in priority), default=None)


@functools.lru_cache(maxsize=1024)
def _allows(spec: SpecifierSet, python: Version) -> bool:
    # Index pages share a few Requires-Python objects across thousands of files.
    return spec.contains(python, prereleases=True)


def _release(
    version: Version,
    files: FileGroup,
    target: Target,
    priority: Mapping[str, int],
    policy: FilePolicy,
    allowed_sha256: frozenset[str],
    compressed: dict[str, int | None],
) -> Release:
    """``version`` judged from its files' filenames and facts: only the chosen file is
    built, and only the files whose tags fit have their facts read (a release lists
    wheels for many targets)."""
    python = target.python_version
    # A release's files share a few Requires-Python objects: each asked once, by identity.
    verdicts: dict[int, bool] = {}

    def fits(spec: SpecifierSet | None) -> bool:
        if spec is None:
            return True
        ok = verdicts.get(id(spec))
        if ok is None:
            ok = verdicts[id(spec)] = _allows(spec, python)
        return ok

    filenames = files.filenames
    fitting: Sequence[int]
    if allowed_sha256:
        fitting = [at for at in range(len(filenames)) if fits(files.facts(at)[0])]
        # --hash values name the files that may be installed (pip and uv agree): a
        # hash of the sdist alone chooses the sdist over a better-ranked wheel.
        allowed = [at for at in fitting if files.sha256(at) in allowed_sha256]
        if allowed:
            fitting = allowed
        if not fitting:
            return Release(version, files, None, excluded=Exclusion.REQUIRES_PYTHON)
    else:
        fitting = range(len(filenames))
    # Yanked files go last, so a yanked file is chosen only when nothing else fits; the
    # index breaks ties as a stable sort would.
    ranked = []
    for at in fitting:
        filename = filenames[at]
        rank = _rank(filename, priority, policy, compressed)
        if rank is not None:
            spec, yanked = files.facts(at)
            if fits(spec):
                ranked.append((yanked, rank, filename, at))
    if not ranked:
        if allowed_sha256 or any(fits(files.facts(at)[0]) for at in fitting):
            return Release(version, files, None, excluded=Exclusion.NO_FILE)
        return Release(version, files, None, excluded=Exclusion.REQUIRES_PYTHON)
    best = files.file(min(ranked)[3])
    return Release(version, files, best, yanked=best.yanked is not None)


def releases_for(
    name: NormalizedName,
    files: Iterable[DistFile],
    target: Target,
    ranks: Mapping[str, int],
    policy: FilePolicy,
) -> tuple[Release, ...]:
    """Releases of ``name`` from its listed files, newest first, each judged for ``target``."""
    return ReleaseTable(name, files, target, ranks, policy).all()


class TagRanks(dict[str, int]):
    """Tag strings' ranks (see ``tag_ranks``), and a memo of what wheel filenames'
    compressed tag sets (``cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64``)
    rank, shared by every table made with them."""

    def __init__(self, ranks: Mapping[str, int]) -> None:
        super().__init__(ranks)
        self.compressed: dict[str, int | None] = {}


def tag_ranks(priority: Mapping[Tag, int]) -> TagRanks:
    """``Target.tag_priority()`` keyed by tag strings, as wheel filenames spell them.

    Made once per resolve: a target accepts hundreds of tags.
    """
    return TagRanks({str(tag): rank for tag, rank in priority.items()})


_ORDER = operator.attrgetter("_key")
"""What ``Version.__lt__`` compares, as a sort key: the same order (a page's versions are
distinct), compared in C instead of through a Python ``__lt__`` per comparison."""


class ReleaseTable:
    """The releases of one package for one target, judged lazily version by version.

    Judging a release looks at every file of it; a pinned or narrow requirement
    should only pay for the versions it can match, not for hundreds of others.
    """

    def __init__(
        self,
        name: NormalizedName,
        files: Iterable[DistFile],
        target: Target,
        ranks: Mapping[str, int],
        policy: FilePolicy,
        allowed_sha256: frozenset[str] = frozenset(),
    ) -> None:
        self._target = target
        self._policy = policy
        self._allowed_sha256 = allowed_sha256
        self._priority = ranks
        self._compressed = ranks.compressed if isinstance(ranks, TagRanks) else {}
        if not isinstance(files, FileListing) or files.name != name:
            files = FileListing.of(name, tuple(files))
        self._listing = files
        versions = files.versions()
        self.versions: tuple[Version, ...] = tuple(
            versions if files.in_preference_order else sorted(versions, key=_ORDER, reverse=True)
        )
        self._judged: dict[Version, Release] = {}

    def release(self, version: Version) -> Release:
        judged = self._judged.get(version)
        if judged is None:
            judged = _release(
                version,
                self._listing.group(version),
                self._target,
                self._priority,
                self._policy,
                self._allowed_sha256,
                self._compressed,
            )
            self._judged[version] = judged
        return judged

    def all(self) -> tuple[Release, ...]:
        """Every release, newest first."""
        return tuple(self.release(v) for v in self.versions)

    def matching(self, specs: Sequence[SpecifierSet]) -> list[Release]:
        """Releases whose version every specifier allows, newest first."""
        return [
            self.release(v)
            for v in self.versions
            if all(s.contains(v, prereleases=True) for s in specs)
        ]
