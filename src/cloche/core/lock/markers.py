"""Markers that tell a lock's targets (and its groups and extras) apart.

A lock merges one resolution per target. An entry present in only some targets
gets a marker that matches exactly those targets, written with the fewest
marker keys that separate them from the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from cloche.core.models import NormalizedName
from cloche.errors import ClocheError

# Preferred first: a platform difference reads better than a Python one.
_CANDIDATE_KEYS = (
    "sys_platform",
    "platform_machine",
    "python_version",
    "implementation_name",
    "platform_system",
    "os_name",
    "python_full_version",
    "platform_release",
)
_PYTHON_KEYS = frozenset({"python_version", "python_full_version", "implementation_name"})


@dataclass(frozen=True, slots=True)
class RootSet:
    """What makes a package part of the lock: the default dependencies, a group or an extra."""

    kind: str
    """"default", "group" or "extra"."""
    name: NormalizedName | None = None

    def marker(self) -> str | None:
        if self.kind == "group":
            return f"'{self.name}' in dependency_groups"
        if self.kind == "extra":
            return f"'{self.name}' in extras"
        return None


DEFAULT = RootSet("default")


class TargetMarkers:
    """Marker text for subsets of a fixed list of targets."""

    def __init__(self, labels: Sequence[str], envs: Sequence[Mapping[str, str]]) -> None:
        self.labels = tuple(labels)
        self.envs = tuple(dict(env) for env in envs)
        self.keys = self._distinguishing_keys()

    def _project(self, index: int, keys: Sequence[str]) -> tuple[str, ...]:
        return tuple(self.envs[index].get(key, "") for key in keys)

    def _distinguishing_keys(self) -> tuple[str, ...]:
        """The smallest, most readable set of keys under which distinct targets differ."""
        present = [k for k in _CANDIDATE_KEYS if any(k in env for env in self.envs)]
        distinct = {self._project(i, present) for i in range(len(self.envs))}
        for size in range(len(present) + 1):
            for keys in combinations(present, size):
                if len({self._project(i, keys) for i in range(len(self.envs))}) == len(distinct):
                    return keys
        return tuple(present)  # pragma: no cover - size == len(present) always succeeds

    def environment(self, index: int) -> str:
        """The marker for one target in the lock's ``environments``.

        Python keys are left out: the lock's requires-python speaks for Python.
        """
        keys = [k for k in self.keys if k not in _PYTHON_KEYS] or ["sys_platform"]
        return _conjunction(keys, self._project(index, keys))

    def subset(self, members: Iterable[int]) -> str | None:
        """A marker true on exactly the targets ``members`` (None when that is all of them)."""
        inside = set(members)
        if inside == set(range(len(self.envs))):
            return None
        outside = set(range(len(self.envs))) - inside
        for size in range(1, len(self.keys) + 1):
            for keys in combinations(self.keys, size):
                if "sys_platform" in self.keys and "sys_platform" not in keys:
                    # Anchor on the OS: "darwin and arm64" reads (and ages) better than "arm64".
                    keys = ("sys_platform", *keys)
                terms = {self._project(i, keys) for i in inside}
                if terms.isdisjoint(self._project(i, keys) for i in outside):
                    return " or ".join(_conjunction(keys, values) for values in sorted(terms))
        names = ", ".join(self.labels[i] for i in sorted(inside))
        raise ClocheError(
            f"cannot write a marker for targets {names}: another target has the same "
            "marker environment but resolved differently",
            hint="give each target a distinct platform or Python version",
        )


def _conjunction(keys: Sequence[str], values: Sequence[str]) -> str:
    return " and ".join(f"{key} == '{value}'" for key, value in zip(keys, values, strict=True))


def _roots_marker(roots: frozenset[RootSet]) -> str | None:
    if DEFAULT in roots or not roots:
        return None
    parts = sorted(m for m in (root.marker() for root in roots) if m is not None)
    return " or ".join(parts)


def _both(left: str | None, right: str | None) -> str | None:
    if left is None or right is None:
        return left if right is None else right
    return f"{_wrap(left)} and {_wrap(right)}"


def _wrap(text: str) -> str:
    return f"({text})" if " or " in text else text


def entry_marker(
    targets: TargetMarkers, membership: Mapping[int, frozenset[RootSet]]
) -> str | None:
    """The marker of a lock entry present on the targets in ``membership``.

    ``membership`` maps a target index to the root sets that reach the entry there.
    """
    by_roots: dict[frozenset[RootSet], list[int]] = {}
    for index, roots in sorted(membership.items()):
        by_roots.setdefault(roots, []).append(index)
    if len(by_roots) == 1:
        ((roots, members),) = by_roots.items()
        return _both(targets.subset(members), _roots_marker(roots))
    parts: list[str] = []
    for roots, members in by_roots.items():
        part = _both(targets.subset(members), _roots_marker(roots))
        if part is None:  # pragma: no cover - several groups never cover every target
            return None
        parts.append(_wrap(part))
    return " or ".join(sorted(parts))
