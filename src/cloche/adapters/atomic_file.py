"""Writing a text file atomically: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cloche.core.os_errors import os_error_hint
from cloche.errors import ClocheError


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never half of one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            staged = Path(tmp)
            staged.chmod(path.stat().st_mode & 0o7777 if path.exists() else 0o644)
            staged.replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        hint = os_error_hint(exc, path)
        raise ClocheError(f"cannot write {path}: {exc.strerror or exc}", hint=hint) from None
