"""``cloche env ...``: named environments, as conda users know them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.main import with_output_options
from cloche.cli.option_flags import index_flags, link_flags
from cloche.cli.options import index_options, link_options


@click.group("env")
def command() -> None:
    """Named environments kept in cloche's data directory (env CLOCHE_ENVS_DIR).

    \b
    Examples:
      cloche env create ml_env --python 3.10 numpy pandas
      cloche env create gpu_env torch --accelerator auto
      cloche env clone ml_env exp-1
      cloche run -n ml_env python train.py
      source "$(cloche env path ml_env)/bin/activate"
    """


@click.command("create")
@click.argument("name")
@click.argument("packages", nargs=-1)
@click.option(
    "-p",
    "--python",
    default=None,
    metavar="VERSION|PATH",
    help="Interpreter: 3.10, "
    "3.12.1, '>=3.10,<3.13', cpython@3.12 or a path (default: python3 on PATH).",
)
@click.option(
    "-r",
    "--requirement",
    "requirement_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Install from a requirements file (repeatable).",
)
@click.option(
    "--lock",
    "lock_file",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Install exactly what this pylock.toml lists (from 'cloche env export').",
)
@click.option("--force", is_flag=True, help="Replace an environment of that name.")
@click.option(
    "--accelerator",
    default=None,
    metavar="NAME",
    help="Install torch / torchvision / torchaudio from the build index for this "
    "accelerator, and jax / tensorflow with its CUDA extra: auto (this machine's), cpu, "
    "cu118 ... cu130, rocm6.x, xpu. Without it, the normal indexes.",
)
@link_options
@index_options
@click.pass_context
def create(ctx: click.Context, /, name: str, packages: tuple[str, ...], **kwargs: Any) -> None:
    """Create environment NAME with PACKAGES installed."""
    from cloche.ops.env_build import CreateRequest, create_env

    state = app(ctx)
    flags = index_flags(kwargs)
    flags.update(link_flags(kwargs))
    settings = state.settings(**flags)
    request = CreateRequest(
        name=name,
        python=kwargs["python"],
        packages=packages,
        requirement_files=tuple(kwargs["requirement_files"]),
        lock=kwargs["lock_file"],
        force=kwargs["force"],
        accelerator=kwargs["accelerator"],
    )
    try:
        created = create_env(request, state.services(settings))
    finally:
        state.reporter.close()
    count = f", {created.installed} packages" if created.installed else ""
    state.reporter.info(f"Created environment {name!r} (Python {created.python_version}{count})")
    state.reporter.info(f"  at {created.path}")
    state.reporter.info(f"  use it: cloche shell -n {name}  |  cloche run -n {name} python ...")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, /, as_json: bool) -> None:
    """List environments: Python, packages, disk use (own, and with what is linked)."""
    from cloche.ops.env_list import list_envs
    from cloche.ops.named_env import envs_root

    envs = list_envs()
    if as_json:
        import json

        rows = [
            {
                "name": e.name,
                "path": str(e.path),
                "python": e.python_version,
                "python_missing": e.python_missing,
                "packages": e.packages,
                "own_bytes": e.usage.own_bytes,
                "total_bytes": e.usage.total_bytes,
                "cloned_from": e.record.cloned_from if e.record else None,
            }
            for e in envs
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not envs:
        app(ctx).reporter.info(f"No environments in {envs_root()} (cloche env create NAME)")
        return
    width = max(4, *(len(e.name) for e in envs))
    click.echo(f"{'NAME':<{width}}  {'PYTHON':<9} {'PKGS':>5} {'OWN':>9} {'TOTAL':>9}")
    for e in envs:
        python = e.python_version + (" (missing)" if e.python_missing else "")
        click.echo(
            f"{e.name:<{width}}  {python:<9} {e.packages:>5} "
            f"{_size(e.usage.own_bytes):>9} {_size(e.usage.total_bytes):>9}"
        )
    own = sum(e.usage.own_bytes for e in envs)
    new = sum(e.usage.new_bytes for e in envs)
    click.echo(
        f"{len(envs)} environment{'' if len(envs) == 1 else 's'} in {envs_root()}: "
        f"{_size(own)} their own, "
        f"{_size(new)} counting each linked file once (most of it shared with the cache)"
    )


@click.command("clone")
@click.argument("source")
@click.argument("name")
@click.option("--force", is_flag=True, help="Replace an environment of that name.")
@click.pass_context
def clone(ctx: click.Context, /, source: str, name: str, force: bool) -> None:
    """Copy environment SOURCE to NAME by linking from the cache (no download, no copy)."""
    import time

    from cloche.ops.env_build import clone_env

    began = time.perf_counter()
    path, counts = clone_env(source, name, force=force)
    took = time.perf_counter() - began
    app(ctx).reporter.info(
        f"Cloned {source!r} to {name!r} in {took:.2f}s: {counts.linked} files linked, "
        f"{counts.rewritten} rewritten for the new path, {counts.copied} copied"
    )
    app(ctx).reporter.info(f"  at {path}")


@click.command("remove")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, /, names: tuple[str, ...]) -> None:
    """Delete environments (the cache keeps what they were linked from) and the
    Jupyter kernels that run them."""
    from cloche.ops.kernel import remove_env_kernels
    from cloche.ops.named_env import env_path, remove_env

    for name in names:
        env_path(name)  # every name checked before any is removed
    for name in names:
        path = remove_env(name)
        app(ctx).reporter.info(f"Removed environment {name!r} ({path})")
        for spec in remove_env_kernels(path):
            app(ctx).reporter.info(f"Removed kernel {spec.name!r} ({spec.path}), which ran it")


@click.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print the directory of environment NAME (for scripts and activation)."""
    from cloche.ops.named_env import env_path

    click.echo(str(env_path(name)))


for _sub in (create, list_, clone, remove, path):
    command.add_command(with_output_options(_sub))


@click.command("export")
@click.argument("name")
@click.pass_context
def export(ctx: click.Context, /, name: str) -> None:
    """Print a pylock.toml of environment NAME (recreate it with 'env create --lock')."""
    from cloche.adapters.python.discovery import find_environment
    from cloche.core.lock.toml_writer import dump_lock
    from cloche.ops.env_export import export_lock
    from cloche.ops.named_env import named_env

    state = app(ctx)
    settings = state.settings()
    interpreter = find_environment(str(named_env(name)), cache_dir=settings.cache_dir)
    lock = export_lock(interpreter, state.services(settings).store)
    click.echo(dump_lock(lock), nl=False)


command.add_command(with_output_options(export))
