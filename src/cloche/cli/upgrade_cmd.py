"""``cloche upgrade``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cloche.cli.context import app

if TYPE_CHECKING:
    from packaging.pylock import Pylock

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
    """
    from cloche.cli.project_options import project_settings
    from cloche.cli.project_sync import default_sync
    from cloche.core.project.spec import LOCKFILE
    from cloche.ops.named_locks import route_for_lock
    from cloche.ops.project.edit import commit, upgrade_lock
    from cloche.ops.project.environment import find_project, project_interpreter

    state = app(ctx)
    spec = find_project()
    settings = project_settings(state, spec, refresh=True)  # newer releases must be seen
    settings = route_for_lock(settings, spec).settings
    interpreter = project_interpreter(spec, settings.cache_dir)
    try:
        edit = upgrade_lock(spec, state.services(settings), interpreter, packages)
    finally:
        state.reporter.close()
    if print_changes(state.reporter, edit.previous, edit.lock) == 0:
        state.reporter.info("Nothing to upgrade: every package is at the newest allowed version")
    commit(spec.root, edit)
    state.reporter.debug(f"Wrote {LOCKFILE}")
    default_sync(state, no_sync)
