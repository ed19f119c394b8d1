"""``cloche pip ...``: the pip-compatible surface."""

from __future__ import annotations

import click

from cloche.cli.main import LazyGroup

_PIP_COMMANDS: dict[str, tuple[str, str]] = {
    "compile": (
        "cloche.cli.pip_compile",
        "Resolve requirements.in into a pinned requirements.txt.",
    ),
    "install": ("cloche.cli.pip_install", "Install packages into the environment."),
    "uninstall": ("cloche.cli.pip_uninstall", "Remove packages from the environment."),
    "sync": (
        "cloche.cli.pip_sync",
        "Make the environment match a pinned requirements file exactly.",
    ),
    "list": ("cloche.cli.pip_list", "List installed packages."),
    "freeze": ("cloche.cli.pip_freeze", "Print installed packages in requirements format."),
    "show": ("cloche.cli.pip_show", "Show details of installed packages."),
    "check": ("cloche.cli.pip_check", "Verify installed packages have compatible dependencies."),
    "tree": ("cloche.cli.pip_tree", "Show installed packages as a dependency tree."),
}


@click.group(cls=LazyGroup, lazy=_PIP_COMMANDS)
def command() -> None:
    """pip-compatible commands that act on a virtual environment.

    They target the active VIRTUAL_ENV, a .venv in this directory or above, or
    the environment given with --python.
    """
