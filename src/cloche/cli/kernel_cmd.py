"""``cloche kernel ...``: Jupyter kernels for environments."""

from __future__ import annotations

from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.main import with_output_options
from cloche.cli.option_flags import index_flags
from cloche.cli.options import index_options


@click.group("kernel")
def command() -> None:
    """Jupyter kernels that run an environment's Python (in $JUPYTER_DATA_DIR/kernels).

    \b
    Examples:
      cloche kernel install -n ml_env
      cloche kernel install            # in a project: its .venv
      cloche kernel list
      cloche kernel remove ml_env
    """


@click.command("install")
@click.option(
    "-n",
    "--name",
    "env_name",
    default=None,
    metavar="NAME",
    help="The named environment (default: the project's .venv).",
)
@click.option("--display-name", default=None, help="Shown in Jupyter (default: 'Python (NAME)').")
@index_options
@click.pass_context
def install(
    ctx: click.Context, /, env_name: str | None, display_name: str | None, **kwargs: Any
) -> None:
    """Register an environment as a Jupyter kernel (installs ipykernel into it if missing)."""
    from cloche.ops.kernel import install_kernel, named_target, project_target

    state = app(ctx)
    settings = state.settings(**index_flags(kwargs))
    target = named_target(env_name, display_name) if env_name else project_target(display_name)
    try:
        spec, _installed = install_kernel(target, state.services(settings))
    finally:
        state.reporter.close()
    state.reporter.info(f"Installed kernel {spec.name!r} ({spec.display_name}) in {spec.path}")


@click.command("list")
def list_() -> None:
    """List the kernels in the user's Jupyter data directory."""
    from cloche.adapters.jupyter.kernelspec import kernels_dir, list_kernelspecs

    specs = list_kernelspecs()
    if not specs:
        click.echo(f"No kernels in {kernels_dir()}", err=True)
        return
    width = max(len(s.name) for s in specs)
    for spec in specs:
        where = spec.env or (spec.argv[0] if spec.argv else "")
        click.echo(f"{spec.name:<{width}}  {spec.display_name}  {where}")


@click.command("remove")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, /, names: tuple[str, ...]) -> None:
    """Remove kernels by name (the environments stay)."""
    from cloche.adapters.jupyter.kernelspec import remove_kernelspec

    for name in names:
        path = remove_kernelspec(name)
        app(ctx).reporter.info(f"Removed kernel {name!r} ({path})")


for _sub in (install, list_, remove):
    command.add_command(with_output_options(_sub))
