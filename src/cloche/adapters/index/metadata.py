"""Core metadata of one file, the cheapest way the server allows.

Remote wheels, in order: the PEP 658 ``.metadata`` file when advertised; else an
HTTP range read of the zip's central directory and METADATA entry; else the whole
wheel. Unadvertised ``.metadata`` files are not guessed at: measured on the index
these machines reach, a miss (404) costs 100-140 ms on the resolver's critical
path while the range read of a small wheel is one request of a few ms. A host
that answers a range request with 200 is not asked for ranges again. Sdists are
downloaded and their PKG-INFO used when it is static (PEP 643); otherwise
``NeedsBuild``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import IO, cast

from cloche.adapters.index.archive import sdist_metadata, wheel_metadata
from cloche.adapters.index.download import Downloader, local_path
from cloche.adapters.index.errors import NeedsBuild
from cloche.adapters.index.http import HttpTransport, host_of
from cloche.adapters.index.ranges import TAIL_SIZE, RangeFile, RangeUnavailable
from cloche.core.metadata import is_static_sdist_metadata, parse_core_metadata
from cloche.core.models import DistFile, Metadata
from cloche.core.report import Reporter
from cloche.errors import CorruptArchive, HashMismatchError, IndexResponseError, InvalidMetadata

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)", re.IGNORECASE)


def check_matches(metadata: Metadata, file: DistFile) -> None:
    """Refuse metadata that names another project or version than the file."""
    if metadata.name != file.name or metadata.version != file.version:
        raise InvalidMetadata(
            f"{file.filename} declares {metadata.name} {metadata.version} in its metadata; "
            "the file is mislabelled, report it to the index"
        )


class MetadataFetcher:
    """Reads core metadata of index and find-links files."""

    def __init__(
        self, transport: HttpTransport, downloader: Downloader, reporter: Reporter
    ) -> None:
        self._transport = transport
        self._downloader = downloader
        self._reporter = reporter
        self._lock = threading.Lock()
        self._no_ranges: set[str] = set()

    def fetch(self, file: DistFile) -> Metadata:
        """Metadata of ``file``, checked to match its name and version."""
        if file.url.startswith("file:"):
            metadata = self._local(file)
        elif file.is_wheel:
            metadata = self._remote_wheel(file)
        else:
            metadata = self._remote_sdist(file)
        check_matches(metadata, file)
        return metadata

    # -- local files -----------------------------------------------------------------

    def _local(self, file: DistFile) -> Metadata:
        path = local_path(file.url)
        if not path.is_file():
            raise IndexResponseError(
                f"{path} does not exist; check the find-links or index location"
            )
        if file.is_wheel:
            return parse_core_metadata(wheel_metadata(path, file.filename), source=file.filename)
        data = sdist_metadata(path, file.filename)
        return self._static_sdist(data, file, archive=path)

    # -- remote wheels -----------------------------------------------------------------

    def _remote_wheel(self, file: DistFile) -> Metadata:
        host = host_of(file.url)
        if file.metadata_hashes is not None:
            found = self._pep658(file)
            if found is not None:
                return found
        if host not in self._no_ranges:
            try:
                found = self._range_read(file, host)
            except RangeUnavailable:
                with self._lock:
                    self._no_ranges.add(host)
                found = None
            if found is not None:
                return found
        self._reporter.debug(f"metadata of {file.filename}: downloading the wheel")
        path = self._downloader.cached_archive(file)
        return parse_core_metadata(wheel_metadata(path, file.filename), source=file.filename)

    def _pep658(self, file: DistFile) -> Metadata | None:
        url = file.url + ".metadata"
        response = self._transport.get(url)
        if response.status != 200:
            self._reporter.debug(f"{url} advertised but answered HTTP {response.status}")
            return None
        for algo, want in file.metadata_hashes or ():
            if algo in hashlib.algorithms_guaranteed:
                got = hashlib.new(algo, response.content).hexdigest()
                if got != want.lower():
                    raise HashMismatchError(
                        f"hash mismatch for {file.filename}.metadata from {url}: expected "
                        f"{algo} {want}, got {got}; the index is inconsistent, retry later"
                    )
        self._reporter.debug(f"metadata of {file.filename}: PEP 658")
        return parse_core_metadata(response.content, source=file.filename + ".metadata")

    def _range_read(self, file: DistFile, host: str) -> Metadata | None:
        response = self._transport.get(
            file.url, {"Range": f"bytes=-{TAIL_SIZE}"}, partial_only=True
        )
        if response.status in (404, 410):
            raise IndexResponseError(
                f"{file.url} is gone (HTTP {response.status}); the index listing may be stale, "
                "retry with --refresh"
            )
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if response.status != 206 or match is None:
            with self._lock:
                self._no_ranges.add(host)
            return None
        start, end, size = (int(g) for g in match.groups())
        if end != size - 1 or len(response.content) != end - start + 1:
            raise RangeUnavailable("the tail range did not reach the end of the file")

        def fetch(first: int, last: int) -> bytes:
            part = self._transport.get(
                file.url, {"Range": f"bytes={first}-{last}"}, partial_only=True
            )
            if part.status != 206:
                raise RangeUnavailable(f"range request answered HTTP {part.status}")
            return part.content

        remote = RangeFile(size, response.content, fetch)
        data = wheel_metadata(cast(IO[bytes], remote), file.filename)
        self._reporter.debug(
            f"metadata of {file.filename}: range read, {remote.requests + 1} request(s)"
        )
        return parse_core_metadata(data, source=file.filename)

    # -- sdists ------------------------------------------------------------------------

    def _remote_sdist(self, file: DistFile) -> Metadata:
        path = self._downloader.cached_archive(file)
        try:
            data = sdist_metadata(path, file.filename)
        except CorruptArchive:
            path.unlink(missing_ok=True)
            raise
        return self._static_sdist(data, file, archive=path)

    def _static_sdist(self, data: bytes, file: DistFile, *, archive: Path) -> Metadata:
        if not is_static_sdist_metadata(data):
            raise NeedsBuild(
                f"{file.filename} declares its dependencies dynamically; it must be built "
                "to know them",
                url=file.url,
                file=file,
                archive=archive,
            )
        return parse_core_metadata(data, source=file.filename + "/PKG-INFO")
