"""``cloche shell``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.project_options import lock_mode, selection_from, selection_options


@click.command("shell")
@click.option("--frozen", is_flag=True, help="Install pylock.toml as it is first.")
@click.option("--locked", is_flag=True, help="Fail if pylock.toml is out of date.")
@click.option(
    "-n", "--name", "env_name", default=None, metavar="NAME", help="Activate this named env."
)
@selection_options
@click.pass_context
def command(
    ctx: click.Context, /, frozen: bool, locked: bool, env_name: str | None, **kwargs: Any
) -> None:
    """Start a sub-shell ($SHELL) with the project's environment activated.

    VIRTUAL_ENV and PATH point at .venv; 'exit' returns to the previous shell.
    """
    from cloche.ops.project.run import run_shell
    from cloche.ops.stamp import check_stamp

    state = app(ctx)
    if env_name is not None:
        from cloche.ops.named_env import named_env

        venv = named_env(env_name)
        state.reporter.info(f"Entering environment {env_name!r} ('exit' to leave)")
        sys.exit(run_shell(venv))
    mode = lock_mode(frozen, locked)
    selection = selection_from(kwargs)
    synced = check_stamp(Path.cwd(), selection, need_fresh=not frozen)
    if synced is not None:
        venv = Path(synced.venv)
    else:
        from cloche.cli.project_sync import sync_now

        venv = Path(sync_now(state, selection, mode).interpreter.prefix)
    state.reporter.info(f"Entering {venv} ('exit' to leave)")
    sys.exit(run_shell(venv))
