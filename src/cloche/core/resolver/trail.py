"""The needs the resolver has met, kept to trace a failure back to the user's requirements."""

from __future__ import annotations

from cloche.core.resolver.model import Need


class NeedTrail:
    """Every need met so far, by identity (``name`` and ``name[extras]``)."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[Need]] = {}
        self._user: list[Need] = []

    def user_needs(self) -> list[Need]:
        """The needs the user wrote, in order."""
        return list(self._user)

    def record(self, need: Need) -> None:
        if need.parent is None:
            self._user.append(need)
        self.by_key.setdefault(need.key, []).append(need)
        if need.name != need.key:
            self.by_key.setdefault(need.name, []).append(need)
