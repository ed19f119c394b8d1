"""``cloche venv``."""

from __future__ import annotations

from pathlib import Path

import click

from cloche.cli.context import app
from cloche.cli.option_flags import index_flags
from cloche.cli.options import index_options


@click.command("venv")
@click.argument("path", default=".venv", type=click.Path(path_type=Path))
@click.option(
    "-p",
    "--python",
    default=None,
    metavar="VERSION|PATH",
    help="Interpreter: 3.10, 3.12.1, python3.11, or a path (default: python3 on PATH).",
)
@click.option(
    "--prompt",
    default=None,
    help="Prompt prefix shown when activated (default: the directory name).",
)
@click.option("--clear", is_flag=True, help="Delete an existing environment at PATH first.")
@click.option(
    "--allow-existing", is_flag=True, help="Keep an existing environment at PATH and refresh it."
)
@click.option(
    "--system-site-packages", is_flag=True, help="Give access to the base interpreter's packages."
)
@click.option("--seed", is_flag=True, help="Install pip into the environment.")
@index_options
@click.pass_context
def command(
    ctx: click.Context,
    /,
    path: Path,
    python: str | None,
    prompt: str | None,
    clear: bool,
    allow_existing: bool,
    system_site_packages: bool,
    seed: bool,
    **kwargs: object,
) -> None:
    """Create a virtual environment at PATH (default: .venv).

    Like `python -m venv`, without pip unless --seed is given.

    \b
    Examples:
      cloche venv
      cloche venv myenv --python 3.10
      source myenv/bin/activate
    """
    from cloche.ops.venv import make_venv

    state = app(ctx)
    settings = state.settings(**index_flags(dict(kwargs)))
    try:
        env = make_venv(
            path,
            settings,
            python=python,
            prompt=prompt,
            clear=clear,
            allow_existing=allow_existing,
            system_site_packages=system_site_packages,
            seed=state.services(settings) if seed else None,
            reporter=state.reporter,
        )
    finally:
        state.reporter.close()
    from cloche.cli.venv_fast import created_lines

    for line in created_lines(str(path), str(env.version), env.scheme["scripts"]):
        state.reporter.info(line)
