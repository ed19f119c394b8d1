"""Which directory is the project: the nearest pyproject.toml declaring one.

Light on purpose (``os`` only until a pyproject.toml must be parsed): the fast
paths of ``sync`` and ``run`` walk up before anything heavier is imported.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path
    from typing import Any

PYPROJECT = "pyproject.toml"


def declares_project(data: Mapping[str, Any]) -> bool:
    """Whether a parsed pyproject.toml has ``[project]`` or ``[tool.cloche]``."""
    tool = data.get("tool")
    return "project" in data or (isinstance(tool, dict) and "cloche" in tool)


def file_declares_project(path: str | os.PathLike[str]) -> bool:
    """As ``declares_project`` for a file; one that cannot be read or parsed counts, so
    that loading it reports the error instead of silently skipping to a parent project."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

    try:
        with open(path, "rb") as handle:
            data = tomllib.loads(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    return declares_project(data)


def parents(start: str) -> Iterator[str]:
    """``start`` (made absolute, symlinks resolved) and each directory above it."""
    directory = os.path.realpath(start)
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def find_project_dir(start: str) -> str | None:
    """Nearest directory from ``start`` upward whose pyproject.toml has [project] or
    [tool.cloche] (or is not valid TOML)."""
    for directory in parents(start):
        candidate = os.path.join(directory, PYPROJECT)
        if os.path.isfile(candidate) and file_declares_project(candidate):
            return directory
    return None


def find_project_root(start: Path) -> Path | None:
    """As ``find_project_dir``, for a Path."""
    found = find_project_dir(os.fspath(start))
    return None if found is None else type(start)(found)
