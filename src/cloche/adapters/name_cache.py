"""Project names of sources that do not change, kept so a second run need not read them.

A git URL written without ``name @`` is named from its checkout's metadata (maybe a
build); at one commit that name never changes. Each entry is a small text file named
by the sha256 of its source key (the caller's normalised URL plus the commit), holding
the key and the name. A cache that cannot be read or written costs only speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

BUCKET = "names-v1"


class NameCache:
    """Project names by source key, under ``cache_dir/names-v1``."""

    def __init__(self, cache_dir: Path) -> None:
        self._dir = cache_dir / BUCKET

    def _path(self, source: str) -> Path:
        digest = hashlib.sha256(source.encode()).hexdigest()
        return self._dir / digest[:2] / f"{digest}.json"

    def load(self, source: str) -> str | None:
        """The name kept for ``source``, or None."""
        try:
            doc = json.loads(self._path(source).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("source") != source:
            return None
        name = doc.get("name")
        return name if isinstance(name, str) and name else None

    def store(self, source: str, name: str) -> None:
        """Keep ``name`` for ``source``: written atomically, a failure ignored."""
        path = self._path(source)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"source": source, "name": name}, fh)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
