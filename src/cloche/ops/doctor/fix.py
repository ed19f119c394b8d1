"""``cloche doctor --fix``: the safe fixes, applied in an order that lets each one work.

Stale dist-info directories go first (so a reinstall sees one copy), then packages
with missing or changed files are reinstalled at their version without dependencies,
then a project env is synced to its lock as it is (``--frozen``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cloche.errors import ClocheError
from cloche.ops.doctor.model import DoctorEnv, Finding, Fix, FixKind

if TYPE_CHECKING:
    from cloche.ops.services import Services


def apply_fixes(env: DoctorEnv, findings: Sequence[Finding], services: Services) -> list[str]:
    """Apply every finding's safe fix; one line per thing done (or not done, and why)."""
    fixes = list(dict.fromkeys(f.fix for f in findings if f.fix is not None))
    done: list[str] = []
    for fix in fixes:
        if fix.kind is FixKind.REMOVE_DIST_INFO and fix.path is not None:
            shutil.rmtree(fix.path, ignore_errors=True)
            done.append(f"removed the stale {fix.path}")
    reinstall = [f for f in fixes if f.kind is FixKind.REINSTALL]
    if reinstall:
        done += _reinstall(env, reinstall, services)
    if any(f.kind is FixKind.SYNC for f in fixes):
        done.append(_sync(env, services))
    return done


def _reinstall(env: DoctorEnv, fixes: Sequence[Fix], services: Services) -> list[str]:
    if env.interpreter is None:
        return ["did not reinstall: the env's Python cannot start (fix its base interpreter)"]
    from cloche.ops.pip_env import InstallOptions, install_requirements
    from cloche.ops.requirements import gather

    for fix in fixes:
        # Without a RECORD the old copy cannot be uninstalled: drop its metadata, and
        # the reinstall writes every file again over the old ones.
        if fix.path is not None and not (fix.path / "RECORD").exists():
            shutil.rmtree(fix.path, ignore_errors=True)
    pins = [f"{fix.name}=={fix.version}" for fix in fixes]
    options = InstallOptions(no_deps=True, reinstall=True)
    try:
        install_requirements(services, env.interpreter, gather(pins), options)
    except ClocheError as exc:
        return [f"reinstall of {', '.join(pins)} failed: {exc.message}"]
    return [f"reinstalled {pin}" for pin in pins]


def _sync(env: DoctorEnv, services: Services) -> str:
    if env.project is None:
        return "did not sync: not in a project"
    from cloche.ops.stamp import Selection
    from cloche.ops.sync import LockMode, sync_project

    try:
        result = sync_project(services, env.project, Selection(), LockMode.FROZEN)
    except ClocheError as exc:
        return f"sync to {env.project.lock_path.name} failed: {exc.message}"
    plan = result.plan
    return (
        f"synced to {env.project.lock_path.name}: {len(plan.install)} installed, "
        f"{len(plan.remove)} removed"
    )
