"""``cloche kernel``: register an environment's Python as a Jupyter kernel."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.jupyter.kernelspec import (
    KernelSpec,
    kernel_name,
    list_kernelspecs,
    remove_kernelspec,
    write_kernelspec,
)
from cloche.errors import UnusableEnvError
from cloche.ops.named_env import env_python, named_env

if TYPE_CHECKING:
    from cloche.ops.services import Services

KERNEL_PACKAGE = "ipykernel"


@dataclass(frozen=True, slots=True)
class KernelTarget:
    """The environment a kernel runs in and the names it is shown under."""

    env: Path
    name: str
    display_name: str


def named_target(name: str, display_name: str | None) -> KernelTarget:
    """The kernel of the named environment ``name``."""
    env = named_env(name)
    return KernelTarget(env, kernel_name(name), display_name or f"Python ({name})")


def project_target(display_name: str | None) -> KernelTarget:
    """The kernel of the project around the working directory (its ``.venv``)."""
    from cloche.ops.project.environment import find_project
    from cloche.ops.stamp import VENV_NAME

    project = find_project()
    env = project.root / VENV_NAME
    if not env_python(env).exists():
        raise UnusableEnvError(
            f"{env} has no Python; run 'cloche sync' first, then 'cloche kernel install'"
        )
    label = project.name or project.root.name
    return KernelTarget(env, kernel_name(label), display_name or f"Python ({label})")


def has_kernel_package(python: Path) -> bool:
    """Whether ``python`` can import ipykernel (from the env, or wherever its path reaches)."""
    code = (
        "import importlib.util, sys; "
        f"sys.exit(importlib.util.find_spec({KERNEL_PACKAGE!r}) is None)"
    )
    try:
        done = subprocess.run([str(python), "-c", code], capture_output=True, check=False)
        return done.returncode == 0
    except OSError as exc:
        raise UnusableEnvError(f"cannot run {python}: {exc.strerror or exc}") from None


def install_kernel(target: KernelTarget, services: Services) -> tuple[KernelSpec, bool]:
    """Write the kernelspec for ``target``, installing ipykernel first when it is missing.

    Returns the spec and whether ipykernel was installed.
    """
    settings, reporter = services.settings, services.reporter
    python = env_python(target.env)
    installed = False
    if not has_kernel_package(python):
        reporter.info(f"{KERNEL_PACKAGE} is not in {target.env}; installing it")
        from cloche.adapters.python.discovery import find_environment
        from cloche.core.requirements.line import parse_requirement
        from cloche.ops.pip_env import InstallOptions, install_requirements
        from cloche.ops.requirements import Asked

        interpreter = find_environment(str(target.env), cache_dir=settings.cache_dir)
        request = (parse_requirement(KERNEL_PACKAGE, "cloche kernel install"),)
        asked = Asked(request, (), None)
        install_requirements(services, interpreter, asked, InstallOptions())
        installed = True
    spec = write_kernelspec(target.name, python, target.display_name, target.env)
    return spec, installed


def kernels_of(env: Path) -> list[KernelSpec]:
    """The kernelspecs that run ``env``: made for it by cloche, or whose interpreter is in it."""
    root = os.path.normpath(env)
    inside = root + os.sep
    return [
        spec
        for spec in list_kernelspecs()
        if (spec.env is not None and os.path.normpath(spec.env) == root)
        or (spec.argv and os.path.normpath(spec.argv[0]).startswith(inside))
    ]


def remove_env_kernels(env: Path) -> list[KernelSpec]:
    """Remove the kernelspecs that run ``env`` (call before ``env`` goes: they would
    point at nothing); returns them."""
    found = kernels_of(env)
    for spec in found:
        remove_kernelspec(spec.name)
    return found
