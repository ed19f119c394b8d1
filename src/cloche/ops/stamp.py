"""The environment stamp: how ``sync`` and ``run`` know, cheaply, that nothing changed.

After a successful sync, ``<root>/.venv/.cloche-stamp`` records a hash of every
input of that sync (pyproject.toml, pylock.toml and .python-version bytes, the
groups and extras chosen, the index settings from the environment) and a
signature of the site-packages directories (their mtime). When both still
match, the environment is what the lock says and nothing needs to run.

This module is on the fast paths of ``sync`` and ``run`` (``cli/sync_fast``), which
are timed against uv's: it imports only ``os`` and ``marshal`` (and ``hashlib`` for the key). Not
pathlib, json, re or dataclasses, which would cost more here than the check itself;
so the values below are small slotted classes, immutable as frozen dataclasses are.
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    StrPath = str | os.PathLike[str]

STAMP_NAME = ".cloche-stamp"
LOCKFILE = "pylock.toml"  # core.project.spec.LOCKFILE, without importing packaging
VENV_NAME = ".venv"
_FORMAT = 2
_ENV_KEYS = (
    "CLOCHE_INDEX_URL",
    "CLOCHE_EXTRA_INDEX_URL",
    "CLOCHE_FIND_LINKS",
    "CLOCHE_INDEX_STRATEGY",
    "CLOCHE_CONFIG_FILE",
    "CLOCHE_ACCELERATOR",
    "CLOCHE_TORCH_INDEX_URL",
    "CLOCHE_CUDA_DRIVER_VERSION",
)


def _normalize(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


class _Value:
    """Equality, hash and repr by the slots, and no assignment after ``__init__``."""

    __slots__ = ()

    def _names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.__slots__
        return names

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._names())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Value) or type(other) is not type(self):
            return False
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names())
        return f"{type(self).__name__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __getstate__(self) -> dict[str, Any]:
        return dict(zip(self._names(), self._fields(), strict=True))

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._set(**state)

    def _set(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)


class Selection(_Value):
    """What part of the lock a sync installs: dependency groups and extras."""

    __slots__ = ("all_extras", "all_groups", "extras", "groups", "no_default_groups")
    groups: tuple[str, ...]
    all_groups: bool
    extras: tuple[str, ...]
    all_extras: bool
    no_default_groups: bool

    def __init__(
        self,
        groups: tuple[str, ...] = (),
        all_groups: bool = False,
        extras: tuple[str, ...] = (),
        all_extras: bool = False,
        no_default_groups: bool = False,
    ) -> None:
        self._set(
            groups=groups,
            all_groups=all_groups,
            extras=extras,
            all_extras=all_extras,
            no_default_groups=no_default_groups,
        )

    def key(self) -> tuple[object, ...]:
        return (
            tuple(sorted({_normalize(g) for g in self.groups})),
            self.all_groups,
            tuple(sorted({_normalize(e) for e in self.extras})),
            self.all_extras,
            self.no_default_groups,
        )


class Inputs(_Value):
    """The bytes of a project's inputs, read once per command."""

    __slots__ = ("lock", "lock_file", "pyproject", "python_version", "root")
    root: StrPath
    pyproject: bytes
    lock: bytes | None
    python_version: bytes
    lock_file: str
    """Which lock the sync installed: ``pylock.toml`` or a named one (``pylock.cpu.toml``)."""

    def __init__(
        self,
        root: StrPath,
        pyproject: bytes,
        lock: bytes | None,
        python_version: bytes,
        lock_file: str = LOCKFILE,
    ) -> None:
        self._set(
            root=root,
            pyproject=pyproject,
            lock=lock,
            python_version=python_version,
            lock_file=lock_file,
        )

    @classmethod
    def read(cls, root: StrPath, lock_file: str = LOCKFILE) -> Inputs:
        base = os.fspath(root)
        with open(os.path.join(base, "pyproject.toml"), "rb") as handle:
            pyproject = handle.read()
        return cls(
            root=root,
            pyproject=pyproject,
            lock=_read_or_none(os.path.join(base, lock_file)),
            python_version=_read_or_none(os.path.join(base, ".python-version")) or b"",
            lock_file=lock_file,
        )

    def with_lock(self, lock_text: str) -> Inputs:
        lock = lock_text.encode("utf-8")
        return Inputs(self.root, self.pyproject, lock, self.python_version, self.lock_file)

    def key(self, selection: Selection) -> str:
        """sha256 over everything a no-op sync depends on."""
        import hashlib

        from cloche import __version__

        data = (
            _FORMAT,
            __version__,
            os.fspath(self.root),
            hashlib.sha256(self.pyproject).hexdigest(),
            hashlib.sha256(self.lock or b"").hexdigest(),
            self.lock_file,
            hashlib.sha256(self.python_version).hexdigest(),
            selection.key(),
            tuple(os.environ.get(k, "") for k in _ENV_KEYS),
            config_signature(),
        )
        return hashlib.sha256(repr(data).encode()).hexdigest()


def _read_or_none(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def config_signature() -> tuple[int, int] | None:
    """Size and mtime of the user config file (its index settings change freshness)."""
    from cloche.dirs import user_config_file

    try:
        st = os.stat(os.environ.get("CLOCHE_CONFIG_FILE") or user_config_file())
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def dir_signature(paths: Iterable[str]) -> list[tuple[int, int]] | None:
    """Inode and mtime of each directory (None: one is gone)."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            return None
        out.append((st.st_ino, st.st_mtime_ns))
    return out


def stamp_path(root: StrPath) -> str:
    return os.path.join(root, VENV_NAME, STAMP_NAME)


def write_stamp(
    inputs: Inputs,
    selection: Selection,
    *,
    fresh: bool,
    python: str,
    site_dirs: Sequence[str],
    exact: bool = True,
) -> None:
    """Record a successful sync. ``site_dirs`` are the env's purelib/platlib directories;
    ``exact``: the sync removed what the lock does not select (``run`` does not)."""
    unique = list(dict.fromkeys(os.path.realpath(d) for d in site_dirs))
    for directory in unique:
        # Python creates site-packages/__pycache__ on the first import of a top-level
        # module; making it now keeps that from changing the directory's mtime later.
        os.makedirs(os.path.join(directory, "__pycache__"), exist_ok=True)
    signature = dir_signature(unique)
    if signature is None:
        return
    data = {
        "format": _FORMAT,
        "key": inputs.key(selection),
        "fresh": fresh,
        "exact": exact,
        "python": python,
        "lock-file": inputs.lock_file,
        "site": unique,
        "signature": signature,
    }
    _write(stamp_path(inputs.root), data)


def _write(path: str, data: dict[str, Any]) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            marshal.dump(data, handle)
        os.replace(temporary, path)
    except OSError:
        # a missing stamp only costs the next sync its speed
        try:
            os.unlink(temporary)
        except OSError:
            pass


def read_stamp(root: StrPath) -> dict[str, Any] | None:
    """The stamp of ``root``'s env as written, or None."""
    try:
        with open(stamp_path(root), "rb") as handle:
            data = marshal.load(handle)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return None
    return data


def copy_stamp(stamp: dict[str, Any], venv: str, made: str) -> bool:
    """Write ``stamp`` (read from the env at real path ``venv``) into ``made``: a copy of
    that env built elsewhere, to be renamed into its place. The inputs are the same; the
    signature is the copy's own (a rename keeps it). False: nothing written."""
    site = stamp.get("site")
    if not isinstance(site, list) or not all(
        isinstance(d, str) and d.startswith(venv + os.sep) for d in site
    ):
        return False
    signature = dir_signature(made + d[len(venv) :] for d in site)
    if signature is None:
        return False
    _write(os.path.join(made, STAMP_NAME), {**stamp, "signature": signature})
    return True


def clear_stamp(root: StrPath) -> None:
    """Forget the stamp before changing the env, so a failed sync is never taken for a no-op."""
    try:
        os.unlink(stamp_path(root))
    except OSError:
        pass


class Synced(_Value):
    """A project whose environment matches its stamp."""

    __slots__ = ("python", "root", "venv")
    root: str
    venv: str
    python: str

    def __init__(self, root: str, venv: str, python: str) -> None:
        self._set(root=root, venv=venv, python=python)


def check_stamp(
    start: StrPath,
    selection: Selection,
    *,
    need_fresh: bool,
    exact: bool = True,
    lock_file: str | None = None,
) -> Synced | None:
    """The project around ``start`` if its env is known to match, else None (do a real sync).

    Reads pyproject.toml, the lock and the stamp, and stats site-packages; nothing else.
    ``need_fresh``: only a stamp written with a lock that was fresh counts; ``exact``:
    only a stamp of a sync that removed what the lock does not select counts.
    ``lock_file``: the lock asked for (``pylock.cu128.toml``); None: the one the last
    sync installed.
    """
    root = _stamped_root(os.fspath(start))
    if root is None:
        return None
    data = read_stamp(root)
    if data is None:
        return None
    stamped = data.get("lock-file", LOCKFILE)
    if not isinstance(stamped, str) or (lock_file is not None and lock_file != stamped):
        return None
    try:
        inputs = Inputs.read(root, stamped)
    except OSError:
        return None
    if need_fresh and data.get("fresh") is not True:
        return None
    if exact and data.get("exact", True) is not True:
        return None
    site = data.get("site")
    python = data.get("python")
    if not isinstance(site, list) or not isinstance(python, str) or inputs.lock is None:
        return None
    if data.get("key") != inputs.key(selection):
        return None
    if dir_signature(site) != data.get("signature") or not os.path.exists(python):
        return None
    if any(_interrupted(str(directory)) for directory in site):
        return None
    return Synced(root=root, venv=os.path.join(root, VENV_NAME), python=python)


def _interrupted(site: str) -> bool:
    """Whether an install into the env of ``site`` left a journal (the slow path recovers it).

    The names are ``adapters.install.journal``'s, beside site-packages; not imported here,
    to keep this path free of the install package.
    """
    parent = os.path.dirname(site)
    names = (".cloche-journal", ".cloche-journal-restoring")
    return any(os.path.exists(os.path.join(parent, name)) for name in names)


def _stamped_root(start: str) -> str | None:
    """The project root as ``core.project.root.find_project_root`` finds it, when it has a
    stamp; None otherwise (including every case the fast path cannot decide). A stamp
    beside the first pyproject.toml on the way up saves parsing it."""
    from cloche.core.project.root import PYPROJECT, file_declares_project, parents

    for directory in parents(start):
        candidate = os.path.join(directory, PYPROJECT)
        if not os.path.isfile(candidate):
            continue
        if os.path.isfile(stamp_path(directory)):
            return directory
        if file_declares_project(candidate):
            return None  # a project that was never synced
    return None
