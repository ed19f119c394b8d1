"""Option groups shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.core.models import Interpreter

F = TypeVar("F", bound=Callable[..., Any])


def _stacked(func: F, decorators: Sequence[Callable[[F], F]]) -> F:
    """``func`` under ``decorators``, the first outermost (so options list in that order)."""
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def index_options(func: F) -> F:
    """--index-url, --extra-index-url, --find-links, --no-index, --index-strategy, --refresh."""
    decorators = [
        click.option(
            "-i",
            "--index-url",
            default=None,
            metavar="URL",
            help="The default package index (default: https://pypi.org/simple/); "
            "asked after every --extra-index-url.",
        ),
        click.option(
            "--extra-index-url",
            multiple=True,
            metavar="URL",
            help="More indexes, asked before the default one, in the order given (repeatable).",
        ),
        click.option(
            "-f",
            "--find-links",
            multiple=True,
            metavar="PATH/URL",
            help="A directory or page of links to look for archives in (repeatable).",
        ),
        click.option("--no-index", is_flag=True, default=None, help="Ignore all indexes."),
        click.option(
            "--index-strategy",
            type=click.Choice(["first-index", "unsafe-first-match", "unsafe-best-match"]),
            default=None,
            help="first-index (default): take a name from the first index that has it. "
            "unsafe-first-match: try every version of the first index that has it, "
            "then the next. unsafe-best-match: merge all indexes, best version wins.",
        ),
        click.option(
            "--refresh", is_flag=True, default=None, help="Revalidate cached index pages."
        ),
    ]
    return _stacked(func, decorators)


def _env_name(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    from cloche.cli.context import app

    if value is not None:
        app(ctx).env_name = value


def env_options(func: F) -> F:
    """-n, --python and --system: which environment a pip-style command acts on."""
    decorators = [
        click.option(
            "-n",
            "--name",
            default=None,
            metavar="NAME",
            expose_value=False,
            callback=_env_name,
            help="The named environment (cloche env create NAME).",
        ),
        click.option(
            "-p",
            "--python",
            "python",
            default=None,
            metavar="PATH|VERSION",
            help="The environment's interpreter or directory (default: the active "
            "VIRTUAL_ENV, else .venv here or above).",
        ),
        click.option(
            "--system",
            is_flag=True,
            help="Allow acting on a Python that is not a virtual environment.",
        ),
        # pip's flags that scripts and Dockerfiles pass everywhere; nothing to do here.
        click.option("--disable-pip-version-check", is_flag=True, hidden=True, expose_value=False),
        *_pip_habits(),
    ]
    return _stacked(func, decorators)


def _pip_habits() -> list[Callable[[F], F]]:
    """More flags Dockerfiles pass to pip out of habit, accepted so those lines work:
    cloche never prompts, never compiles unless asked, always builds with PEP 517,
    has no root-user warning to silence, and verifies TLS wherever it is used."""
    ignored_flags = ("--no-input", "--no-compile", "--use-pep517")
    ignored_values = (("--root-user-action", False), ("--trusted-host", True))
    made: list[Callable[[F], F]] = [
        click.option(name, is_flag=True, hidden=True, expose_value=False) for name in ignored_flags
    ]
    made += [
        click.option(name, hidden=True, expose_value=False, multiple=multiple)
        for name, multiple in ignored_values
    ]
    made.append(
        click.option(
            "--progress-bar",
            type=click.Choice(["on", "off", "raw"]),
            hidden=True,
            expose_value=False,
            callback=_progress_bar,
        )
    )
    made.append(
        click.option(
            "--break-system-packages",
            is_flag=True,
            expose_value=False,
            callback=_break_system_packages,
            help="With --system: install even into a Python marked EXTERNALLY-MANAGED (PEP 668).",
        )
    )
    return made


def _progress_bar(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    from cloche.cli.context import app

    if value == "off":
        app(ctx).progress = False


def _break_system_packages(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    from cloche.cli.context import app

    if value:
        app(ctx).break_system_packages = True


def link_options(func: F) -> F:
    """--link-mode and --compile: how installed files are made."""
    decorators = [
        click.option(
            "--link-mode",
            type=click.Choice(["auto", "clone", "hardlink", "copy"]),
            default=None,
            help="How files come from the cache: clone (reflink), hardlink or copy "
            "(default: the best available).",
        ),
        click.option(
            "--compile",
            "compile_bytecode",
            is_flag=True,
            default=None,
            help="Compile .pyc files after installing.",
        ),
    ]
    return _stacked(func, decorators)


def _key_value(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE")
        pairs.append((key, setting))
    return tuple(pairs)


def build_options(func: F) -> F:
    """--no-build-isolation and -C: how source packages are built."""
    decorators = [
        click.option(
            "--no-build-isolation",
            is_flag=True,
            default=None,
            help="Build source packages with the environment's Python and the packages "
            "installed in it (their build requirements, such as torch for flash-attn, must "
            "be there already) instead of an isolated build environment.",
        ),
        click.option(
            "-C",
            "--config-settings",
            "--config-setting",
            "config_settings",
            multiple=True,
            metavar="KEY=VALUE",
            callback=_key_value,
            help="A setting for the build backend of packages built from source "
            "(repeatable; a key given twice becomes a list).",
        ),
    ]
    return _stacked(func, decorators)


def binary_options(func: F) -> F:
    """--only-binary and --no-binary, as pip spells them."""
    decorators = [
        click.option(
            "--only-binary",
            multiple=True,
            metavar="NAMES",
            help="Never build these packages from source (comma-separated names, "
            ":all: or :none:; repeatable).",
        ),
        click.option(
            "--no-binary",
            multiple=True,
            metavar="NAMES",
            help="Always build these packages from source (as --only-binary).",
        ),
    ]
    return _stacked(func, decorators)


def project_file_options(func: F) -> F:
    """--extra, --all-extras, --group: what to add from a pyproject.toml given as a
    requirements file."""
    decorators: list[Callable[[F], F]] = [
        click.option(
            "--extra",
            "extras",
            multiple=True,
            metavar="NAME",
            help="Add this extra of the pyproject.toml / setup.py given (repeatable).",
        ),
        click.option("--all-extras", is_flag=True, help="Add every extra of that project."),
        click.option(
            "--group",
            "groups",
            multiple=True,
            metavar="NAME",
            help="Add this dependency group (PEP 735) of that pyproject.toml (repeatable).",
        ),
    ]
    return _stacked(func, decorators)


def path_options(func: F) -> F:
    """--path: read packages from directories instead of the environment."""
    return click.option(
        "--path",
        "paths",
        multiple=True,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Look in this directory (a --target one, a site-packages) instead of the "
        "environment (repeatable).",
    )(func)


def path_interpreter(
    state: AppContext, python: str | None, system: bool, paths: Sequence[Path]
) -> Interpreter:
    """The environment's Python; with ``paths``, any Python (--python, else the activated
    environment's, else python3 on PATH): the directories are read, not the env."""
    from cloche.cli.env_target import target_environment

    if not paths:
        return target_environment(state, python, system)
    from cloche.adapters.python.discovery import find_active_interpreter
    from cloche.cli.env_target import named_python

    python = named_python(state, python)
    return find_active_interpreter(python, cache_dir=state.settings().cache_dir)


def dependency_list_options(verb: str) -> Callable[[F], F]:
    """--group, --dev, --optional, --no-sync: which list of pyproject.toml ``add`` and
    ``remove`` edit. ``verb`` is "Add to" or "Remove from"."""

    def apply(func: F) -> F:
        decorators = [
            click.option(
                "--group",
                default=None,
                metavar="GROUP",
                help=f"{verb} this dependency group ([dependency-groups], PEP 735).",
            ),
            click.option("--dev", is_flag=True, help="Same as --group dev."),
            click.option(
                "--optional",
                default=None,
                metavar="EXTRA",
                help=f"{verb} this extra ([project.optional-dependencies]).",
            ),
            click.option(
                "--no-sync", is_flag=True, help="Only edit and lock; leave .venv as it is."
            ),
        ]
        return _stacked(func, decorators)

    return apply
