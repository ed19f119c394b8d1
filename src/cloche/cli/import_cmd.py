"""``cloche import``."""

from __future__ import annotations

from pathlib import Path

import click

from cloche.cli.context import app


@click.command("import")
@click.argument("requirements", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def command(ctx: click.Context, requirements: Path) -> None:
    """Bring a requirements.txt or conda environment.yml project over: its requirements
    go into pyproject.toml (created when missing), its index options into
    [tool.cloche]; then lock. conda names become PyPI names; what has no PyPI
    counterpart is listed.

    Nothing is written when the requirements cannot be resolved.

    \b
    Example:
      cloche import requirements.txt && cloche sync
      cloche import environment.yml
    """
    from cloche.adapters.python.discovery import find_interpreter
    from cloche.cli.project_options import project_settings
    from cloche.core.project.root import find_project_root
    from cloche.core.project.spec import PYPROJECT
    from cloche.ops.named_locks import route_for_lock
    from cloche.ops.project.edit import commit, lock_edit, read_pyproject, spec_from_text
    from cloche.ops.project.environment import project_interpreter
    from cloche.ops.project.imports import plan_import

    state = app(ctx)
    root = find_project_root(Path.cwd()) or Path.cwd()
    old_text = read_pyproject(root) if (root / PYPROJECT).exists() else None
    base = find_interpreter(None, cache_dir=state.settings().cache_dir)
    if requirements.suffix in (".yml", ".yaml"):
        from cloche.ops.conda_import import plan_conda_import

        plan = plan_conda_import(root, requirements, old_text, base)
    else:
        plan = plan_import(root, requirements, old_text, base)
    spec = spec_from_text(root, plan.new_text)
    settings = route_for_lock(project_settings(state, spec), spec).settings
    interpreter = project_interpreter(spec, settings.cache_dir)
    try:
        edit = lock_edit(root, plan.new_text, state.services(settings), interpreter)
    finally:
        state.reporter.close()
    commit(root, edit)
    for note in plan.notes:
        state.reporter.info(f"note: {note}")
    verb = "Updated" if old_text is not None else "Created"
    state.reporter.info(
        f"{verb} {PYPROJECT} with {plan.count} requirement(s) from {requirements}; "
        f"locked {len(edit.lock.packages)} packages. Run 'cloche sync' to install them."
    )
