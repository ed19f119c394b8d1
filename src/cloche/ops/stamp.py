"""The environment stamp: how ``sync`` and ``run`` know, cheaply, that nothing changed.

After a successful sync, ``<root>/.venv/.cloche-stamp`` records a hash of every
input of that sync (pyproject.toml, pylock.toml and .python-version bytes, the
groups and extras chosen, the index settings from the environment) and a
signature of the site-packages directories (their mtime). When both still
match, the environment is what the lock says and nothing needs to run.

This module is on the no-op fast path: it imports only the standard library
(no packaging, no tomllib unless a pyproject.toml has no stamp beside it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

STAMP_NAME = ".cloche-stamp"
LOCKFILE = "pylock.toml"  # core.project.spec.LOCKFILE, without importing packaging
VENV_NAME = ".venv"
_FORMAT = 1
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
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, slots=True)
class Selection:
    """What part of the lock a sync installs: dependency groups and extras."""

    groups: tuple[str, ...] = ()
    all_groups: bool = False
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    no_default_groups: bool = False

    def key(self) -> dict[str, object]:
        return {
            "groups": sorted({_normalize(g) for g in self.groups}),
            "all-groups": self.all_groups,
            "extras": sorted({_normalize(e) for e in self.extras}),
            "all-extras": self.all_extras,
            "no-default-groups": self.no_default_groups,
        }


@dataclass(frozen=True, slots=True)
class Inputs:
    """The bytes of a project's inputs, read once per command."""

    root: Path
    pyproject: bytes
    lock: bytes | None
    python_version: bytes
    lock_file: str = LOCKFILE
    """Which lock the sync installed: ``pylock.toml`` or a named one (``pylock.cpu.toml``)."""

    @classmethod
    def read(cls, root: Path, lock_file: str = LOCKFILE) -> Inputs:
        return cls(
            root=root,
            pyproject=(root / "pyproject.toml").read_bytes(),
            lock=_read_or_none(root / lock_file),
            python_version=_read_or_none(root / ".python-version") or b"",
            lock_file=lock_file,
        )

    def with_lock(self, lock_text: str) -> Inputs:
        lock = lock_text.encode("utf-8")
        return Inputs(self.root, self.pyproject, lock, self.python_version, self.lock_file)

    def key(self, selection: Selection) -> str:
        """sha256 over everything a no-op sync depends on."""
        from cloche import __version__

        data = {
            "format": _FORMAT,
            "cloche": __version__,
            "root": str(self.root),
            "pyproject": hashlib.sha256(self.pyproject).hexdigest(),
            "lock": hashlib.sha256(self.lock or b"").hexdigest(),
            "lock-file": self.lock_file,
            "python-version": hashlib.sha256(self.python_version).hexdigest(),
            "selection": selection.key(),
            "environ": {k: os.environ.get(k, "") for k in _ENV_KEYS},
            "config": _config_signature(),
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _config_signature() -> list[int] | None:
    """Size and mtime of the user config file (its index settings change freshness)."""
    explicit = os.environ.get("CLOCHE_CONFIG_FILE")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or Path("~/.config").expanduser()
        path = Path(base) / "cloche" / "cloche.toml"
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _dir_signature(paths: Iterable[str]) -> list[list[int]] | None:
    out = []
    for path in paths:
        try:
            st = Path(path).stat()
        except OSError:
            return None
        out.append([st.st_ino, st.st_mtime_ns])
    return out


def stamp_path(root: Path) -> Path:
    return root / VENV_NAME / STAMP_NAME


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
        Path(directory, "__pycache__").mkdir(exist_ok=True)
    signature = _dir_signature(unique)
    if signature is None:
        return
    data = {
        "key": inputs.key(selection),
        "fresh": fresh,
        "exact": exact,
        "python": python,
        "lock-file": inputs.lock_file,
        "site": unique,
        "signature": signature,
    }
    path = stamp_path(inputs.root)
    temporary = path.with_name(f"{STAMP_NAME}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a missing stamp only costs the next sync its speed


def clear_stamp(root: Path) -> None:
    """Forget the stamp before changing the env, so a failed sync is never taken for a no-op."""
    with contextlib.suppress(OSError):
        stamp_path(root).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Synced:
    """A project whose environment matches its stamp."""

    root: Path
    venv: Path
    python: str


def check_stamp(
    start: Path,
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
    root = _stamped_root(start)
    if root is None:
        return None
    try:
        data = json.loads(stamp_path(root).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            return None
        stamped = data.get("lock-file", LOCKFILE)
        if not isinstance(stamped, str) or (lock_file is not None and lock_file != stamped):
            return None
        inputs = Inputs.read(root, stamped)
    except (OSError, ValueError):
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
    if _dir_signature(site) != data.get("signature") or not Path(python).exists():
        return None
    if any(_interrupted(str(directory)) for directory in site):
        return None
    return Synced(root=root, venv=root / VENV_NAME, python=python)


def _interrupted(site: str) -> bool:
    """Whether an install into the env of ``site`` left a journal (the slow path recovers it).

    The names are ``adapters.install.journal``'s, beside site-packages; not imported here,
    to keep this path free of the install package.
    """
    parent = os.path.dirname(site)  # noqa: PTH120
    names = (".cloche-journal", ".cloche-journal-restoring")
    return any(os.path.exists(os.path.join(parent, name)) for name in names)  # noqa: PTH110, PTH118


def _stamped_root(start: Path) -> Path | None:
    """The project root as ``core.project.load.find_project_root`` would find it, when it has a
    stamp; None otherwise (including every case the fast path cannot decide)."""
    start = start.absolute()
    for directory in (start, *start.parents):
        if not (directory / "pyproject.toml").is_file():
            continue
        if stamp_path(directory).is_file():
            return directory
        if _declares_project(directory / "pyproject.toml"):
            return None  # a project that was never synced
    return None


def _declares_project(path: Path) -> bool:
    # Only when a pyproject.toml without a stamp is in the way.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    tool = data.get("tool")
    return "project" in data or (isinstance(tool, dict) and "cloche" in tool)
