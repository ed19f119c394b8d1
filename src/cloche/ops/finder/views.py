"""PackageFinder views an install puts over the finder: no dependencies, or the
pinned wheels started as their pages arrive."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from packaging.requirements import Requirement

from cloche.core.finder import PackageFinder, PickFiles
from cloche.core.models import DistFile, Metadata, NormalizedName


class NoDeps:
    """A PackageFinder view that hides every dependency (``--no-deps``, ``pip sync``)."""

    def __init__(self, inner: PackageFinder, ahead: PickFiles | None = None) -> None:
        """``ahead`` is told each page as it arrives (see ``PinnedWheelsAhead``)."""
        self._inner = inner
        self._ahead = ahead

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self._inner.files(name)

    def metadata(self, file: DistFile) -> Metadata:
        if file.is_wheel:
            # A wheel's name and version are in its filename and its Requires-Python
            # in the index listing, so nothing needs to be read.
            return Metadata(file.name, file.version, requires_python=file.requires_python)
        return replace(self._inner.metadata(file), requires_dist=())

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        meta, file = self._inner.direct_metadata(requirement)
        return replace(meta, requires_dist=()), file

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        # No dependencies are read, so no metadata to fetch; only ``ahead`` is told.
        self._inner.prefetch(names, self._ahead)

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        pass


class TellingAhead:
    """A PackageFinder view that also tells ``ahead`` each page as it arrives."""

    def __init__(self, inner: PackageFinder, ahead: PickFiles) -> None:
        self._inner = inner
        self._ahead = ahead

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self._inner.files(name)

    def metadata(self, file: DistFile) -> Metadata:
        return self._inner.metadata(file)

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        return self._inner.direct_metadata(requirement)

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        self._inner.prefetch(names, self._ahead if then is None else _Both(self._ahead, then))

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        self._inner.prefetch_metadata(files)


class _Both:
    """Two PickFiles as one: ``first`` is told, ``then`` picks."""

    def __init__(self, first: PickFiles, then: PickFiles) -> None:
        self._first = first
        self._then = then

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> Iterable[DistFile]:
        self._first(name, files)
        return self._then(name, files)

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        self._first.on_metadata(file, metadata)
        self._then.on_metadata(file, metadata)


def install_view(finder: PackageFinder, *, no_deps: bool, ahead: PickFiles | None) -> PackageFinder:
    """The finder an install resolves with: dependencies hidden or pins started ahead."""
    if no_deps:
        return NoDeps(finder, ahead)
    if ahead is not None:
        return TellingAhead(finder, ahead)
    return finder
