"""Several indexes' pages of one project as one listing (the ``unsafe-*`` strategies).

A version two indexes list comes from the first of them, as in uv: its files are
never mixed with another index's files of the same version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from packaging.version import Version

from cloche.core.listing import FileListing
from cloche.core.models import DistFile, NormalizedName


def merged_listing(
    name: NormalizedName, pages: Sequence[Sequence[DistFile]], *, in_index_order: bool
) -> FileListing:
    """One listing of ``pages`` (in index priority order), each version from the first
    page that lists it.

    ``in_index_order`` (``unsafe-first-match``): the versions are to be tried page by
    page, newest first within each, so a later index is used only once every version
    of the earlier ones was ruled out. Otherwise the resolver sorts them (best match).
    """
    groups: dict[Version, list[Any]] = {}
    for page in pages:
        listing = page if isinstance(page, FileListing) else FileListing.of(name, page)
        fresh = [v for v in listing.versions() if v not in groups]
        for version in sorted(fresh, reverse=True):
            groups[version] = [listing]
    return FileListing(name, groups, _from_page, in_preference_order=in_index_order)


def _from_page(version: Version, raw: Sequence[Any]) -> Sequence[DistFile]:
    page: FileListing = raw[0]
    return page.group(version)
