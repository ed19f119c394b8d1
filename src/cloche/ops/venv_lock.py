"""The locks held while a venv is made: ``venv --clear`` takes the env's install lock
(it changes the env as an install does), and a project's ``.venv`` is made under a
lock in the cache (the venv cannot hold its own before it exists).

Light on purpose: the ``cloche venv`` and ``cloche sync`` fast paths import it (the
lock's own module only when there is a lock to take).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import Any


@contextmanager
def clearing(path: str, base: Mapping[str, Any], *, clear: bool) -> Iterator[tuple[str, ...]]:
    """Hold the lock of the venv at ``path`` (made from the probe ``base``) while it is
    cleared and made again; yields the files ``make_venv_files`` must keep (the lock)."""
    venv_dir = os.path.normpath(os.path.abspath(path))  # noqa: PTH100
    if not clear or not os.path.isfile(os.path.join(venv_dir, "pyvenv.cfg")):  # noqa: PTH113, PTH118
        yield ()
        return
    from cloche.adapters.install.lock_name import LOCK_NAME
    from cloche.adapters.venv.create import venv_paths
    from cloche.file_lock import FileLock

    site = venv_paths(base, venv_dir)["purelib"]
    lock = os.path.join(os.path.dirname(site), LOCK_NAME)  # noqa: PTH118, PTH120
    # The very lock installs take (adapters.install.layout.lock_at), without importing
    # the install adapters on this start-up path.
    with FileLock(lock):
        yield (lock,)


@contextmanager
def making(venv_dir: str, cache_dir: str, on_wait: Callable[[], None]) -> Iterator[None]:
    """Held while the project venv at ``venv_dir`` is made (``ensure_venv``) or renamed
    into place (``sync_replay``): two cloches started at once in a new project (Ray
    starts a node's workers together) make it once, and the others then find it.
    ``on_wait`` is called when another process holds it, before waiting."""
    from cloche.file_lock import FileLock, LockTimeout, directory_lock_path

    lock_dir = os.path.join(cache_dir, "locks")  # noqa: PTH118 (the store's LOCKS)
    os.makedirs(lock_dir, exist_ok=True)  # noqa: PTH103
    lock = FileLock(directory_lock_path(lock_dir, venv_dir))
    try:
        lock.acquire(timeout=0)
    except LockTimeout:
        on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
