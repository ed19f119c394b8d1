"""``cloche pip compile`` without click: the common command lines, parsed by hand.

An offline ``pip compile`` is timed against uv's; importing click (and the gettext,
locale, datetime, uuid, platform, difflib and textwrap it pulls in) and letting it
parse is a few percent of a warm run. So the console script tries this parser
first. It takes only the global options ``venv_fast.parse_global_options`` reads,
then ``pip compile`` with source files and the options below, each spelled as
click would accept it; anything else (index, build or binary options, ``-v``,
``--help``, ``--``, a short option with its value attached, a value that is
missing, empty or looks like an option, a path click would refuse) returns None
and the click command (``cli/pip_compile.py``) runs instead. Both run
``compile_run.run_compile``.
"""

from __future__ import annotations

import os
import sys

from cloche.cli.venv_fast import flag_count, parse_global_options

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from cloche.cli.venv_fast import GlobalOptions

_VALUE_OPTIONS = {
    "-o": "output_file",
    "--output-file": "output_file",
    "-c": "constraints",
    "--constraint": "constraints",
    "--python-version": "python_version",
    "--python-platform": "python_platform",
    "-p": "python",
    "--python": "python",
    "-P": "upgrade_packages",
    "--upgrade-package": "upgrade_packages",
    "--prerelease": "prerelease_mode",
}
_REPEATABLE = ("constraints", "upgrade_packages")
_PATHS = ("output_file", "constraints")
_FLAGS = {
    "--generate-hashes": "generate_hashes",
    "-U": "upgrade",
    "--upgrade": "upgrade",
    "--pre": "prerelease",
    "--universal": "universal",
    "--no-annotate": "no_annotate",
    "--no-header": "no_header",
}


class FastCompile:
    """What a ``cloche pip compile`` command line asked for."""

    __slots__ = ("cache_dir", "kwargs", "no_progress", "offline", "quiet", "sources")

    def __init__(self, sources: tuple[Path, ...], kwargs: dict[str, Any]) -> None:
        self.sources = sources
        self.kwargs = kwargs
        """The click command's parameters (less the index, build and binary options)."""
        self.quiet = 0
        self.cache_dir: str | None = None
        self.offline = False
        self.no_progress = False


def _defaults() -> dict[str, Any]:
    """The click command's parameter values when none of its options is given."""
    return {
        "output_file": None,
        "constraints": (),
        "generate_hashes": False,
        "python_version": None,
        "python_platform": None,
        "python": None,
        "upgrade": False,
        "upgrade_packages": (),
        "prerelease": None,
        "universal": False,
        "prerelease_mode": None,
        "no_annotate": False,
        "no_header": False,
    }


def parse(args: Sequence[str]) -> FastCompile | None:
    """The request, when ``args`` is a ``pip compile`` command this module reads exactly
    as click would; else None."""
    found = parse_global_options(args)
    if found is None or list(args[found.index : found.index + 2]) != ["pip", "compile"]:
        return None
    if "_CLOCHE_COMPLETE" in os.environ or not _click_takes_cache_dir(found.cache_dir):
        return None  # click's shell completion, or its own error about --cache-dir
    kwargs = _defaults()
    sources: list[str] = []
    quiet = found.quiet
    rest = list(args[found.index + 2 :])
    while rest:
        arg = rest.pop(0)
        name, value = _VALUE_OPTIONS.get(arg), None
        if name is not None:
            value = rest.pop(0) if rest else None
        elif arg.startswith("--") and "=" in arg:
            option, value = arg.split("=", 1)
            name = _VALUE_OPTIONS.get(option)
        if name is not None:
            if not _plain_value(value, name):
                return None
            if name in _REPEATABLE:
                kwargs[name] += (value,)
            else:
                kwargs[name] = value
        elif arg in _FLAGS:
            kwargs[_FLAGS[arg]] = True
        elif count := flag_count(arg, "q", "--quiet"):
            quiet += count
        elif arg == "-" or (arg and not arg.startswith("-")):
            sources.append(arg)
        else:
            return None
    if not sources or not all(map(_click_takes_path, [*sources, *_paths(kwargs)])):
        return None
    return _request(found, quiet, sources, kwargs)


def _plain_value(value: str | None, name: str) -> bool:
    """Whether click would take ``value`` for option ``name`` just as it is."""
    if not value or (value.startswith("-") and value != "-"):
        return False
    if name == "prerelease_mode":
        from cloche.core.prerelease import PrereleaseMode

        return value in {mode.value for mode in PrereleaseMode}
    return True


def _paths(kwargs: dict[str, Any]) -> list[str]:
    output = kwargs["output_file"]
    return [*kwargs["constraints"], *([] if output is None else [output])]


def _click_takes_path(path: str) -> bool:
    """click.Path() refuses a path that exists and cannot be read."""
    return not os.path.exists(path) or os.access(path, os.R_OK)


def _click_takes_cache_dir(path: str | None) -> bool:
    """click.Path(file_okay=False) also refuses a file."""
    return path is None or (_click_takes_path(path) and not os.path.isfile(path))


def _request(
    found: GlobalOptions, quiet: int, sources: list[str], kwargs: dict[str, Any]
) -> FastCompile:
    from pathlib import Path

    for name in _PATHS:
        value = kwargs[name]
        if isinstance(value, tuple):
            kwargs[name] = tuple(Path(item) for item in value)
        elif value is not None:
            kwargs[name] = Path(value)
    out = FastCompile(tuple(Path(source) for source in sources), kwargs)
    out.quiet = quiet
    out.cache_dir = found.cache_dir
    out.offline = found.offline
    out.no_progress = found.no_progress
    return out


def run(request: FastCompile) -> int:
    """Compile as ``cloche pip compile`` does, with click's own handling of Ctrl-C and
    of a closed pipe; the exit code."""
    from cloche.cli.compile_run import run_compile
    from cloche.cli.context import AppContext
    from cloche.cli.reporter import echo

    state = AppContext(
        verbosity=-request.quiet,
        cache_dir=request.cache_dir,
        offline=True if request.offline else None,
        progress=not request.no_progress,
    )
    try:
        run_compile(state, request.sources, dict(request.kwargs))
    except (EOFError, KeyboardInterrupt) as exc:
        from cloche.cli.signals import Terminated

        echo("", err=True)  # click's blank line after the terminal's ^C
        if isinstance(exc, Terminated):
            raise
        echo("aborted", err=True)
        return 130
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = _PacifiedFlush(sys.stdout)
        sys.stderr = _PacifiedFlush(sys.stderr)
        sys.exit(1)
    finally:
        state.close()
    return 0


class _PacifiedFlush:
    """A stream whose flush ignores a closed pipe, as click leaves stdout and stderr
    after one (so the interpreter's last flush says nothing)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        import errno

        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)
