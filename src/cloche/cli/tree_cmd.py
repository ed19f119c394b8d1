"""``cloche tree``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cloche.cli.context import AppContext, app

if TYPE_CHECKING:
    from cloche.core.dep_graph import Graph


def locked_graph(state: AppContext) -> Graph:
    """The project's lock as a graph; warns when the lock is stale. No network."""
    from cloche.cli.project_options import project_settings
    from cloche.core.lock.inputs import is_fresh
    from cloche.core.project.spec import LOCKFILE
    from cloche.errors import ProjectError
    from cloche.ops.lock import STALE_MESSAGE, read_lock
    from cloche.ops.project.environment import find_project
    from cloche.ops.project.graph import build_graph

    spec = find_project()
    lock = read_lock(spec.lock_path)
    if lock is None:
        raise ProjectError(f"no {LOCKFILE} in {spec.root}; run 'cloche lock' first")
    if not is_fresh(lock, spec, project_settings(state, spec).index_urls):
        state.reporter.warning(STALE_MESSAGE)
    return build_graph(lock, spec)


@click.command("tree")
@click.option("--invert", is_flag=True, help="Show each package with what depends on it.")
@click.pass_context
def command(ctx: click.Context, invert: bool) -> None:
    """Show the project's dependency tree, from pylock.toml.

    (*) marks a package whose dependencies were shown above.
    """
    from cloche.core.dep_graph import render_tree

    graph = locked_graph(app(ctx))
    click.echo(render_tree(graph, invert=invert), nl=False)
