"""``cloche why``."""

from __future__ import annotations

import click

from cloche.cli.context import app


@click.command("why")
@click.argument("package")
@click.pass_context
def command(ctx: click.Context, package: str) -> None:
    """Show why PACKAGE is in the lock: every path from a project requirement to it.

    \b
    Example:
      cloche why numpy      # pandas -> numpy
    """
    from cloche.cli.tree_cmd import locked_graph
    from cloche.ops.project.graph import why

    for line in why(locked_graph(app(ctx)), package):
        click.echo(line)
