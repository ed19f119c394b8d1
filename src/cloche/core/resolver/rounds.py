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

from collections.abc import Iterable

from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import Criterion, Resolution, Result
from resolvelib.resolvers.resolution import _build_result

from cloche.core.resolver.model import Candidate, Need

Verdicts = dict[int, tuple[Criterion[Need, Candidate], Candidate, bool]]


class _Resolution(Resolution[Need, Candidate, str]):
    def __init__(
        self,
        provider: AbstractProvider[Need, Candidate, str],
        reporter: BaseReporter[Need, Candidate, str],
    ) -> None:
        super().__init__(provider, reporter)
        self._verdicts: Verdicts = {}
        """By ``id`` of the criterion, kept alive with it so that the id is never reused."""

    def _is_current_pin_satisfying(self, name: str, criterion: Criterion[Need, Candidate]) -> bool:
        pin = self.state.mapping.get(name)
        if pin is None:
            return False
        known = self._verdicts.get(id(criterion))
        if known is not None and known[0] is criterion and known[1] is pin:
            return known[2]
        satisfied = super()._is_current_pin_satisfying(name, criterion)
        self._verdicts[id(criterion)] = (criterion, pin, satisfied)
        return satisfied


class RoundsResolver(Resolver[Need, Candidate, str]):
    """``resolvelib.Resolver`` with the incremental round check (same answers, same order)."""

    def resolve(  # type: ignore[override]  # as resolvelib's own Resolver declares it
        self, requirements: Iterable[Need], max_rounds: int = 100
    ) -> Result[Need, Candidate, str]:
        resolution = _Resolution(self.provider, self.reporter)
        state = resolution.resolve(requirements, max_rounds=max_rounds)
        return _build_result(state)
