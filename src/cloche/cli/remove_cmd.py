"""``cloche remove``."""

from __future__ import annotations

import click

from cloche.cli.context import app
from cloche.cli.options import dependency_list_options


@click.command("remove")
@click.argument("packages", nargs=-1, required=True)
@dependency_list_options("Remove from")
@click.pass_context
def command(
    ctx: click.Context,
    packages: tuple[str, ...],
    group: str | None,
    dev: bool,
    optional: str | None,
    no_sync: bool,
) -> None:
    """Remove PACKAGES from pyproject.toml, lock, and sync (which uninstalls them).

    \b
    Examples:
      cloche remove pandas
      cloche remove --dev pytest
    """
    from cloche.cli.project_options import project_settings
    from cloche.cli.project_sync import default_sync
    from cloche.ops.named_locks import route_for_lock
    from cloche.ops.project.edit import (
        commit,
        lock_edit,
        read_pyproject,
        spec_from_text,
        with_removed,
        without_unused_sources,
    )
    from cloche.ops.project.environment import find_project, project_interpreter

    if dev:
        if group not in (None, "dev"):
            raise click.UsageError("--dev and --group cannot be used together")
        group = "dev"
    state = app(ctx)
    spec = find_project()
    text = with_removed(read_pyproject(spec.root), packages, group=group, optional=optional)
    text = without_unused_sources(spec.root, text)
    # The torch family stays routed to its build while the new text still names it.
    new_spec = spec_from_text(spec.root, text)
    settings = route_for_lock(project_settings(state, spec), new_spec).settings
    interpreter = project_interpreter(spec, settings.cache_dir)
    try:
        edit = lock_edit(spec.root, text, state.services(settings), interpreter)
    finally:
        state.reporter.close()
    commit(spec.root, edit)
    state.reporter.info(f"Removed {', '.join(packages)}")
    default_sync(state, no_sync)
