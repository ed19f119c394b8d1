"""Candidates that can never be part of a solution, found once and never offered again.

resolvelib backtracks without learning: a package deep in the graph whose every version
conflicts with what the user asked for is found out again under every combination of
the versions above it (versions ** depth rounds). A candidate is a dead end when one of
its dependencies has no usable version at all: none that the user's own requirements and
constraints (which every solution obeys) allow, or only dead ends. Such a verdict holds
for the whole resolve, so it is kept, and each dead end is met once.

Only metadata the resolver fetched already is read below the candidate being judged;
anything unknown counts as usable, so a verdict is never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from packaging.version import Version

from cloche.core.models import NormalizedName
from cloche.core.resolver.catalog import Catalog
from cloche.core.resolver.model import PYTHON, Candidate, Need
from cloche.core.resolver.releases import Release

if TYPE_CHECKING:
    from cloche.core.resolver.dead_end import DeadEnd

_DEPTH = 2
"""How far below the judged candidate known metadata is read (deeper: verdicts only)."""
EXPLAIN_DEPTH = 1_000
"""Explaining a failure reads all the known metadata, once."""


CandidateFor = Callable[[str, NormalizedName, frozenset[NormalizedName], Release], Candidate]


class DeadEnds:
    """Verdicts on candidates and needs, for one resolve."""

    def __init__(
        self,
        catalog: Catalog,
        user_needs: Iterable[Need],
        python: Version,
        dependencies: Callable[[Candidate], list[Need]],
        known: Callable[[Candidate], bool],
        candidate_for: CandidateFor,
    ) -> None:
        self._catalog = catalog
        self._python = python
        self._dependencies = dependencies
        self._known = known
        self._candidate_for = candidate_for
        self._user: dict[NormalizedName, list[Need]] = {}
        for need in user_needs:
            if not need.url:
                self._user.setdefault(need.name, []).append(need)
        self._depth = _DEPTH
        self._dead: dict[Candidate, DeadEnd] = {}
        self._dead_needs: dict[tuple[str, str], tuple[DeadEnd, ...]] = {}
        self._need_keys: dict[Need, tuple[str, str]] = {}

    def user_needs(self, name: NormalizedName) -> list[Need]:
        """What the user asked of ``name`` (every solution obeys it)."""
        return self._user.get(name, [])

    def check(self, candidate: Candidate) -> DeadEnd | None:
        """Why ``candidate`` can never be used (its metadata is fetched), or None."""
        return self._judge(candidate, 0, set())

    def need(self, need: Need, depth: int = _DEPTH) -> tuple[DeadEnd, ...] | None:
        """The dead ends of every version ``need`` allows, or None if one may be usable.

        Known metadata is read ``depth`` levels down.
        """
        self._depth = depth
        try:
            return self._need(need, 1, set())
        finally:
            self._depth = _DEPTH

    def _judge(self, candidate: Candidate, depth: int, visiting: set[Candidate]) -> DeadEnd | None:
        dead = self._dead.get(candidate)
        if dead is not None or candidate.direct_url is not None or candidate.name == PYTHON:
            return dead
        if depth > 0 and (depth > self._depth or not self._known(candidate)):
            return None
        visiting.add(candidate)
        try:
            for need in self._dependencies(candidate):
                below = self._blocked(need, depth + 1, visiting)
                if below is not None:
                    from cloche.core.resolver.dead_end import DeadEnd

                    dead = DeadEnd(candidate, need, below)
                    self._dead[candidate] = dead
                    return dead
        finally:
            visiting.discard(candidate)
        return None

    def _blocked(
        self, need: Need, depth: int, visiting: set[Candidate]
    ) -> tuple[DeadEnd, ...] | None:
        if need.name == PYTHON:
            ok = need.specifier.contains(self._python, prereleases=True)
            return None if ok else ()
        if need.url or self._catalog.direct_need(need.name) is not None:
            return None
        if depth > 1 and not self._catalog.is_listed(need.name):
            return None  # a page the resolver has not read yet: no verdict
        return self._need(need, depth, visiting)

    def _need(self, need: Need, depth: int, visiting: set[Candidate]) -> tuple[DeadEnd, ...] | None:
        key = self._need_keys.get(need)
        if key is None:  # str() of a SpecifierSet sorts and joins: once per need
            key = self._need_keys[need] = (need.key, str(need.specifier))
        known = self._dead_needs.get(key)
        if known is not None:
            return known
        ends: list[DeadEnd] = []
        for release in self._catalog.possible(need.name, [need, *self.user_needs(need.name)]):
            candidate = self._candidate_for(need.key, need.name, need.extras, release)
            if candidate in visiting:
                return None
            dead = self._judge(candidate, depth, visiting)
            if dead is None:
                return None
            ends.append(dead)
        self._dead_needs[key] = tuple(ends)
        return self._dead_needs[key]


def first_dead_need(
    needs: Sequence[Need], dead_ends: DeadEnds
) -> tuple[Need, tuple[DeadEnd, ...]] | None:
    """The first of ``needs`` whose every version is a dead end, with those dead ends."""
    for need in needs:
        if need.name == PYTHON or need.url:
            continue
        below = dead_ends.need(need, EXPLAIN_DEPTH)
        if below:
            return need, below
    return None
