"""Copying and moving a venv by re-linking: what the store holds is linked, what names
the env's own path is rewritten.

A venv holds its own absolute path in a few small text files: script shebangs,
``pyvenv.cfg``, the activate scripts, ``.pth`` files and ``direct_url.json`` of
editable installs. Every other file is position-independent. Files linked from
the store (more than one link) are linked again; files the env owns alone are
copied, and the small text ones among them have the old path replaced.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

_REWRITE_LIMIT = 1 << 20
"""Files the env owns larger than this are copied as they are (wheel data, not scripts)."""
_WORKERS = 4
_BATCH = 256


@dataclass(frozen=True, slots=True)
class CloneCounts:
    """What a clone did with the files of its source."""

    linked: int = 0
    copied: int = 0
    rewritten: int = 0
    symlinks: int = 0


def path_pattern(old: Path) -> re.Pattern[bytes]:
    """``old`` as bytes, not followed by more of a file name (``/envs/a`` is not ``/envs/ab``)."""
    return re.compile(re.escape(os.fsencode(old)) + rb"(?![A-Za-z0-9_.-])")


def _rewritten(data: bytes, pattern: re.Pattern[bytes], new: bytes) -> bytes | None:
    """``data`` with the old path replaced; None when it has none or is binary
    (a string of another length inside a binary file would break it)."""
    if b"\0" in data or pattern.search(data) is None:
        return None
    return pattern.sub(new.replace(b"\\", b"\\\\"), data)


def _symlink_target(link: str, pattern: re.Pattern[bytes], new: bytes) -> str:
    target = os.fsencode(os.readlink(link))
    return os.fsdecode(pattern.sub(new.replace(b"\\", b"\\\\"), target))


class _Cloner:
    """One clone: ``src`` into ``dst``, which will live at ``final``."""

    def __init__(self, src: Path, dst: Path, final: Path) -> None:
        self.src = os.fspath(src)
        self.dst = os.fspath(dst)
        self.pattern = path_pattern(src)
        self.new = os.fsencode(final)
        self.link_ok = True

    def file(self, source: str, target: str) -> str:
        """Make ``target`` from ``source``; returns what was done."""
        st = os.lstat(source)
        if st.st_nlink > 1 and self.link_ok:
            try:
                os.link(source, target)
                return "linked"
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                self.link_ok = exc.errno == errno.EMLINK
        if st.st_size <= _REWRITE_LIMIT:
            with open(source, "rb") as fh:
                data = fh.read()
            changed = _rewritten(data, self.pattern, self.new)
            if changed is not None:
                _write(target, changed, st.st_mode)
                return "rewritten"
        shutil.copy2(source, target)
        return "copied"

    def batch(self, pairs: list[tuple[str, str]]) -> list[str]:
        return [self.file(source, target) for source, target in pairs]


def clone_tree(src: Path, dst: Path, final: Path) -> CloneCounts:
    """Make ``dst`` a copy of the venv ``src`` that works once moved to ``final``.

    ``dst`` must not exist. Links are made in parallel (each is one syscall).
    """
    cloner = _Cloner(src, dst, final)
    counts: dict[str, int] = {"linked": 0, "copied": 0, "rewritten": 0, "symlinks": 0}
    batches: list[list[tuple[str, str]]] = []
    pending: list[tuple[str, str]] = []
    for directory, subdirs, files in os.walk(cloner.src):
        relative = os.path.relpath(directory, cloner.src)
        target_dir = cloner.dst if relative == "." else os.path.join(cloner.dst, relative)
        os.mkdir(target_dir)
        shutil.copymode(directory, target_dir)
        for name in [*files, *(d for d in subdirs if os.path.islink(os.path.join(directory, d)))]:
            source, target = os.path.join(directory, name), os.path.join(target_dir, name)
            if os.path.islink(source):
                os.symlink(_symlink_target(source, cloner.pattern, cloner.new), target)
                counts["symlinks"] += 1
                continue
            pending.append((source, target))
            if len(pending) >= _BATCH:
                batches.append(pending)
                pending = []
    batches.append(pending)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for done in pool.map(cloner.batch, batches):
            for what in done:
                counts[what] += 1
    return CloneCounts(**counts)


def rewrite_in_place(root: Path, old: Path, new: Path) -> int:
    """Replace ``old`` by ``new`` in the files ``root`` owns alone and in its symlinks
    (a venv built at ``old`` and about to be renamed to ``new``); returns the count."""
    pattern = path_pattern(old)
    replacement = os.fsencode(new)
    count = 0
    for directory, subdirs, files in os.walk(root):
        for name in [*files, *(d for d in subdirs if os.path.islink(os.path.join(directory, d)))]:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            if os.path.islink(path):
                target = _symlink_target(path, pattern, replacement)
                if target != os.readlink(path):
                    os.unlink(path)
                    os.symlink(target, path)
                    count += 1
                continue
            if st.st_nlink > 1 or st.st_size > _REWRITE_LIMIT:
                continue
            with open(path, "rb") as fh:
                changed = _rewritten(fh.read(), pattern, replacement)
            if changed is not None:
                _write(path + ".cloche-new", changed, st.st_mode)
                os.replace(path + ".cloche-new", path)
                count += 1
    return count


def _write(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o7777)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode & 0o7777)  # exactly the source's mode, whatever the umask


def rename_prompt(env: Path, old: str, new: str) -> None:
    """Show ``(new)`` instead of ``(old)`` when the env is activated (pyvenv.cfg's
    ``prompt`` and the activate scripts), where the prompt was ``old``."""
    cfg = env / "pyvenv.cfg"
    text = cfg.read_text("utf-8")
    if f"prompt = {old!r}" not in text.splitlines():
        return
    _replace_text(cfg, text.replace(f"prompt = {old!r}", f"prompt = {new!r}"))
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    for script in bin_dir.glob("[Aa]ctivate*"):
        if script.is_file() and not script.is_symlink():
            body = script.read_bytes()
            changed = body.replace(f"({old}) ".encode(), f"({new}) ".encode())
            if changed != body:
                _replace_text(script, changed.decode("utf-8", "surrogateescape"))


def _replace_text(path: Path, text: str) -> None:
    # A new file, never written through: it may be linked from the source env.
    temporary = path.with_name(path.name + ".cloche-new")
    _write(os.fspath(temporary), text.encode("utf-8", "surrogateescape"), path.stat().st_mode)
    os.replace(temporary, path)
