"""Finding the environment a pip-style command acts on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloche.cli.context import AppContext

if TYPE_CHECKING:
    from cloche.core.models import Interpreter


def target_environment(state: AppContext, python: str | None, system: bool) -> Interpreter:
    from cloche.adapters.python.discovery import find_environment

    settings = state.settings()
    return find_environment(python, system=system, cache_dir=settings.cache_dir)
