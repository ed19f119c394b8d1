"""Syncing the project's environment as the project commands do (sync, run, shell,
and add, remove and upgrade once they have written the lock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloche.cli.lock_choice import NO_CHOICE, LockChoice, project_lock, say
from cloche.cli.sync_fast import UP_TO_DATE

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.ops.plan import Plan
    from cloche.ops.stamp import Selection
    from cloche.ops.sync import SyncResult


def sync_now(
    state: AppContext,
    selection: Selection,
    mode: str,
    *,
    offline: bool | None = None,
    find_links: tuple[str, ...] | None = None,
    exact: bool = True,
    choice: LockChoice = NO_CHOICE,
) -> SyncResult:
    """The slow path: lock if needed, install, stamp; prints what changed. Not
    ``exact`` (``run``): what the lock does not select stays installed."""
    from cloche.ops.sync import LockMode, sync_project

    said_before = len(state.reporter.said)
    project = project_lock(state, choice, offline=offline, find_links=find_links)
    say(state, project)
    try:
        services = state.services(project.settings)
        result = sync_project(services, project.spec, selection, LockMode(mode), exact=exact)
    finally:
        state.reporter.close()
    _print_sync(state, result.plan)
    if result.recipe is not None:
        from cloche.ops.sync_replay import save

        save(services.settings.cache_dir, result.recipe, state.reporter.said[said_before:])
    return result


def _print_sync(state: AppContext, plan: Plan) -> None:
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
