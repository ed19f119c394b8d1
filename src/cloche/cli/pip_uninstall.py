"""``cloche pip uninstall``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.env_target import refuse_externally_managed, target_environment
from cloche.cli.options import env_options


@click.command("uninstall")
@click.argument("packages", nargs=-1)
@click.option(
    "-r",
    "--requirement",
    "requirement_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Uninstall everything named in this file.",
)
@click.option(
    "-y", "--yes", is_flag=True, help="Accepted for pip compatibility; cloche never asks."
)
@env_options
@click.pass_context
def command(ctx: click.Context, /, packages: tuple[str, ...], **kwargs: Any) -> None:
    """Remove PACKAGES from the environment.

    \b
    Example:
      cloche pip uninstall numpy
    """
    from cloche.errors import UsageError
    from cloche.ops.pip_env import uninstall
    from cloche.ops.requirements import gather

    state = app(ctx)
    names = list(packages)
    if kwargs["requirement_files"]:
        asked = gather(requirement_files=kwargs["requirement_files"])
        if asked.unnamed:
            raise asked.unnamed[0].refusal()
        names += [r.requirement.name for r in asked.requirements]
    if not names:
        raise UsageError("name at least one package to uninstall")
    from cloche.core.requirements.file import parse_requirement

    names = [parse_requirement(n, "command line").requirement.name for n in names]
    interpreter = target_environment(state, kwargs["python"], kwargs["system"])
    refuse_externally_managed(state, interpreter)
    removed, missing = uninstall(interpreter, names, state.reporter)
    for name in missing:
        state.reporter.warning(f"{name} is not installed; skipping")
    for item in removed:
        state.reporter.info(f" - {item}")
    if removed:
        state.reporter.info(f"Uninstalled {len(removed)} package(s)")
