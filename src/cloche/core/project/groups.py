"""``[dependency-groups]`` (PEP 735), with ``include-group`` expanded.

``packaging.dependency_groups`` expands the includes; every item is checked here
first, so that an error names its key path as the other pyproject.toml errors do.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.dependency_groups import CyclicDependencyGroup, DependencyGroupResolver
from packaging.requirements import Requirement

from cloche.core.models import NormalizedName, normalize
from cloche.core.project.fields import TomlFields
from cloche.errors import ProjectError

if sys.version_info < (3, 11):  # pragma: no cover
    from packaging.errors import ExceptionGroup


@dataclass(frozen=True, slots=True)
class _Group:
    """One dependency group, checked."""

    spelled: str
    """The name as pyproject.toml writes it (for the key path in errors)."""
    includes: tuple[tuple[int, NormalizedName], ...]
    """(item index, included group) for each ``{include-group = ...}``, in order."""


def dependency_groups(
    reader: TomlFields, value: object
) -> dict[NormalizedName, tuple[Requirement, ...]]:
    table = reader.table(value, "dependency-groups")
    groups = _checked(reader, table)
    resolver = DependencyGroupResolver(table)
    expanded: dict[NormalizedName, tuple[Requirement, ...]] = {}
    for group in sorted(groups):
        try:
            expanded[group] = resolver.resolve(group)
        except ExceptionGroup as exc:  # only a cycle is left once every item is checked
            cycle = next(e for e in exc.exceptions if isinstance(e, CyclicDependencyGroup))
            raise _cycle_error(reader, groups, cycle) from None
    return expanded


def _checked(reader: TomlFields, table: Mapping[str, Any]) -> dict[NormalizedName, _Group]:
    """Each group's includes, once every item is a valid requirement or include."""
    items: dict[NormalizedName, tuple[str, list[Any]]] = {}
    for group, value in table.items():
        key = f"dependency-groups.{group}"
        if normalize(group) in items:
            raise reader.error(key, "duplicate group (names are compared normalized)")
        items[normalize(group)] = (group, reader.list_(value, key))
    groups: dict[NormalizedName, _Group] = {}
    for group in sorted(items):
        spelled, values = items[group]
        includes = []
        for i, item in enumerate(values):
            key = f"dependency-groups.{spelled}[{i}]"
            if isinstance(item, str):
                reader.requirement(item, key)
                continue
            if not isinstance(item, Mapping) or set(item) != {"include-group"}:
                raise reader.error(key, "expected a requirement string or {include-group = NAME}")
            target = reader.string(item["include-group"], f"{key}.include-group") or ""
            if normalize(target) not in items:
                raise reader.error(key, f"include-group {target!r} is not a dependency group")
            includes.append((i, normalize(target)))
        groups[group] = _Group(spelled, tuple(includes))
    return groups


def _cycle_error(
    reader: TomlFields, groups: Mapping[NormalizedName, _Group], cycle: CyclicDependencyGroup
) -> ProjectError:
    """The cycle as the walk from the group asked for met it: ``a -> b -> c -> a``."""
    group, included = normalize(cycle.group), normalize(cycle.include_group)
    path = _path(groups, normalize(cycle.requested_group), group, set()) or [group]
    index = next(i for i, name in groups[group].includes if name == included)
    key = f"dependency-groups.{groups[group].spelled}[{index}]"
    return reader.error(key, f"include-group cycle: {' -> '.join((*path, included))}")


def _path(
    groups: Mapping[NormalizedName, _Group],
    start: NormalizedName,
    goal: NormalizedName,
    seen: set[NormalizedName],
) -> list[NormalizedName] | None:
    """The first path from ``start`` to ``goal`` depth-first in item order, as packaging
    walks the includes."""
    if start == goal:
        return [start]
    seen.add(start)
    for _, name in groups[start].includes:
        if name not in seen:
            rest = _path(groups, name, goal, seen)
            if rest is not None:
                return [start, *rest]
    return None
