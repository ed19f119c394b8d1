"""The needs the resolver has met, kept to trace a failure back to the user's requirements."""

from __future__ import annotations

from cloche.core.resolver.model import Need


class NeedTrail:
    """Every need met so far, by identity (``name`` and ``name[extras]``)."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[Need]] = {}

    def record(self, need: Need) -> None:
        self.by_key.setdefault(need.key, []).append(need)
        if need.name != need.key:
            self.by_key.setdefault(need.name, []).append(need)
