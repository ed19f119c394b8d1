"""``cloche export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.lock_choice import lock_choice_from, lock_choice_options


@click.group("export")
def command() -> None:
    """Export the lock to other formats."""


@command.command("requirements")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file (default: standard output).",
)
@click.option("--hashes", is_flag=True, help="Add --hash=sha256:... for every locked file.")
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="GROUP",
    help="Include this dependency group (repeatable).",
)
@click.option("--all-groups", is_flag=True, help="Include every dependency group.")
@click.option("--no-default-groups", is_flag=True, help="Leave out the default groups (dev).")
@click.option("--extra", "extras", multiple=True, metavar="EXTRA", help="Include this extra.")
@click.option("--all-extras", is_flag=True, help="Include every extra.")
@lock_choice_options
@click.pass_context
def requirements(
    ctx: click.Context,
    /,
    output: Path | None,
    hashes: bool,
    groups: tuple[str, ...],
    all_groups: bool,
    no_default_groups: bool,
    extras: tuple[str, ...],
    all_extras: bool,
    **kwargs: Any,
) -> None:
    """A requirements.txt for pip users, from pylock.toml: name==version lines, with
    markers for packages only some platforms need.

    \b
    Examples:
      cloche export requirements -o requirements.txt
      cloche export requirements --hashes --no-default-groups
      cloche export requirements --lock cu128   # from pylock.cu128.toml
    """
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.cli.export_formats import read_locked
    from cloche.ops.project.export import ExportRequest, render_requirements

    state = app(ctx)
    locked = read_locked(state, lock_choice_from(kwargs))
    request = ExportRequest(
        groups=groups,
        all_groups=all_groups,
        no_default_groups=no_default_groups,
        extras=extras,
        all_extras=all_extras,
        hashes=hashes,
    )
    text = render_requirements(
        locked.lock,
        locked.spec.root,
        locked.python,
        locked.targets,
        request,
        locked.settings.index_urls,
        locked.spec.lock_file,
        universe=locked.spec.targets,
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
        state.reporter.info(f"Wrote {output}")


def _add_formats() -> None:
    from cloche.cli.export_formats import conda, docker

    command.add_command(conda)
    command.add_command(docker)


_add_formats()
