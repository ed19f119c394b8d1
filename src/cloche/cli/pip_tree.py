"""``cloche pip tree``."""

from __future__ import annotations

import click

from cloche.cli.context import app
from cloche.cli.env_target import target_environment
from cloche.cli.options import env_options


@click.command("tree")
@click.option("--invert", is_flag=True, help="Show each package with what depends on it.")
@env_options
@click.pass_context
def command(ctx: click.Context, /, invert: bool, python: str | None, system: bool) -> None:
    """Show the environment's packages as a dependency tree.

    The top level holds the packages nothing else installed depends on (what was
    asked for, or left behind); (*) marks a package whose dependencies were shown
    above.
    """
    from cloche.core.dep_graph import render_tree
    from cloche.ops import inspect

    interpreter = target_environment(app(ctx), python, system)
    click.echo(render_tree(inspect.env_graph(interpreter), invert=invert), nl=False)
