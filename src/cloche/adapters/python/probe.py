"""Interpreter descriptions (``Interpreter``) built from cached probes.

``cache`` runs the probe and keeps what it said; this module turns that into
the values the resolver and installer use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from cloche.adapters.python import cache as python_cache
from cloche.adapters.python.tags import compute_tags
from cloche.core.models import Interpreter
from cloche.errors import InterpreterNotFound


def probe_interpreter(executable: Path, cache_dir: Path | None = None) -> Interpreter:
    """Describe the interpreter at ``executable``; the probe is cached under ``cache_dir``."""
    data = python_cache.probe_data(executable, None if cache_dir is None else os.fspath(cache_dir))
    return interpreter_from_data(python_cache.absolute(executable), data)


def cached_interpreter(executable: Path, cache_dir: Path | None = None) -> Interpreter | None:
    """``probe_interpreter``'s answer when the cache holds a valid probe; None otherwise."""
    where = None if cache_dir is None else os.fspath(cache_dir)
    data = python_cache.cached_probe_data(executable, where)
    return None if data is None else interpreter_from_data(python_cache.absolute(executable), data)


def interpreter_from_data(executable: str, data: Mapping[str, Any]) -> Interpreter:
    """Build the Interpreter value a probe describes; refuse Pythons cloche cannot use."""
    python_cache.check_usable(executable, data)
    text = python_cache.version_text(data)
    try:
        version = Version(text)
    except InvalidVersion:
        raise InterpreterNotFound(f"{executable} reported an invalid version {text!r}") from None
    return Interpreter(
        executable=executable,
        version=version,
        implementation=str(data["implementation"]),
        marker_env=tuple(sorted((str(k), str(v)) for k, v in data["markers"].items())),
        tags=tuple(compute_tags(data)),
        prefix=str(data["prefix"]),
        base_prefix=str(data["base_prefix"]),
        paths=tuple((str(k), str(v)) for k, v in data["paths"].items()),
    )
