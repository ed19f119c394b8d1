"""``cloche pip freeze``."""

from __future__ import annotations

from pathlib import Path

import click

from cloche.cli.context import app
from cloche.cli.options import env_options, path_interpreter, path_options


@click.command("freeze")
@click.option(
    "--exclude", multiple=True, metavar="NAME", help="Leave this package out (repeatable)."
)
@click.option("--exclude-editable", is_flag=True, help="Leave editable installs out.")
@path_options
@env_options
@click.pass_context
def command(
    ctx: click.Context,
    /,
    exclude: tuple[str, ...],
    exclude_editable: bool,
    paths: tuple[Path, ...],
    python: str | None,
    system: bool,
) -> None:
    """Print installed packages in requirements format (name==version)."""
    from cloche.core.models import normalize
    from cloche.ops import inspect

    interpreter = path_interpreter(app(ctx), python, system, paths)
    excluded = frozenset(normalize(n) for n in exclude)
    frozen = inspect.freeze(
        interpreter, exclude=excluded, paths=paths, exclude_editable=exclude_editable
    )
    click.echo(frozen, nl=False)
