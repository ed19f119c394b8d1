"""One dead end's value; its own module so a resolve that meets none never makes the class."""

from __future__ import annotations

from dataclasses import dataclass

from cloche.core.resolver.model import Candidate, Need


@dataclass(frozen=True, slots=True)
class DeadEnd:
    """``candidate`` requires ``need``, and no version of it can be used."""

    candidate: Candidate
    need: Need
    below: tuple[DeadEnd, ...] = ()
    """The dead ends of the versions ``need`` allows; empty when it allows none."""

    def chain(self) -> list[DeadEnd]:
        """This dead end, then the newest one below it, down to the conflict itself."""
        found = [self]
        while found[-1].below:
            found.append(found[-1].below[0])
        return found
