"""``cloche python list``: the rows and their text, without click.

The console script answers a plain ``cloche python list [--json]`` from here
before importing click (as ``venv_fast`` does for ``cloche venv``); the click
command (``cli/python_cmd.py``) renders through the same functions.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

Row = tuple[str, str, str, str]
NONE_FOUND = "No Python interpreters found on PATH, in pyenv, asdf or conda"
_KEYS = ("version", "implementation", "source", "executable")


def rows(cache_dir: str | None) -> list[Row]:
    """Every interpreter found, newest first: version, implementation, source, executable."""
    from cloche.adapters.python import cache as python_cache
    from cloche.adapters.python.places import probed_candidates, source_of

    found = probed_candidates(cache_dir or python_cache.default_cache_dir())
    # Newest first; sorted() is stable, so PATH order decides between equal versions.
    found = sorted(found, key=lambda item: tuple(item[1]["version_info"][:3]), reverse=True)
    return [
        (python_cache.version_text(data), str(data["implementation"]), source_of(exe), exe)
        for exe, data in found
    ]


def as_json(found: list[Row]) -> str:
    import json

    return json.dumps([dict(zip(_KEYS, row, strict=True)) for row in found], indent=2)


def as_lines(found: list[Row]) -> list[str]:
    return [
        f"{implementation}-{version:<10} {source:<7} {executable}"
        for version, implementation, source, executable in found
    ]


def parse_fast(args: Sequence[str]) -> bool | None:
    """Whether a fast ``python list`` wants JSON; None when ``args`` is anything else."""
    if list(args) == ["python", "list"]:
        return False
    if list(args) == ["python", "list", "--json"]:
        return True
    return None


def run_fast(json_wanted: bool) -> int:
    found = rows(None)
    if json_wanted:
        sys.stdout.write(as_json(found) + "\n")
    elif found:
        sys.stdout.write("".join(line + "\n" for line in as_lines(found)))
    else:
        sys.stderr.write(NONE_FOUND + "\n")
    return 0
