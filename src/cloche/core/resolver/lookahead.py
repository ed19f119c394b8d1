"""Guessing ahead of the resolver: fetch what it will most likely ask for next.

As each page arrives, the metadata of the release the resolver will try first is
fetched; as each metadata arrives, the pages of its dependencies are. The whole
likely graph is fetched at network speed instead of one resolver step at a time.
Runs on the finder's background threads; every guess is only a hint.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from packaging.specifiers import SpecifierSet

from cloche.core.finder import PackageFinder
from cloche.core.models import DistFile, Metadata, NormalizedName, Target
from cloche.core.resolver.model import PYTHON, Need, marker_applies
from cloche.core.resolver.options import ResolveOptions
from cloche.core.resolver.releases import ReleaseTable, tag_ranks


class Lookahead:
    """The resolver's PickFiles for one target; thread-safe."""

    def __init__(
        self,
        finder: PackageFinder,
        target: Target,
        options: ResolveOptions,
        direct: Iterable[NormalizedName] = (),
    ) -> None:
        self._finder = finder
        self._target = target
        self._env = target.markers
        self._priority = tag_ranks(target.tag_priority())
        self._options = options
        self._preferred = options.preferred()
        self._direct = frozenset(direct)
        self._lock = threading.Lock()
        self._specs: dict[NormalizedName, list[SpecifierSet]] = {}
        self._extras: dict[NormalizedName, set[str]] = {}
        self._tables: dict[NormalizedName, tuple[Sequence[DistFile], ReleaseTable]] = {}
        self._picked: set[NormalizedName] = set()

    def expect(self, needs: Iterable[Need]) -> list[NormalizedName]:
        """Note these needs; the names never seen before, to fetch."""
        new: list[NormalizedName] = []
        with self._lock:
            for need in needs:
                if need.name == PYTHON or need.url or need.name in self._direct:
                    continue
                if need.name not in self._specs:
                    self._specs[need.name] = []
                    new.append(need.name)
                if need.name in new:
                    self._specs[need.name].append(need.specifier)
                self._extras.setdefault(need.name, set()).update(need.extras)
        return new

    def table(self, name: NormalizedName, files: Sequence[DistFile]) -> ReleaseTable:
        """The release table of ``name`` for the target, built once per listing."""
        with self._lock:
            known = self._tables.get(name)
        if known is not None and known[0] is files:
            return known[1]
        options = self._options
        table = ReleaseTable(
            name,
            files,
            self._target,
            self._priority,
            options.file_policy(name),
            options.allowed_sha256(name),
        )
        with self._lock:
            self._tables[name] = (files, table)
        return table

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> list[DistFile]:
        """The file of the newest release the first needs allow (finals first)."""
        with self._lock:
            if name in self._picked:
                return []
            self._picked.add(name)
            specs = list(self._specs.get(name, ()))
        table = self.table(name, files)
        versions = [
            v for v in table.versions if all(s.contains(v, prereleases=True) for s in specs)
        ]
        preferred = self._preferred.get(name)
        if preferred is not None:
            versions.sort(key=lambda v: v != preferred)
        finals = [v for v in versions if not v.is_prerelease] or versions
        for version in finals:  # judged one by one: each costs all the files of a version
            release = table.release(version)
            if release.chosen is not None and not release.yanked:
                return [release.chosen]
        return []

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        with self._lock:
            extras = ("", *sorted(self._extras.get(file.name, ())))
        needs = [
            Need.from_requirement(req)
            for req in metadata.requires_dist
            if marker_applies(req.marker, self._env, extras)
        ]
        new = self.expect(needs)
        if new:
            self._finder.prefetch(new, self)
