"""The entry point: requirements + finder + target -> Resolution (or an explained error)."""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cloche.core.finder import PackageFinder
from cloche.core.models import (
    DistFile,
    NormalizedName,
    Resolution,
    ResolvedPackage,
    Target,
    UserRequirement,
)
from cloche.core.report import NullReporter, Reporter
from cloche.core.resolver.model import PYTHON, Candidate, Need, marker_applies
from cloche.core.resolver.options import ResolveOptions
from cloche.errors import ClocheError, RequirementError, ResolutionError

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

    from cloche.core.resolver.provider import Provider

_DEFAULT_OPTIONS = ResolveOptions()


def _user_needs(requirements: Sequence[UserRequirement], target: Target) -> list[Need]:
    env = target.markers
    return [
        Need.from_requirement(user.requirement, origin=user.origin)
        for user in requirements
        if marker_applies(user.requirement.marker, env)
    ]


def _constraint_needs(constraints: Sequence[UserRequirement], target: Target) -> list[Need]:
    needs = []
    for user in constraints:
        if user.requirement.extras:
            raise RequirementError(
                f"constraint '{user.requirement}' ({user.origin}) has extras; "
                "constraints cannot have extras, remove them"
            )
        if marker_applies(user.requirement.marker, target.markers):
            needs.append(Need.from_requirement(user.requirement, origin=user.origin))
    return needs


def resolve(
    requirements: Sequence[UserRequirement],
    finder: PackageFinder,
    target: Target,
    options: ResolveOptions = _DEFAULT_OPTIONS,
    reporter: Reporter | None = None,
) -> Resolution:
    """Pin a version of every package ``requirements`` need on ``target``.

    Raises NoVersionError (unknown package, nothing matches) or ResolutionError
    (requirements conflict), each with a plain-text explanation.
    """
    from resolvelib import ResolutionImpossible, ResolutionTooDeep

    from cloche.core.resolver.progress import ResolverProgress
    from cloche.core.resolver.provider import Provider
    from cloche.core.resolver.rounds import RoundsResolver

    reporter = reporter or NullReporter()
    user_needs = _user_needs(requirements, target)
    constraints = _constraint_needs(options.constraints, target)
    provider = Provider(finder, target, options, user_needs, constraints, reporter)
    provider.prefetch_roots(user_needs)
    task_id = reporter.started("Resolving dependencies")
    progress = ResolverProgress(reporter, task_id)
    resolver = RoundsResolver(provider, progress)
    try:
        with _collector_paused():
            result = resolver.resolve(user_needs, max_rounds=options.max_rounds)
    except ResolutionImpossible as exc:
        raise _impossible(exc.causes, provider, target) from None
    except ResolutionTooDeep as exc:
        raise ResolutionError(
            f"cannot resolve: gave up after {exc.round_count} rounds of backtracking",
            hint="pin some of the packages involved to narrow the search",
        ) from None
    finally:
        reporter.debug(f"resolver: {progress.rounds} rounds")
        reporter.finished(task_id)
    editable = {user.name for user in requirements if user.editable}
    resolution = _resolution(list(result.mapping.values()), user_needs, editable, provider, target)
    for package in resolution.packages:
        reason = package.chosen.yanked if package.chosen is not None else None
        if reason is not None:
            why = f" ({reason})" if reason else ""
            reporter.warning(f"{package.name} {package.version} is yanked{why}; pinned with ==")
    return resolution


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while resolving, and what it made is then frozen.

    A resolve makes hundreds of thousands of objects (versions, files, needs) and
    almost no cycles, yet each pass of the collector over them cost 20-50 ms of a
    warm ``pip compile``; frozen afterwards, they are not walked by the pass that
    would otherwise come right after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _impossible(
    causes: Collection[RequirementInformation[Need, Candidate]], provider: Provider, target: Target
) -> ClocheError:
    from cloche.core.resolver.deadends import first_dead_need
    from cloche.core.resolver.explain import conflict_error, dead_end_error, no_version_error

    catalog, trail = provider.catalog, provider.trail
    for cause in causes:
        need = cause.requirement
        if need.name != PYTHON and not catalog.matches_alone(need):
            return no_version_error(need, catalog, trail, target)
    # The user's own requirements first: the path then starts where the user does.
    user_needs = provider.trail.user_needs()
    dead = first_dead_need([*user_needs, *(c.requirement for c in causes)], provider.dead_ends)
    if dead is not None:
        need, below = dead
        return dead_end_error(need, below, provider.dead_ends.user_needs, catalog, trail, target)
    return conflict_error(list(causes), catalog, trail, target)


def _resolution(
    pinned: Sequence[Candidate],
    user_needs: Sequence[Need],
    editable: set[NormalizedName],
    provider: Provider,
    target: Target,
) -> Resolution:
    by_name: dict[NormalizedName, list[Candidate]] = {}
    for candidate in pinned:
        if candidate.name != PYTHON:
            by_name.setdefault(candidate.name, []).append(candidate)
    dependencies: dict[NormalizedName, set[NormalizedName]] = {name: set() for name in by_name}
    dependents: dict[NormalizedName, set[NormalizedName]] = {name: set() for name in by_name}
    for name, candidates in by_name.items():
        for candidate in candidates:
            for need in provider.get_dependencies(candidate):
                if need.name != name and need.name in by_name:
                    dependencies[name].add(need.name)
                    dependents[need.name].add(name)
    packages = []
    for name in sorted(by_name):
        candidates = by_name[name]
        base = min(candidates, key=lambda c: len(c.extras))
        origins = [n.origin for n in user_needs if n.name == name and n.origin is not None]
        packages.append(
            _package(
                base,
                frozenset().union(*(c.extras for c in candidates)),
                tuple(sorted(dependencies[name])),
                (*sorted(dependents[name]), *dict.fromkeys(origins)),
                name in editable,
                provider,
            )
        )
    return Resolution(target=target, packages=tuple(packages))


def _package(
    base: Candidate,
    extras: frozenset[NormalizedName],
    dependencies: tuple[NormalizedName, ...],
    requested_by: tuple[str, ...],
    editable: bool,
    provider: Provider,
) -> ResolvedPackage:
    files: Sequence[DistFile]
    if base.direct_url is not None:
        chosen = provider.direct_file(base.direct_url)
        files = (chosen,) if chosen is not None else ()
    else:
        assert base.release is not None
        chosen, files = base.release.chosen, base.release.files
    metadata = provider.metadata_of(base)
    requires_python = metadata.requires_python if metadata is not None else None
    if requires_python is None and base.release is not None:
        requires_python = base.release.requires_python
    return ResolvedPackage(
        name=base.name,
        version=base.version,
        files=files,
        chosen=chosen,
        extras=extras,
        dependencies=dependencies,
        requested_by=requested_by,
        direct_url=base.direct_url,
        editable=editable and base.direct_url is not None,
        requires_python=requires_python,
    )
