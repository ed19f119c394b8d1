"""A dependency graph and its tree rendering, wherever the graph comes from: a lock
(``cloche tree``) or an environment's installed packages (``cloche pip tree``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cloche.core.models import NormalizedName


@dataclass(frozen=True, slots=True)
class Root:
    """A direct dependency of the project, with where it is declared."""

    name: NormalizedName
    label: str
    """"" for a project dependency, else "group: dev" or "extra: viz"."""


@dataclass(frozen=True, slots=True)
class Graph:
    """The locked packages as a dependency graph, for ``tree`` and ``why``."""

    versions: dict[NormalizedName, list[str]]
    markers: dict[NormalizedName, str]
    """Environment markers of entries only some machines install."""
    dependencies: dict[NormalizedName, list[NormalizedName]]
    dependents: dict[NormalizedName, list[NormalizedName]]
    roots: list[Root]

    @classmethod
    def of(
        cls,
        versions: dict[NormalizedName, list[str]],
        dependencies: dict[NormalizedName, list[NormalizedName]],
        roots: list[Root],
        markers: dict[NormalizedName, str] | None = None,
    ) -> Graph:
        """The graph of these edges; ``dependents`` is worked out from ``dependencies``."""
        dependents: dict[NormalizedName, set[NormalizedName]] = {}
        for parent, children in dependencies.items():
            for child in children:
                dependents.setdefault(child, set()).add(parent)
        return cls(
            versions=versions,
            markers=markers or {},
            dependencies=dependencies,
            dependents={n: sorted(p) for n, p in dependents.items()},
            roots=roots,
        )

    def node(self, name: NormalizedName) -> str:
        versions = ", ".join(f"v{v}" for v in self.versions.get(name, [])) or "(no version)"
        marker = self.markers.get(name)
        return f"{name} {versions}" + (f" ; {marker}" if marker else "")


def render_tree(graph: Graph, *, invert: bool = False) -> str:
    """Each root with its dependencies (or, inverted, each leaf with what needs it)."""
    edges = graph.dependents if invert else graph.dependencies
    if invert:
        tops = [(n, "") for n in sorted(graph.versions) if not graph.dependencies.get(n)]
    else:
        tops = [(r.name, r.label) for r in graph.roots]
    lines: list[str] = []
    expanded: set[NormalizedName] = set()
    for name, label in tops:
        suffix = f" ({label})" if label else ""
        lines.append(graph.node(name) + suffix)
        lines.extend(_subtree(graph, edges, name, "", expanded, {name}))
        expanded.add(name)
    return "".join(f"{line}\n" for line in lines)


def _subtree(
    graph: Graph,
    edges: dict[NormalizedName, list[NormalizedName]],
    name: NormalizedName,
    prefix: str,
    expanded: set[NormalizedName],
    path: set[NormalizedName],
) -> Iterator[str]:
    children = edges.get(name, [])
    for index, child in enumerate(children):
        last = index == len(children) - 1
        branch, indent = ("└── ", "    ") if last else ("├── ", "│   ")
        repeat = child in expanded and edges.get(child)
        cycle = child in path
        yield prefix + branch + graph.node(child) + (" (*)" if repeat or cycle else "")
        if repeat or cycle:
            continue
        yield from _subtree(graph, edges, child, prefix + indent, expanded, path | {child})
        expanded.add(child)
