"""Finding the environment a pip-style command acts on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloche.cli.context import AppContext

if TYPE_CHECKING:
    from cloche.core.models import Interpreter


def target_environment(state: AppContext, python: str | None, system: bool) -> Interpreter:
    from cloche.adapters.python.discovery import find_environment

    settings = state.settings()
    python = named_python(state, python)
    return find_environment(python, system=system, cache_dir=settings.cache_dir)


def named_python(state: AppContext, python: str | None) -> str | None:
    """``python``, or the directory of the env ``-n NAME`` chose."""
    if state.env_name is None:
        return python
    from cloche.errors import UsageError
    from cloche.ops.named_env import named_env

    if python is not None:
        raise UsageError("-n/--name and --python both choose the environment; pass one")
    return str(named_env(state.env_name))
