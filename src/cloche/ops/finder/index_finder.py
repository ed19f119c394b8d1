"""The resolver's PackageFinder for one command: the index client, plus source builds
for the metadata that cannot be read without one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.version import Version

from cloche.core.finder import PickFiles
from cloche.core.models import DistFile, Metadata, NormalizedName

if TYPE_CHECKING:
    from cloche.adapters.index.client import IndexClient
    from cloche.ops.prepare.trees import SourceTrees


class IndexFinder:
    """Asks the index client first; builds from source only when metadata needs a build.

    ``trees`` is called only then: a compile of wheels alone never makes them.
    """

    def __init__(self, client: IndexClient, trees: Callable[[], SourceTrees]) -> None:
        self.client = client
        self._trees = trees
        self._lock = threading.Lock()
        # The wheels of one release share their metadata (as uv and poetry assume): a
        # lock for three platforms reads each release's metadata once, not three times.
        self._release_meta: dict[tuple[NormalizedName, Version], Metadata] = {}
        self._release_asked: set[tuple[NormalizedName, Version]] = set()

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self.client.files(name)

    def metadata(self, file: DistFile) -> Metadata:
        from cloche.adapters.index.client import NeedsBuild

        release = (file.name, file.version)
        if file.is_wheel:
            with self._lock:
                known = self._release_meta.get(release)
            if known is not None:
                return known
        try:
            found = self.client.metadata(file)
        except NeedsBuild:
            return self._trees().sdist_metadata(file, self.client.metadata_cache)
        if file.is_wheel:
            with self._lock:
                self._release_meta.setdefault(release, found)
        return found

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        from cloche.adapters.index.client import NeedsBuild

        try:
            return self.client.direct_metadata(requirement)
        except NeedsBuild:
            pass
        return self._trees().url_metadata(requirement.url or "", self.client.metadata_cache), None

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        self.client.prefetch(names, None if then is None else _Unseen(self, then))

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        self.client.prefetch_metadata(self.unseen_releases(files))

    def unseen_releases(self, files: Iterable[DistFile]) -> list[DistFile]:
        """Wheels of releases whose metadata nobody has asked for yet (marks them asked)."""
        out = []
        with self._lock:
            for file in files:
                release = (file.name, file.version)
                if file.is_wheel and release in self._release_asked:
                    continue
                self._release_asked.add(release)
                out.append(file)
        return out


class _Unseen:
    """A PickFiles that passes on only releases whose metadata nobody asked for yet."""

    def __init__(self, finder: IndexFinder, pick: PickFiles) -> None:
        self._finder = finder
        self._pick = pick

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> list[DistFile]:
        return self._finder.unseen_releases(self._pick(name, files))

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        self._pick.on_metadata(file, metadata)
