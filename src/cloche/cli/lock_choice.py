"""``--accelerator`` and ``--lock``: which of a project's locks a command uses, and the
settings that route the torch family to that lock's build.

Imported on ``cloche sync``'s no-op fast path: only click and the standard library
at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.config import Settings
    from cloche.core.project.spec import ProjectSpec

F = TypeVar("F", bound=Callable[..., Any])

ACCELERATOR_HELP = (
    "Use the named lock for this accelerator, pylock.NAME.toml (auto: this machine's; "
    "cpu, cu126, cu128, rocm6.4, xpu ...); made when missing."
)


@dataclass(frozen=True, slots=True)
class LockChoice:
    """``--accelerator`` / ``--lock`` as given (None: not given)."""

    accelerator: str | None = None
    lock: str | None = None

    def lock_file(self) -> str | None:
        """The lock file the fast path may trust, when it is known without detection."""
        name = self.lock or self.accelerator
        if name is None or name.strip().lower() == "auto":
            return None
        if self.lock is None:
            name = name.strip().lower().replace(".", "-")  # ops.named_locks.lock_name_for
        return f"pylock.{name}.toml"

    @property
    def needs_detection(self) -> bool:
        return self.lock is None and (self.accelerator or "").strip().lower() == "auto"


NO_CHOICE = LockChoice()


def lock_choice_options(func: F) -> F:
    """--accelerator NAME and --lock NAME."""
    func = click.option(
        "--lock",
        "lock_name",
        default=None,
        metavar="NAME",
        help="Use the named lock pylock.NAME.toml.",
    )(func)
    return click.option("--accelerator", default=None, metavar="NAME", help=ACCELERATOR_HELP)(func)


def lock_choice_from(kwargs: dict[str, Any]) -> LockChoice:
    accelerator = kwargs.pop("accelerator", None)
    lock = kwargs.pop("lock_name", None)
    if accelerator is not None and lock is not None:
        raise click.UsageError("--accelerator and --lock cannot be used together")
    return LockChoice(accelerator, lock)


@dataclass(frozen=True, slots=True)
class ProjectLock:
    """The project with the lock a command uses, and the settings routed for it."""

    spec: ProjectSpec
    settings: Settings
    line: str | None
    """Which torch build the lock is for, and why (one line), when torch is in it."""
    warnings: tuple[str, ...]


def project_lock(
    state: AppContext,
    choice: LockChoice,
    *,
    name: str | None = None,
    pick: bool = True,
    **flags: Any,
) -> ProjectLock:
    """The project, its lock (``name``, else picked by ``choice`` and the machine) and
    the settings to use it with."""
    from dataclasses import replace

    from cloche.cli.project_options import project_settings
    from cloche.core.project.spec import LOCKFILE
    from cloche.ops.gpu_relevance import plain_project
    from cloche.ops.project.environment import find_project

    spec = find_project()
    settings = project_settings(state, spec, **flags)
    asked = choice.accelerator is not None or choice.lock is not None
    if name is None and pick and not asked:
        plain_lock = (spec.root / LOCKFILE).is_file()
        if plain_project(settings, spec.root, spec.named, plain_lock):
            return ProjectLock(spec, settings, None, ())
    from cloche.ops.named_locks import pick_lock, route_for_lock

    if name is None and pick:
        name = pick_lock(settings, spec.root, choice.accelerator, choice.lock)
    spec = replace(spec, lock_name=name)
    routed = route_for_lock(settings, spec, choice.accelerator)
    return ProjectLock(spec, routed.settings, routed.line, routed.warnings)


def say(state: AppContext, project: ProjectLock) -> None:
    """Print the routing line and warnings."""
    for warning in project.warnings:
        state.reporter.warning(warning)
    if project.line is not None:
        state.reporter.info(project.line)
