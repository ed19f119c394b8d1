"""``cloche lock``."""

from __future__ import annotations

from functools import partial

import click

from cloche.cli.context import app


@click.command("lock")
@click.option(
    "--check",
    is_flag=True,
    help="Only check that pylock.toml matches pyproject.toml (exit 1 if not); no network.",
)
@click.option("-U", "--upgrade", is_flag=True, help="Ignore the versions pylock.toml has now.")
@click.pass_context
def command(ctx: click.Context, check: bool, upgrade: bool) -> None:
    """Resolve the project for every target platform and write pylock.toml (PEP 751).

    Versions already in pylock.toml are kept while pyproject.toml still allows them.

    \b
    Examples:
      cloche lock
      cloche lock --check      # in CI: is the lock up to date?
    """
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.cli.project_options import project_settings
    from cloche.core.project.spec import LOCKFILE
    from cloche.ops.lock import LockRequest, check_fresh, lock_project, previous_lock
    from cloche.ops.project.environment import find_project, project_interpreter

    state = app(ctx)
    spec = find_project()
    settings = project_settings(state, spec, refresh=True if upgrade else None)
    if check:
        check_fresh(spec, settings)
        state.reporter.info(f"{LOCKFILE} is up to date")
        return
    # Found only if needed (a source build, or no Python version in the project).
    interpreter = partial(project_interpreter, spec, settings.cache_dir)
    previous = previous_lock(spec.lock_path, state.reporter)
    try:
        services = state.services(settings)
        result = lock_project(services, spec, interpreter, previous, LockRequest(upgrade=upgrade))
    finally:
        state.reporter.close()
    old_text = spec.lock_path.read_bytes() if previous is not None else None
    if old_text == result.text.encode("utf-8"):
        state.reporter.info(f"{LOCKFILE} is up to date ({len(result.lock.packages)} packages)")
        return
    atomic_write_text(spec.lock_path, result.text)
    from cloche.cli.upgrade_cmd import print_changes

    print_changes(state.reporter, previous, result.lock, verbose_only=previous is None)
    targets = ", ".join(spec.targets)
    state.reporter.info(f"Locked {len(result.lock.packages)} packages for {targets} in {LOCKFILE}")
