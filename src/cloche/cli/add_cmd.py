"""``cloche add``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from cloche.cli.context import app
from cloche.cli.options import dependency_list_options

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.config import Settings
    from cloche.core.models import NormalizedName
    from cloche.core.project.spec import ProjectSpec
    from cloche.ops.accelerated import Routed
    from cloche.ops.prepare.trees import SourceTrees


@click.command("add")
@click.argument("packages", nargs=-1, required=True)
@click.option(
    "-e",
    "--editable",
    is_flag=True,
    help="Add local project directories editable: changes to their code show at once.",
)
@dependency_list_options("Add to")
@click.pass_context
def command(
    ctx: click.Context,
    packages: tuple[str, ...],
    editable: bool,
    group: str | None,
    dev: bool,
    optional: str | None,
    no_sync: bool,
) -> None:
    """Add PACKAGES to pyproject.toml, lock, and sync.

    A package named without a version gets '>=' the version locked. A local
    directory is added by name, with its path (relative to the project) under
    [tool.cloche.sources]. If the lock fails (unknown package, conflict), or the
    install after it, pyproject.toml and pylock.toml are left as they were.

    \b
    Examples:
      cloche add numpy "pandas>=2"
      cloche add --dev pytest
      cloche add --optional viz matplotlib
      cloche add -e ./libs/mylib
      cloche add torch torchvision   # the build for this machine, from its own index
      cloche add jax                 # jax[cuda12] or jax[cuda13] on an NVIDIA machine

    A project with named locks (pylock.cpu.toml, pylock.cu128.toml) and no pylock.toml
    gets each named lock re-made for its own accelerator.
    """
    from cloche.cli.project_options import project_settings
    from cloche.cli.project_sync import default_sync
    from cloche.core.models import normalize
    from cloche.core.project.spec import PYPROJECT
    from cloche.ops.accelerated import with_extras
    from cloche.ops.project.edit import (
        commit,
        local_sources,
        lock_edit,
        parse_args,
        read_pyproject,
        with_added,
    )
    from cloche.ops.project.environment import find_project, project_interpreter

    if dev:
        if group not in (None, "dev"):
            raise click.UsageError("--dev and --group cannot be used together")
        group = "dev"
    state = app(ctx)
    spec = find_project()
    packages = _named(state, spec, packages)  # git+https://... -> name @ git+https://...
    names = tuple(r.name for r in parse_args(packages))
    routes = _routes(project_settings(state, spec), spec, names)
    packages = tuple(with_extras(packages, routes.extras))  # jax -> jax[cuda12]
    reqs, sources = local_sources(spec.root, parse_args(packages), editable=editable)
    text = with_added(
        read_pyproject(spec.root), reqs, group=group, optional=optional, sources=sources
    )
    pin_bare = [r for r in reqs if normalize(r.name) not in sources]  # one version each
    interpreter = project_interpreter(spec, routes.each[0][1].settings.cache_dir)
    edits = []
    try:
        for lock_name, routed in routes.each:
            for warning in routed.warnings:
                state.reporter.warning(warning)
            if routed.line is not None:
                state.reporter.info(routed.line)
            edit = lock_edit(
                spec.root,
                text,
                state.services(routed.settings),
                interpreter,
                pin_bare=pin_bare,
                group=group,
                optional=optional,
                lock_name=lock_name,
            )
            edits.append(edit)
            text, pin_bare = edit.pyproject_text, []  # every lock gets the first's bounds
    finally:
        state.reporter.close()
    committed = []
    try:
        for edit in edits:
            committed.append(commit(spec.root, edit))
    except BaseException:
        for done in reversed(committed):
            done.undo()
        raise
    where = f"group {group!r}" if group else f"extra {optional!r}" if optional else "dependencies"
    written = _written(edits[-1].spec, [r.name for r in reqs], group, optional)
    state.reporter.info(f"Added {', '.join(written)} to {where}")
    try:
        default_sync(state, no_sync)
    except BaseException:
        # The env could not get it: the project must not claim it (uv does the same).
        for done in reversed(committed):
            done.undo()
        locks = " and ".join(edit.spec.lock_file for edit in edits)
        state.reporter.info(f"{PYPROJECT} and {locks} are back as they were")
        raise


def _named(state: AppContext, spec: ProjectSpec, packages: tuple[str, ...]) -> tuple[str, ...]:
    """``packages`` with each URL or path written without ``name @`` named from its
    metadata (a checkout, maybe a build, with the project's Python)."""
    from cloche.cli.project_options import project_settings
    from cloche.ops.prepare.naming import name_arguments
    from cloche.ops.project.environment import project_interpreter

    settings = project_settings(state, spec)

    def trees() -> SourceTrees:
        interpreter = project_interpreter(spec, settings.cache_dir)
        return state.services(settings).sources(interpreter).trees

    return name_arguments(packages, settings.cache_dir, trees, state.reporter)


@dataclass(frozen=True, slots=True)
class _Routes:
    """Each lock ``add`` re-makes (None: pylock.toml) with the settings to lock it with, and
    the CUDA extras this machine's lock takes (``jax -> cuda12``)."""

    each: tuple[tuple[str | None, Routed], ...]
    extras: Mapping[NormalizedName, str]


def _routes(settings: Settings, spec: ProjectSpec, names: tuple[str, ...]) -> _Routes:
    """A project with named locks and no pylock.toml gets each named lock re-made for its
    own accelerator; any other gets pylock.toml."""
    from dataclasses import replace

    from cloche.core.project.spec import LOCKFILE
    from cloche.ops.gpu_relevance import named_locks
    from cloche.ops.named_locks import LockRefused, pick_lock, route_for_lock

    present = named_locks(spec.root)
    if not present or (spec.root / LOCKFILE).is_file():
        routed = route_for_lock(settings, spec, more_names=names)
        return _Routes(((None, routed),), routed.extras)
    each = tuple(
        (name, route_for_lock(settings, replace(spec, lock_name=name), more_names=names))
        for name in present
    )
    try:
        mine = pick_lock(settings, spec.root, None, None)
    except LockRefused:
        mine = None
    extras = next((routed.extras for name, routed in each if name == mine), {})
    return _Routes(each, extras)


def _written(
    spec: ProjectSpec, names: list[str], group: str | None, optional: str | None
) -> list[str]:
    """The requirement strings now in pyproject.toml for ``names``."""
    from cloche.core.models import normalize

    if group:
        reqs = spec.dependency_groups.get(normalize(group), ())
    elif optional:
        reqs = spec.optional_dependencies.get(normalize(optional), ())
    else:
        reqs = spec.dependencies
    wanted = {normalize(n) for n in names}
    return [str(r) for r in reqs if normalize(r.name) in wanted] or names
