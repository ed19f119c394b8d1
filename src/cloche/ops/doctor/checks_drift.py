"""Drift: a project's ``.venv`` that no longer holds what ``pylock.toml`` selects."""

from __future__ import annotations

from collections.abc import Iterator

from cloche.core.models import normalize
from cloche.errors import ClocheError
from cloche.ops.doctor.model import DoctorEnv, Finding, Fix, FixKind, Severity

# What `cloche sync` leaves alone in an env (ops.pip_env.KEPT_BY_SYNC).
_TOOLS = frozenset({"pip", "setuptools", "wheel"})
_SHOWN = 10


def lock_drift(env: DoctorEnv) -> Iterator[Finding]:
    """Packages the lock selects for this machine that are missing or at another version,
    and packages the lock does not have at all (in any group or extra)."""
    spec = env.project
    if spec is None or env.interpreter is None:
        return
    # Only in a project: the lock machinery is not imported for a plain env.
    from cloche.core.lock.select import select
    from cloche.ops.lock import read_lock

    lock = read_lock(spec.lock_path)
    if lock is None:
        return
    try:
        chosen = select(lock, env.marker_env, env.interpreter.tags)
    except ClocheError as exc:
        yield Finding(
            "lock-drift", Severity.ERROR, "pylock.toml does not fit this env", (str(exc),)
        )
        return
    present = {dist.name: dist.version for dist in env.dists}
    locked_anywhere = {normalize(p.name) for p in lock.packages}
    own = normalize(spec.name) if spec.name else None
    lines = []
    for item in chosen:
        have = present.get(item.name)
        if have is None:
            lines.append(f"missing: {item.name} {item.version or ''}".rstrip())
        elif item.version is not None and have != item.version:
            lines.append(f"version: {item.name} is {have}, the lock has {item.version}")
    for name in sorted(set(present) - locked_anywhere - _TOOLS - {own}):
        lines.append(f"not in the lock: {name} {present[name]}")
    if not lines:
        return
    shown = lines[:_SHOWN]
    if len(lines) > _SHOWN:
        shown.append(f"... and {len(lines) - _SHOWN} more")
    yield Finding(
        "lock-drift",
        Severity.ERROR,
        f"the env differs from {spec.lock_path.name} in {len(lines)} package(s)",
        tuple(shown),
        "cloche sync --frozen",
        Fix(FixKind.SYNC),
    )
