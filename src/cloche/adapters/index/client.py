"""IndexClient: the resolver's PackageFinder over indexes and find-links.

Index policy (``Settings.index_search_order``: extra indexes, named ones, then the
default): with ``first-index`` a name comes from the first index that has a page
for it (later indexes are never asked, so a public package cannot shadow a
private one); ``unsafe-first-match`` and ``unsafe-best-match`` ask every index
(see ``merge.py``). A name pinned to an index (``Settings.package_indexes``) is
asked of that index alone, and find-links are not added to it. Otherwise
find-links files are always added. Fetches run in a bounded pool; asking for
something already in flight waits for that fetch instead of starting another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import Requirement

from cloche.adapters.index.auth import CredentialStore, redact
from cloche.adapters.index.cache import MetadataCache, PageCache
from cloche.adapters.index.download import Downloader, Sink, copy_into, filename_of
from cloche.adapters.index.errors import NeedsBuild
from cloche.adapters.index.findlinks import FindLinks
from cloche.adapters.index.http import HttpTransport
from cloche.adapters.index.inflight import InFlight, WorkerPool
from cloche.adapters.index.merge import merged_listing
from cloche.adapters.index.metadata_reader import MetadataReader
from cloche.adapters.index.pages import PageFetcher
from cloche.config import IndexStrategy, Settings, check_index_url
from cloche.core.closing import Closing
from cloche.core.finder import PickFiles
from cloche.core.listing import FileListing
from cloche.core.models import DistFile, Metadata, NormalizedName, normalize, parse_dist_filename
from cloche.core.report import NullReporter, Reporter
from cloche.errors import ClocheError, NoVersionError, RequirementError, UsageError

__all__ = ["IndexClient", "NeedsBuild"]


class IndexClient(Closing):
    """Package files and metadata from indexes and find-links; thread-safe; a context manager."""

    def __init__(self, settings: Settings, reporter: Reporter | None = None) -> None:
        for url in settings.index_urls:
            check_index_url(url)
        self._settings = settings
        self._pinned = (
            {name: redact(url) for name, url in settings.package_indexes.items()}
            if not settings.no_index
            else {}
        )
        self._reporter: Reporter = reporter or NullReporter()
        self._credentials = CredentialStore((*settings.index_urls, *settings.find_links))
        if self._credentials.netrc_problem:
            self._reporter.warning(self._credentials.netrc_problem)
        self._indexes = tuple(redact(url) for url in settings.index_search_order)
        self._transport = HttpTransport(
            timeout=settings.timeout,
            retries=settings.retries,
            concurrency=settings.concurrency,
            credentials=self._credentials,
            offline=settings.offline,
        )
        self._pages = PageFetcher(
            self._transport,
            PageCache(settings.cache_dir / "http-v1"),
            refresh=settings.refresh,
            offline=settings.offline,
        )
        self._downloader = Downloader(
            self._transport, settings.cache_dir / "index-archives-v1", self._reporter
        )
        self.metadata_cache = MetadataCache(settings.cache_dir / "metadata-v1")
        """Parsed metadata by key; callers keep what they learn elsewhere here too
        (what a build of an sdist said)."""
        self._metadata = MetadataReader(
            self._transport, self._downloader, self._reporter, self.metadata_cache
        )
        self._find_links = FindLinks(settings.find_links, self._pages)
        self._files: InFlight[NormalizedName, Sequence[DistFile]] = InFlight()
        self._pool = WorkerPool(settings.concurrency)

    # -- PackageFinder ---------------------------------------------------------------

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        """Every file of ``name`` the index policy allows, plus find-links files."""
        key = normalize(name)
        return self._files.get(key, lambda: self._list(key))

    def metadata(self, file: DistFile) -> Metadata:
        """Core metadata of one file; raises NeedsBuild for an sdist with dynamic metadata."""
        return self._metadata.get(file)

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        """Start fetching these projects' pages in the background; returns at once.

        With ``then``, the metadata of the files it picks is fetched as soon as
        each page arrives (see ``PackageFinder.prefetch``). Offline, nothing is
        started: every answer is on disk, and background threads reading it would
        only fight the resolver for the GIL (and read what it never asks for).
        """
        if self._settings.offline:
            return
        for name in names:
            key = normalize(name)
            future, mine = self._files.start(key, partial(self._list_then, key, then), self._pool)
            if not mine and then is not None:
                # Fetched or in flight for someone else: pick once it is there.
                future.add_done_callback(partial(self._pick_later, key, then))

    def _list_then(self, name: NormalizedName, then: PickFiles | None) -> Sequence[DistFile]:
        if then is None:
            return self._list(name)
        picked = False

        def on_page(files: Sequence[DistFile]) -> None:
            # Before the page is written to the cache: the metadata request goes out
            # while this thread serializes the page.
            nonlocal picked
            picked = True
            self._pick(name, files, then)

        files = self._list(name, on_page)
        if not picked:
            self._pick(name, files, then)
        return files

    def _pick(self, name: NormalizedName, files: Sequence[DistFile], then: PickFiles) -> None:
        self.prefetch_metadata((f for f in then(name, files) if f.is_wheel), then)

    def _pick_later(
        self, name: NormalizedName, then: PickFiles, future: Future[Sequence[DistFile]]
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        # Refused once the client is closed: only a hint is lost.
        self._pool.submit(partial(self._pick, name, future.result(), then))

    def prefetch_metadata(self, files: Iterable[DistFile], then: PickFiles | None = None) -> None:
        """Start reading these files' metadata in the background; returns at once.

        With ``then``, ``then.on_metadata`` hears of each as it arrives. Nothing
        offline (see ``prefetch``).
        """
        if self._settings.offline:
            return
        for file in files:
            future = self._metadata.start(file, self._pool)
            if then is not None:
                future.add_done_callback(partial(_tell, then, file))

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        """Metadata of a ``name @ <wheel URL>``; NeedsBuild for sdists, directories and VCS."""
        if not requirement.url:
            raise RequirementError(f"{requirement} has no URL; use 'name @ url'")
        url = self._credentials.remember(requirement.url)
        parts = urlsplit(url)
        bare = urlunsplit(parts._replace(fragment=""))
        filename = filename_of(bare)
        if parts.scheme.lower() not in ("http", "https", "file") or not filename.endswith(".whl"):
            raise NeedsBuild(
                f"{url} is not a wheel; it must be built to know its metadata", url=url
            )
        parsed = parse_dist_filename(filename)
        if parsed is None:
            raise RequirementError(f"{filename} in {url} is not a valid wheel filename")
        file = DistFile(
            name=parsed[0],
            version=parsed[1],
            filename=filename,
            url=bare,
            index=bare,
            hashes=_fragment_hashes(parts.fragment),
        )
        if normalize(requirement.name) != file.name:
            raise RequirementError(
                f"{requirement.name} @ {url} points at a wheel of {file.name}; "
                "fix the name or the URL"
            )
        return self.metadata(file), file

    # -- downloads -------------------------------------------------------------------

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """Save ``file`` as ``dest_dir/<filename>``, checking its index hashes; the final path."""
        cached = self._downloader.cached_copy(file)
        if cached is not None:
            return copy_into(cached, dest_dir, file.filename)
        return self._downloader.fetch(
            file.url, dest_dir, filename=file.filename, hashes=file.hashes
        )

    def download_into(self, file: DistFile, sink: Sink) -> None:
        """Stream ``file`` into ``sink``; returns once its index hashes are checked."""
        cached = self._downloader.cached_copy(file)
        url = cached.as_uri() if cached is not None else file.url
        self._downloader.fetch_into(url, sink, filename=file.filename, hashes=file.hashes)

    def download_url(self, url: str, dest_dir: Path, sha256: str | None = None) -> Path:
        """Save ``url`` into ``dest_dir``, checking ``sha256`` or a #sha256= fragment."""
        clean = self._credentials.remember(url)
        parts = urlsplit(clean)
        if parts.scheme.lower() not in ("http", "https", "file"):
            raise UsageError(f"cannot download {clean}: not an http(s):// or file:// URL")
        bare = urlunsplit(parts._replace(fragment=""))
        filename = filename_of(bare)
        if not filename:
            raise UsageError(f"cannot download {clean}: the URL names no file")
        hashes = (("sha256", sha256),) if sha256 else _fragment_hashes(parts.fragment)
        return self._downloader.fetch(bare, dest_dir, filename=filename, hashes=hashes)

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Stop background fetches and close connections."""
        self._transport.close()  # first: a fetch stuck on a hung index ends now
        if self._pool.shutdown():
            closed = UsageError("the index client was closed before this fetch ran")
            self._files.abandon(closed)
            self._metadata.abandon(closed)

    # -- internals -------------------------------------------------------------------

    def _list(
        self, name: NormalizedName, on_page: Callable[[Sequence[DistFile]], None] | None = None
    ) -> Sequence[DistFile]:
        pinned = self._pinned.get(name)
        if pinned is not None:
            return self._pinned_files(name, pinned, on_page)
        strategy = self._settings.index_strategy
        parts: list[Sequence[DistFile]] = []
        for index in self._indexes:
            page = self._pages.project_files(index, name, on_page)
            if page is None:
                continue
            parts.append(page)
            if strategy is IndexStrategy.FIRST_INDEX:
                break
        if strategy is not IndexStrategy.FIRST_INDEX and len(parts) > 1:
            first_match = strategy is IndexStrategy.UNSAFE_FIRST_MATCH
            parts = [merged_listing(name, parts, in_index_order=first_match)]
        parts.extend(self._find_links.files(name))
        if not parts:
            return ()
        if len(parts) == 1 and isinstance(parts[0], FileListing):
            return parts[0]
        # With unsafe-first-match, find-links versions are tried after the indexes'.
        ordered = isinstance(parts[0], FileListing) and parts[0].in_preference_order
        files = [file for part in parts for file in part]
        return FileListing.of(name, files, in_preference_order=ordered)

    def _pinned_files(
        self,
        name: NormalizedName,
        index: str,
        on_page: Callable[[Sequence[DistFile]], None] | None,
    ) -> Sequence[DistFile]:
        page = self._pages.project_files(index, name, on_page)
        if page is None:
            raise NoVersionError(
                f"{name} is pinned to the index {index}, which has no project {name}; "
                "no other index is asked for a pinned package",
                hint="fix the index URL or the package's index pin",
            )
        return page


def _tell(then: PickFiles, file: DistFile, future: Future[Metadata]) -> None:
    if future.cancelled() or future.exception() is not None:
        return  # whoever needs this metadata will see the error
    with suppress(ClocheError):  # e.g. the client was closed meanwhile: only a hint is lost
        then.on_metadata(file, future.result())


def _fragment_hashes(fragment: str) -> tuple[tuple[str, str], ...]:
    algo, sep, digest = fragment.partition("=")
    if sep and algo.lower() == "sha256" and digest:
        return (("sha256", digest.lower()),)
    return ()
