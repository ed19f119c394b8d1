"""``venv --clear`` changes an env as an install does: it takes the env's install lock.

Light on purpose: the ``cloche venv`` fast path imports it (the lock's own module
only when there is an env to clear).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
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
