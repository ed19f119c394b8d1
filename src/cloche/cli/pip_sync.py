"""``cloche pip sync``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.env_target import refuse_externally_managed, target_environment
from cloche.cli.option_flags import binary_args, build_flags, index_flags, link_flags
from cloche.cli.options import (
    binary_options,
    build_options,
    env_options,
    index_options,
    link_options,
)
from cloche.cli.summary import print_plan


@click.command("sync")
@click.argument("requirement_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--require-hashes", is_flag=True, help="Require a --hash for every package.")
@click.option("--reinstall", is_flag=True, help="Reinstall everything listed.")
@click.option("--dry-run", is_flag=True, help="Show what would change without changing anything.")
@link_options
@build_options
@binary_options
@env_options
@index_options
@click.pass_context
def command(ctx: click.Context, /, requirement_files: tuple[Path, ...], **kwargs: Any) -> None:
    """Make the environment match REQUIREMENT_FILES exactly.

    Installs every pinned package listed (without resolving further
    dependencies) and removes everything else.

    \b
    Example:
      cloche pip sync requirements.txt
    """
    from cloche.ops.pip_env import InstallOptions, install_requirements
    from cloche.ops.requirements import gather

    state = app(ctx)
    flags = index_flags(kwargs)
    flags.update(link_flags(kwargs))
    flags.update(build_flags(kwargs))
    settings = state.settings(**flags)
    interpreter = target_environment(state, kwargs["python"], kwargs["system"])
    refuse_externally_managed(state, interpreter)
    only_binary, no_binary = binary_args(kwargs)
    asked = gather(
        requirement_files=requirement_files, only_binary=only_binary, no_binary=no_binary
    )
    options = InstallOptions(
        require_hashes=kwargs["require_hashes"],
        reinstall=kwargs["reinstall"],
        dry_run=kwargs["dry_run"],
        explicit_flags=flags,
    )
    try:
        services = state.services(settings)
        plan = install_requirements(services, interpreter, asked, options, exact=True)
    finally:
        state.reporter.close()
    print_plan(state.reporter, plan, dry_run=kwargs["dry_run"])
