"""Which files a bundle holds: the lock's selection on every chosen target, each file
fetched once into the store (sha256-checked against the lock), sdists built too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.pylock import Pylock

from cloche.core.lock.select import LockedInstall, select
from cloche.core.models import DistFile, Interpreter, Target

if TYPE_CHECKING:
    from cloche.ops.services import Services


@dataclass(frozen=True, slots=True)
class BundledFile:
    """One file of the bundle: where it is in the store, and which targets need it."""

    file: DistFile
    path: Path
    sha256: str
    targets: frozenset[int]
    """Indexes into the bundle's target list."""
    built_from: str | None = None
    """For a wheel built here: the sdist's filename."""


@dataclass(slots=True)
class Collected:
    """What the lock selects on the targets: files to bundle, and sources left out."""

    files: list[BundledFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Directory and VCS sources (the project itself, checkouts): not bundled."""


def selected_files(lock: Pylock, lock_dir: Path, targets: Sequence[Target]) -> Collected:
    """Each wheel or sdist the lock installs on some target, with the targets it is for;
    every group and extra of the lock counts (the bundle serves any selection)."""
    chosen: dict[str, tuple[DistFile, set[int]]] = {}
    skipped: dict[str, None] = {}
    for index, target in enumerate(targets):
        for item in _select(lock, target):
            file = item.dist_file(lock_dir)
            if file is None:
                skipped.setdefault(f"{item.name} ({item.kind} source)", None)
                continue
            chosen.setdefault(file.filename, (file, set()))[1].add(index)
    collected = Collected(skipped=list(skipped))
    for file, members in sorted(chosen.values(), key=lambda pair: pair[0].filename):
        collected.files.append(BundledFile(file, Path(), "", frozenset(members)))
    return collected


def _select(lock: Pylock, target: Target) -> list[LockedInstall]:
    return select(
        lock,
        dict(target.marker_env),
        target.tags,
        groups=list(lock.dependency_groups or ()),
        extras=list(lock.extras or ()),
    )


def fetch(
    services: Services,
    collected: Collected,
    build_python: Callable[[], Interpreter],
) -> list[BundledFile]:
    """Every selected file in the store (fetched once, hash-checked); for an sdist, the
    sdist and the wheel built from it with ``build_python``."""
    from cloche.worker_pool import WorkerPool

    store = services.store
    missing = [b for b in collected.files if not (b.file.sha256 and store.archive(b.file.sha256))]
    trees = services.sources(build_python).trees if missing or _has_sdist(collected) else None

    def one(bundled: BundledFile) -> list[BundledFile]:
        file = bundled.file
        found = store.archive(file.sha256) if file.sha256 else None
        if found is not None and file.sha256:
            path, sha = found, file.sha256
        else:
            assert trees is not None
            path, sha = trees.archive(file)
        done = [BundledFile(file, path, sha, bundled.targets)]
        if not file.is_wheel:
            assert trees is not None
            wheel = trees.built_wheel(file, path, sha)
            from cloche.adapters.store.layout import file_sha256

            done.append(
                BundledFile(file, wheel, file_sha256(wheel), bundled.targets, file.filename)
            )
        return done

    with WorkerPool(max(1, services.settings.concurrency)) as pool:
        return [done for result in pool.map(one, collected.files) for done in result]


def _has_sdist(collected: Collected) -> bool:
    return any(not b.file.is_wheel for b in collected.files)
