"""``cloche export conda`` and ``cloche export docker`` (added to the ``export`` group)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cloche.cli.context import AppContext, app
from cloche.cli.lock_choice import (
    NO_CHOICE,
    LockChoice,
    lock_choice_from,
    lock_choice_options,
    project_lock,
)
from cloche.core.project.spec import LOCKFILE

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


def read_locked(
    state: AppContext, choice: LockChoice = NO_CHOICE, *, plain_when_missing: bool = False
) -> Locked:
    """The project and its lock (a stale lock is exported with a warning).

    ``choice`` names a named lock (``--accelerator`` / ``--lock``); one that is missing is
    an error with the command that makes it, unless ``plain_when_missing`` and the project
    has a ``pylock.toml`` (``export docker --accelerator cu128`` of a plain lock: the
    accelerator is then the image's base only).
    """
    from cloche.core.lock.inputs import is_fresh
    from cloche.errors import ProjectError
    from cloche.ops.lock import read_lock, stale_message
    from cloche.ops.project.environment import lock_python
    from cloche.ops.project.export import lock_targets

    project = project_lock(state, choice)
    spec = project.spec
    if spec.lock_name is not None and not spec.lock_path.is_file():
        if plain_when_missing and (spec.root / LOCKFILE).is_file():
            project = project_lock(state, NO_CHOICE, pick=False)
            spec = project.spec
        else:
            raise ProjectError(
                f"no {spec.lock_file} in {spec.root}", hint=f"make it with '{_make(choice, spec)}'"
            )
    settings = project.settings
    lock = read_lock(spec.lock_path)
    if lock is None:
        raise ProjectError(f"no {spec.lock_file} in {spec.root}; run 'cloche lock' first")
    if not is_fresh(lock, spec, settings.index_urls):
        state.reporter.warning(stale_message(spec))
    return Locked(spec, settings, lock, lock_python(spec), lock_targets(lock, spec.targets))


def _make(choice: LockChoice, spec: ProjectSpec) -> str:
    """The command that writes the named lock ``spec`` names."""
    if choice.accelerator is not None and not choice.needs_detection:
        return f"cloche lock --accelerator {choice.accelerator.strip()}"
    return f"cloche lock --lock {spec.lock_name}"


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
@lock_choice_options
@click.pass_context
def conda(
    ctx: click.Context,
    /,
    output: Path | None,
    name: str | None,
    channels: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """An environment.yml for conda users: Python and pip from conda, every locked
    package at its locked version in the pip: section.

    \b
    Examples:
      cloche export conda -o environment.yml
      conda env create -f environment.yml
      cloche export conda --accelerator cu128   # from pylock.cu128.toml
    """
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.ops.export_conda import render_environment
    from cloche.ops.project.export import ExportRequest

    state = app(ctx)
    locked = read_locked(state, lock_choice_from(kwargs))
    text = render_environment(
        locked.lock,
        locked.spec.root,
        locked.python,
        locked.targets,
        ExportRequest(),
        name=name or locked.spec.name or locked.spec.root.name,
        channels=channels or ("conda-forge",),
        index_urls=locked.settings.index_urls,
        lock_file=locked.spec.lock_file,
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
    metavar="NAME",
    help="Export the named lock pylock.NAME.toml (cpu, cu126, cu128 ...; auto: this "
    "machine's); without one beside a pylock.toml, a CUDA build (cu118 ... cu130) is the "
    "image's nvidia/cuda runtime base (default: the lock's own CUDA build, else "
    "python:X.Y-slim).",
)
@click.option(
    "--lock",
    "lock_name",
    default=None,
    metavar="NAME",
    help="Export the named lock pylock.NAME.toml.",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write the files (default: the project's root).",
)
@click.pass_context
def docker(
    ctx: click.Context, accelerator: str | None, lock_name: str | None, output_dir: Path | None
) -> None:
    """A Dockerfile, .dockerignore and requirements.lock.txt (with hashes) that recreate
    the lock's Linux env in an image: lock layer before code, cache mount, non-root user.

    \b
    Examples:
      cloche export docker && docker build -t myproject .
      cloche export docker --accelerator cu128   # pylock.cu128.toml, else a CUDA base
    """
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.ops.export_docker import CUDA_IMAGES, REQUIREMENTS_NAME, render_docker
    from cloche.ops.project.export import ExportRequest

    state = app(ctx)
    choice = lock_choice_from({"accelerator": accelerator, "lock_name": lock_name})
    locked = read_locked(state, choice, plain_when_missing=True)
    base = accelerator
    if locked.spec.lock_name is not None and (base is None or base not in CUDA_IMAGES):
        base = None  # the named lock's own build decides (cpu, auto)
    export = render_docker(
        locked.lock,
        locked.spec.root,
        locked.python,
        locked.targets,
        ExportRequest(),
        accelerator=base,
        buildable=locked.spec.buildable,
        index_urls=locked.settings.index_urls,
        lock_file=locked.spec.lock_file,
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
