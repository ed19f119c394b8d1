"""How install results are told to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloche.cli.reporter import ConsoleReporter
    from cloche.ops.plan import Plan


def print_plan(
    reporter: ConsoleReporter, plan: Plan, *, dry_run: bool = False, where: str = "the environment"
) -> None:
    """``+ name==version`` / ``- name==version`` lines, like uv, and a one-line total."""
    if plan.is_noop:
        reporter.info(f"Nothing to do: {where} already has everything asked for")
        return
    removed = {p.name: p for p in plan.remove}
    for want in plan.install:
        old = removed.pop(want.name, None)
        if old is not None and old.version != want.version:
            reporter.info(f" ~ {want.name} {old.version} -> {want.version}")
        else:
            reporter.info(f" + {want.name}=={want.version}")
    for gone in removed.values():
        reporter.info(f" - {gone.name}=={gone.version}")
    verb = "Would install" if dry_run else "Installed"
    extra = f", removed {len(removed)}" if removed else ""
    reporter.info(f"{verb} {len(plan.install)} package(s){extra}")
