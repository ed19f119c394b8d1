"""``cloche sync``, and the pieces the other project commands share.

The no-op fast path (the env stamp matches) imports nothing beyond click and the
standard library: no packaging, httpx, resolvelib or rich.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cloche.cli.context import AppContext, app

if TYPE_CHECKING:
    from cloche.config import Settings
    from cloche.core.project.spec import ProjectSpec
    from cloche.ops.install import Plan
    from cloche.ops.stamp import Selection
    from cloche.ops.sync import SyncResult

F = TypeVar("F", bound=Callable[..., Any])

UP_TO_DATE = "Environment is up to date"


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


def sync_now(
    state: AppContext,
    selection: Selection,
    mode: str,
    *,
    offline: bool | None = None,
) -> SyncResult:
    """The slow path: lock if needed, install, stamp; prints what changed."""
    from cloche.ops.project.environment import find_project
    from cloche.ops.sync import LockMode, sync_project

    spec = find_project()
    settings = project_settings(state, spec, offline=offline)
    try:
        result = sync_project(spec, settings, selection, LockMode(mode), state.reporter)
    finally:
        state.reporter.close()
    print_sync(state, result.plan)
    return result


def print_sync(state: AppContext, plan: Plan) -> None:
    if plan.is_noop:
        state.reporter.info(UP_TO_DATE)
        return
    from cloche.cli.summary import print_plan

    print_plan(state.reporter, plan)


def default_sync(state: AppContext, no_sync: bool) -> None:
    """What add/remove/upgrade do after writing the lock."""
    if no_sync:
        return
    from cloche.ops.stamp import Selection

    sync_now(state, Selection(), "auto")


@click.command("sync")
@click.option(
    "--frozen",
    is_flag=True,
    help="Install pylock.toml as it is, without checking it against pyproject.toml.",
)
@click.option(
    "--locked",
    is_flag=True,
    help="Fail (exit 1) if pylock.toml is missing or out of date (for CI).",
)
@selection_options
@click.option("--offline", is_flag=True, default=None, help="Never touch the network.")
@click.pass_context
def command(
    ctx: click.Context, /, frozen: bool, locked: bool, offline: bool | None, **kwargs: Any
) -> None:
    """Make the project's .venv hold exactly what pylock.toml selects for this machine.

    Locks first when pylock.toml is missing or stale (unless --frozen or --locked).
    Packages not in the lock are removed.

    \b
    Examples:
      cloche sync
      cloche sync --locked          # CI: fail instead of re-locking
      cloche sync --group docs --extra viz
    """
    from cloche.ops.stamp import check_stamp

    state = app(ctx)
    mode = lock_mode(frozen, locked)
    selection = selection_from(kwargs)
    if check_stamp(Path.cwd(), selection, need_fresh=not frozen) is not None:
        if state.verbosity >= 0:
            click.echo(UP_TO_DATE, err=True)
        return
    sync_now(state, selection, mode, offline=offline)
