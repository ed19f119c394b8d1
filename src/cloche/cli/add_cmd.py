"""``cloche add``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cloche.cli.context import app
from cloche.cli.options import dependency_list_options

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.config import Settings
    from cloche.core.project.spec import ProjectSpec
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
    from cloche.cli.lock_edits import edit_each, lock_files, lock_routes
    from cloche.cli.project_options import project_settings
    from cloche.cli.project_sync import default_sync
    from cloche.core.models import normalize
    from cloche.core.project.spec import PYPROJECT
    from cloche.ops.accelerated import with_extras
    from cloche.ops.project.edit import (
        Edit,
        commit_each,
        local_sources,
        lock_edit,
        parse_args,
        read_pyproject,
        undo_each,
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
    routes = lock_routes(project_settings(state, spec), spec, names)
    packages = tuple(with_extras(packages, routes.extras))  # jax -> jax[cuda12]
    reqs, sources = local_sources(spec.root, parse_args(packages), editable=editable)
    text = with_added(
        read_pyproject(spec.root), reqs, group=group, optional=optional, sources=sources
    )
    pin_bare = [r for r in reqs if normalize(r.name) not in sources]  # one version each
    interpreter = project_interpreter(spec, routes.first.cache_dir)

    def make(lock_name: str | None, settings: Settings) -> Edit:
        nonlocal text, pin_bare
        edit = lock_edit(
            spec.root,
            text,
            state.services(settings),
            interpreter,
            pin_bare=pin_bare,
            group=group,
            optional=optional,
            lock_name=lock_name,
        )
        text, pin_bare = edit.pyproject_text, []  # every lock gets the first's bounds
        return edit

    edits = edit_each(state, routes, make)
    committed = commit_each(spec.root, edits)
    where = f"group {group!r}" if group else f"extra {optional!r}" if optional else "dependencies"
    written = _written(edits[-1].spec, [r.name for r in reqs], group, optional)
    state.reporter.info(f"Added {', '.join(written)} to {where}")
    try:
        default_sync(state, no_sync)
    except BaseException:
        # The env could not get it: the project must not claim it (uv does the same).
        undo_each(committed)
        state.reporter.info(f"{PYPROJECT} and {lock_files(edits)} are back as they were")
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
