"""``cloche pip compile``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.options import (
    binary_options,
    build_options,
    index_options,
    project_file_options,
)
from cloche.core.prerelease import PrereleaseMode


@click.command("compile")
@click.argument("src_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the pins here (existing pins are kept unless upgraded).",
)
@click.option(
    "-c",
    "--constraint",
    "constraints",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Constraints file (repeatable).",
)
@click.option(
    "--generate-hashes", is_flag=True, help="Add --hash lines for every file of each pin."
)
@click.option(
    "--python-version",
    default=None,
    metavar="X.Y",
    help="Resolve for this Python version instead of the interpreter's.",
)
@click.option(
    "--python-platform",
    default=None,
    metavar="PLATFORM",
    help="Resolve for another platform: linux, macos, windows, linux-aarch64, ...",
)
@click.option(
    "-p",
    "--python",
    default=None,
    metavar="PATH|VERSION",
    help=(
        "The interpreter to resolve for (default: the activated environment's, "
        "else python3 on PATH)."
    ),
)
@click.option(
    "-U", "--upgrade", is_flag=True, help="Ignore existing pins: newest allowed versions."
)
@click.option(
    "-P",
    "--upgrade-package",
    "upgrade_packages",
    multiple=True,
    metavar="NAME",
    help="Upgrade only this package (repeatable).",
)
@click.option("--pre", "prerelease", is_flag=True, default=None, help="Allow pre-releases.")
@click.option(
    "--universal",
    is_flag=True,
    help="One file for every platform and every Python from --python-version (or the "
    "interpreter's) up: pins that differ carry markers.",
)
@click.option(
    "--prerelease",
    "prerelease_mode",
    type=click.Choice([m.value for m in PrereleaseMode]),
    default=None,
    help="When pre-releases may be chosen, as uv: allow, disallow, if-necessary, explicit "
    "(only where your requirement names one), if-necessary-or-explicit.",
)
@click.option("--no-annotate", is_flag=True, help="Leave out the '# via' lines.")
@click.option("--no-header", is_flag=True, help="Leave out the header comment.")
@project_file_options
@build_options
@binary_options
@index_options
@click.pass_context
def command(ctx: click.Context, /, src_files: tuple[Path, ...], **kwargs: Any) -> None:
    """Resolve SRC_FILES (requirements.in, pyproject.toml, setup.py, setup.cfg; - for
    standard input) into pinned requirements.

    \b
    Examples:
      cloche pip compile requirements.in -o requirements.txt
      cloche pip compile requirements.in --generate-hashes
      cloche pip compile requirements.in --python-version 3.10 --python-platform linux
      cloche pip compile requirements.in -o requirements.txt --upgrade-package numpy
      cloche pip compile requirements.in --universal --python-version 3.10
      cloche pip compile pyproject.toml --extra viz -o requirements.txt
    """
    from cloche.cli.compile_run import run_compile

    run_compile(app(ctx), src_files, kwargs)
