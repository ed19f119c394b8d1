"""``cloche sync`` into a missing ``.venv``, made again from what the last such sync made.

Re-creating a project's environment from its lock (a teammate's ``rm -rf .venv``, a
CI job with a warm cache) gives the same tree every time while nothing it depends on
changed. So after a sync into a new ``.venv`` whose wheels were all linked from the
store, the tree is kept in the cache (``adapters.venv.snapshot``) with what decided
it: the project's inputs (pyproject.toml, the lock and .python-version, byte for
byte), the user config file's size and mtime, the variables that steer cloche and
interpreter discovery, and the places discovery looks in with every interpreter it
could have chosen (mtime; size and mtime, what its probe cache trusts). When all of
that still holds, the next sync into a missing ``.venv`` makes the tree again from
links, without planning, in a directory beside it renamed into place at the end:
whatever stops it, ``.venv`` is whole or absent.

What is not kept: a sync that re-locked, used a named lock or installed a build for
an accelerator, an editable or direct-URL package, or copied its files.
The replay side imports only ``os``, ``marshal`` and ``binascii``: it runs before
click, pathlib or packaging load.
"""

from __future__ import annotations

import binascii
import marshal
import os

from cloche.adapters.venv import snapshot
from cloche.ops.stamp import (
    LOCKFILE,
    STAMP_NAME,
    VENV_NAME,
    Inputs,
    config_signature,
    copy_stamp,
)
from cloche.ops.venv_lock import making

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

FORMAT = 4
SUPPORTED = os.name == "posix"
"""Hard links and ``os.uname``: POSIX only (elsewhere every sync plans)."""
BUCKET = "sync-replay-v1"
PARTIAL_PREFIX = f"{VENV_NAME}.cloche-partial-"
"""A tree being made: ``.venv.cloche-partial-<pid>``, beside ``.venv``."""
_ENV_PREFIXES = ("CLOCHE_", "PYENV", "ASDF_", "CONDA", "MAMBA_", "XDG_")
_ENV_NAMES = ("PATH", "HOME")

Line = tuple[int, str]
"""A line the sync said, and the least verbosity that shows it (0: info, -1: warning)."""


def machine_state() -> dict[str, Any]:
    """What a sync depends on beyond the project: the machine, its variables, the user
    config, and the interpreters discovery could choose. Taken as a sync into a new
    ``.venv`` starts."""
    from cloche.adapters.python import places

    interpreters = [str(c) for c in places.candidates()]
    return {
        "machine": _machine(),
        "environ": _environ(),
        "config": config_signature(),
        "places": [(p, _mtime(p)) for p in places.searched_places()],
        "interpreters": [(p, _size_mtime(p)) for p in interpreters],
    }


def _still_holds(state: dict[str, Any]) -> bool:
    """Whether ``machine_state()`` would give ``state`` again: by stat calls only."""
    return (
        state["machine"] == _machine()
        and state["environ"] == _environ()
        and state["config"] == config_signature()
        and all(_mtime(p) == m for p, m in state["places"])
        and all(_size_mtime(p) == s for p, s in state["interpreters"])
    )


def _machine() -> tuple[str, ...]:
    """The OS, its release and the C library: what wheel tags are worked out from (a
    cache and project on a shared file system can be synced from different machines)."""
    uname = os.uname()
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        libc = ""
    return (uname.sysname, uname.release, uname.machine, libc)


def _environ() -> list[tuple[str, str]]:
    return sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES
    )


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _size_mtime(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _inputs(root: str) -> tuple[bytes, bytes | None, bytes] | None:
    """pyproject.toml, the lock and .python-version, as the stamp reads them."""
    try:
        inputs = Inputs.read(root, LOCKFILE)
    except OSError:
        return None
    return (inputs.pyproject, inputs.lock, inputs.python_version)


def recipe_file(cache_dir: str, root: str) -> str:
    # crc32, not sha256: the root is checked inside; hashlib's start-up is not free.
    raw = root.encode("utf-8", "surrogateescape")
    name = f"{binascii.crc32(raw):08x}-{len(raw):x}.marshal"
    return os.path.join(cache_dir, BUCKET, name)


def record(
    root: Path, wheel_dirs: Sequence[str], before: dict[str, Any], stamp: dict[str, Any]
) -> dict[str, Any] | None:
    """What to keep of the sync that just made ``root``'s ``.venv`` (None: nothing).
    ``before``: ``machine_state()`` as the sync started; ``stamp``: the one it wrote."""
    if stamp.get("fresh") is not True or stamp.get("lock-file") != LOCKFILE:
        return None
    base = os.fspath(root)
    venv = os.path.join(base, VENV_NAME)
    try:
        tree = snapshot.take(venv, wheel_dirs, skip={STAMP_NAME})
    except OSError:
        return None
    if tree is None:
        return None
    from cloche import __version__

    return {
        "format": FORMAT,
        "cloche": __version__,
        "root": base,
        "venv": os.path.realpath(venv),
        "inputs": _inputs(base),
        "state": before,
        "stamp": stamp,
        "tree": tree,
    }


def save(cache_dir: Path, recipe: dict[str, Any], lines: Sequence[Line]) -> None:
    """Keep ``recipe`` with the lines its sync said; a failure only costs speed later."""
    path = recipe_file(os.fspath(cache_dir), recipe["root"])
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump({**recipe, "lines": list(lines)}, handle)
        os.replace(temporary, path)
    except OSError:
        _remove_file(temporary)


def has_recipe(cache_dir: str, root: str) -> bool:
    return os.path.isfile(recipe_file(cache_dir, root))


def replay(root: str, cache_dir: str) -> list[Line] | None:
    """Make ``root``'s missing ``.venv`` from its recipe; the lines its sync said, or None
    when no recipe holds (the caller syncs as usual; nothing was left behind). Only for
    a sync of the lock's default selection."""
    remove_partials(root)
    recipe = _valid_recipe(root, cache_dir)
    if recipe is None:
        return None
    made = os.path.join(root, f"{PARTIAL_PREFIX}{os.getpid()}")
    try:
        snapshot.make(recipe["tree"], made)
        if not copy_stamp(recipe["stamp"], recipe["venv"], made):
            raise OSError("the stamp was not written")
        venv = os.path.join(root, VENV_NAME)
        with making(venv, cache_dir, _no_notice):
            if os.path.lexists(venv):
                raise OSError("another sync made it meanwhile")  # that one stands
            os.rename(made, venv)
    except OSError:
        _remove_tree(made)
        return None
    except BaseException:
        _remove_tree(made)
        raise
    return [(int(level), str(text)) for level, text in recipe["lines"]]


def _no_notice() -> None:
    """A replay waits without a word: the sync that holds the lock reports."""


def _valid_recipe(root: str, cache_dir: str) -> dict[str, Any] | None:
    try:
        with open(recipe_file(cache_dir, root), "rb") as handle:
            recipe = marshal.load(handle)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    from cloche import __version__

    if not isinstance(recipe, dict) or recipe.get("format") != FORMAT:
        return None
    if (
        recipe.get("cloche") != __version__
        or recipe.get("root") != root
        or os.path.lexists(os.path.join(root, VENV_NAME))
    ):
        return None
    inputs = _inputs(root)
    if inputs is None or inputs[1] is None or recipe["inputs"] != inputs:
        return None
    if not _still_holds(recipe["state"]):
        return None
    return recipe


def remove_partials(root: str | os.PathLike[str]) -> None:
    """Remove trees that a killed sync left half made beside ``.venv``."""
    try:
        names = [n for n in os.listdir(root) if n.startswith(PARTIAL_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(PARTIAL_PREFIX) :]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _remove_tree(os.path.join(root, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
