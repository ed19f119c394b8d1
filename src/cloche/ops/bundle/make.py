"""``cloche bundle``: the recipe. Read the lock, select its files for every target,
fetch (or find in the store) and build what is needed, write the bundle whole."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.core.models import Interpreter, Target
from cloche.core.targets import target_for
from cloche.errors import ProjectError, UsageError
from cloche.ops.bundle.collect import fetch, selected_files
from cloche.ops.bundle.write import BundleTarget, write_bundle

if TYPE_CHECKING:
    from cloche.ops.services import Services


@dataclass(frozen=True, slots=True)
class BundleRequest:
    """Which lock, for which platforms and Pythons, written where."""

    lock_path: Path
    target: BundleTarget
    platforms: tuple[str, ...]
    """Target names (``linux``, ``macos``, ``windows``...)."""
    pythons: tuple[str, ...]
    """Python versions (``3.12``)."""


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What went into the bundle."""

    path: Path
    targets: tuple[str, ...]
    files: int
    built: int
    size: int
    skipped: tuple[str, ...]
    """Sources a bundle cannot carry (directories, VCS checkouts)."""


def bundle_targets(platforms: Sequence[str], pythons: Sequence[str]) -> list[tuple[str, Target]]:
    """(label, target) for every platform and Python asked for."""
    if not platforms or not pythons:
        raise UsageError("a bundle needs at least one platform and one Python version")
    several = len(pythons) > 1
    return [
        (f"{platform}-py{python}" if several else platform, target_for(python, platform))
        for python in pythons
        for platform in platforms
    ]


def make_bundle(
    services: Services,
    request: BundleRequest,
    build_python: Callable[[], Interpreter],
) -> BundleResult:
    """Write the bundle ``request`` describes; sdists are built with ``build_python``."""
    from cloche.ops.lock import read_lock

    request.target.refuse_existing()  # before any download
    lock = read_lock(request.lock_path, services.settings.cache_dir)
    if lock is None:
        raise ProjectError(f"no lock at {request.lock_path}; run 'cloche lock' first")
    text = request.lock_path.read_text("utf-8")
    labelled = bundle_targets(request.platforms, request.pythons)
    collected = selected_files(lock, request.lock_path.parent, [t for _, t in labelled])
    files = fetch(services, collected, build_python)
    labels = [label for label, _ in labelled]
    envs = [dict(target.marker_env) for _, target in labelled]
    write_bundle(request.target, text, files, labels, envs)
    return BundleResult(
        path=request.target.path,
        targets=tuple(labels),
        files=len(files),
        built=sum(1 for f in files if f.built_from is not None),
        size=sum(f.path.stat().st_size for f in files),
        skipped=tuple(collected.skipped),
    )
