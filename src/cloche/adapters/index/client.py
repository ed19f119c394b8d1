"""IndexClient: the resolver's PackageFinder over indexes and find-links.

Index policy: with ``first-index`` a name comes from the first index that has
a page for it (later indexes are never asked, so a public package cannot shadow
a private one); ``unsafe-best-match`` merges every index. Find-links files are
always added. Fetches run in a bounded pool; asking for something already in
flight waits for that fetch instead of starting another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import Requirement

from cloche.adapters.index.auth import CredentialStore, redact
from cloche.adapters.index.cache import MetadataCache, PageCache, metadata_key
from cloche.adapters.index.download import Downloader, Sink, copy_into, filename_of
from cloche.adapters.index.errors import NeedsBuild
from cloche.adapters.index.findlinks import group_by_name, list_location
from cloche.adapters.index.http import HttpTransport
from cloche.adapters.index.pages import PageFetcher
from cloche.config import IndexStrategy, Settings, check_index_url
from cloche.core.finder import PickFiles
from cloche.core.listing import FileListing
from cloche.core.models import DistFile, Metadata, NormalizedName, normalize, parse_dist_filename
from cloche.core.report import NullReporter, Reporter
from cloche.errors import ClocheError, RequirementError, UsageError

if TYPE_CHECKING:
    from cloche.adapters.index.metadata import MetadataFetcher

__all__ = ["IndexClient", "NeedsBuild"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _InFlight(Generic[K, V]):
    """One computation per key: started once, awaited by every later asker."""

    def __init__(self) -> None:
        self._futures: dict[K, Future[V]] = {}
        self._lock = threading.Lock()

    def _claim(self, key: K) -> tuple[Future[V], bool]:
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                return future, False
            future = Future()
            self._futures[key] = future
            return future, True

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value for ``key``, computed here unless someone already started it."""
        future, mine = self._claim(key)
        if mine:
            _run(future, compute)
        return future.result()

    def abandon(self, error: BaseException) -> None:
        """Fail every fetch that was queued but never started (the pool was shut down)."""
        with self._lock:
            pending = [f for f in self._futures.values() if not f.running() and not f.done()]
        for future in pending:
            if future.set_running_or_notify_cancel():
                future.set_exception(error)

    def start(
        self, key: K, compute: Callable[[], V], submit: Callable[[Callable[[], None]], bool]
    ) -> tuple[Future[V], bool]:
        """Compute ``key`` through ``submit`` unless it is already known or in flight.

        The future, and whether this call started it. When ``submit`` refuses (the
        pool is closed), the future fails at once instead of waiting forever.
        """
        future, mine = self._claim(key)
        refused = mine and not submit(partial(_run, future, compute))
        if refused and future.set_running_or_notify_cancel():
            future.set_exception(UsageError("the index client is closed"))
        return future, mine


def _run(future: Future[V], compute: Callable[[], V]) -> None:
    future.set_running_or_notify_cancel()
    try:
        future.set_result(compute())
    except BaseException as exc:  # delivered to whoever awaits the future
        future.set_exception(exc)


class IndexClient:
    """Package files and metadata from indexes and find-links; thread-safe; a context manager."""

    def __init__(self, settings: Settings, reporter: Reporter | None = None) -> None:
        for url in settings.index_urls:
            check_index_url(url)
        self._settings = settings
        self._reporter: Reporter = reporter or NullReporter()
        self._credentials = CredentialStore((*settings.index_urls, *settings.find_links))
        if self._credentials.netrc_problem:
            self._reporter.warning(self._credentials.netrc_problem)
        self._indexes = tuple(redact(url) for url in settings.index_urls)
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
        self._fetcher: MetadataFetcher | None = None  # made on the first cache miss
        self.metadata_cache = MetadataCache(settings.cache_dir / "metadata-v1")
        """Parsed metadata by key; callers keep what they learn elsewhere here too
        (what a build of an sdist said)."""
        self._files: _InFlight[NormalizedName, Sequence[DistFile]] = _InFlight()
        self._metadata: _InFlight[str, Metadata] = _InFlight()
        self._locations: _InFlight[str, dict[NormalizedName, list[DistFile]]] = _InFlight()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._closed = False

    # -- PackageFinder ---------------------------------------------------------------

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        """Every file of ``name`` the index policy allows, plus find-links files."""
        key = normalize(name)
        return self._files.get(key, lambda: self._list(key))

    def metadata(self, file: DistFile) -> Metadata:
        """Core metadata of one file; raises NeedsBuild for an sdist with dynamic metadata."""
        return self._metadata.get(self._memo_key(file), lambda: self._read_metadata(file))

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        """Start fetching these projects' pages in the background; returns at once.

        With ``then``, the metadata of the files it picks is fetched as soon as
        each page arrives (see ``PackageFinder.prefetch``).
        """
        for name in names:
            key = normalize(name)
            future, mine = self._files.start(key, partial(self._list_then, key, then), self._submit)
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
        self._submit(partial(self._pick, name, future.result(), then))

    def prefetch_metadata(self, files: Iterable[DistFile], then: PickFiles | None = None) -> None:
        """Start reading these files' metadata in the background; returns at once.

        With ``then``, ``then.on_metadata`` hears of each as it arrives.
        """
        for file in files:
            key = self._memo_key(file)
            future, _mine = self._metadata.start(
                key, partial(self._read_metadata, file), self._submit
            )
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
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            closed = UsageError("the index client was closed before this fetch ran")
            self._files.abandon(closed)
            self._metadata.abandon(closed)
        self._transport.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------

    def _submit(self, task: Callable[[], None]) -> bool:
        """Run ``task`` in the pool; False once the client is closed.

        Under the pool lock: ``close`` cannot shut the pool down between the check and
        the submit (a prefetch callback on a worker thread used to submit to a pool
        already shut down, and the RuntimeError was printed before the real error).
        """
        with self._pool_lock:
            if self._closed:
                return False
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._settings.concurrency, thread_name_prefix="cloche-index"
                )
            self._pool.submit(task)
            return True

    def _list(
        self, name: NormalizedName, on_page: Callable[[Sequence[DistFile]], None] | None = None
    ) -> Sequence[DistFile]:
        parts: list[Sequence[DistFile]] = []
        for index in self._indexes:
            page = self._pages.project_files(index, name, on_page)
            if page is None:
                continue
            parts.append(page)
            if self._settings.index_strategy is IndexStrategy.FIRST_INDEX:
                break
        for location in self._settings.find_links:
            grouped = self._locations.get(location, partial(self._list_location, location))
            if grouped.get(name):
                parts.append(grouped[name])
        if not parts:
            return ()
        if len(parts) == 1 and isinstance(parts[0], FileListing):
            return parts[0]
        return FileListing.of(name, [file for part in parts for file in part])

    def _list_location(self, location: str) -> dict[NormalizedName, list[DistFile]]:
        return group_by_name(list_location(location, self._pages))

    def _metadata_fetcher(self) -> MetadataFetcher:
        # Imported on first use: archives, tarfile and packaging.metadata are not needed
        # while every answer comes from the metadata cache.
        from cloche.adapters.index.metadata import MetadataFetcher

        with self._pool_lock:
            if self._fetcher is None:
                self._fetcher = MetadataFetcher(self._transport, self._downloader, self._reporter)
            return self._fetcher

    def _memo_key(self, file: DistFile) -> str:
        return f"{metadata_key(file)}|{file.filename}"

    def _read_metadata(self, file: DistFile) -> Metadata:
        # Local files without a hash may be rebuilt in place: never cache them on disk.
        persistent = bool(file.sha256) or not file.url.startswith("file:")
        key = metadata_key(file)
        if persistent:
            cached = self.metadata_cache.load(key)
            if cached is not None and cached.name == file.name and cached.version == file.version:
                return cached
        metadata = self._metadata_fetcher().fetch(file)
        if persistent:
            self.metadata_cache.store(key, metadata)
        return metadata


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
