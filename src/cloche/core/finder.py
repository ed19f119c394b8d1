"""The seam between the resolver (pure) and the package sources (I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from packaging.requirements import Requirement

from cloche.core.models import DistFile, Metadata, NormalizedName


class PickFiles(Protocol):
    """Which of a package's files are likely to be needed; thread-safe, no I/O of its own."""

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> Iterable[DistFile]:
        """The files of ``name`` whose metadata should be fetched now."""
        ...

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        """Told the metadata of a picked file as soon as it is known, to look further ahead."""
        ...


class PackageFinder(Protocol):
    """What the resolver asks of the indexes, find-links and source builds.

    Implemented in ``adapters.index`` (and composed with source builds in ``ops``);
    tests implement it in memory.
    """

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        """Every file of every release of ``name`` the index policy allows.

        An empty sequence means the package is unknown to every source.
        """
        ...

    def metadata(self, file: DistFile) -> Metadata:
        """Core metadata of one file (PEP 658, zip range read, download, or sdist/build)."""
        ...

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        """Metadata for a ``name @ url`` / local path / VCS requirement.

        Returns the file to install when the URL is an archive, None for a
        directory or VCS checkout that the installer builds itself.
        """
        ...

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        """Hint: these names will be asked for soon; start fetching in the background.

        ``then``, when given, is called (in the background) with each name and its
        files as soon as they arrive; the metadata of the files it returns is fetched
        right away and handed to ``then.on_metadata``, so the resolver's next
        questions are already answered.
        """
        ...

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        """Hint: metadata of these files will be asked for soon."""
        ...
