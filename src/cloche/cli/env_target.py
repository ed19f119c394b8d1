"""Finding the environment a pip-style command acts on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cloche.cli.context import AppContext
from cloche.errors import UsageError

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


def externally_managed(interpreter: Interpreter) -> Path | None:
    """The PEP 668 ``EXTERNALLY-MANAGED`` marker of a system Python (None in a venv,
    or where the distributor left none): it sits beside the standard library."""
    if interpreter.is_venv:
        return None
    version = f"{interpreter.version.major}.{interpreter.version.minor}"
    base = Path(interpreter.base_prefix)
    for stdlib in (base / "lib" / f"python{version}", base / "Lib"):
        marker = stdlib / "EXTERNALLY-MANAGED"
        if marker.is_file():
            return marker
    return None


def refuse_externally_managed(state: AppContext, interpreter: Interpreter) -> None:
    """Before changing a system Python: refuse one its distributor manages (PEP 668),
    as pip and uv do, unless --break-system-packages."""
    marker = externally_managed(interpreter)
    if marker is None or state.break_system_packages:
        return
    raise UsageError(
        f"{interpreter.executable} is managed by its distributor ({marker}); "
        "installing into it could break the system's own tools",
        hint="use a virtual environment ('cloche venv'), or pass --break-system-packages "
        "if you mean it",
    )
