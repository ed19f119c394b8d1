"""The versions of a release table that specifiers allow, in table order, each set worked
out once per resolve."""

from __future__ import annotations

from collections.abc import Callable

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.core.models import NormalizedName
from cloche.core.resolver.releases import ReleaseTable


class VersionMatches:
    """Which of a package's versions some specifiers allow (pre-releases included).

    Every list returned is shared between callers: never change one.
    """

    def __init__(self, table: Callable[[NormalizedName], ReleaseTable]) -> None:
        self._table = table
        self._by_spec: dict[tuple[NormalizedName, SpecifierSet], list[Version]] = {}
        self._sets: dict[tuple[NormalizedName, SpecifierSet], frozenset[Version]] = {}
        self._by_specs: dict[tuple[NormalizedName, frozenset[SpecifierSet]], list[Version]] = {}

    def matching(self, name: NormalizedName, specs: frozenset[SpecifierSet]) -> list[Version]:
        """The table's versions every one of ``specs`` allows, in table order."""
        key = (name, specs)
        known = self._by_specs.get(key)
        if known is not None:
            return known
        if not specs:
            known = list(self._table(name).versions)
        elif len(specs) == 1:
            (spec,) = specs
            known = self._allowed_by(name, spec)
        else:
            # Each list is in table order: the shortest one, less what another rules out.
            first, *rest = sorted(specs, key=lambda s: len(self._allowed_by(name, s)))
            sets = [self._allowed_set(name, s) for s in rest]
            known = [v for v in self._allowed_by(name, first) if all(v in a for a in sets)]
        self._by_specs[key] = known
        return known

    def _allowed_by(self, name: NormalizedName, spec: SpecifierSet) -> list[Version]:
        # Each new need re-filters every version; the same specifiers come back each time.
        key = (name, spec)
        allowed = self._by_spec.get(key)
        if allowed is None:
            # filter walks the versions against the specifier's ranges once: what
            # contains(v, prereleases=True) says of each, at a third of the cost.
            allowed = list(spec.filter(self._table(name).versions, prereleases=True))
            self._by_spec[key] = allowed
        return allowed

    def _allowed_set(self, name: NormalizedName, spec: SpecifierSet) -> frozenset[Version]:
        key = (name, spec)
        allowed = self._sets.get(key)
        if allowed is None:
            allowed = self._sets[key] = frozenset(self._allowed_by(name, spec))
        return allowed
