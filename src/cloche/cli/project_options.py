"""Command-line options the project commands share, turned into the values ops take:
which dependency groups and extras, how to treat the lock, and the project's settings.

Imported on ``cloche sync``'s no-op fast path: only click and the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.config import Settings
    from cloche.core.project.spec import ProjectSpec
    from cloche.ops.stamp import Selection

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(func: F) -> F:
    """--group, --all-groups, --no-default-groups, --extra, --all-extras."""
    decorators = [
        click.option(
            "--group",
            "groups",
            multiple=True,
            metavar="GROUP",
            help="Also install this dependency group (repeatable).",
        ),
        click.option("--all-groups", is_flag=True, help="Install every dependency group."),
        click.option(
            "--no-default-groups",
            is_flag=True,
            help="Leave out the default groups (dev, or [tool.cloche] default-groups).",
        ),
        click.option(
            "--extra",
            "extras",
            multiple=True,
            metavar="EXTRA",
            help="Also install this extra (optional dependencies; repeatable).",
        ),
        click.option("--all-extras", is_flag=True, help="Install every extra."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def selection_from(kwargs: dict[str, Any]) -> Selection:
    from cloche.ops.stamp import Selection

    return Selection(
        groups=tuple(kwargs.pop("groups", ())),
        all_groups=bool(kwargs.pop("all_groups", False)),
        extras=tuple(kwargs.pop("extras", ())),
        all_extras=bool(kwargs.pop("all_extras", False)),
        no_default_groups=bool(kwargs.pop("no_default_groups", False)),
    )


def lock_mode(frozen: bool, locked: bool) -> str:
    """The ``ops.sync.LockMode`` value for the flags (a string: the fast path skips ops.sync)."""
    if frozen and locked:
        raise click.UsageError("--frozen and --locked cannot be used together")
    return "frozen" if frozen else "locked" if locked else "auto"


def project_settings(state: AppContext, spec: ProjectSpec, **flags: Any) -> Settings:
    """Settings with the project's [tool.cloche] table and this run's flags."""
    return state.settings(
        project_table=dict(spec.tool), **{k: v for k, v in flags.items() if v is not None}
    )
