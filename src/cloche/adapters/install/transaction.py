"""Install and uninstall as one transaction: stage removals, link, write metadata, commit.

Anything that goes wrong, KeyboardInterrupt included, rolls the environment back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from installer.records import RecordEntry

from cloche.adapters.install.destinations import PlannedFile, WheelPlan, plan_wheel
from cloche.adapters.install.generated import (
    compile_bytecode,
    make_dirs,
    record_entry,
    write_generated,
    write_record,
)
from cloche.adapters.install.installed import InstalledDist, record_paths
from cloche.adapters.install.journal import Journal
from cloche.adapters.install.layout import EnvLayout, InstallRequest
from cloche.adapters.install.linker import Linker
from cloche.config import LinkMode
from cloche.core.report import NullReporter, Reporter
from cloche.errors import ClocheError, InstallError

_CHUNK = 256
_MAX_THREADS = 8


def install(
    layout: EnvLayout,
    add: Sequence[InstallRequest],
    remove: Sequence[InstalledDist],
    *,
    link_mode: LinkMode = LinkMode.AUTO,
    compile_bytecode: bool = False,
    reporter: Reporter | None = None,
) -> None:
    """Remove ``remove`` and install ``add`` all-or-nothing (an upgrade passes both).

    The caller holds ``env_lock(layout)``. On any failure the environment is restored
    and InstallError is raised (KeyboardInterrupt and SystemExit are re-raised as is).
    """
    reporter = reporter or NullReporter()
    journal = Journal(layout.purelib.parent)
    try:
        _stage_removals(layout, remove, journal, reporter)
        plans = [plan_wheel(layout, request) for request in add]
        _link_all(plans, journal, Linker(link_mode), reporter)
        entries = [write_generated(layout, plan, journal) for plan in plans]
        if compile_bytecode:
            _compile(layout, plans, entries, journal, reporter)
        for plan, rows in zip(plans, entries, strict=True):
            write_record(plan, rows, journal)
    except BaseException as exc:
        journal.rollback()
        if isinstance(exc, InstallError) or not isinstance(exc, Exception):
            raise
        raise _wrap(exc, layout) from exc
    journal.commit()


def uninstall(
    layout: EnvLayout, dists: Sequence[InstalledDist], *, reporter: Reporter | None = None
) -> None:
    """Remove ``dists`` (every file in their RECORD) all-or-nothing."""
    install(layout, (), dists, reporter=reporter)


def _wrap(exc: Exception, layout: EnvLayout) -> InstallError:
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        problem = f"{exc.strerror or exc}{where}"
    elif isinstance(exc, ClocheError):
        problem = exc.message
    else:
        problem = f"{type(exc).__name__}: {exc}"
    return InstallError(
        f"install into {layout.purelib} failed ({problem}); the environment was left as it was"
    )


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path != root and path.is_relative_to(root) for root in roots)


def _removal_paths(dist: InstalledDist, roots: Sequence[Path]) -> list[Path]:
    site = dist.dist_info.parent
    dist_info = Path(os.path.normpath(dist.dist_info))
    paths = []
    for listed in record_paths(dist):
        path = Path(os.path.normpath(site / listed))
        if not _inside(path, roots):
            raise InstallError(
                f"cannot uninstall {dist}: its RECORD lists {listed!r}, which is outside "
                "the environment; refusing to remove it",
                hint=f"remove {dist.dist_info} by hand if you trust it",
            )
        if not path.is_relative_to(dist_info):
            paths.append(path)
    return paths


def _stage_removals(
    layout: EnvLayout, remove: Sequence[InstalledDist], journal: Journal, reporter: Reporter
) -> None:
    if not remove:
        return
    roots = [Path(os.path.normpath(root)) for root in layout.roots]
    staged = [(dist, _removal_paths(dist, roots)) for dist in remove]
    task = reporter.started("Uninstalling", total=len(staged))
    for dist, paths in staged:
        parents = set()
        for path in paths:
            if path.is_symlink() or path.is_file():
                journal.stash(path)
                parents.add(path.parent)
        if dist.dist_info.is_dir():
            journal.stash(dist.dist_info)
        _remove_empty_dirs(parents, roots, journal)
        reporter.advanced(task)
    reporter.finished(task)


def _remove_empty_dirs(parents: set[Path], roots: Sequence[Path], journal: Journal) -> None:
    for directory in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        current = directory
        # Never a scheme directory itself, nor one above it (site-packages, lib/, the prefix).
        while _inside(current, roots) and not any(r.is_relative_to(current) for r in roots):
            cache = current / "__pycache__"
            try:
                cache.rmdir()
                journal.removed_dir(cache)
            except OSError:
                pass
            try:
                current.rmdir()
            except OSError:
                break
            journal.removed_dir(current)
            current = current.parent


def _link_chunk(files: Sequence[PlannedFile], linker: Linker, journal: Journal) -> int:
    for file in files:
        try:
            linker.link(file.source, file.target)
        except FileExistsError:
            if file.target.is_dir() and not file.target.is_symlink():
                raise InstallError(
                    f"cannot install {file.target}: a directory is in the way"
                ) from None
            journal.stash(file.target)
            linker.link(file.source, file.target)
        journal.created(file.target)
    return len(files)


def _link_all(
    plans: Sequence[WheelPlan], journal: Journal, linker: Linker, reporter: Reporter
) -> None:
    # A path two wheels both ship goes in once; the later wheel wins, as with pip.
    targets = {f.target: f for plan in plans for f in plan.files if not f.is_script}
    files = list(targets.values())
    if not files:
        return
    make_dirs((f.target.parent for f in files), journal)
    task = reporter.started("Installing", total=len(files))
    # The first file settles the link mode for all the others.
    _link_chunk(files[:1], linker, journal)
    reporter.advanced(task)
    chunks = [files[i : i + _CHUNK] for i in range(1, len(files), _CHUNK)]
    pool = ThreadPoolExecutor(max_workers=min(_MAX_THREADS, len(chunks) or 1))
    try:
        futures = [pool.submit(_link_chunk, chunk, linker, journal) for chunk in chunks]
        for future in as_completed(futures):
            reporter.advanced(task, future.result())
    finally:
        # Threads must be done before a rollback starts undoing their work.
        pool.shutdown(wait=True, cancel_futures=True)
    reporter.finished(task)


def _compile(
    layout: EnvLayout,
    plans: Sequence[WheelPlan],
    entries: Sequence[list[RecordEntry]],
    journal: Journal,
    reporter: Reporter,
) -> None:
    sites = (layout.purelib, layout.platlib)
    owner: dict[Path, int] = {}
    for index, plan in enumerate(plans):
        for file in plan.files:
            if file.target.suffix == ".py" and any(file.target.is_relative_to(s) for s in sites):
                owner[file.target] = index
    task = reporter.started("Compiling bytecode", total=None)
    compiled = compile_bytecode(layout, sorted(owner), journal)
    for source, pyc in compiled.items():
        index = owner[source]
        entries[index].append(record_entry(plans[index].site, pyc, None, None))
    reporter.finished(task)
