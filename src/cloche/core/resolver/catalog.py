"""What each package offers the target: its releases, and the versions that needs and
constraints allow, best first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.core.finder import PackageFinder
from cloche.core.models import NormalizedName, Target
from cloche.core.prerelease import PrereleaseMode
from cloche.core.resolver.lookahead import Lookahead
from cloche.core.resolver.matching import VersionMatches
from cloche.core.resolver.model import PYTHON, Candidate, Need
from cloche.core.resolver.options import FilePolicy, ResolveOptions
from cloche.core.resolver.releases import Release, ReleaseTable


class Catalog:
    """Release tables (built once per name) and the choice among them, for one target."""

    def __init__(
        self,
        finder: PackageFinder,
        target: Target,
        options: ResolveOptions,
        lookahead: Lookahead,
        constraints: Sequence[Need],
        direct: Mapping[NormalizedName, Need],
        user_needs: Sequence[Need] = (),
    ) -> None:
        self._finder = finder
        self._target = target
        self._options = options
        self._lookahead = lookahead
        self._preferred = options.preferred()
        self._direct = direct
        self._constraints: dict[NormalizedName, list[Need]] = {}
        for need in constraints:
            self._constraints.setdefault(need.name, []).append(need)
        self._user_pins: dict[NormalizedName, list[SpecifierSet]] = {}
        for need in (*user_needs, *constraints):
            if need.is_exact_pin:
                self._user_pins.setdefault(need.name, []).append(need.specifier)
        self._tables: dict[NormalizedName, ReleaseTable] = {}
        self._matches = VersionMatches(self._table)
        self._allowed_lists: dict[
            tuple[NormalizedName, frozenset[SpecifierSet], bool], list[Version]
        ] = {}
        self._prerelease_named: dict[Need, bool] = {}
        self._own_preferred: dict[NormalizedName, Version] = {}
        self._spec_keys: dict[tuple[object, ...], frozenset[SpecifierSet]] = {}
        self._allowed_for: dict[tuple[object, ...], list[Version]] = {}
        """``allowed_versions`` by name and needs (each need hashed by identity)."""

    def is_listed(self, name: NormalizedName) -> bool:
        """Whether the releases of ``name`` were read already."""
        return name in self._tables

    def releases(self, name: NormalizedName) -> tuple[Release, ...]:
        """Releases of ``name`` judged for the target, newest first (cached)."""
        return self._table(name).all()

    def usable_versions(self, name: NormalizedName, ends: int) -> tuple[list[Version], bool]:
        """Versions of ``name`` with a usable file, oldest first; True when that is all of them.

        When more than ``2 * ends`` exist, only the ``ends`` oldest and newest are judged
        (a conflict message shows no more, and judging hundreds of releases is slow).
        """
        table = self._table(name)
        versions = table.versions
        low: list[Version] = []
        for version in reversed(versions):
            if len(low) > ends:
                break
            if table.release(version).chosen is not None:
                low.append(version)
        high: list[Version] = []
        for version in versions:
            if len(high) > ends:
                break
            if table.release(version).chosen is not None:
                high.append(version)
        if len(low) > ends and len(high) > ends and low[-1] < high[-1]:
            return [*low[:ends], *reversed(high[:ends])], False
        return [r.version for r in reversed(self.releases(name)) if r.chosen is not None], True

    def _table(self, name: NormalizedName) -> ReleaseTable:
        table = self._tables.get(name)
        if table is None:
            table = self._lookahead.table(name, self._finder.files(name))
            self._tables[name] = table
        return table

    def constraints_for(self, name: NormalizedName) -> list[Need]:
        return self._constraints.get(name, [])

    def file_policy(self, name: NormalizedName) -> FilePolicy:
        return self._options.file_policy(name)

    def direct_need(self, name: NormalizedName) -> Need | None:
        """The URL the user named for ``name`` (a requirement or a constraint), if any."""
        return self._direct.get(name)

    def allows_prereleases(self, needs: Iterable[Need]) -> bool:
        """Pre-releases allowed by option or because a specifier names one."""
        return self._options.prerelease or any(self._names_prerelease(n) for n in needs)

    def _names_prerelease(self, need: Need) -> bool:
        # Kept: packaging works it out from the specifiers' versions on every call.
        named = self._prerelease_named.get(need)
        if named is None:
            named = self._prerelease_named[need] = bool(need.specifier.prereleases)
        return named

    def matches_alone(self, need: Need) -> bool:
        """Whether ``need`` (with the constraints) has any candidate at all."""
        if need.name == PYTHON:
            return need.specifier.contains(self._target.python_version, prereleases=True)
        if need.url or need.name in self._direct:
            return True
        return next(self.allowed(need.name, [need]), None) is not None

    def _prereleases_ok(
        self, name: NormalizedName, needs: Sequence[Need], versions: Sequence[Version]
    ) -> bool:
        mode = self._options.prerelease_mode
        if mode is None or self._options.prerelease:
            # pip's rule: on request, or when no final release matches at all.
            every = [*needs, *self.constraints_for(name)]
            return self.allows_prereleases(every) or all(v.is_prerelease for v in versions)
        if mode is PrereleaseMode.ALLOW or mode is PrereleaseMode.DISALLOW:
            return mode is PrereleaseMode.ALLOW
        user = [*(n for n in needs if n.parent is None), *self.constraints_for(name)]
        explicit = any(self._names_prerelease(n) for n in user)
        necessary = all(v.is_prerelease for v in self._table(name).versions)
        if mode is PrereleaseMode.EXPLICIT:
            return explicit
        if mode is PrereleaseMode.IF_NECESSARY:
            return necessary
        return explicit or necessary

    def _specs(self, name: NormalizedName, needs: Sequence[Need]) -> list[SpecifierSet]:
        return [n.specifier for n in needs] + [c.specifier for c in self.constraints_for(name)]

    def allowed_versions(self, name: NormalizedName, needs: Sequence[Need]) -> list[Version]:
        """Versions the specifiers allow, in the order they are tried (files not judged).

        A list shared between calls with the same specifiers: callers must not change it.
        """
        asked = (name, *needs)
        known = self._allowed_for.get(asked)
        if known is not None:
            return known
        specs = self._spec_key(name, needs)
        matching = self._matches.matching(name, specs)
        finals_only = not self._prereleases_ok(name, needs, matching)
        key = (name, specs, finals_only)
        versions = self._allowed_lists.get(key)
        if versions is None:
            versions = [v for v in matching if not v.is_prerelease] if finals_only else matching
            preferred = self._preferred_version(name)
            if preferred is not None:
                # The preferred version first (the versions are distinct objects of one
                # table, so identity finds it), the others in their order.
                rest = [v for v in versions if v is not preferred]
                versions = [preferred, *rest] if len(rest) < len(versions) else rest
            self._allowed_lists[key] = versions
        self._allowed_for[asked] = versions
        return versions

    def _spec_key(self, name: NormalizedName, needs: Sequence[Need]) -> frozenset[SpecifierSet]:
        """The non-empty specifiers of ``needs`` and the constraints on ``name``.

        Kept per tuple of needs (hashed by identity): the resolver asks again and again
        with the same needs, and a SpecifierSet hashes through Python code.
        """
        asked = (name, *needs)
        specs = self._spec_keys.get(asked)
        if specs is None:
            specs = self._spec_keys[asked] = frozenset(s for s in self._specs(name, needs) if s)
        return specs

    def _preferred_version(self, name: NormalizedName) -> Version | None:
        """The table's own object for the preferred version of ``name`` (the preference
        itself when the table lacks it), if there is a preference."""
        preferred = self._preferred.get(name)
        if preferred is None:
            return None
        own = self._own_preferred.get(name)
        if own is None:
            versions = self._table(name).versions
            own = next((v for v in versions if v == preferred), preferred)
            self._own_preferred[name] = own
        return own

    def allowed(
        self, name: NormalizedName, needs: Sequence[Need], bad: Sequence[Candidate] = ()
    ) -> Iterator[Release]:
        """Usable releases, best first, each judged only when reached."""
        bad_versions = {c.version for c in bad}
        table = self._table(name)
        for version in self.allowed_versions(name, needs):
            if version in bad_versions:
                continue
            release = table.release(version)
            if release.chosen is not None and self._yank_allowed(name, release):
                yield release

    def possible(self, name: NormalizedName, needs: Sequence[Need]) -> Iterator[Release]:
        """Every release any resolve with ``needs`` among its needs could use, newest first.

        Wider than ``allowed``: other needs may let pre-releases in.
        """
        table = self._table(name)
        for version in self._matches.matching(name, self._spec_key(name, needs)):
            release = table.release(version)
            if release.chosen is not None and self._yank_allowed(name, release):
                yield release

    def _yank_allowed(self, name: NormalizedName, release: Release) -> bool:
        """A yanked release only for the user's own ``==`` pin (a dependency's never)."""
        if not release.yanked:
            return True
        pins = self._user_pins.get(name, ())
        return any(s.contains(release.version, prereleases=True) for s in pins)
