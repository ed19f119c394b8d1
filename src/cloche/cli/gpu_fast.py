"""``cloche gpu`` without click: a warm run prints the answer kept on disk.

The console script tries this before importing click (as ``venv_fast`` does for
``cloche venv``). It takes only ``[--cache-dir DIR] gpu`` with the command's own
options; the answer must have been made by the click command (``cli/gpu_cmd.py``)
for the same question, and everything it was made from must be unchanged
(``adapters.accel.answers``). Otherwise it returns None and the click command runs,
which detects (from its own cache), chooses, prints, and keeps the answer.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

_VALUE_OPTIONS = ("--accelerator", "--cuda-policy", "--python-version")


class FastGpu:
    """A ``cloche gpu`` command line: where the answers are, and the question."""

    __slots__ = ("cache_dir", "question")

    def __init__(self, cache_dir: str, question: str) -> None:
        self.cache_dir = cache_dir
        self.question = question


def parse(args: Sequence[str]) -> FastGpu | None:
    """The request, when ``args`` is a ``gpu`` command line this module answers; else None."""
    rest = list(args)
    cache_dir = os.environ.get("CLOCHE_CACHE_DIR") or None
    if rest[:1] == ["--cache-dir"] and len(rest) > 1:
        cache_dir, rest = rest[1], rest[2:]
    elif rest and rest[0].startswith("--cache-dir="):
        cache_dir, rest = rest[0].split("=", 1)[1], rest[1:]
    if rest[:1] != ["gpu"]:
        return None
    options: dict[str, str] = {}
    rest = rest[1:]
    while rest:
        arg = rest.pop(0)
        name, equals, value = arg.partition("=")
        if arg == "--json":
            options["--json"] = ""
        elif name in _VALUE_OPTIONS and equals:
            options[name] = value
        elif arg in _VALUE_OPTIONS and rest:
            options[arg] = rest.pop(0)
        else:
            return None  # --help, a typo, a value missing: click says what is wrong
    if cache_dir is None:
        from cloche.dirs import platform_cache_dir

        cache_dir = platform_cache_dir()
    from cloche.adapters.accel.answers import question

    flat = [f"{name}={value}" for name, value in sorted(options.items())]
    return FastGpu(os.path.abspath(cache_dir), question(flat, os.getcwd()))


def answer(request: FastGpu) -> tuple[str, str] | None:
    """The kept (stdout, stderr), when it still holds."""
    from cloche.adapters.accel.answers import recall

    return recall(request.cache_dir, request.question)


def run(found: tuple[str, str]) -> int:
    out, err = found
    if err:
        sys.stderr.write(err)
    sys.stdout.write(out)
    return 0
