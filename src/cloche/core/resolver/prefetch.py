"""Fetching ahead of the resolver's next questions: the pages of names it has just met,
and the metadata of the release each need will most likely pin."""

from __future__ import annotations

from collections.abc import Container, Sequence

from cloche.core.finder import PackageFinder
from cloche.core.models import NormalizedName
from cloche.core.resolver.catalog import Catalog
from cloche.core.resolver.lookahead import Lookahead
from cloche.core.resolver.model import PYTHON, Need
from cloche.core.resolver.releases import Release


class Prefetcher:
    """Starts fetches on the finder's background threads; every fetch is only a hint."""

    def __init__(
        self,
        finder: PackageFinder,
        lookahead: Lookahead,
        catalog: Catalog,
        fetched_metadata: Container[str],
    ) -> None:
        self._finder = finder
        self._lookahead = lookahead
        self._catalog = catalog
        self._fetched_metadata = fetched_metadata
        """File URLs whose metadata the provider has already."""
        self._names: set[NormalizedName] = set()
        self._files: set[str] = set()

    def needs(self, needs: Sequence[Need]) -> None:
        """Pages of the names not met before; the likely file of those already listed."""
        new_names: list[NormalizedName] = []
        likely: list[Release] = []
        for need in needs:
            direct = self._catalog.direct_need(need.name) is not None
            if need.name == PYTHON or need.url or direct:
                continue
            if self._catalog.is_listed(need.name):
                first = next(self._catalog.allowed(need.name, [need]), None)
                if first is not None:
                    likely.append(first)
            elif need.name not in self._names:
                self._names.add(need.name)
                new_names.append(need.name)
        self._lookahead.expect(needs)
        if new_names:
            self._finder.prefetch(new_names, self._lookahead)
        self.files(likely)

    def files(self, releases: Sequence[Release]) -> None:
        """The metadata of each release's chosen file, unless fetched or asked for already."""
        files = [
            r.chosen
            for r in releases
            if r.chosen is not None
            and r.chosen.url not in self._files
            and r.chosen.url not in self._fetched_metadata
        ]
        if files:
            self._files.update(f.url for f in files)
            self._finder.prefetch_metadata(files)
