"""Apply a plan: prepare its remote wheels, then link everything in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from cloche.adapters.install import EnvLayout, InstallRequest, env_lock, install
from cloche.config import Settings
from cloche.core.plan import Present, removals_now
from cloche.core.report import NullReporter, Reporter
from cloche.errors import InstallError
from cloche.ops.plan import Plan, present_in

if TYPE_CHECKING:
    from cloche.adapters.install import InstalledDist
    from cloche.ops.prepare.preparer import Preparer


class StalePlan(Exception):
    """The env changed (another process installed or removed something) between the
    plan and taking the env lock: the caller plans again, as if it had run second."""


PLAN_ATTEMPTS = 3
"""How often an install plans again when another process changed the env first."""


def apply(
    layout: EnvLayout,
    plan: Plan,
    preparer: Callable[[], Preparer] | None,
    settings: Settings,
    reporter: Reporter | None = None,
    planned_against: Sequence[Present[InstalledDist]] | None = None,
) -> Plan:
    """Make ``layout`` hold what ``plan`` says; returns the plan as done.

    ``preparer`` is asked for only when something is remote: a plan whose wheels are
    all stored is linked without an index client or a builder. A directory or VCS
    source's version, unknown until it was built, is the built wheel's. With
    ``planned_against`` (what was installed when the plan was made), a changed env
    raises ``StalePlan`` under the lock instead of carrying out an outdated plan.
    """
    reporter = reporter or NullReporter()
    remote = plan.remote
    prepared: dict[int, InstallRequest] = {}
    if remote:
        assert preparer is not None, "a plan with remote wheels needs a preparer"
        the_preparer = preparer()
        for want in plan.cached:
            if want.source.file is not None:
                the_preparer.note_origin(want.source.file)
        prepared = {id(w): r for w, r in zip(remote, the_preparer.prepare(remote), strict=True)}
    requests = []
    for want in plan.install:
        stored = want.source.stored
        if stored is not None:
            requests.append(InstallRequest(wheel=stored, requested=want.requested))
        else:
            requests.append(prepared[id(want)])
    with explained_os_errors(layout), env_lock(layout, waiting_notice(layout, reporter)):
        # What is installed is read again under the lock: another process may have
        # changed the env since the plan was made.
        present = present_in(layout)
        if planned_against is not None and _versions(present) != _versions(planned_against):
            raise StalePlan(str(layout.data))
        removals = removals_now(plan, present)
        install(
            layout,
            requests,
            [p.dist for p in removals],
            link_mode=settings.link_mode,
            compile_bytecode=settings.compile_bytecode,
            reporter=reporter,
        )
    done = tuple(
        replace(want, version=request.wheel.version)
        for want, request in zip(plan.install, requests, strict=True)
    )
    return replace(plan, install=done)


@contextmanager
def explained_os_errors(layout: EnvLayout) -> Iterator[None]:
    """An install's OS error (no permission, read-only, something in the way) says
    which path and what to do, whether the transaction wrapped it or it came earlier
    (the env lock)."""
    from cloche.core.os_errors import os_error_hint, os_error_text

    try:
        yield
    except InstallError as exc:
        cause = exc.__cause__
        hint = os_error_hint(cause) if isinstance(cause, OSError) else None
        if hint is None or exc.hint is not None:
            raise
        raise InstallError(exc.message, hint=hint) from cause
    except OSError as exc:
        hint = os_error_hint(exc)
        if hint is None:
            raise
        raise InstallError(
            f"cannot change the environment {layout.data}: {os_error_text(exc)}", hint=hint
        ) from exc


def _versions(present: Sequence[Present[InstalledDist]]) -> set[tuple[str, str]]:
    return {(p.name, str(p.version)) for p in present}


def waiting_notice(layout: EnvLayout, reporter: Reporter) -> Callable[[], None]:
    """What ``env_lock`` calls when another process holds the env: say so, once."""

    def say() -> None:
        reporter.info(f"Waiting for another cloche process to finish with {layout.data}")

    return say
