"""Plain-text explanations of a failed resolve, traced back to what the user asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.version import Version

from cloche.core.models import NormalizedName, Target
from cloche.core.resolver.model import PYTHON, Candidate, Need
from cloche.core.resolver.options import FilePolicy
from cloche.core.resolver.releases import Exclusion, Release
from cloche.errors import ClocheError, NoVersionError, ResolutionError

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

    from cloche.core.resolver.catalog import Catalog
    from cloche.core.resolver.dead_end import DeadEnd
    from cloche.core.resolver.trail import NeedTrail

    Cause = RequirementInformation[Need, Candidate]

_HEAD, _TAIL = 3, 3


def compact_versions(versions: Iterable[Version]) -> str:
    """``1.0, 1.1, 1.2 ... 2.3, 2.4, 2.5``: ascending, long lists cut in the middle."""
    ordered = [str(v) for v in sorted(set(versions))]
    if len(ordered) > _HEAD + _TAIL + 1:
        ordered = [*ordered[:_HEAD], "...", *ordered[-_TAIL:]]
    return ", ".join(ordered).replace(", ..., ", " ... ")


def _admits(need: Need, candidate: Candidate) -> bool:
    if need.url:
        return candidate.direct_url == need.url
    return need.specifier.contains(candidate.version, prereleases=True)


def _considered(name: NormalizedName, catalog: Catalog) -> str:
    usable, complete = catalog.usable_versions(name, _HEAD + 1)
    if complete:
        return compact_versions(usable) or "none"
    return (
        ", ".join(str(v) for v in usable[:_HEAD])
        + " ... "
        + ", ".join(str(v) for v in usable[-_TAIL:])
    )


def _user_step(need: Need) -> str:
    return f"you asked for {need} ({need.origin})"


def _step(parent: Candidate, need: Need) -> str:
    return f"{parent} requires {need}"


class _Tracer:
    """Finds one path from the user's requirements down to a candidate."""

    def __init__(self, seen: Mapping[str, list[Need]]) -> None:
        self._seen = seen
        self._memo: dict[Candidate, list[str] | None] = {}

    def steps_to(self, candidate: Candidate, visiting: frozenset[str] = frozenset()) -> list[str]:
        """Steps from the user to ``candidate``: ["you asked for a (x)", "a 1.0 requires b>=2"]."""
        return self._steps(candidate, visiting) or []

    def _steps(self, candidate: Candidate, visiting: frozenset[str]) -> list[str] | None:
        if candidate in self._memo:
            return self._memo[candidate]
        needs = self._seen.get(candidate.key, [])
        for need in needs:
            if need.parent is None and _admits(need, candidate):
                self._memo[candidate] = [_user_step(need)]
                return self._memo[candidate]
        inner = visiting | {candidate.key}
        # The newest fact is the likeliest to describe the final state.
        for need in reversed(needs):
            parent = need.parent
            if parent is None or parent.key in inner or not _admits(need, candidate):
                continue
            steps = self._steps(parent, inner)
            if steps is None:
                continue
            # name[x] -> name says nothing new: skip that hop.
            found = steps if parent.name == candidate.name else [*steps, _step(parent, need)]
            self._memo[candidate] = found
            return found
        return None

    def via(self, need: Need) -> str:
        """`` (needed by: you asked for a (x) -> a 1.0 requires b)`` for a dependency, else ""."""
        if need.parent is None:
            return ""
        steps = [*self.steps_to(need.parent), _step(need.parent, need)]
        return f" (needed by: {' -> '.join(steps)})"


def _describe(cause: Cause) -> str:
    if cause.parent is None:
        return _user_step(cause.requirement)
    return _step(cause.parent, cause.requirement)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _group_lines(
    name: NormalizedName,
    causes: Sequence[Cause],
    catalog: Catalog,
    tracer: _Tracer,
    target: Target,
) -> list[str]:
    ordered = [c for c in causes if c.parent is not None] + [c for c in causes if c.parent is None]
    described = _unique(_describe(c) for c in ordered)
    if name == PYTHON:
        head = ", ".join(described) + f", but the target is Python {target.python_version}"
    elif len(described) == 1:
        head = f"{described[0]}, but no version of {name} fits it and the rest"
    else:
        head = ", ".join(described[:-1]) + ", but " + described[-1]
    lines = [head]
    for cause in ordered:
        if cause.parent is None:
            continue
        steps = tracer.steps_to(cause.parent)
        if len(steps) == 1:
            lines.append(steps[0])
        elif steps:
            lines.append(" -> ".join([*steps, _describe(cause)]))
    if name == PYTHON:
        return lines
    if len({c.requirement.url for c in causes if c.requirement.url}) > 1:
        lines.append(f"{name} can come from one URL only")
    lines += [f"constraint {c} ({c.origin}) also applies" for c in catalog.constraints_for(name)]
    if catalog.direct_need(name) is None:
        lines.append(f"versions of {name} considered: {_considered(name, catalog)}")
    return lines


def conflict_error(
    causes: Sequence[Cause], catalog: Catalog, trail: NeedTrail, target: Target
) -> ResolutionError:
    """The ResolutionError for resolvelib's ``ResolutionImpossible.causes``."""
    groups: dict[NormalizedName, list[Cause]] = {}
    for cause in causes:
        groups.setdefault(cause.requirement.name, []).append(cause)
    tracer = _Tracer(trail.by_key)
    lines = ["cannot resolve: the requirements conflict"]
    for name, group in groups.items():
        lines += [f"  {line}" for line in _group_lines(name, group, catalog, tracer, target)]
    return ResolutionError(
        "\n".join(_unique(lines)),
        hint="loosen one of these requirements, or pin a version that fits them all",
    )


def _exclusion_text(
    release: Release, policy: FilePolicy, target: Target, pre_excluded: bool, pinned: bool
) -> str | None:
    where = f"{target.platform or 'this platform'}, Python {target.python_version}"
    if release.excluded is Exclusion.REQUIRES_PYTHON:
        return f"requires Python {release.requires_python} (target: Python {target.python_version})"
    if release.excluded is Exclusion.NO_FILE:
        if policy is FilePolicy.ONLY_BINARY:
            return f"no wheel for {where} (binary only)"
        if policy is FilePolicy.NO_BINARY:
            return "no sdist (binaries are not allowed)"
        return f"no wheel for {where} and no sdist"
    if release.yanked and not pinned:
        return "yanked (pin it with == to use it)"
    if pre_excluded and release.version.is_prerelease:
        return "pre-release (allow with --pre)"
    return None


def _exclusions(needs: Sequence[Need], catalog: Catalog, target: Target) -> list[str]:
    name = needs[0].name
    matching = [
        r
        for r in reversed(catalog.releases(name))
        if all(n.specifier.contains(r.version, prereleases=True) for n in needs)
    ]
    pre_excluded = not catalog.allows_prereleases(needs) and any(
        not r.version.is_prerelease for r in matching
    )
    policy = catalog.file_policy(name)
    by_reason: dict[str, list[Version]] = {}
    for release in matching:
        pinned = any(
            n.parent is None and n.is_exact_pin and n.specifier.contains(release.version)
            for n in needs
        )
        text = _exclusion_text(release, policy, target, pre_excluded, pinned)
        if text is not None:
            by_reason.setdefault(text, []).append(release.version)
    return [f"{compact_versions(vs)}: {why}" for why, vs in by_reason.items()]


def no_version_error(
    need: Need, catalog: Catalog, trail: NeedTrail, target: Target
) -> NoVersionError:
    """The NoVersionError for a requirement that no release can satisfy on ``target``."""
    via = _Tracer(trail.by_key).via(need)
    releases = catalog.releases(need.name)
    if not releases:
        return NoVersionError(
            f"package '{need.name}' was not found in the package index(es){via}",
            hint="check the spelling, and the index URL if the package is private",
        )
    constraints = catalog.constraints_for(need.name)
    text = f"no version of {need.name} matches '{need}'"
    if constraints:
        text += " with constraint " + ", ".join(f"'{c}' ({c.origin})" for c in constraints)
    text += f" (available: {compact_versions(r.version for r in releases)})"
    reasons = _exclusions([need, *constraints], catalog, target)
    if reasons:
        text += "; excluded: " + "; ".join(reasons)
    return NoVersionError(text + via, hint=_no_version_hint(need.name, catalog, reasons))


def _no_version_hint(name: NormalizedName, catalog: Catalog, reasons: Sequence[str]) -> str:
    """What to change; a file format rule that excluded a release is named first."""
    policy = catalog.file_policy(name)
    if policy is FilePolicy.ONLY_BINARY and any("(binary only)" in r for r in reasons):
        return f"let {name} build from source (it is under --only-binary), or loosen the version"
    if policy is FilePolicy.NO_BINARY and any("binaries are not allowed" in r for r in reasons):
        return f"let {name} install from a wheel (it is under --no-binary), or loosen the version"
    return "loosen the version specifier"


def dead_end_error(
    top: Need,
    below: Sequence[DeadEnd],
    user_needs: Callable[[NormalizedName], Sequence[Need]],
    catalog: Catalog,
    trail: NeedTrail,
    target: Target,
) -> ClocheError:
    """The error for ``top``, every version of which leads down to a conflict.

    The newest version's chain is told: the path from the user down to the
    requirement that nothing can satisfy, and what it collides with.
    """
    chain = below[0].chain()
    last = chain[-1]
    if last.need.name != PYTHON and not catalog.matches_alone(last.need):
        return no_version_error(last.need, catalog, trail, target)
    tracer = _Tracer(trail.by_key)
    if top.parent is None:
        start = [_user_step(top)]
    else:
        start = [*tracer.steps_to(top.parent), _step(top.parent, top)]
    name = last.need.name
    step = _step(last.candidate, last.need)
    if name == PYTHON:
        head = f"{step}, but the target is Python {target.python_version}"
    else:
        blockers = [_user_step(n) for n in user_needs(name)]
        blockers += [f"constraint {c} ({c.origin})" for c in catalog.constraints_for(name)]
        if blockers:
            head = f"{step}, but " + ", ".join(_unique(blockers))
        else:
            head = f"{step}, but no version of {name} fits it"
    lines = ["cannot resolve: the requirements conflict", f"  {head}"]
    path = [*start, *(_step(d.candidate, d.need) for d in chain[:-1])]
    lines.append("  " + " -> ".join(path if len(path) == 1 else [*path, step]))
    if name != PYTHON:
        lines.append(f"  versions of {name} considered: {_considered(name, catalog)}")
    if len(below) > 1:
        versions = compact_versions(d.candidate.version for d in below)
        lines.append(f"  every version of {top.name} that fits ({versions}) ends in a conflict")
    return ResolutionError(
        "\n".join(lines),
        hint="loosen one of these requirements, or pin a version that fits them all",
    )
