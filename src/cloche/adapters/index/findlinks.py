"""Find-links sources: local directories, HTML pages (local or remote), single archives.

Each location is listed once per client; its files are grouped by project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from cloche.adapters.index.auth import redact
from cloche.adapters.index.download import local_path
from cloche.adapters.index.inflight import InFlight
from cloche.adapters.index.pages import FIND_LINKS_ACCEPT, PageFetcher
from cloche.core.models import DistFile, NormalizedName, parse_dist_filename
from cloche.errors import IndexResponseError, UsageError


def _local_file(path: Path, location: str) -> DistFile | None:
    parsed = parse_dist_filename(path.name)
    if parsed is None:
        return None
    name, version = parsed
    return DistFile(
        name=name, version=version, filename=path.name, url=path.as_uri(), index=location
    )


def _directory_files(directory: Path, location: str) -> list[DistFile]:
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise IndexResponseError(
            f"cannot list find-links directory {directory}: {exc.strerror or exc}"
        ) from None
    found = (_local_file(p, location) for p in entries if p.is_file())
    return [f for f in found if f is not None]


def list_location(location: str, pages: PageFetcher) -> list[DistFile]:
    """Every distribution file a find-links location offers."""
    shown = redact(location)
    lowered = location.lower()
    if lowered.startswith(("http://", "https://")):
        files = pages.page(location, index=shown, project=None, accept=FIND_LINKS_ACCEPT)
        if files is None:
            raise IndexResponseError(
                f"find-links page {shown} does not exist (HTTP 404); check the URL"
            )
        return list(files)
    if "://" in location and not lowered.startswith("file://"):
        raise UsageError(
            f"find-links location {shown!r} is not a directory, file:// or http(s) URL"
        )
    path = local_path(location) if lowered.startswith("file:") else Path(location).expanduser()
    if path.is_dir():
        return _directory_files(path, shown)
    if path.is_file():
        if path.suffix.lower() in (".html", ".htm"):
            return pages.local_page(path, index=shown, project=None) or []
        single = _local_file(path, shown)
        if single is not None:
            return [single]
        raise UsageError(
            f"find-links location {shown} is neither a directory, a page nor a wheel/sdist"
        )
    raise UsageError(f"find-links location {shown} does not exist; fix --find-links")


def group_by_name(files: Sequence[DistFile]) -> dict[NormalizedName, list[DistFile]]:
    grouped: dict[NormalizedName, list[DistFile]] = defaultdict(list)
    for file in files:
        grouped[file.name].append(file)
    return dict(grouped)


class FindLinks:
    """A client's find-links locations, each listed once (on first need), files by project."""

    def __init__(self, locations: Iterable[str], pages: PageFetcher) -> None:
        self._locations = tuple(locations)
        self._pages = pages
        self._listed: InFlight[str, dict[NormalizedName, list[DistFile]]] = InFlight()

    def files(self, name: NormalizedName) -> list[list[DistFile]]:
        """The files of ``name`` at each location that has some, in location order."""
        parts: list[list[DistFile]] = []
        for location in self._locations:
            grouped = self._listed.get(location, partial(self._list, location))
            if grouped.get(name):
                parts.append(grouped[name])
        return parts

    def _list(self, location: str) -> dict[NormalizedName, list[DistFile]]:
        return group_by_name(list_location(location, self._pages))
