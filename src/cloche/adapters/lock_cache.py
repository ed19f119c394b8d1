"""Parsed pylock.toml files kept by content, so reading a known lock again is cheap.

Parsing and validating the lock of a data-science stack (200 KB, 1,300 files)
takes ~35 ms; loading what the last parse gave takes ~4 ms. A sync into a new
or changed ``.venv`` reads the lock every time.

The key covers the lock's bytes and the versions of Python and packaging (only
packaging's objects are pickled); an entry that cannot be read is parsed again and rewritten.
The cache lives in cloche's own cache directory, which already holds the wheels
cloche installs, so an entry is trusted as they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

from packaging.pylock import Pylock

BUCKET = "pylock-v1"
_KEEP = 32
"""Entries kept; the oldest go when a new one is written."""


def _version_tag() -> bytes:
    import sys

    import packaging

    return f"{sys.version_info[:2]}|packaging {packaging.__version__}".encode()


class ParsedLocks:
    """Pylock objects by the sha256 of the lock's bytes, under ``cache_dir/pylock-v1``."""

    def __init__(self, cache_dir: Path) -> None:
        self._dir = cache_dir / BUCKET

    def load(self, data: bytes, parse: Callable[[bytes], Pylock]) -> Pylock:
        """The lock ``data`` holds: from the cache, else ``parse(data)`` (then kept).

        Errors from ``parse`` propagate; nothing is kept for a lock that does not parse.
        """
        key = hashlib.sha256(_version_tag() + b"\0" + data).hexdigest()
        path = self._dir / f"{key}.pickle"
        try:
            with path.open("rb") as fh:
                found = pickle.load(fh)
        except FileNotFoundError:
            found = None
        except Exception:  # a torn or foreign entry: parse again
            found = None
        if isinstance(found, Pylock):
            return found
        lock = parse(data)
        self._keep(path, lock)
        return lock

    def _keep(self, path: Path, lock: Pylock) -> None:
        """Write the entry atomically; a cache that cannot be written costs only speed."""
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self._dir)
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(lock, fh, protocol=pickle.HIGHEST_PROTOCOL)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._trim()
        except (OSError, pickle.PicklingError):
            pass

    def _trim(self) -> None:
        entries = []
        for entry in self._dir.glob("*.pickle"):
            with contextlib.suppress(OSError):
                entries.append((entry.stat().st_mtime, entry))
        entries.sort(reverse=True)
        for _mtime, old in entries[_KEEP:]:
            old.unlink(missing_ok=True)
