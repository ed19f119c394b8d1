"""``cloche pip compile``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from cloche.cli.context import app
from cloche.cli.options import (
    binary_options,
    build_flags,
    build_options,
    index_flags,
    index_options,
)
from cloche.core.prerelease import PrereleaseMode
from cloche.errors import UsageError


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
@build_options
@binary_options
@index_options
@click.pass_context
def command(ctx: click.Context, /, src_files: tuple[Path, ...], **kwargs: Any) -> None:
    """Resolve SRC_FILES (requirements.in, ...) into pinned requirements.

    \b
    Examples:
      cloche pip compile requirements.in -o requirements.txt
      cloche pip compile requirements.in --generate-hashes
      cloche pip compile requirements.in --python-version 3.10 --python-platform linux
      cloche pip compile requirements.in -o requirements.txt --upgrade-package numpy
      cloche pip compile requirements.in --universal --python-version 3.10
    """
    from cloche.core.models import normalize
    from cloche.ops.compile import CompileRequest, compile_requirements

    _refuse_overwriting_an_input(kwargs["output_file"], src_files)
    flags = index_flags(kwargs)
    flags["prerelease"] = kwargs["prerelease"]
    if kwargs["prerelease_mode"] is not None:
        flags["prerelease_mode"] = PrereleaseMode(kwargs["prerelease_mode"])
    flags.update(build_flags(kwargs))
    state = app(ctx)
    settings = state.settings(**flags)
    request = CompileRequest(
        sources=src_files,
        output=kwargs["output_file"],
        constraints=kwargs["constraints"],
        python=kwargs["python"],
        python_version=kwargs["python_version"],
        python_platform=kwargs["python_platform"],
        upgrade=kwargs["upgrade"],
        upgrade_packages=frozenset(normalize(n) for n in kwargs["upgrade_packages"]),
        generate_hashes=kwargs["generate_hashes"],
        only_binary=tuple(kwargs["only_binary"]),
        no_binary=tuple(kwargs["no_binary"]),
        annotate=not kwargs["no_annotate"],
        header=not kwargs["no_header"],
        universal=kwargs["universal"],
        command_line=_command_line(src_files, kwargs),
        explicit_flags=flags,
    )
    result = compile_requirements(state.services(settings), request)
    state.reporter.close()
    if request.output is None:
        click.echo(result.text, nl=False)
    else:
        state.reporter.info(f"Resolved {result.pin_count} packages into {request.output}")


def _command_line(src_files: tuple[Path, ...], kwargs: dict[str, Any]) -> str:
    """The command for the output header: what reproduces this file (no index URLs,
    which may carry credentials)."""
    argv = ["cloche", "pip", "compile", *map(str, src_files)]
    for path in kwargs["constraints"]:
        argv += ["-c", str(path)]
    if kwargs["output_file"] is not None:
        argv += ["-o", str(kwargs["output_file"])]
    if kwargs["generate_hashes"]:
        argv.append("--generate-hashes")
    if kwargs["universal"]:
        argv.append("--universal")
    for option in ("python_version", "python_platform"):
        if kwargs[option]:
            argv += ["--" + option.replace("_", "-"), kwargs[option]]
    for option in ("no_binary", "only_binary"):
        for value in kwargs[option]:
            argv += ["--" + option.replace("_", "-"), value]
    return shlex.join(argv)


def _refuse_overwriting_an_input(output: Path | None, sources: tuple[Path, ...]) -> None:
    """``-o x.in`` for input ``x.in`` would replace the loose requirements with pins."""
    if output is None or str(output) == "-":
        return
    for source in sources:
        if str(source) != "-" and output.resolve() == source.resolve():
            raise UsageError(
                f"--output-file {output} is also an input file; it would be overwritten "
                "with the pins",
                hint=f"write the pins elsewhere: -o {output.with_suffix('.txt')}"
                if output.suffix != ".txt"
                else "write the pins to another file",
            )
