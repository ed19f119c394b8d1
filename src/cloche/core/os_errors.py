"""What to do about the OS errors users meet on an env or a project: no permission, a
read-only file system, a directory where a file should be (or the other way round),
a full disk. Pure: the callers, which know the path, raise the error."""

from __future__ import annotations

import errno


def os_error_hint(exc: OSError, path: object = None) -> str | None:
    """One line saying what to do about ``exc`` at ``path`` (default: the error's own
    file name), or None when it is none of the common cases."""
    where = exc.filename if path is None and exc.filename else path
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"this user may not change {where}: run as its owner, fix its permissions "
            "(chmod/chown, or chattr -i), or use another location"
        )
    if exc.errno == errno.EROFS:
        return f"{where} is on a read-only file system: use a location on a writable one"
    if exc.errno == errno.EISDIR:
        return f"a directory is where a file should be: move {where} away and run again"
    if exc.errno == errno.ENOTDIR:
        return f"a file is where a directory should be on the way to {where}: move it away"
    if exc.errno == errno.ENOSPC:
        return "the disk is full: free some space ('cloche cache clean' frees the cache)"
    return None


def os_error_text(exc: OSError) -> str:
    """``strerror: filename``, without Python's ``[Errno n]`` and quotes."""
    text = exc.strerror or str(exc)
    return f"{text}: {exc.filename}" if exc.filename else text
