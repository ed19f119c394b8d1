"""``cloche pip freeze``."""

from __future__ import annotations

import click

from cloche.cli.context import app
from cloche.cli.env_target import target_environment
from cloche.cli.options import env_options


@click.command("freeze")
@click.option(
    "--exclude", multiple=True, metavar="NAME", help="Leave this package out (repeatable)."
)
@env_options
@click.pass_context
def command(
    ctx: click.Context, /, exclude: tuple[str, ...], python: str | None, system: bool
) -> None:
    """Print installed packages in requirements format (name==version)."""
    from cloche.core.models import normalize
    from cloche.ops import inspect

    interpreter = target_environment(app(ctx), python, system)
    click.echo(
        inspect.freeze(interpreter, exclude=frozenset(normalize(n) for n in exclude)), nl=False
    )
