"""What ``cloche pip compile`` does once its command line is read.

Both readers of that command line call ``run_compile``: the click command
(``cli.pip_compile``) and the parser that answers the common ones before click
loads (``cli.compile_fast``). So this module imports no click.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from cloche.cli.option_flags import binary_args, build_flags, index_flags
from cloche.cli.reporter import echo
from cloche.errors import UsageError

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from typing import Any

    from cloche.cli.context import AppContext


def run_compile(state: AppContext, src_files: tuple[Path, ...], kwargs: dict[str, Any]) -> None:
    """Compile ``src_files`` with the options in ``kwargs`` (named, and with the values,
    as the click command's parameters; the index, build and binary ones may be left out)
    and print or write the pins."""
    from cloche.core.models import normalize
    from cloche.core.prerelease import PrereleaseMode
    from cloche.ops.compile import CompileRequest, compile_requirements

    if kwargs["output_file"] == Path("-"):  # pip-compile's spelling of standard output
        kwargs["output_file"] = None
    _refuse_overwriting_an_input(kwargs["output_file"], src_files)
    flags = index_flags(kwargs)
    flags["prerelease"] = kwargs["prerelease"]
    if kwargs["prerelease_mode"] is not None:
        flags["prerelease_mode"] = PrereleaseMode(kwargs["prerelease_mode"])
    flags.update(build_flags(kwargs))
    settings = state.settings(**flags)
    only_binary, no_binary = binary_args(kwargs)
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
        only_binary=only_binary,
        no_binary=no_binary,
        annotate=not kwargs["no_annotate"],
        header=not kwargs["no_header"],
        universal=kwargs["universal"],
        extras=tuple(kwargs.get("extras", ())),
        all_extras=bool(kwargs.get("all_extras")),
        groups=tuple(kwargs.get("groups", ())),
        command_line=_command_line(src_files, kwargs, no_binary, only_binary),
        explicit_flags=flags,
    )
    result = compile_requirements(state.services(settings), request)
    state.reporter.close()
    if request.output is None:
        echo(result.text, nl=False)
    else:
        state.reporter.info(f"Resolved {result.pin_count} packages into {request.output}")


def _command_line(
    src_files: tuple[Path, ...],
    kwargs: dict[str, Any],
    no_binary: tuple[str, ...],
    only_binary: tuple[str, ...],
) -> str:
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
    for option, values in (("no-binary", no_binary), ("only-binary", only_binary)):
        for value in values:
            argv += ["--" + option, value]
    return shlex.join(argv)


def _refuse_overwriting_an_input(output: Path | None, sources: tuple[Path, ...]) -> None:
    """``-o x.in`` for input ``x.in`` would replace the loose requirements with pins."""
    if output is None:
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
