"""A virtual environment made for a probed interpreter, described as an ``Interpreter``.

The venv adapter only lays out files: the base's probe comes from, and the new
venv's probe goes back to, the probe cache of ``adapters.python``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cloche.adapters.python import cache as python_cache
from cloche.adapters.python.probe import interpreter_from_data
from cloche.adapters.venv.create import make_venv_files
from cloche.core.models import Interpreter
from cloche.ops.venv_lock import clearing


def create_venv(
    path: Path,
    interpreter: Interpreter,
    *,
    prompt: str | None = None,
    clear: bool = False,
    system_site_packages: bool = False,
    allow_existing: bool = False,
    cache_dir: Path | None = None,
) -> Interpreter:
    """Create a virtual environment at ``path`` for ``interpreter`` and return its Interpreter.

    ``clear`` wipes an existing environment first; ``allow_existing`` keeps what is
    there and refreshes configuration, links and scripts.
    """
    cache = None if cache_dir is None else os.fspath(cache_dir)
    base = python_cache.probe_data(interpreter.executable, cache)
    python_cache.check_usable(python_cache.absolute(interpreter.executable), base)

    with clearing(os.fspath(path), base, clear=clear) as keep:
        executables, data = make_venv_files(
            os.fspath(path),
            base,
            version=python_cache.version_text(base),
            prompt=prompt,
            clear=clear,
            system_site_packages=system_site_packages,
            allow_existing=allow_existing,
            keep=keep,
        )
    python_cache.store_probes(executables, data, cache)
    return interpreter_from_data(executables[0], data)
