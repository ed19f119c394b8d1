"""Resolver progress, forwarded from resolvelib's reporter hooks to cloche's Reporter."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from resolvelib import BaseReporter

from cloche.core.report import Reporter
from cloche.core.resolver.model import PYTHON, Candidate, Need

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation


class ResolverProgress(BaseReporter[Need, Candidate, str]):
    """Counts pins as progress; backtracking goes to the debug stream."""

    def __init__(self, reporter: Reporter, task_id: int) -> None:
        self._reporter = reporter
        self._task_id = task_id
        self.rounds = 0
        """Rounds started so far (each pins or backtracks once)."""

    def starting_round(self, index: int) -> None:
        self.rounds = index + 1

    def pinning(self, candidate: Candidate) -> None:
        if candidate.name != PYTHON:
            self._reporter.advanced(self._task_id)
            self._reporter.debug(f"trying {candidate}")

    def resolving_conflicts(
        self, causes: Collection[RequirementInformation[Need, Candidate]]
    ) -> None:
        names = sorted({str(cause.requirement) for cause in causes})
        self._reporter.debug(f"backtracking on conflict: {', '.join(names)}")
