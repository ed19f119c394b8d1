"""Errors the index client raises beyond the shared tree in ``cloche.errors``."""

from __future__ import annotations

from pathlib import Path

from cloche.core.models import DistFile
from cloche.errors import UsageError


class NeedsBuild(UsageError):
    """The metadata of this source can only be known by building it (sdist, directory, VCS).

    Raised for the caller (``ops``) to catch and hand to the source builder; it
    reaches a user only when nothing can build.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        file: DistFile | None = None,
        archive: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        """The source's URL, without credentials."""
        self.file = file
        """The index file, when the source is one (an sdist with dynamic metadata)."""
        self.archive = archive
        """The sdist, already downloaded into the cache, when there is one."""
