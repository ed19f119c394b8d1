"""Writing a text file atomically: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path

from cloche.core.os_errors import os_error_hint
from cloche.errors import ClocheError


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never half of one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _staged_file(path)
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


def _staged_file(path: Path) -> tuple[int, str]:
    """A new file beside ``path`` (mode 0600), as ``tempfile.mkstemp`` makes one.

    Made here: ``tempfile`` (with ``shutil`` and ``random``) was a tenth of the imports
    of an offline ``pip compile``, for this one call.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(100):
        tmp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary name beside {path}")
