"""The dependency graph a lock records: ``tree``, ``tree --invert`` and ``why``
(rendered by ``core.dep_graph``).

Pure functions of the lock and the project's root requirements; no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.pylock import Pylock
from packaging.version import InvalidVersion, Version

from cloche.core.dep_graph import Graph, Root
from cloche.core.models import NormalizedName, normalize
from cloche.core.project.spec import LOCKFILE, ProjectSpec
from cloche.errors import UsageError

_ENV_MARKER = re.compile(r"\b(sys_platform|platform_\w+|os_name|python_\w+|implementation_\w+)\b")
_MAX_PATHS = 100


def build_graph(lock: Pylock, spec: ProjectSpec) -> Graph:
    versions: dict[NormalizedName, list[str]] = {}
    markers: dict[NormalizedName, str] = {}
    deps: dict[NormalizedName, set[NormalizedName]] = {}
    for package in lock.packages:
        name = normalize(package.name)
        if package.version is not None:
            versions.setdefault(name, []).append(str(package.version))
        else:
            versions.setdefault(name, [])
        if package.marker is not None and _ENV_MARKER.search(str(package.marker)):
            markers[name] = str(package.marker)
        for dep in package.dependencies or ():
            dep_name = dep.get("name") if isinstance(dep, dict) else None
            if isinstance(dep_name, str):
                deps.setdefault(name, set()).add(normalize(dep_name))
    known = set(versions)
    return Graph.of(
        versions={n: sorted(set(v), key=_version_key) for n, v in versions.items()},
        dependencies={n: sorted(d & known) for n, d in deps.items()},
        roots=[r for r in _roots(spec) if r.name in known],
        markers=markers,
    )


def _version_key(text: str) -> tuple[int, Version, str]:
    try:
        return (0, Version(text), "")
    except InvalidVersion:
        return (1, Version("0"), text)


def _roots(spec: ProjectSpec) -> list[Root]:
    seen: set[tuple[NormalizedName, str]] = set()
    out = []
    sections = [("", spec.dependencies)]
    sections += [(f"group: {g}", reqs) for g, reqs in sorted(spec.dependency_groups.items())]
    sections += [(f"extra: {e}", reqs) for e, reqs in sorted(spec.optional_dependencies.items())]
    for label, reqs in sections:
        for req in reqs:
            key = (normalize(req.name), label)
            if key not in seen:
                seen.add(key)
                out.append(Root(key[0], label))
    return out


def why(graph: Graph, package: str) -> list[str]:
    """Every path from a root requirement to ``package``, as ``a -> b -> package`` lines."""
    target = normalize(package)
    if target not in graph.versions:
        raise UsageError(f"{package} is not in {LOCKFILE}")
    lines: list[str] = []
    for root in graph.roots:
        suffix = f" ({root.label})" if root.label else ""
        for path in _paths(graph, root.name, target, [root.name]):
            lines.append(" -> ".join(path) + suffix)
            if len(lines) >= _MAX_PATHS:
                return [*lines, f"... (more paths; showing the first {_MAX_PATHS})"]
    return lines


def _paths(
    graph: Graph, current: NormalizedName, target: NormalizedName, path: list[NormalizedName]
) -> Iterator[list[NormalizedName]]:
    if current == target:
        yield path
        return
    for child in graph.dependencies.get(current, []):
        if child not in path:
            yield from _paths(graph, child, target, [*path, child])
