"""``cloche pip list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cloche.cli.context import app
from cloche.cli.option_flags import index_flags
from cloche.cli.options import env_options, index_options, path_interpreter, path_options

if TYPE_CHECKING:
    from cloche.ops.inspect import Listed


@click.command("list")
@click.option(
    "-o", "--outdated", is_flag=True, help="Only packages with a newer release on the index."
)
@click.option("-e", "--editable", "only_editable", is_flag=True, help="Only editable installs.")
@click.option("--exclude-editable", is_flag=True, help="Leave editable installs out.")
@click.option(
    "--not-required",
    is_flag=True,
    help="Only packages that no other installed package depends on.",
)
@click.option(
    "--exclude", multiple=True, metavar="NAME", help="Leave this package out (repeatable)."
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
    only_editable: bool,
    exclude_editable: bool,
    not_required: bool,
    exclude: tuple[str, ...],
    fmt: str,
    paths: tuple[Path, ...],
    python: str | None,
    system: bool,
    **kwargs: object,
) -> None:
    """List the packages installed in the environment."""
    from cloche.core.models import normalize
    from cloche.ops import inspect

    state = app(ctx)
    interpreter = path_interpreter(state, python, system, paths)
    if outdated:
        settings = state.settings(**index_flags(dict(kwargs)))
        rows = [
            (o.name, str(o.version), str(o.latest))
            for o in inspect.outdated(interpreter, state.services(settings), paths)
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
    if only_editable and exclude_editable:
        raise click.UsageError("--editable and --exclude-editable cannot be used together")
    listed = inspect.listing(
        interpreter,
        paths,
        editable=True if only_editable else False if exclude_editable else None,
        exclude=frozenset(normalize(n) for n in exclude),
        not_required=not_required,
    )
    if fmt == "json":
        click.echo(json.dumps([_json_row(r) for r in listed]))
    elif fmt == "freeze":
        for row in listed:
            click.echo(f"{row.name}=={row.version}")
    elif any(r.editable_location for r in listed):
        header = ("Package", "Version", "Editable project location")
        _columns([header, *((r.name, str(r.version), r.editable_location or "") for r in listed)])
    else:
        _columns([("Package", "Version"), *((r.name, str(r.version)) for r in listed)])


def _json_row(row: Listed) -> dict[str, str]:
    out = {"name": row.name, "version": str(row.version)}
    if row.editable_location:
        out["editable_project_location"] = row.editable_location
    return out


def _columns(rows: list[tuple[str, ...]]) -> None:
    if len(rows) == 1:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [rows[0], tuple("-" * w for w in widths), *rows[1:]]
    for row in lines:
        click.echo(" ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
