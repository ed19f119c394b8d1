"""``cloche init``."""

from __future__ import annotations

from pathlib import Path

import click

from cloche.cli.context import app


@click.command("init")
@click.argument("name", required=False)
@click.option(
    "-p",
    "--python",
    "python",
    default=None,
    metavar="VERSION|PATH",
    help="The project's Python (default: python3 on PATH).",
)
@click.pass_context
def command(ctx: click.Context, name: str | None, python: str | None) -> None:
    """Start a project: pyproject.toml and .python-version (here, or in a new directory NAME).

    The environment (.venv) is created by the first 'cloche sync', 'add' or 'run'.

    \b
    Examples:
      cloche init
      cloche init --python 3.11 my-model
    """
    from cloche.core.project.spec import PYPROJECT, PYTHON_VERSION_FILE
    from cloche.core.pyproject_edit import new_pyproject
    from cloche.errors import ProjectError
    from cloche.ops.project.imports import project_name
    from cloche.ops.python_install import find_or_install

    state = app(ctx)
    root = Path.cwd() / name if name else Path.cwd()
    if (root / PYPROJECT).exists():
        raise ProjectError(
            f"{root / PYPROJECT} already exists", hint="use 'cloche add' to change it"
        )
    settings = state.settings()
    interpreter = find_or_install(python, settings, state.reporter)
    version = f"{interpreter.version.major}.{interpreter.version.minor}"
    text = new_pyproject(Path(name).name if name else project_name(root), f">={version}")
    root.mkdir(parents=True, exist_ok=True)
    (root / PYPROJECT).write_text(text, encoding="utf-8")
    if not (root / PYTHON_VERSION_FILE).exists():
        (root / PYTHON_VERSION_FILE).write_text(f"{version}\n", encoding="utf-8")
    state.reporter.info(f"Initialized project in {root} (Python {version})")
