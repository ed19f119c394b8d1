"""``cloche pip list``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cloche.cli.context import app
from cloche.cli.options import (
    env_options,
    index_flags,
    index_options,
    path_interpreter,
    path_options,
)


@click.command("list")
@click.option(
    "-o", "--outdated", is_flag=True, help="Only packages with a newer release on the index."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["columns", "freeze", "json"]),
    default="columns",
    help="Output format.",
)
@path_options
@env_options
@index_options
@click.pass_context
def command(
    ctx: click.Context,
    /,
    outdated: bool,
    fmt: str,
    paths: tuple[Path, ...],
    python: str | None,
    system: bool,
    **kwargs: object,
) -> None:
    """List the packages installed in the environment."""
    from cloche.ops import inspect

    state = app(ctx)
    interpreter = path_interpreter(state, python, system, paths)
    if outdated:
        settings = state.settings(**index_flags(dict(kwargs)))
        rows = [
            (o.name, str(o.version), str(o.latest))
            for o in inspect.outdated(interpreter, settings, paths)
        ]
        if fmt == "json":
            click.echo(
                json.dumps(
                    [{"name": n, "version": v, "latest_version": latest} for n, v, latest in rows]
                )
            )
        elif fmt == "freeze":
            for name, version, _latest in rows:
                click.echo(f"{name}=={version}")
        else:
            _columns([("Package", "Version", "Latest"), *rows])
        return
    dists = inspect.installed(interpreter, paths)
    pairs = [(d.display_name or d.name, str(d.version)) for d in dists]
    if fmt == "json":
        click.echo(json.dumps([{"name": n, "version": v} for n, v in pairs]))
    elif fmt == "freeze":
        for name, version in pairs:
            click.echo(f"{name}=={version}")
    else:
        _columns([("Package", "Version"), *pairs])


def _columns(rows: list[tuple[str, ...]]) -> None:
    if len(rows) == 1:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [rows[0], tuple("-" * w for w in widths), *rows[1:]]
    for row in lines:
        click.echo(" ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
