"""The resolvelib provider: all packaging knowledge the backtracking algorithm uses.

resolvelib's hooks stay thin: which versions a package offers is the ``Catalog``'s,
fetching ahead is the ``Prefetcher``'s, and the needs kept to explain a failure are
the ``NeedTrail``'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import AbstractProvider

from cloche.core.finder import PackageFinder
from cloche.core.models import DistFile, Metadata, NormalizedName, Target, normalize
from cloche.core.report import Reporter
from cloche.core.resolver.catalog import Catalog
from cloche.core.resolver.deadends import DeadEnds
from cloche.core.resolver.lookahead import Lookahead
from cloche.core.resolver.model import (
    PYTHON,
    Candidate,
    MarkerVerdicts,
    Need,
    marker_applies,
)
from cloche.core.resolver.options import ResolveOptions
from cloche.core.resolver.prefetch import Prefetcher
from cloche.core.resolver.releases import Release
from cloche.core.resolver.trail import NeedTrail
from cloche.errors import InvalidMetadata, RequirementError

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

Preference = tuple[bool, bool, bool, int, str]


_REQUIREMENT = attrgetter("requirement")
_URL = attrgetter("url")


def _in_conflict(causes: Sequence[RequirementInformation[Need, Candidate]]) -> frozenset[str]:
    """The packages the last conflict involved: each requirement's and each parent's."""
    return frozenset(
        key
        for cause in causes
        for key in (cause.requirement.key, *(() if cause.parent is None else (cause.parent.key,)))
    )


class Provider(AbstractProvider[Need, Candidate, str]):
    """Answers resolvelib from a PackageFinder, for one target and one set of options."""

    def __init__(
        self,
        finder: PackageFinder,
        target: Target,
        options: ResolveOptions,
        user_needs: Sequence[Need],
        constraints: Sequence[Need],
        reporter: Reporter,
    ) -> None:
        self._finder = finder
        self._reporter = reporter
        self._env = target.markers
        self._applies = MarkerVerdicts(self._env)
        self._python = Candidate(PYTHON, target.python_version)
        direct: dict[NormalizedName, Need] = {}
        for need in (*constraints, *user_needs):
            if need.url:
                direct.setdefault(need.name, need)
        lookahead = Lookahead(finder, target, options, direct)
        self.catalog = Catalog(finder, target, options, lookahead, constraints, direct, user_needs)
        self._candidates: dict[tuple[str, Version], Candidate] = {}
        self._direct_candidates: dict[tuple[str, str], Candidate] = {}
        self._direct_metadata: dict[str, tuple[Metadata, DistFile | None]] = {}
        self._metadata: dict[str, Metadata] = {}
        """By file URL."""
        self._dependencies: dict[Candidate, list[Need]] = {}
        self._match_counts: dict[str, int] = {}
        self._exact_pins: dict[Need, bool] = {}
        self._python_allowed: set[Need] = set()
        """Needs on the interpreter it is known to satisfy (its criterion is asked again,
        whole, each time a pin adds one)."""
        self._unreadable: set[Candidate] = set()
        self._prefetch = Prefetcher(finder, lookahead, self.catalog, self._metadata)
        self.trail = NeedTrail()
        for need in user_needs:
            self.trail.record(need)
        self.dead_ends = DeadEnds(
            self.catalog,
            user_needs,
            target.python_version,
            self.get_dependencies,
            self._knows_metadata,
            self._candidate,
        )

    def prefetch_roots(self, needs: Sequence[Need]) -> None:
        """Start on every requirement the user named before resolving the first one."""
        self._prefetch.needs(needs)

    # -- resolvelib's interface -----------------------------------------------------

    def identify(self, requirement_or_candidate: Need | Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Need, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Need, Candidate]],
    ) -> Preference:
        return self._preference(identifier, information, _in_conflict(backtrack_causes))

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Need, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Need, Candidate]],
    ) -> Iterable[str]:
        # The choice resolvelib would make (``min`` by ``get_preference``, the first of
        # equals), made here: it asks through a wrapper that builds two mappings per
        # package per round, and the names in conflict are the same for the whole round.
        in_conflict = _in_conflict(backtrack_causes)
        return [min(identifiers, key=lambda i: self._preference(i, information, in_conflict))]

    def _preference(
        self,
        identifier: str,
        information: Mapping[str, Iterator[RequirementInformation[Need, Candidate]]],
        in_conflict: frozenset[str],
    ) -> Preference:
        if identifier == PYTHON:
            return (False, False, False, 0, "")
        # Asked of every unpinned package in every round: map/set work in C where it can.
        needs = list(map(_REQUIREMENT, information[identifier]))
        direct = any(map(_URL, needs)) or self.catalog.direct_need(needs[0].name) is not None
        pins = self._exact_pins
        for need in needs:
            if need not in pins:
                pins[need] = need.is_exact_pin
        pinned = any(map(pins.__getitem__, needs))
        count = self._match_counts.get(identifier, 0)
        return (not direct, not pinned, identifier not in in_conflict, count, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Need]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate] | Callable[[], Iterator[Candidate]]:
        needs = list(requirements[identifier])
        bad = list(incompatibilities.get(identifier, ()))
        if identifier == PYTHON:
            # Once resolvelib marks the interpreter incompatible it must not come back:
            # offering it again makes the resolver backjump and pin it forever.
            if self._python in bad:
                return []
            allowed = self._python_allowed
            for need in set(needs).difference(allowed):
                if not self.is_satisfied_by(need, self._python):
                    return []
                allowed.add(need)
            return [self._python]
        name, extras = needs[0].name, needs[0].extras
        urls = {n.url for n in needs if n.url}
        named = self.catalog.direct_need(name)
        if named is not None:
            urls.add(named.url or "")
        if urls:
            found = self._direct_matches(name, extras, needs, urls, bad)
            self._match_counts[identifier] = len(found)
            return found
        # Lazily: judging a release looks at all its files, and resolvelib usually
        # takes the first candidate; a package with hundreds of releases costs one.
        self._match_counts[identifier] = len(self.catalog.allowed_versions(name, needs))
        first = next(self.catalog.allowed(name, needs, bad), None)
        if first is not None:
            self._prefetch.files([first])

        def candidates() -> Iterator[Candidate]:
            for release in self.catalog.allowed(name, needs, bad):
                candidate = self._candidate(identifier, name, extras, release)
                if self._usable(candidate):
                    yield candidate

        return candidates

    def _usable(self, candidate: Candidate) -> bool:
        """Not a dead end, and its metadata can be read (else skipped with a warning)."""
        if candidate in self._unreadable:
            return False
        try:
            return self.dead_ends.check(candidate) is None
        except InvalidMetadata as exc:
            self._unreadable.add(candidate)
            self._reporter.warning(f"skipping {candidate}: {exc}")
            return False

    def is_satisfied_by(self, requirement: Need, candidate: Candidate) -> bool:
        if requirement.url:
            return candidate.direct_url == requirement.url
        allows, version = requirement.allows, candidate.version
        known = allows.get(version)
        if known is None:
            known = allows[version] = requirement.specifier.contains(version, prereleases=True)
        return known

    def get_dependencies(self, candidate: Candidate) -> list[Need]:
        known = self._dependencies.get(candidate)
        if known is not None:
            return known
        if candidate.name == PYTHON:
            return []
        metadata = self._metadata_of(candidate)
        needs = _needs_of(candidate, metadata, self._env, self._applies, self._reporter)
        self._dependencies[candidate] = needs
        for need in needs:
            self.trail.record(need)
        self._prefetch.needs(needs)
        return needs

    # -- candidates -----------------------------------------------------------------

    def _candidate(
        self, key: str, name: NormalizedName, extras: frozenset[NormalizedName], release: Release
    ) -> Candidate:
        cached = self._candidates.get((key, release.version))
        if cached is None:
            cached = Candidate(name, release.version, extras, release=release)
            self._candidates[(key, release.version)] = cached
        return cached

    def _direct_matches(
        self,
        name: NormalizedName,
        extras: frozenset[NormalizedName],
        needs: Sequence[Need],
        urls: set[str],
        bad: Sequence[Candidate],
    ) -> list[Candidate]:
        if len(urls) > 1:
            return []  # one package cannot come from two places
        url = urls.pop()
        source = next((n for n in needs if n.url == url), None) or self.catalog.direct_need(name)
        assert source is not None  # the URL came from a need or from the named one
        candidate = self._direct_candidate(source, extras)
        others = [*needs, *self.catalog.constraints_for(name)]
        if candidate in bad or not all(n.url or self.is_satisfied_by(n, candidate) for n in others):
            return []
        return [candidate]

    def _direct_candidate(self, source: Need, extras: frozenset[NormalizedName]) -> Candidate:
        url = source.url or ""
        cached = self._direct_candidates.get((url, ",".join(sorted(extras))))
        if cached is not None:
            return cached
        if url not in self._direct_metadata:
            assert source.requirement is not None  # every URL need comes from a requirement
            self._direct_metadata[url] = self._finder.direct_metadata(source.requirement)
        metadata, _file = self._direct_metadata[url]
        if metadata.name != source.name:
            raise RequirementError(
                f"'{source}' points to a distribution named {metadata.name}, not {source.name}; "
                "fix the name in front of '@'"
            )
        candidate = Candidate(source.name, metadata.version, extras, url, metadata=metadata)
        self._direct_candidates[(url, ",".join(sorted(extras)))] = candidate
        return candidate

    def direct_file(self, url: str) -> DistFile | None:
        """The archive a direct URL resolved to (None for a directory or VCS checkout)."""
        return self._direct_metadata[url][1] if url in self._direct_metadata else None

    # -- metadata -------------------------------------------------------------------

    def metadata_of(self, candidate: Candidate) -> Metadata | None:
        """Metadata already fetched for ``candidate`` (never fetches)."""
        if candidate.metadata is not None:
            return candidate.metadata
        chosen = candidate.release.chosen if candidate.release else None
        return self._metadata.get(chosen.url) if chosen is not None else None

    def _knows_metadata(self, candidate: Candidate) -> bool:
        return candidate.metadata is not None or self.metadata_of(candidate) is not None

    def _metadata_of(self, candidate: Candidate) -> Metadata:
        if candidate.metadata is not None:
            return candidate.metadata
        assert candidate.release is not None and candidate.release.chosen is not None
        chosen = candidate.release.chosen
        metadata = self._metadata.get(chosen.url)
        if metadata is None:
            metadata = self._finder.metadata(chosen)
            self._metadata[chosen.url] = metadata
        return metadata


def _needs_of(
    candidate: Candidate,
    metadata: Metadata,
    env: dict[str, str],
    applies: MarkerVerdicts,
    reporter: Reporter,
) -> list[Need]:
    needs: list[Need] = []
    if candidate.extras:
        # The standard pattern: name[x] pins name at the same version, then
        # adds what the extras add.
        base = Need(
            candidate.name,
            SpecifierSet(f"=={candidate.version}"),
            url=candidate.direct_url,
            parent=candidate,
            requirement=Requirement(f"{candidate.name} @ {candidate.direct_url}")
            if candidate.direct_url
            else None,
        )
        needs.append(base)
        _warn_missing_extras(candidate, metadata, reporter)
        for req in metadata.requires_dist:
            if not applies(req.marker) and marker_applies(req.marker, env, candidate.extras):
                needs.append(Need.from_requirement(req, parent=candidate))
        return needs
    if metadata.requires_python is not None:
        needs.append(Need(PYTHON, metadata.requires_python, parent=candidate))
    for req in metadata.requires_dist:
        if applies(req.marker):
            need = Need.from_requirement(req, parent=candidate)
            if need.key != candidate.key:
                needs.append(need)
    return needs


def _warn_missing_extras(candidate: Candidate, metadata: Metadata, reporter: Reporter) -> None:
    """pip's warning for ``name[x]`` where ``name`` has no extra ``x``. Metadata that
    declares no Provides-Extra (older generators) still names its extras in markers."""
    provided = metadata.provides_extras | _extras_in_markers(metadata)
    for extra in sorted(candidate.extras - provided):
        reporter.warning(
            f"{candidate.name} {candidate.version} does not provide the extra '{extra}'"
        )


_EXTRA_IN_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _extras_in_markers(metadata: Metadata) -> frozenset[NormalizedName]:
    return frozenset(
        normalize(found)
        for req in metadata.requires_dist
        if req.marker is not None
        for found in _EXTRA_IN_MARKER.findall(str(req.marker))
    )
