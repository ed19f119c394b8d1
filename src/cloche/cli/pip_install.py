"""``cloche pip install``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.option_flags import (
    binary_args,
    build_flags,
    index_flags,
    link_flags,
    project_choice,
)
from cloche.cli.options import (
    binary_options,
    build_options,
    env_options,
    index_options,
    link_options,
    path_interpreter,
    project_file_options,
)
from cloche.cli.summary import print_plan
from cloche.core.prerelease import PrereleaseMode
from cloche.errors import UsageError


def _refuse_user(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        raise click.UsageError(
            "--user installs into the user site-packages, which cloche does not manage; "
            "install into a virtual environment (cloche venv) or pass --target DIR"
        )


@click.command("install")
@click.argument("packages", nargs=-1)
@click.option(
    "-r",
    "--requirement",
    "requirement_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Install from a requirements file (repeatable).",
)
@click.option(
    "-c",
    "--constraint",
    "constraint_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Constrain versions with this file (repeatable).",
)
@click.option(
    "-e",
    "--editable",
    "editables",
    multiple=True,
    metavar="PATH/URL",
    help="Install a local project (or VCS URL) in editable mode (repeatable).",
)
@click.option(
    "-U",
    "--upgrade",
    is_flag=True,
    help="Upgrade the named packages to the newest allowed versions.",
)
@click.option(
    "--upgrade-strategy",
    type=click.Choice(["only-if-needed", "eager"]),
    default="only-if-needed",
    show_default=True,
    help="With --upgrade: upgrade dependencies only when the new versions need it, "
    "or always (eager).",
)
@click.option("--no-deps", is_flag=True, help="Do not install dependencies.")
@click.option(
    "--require-hashes",
    is_flag=True,
    help="Require a --hash for every package (implied by any --hash).",
)
@click.option(
    "--reinstall", "--force-reinstall", is_flag=True, help="Reinstall even when up to date."
)
@click.option("--pre", "prerelease", is_flag=True, default=None, help="Allow pre-releases.")
@click.option(
    "--prerelease",
    "prerelease_mode",
    type=click.Choice([m.value for m in PrereleaseMode]),
    default=None,
    help="When pre-releases may be chosen, as uv: allow, disallow, if-necessary, explicit "
    "(only where your requirement names one), if-necessary-or-explicit.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change without changing anything.")
@click.option(
    "-t",
    "--target",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Install into this directory instead of an environment: packages at its top, "
    "scripts in its bin/ (for PYTHONPATH, AWS Lambda layers, ...), for the Python of "
    "--python, else the activated environment's, else python3 on PATH.",
)
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Install under this directory with that Python's layout "
    "(DIR/lib/pythonX.Y/site-packages, DIR/bin), as for a Docker build stage.",
)
# Accepted as pip does: scripts always go to the env's bin, and a wheel of the chosen
# version is always preferred to its sdist.
@click.option("--no-warn-script-location", is_flag=True, hidden=True, expose_value=False)
@click.option("--user", is_flag=True, hidden=True, callback=_refuse_user, expose_value=False)
@click.option("--prefer-binary", is_flag=True, hidden=True, expose_value=False)
@click.option(
    "--src",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the checkouts of editable VCS requirements (-e git+...) in this "
    "directory [default: <venv>/src].",
)
@click.option(
    "--accelerator",
    default=None,
    metavar="NAME",
    help="Install torch / torchvision / torchaudio from the build index for this "
    "accelerator, and jax / tensorflow with its CUDA extra: auto (this machine's), cpu, "
    "cu118 ... cu130, rocm6.x, xpu. Without it, the normal indexes.",
)
@project_file_options
@link_options
@build_options
@binary_options
@env_options
@index_options
@click.pass_context
def command(ctx: click.Context, /, packages: tuple[str, ...], **kwargs: Any) -> None:
    """Install PACKAGES (requirement specifiers, URLs or paths) into the environment.

    \b
    Examples:
      cloche pip install numpy pandas "scikit-learn==1.5.*"
      cloche pip install -r requirements.txt --require-hashes
      cloche pip install -r pyproject.toml --extra viz   # the project's dependencies
      cloche pip install --upgrade pandas
      cloche pip install -e ./mypkg
      cloche pip install -e "git+https://github.com/org/repo@v1.2#egg=name"
      cloche pip install --target ./layer/python -r requirements.txt
      cloche pip install torch --accelerator auto   # the build this machine can run
    """
    from cloche.ops.pip_env import InstallOptions, install_requirements
    from cloche.ops.project_sources import ProjectFiles
    from cloche.ops.requirements import gather

    state = app(ctx)
    flags = index_flags(kwargs)
    flags["prerelease"] = kwargs["prerelease"]
    if kwargs["prerelease_mode"] is not None:
        flags["prerelease_mode"] = PrereleaseMode(kwargs["prerelease_mode"])
    flags.update(link_flags(kwargs))
    flags.update(build_flags(kwargs))
    settings = state.settings(**flags)
    target, prefix = kwargs["target"], kwargs["prefix"]
    directories = [d for d in (target, prefix) if d is not None]
    _check_directories(kwargs)
    # With a directory the Python is only read (tags, markers): any one will do.
    interpreter = path_interpreter(state, kwargs["python"], kwargs["system"], directories)
    if not directories and not kwargs["dry_run"]:
        from cloche.cli.env_target import refuse_externally_managed

        refuse_externally_managed(state, interpreter)
    only_binary, no_binary = binary_args(kwargs)
    asked = gather(
        packages,
        kwargs["requirement_files"],
        kwargs["constraint_files"],
        kwargs["editables"],
        only_binary=only_binary,
        no_binary=no_binary,
        projects=ProjectFiles(
            project_choice(kwargs),
            lambda url: state.services(settings).sources(interpreter).trees.url_metadata(url),
            state.reporter,
        ),
    )
    if kwargs["accelerator"] is not None:
        from cloche.ops.accelerated import route_request

        routed, asked = route_request(settings, asked, kwargs["accelerator"])
        settings = routed.settings
        for warning in routed.warnings:
            state.reporter.warning(warning)
        if routed.line is not None:
            state.reporter.info(routed.line)
    options = InstallOptions(
        upgrade=kwargs["upgrade"],
        eager=kwargs["upgrade_strategy"] == "eager",
        no_deps=kwargs["no_deps"],
        require_hashes=kwargs["require_hashes"],
        reinstall=kwargs["reinstall"],
        dry_run=kwargs["dry_run"],
        explicit_flags=flags,
        target=target,
        prefix=prefix,
        src=kwargs["src"],
    )
    try:
        plan = install_requirements(state.services(settings), interpreter, asked, options)
    finally:
        state.reporter.close()
    directory = target or prefix
    where = "the environment" if directory is None else str(directory)
    print_plan(state.reporter, plan, dry_run=kwargs["dry_run"], where=where)


def _check_directories(kwargs: dict[str, Any]) -> None:
    if kwargs["target"] is not None and kwargs["prefix"] is not None:
        raise UsageError("--target and --prefix cannot be used together; pick one")
    if kwargs["editables"] and (kwargs["target"] is not None or kwargs["prefix"] is not None):
        raise UsageError(
            "-e cannot be used with --target or --prefix: an editable install needs the "
            "site-packages of an environment"
        )
