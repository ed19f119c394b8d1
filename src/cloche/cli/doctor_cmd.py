"""``cloche doctor``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cloche.cli.context import app

if TYPE_CHECKING:
    from cloche.ops.doctor.model import DoctorEnv, Finding


@click.command("doctor")
@click.option(
    "-p",
    "--python",
    default=None,
    metavar="PATH",
    help="The environment (directory) or its python to examine "
    "(default: the project's .venv, else the active env).",
)
@click.option(
    "-n",
    "--name",
    "env_name",
    default=None,
    metavar="NAME",
    help="The named environment to examine (cloche env create NAME).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--fix", is_flag=True, help="Apply the safe fixes, then check again.")
@click.pass_context
def command(
    ctx: click.Context, /, python: str | None, env_name: str | None, as_json: bool, fix: bool
) -> None:
    """Diagnose an environment: broken requirements, duplicate or clashing packages,
    NumPy 1.x extensions under NumPy 2, files changed since install, stale .pth
    entries, a missing base Python, files that shadow packages, pip inside conda,
    drift from pylock.toml, and torch / TensorFlow / JAX builds that do not fit this
    machine's GPU and driver. Exit 0 when healthy, 1 when something is wrong.

    Nothing from the environment is imported: only its files are read.

    \b
    Examples:
      cloche doctor
      cloche doctor --python ~/envs/ml --json
      cloche doctor -n ml
      cloche doctor --fix
    """
    from cloche.cli.env_target import named_python
    from cloche.ops.doctor.checks_gpu import gpu_context
    from cloche.ops.doctor.env import open_env
    from cloche.ops.doctor.registry import diagnose

    state = app(ctx)
    state.env_name = env_name
    python = named_python(state, python)
    settings = state.settings()
    gpu = gpu_context(settings)
    env = open_env(python, Path.cwd(), os.environ, settings.cache_dir, gpu)
    findings = diagnose(env)
    done: list[str] = []
    if fix and any(f.fix is not None for f in findings):
        from cloche.ops.doctor.fix import apply_fixes

        if env.project is not None:
            from cloche.cli.project_options import project_settings

            settings = project_settings(state, env.project)
        try:
            done = apply_fixes(env, findings, state.services(settings))
        finally:
            state.reporter.close()
        env = open_env(python, Path.cwd(), os.environ, settings.cache_dir, gpu)
        findings = diagnose(env)
    if as_json:
        click.echo(json.dumps(_as_json(env, findings, done), indent=2))
    else:
        _print_report(env, findings, done, fix)
    if findings:
        ctx.exit(1)


def _as_json(env: DoctorEnv, findings: Sequence[Finding], done: Sequence[str]) -> dict[str, object]:
    return {
        "env": str(env.prefix),
        "python": env.python_version,
        "packages": len(env.dists),
        "healthy": not findings,
        "findings": [f.as_json() for f in findings],
        "fixed": list(done),
    }


def _print_report(
    env: DoctorEnv, findings: Sequence[Finding], done: Sequence[str], fixing: bool
) -> None:
    click.echo(f"Environment {env.prefix} (Python {env.python_version}, {len(env.dists)} packages)")
    for line in done:
        click.echo(f"fixed: {line}")
    for finding in findings:
        click.echo("")
        click.echo(f"{finding.severity.value:<8}{finding.what}")
        for line in finding.evidence:
            click.echo(f"        {line}")
        if finding.command:
            click.echo(f"        fix: {finding.command}")
    if not findings:
        click.echo("No problems found.")
        return
    errors = sum(1 for f in findings if f.severity.value == "error")
    warnings = len(findings) - errors
    fixable = sum(1 for f in findings if f.fix is not None)
    summary = f"{errors} error(s), {warnings} warning(s)."
    if fixable and not fixing:
        summary += f" 'cloche doctor --fix' applies the safe fixes for {fixable} of them."
    click.echo("")
    click.echo(summary)
