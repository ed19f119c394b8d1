"""Core metadata of index files for the client: each read once, from disk when cached.

The network side (``metadata.MetadataFetcher``) is imported on the first cache miss:
archives, tarfile and packaging.metadata are not needed while every answer comes
from the metadata cache.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING

from cloche.adapters.index.cache import MetadataCache, metadata_key
from cloche.adapters.index.download import Downloader
from cloche.adapters.index.http import HttpTransport
from cloche.adapters.index.inflight import InFlight, WorkerPool
from cloche.core.models import DistFile, Metadata
from cloche.core.report import Reporter

if TYPE_CHECKING:
    from cloche.adapters.index.metadata import MetadataFetcher


class MetadataReader:
    """Metadata by file: awaited when in flight, else from ``cache``, else fetched and kept."""

    def __init__(
        self,
        transport: HttpTransport,
        downloader: Downloader,
        reporter: Reporter,
        cache: MetadataCache,
    ) -> None:
        self.cache = cache
        self._transport = transport
        self._downloader = downloader
        self._reporter = reporter
        self._fetcher: MetadataFetcher | None = None  # made on the first cache miss
        self._fetcher_lock = threading.Lock()
        self._reads: InFlight[str, Metadata] = InFlight()

    def get(self, file: DistFile) -> Metadata:
        """Core metadata of one file; raises NeedsBuild for an sdist with dynamic metadata."""
        return self._reads.get(_memo_key(file), lambda: self._read(file))

    def start(self, file: DistFile, pool: WorkerPool) -> Future[Metadata]:
        """Read ``file``'s metadata in ``pool`` unless it is known or in flight already."""
        future, _mine = self._reads.start(_memo_key(file), partial(self._read, file), pool)
        return future

    def abandon(self, error: BaseException) -> None:
        """Fail every read that was queued but never started (the pool was shut down)."""
        self._reads.abandon(error)

    def _fetcher_made(self) -> MetadataFetcher:
        from cloche.adapters.index.metadata import MetadataFetcher

        with self._fetcher_lock:
            if self._fetcher is None:
                self._fetcher = MetadataFetcher(self._transport, self._downloader, self._reporter)
            return self._fetcher

    def _read(self, file: DistFile) -> Metadata:
        # Local files without a hash may be rebuilt in place: never cache them on disk.
        persistent = bool(file.sha256) or not file.url.startswith("file:")
        key = metadata_key(file)
        if persistent:
            cached = self.cache.load(key)
            if cached is not None and cached.name == file.name and cached.version == file.version:
                return cached
        metadata = self._fetcher_made().fetch(file)
        if persistent:
            self.cache.store(key, metadata)
        return metadata


def _memo_key(file: DistFile) -> str:
    return f"{metadata_key(file)}|{file.filename}"
