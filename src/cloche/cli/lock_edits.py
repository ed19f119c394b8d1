"""The locks ``add``, ``remove`` and ``upgrade`` re-make: ``pylock.toml``, or, in a project
with named locks (``pylock.cpu.toml``, ``pylock.cu128.toml``) and no ``pylock.toml``,
each named lock with its own build. Every lock is made before any file is written
(``ops.project.edit.commit_each`` then writes all of them or none)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloche.cli.context import AppContext
    from cloche.config import Settings
    from cloche.core.models import NormalizedName
    from cloche.core.project.spec import ProjectSpec
    from cloche.ops.accelerated import Routed
    from cloche.ops.project.edit import Edit


@dataclass(frozen=True, slots=True)
class LockRoutes:
    """Each lock to re-make (None: pylock.toml) with the settings to lock it with, and
    the CUDA extras this machine's lock takes (``jax -> cuda12``)."""

    each: tuple[tuple[str | None, Routed], ...]
    extras: Mapping[NormalizedName, str]

    @property
    def first(self) -> Settings:
        return self.each[0][1].settings


def lock_routes(settings: Settings, spec: ProjectSpec, names: tuple[str, ...] = ()) -> LockRoutes:
    """A project with named locks and no pylock.toml gets each named lock re-made for its
    own accelerator; any other gets pylock.toml. ``spec`` is the project as the edit
    leaves it; ``names`` are packages it adds (routed too, when GPU-built)."""
    from cloche.core.project.spec import LOCKFILE
    from cloche.ops.gpu_relevance import named_locks
    from cloche.ops.named_locks import LockRefused, pick_lock, route_for_lock

    present = named_locks(spec.root)
    if not present or (spec.root / LOCKFILE).is_file():
        routed = route_for_lock(settings, spec, more_names=names)
        return LockRoutes(((None, routed),), routed.extras)
    each = tuple(
        (name, route_for_lock(settings, replace(spec, lock_name=name), more_names=names))
        for name in present
    )
    try:
        mine = pick_lock(settings, spec.root, None, None)
    except LockRefused:
        mine = None
    extras = next((routed.extras for name, routed in each if name == mine), {})
    return LockRoutes(each, extras)


def edit_each(
    state: AppContext, routes: LockRoutes, make: Callable[[str | None, Settings], Edit]
) -> list[Edit]:
    """``make`` each lock's edit (lock name, routed settings), in memory, saying which
    build each is routed to; the first failure stops them all before anything is
    written."""
    edits = []
    try:
        for lock_name, routed in routes.each:
            for warning in routed.warnings:
                state.reporter.warning(warning)
            if routed.line is not None:
                state.reporter.info(routed.line)
            edits.append(make(lock_name, routed.settings))
    finally:
        state.reporter.close()
    return edits


def lock_files(edits: list[Edit]) -> str:
    """``pylock.cpu.toml and pylock.cu128.toml``."""
    return " and ".join(edit.spec.lock_file for edit in edits)
