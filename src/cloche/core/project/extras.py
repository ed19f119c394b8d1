"""``[project.optional-dependencies]``, with the project's references to its own
extras (``proj[a]`` inside extra ``all``) expanded."""

from __future__ import annotations

from collections.abc import Mapping

from packaging.markers import Marker
from packaging.requirements import Requirement

from cloche.core.models import NormalizedName, normalize
from cloche.core.project.fields import TomlFields


def optional_dependencies(
    reader: TomlFields, value: object, project_name: str | None
) -> dict[NormalizedName, tuple[Requirement, ...]]:
    table = reader.table(value, "project.optional-dependencies")
    raw: dict[NormalizedName, tuple[Requirement, ...]] = {}
    for extra, items in table.items():
        key = f"project.optional-dependencies.{extra}"
        if normalize(extra) in raw:
            raise reader.error(key, "duplicate extra (names are compared normalized)")
        raw[normalize(extra)] = reader.requirements(items, key)
    if project_name is None:
        return raw
    own = normalize(project_name)
    return {extra: _expand_self_extras(reader, raw, own, extra, (extra,)) for extra in sorted(raw)}


def _expand_self_extras(
    reader: TomlFields,
    raw: Mapping[NormalizedName, tuple[Requirement, ...]],
    own: NormalizedName,
    extra: NormalizedName,
    chain: tuple[NormalizedName, ...],
) -> tuple[Requirement, ...]:
    """Replace ``own[a, b]`` in an extra by the requirements of extras a and b."""
    out: list[Requirement] = []
    for req in raw[extra]:
        if normalize(req.name) != own:
            out.append(req)
            continue
        for sub in sorted(normalize(e) for e in req.extras):
            key = f"project.optional-dependencies.{extra}"
            if sub not in raw:
                raise reader.error(key, f"refers to unknown extra {sub!r} of the project")
            if sub in chain:
                cycle = " -> ".join((*chain, sub))
                raise reader.error(key, f"extras refer to each other in a cycle: {cycle}")
            for inner in _expand_self_extras(reader, raw, own, sub, (*chain, sub)):
                out.append(_with_marker(inner, req.marker))
    return tuple(out)


def _with_marker(req: Requirement, marker: Marker | None) -> Requirement:
    if marker is None:
        return req
    combined = Requirement(str(req))
    combined.marker = marker if req.marker is None else Marker(f"({req.marker}) and ({marker})")
    return combined
