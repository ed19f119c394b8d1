"""resolvelib's resolver, with the check at the start of every round made incremental.

Each round resolvelib asks, for every package it knows, whether the current pin still
satisfies every need on it: rounds x packages x needs calls to ``is_satisfied_by``
(~60,000 for a 135-package data-science stack), although between two rounds only the
packages the last pin touched change. resolvelib replaces a ``Criterion`` whenever its
needs change and never changes one in place (its documented contract), so the verdict
for one criterion object and one pinned candidate object holds until either is
replaced: it is kept, and each round costs one lookup per package.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import Criterion, Resolution, Result
from resolvelib.resolvers.resolution import _build_result

from cloche.core.resolver.model import Candidate, Need

Verdicts = dict[Criterion[Need, Candidate], tuple[Candidate, bool]]


class _Resolution(Resolution[Need, Candidate, str]):
    def __init__(
        self,
        provider: AbstractProvider[Need, Candidate, str],
        reporter: BaseReporter[Need, Candidate, str],
    ) -> None:
        super().__init__(provider, reporter)
        self._verdicts: Verdicts = {}
        """By criterion (hashed by identity, and kept alive here): the pin judged, and
        whether it satisfies every need of the criterion."""
        self._latest: dict[str, tuple[Criterion[Need, Candidate], Candidate, bool]] = {}
        """By name: the criterion judged last, its pin and verdict."""

    def _is_current_pin_satisfying(self, name: str, criterion: Criterion[Need, Candidate]) -> bool:
        # ``self.state`` is ``self._states[-1]`` through a property: read it directly, as
        # this runs for every package twice a round.
        pin = self._states[-1].mapping.get(name)
        if pin is None:
            return False
        known = self._verdicts.get(criterion)
        if known is not None and known[0] is pin:
            return known[1]
        satisfied = self._grown_satisfied(name, criterion, pin)
        if satisfied is None:
            satisfied = super()._is_current_pin_satisfying(name, criterion)
        self._verdicts[criterion] = (pin, satisfied)
        self._latest[name] = (criterion, pin, satisfied)
        return satisfied

    def _grown_satisfied(
        self, name: str, criterion: Criterion[Need, Candidate], pin: Candidate
    ) -> bool | None:
        """The verdict when ``criterion`` is the last one judged for ``name`` plus new needs
        (resolvelib copies the needs and appends): only the new needs are asked about.

        The interpreter's criterion gains a need with nearly every pin; asked whole,
        it made ``is_satisfied_by`` quadratic in the number of packages.
        """
        latest = self._latest.get(name)
        if latest is None or latest[1] is not pin or not latest[2]:
            return None
        old, new = latest[0].information, criterion.information
        if not isinstance(old, list) or not isinstance(new, list) or len(new) <= len(old):
            return None
        if not all(map(operator.is_, old, new)):
            return None
        satisfied = self._p.is_satisfied_by
        return all(satisfied(requirement=i.requirement, candidate=pin) for i in new[len(old) :])


class RoundsResolver(Resolver[Need, Candidate, str]):
    """``resolvelib.Resolver`` with the incremental round check (same answers, same order)."""

    def resolve(  # type: ignore[override]  # as resolvelib's own Resolver declares it
        self, requirements: Iterable[Need], max_rounds: int = 100
    ) -> Result[Need, Candidate, str]:
        resolution = _Resolution(self.provider, self.reporter)
        state = resolution.resolve(requirements, max_rounds=max_rounds)
        return _build_result(state)
