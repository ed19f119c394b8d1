"""``cloche pip show``."""

from __future__ import annotations

import click

from cloche.cli.context import app
from cloche.cli.env_target import target_environment
from cloche.cli.options import env_options


@click.command("show")
@click.argument("packages", nargs=-1, required=True)
@click.option("-f", "--files", is_flag=True, help="Also list the installed files.")
@env_options
@click.pass_context
def command(
    ctx: click.Context, /, packages: tuple[str, ...], files: bool, python: str | None, system: bool
) -> None:
    """Show details of installed PACKAGES."""
    from cloche.errors import ClocheError
    from cloche.ops import inspect

    interpreter = target_environment(app(ctx), python, system)
    found, missing = inspect.show(interpreter, list(packages))
    for i, info in enumerate(found):
        if i:
            click.echo("---")
        for key, value in info.fields:
            click.echo(f"{key}: {value}")
        if files:
            click.echo("Files:")
            record = info.dist.dist_info / "RECORD"
            for line in record.read_text("utf-8").splitlines() if record.exists() else []:
                click.echo(f"  {line.split(',')[0]}")
    if missing:
        raise ClocheError(f"package(s) not installed: {', '.join(missing)}")
