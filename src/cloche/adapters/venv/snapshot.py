"""A virtual environment's tree, taken as links into the store and made again from them.

``take`` walks an environment that an install just linked from the store's unpacked
wheels and says, for every entry, how to make it again: a directory, a hard link to
the store file it shares an inode with, a symlink, or (for the few files the install
wrote itself: RECORD, launchers, pyvenv.cfg, activate scripts) its bytes and mode.
``make`` builds that tree under a new path, with system calls only: no wheel is read,
no metadata parsed. Standard library only, as ``cloche sync``'s fast path runs it
before anything else is imported.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from typing import Any

MAX_WRITTEN_BYTES = 8 << 20
"""More than this in files that are not links (a copying link mode, compiled bytecode):
not worth keeping, the install itself is as quick."""


def take(
    venv: str, wheel_dirs: Sequence[str], *, skip: Collection[str] = ()
) -> dict[str, Any] | None:
    """The tree under ``venv`` (paths relative to it, ``skip`` left out), or None when it
    cannot be made again from links into ``wheel_dirs`` and a few written files."""
    if os.name != "posix":
        return None
    device = os.stat(venv).st_dev
    sources: dict[int, tuple[str, str]] = {}
    for top in wheel_dirs:
        if os.stat(top).st_dev != device:
            return None  # inode numbers are unique per file system only
        _index_inodes(top, sources)
    dirs: list[str] = []
    groups: dict[tuple[str, str], list[str]] = {}
    links: list[tuple[str, str]] = []
    symlinks: list[tuple[str, str]] = []
    files: list[tuple[str, bytes, int]] = []
    written = 0
    pending = [""]
    while pending:
        rel = pending.pop()
        with os.scandir(os.path.join(venv, rel) if rel else venv) as listing:
            for entry in listing:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if child in skip:
                    continue
                if entry.is_symlink():
                    symlinks.append((child, os.readlink(entry.path)))
                elif entry.is_dir():
                    dirs.append(child)  # after its parent, so ``make`` can go in order
                    pending.append(child)
                elif not entry.is_file():
                    return None  # a socket or a pipe: nothing an install makes
                elif (source := sources.get(entry.inode())) is not None:
                    top, inside = source
                    prefix = child[: len(child) - len(inside)]
                    if child.endswith(inside) and prefix[-1:] in ("", "/"):
                        groups.setdefault((top, prefix), []).append(inside)
                    else:
                        links.append((child, f"{top}/{inside}"))
                else:
                    with open(entry.path, "rb") as handle:
                        data = handle.read()
                    written += len(data)
                    if written > MAX_WRITTEN_BYTES:
                        return None
                    files.append((child, data, entry.stat().st_mode & 0o7777))
    grouped = [(top, prefix, names) for (top, prefix), names in groups.items()]
    return {"dirs": dirs, "grouped": grouped, "links": links, "symlinks": symlinks, "files": files}


def _index_inodes(top: str, into: dict[int, tuple[str, str]]) -> None:
    """Each file under ``top`` by inode: (``top``, its path inside)."""
    pending = [""]
    while pending:
        rel = pending.pop()
        with os.scandir(f"{top}/{rel}" if rel else top) as listing:
            for entry in listing:
                inside = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append(inside)
                elif entry.is_file(follow_symlinks=False):
                    into[entry.inode()] = (top, inside)


def make(tree: dict[str, Any], target: str) -> None:
    """Build ``tree`` (from ``take``) at ``target``, which must not exist yet. Raises
    OSError when a store file is gone; the caller removes what was made."""
    mkdir, link, symlink = os.mkdir, os.link, os.symlink
    mkdir(target)
    for rel in tree["dirs"]:
        mkdir(f"{target}/{rel}")
    # Most files keep their path inside the wheel under one prefix (site-packages/):
    # stored once per wheel and prefix, which keeps the kept tree small to read.
    for top, prefix, names in tree["grouped"]:
        for name in names:
            link(f"{top}/{name}", f"{target}/{prefix}{name}")
    for rel, source in tree["links"]:
        link(source, f"{target}/{rel}")
    for rel, destination in tree["symlinks"]:
        symlink(destination, f"{target}/{rel}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for rel, data, mode in tree["files"]:
        fd = os.open(f"{target}/{rel}", flags, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)  # as taken, whatever the umask
        finally:
            os.close(fd)
