"""``cloche python ...``: the interpreters cloche can find."""

from __future__ import annotations

from pathlib import Path

import click

from cloche.cli.context import app
from cloche.cli.main import with_output_options


@click.group("python")
def command() -> None:
    """Python interpreters: on PATH, in pyenv, asdf, conda/mamba and cloche's own directory.

    \b
    Examples:
      cloche python list
      cloche python find 3.10
      cloche python find '>=3.10,<3.13'
      cloche python install 3.12
      cloche python uninstall 3.12
    """


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, /, as_json: bool) -> None:
    """List every interpreter found, newest first, with where it was found."""
    from cloche.cli import python_list

    found = python_list.rows(app(ctx).cache_dir)
    if as_json:
        click.echo(python_list.as_json(found))
        return
    if not found:
        app(ctx).reporter.info(python_list.NONE_FOUND)
        return
    for line in python_list.as_lines(found):
        click.echo(line)


def _project_request(start: Path) -> tuple[str, str] | None:
    """The request a directory makes: its ``.python-version``, else ``requires-python``."""
    import tomllib

    for directory in (start, *start.parents):
        version_file = directory / ".python-version"
        if version_file.is_file():
            for line in version_file.read_text("utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    return line.strip(), str(version_file)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text("utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                return None
            requires = data.get("project", {}).get("requires-python")
            return (str(requires), f"{pyproject} requires-python") if requires else None
    return None


@click.command("find")
@click.argument("request", required=False)
@click.pass_context
def find(ctx: click.Context, /, request: str | None) -> None:
    """Print the interpreter best matching REQUEST: 3.10, 3.11.7, '>=3.10,<3.13',
    cpython@3.12, python3.12 or a path.

    Without REQUEST: the .python-version here or above, else the project's
    requires-python, else python3 on PATH.
    """
    from cloche.adapters.python.discovery import find_interpreter

    state = app(ctx)
    if request is None:
        found = _project_request(Path.cwd().absolute())
        if found is not None:
            request, origin = found
            state.reporter.debug(f"request {request!r} from {origin}")
    interpreter = find_interpreter(request, cache_dir=state.settings().cache_dir)
    click.echo(interpreter.executable)


@click.command("install")
@click.argument("request")
@click.option(
    "--release",
    default=None,
    metavar="TAG",
    help="A release of the mirror (20250115) instead of its latest.",
)
@click.option("--reinstall", is_flag=True, help="Download again even when one is installed.")
@click.pass_context
def install(ctx: click.Context, /, request: str, release: str | None, reinstall: bool) -> None:
    """Install the newest CPython build matching REQUEST (3.12, 3.11.7, '>=3.10')
    from the python-build-standalone mirror (CLOCHE_PYTHON_MIRROR)."""
    from cloche.ops.python_install import install_python

    state = app(ctx)
    done = install_python(request, state.settings(), release=release, reinstall=reinstall)
    if done.build is None:
        state.reporter.info(
            f"Python {done.python.version} is already installed at {done.python.path} "
            "(--reinstall to download it again)"
        )
        return
    state.reporter.info(f"Installed Python {done.python.version} ({done.build.filename})")
    state.reporter.info(f"  at {done.python.executable}")


@click.command("uninstall")
@click.argument("request")
@click.pass_context
def uninstall(ctx: click.Context, /, request: str) -> None:
    """Remove the cloche-managed interpreters matching REQUEST (3.12, 3.12.8)."""
    from cloche.ops.python_install import uninstall_python

    for removed in uninstall_python(request):
        app(ctx).reporter.info(f"Removed Python {removed.version} ({removed.path})")


for _sub in (list_, find, install, uninstall):
    command.add_command(with_output_options(_sub))
