"""``cloche pip check``."""

from __future__ import annotations

import click

from cloche.cli.context import app
from cloche.cli.env_target import target_environment
from cloche.cli.options import env_options


@click.command("check")
@env_options
@click.pass_context
def command(ctx: click.Context, /, python: str | None, system: bool) -> None:
    """Verify that installed packages have compatible dependencies."""
    from cloche.ops import inspect

    interpreter = target_environment(app(ctx), python, system)
    problems = inspect.check_env(interpreter)
    for line in problems:
        click.echo(line)
    if problems:
        ctx.exit(1)
    click.echo("No broken requirements found.")
