"""``cloche upgrade``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cloche.cli.context import app

if TYPE_CHECKING:
    from packaging.pylock import Pylock

    from cloche.config import Settings
    from cloche.core.report import Reporter


def print_changes(
    reporter: Reporter, before: Pylock | None, after: Pylock, *, verbose_only: bool = False
) -> int:
    """``name 1.0 -> 2.0`` lines (``+`` added, ``-`` gone); returns how many changed."""
    from cloche.ops.lock import version_changes

    changes = version_changes(before, after)
    say = reporter.debug if verbose_only else reporter.info
    for name, old, new in changes:
        old_text = ", ".join(str(v) for v in old)
        new_text = ", ".join(str(v) for v in new)
        if not old:
            say(f"+ {name} {new_text}")
        elif not new:
            say(f"- {name} {old_text}")
        else:
            say(f"{name} {old_text} -> {new_text}")
    return len(changes)


@click.command("upgrade")
@click.argument("packages", nargs=-1)
@click.option("--no-sync", is_flag=True, help="Only re-lock; leave .venv as it is.")
@click.pass_context
def command(ctx: click.Context, packages: tuple[str, ...], no_sync: bool) -> None:
    """Re-lock with the newest versions pyproject.toml allows (all, or PACKAGES), then sync.

    \b
    Examples:
      cloche upgrade            # everything
      cloche upgrade pandas     # pandas only (and what it needs)

    A project with named locks (pylock.cpu.toml, pylock.cu128.toml) and no pylock.toml
    gets each named lock upgraded with its own accelerator's build: all, or none.
    """
    from dataclasses import replace

    from cloche.cli.lock_edits import edit_each, lock_routes
    from cloche.cli.project_options import project_settings
    from cloche.cli.project_sync import default_sync
    from cloche.ops.project.edit import Edit, commit_each, upgrade_lock
    from cloche.ops.project.environment import find_project, project_interpreter

    state = app(ctx)
    spec = find_project()
    settings = project_settings(state, spec, refresh=True)  # newer releases must be seen
    routes = lock_routes(settings, spec)
    interpreter = project_interpreter(spec, routes.first.cache_dir)

    def make(lock_name: str | None, settings: Settings) -> Edit:
        locked = replace(spec, lock_name=lock_name)
        return upgrade_lock(locked, state.services(settings), interpreter, packages)

    edits = edit_each(state, routes, make)
    for edit in edits:
        if len(edits) > 1:
            state.reporter.info(f"{edit.spec.lock_file}:")
        if print_changes(state.reporter, edit.previous, edit.lock) == 0:
            state.reporter.info(
                "Nothing to upgrade: every package is at the newest allowed version"
            )
    commit_each(spec.root, edits)
    for edit in edits:
        state.reporter.debug(f"Wrote {edit.spec.lock_file}")
    default_sync(state, no_sync)
