"""``cloche export conda`` and ``cloche export docker`` (added to the ``export`` group)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cloche.cli.context import AppContext, app
from cloche.cli.lock_choice import NO_CHOICE, LockChoice, project_lock

if TYPE_CHECKING:
    from packaging.pylock import Pylock

    from cloche.config import Settings
    from cloche.core.project.spec import ProjectSpec


@dataclass(frozen=True, slots=True)
class Locked:
    """The project, its settings and lock, and what the lock was made for."""

    spec: ProjectSpec
    settings: Settings
    lock: Pylock
    python: str
    targets: list[str]


def read_locked(state: AppContext, choice: LockChoice = NO_CHOICE) -> Locked:
    """The project and its lock (a stale lock is exported with a warning)."""
    from cloche.core.lock.inputs import is_fresh
    from cloche.errors import ProjectError
    from cloche.ops.lock import read_lock, stale_message
    from cloche.ops.project.environment import lock_python
    from cloche.ops.project.export import lock_targets

    project = project_lock(state, choice)
    spec, settings = project.spec, project.settings
    lock = read_lock(spec.lock_path)
    if lock is None:
        raise ProjectError(f"no {spec.lock_file} in {spec.root}; run 'cloche lock' first")
    if not is_fresh(lock, spec, settings.index_urls):
        state.reporter.warning(stale_message(spec))
    return Locked(spec, settings, lock, lock_python(spec), lock_targets(lock, spec.targets))


@click.command("conda")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file (default: standard output).",
)
@click.option("-n", "--name", default=None, help="The conda env's name (default: the project's).")
@click.option(
    "-c",
    "--channel",
    "channels",
    multiple=True,
    help="A conda channel for Python and pip (repeatable; default: conda-forge).",
)
@click.pass_context
def conda(
    ctx: click.Context, output: Path | None, name: str | None, channels: tuple[str, ...]
) -> None:
    """An environment.yml for conda users: Python and pip from conda, every locked
    package at its locked version in the pip: section.

    \b
    Examples:
      cloche export conda -o environment.yml
      conda env create -f environment.yml
    """
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.ops.export_conda import render_environment
    from cloche.ops.project.export import ExportRequest

    state = app(ctx)
    locked = read_locked(state)
    text = render_environment(
        locked.lock,
        locked.spec.root,
        locked.python,
        locked.targets,
        ExportRequest(),
        name=name or locked.spec.name or locked.spec.root.name,
        channels=channels or ("conda-forge",),
        index_urls=locked.settings.index_urls,
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
        state.reporter.info(f"Wrote {output}")


@click.command("docker")
@click.option(
    "--accelerator",
    default=None,
    metavar="cuXYZ",
    help="A CUDA build (cu118 ... cu130): an nvidia/cuda runtime base "
    "(default: the lock's own CUDA build, else python:X.Y-slim).",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write the files (default: the project's root).",
)
@click.pass_context
def docker(ctx: click.Context, accelerator: str | None, output_dir: Path | None) -> None:
    """A Dockerfile, .dockerignore and requirements.lock.txt (with hashes) that recreate
    the lock's Linux env in an image: lock layer before code, cache mount, non-root user.

    \b
    Examples:
      cloche export docker && docker build -t myproject .
      cloche export docker --accelerator cu128
    """
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.ops.export_docker import REQUIREMENTS_NAME, render_docker
    from cloche.ops.project.export import ExportRequest

    state = app(ctx)
    locked = read_locked(state)
    export = render_docker(
        locked.lock,
        locked.spec.root,
        locked.python,
        locked.targets,
        ExportRequest(),
        accelerator=accelerator,
        buildable=locked.spec.buildable,
        index_urls=locked.settings.index_urls,
    )
    directory = output_dir or locked.spec.root
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "Dockerfile": export.dockerfile,
        ".dockerignore": export.dockerignore,
        REQUIREMENTS_NAME: export.requirements,
    }
    for filename, text in files.items():
        atomic_write_text(directory / filename, text)
    base = f"CUDA {export.accelerator}" if export.accelerator else "CPU"
    state.reporter.info(f"Wrote {', '.join(files)} in {directory} ({base} image)")
