"""``cloche venv`` without click: the common invocations, parsed by hand.

``cloche venv`` is timed against uv's (a Rust binary that starts in a few
milliseconds); importing click, dataclasses and packaging alone would cost
several times that. So the console script tries this parser first. It takes
only what it can answer exactly like the click command (``cli/venv_cmd.py``)
would; anything else (``--help``, ``--python`` with a version rather than a
path to an interpreter, ``--seed``, index options, a config file or ``CLOCHE_*``
variable that could change settings) returns None, and the click command runs
instead.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

_GLOBAL_VALUE_OPTIONS = ("--cache-dir",)
_FLAGS = {"--clear": "clear", "--allow-existing": "allow_existing"}
_FLAGS["--system-site-packages"] = "system_site_packages"


class FastVenv:
    """What a ``cloche venv`` command line asked for."""

    __slots__ = (
        "allow_existing",
        "cache_dir",
        "clear",
        "path",
        "prompt",
        "python",
        "quiet",
        "system_site_packages",
    )

    def __init__(self) -> None:
        self.path = ".venv"
        self.prompt: str | None = None
        self.python: str | None = None
        """Once parsed, the interpreter file ``--python`` names."""
        self.clear = False
        self.allow_existing = False
        self.system_site_packages = False
        self.quiet = 0
        self.cache_dir: str | None = None


def parse(args: Sequence[str]) -> FastVenv | None:
    """The request, when ``args`` is a ``venv`` command this module can run; else None."""
    out = FastVenv()
    found = parse_globals(args)
    if found is None or args[found[0]] != "venv":
        return None
    index, out.quiet, out.cache_dir = found
    rest = list(args[index + 1 :])
    seen_path = False
    while rest:
        arg = rest.pop(0)
        if arg in _FLAGS:
            setattr(out, _FLAGS[arg], True)
        elif arg == "--prompt" and rest:
            out.prompt = rest.pop(0)
        elif arg.startswith("--prompt="):
            out.prompt = arg.split("=", 1)[1]
        elif quiet := flag_count(arg, "q", "--quiet"):
            out.quiet += quiet
        elif arg in ("-p", "--python") and rest:
            out.python = rest.pop(0)
        elif arg.startswith("--python="):
            out.python = arg.split("=", 1)[1]
        elif arg.startswith("-") or seen_path or not arg:
            return None
        else:
            out.path = arg
            seen_path = True
    if out.python is not None:
        out.python = _interpreter_file(out.python)
        if out.python is None:
            return None
    return out if _settings_are_defaults() else None


def _interpreter_file(request: str) -> str | None:
    """The file a ``--python`` value names, when it names one (not a version or a venv)."""
    from cloche.adapters.python.cache import looks_like_path, request_path

    text = request.strip()
    if not looks_like_path(text):
        return None
    path = request_path(text)
    return path if os.path.isfile(path) else None


class GlobalOptions:
    """The global options before the subcommand, when they are only the ones read here."""

    __slots__ = ("cache_dir", "index", "no_progress", "offline", "quiet")

    def __init__(self) -> None:
        self.index = 0
        """Where the subcommand is."""
        self.quiet = 0
        self.cache_dir: str | None = None
        self.offline = False
        self.no_progress = False


def parse_global_options(args: Sequence[str]) -> GlobalOptions | None:
    """The global ``-q`` count, ``--cache-dir``, ``--offline`` and ``--no-progress``
    before the subcommand, when those are all there is; else None."""
    found = GlobalOptions()
    while found.index < len(args):
        arg = args[found.index]
        if count := flag_count(arg, "q", "--quiet"):
            found.quiet += count
        elif arg == "--no-progress":
            found.no_progress = True
        elif arg == "--offline":
            found.offline = True
        elif arg in _GLOBAL_VALUE_OPTIONS and found.index + 1 < len(args):
            found.index += 1
            found.cache_dir = args[found.index]
        elif arg.startswith("--cache-dir="):
            found.cache_dir = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            return None
        else:
            return found
        found.index += 1
    return None


def parse_globals(args: Sequence[str]) -> tuple[int, int, str | None] | None:
    """Where the subcommand is, the global ``-q`` count and ``--cache-dir``, when the
    global options before it are only those (and ``--no-progress``); else None."""
    found = parse_global_options(args)
    if found is None or found.offline:
        return None
    return found.index, found.quiet, found.cache_dir


def flag_count(arg: str, letter: str, long: str) -> int:
    """How many times ``arg`` gives a counted flag: ``-qq`` is 2, ``--quiet`` 1, else 0."""
    if arg == long:
        return 1
    return len(arg) - 1 if arg[:1] == "-" and set(arg[1:]) == {letter} else 0


def _settings_are_defaults() -> bool:
    """No config file or variable that ``load_settings`` would read (and might reject)."""
    # Any value of these two is valid, and neither matters without a --python version.
    harmless = ("CLOCHE_CACHE_DIR", "CLOCHE_PYTHON_MIRROR")
    if any(k.startswith("CLOCHE_") and k not in harmless for k in os.environ):
        return False
    from cloche.dirs import user_config_file

    return not os.path.exists(user_config_file())


def run(request: FastVenv) -> int:
    """Create the venv and say so, as ``cloche venv`` does; the exit code."""
    from cloche.adapters.python import cache as python_cache
    from cloche.adapters.venv.create import make_venv_files
    from cloche.ops.venv_lock import clearing

    # None: the probe cache falls back to $CLOCHE_CACHE_DIR, then the platform's cache dir.
    cache_dir = request.cache_dir
    if request.python is not None:
        base_executable = request.python
        base = python_cache.probe_data(base_executable, cache_dir)
    else:
        base_executable, base = python_cache.default_interpreter(cache_dir)
    python_cache.check_usable(python_cache.absolute(base_executable), base)
    version = python_cache.version_text(base)
    with clearing(request.path, base, clear=request.clear) as keep:
        executables, data = make_venv_files(
            request.path,
            base,
            version=version,
            prompt=request.prompt,
            clear=request.clear,
            allow_existing=request.allow_existing,
            system_site_packages=request.system_site_packages,
            keep=keep,
        )
    python_cache.store_probes(executables, data, cache_dir)
    if request.quiet == 0:
        lines = created_lines(request.path, version, data["paths"]["scripts"])
        sys.stderr.write("".join(f"{line}\n" for line in lines))
    return 0


def created_lines(path: str, version: str, scripts_dir: str) -> list[str]:
    """What ``cloche venv`` prints once the environment exists."""
    shown = os.path.normpath(path)
    activate = "Scripts\\activate" if os.path.basename(scripts_dir) == "Scripts" else "bin/activate"
    return [
        f"Created virtual environment at {shown} with Python {version}",
        f"Activate with: source {shown}/{activate}",
    ]
