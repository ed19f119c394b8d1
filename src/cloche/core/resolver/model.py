"""The resolver's own requirement and candidate values (resolvelib's RT and CT)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.core.models import Metadata, NormalizedName, normalize
from cloche.core.resolver.releases import Release

PYTHON = NormalizedName("<python>")
"""Identity of the target's interpreter; angle brackets keep it apart from real names."""


def identity(name: NormalizedName, extras: frozenset[NormalizedName]) -> str:
    """The resolver identity of a package with extras: ``name`` or ``name[a,b]``."""
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def _label(name: str, extras: frozenset[NormalizedName]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True, slots=True)
class Candidate:
    """A concrete version of a package (with extras) that may be pinned."""

    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName] = frozenset()
    direct_url: str | None = None
    release: Release | None = field(default=None, compare=False)
    """Files of this version; None for a direct URL and for the interpreter."""
    metadata: Metadata | None = field(default=None, compare=False)
    """Known up front only for a direct URL; index candidates fetch theirs lazily."""

    @property
    def key(self) -> str:
        return identity(self.name, self.extras)

    def __str__(self) -> str:
        if self.name == PYTHON:
            return f"Python {self.version}"
        return f"{_label(self.name, self.extras)} {self.version}"


@dataclass(frozen=True, slots=True, eq=False)
class Need:
    """One requirement on one identity, from the user (``origin``) or a ``parent`` candidate.

    Compared by identity: two equal-looking needs from different places are
    different facts for the conflict explanation.
    """

    name: NormalizedName
    specifier: SpecifierSet
    extras: frozenset[NormalizedName] = frozenset()
    url: str | None = None
    parent: Candidate | None = None
    origin: str | None = None
    """Where the user wrote it ("requirements.in:2"); None for a dependency."""
    requirement: Requirement | None = None
    """The requirement it came from (direct URLs are fetched through it)."""
    allows: dict[Version, bool] = field(default_factory=dict, init=False, repr=False)
    """Memo of the versions asked about: whether ``specifier`` allows each (pre-releases
    included). resolvelib asks again for every need in every round."""

    @property
    def key(self) -> str:
        return identity(self.name, self.extras)

    @property
    def is_exact_pin(self) -> bool:
        return is_exact_pin(self.specifier)

    def __str__(self) -> str:
        if self.name == PYTHON:
            return f"Python {self.specifier}"
        label = _label(self.requirement.name if self.requirement else self.name, self.extras)
        if self.url:
            return f"{label} @ {self.url}"
        return f"{label}{self.specifier}"

    @classmethod
    def from_requirement(
        cls, requirement: Requirement, parent: Candidate | None = None, origin: str | None = None
    ) -> Need:
        """A need for a parsed requirement (its marker is the caller's business)."""
        return cls(
            name=normalize(requirement.name),
            specifier=requirement.specifier,
            extras=frozenset(normalize(e) for e in requirement.extras),
            url=requirement.url or None,
            parent=parent,
            origin=origin,
            requirement=requirement,
        )


def marker_applies(
    marker: Marker | None, env: dict[str, str], extras: Iterable[str] = ("",)
) -> bool:
    """Whether ``marker`` holds on ``env`` for any of ``extras`` ("" = no extra)."""
    if marker is None:
        return True
    try:
        return any(marker.evaluate(env | {"extra": extra}) for extra in extras)
    except (UndefinedComparison, UndefinedEnvironmentName):
        # A marker that cannot be evaluated on this target does not apply to it.
        return False


class MarkerVerdicts:
    """``marker_applies`` on one environment (no extra), each marker object judged once.

    The requirements of cached metadata share their marker objects (``extra == "dev"``
    on hundreds of lines): a warm resolve judged ~1,400 markers, ~260 of them distinct.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._known: dict[int, tuple[Marker, bool]] = {}
        """By ``id``, with the marker itself: kept alive, its id is never reused."""

    def __call__(self, marker: Marker | None) -> bool:
        if marker is None:
            return True
        known = self._known.get(id(marker))
        if known is not None and known[0] is marker:
            return known[1]
        verdict = marker_applies(marker, self._env)
        self._known[id(marker)] = (marker, verdict)
        return verdict


def is_exact_pin(specifier: SpecifierSet) -> bool:
    """``==1.2`` or ``===1.2`` (no wildcard): the form that may select a yanked release."""
    return any(
        s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
        for s in specifier
    )
