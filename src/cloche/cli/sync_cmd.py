"""``cloche sync``.

The no-op fast path (the env stamp matches) imports nothing beyond click and the
standard library: no packaging, httpx, resolvelib or rich.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.lock_choice import lock_choice_from, lock_choice_options
from cloche.cli.project_options import lock_mode, selection_from, selection_options
from cloche.cli.project_sync import sync_now
from cloche.cli.sync_fast import UP_TO_DATE


@click.command("sync")
@click.option(
    "--frozen",
    is_flag=True,
    help="Install pylock.toml as it is, without checking it against pyproject.toml.",
)
@click.option(
    "--locked",
    is_flag=True,
    help="Fail (exit 1) if pylock.toml is missing or out of date (for CI).",
)
@selection_options
@lock_choice_options
@click.option("--offline", is_flag=True, default=None, help="Never touch the network.")
@click.option(
    "-f",
    "--find-links",
    multiple=True,
    metavar="DIR",
    help="Take locked files from this folder (or a 'cloche bundle' directory) when it "
    "has them, checked against the lock's hashes (repeatable).",
)
@click.pass_context
def command(
    ctx: click.Context,
    /,
    frozen: bool,
    locked: bool,
    offline: bool | None,
    find_links: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Make the project's .venv hold exactly what pylock.toml selects for this machine.

    Locks first when pylock.toml is missing or stale (unless --frozen or --locked).
    Packages not in the lock are removed. With named locks (pylock.cpu.toml,
    pylock.cu128.toml) and no pylock.toml, the one this machine can run is used; a
    lock whose CUDA build the driver or GPU cannot run is refused before installing.

    \b
    Examples:
      cloche sync
      cloche sync --locked          # CI: fail instead of re-locking
      cloche sync --group docs --extra viz
      cloche sync --offline --find-links ./bundle   # from 'cloche bundle', no network
      cloche sync --accelerator cu128   # pylock.cu128.toml
    """
    from cloche.ops.stamp import check_stamp

    state = app(ctx)
    mode = lock_mode(frozen, locked)
    selection = selection_from(kwargs)
    choice = lock_choice_from(kwargs)
    if not choice.needs_detection:
        lock_file = choice.lock_file()
        if check_stamp(Path.cwd(), selection, need_fresh=not frozen, lock_file=lock_file):
            if state.verbosity >= 0:
                click.echo(UP_TO_DATE, err=True)
            return
    sync_now(state, selection, mode, offline=offline, find_links=find_links or None, choice=choice)
