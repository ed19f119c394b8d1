"""``cloche venv``: a new virtual environment, optionally seeded with pip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cloche.config import Settings
from cloche.core.models import Interpreter
from cloche.core.report import NullReporter, Reporter
from cloche.ops.python_install import find_or_install
from cloche.ops.venv_create import create_venv

if TYPE_CHECKING:
    from cloche.ops.services import Services

SEED_PACKAGES = ("pip",)


def make_venv(
    path: Path,
    settings: Settings,
    *,
    python: str | None = None,
    prompt: str | None = None,
    clear: bool = False,
    allow_existing: bool = False,
    system_site_packages: bool = False,
    seed: Services | None = None,
    reporter: Reporter | None = None,
) -> Interpreter:
    """Create the venv at ``path`` for the interpreter ``python`` asks for.

    With ``seed`` (the command's services), pip is installed into it.
    """
    reporter = reporter or NullReporter()
    base = find_or_install(python, settings, reporter)
    env = create_venv(
        path,
        base,
        prompt=prompt,
        clear=clear,
        system_site_packages=system_site_packages,
        allow_existing=allow_existing,
        cache_dir=settings.cache_dir,
    )
    if seed is not None:
        # Imported here: a plain `cloche venv` must not pay for the installer's imports.
        from cloche.core.requirements.file import parse_requirement
        from cloche.ops.pip_env import InstallOptions, install_requirements
        from cloche.ops.requirements import Asked

        reqs = tuple(parse_requirement(name, "--seed") for name in SEED_PACKAGES)
        install_requirements(seed, env, Asked(reqs, (), None), InstallOptions())
    return env
