"""``cloche bundle``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cloche.cli.context import AppContext, app

if TYPE_CHECKING:
    from cloche.config import Settings
    from cloche.core.models import Interpreter


@click.command("bundle")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The bundle directory to write (default: ./bundle).",
)
@click.option(
    "--tar",
    "tar_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write one tar file instead (.tar, or .tar.gz / .tgz compressed).",
)
@click.option("--force", is_flag=True, help="Replace a bundle that exists.")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="NAME",
    help="A target to bundle for: linux, macos, windows, ... (repeatable; "
    "default: the lock's targets).",
)
@click.option(
    "--python-version",
    "pythons",
    multiple=True,
    metavar="X.Y",
    help="A Python to bundle for (repeatable; default: the project's .venv, "
    "else the lock's lowest Python).",
)
@click.option(
    "--lock",
    "lock_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Bundle this pylock.toml (default: the project's).",
)
@click.option(
    "--accelerator",
    default=None,
    metavar="NAME",
    help="Bundle the project's named lock for this accelerator, pylock.NAME.toml "
    "(cpu, cu126, cu128, rocm6.4 ...; auto: this machine's); make it first with "
    "'cloche lock --accelerator NAME'.",
)
@click.pass_context
def command(
    ctx: click.Context,
    /,
    output: Path | None,
    tar_file: Path | None,
    force: bool,
    platforms: tuple[str, ...],
    pythons: tuple[str, ...],
    lock_file: Path | None,
    accelerator: str | None,
) -> None:
    """Write the lock and every file it installs, with a static package index, for
    machines without a network.

    \b
    The bundle holds:
      wheels/            every wheel (and sdist, with the wheel built from it)
      simple/            a PEP 503 (index.html) + PEP 691 (index.json) index
      requirements.txt   every package pinned, with sha256 hashes
      pylock.toml        the lock

    \b
    On the machine without a network, in the project:
      cloche sync --offline --find-links ./bundle
      pip install --no-index --find-links bundle/wheels -r bundle/requirements.txt
    or serve the directory over HTTP and use <url>/simple/ as the index URL.
    """
    from cloche.errors import UsageError
    from cloche.ops.bundle.make import BundleRequest, make_bundle
    from cloche.ops.bundle.write import BundleTarget

    state = app(ctx)
    if output is not None and tar_file is not None:
        raise UsageError("-o/--output and --tar both choose where the bundle goes; pass one")
    if accelerator is not None and lock_file is not None:
        raise UsageError("--lock and --accelerator both choose the lock to bundle; pass one")
    target = (
        BundleTarget(tar_file, tar=True, force=force)
        if tar_file is not None
        else BundleTarget(output or Path("bundle"), force=force)
    )
    lock_path, settings, default_platforms, default_pythons = _lock_and_defaults(
        state, lock_file, accelerator
    )
    request = BundleRequest(
        lock_path=lock_path,
        target=target,
        platforms=platforms or default_platforms,
        pythons=pythons or default_pythons,
    )

    def build_python() -> Interpreter:
        from cloche.adapters.python.discovery import probe

        return probe(Path(sys.executable), settings.cache_dir)

    try:
        result = make_bundle(state.services(settings), request, build_python)
    finally:
        state.reporter.close()
    size = result.size / 1e6
    built = f" ({result.built} built from source)" if result.built else ""
    state.reporter.info(
        f"Bundled {result.files} file(s){built}, {size:.1f} MB, for "
        f"{', '.join(result.targets)} into {result.path}"
    )
    for skipped in result.skipped:
        state.reporter.warning(f"not bundled: {skipped}; it must be present on the target machine")


def _lock_and_defaults(
    state: AppContext, lock_file: Path | None, accelerator: str | None
) -> tuple[Path, Settings, tuple[str, ...], tuple[str, ...]]:
    """The lock to bundle, the settings, and the default platforms and Pythons."""
    from cloche.ops.lock import read_lock
    from cloche.ops.project.environment import find_project, lock_python
    from cloche.ops.project.export import lock_targets

    if lock_file is not None:
        lock = read_lock(lock_file)
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        fallback = ["linux", "macos", "windows"]
        labels = lock_targets(lock, fallback) if lock is not None else fallback
        return lock_file, state.settings(), tuple(labels), (version,)
    from cloche.cli.project_options import project_settings

    spec = find_project()
    settings = project_settings(state, spec)
    if accelerator is not None:
        from dataclasses import replace

        from cloche.errors import ProjectError
        from cloche.ops.named_locks import pick_lock

        spec = replace(spec, lock_name=pick_lock(settings, spec.root, accelerator, None))
        if not spec.lock_path.is_file():
            raise ProjectError(
                f"no {spec.lock_path.name} in {spec.root}",
                hint=f"make it with 'cloche lock --accelerator {accelerator}'",
            )
    lock = read_lock(spec.lock_path)
    targets = tuple(lock_targets(lock, spec.targets)) if lock is not None else tuple(spec.targets)
    found = _venv_python(spec.root / ".venv")
    python = found or lock_python(spec)
    return spec.lock_path, settings, targets, (python,)


def _venv_python(venv: Path) -> str | None:
    """``X.Y`` from a venv's ``pyvenv.cfg``, or None."""
    try:
        text = (venv / "pyvenv.cfg").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() in ("version_info", "version") and value.strip():
            return ".".join(value.strip().split(".")[:2])
    return None
