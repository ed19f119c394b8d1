"""``cloche lock``."""

from __future__ import annotations

from functools import partial

import click

from cloche.cli.context import AppContext, app
from cloche.cli.lock_choice import LockChoice, ProjectLock, project_lock, say


@click.command("lock")
@click.option(
    "--check",
    is_flag=True,
    help="Only check that pylock.toml matches pyproject.toml (exit 1 if not); no network.",
)
@click.option("-U", "--upgrade", is_flag=True, help="Ignore the versions pylock.toml has now.")
@click.option(
    "--accelerator",
    "accelerators",
    multiple=True,
    metavar="NAME",
    help="Write the named lock pylock.NAME.toml for this accelerator (auto, cpu, cu128, "
    "rocm6.4, xpu ...; repeatable).",
)
@click.option("--lock", "lock_name", default=None, metavar="NAME", help="Use pylock.NAME.toml.")
@click.pass_context
def command(
    ctx: click.Context,
    check: bool,
    upgrade: bool,
    accelerators: tuple[str, ...],
    lock_name: str | None,
) -> None:
    """Resolve the project for every target platform and write pylock.toml (PEP 751).

    Versions already in pylock.toml are kept while pyproject.toml still allows them.
    A project that depends on torch gets the build for this machine from its own index
    (or, with --accelerator, one named lock per accelerator).

    \b
    Examples:
      cloche lock
      cloche lock --check      # in CI: is the lock up to date?
      cloche lock --accelerator cpu --accelerator cu128   # pylock.cpu.toml, pylock.cu128.toml
    """
    from cloche.ops.gpu_relevance import named_locks
    from cloche.ops.project.environment import find_project

    state = app(ctx)
    if lock_name is not None and accelerators:
        raise click.UsageError("--accelerator and --lock cannot be used together")
    refresh = True if upgrade else None
    choices = [LockChoice(accelerator=name) for name in dict.fromkeys(accelerators)]
    if lock_name is not None:
        choices = [LockChoice(lock=lock_name)]
    if not choices:
        root = find_project().root
        present = named_locks(root)
        if present and not (root / "pylock.toml").is_file():
            choices = [LockChoice(lock=name) for name in present]  # re-make each one
        else:
            choices = [LockChoice()]
    projects = [project_lock(state, c, pick=c != LockChoice(), refresh=refresh) for c in choices]
    for project in projects:
        if check:
            _check(state, project)
        else:
            _lock(state, project, upgrade)


def _check(state: AppContext, project: ProjectLock) -> None:
    from cloche.ops.lock import check_fresh

    check_fresh(project.spec, project.settings)
    state.reporter.info(f"{project.spec.lock_file} is up to date")


def _lock(state: AppContext, project: ProjectLock, upgrade: bool) -> None:
    from cloche.adapters.atomic_file import atomic_write_text
    from cloche.ops.lock import LockRequest, lock_project, previous_lock
    from cloche.ops.project.environment import project_interpreter

    spec, settings = project.spec, project.settings
    say(state, project)
    # Found only if needed (a source build, or no Python version in the project).
    interpreter = partial(project_interpreter, spec, settings.cache_dir)
    previous = previous_lock(spec.lock_path, state.reporter)
    try:
        services = state.services(settings)
        result = lock_project(services, spec, interpreter, previous, LockRequest(upgrade=upgrade))
    finally:
        state.reporter.close()
    lock_file = spec.lock_file
    old_text = spec.lock_path.read_bytes() if previous is not None else None
    if old_text == result.text.encode("utf-8"):
        state.reporter.info(f"{lock_file} is up to date ({len(result.lock.packages)} packages)")
        return
    atomic_write_text(spec.lock_path, result.text)
    from cloche.cli.upgrade_cmd import print_changes

    print_changes(state.reporter, previous, result.lock, verbose_only=previous is None)
    targets = ", ".join(result.targets)
    state.reporter.info(f"Locked {len(result.lock.packages)} packages for {targets} in {lock_file}")
