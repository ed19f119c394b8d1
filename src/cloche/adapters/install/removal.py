"""Staging removals: every file a distribution's RECORD lists is moved into the backup.

A top-level directory that holds nothing but the distribution's files (and their
cached bytecode) moves in one rename, as pip does; the rest goes file by file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from cloche.adapters.install.installed import InstalledDist, record_paths
from cloche.adapters.install.journal import Journal
from cloche.adapters.install.layout import EnvLayout
from cloche.core.report import Reporter
from cloche.errors import InstallError


def removal_paths(dist: InstalledDist, roots: Sequence[Path]) -> list[str]:
    """Normalized absolute paths from ``dist``'s RECORD, outside its .dist-info directory."""
    # Plain strings: this runs for every file of every removed distribution.
    site = str(dist.dist_info.parent)
    own = os.path.normpath(dist.dist_info) + os.sep
    prefixes = tuple(str(root) + os.sep for root in roots)
    paths = []
    for listed in record_paths(dist):
        path = os.path.normpath(os.path.join(site, listed))  # noqa: PTH118 - hot loop
        if not path.startswith(prefixes):
            raise InstallError(
                f"cannot uninstall {dist}: its RECORD lists {listed!r}, which is outside "
                "the environment; refusing to remove it",
                hint=f"remove {dist.dist_info} by hand if you trust it",
            )
        if not path.startswith(own):
            paths.append(path)
    return paths


def _is_owned(top: str, listed: set[str]) -> bool:
    """Whether every file under ``top`` is listed, or is bytecode of a listed source."""
    for directory, dirs, files in os.walk(top):
        if any(os.path.islink(os.path.join(directory, d)) for d in dirs):  # noqa: PTH114, PTH118
            return False
        in_cache = os.path.basename(directory) == "__pycache__"  # noqa: PTH119
        parent = os.path.dirname(directory)  # noqa: PTH120
        for name in files:
            if os.path.join(directory, name) in listed:  # noqa: PTH118
                continue
            source = os.path.join(parent, name.split(".", 1)[0] + ".py")  # noqa: PTH118
            if not (in_cache and name.endswith(".pyc") and source in listed):
                return False
    return True


def _split_owned_dirs(paths: list[str], site: str) -> tuple[list[str], list[str]]:
    """(top-level directories under ``site`` owned whole, remaining files)."""
    listed = set(paths)
    prefix = site + os.sep
    by_top: dict[str, list[str]] = {}
    rest = []
    for path in paths:
        head, sep, _tail = path[len(prefix) :].partition(os.sep)
        if path.startswith(prefix) and sep:
            by_top.setdefault(prefix + head, []).append(path)
        else:
            rest.append(path)
    owned = []
    for top, files in by_top.items():
        if os.path.isdir(top) and not os.path.islink(top) and _is_owned(top, listed):  # noqa: PTH112, PTH114
            owned.append(top)
        else:
            rest.extend(files)
    return owned, rest


def stage_removals(
    layout: EnvLayout, remove: Sequence[InstalledDist], journal: Journal, reporter: Reporter
) -> None:
    """Move every file of ``remove`` into the journal's backup; refuse paths outside the env."""
    if not remove:
        return
    roots = [Path(os.path.normpath(root)) for root in layout.roots]
    staged = [(dist, removal_paths(dist, roots)) for dist in remove]
    task = reporter.started("Uninstalling", total=len(staged))
    for dist, paths in staged:
        owned, rest = _split_owned_dirs(paths, os.path.normpath(dist.dist_info.parent))
        for top in owned:
            journal.stash(Path(top))
        parents = set()
        for path in map(Path, rest):
            try:
                if stat.S_ISDIR(path.lstat().st_mode):
                    continue
            except FileNotFoundError:
                continue
            journal.stash(path)
            parents.add(path.parent)
        if dist.dist_info.is_dir():
            journal.stash(dist.dist_info)
        _remove_empty_dirs(parents, roots, journal)
        reporter.advanced(task)
    reporter.finished(task)


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path != root and path.is_relative_to(root) for root in roots)


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
