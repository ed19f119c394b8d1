"""The resolvelib provider: all packaging knowledge the backtracking algorithm uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import AbstractProvider

from cloche.core.finder import PackageFinder
from cloche.core.models import DistFile, Metadata, NormalizedName, Target
from cloche.core.report import Reporter
from cloche.core.resolver.lookahead import Lookahead
from cloche.core.resolver.model import PYTHON, Candidate, Need, is_exact_pin, marker_applies
from cloche.core.resolver.options import FilePolicy, ResolveOptions
from cloche.core.resolver.releases import Release, ReleaseTable
from cloche.errors import RequirementError

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

Preference = tuple[bool, bool, bool, int, str]


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
        self._target = target
        self._options = options
        self._reporter = reporter
        self._env = target.markers
        self._preferred = options.preferred()
        self._python = Candidate(PYTHON, target.python_version)
        self._constraints: dict[NormalizedName, list[Need]] = {}
        self._direct: dict[NormalizedName, Need] = {}
        for need in constraints:
            self._constraints.setdefault(need.name, []).append(need)
        for need in (*constraints, *user_needs):
            if need.url:
                self._direct.setdefault(need.name, need)
        self._releases: dict[NormalizedName, ReleaseTable] = {}
        self._candidates: dict[tuple[str, Version], Candidate] = {}
        self._direct_candidates: dict[tuple[str, str], Candidate] = {}
        self._direct_metadata: dict[str, tuple[Metadata, DistFile | None]] = {}
        self._metadata: dict[str, Metadata] = {}
        """By file URL."""
        self._dependencies: dict[Candidate, list[Need]] = {}
        self._match_counts: dict[str, int] = {}
        self._allowed_sets: dict[tuple[NormalizedName, SpecifierSet], frozenset[Version]] = {}
        self._prefetched_names: set[NormalizedName] = set()
        self._lookahead = Lookahead(finder, target, options, self._direct)
        self._prefetched_files: set[str] = set()
        self.needs_seen: dict[str, list[Need]] = {}
        """Every need met so far, by identity (for tracing a conflict to the user)."""
        for need in user_needs:
            self._record(need)

    # -- what the explanation needs -------------------------------------------------

    def releases(self, name: NormalizedName) -> tuple[Release, ...]:
        """Releases of ``name`` judged for the target, newest first (cached)."""
        return self._table(name).all()

    def _table(self, name: NormalizedName) -> ReleaseTable:
        table = self._releases.get(name)
        if table is None:
            table = self._lookahead.table(name, self._finder.files(name))
            self._releases[name] = table
            self._prefetched_names.add(name)
        return table

    def constraints_for(self, name: NormalizedName) -> list[Need]:
        return self._constraints.get(name, [])

    def file_policy(self, name: NormalizedName) -> FilePolicy:
        return self._options.file_policy(name)

    def direct_need(self, name: NormalizedName) -> Need | None:
        return self._direct.get(name)

    def allows_prereleases(self, needs: Iterable[Need]) -> bool:
        """Pre-releases allowed by option or because a specifier names one."""
        return self._options.prerelease or any(n.specifier.prereleases for n in needs)

    def matches_alone(self, need: Need) -> bool:
        """Whether ``need`` (with the constraints) has any candidate at all."""
        if need.name == PYTHON:
            return need.specifier.contains(self._target.python_version, prereleases=True)
        if need.url or need.name in self._direct:
            return True
        return next(self._allowed_iter(need.name, [need], ()), None) is not None

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
        if identifier == PYTHON:
            return (False, False, False, 0, "")
        needs = [info.requirement for info in information[identifier]]
        direct = any(n.url for n in needs) or needs[0].name in self._direct
        pinned = any(n.is_exact_pin for n in needs)
        in_conflict = any(
            cause.requirement.key == identifier
            or (cause.parent is not None and cause.parent.key == identifier)
            for cause in backtrack_causes
        )
        count = self._match_counts.get(identifier, 0)
        return (not direct, not pinned, not in_conflict, count, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Need]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate] | Callable[[], Iterator[Candidate]]:
        needs = list(requirements[identifier])
        bad = list(incompatibilities.get(identifier, ()))
        if identifier == PYTHON:
            ok = all(n.specifier.contains(self._python.version, prereleases=True) for n in needs)
            return [self._python] if ok else []
        name, extras = needs[0].name, needs[0].extras
        urls = {n.url for n in needs if n.url}
        if name in self._direct:
            urls.add(self._direct[name].url or "")
        if urls:
            found = self._direct_matches(name, extras, needs, urls, bad)
            self._match_counts[identifier] = len(found)
            return found
        # Lazily: judging a release looks at all its files, and resolvelib usually
        # takes the first candidate; a package with hundreds of releases costs one.
        self._match_counts[identifier] = len(self._allowed_versions(name, needs))
        first = next(self._allowed_iter(name, needs, bad), None)
        if first is not None:
            self._prefetch_files([first])

        def candidates() -> Iterator[Candidate]:
            for release in self._allowed_iter(name, needs, bad):
                yield self._candidate(identifier, name, extras, release)

        return candidates

    def is_satisfied_by(self, requirement: Need, candidate: Candidate) -> bool:
        if requirement.url:
            return candidate.direct_url == requirement.url
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Need]:
        known = self._dependencies.get(candidate)
        if known is not None:
            return known
        if candidate.name == PYTHON:
            return []
        metadata = self._metadata_of(candidate)
        needs = self._needs_of(candidate, metadata)
        self._dependencies[candidate] = needs
        for need in needs:
            self._record(need)
        self._prefetch_for(needs)
        return needs

    # -- candidates -----------------------------------------------------------------

    def _specs(self, name: NormalizedName, needs: Sequence[Need]) -> list[SpecifierSet]:
        return [n.specifier for n in needs] + [c.specifier for c in self.constraints_for(name)]

    def _allowed_versions(self, name: NormalizedName, needs: Sequence[Need]) -> list[Version]:
        """Versions the specifiers allow, in the order they are tried (files not judged)."""
        allowed = [self._allowed_by(name, s) for s in self._specs(name, needs) if s]
        allowed.sort(key=len)  # the smallest first: a pin rejects all but one version at once
        versions = [
            v
            for v in self._table(name).versions
            if not allowed or (v in allowed[0] and all(v in a for a in allowed[1:]))
        ]
        # Pre-releases only on request, or when no final release matches at all.
        if not self.allows_prereleases([*needs, *self.constraints_for(name)]) and any(
            not v.is_prerelease for v in versions
        ):
            versions = [v for v in versions if not v.is_prerelease]
        preferred = self._preferred.get(name)
        if preferred is not None:
            versions.sort(key=lambda v: v != preferred)
        return versions

    def _allowed_by(self, name: NormalizedName, spec: SpecifierSet) -> frozenset[Version]:
        # Each new need re-filters every version; the same specifiers come back each time.
        key = (name, spec)
        allowed = self._allowed_sets.get(key)
        if allowed is None:
            versions = self._table(name).versions
            allowed = frozenset(v for v in versions if spec.contains(v, prereleases=True))
            self._allowed_sets[key] = allowed
        return allowed

    def _allowed_iter(
        self, name: NormalizedName, needs: Sequence[Need], bad: Sequence[Candidate]
    ) -> Iterator[Release]:
        """Usable releases, best first, each judged only when reached."""
        pinned = [s for s in self._specs(name, needs) if is_exact_pin(s)]
        bad_versions = {c.version for c in bad}
        table = self._table(name)
        for version in self._allowed_versions(name, needs):
            if version in bad_versions:
                continue
            release = table.release(version)
            if release.chosen is None:
                continue
            if release.yanked and not any(s.contains(version, prereleases=True) for s in pinned):
                continue
            yield release

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
        source = next((n for n in needs if n.url == url), None) or self._direct[name]
        candidate = self._direct_candidate(source, extras)
        others = [*needs, *self.constraints_for(name)]
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

    # -- dependencies ---------------------------------------------------------------

    def metadata_of(self, candidate: Candidate) -> Metadata | None:
        """Metadata already fetched for ``candidate`` (never fetches)."""
        if candidate.metadata is not None:
            return candidate.metadata
        chosen = candidate.release.chosen if candidate.release else None
        return self._metadata.get(chosen.url) if chosen is not None else None

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

    def _needs_of(self, candidate: Candidate, metadata: Metadata) -> list[Need]:
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
            self._warn_missing_extras(candidate, metadata)
            for req in metadata.requires_dist:
                if marker_applies(req.marker, self._env, candidate.extras) and not marker_applies(
                    req.marker, self._env
                ):
                    needs.append(Need.from_requirement(req, parent=candidate))
            return needs
        if metadata.requires_python is not None:
            needs.append(Need(PYTHON, metadata.requires_python, parent=candidate))
        for req in metadata.requires_dist:
            if marker_applies(req.marker, self._env):
                need = Need.from_requirement(req, parent=candidate)
                if need.key != candidate.key:
                    needs.append(need)
        return needs

    def _warn_missing_extras(self, candidate: Candidate, metadata: Metadata) -> None:
        if not metadata.provides_extras:
            return
        for extra in sorted(candidate.extras - metadata.provides_extras):
            self._reporter.warning(
                f"{candidate.name} {candidate.version} does not provide the extra '{extra}'"
            )

    def _record(self, need: Need) -> None:
        self.needs_seen.setdefault(need.key, []).append(need)
        if need.name != need.key:
            self.needs_seen.setdefault(need.name, []).append(need)

    # -- speculative fetching -------------------------------------------------------

    def _prefetch_for(self, needs: Sequence[Need]) -> None:
        new_names: list[NormalizedName] = []
        likely: list[Release] = []
        for need in needs:
            if need.name == PYTHON or need.url or need.name in self._direct:
                continue
            if need.name in self._releases:
                first = next(self._allowed_iter(need.name, [need], ()), None)
                if first is not None:
                    likely.append(first)
            elif need.name not in self._prefetched_names:
                self._prefetched_names.add(need.name)
                new_names.append(need.name)
        self._lookahead.expect(needs)
        if new_names:
            self._finder.prefetch(new_names, self._lookahead)
        self._prefetch_files(likely)

    def prefetch_roots(self, needs: Sequence[Need]) -> None:
        """Start on every requirement the user named before resolving the first one."""
        self._prefetch_for(needs)

    def _prefetch_files(self, releases: Sequence[Release]) -> None:
        files = [
            r.chosen
            for r in releases
            if r.chosen is not None
            and r.chosen.url not in self._prefetched_files
            and r.chosen.url not in self._metadata
        ]
        if files:
            self._prefetched_files.update(f.url for f in files)
            self._finder.prefetch_metadata(files)
