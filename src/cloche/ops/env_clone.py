"""Copying and moving a venv by re-linking: what the store holds is linked, what names
the env's own path is rewritten.

A venv holds its own absolute path in a few small text files: script shebangs,
``pyvenv.cfg``, the activate scripts, ``.pth`` files and ``direct_url.json`` of
editable installs. Every other file is position-independent.

Inside a package's directory in site-packages (``numpy/...``: nearly every file)
each file is linked with no other system call: its contents never name the env.
Everywhere else (the env's top level, ``bin``, ``share``, ``*.dist-info``, the
files at the top of site-packages, any ``.pth``) a file linked from the store
(more than one link) is linked again, and a file the env owns alone is copied,
the small text ones with the old path replaced: never written through a link.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path

from cloche.worker_pool import WorkerPool

_REWRITE_LIMIT = 1 << 20
"""Files the env owns larger than this are copied as they are (wheel data, not scripts)."""
_WORKERS = 8
_METADATA_SUFFIXES = (".dist-info", ".egg-info", ".data")
"""Directories in site-packages that hold an install's own files (RECORD, direct_url.json)."""
_PATH_FILE_SUFFIXES = (".pth", ".egg-link")
"""Files that name directories by absolute path wherever they are (editable installs)."""


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
    """One clone: ``src`` into ``dst``, which will live at ``final``.

    The tree is walked one directory per task: a task lists its directory with
    ``os.scandir`` (the file type comes with the listing, no stat), makes the
    subdirectories and links or copies the files, and hands the subdirectories back
    as new tasks. Links and stats release the GIL, so the tasks overlap in the kernel.
    """

    def __init__(self, src: Path, dst: Path, final: Path) -> None:
        self.src = os.fspath(src)
        self.dst = os.fspath(dst)
        self.pattern = path_pattern(src)
        self.new = os.fsencode(final)
        self.link_ok = True
        self.umask = _current_umask()
        self.stopped = False
        """Set on Ctrl-C: workers stop after the entry they are on, not their directory."""

    def file(self, source: str, target: str) -> str:
        """Make ``target`` from ``source``; returns what was done.

        A small file naming the old path becomes a new file with the new one, whatever
        its link count (a venv copied by ``cp -al`` shares its scripts); else one
        linked from the store is linked again, and one the env owns alone is copied.
        """
        st = os.lstat(source)
        data = None
        if st.st_size <= _REWRITE_LIMIT:
            with open(source, "rb") as fh:
                data = fh.read()
            changed = _rewritten(data, self.pattern, self.new)
            if changed is not None:
                _write(target, changed, st.st_mode)
                return "rewritten"
        if st.st_nlink > 1 and self.link_ok:
            try:
                os.link(source, target)
                return "linked"
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                self.link_ok = exc.errno == errno.EMLINK
        # A file the env owns alone (RECORD, INSTALLER, caches): never shared.
        if data is None:
            shutil.copy2(source, target)
        else:
            _write(target, data, st.st_mode)
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        return "copied"

    def package_file(self, source: str, target: str) -> str:
        """A file in a package's directory: linked as it is, else as ``file`` does it."""
        if self.link_ok and not source.endswith(_PATH_FILE_SUFFIXES):
            try:
                os.link(source, target)
                return "linked"
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
        return self.file(source, target)

    def directory(
        self, source: str, target: str, in_package: bool = False
    ) -> tuple[list[tuple[str, str, bool]], list[str]]:
        """Fill ``target`` (made already) from ``source``: its subdirectories to do next
        (with whether they are inside a package's directory), and what was done with
        each entry."""
        subdirs: list[tuple[str, str, bool]] = []
        done: list[str] = []
        with os.scandir(source) as entries:
            listed = list(entries)
        site_packages = os.path.basename(source) == "site-packages"
        make = self.package_file if in_package else self.file
        for entry in listed:
            if self.stopped:
                break
            into = target + os.sep + entry.name
            if entry.is_symlink():
                os.symlink(_symlink_target(entry.path, self.pattern, self.new), into)
                done.append("symlinks")
            elif entry.is_dir(follow_symlinks=False):
                self.make_dir(entry.path, into)
                package = in_package or (
                    site_packages and not entry.name.endswith(_METADATA_SUFFIXES)
                )
                subdirs.append((entry.path, into, package))
            else:
                done.append(make(entry.path, into))
        return subdirs, done

    def make_dir(self, source: str, target: str) -> None:
        mode = os.stat(source, follow_symlinks=False).st_mode & 0o7777
        os.mkdir(target, mode)
        if mode & self.umask:
            os.chmod(target, mode)  # the umask took bits the source has


def _current_umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o7777  # unknown: always set the mode


def clone_tree(src: Path, dst: Path, final: Path) -> CloneCounts:
    """Make ``dst`` a copy of the venv ``src`` that works once moved to ``final``.

    ``dst`` must not exist. Directories are done in parallel (links are syscalls).
    """
    cloner = _Cloner(src, dst, final)
    counts: dict[str, int] = {"linked": 0, "copied": 0, "rewritten": 0, "symlinks": 0}
    cloner.make_dir(cloner.src, cloner.dst)
    pool = WorkerPool(_WORKERS)
    try:
        pending = {pool.submit(cloner.directory, cloner.src, cloner.dst)}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                subdirs, done = future.result()
                for what in done:
                    counts[what] += 1
                pending.update(pool.submit(cloner.directory, *task) for task in subdirs)
    except BaseException:
        cloner.stopped = True  # an interrupt is answered now, not after a big directory
        raise
    finally:
        # Every task has ended when this returns: the caller removes ``dst`` next.
        pool.shutdown(cancel_futures=True)
    return CloneCounts(**counts)


def rewrite_in_place(root: Path, old: Path, new: Path) -> int:
    """Replace ``old`` by ``new`` in the files ``root`` owns alone and in its symlinks
    (a venv built at ``old`` and about to be renamed to ``new``); returns the count.

    Packages' directories in site-packages are not read: an install puts there only
    files from wheels, which cannot know where the env was built."""
    pattern = path_pattern(old)
    replacement = os.fsencode(new)
    count = 0
    for directory, subdirs, files in os.walk(root):
        links = [d for d in subdirs if os.path.islink(os.path.join(directory, d))]
        if os.path.basename(directory) == "site-packages":
            subdirs[:] = [d for d in subdirs if d.endswith(_METADATA_SUFFIXES)]
        for name in [*files, *links]:
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
