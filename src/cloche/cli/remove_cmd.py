"""``cloche remove``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cloche.cli.context import app
from cloche.cli.options import dependency_list_options

if TYPE_CHECKING:
    from cloche.config import Settings


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

    A project with named locks (pylock.cpu.toml, pylock.cu128.toml) and no pylock.toml
    gets each named lock re-made for its own accelerator: all of them, or none.
    """
    from cloche.cli.lock_edits import edit_each, lock_routes
    from cloche.cli.project_options import project_settings
    from cloche.cli.project_sync import default_sync
    from cloche.ops.project.edit import (
        Edit,
        commit_each,
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
    routes = lock_routes(project_settings(state, spec), spec_from_text(spec.root, text))
    interpreter = project_interpreter(spec, routes.first.cache_dir)

    def make(lock_name: str | None, settings: Settings) -> Edit:
        services = state.services(settings)
        return lock_edit(spec.root, text, services, interpreter, lock_name=lock_name)

    commit_each(spec.root, edit_each(state, routes, make))
    state.reporter.info(f"Removed {', '.join(packages)}")
    default_sync(state, no_sync)
