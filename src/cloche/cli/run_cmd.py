"""``cloche run``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.lock_choice import lock_choice_from, lock_choice_options
from cloche.cli.project_options import lock_mode, selection_from, selection_options


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--frozen", is_flag=True, help="Install pylock.toml as it is before running.")
@click.option("--locked", is_flag=True, help="Fail if pylock.toml is out of date.")
@click.option("--no-sync", is_flag=True, help="Run in .venv as it is, without syncing.")
@click.option(
    "--exact",
    is_flag=True,
    help="Also remove packages the lock does not select (installed by hand, or by an "
    "earlier --extra), as 'cloche sync' does; by default they stay.",
)
@click.option(
    "-n", "--name", "env_name", default=None, metavar="NAME", help="Run in this named environment."
)
@selection_options
@lock_choice_options
@click.argument(
    "argv", nargs=-1, type=click.UNPROCESSED, required=True, metavar="COMMAND [ARGS]..."
)
@click.pass_context
def command(
    ctx: click.Context,
    /,
    argv: tuple[str, ...],
    frozen: bool,
    locked: bool,
    no_sync: bool,
    exact: bool,
    env_name: str | None,
    **kwargs: Any,
) -> None:
    """Run COMMAND inside the project's environment (syncing it first when needed).

    The exit code is COMMAND's. Options for cloche go before COMMAND.

    \b
    Examples:
      cloche run python train.py --epochs 3
      cloche run pytest -x
      cloche run -n ml_env python train.py
      cloche run --accelerator cu128 python train.py   # with pylock.cu128.toml
    """
    from cloche.ops.project.run import run_in

    if env_name is not None:
        from cloche.ops.named_env import named_env

        sys.exit(run_in(named_env(env_name), argv))
    from cloche.ops.stamp import VENV_NAME, check_stamp

    state = app(ctx)
    mode = lock_mode(frozen, locked)
    selection = selection_from(kwargs)
    choice = lock_choice_from(kwargs)
    synced = None
    if not choice.needs_detection:
        lock_file = choice.lock_file()
        synced = check_stamp(
            Path.cwd(), selection, need_fresh=not frozen, exact=exact, lock_file=lock_file
        )
    if synced is not None:
        venv = Path(synced.venv)
    elif no_sync:
        from cloche.errors import UnusableEnvError
        from cloche.ops.project.environment import find_project

        venv = find_project().root / VENV_NAME
        if not venv.is_dir():
            raise UnusableEnvError(f"{venv} does not exist; run 'cloche sync' first")
    else:
        from cloche.cli.project_sync import sync_now

        result = sync_now(state, selection, mode, exact=exact, choice=choice)
        venv = Path(result.interpreter.prefix)
    state.close()  # a --no-cache cache goes now: this process becomes COMMAND
    sys.exit(run_in(venv, argv, project=venv.parent))
