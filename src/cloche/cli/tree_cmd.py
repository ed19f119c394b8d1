"""``cloche tree``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cloche.cli.context import AppContext, app
from cloche.cli.lock_choice import (
    NO_CHOICE,
    LockChoice,
    lock_choice_from,
    lock_choice_options,
    project_lock,
)

if TYPE_CHECKING:
    from cloche.core.dep_graph import Graph


def locked_graph(state: AppContext, choice: LockChoice = NO_CHOICE) -> Graph:
    """The project's lock as a graph; warns when the lock is stale. No network."""
    from cloche.core.lock.inputs import is_fresh
    from cloche.errors import ProjectError
    from cloche.ops.lock import read_lock, stale_message
    from cloche.ops.project.graph import build_graph

    project = project_lock(state, choice)
    spec = project.spec
    lock = read_lock(spec.lock_path)
    if lock is None:
        raise ProjectError(f"no {spec.lock_file} in {spec.root}; run 'cloche lock' first")
    if not is_fresh(lock, spec, project.settings.index_urls):
        state.reporter.warning(stale_message(spec))
    return build_graph(lock, spec)


@click.command("tree")
@click.option("--invert", is_flag=True, help="Show each package with what depends on it.")
@lock_choice_options
@click.pass_context
def command(ctx: click.Context, /, invert: bool, **kwargs: Any) -> None:
    """Show the project's dependency tree, from pylock.toml.

    (*) marks a package whose dependencies were shown above.
    """
    from cloche.core.dep_graph import render_tree

    graph = locked_graph(app(ctx), lock_choice_from(kwargs))
    click.echo(render_tree(graph, invert=invert), nl=False)
