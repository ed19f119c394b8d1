"""Index pages through the HTTP cache: fresh pages cost no request, stale ones a 304.

``file://`` indexes are local PEP 503 trees (``<root>/<project>/index.html``)
and bypass the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cloche.adapters.index.auth import redact
from cloche.adapters.index.cache import CachedPage, PageBody, PageCache, freshness
from cloche.adapters.index.download import local_path
from cloche.adapters.index.http import HttpTransport
from cloche.adapters.index.json_listing import json_page, spans_listing
from cloche.adapters.index.simple import (
    ACCEPT,
    JSON_TYPE,
    files_from_rows,
    files_to_rows,
    media_type,
    parse_page,
)
from cloche.core.models import DistFile, NormalizedName
from cloche.errors import IndexResponseError, OfflineError

FIND_LINKS_ACCEPT = "text/html, */*;q=0.1"


class PageFetcher:
    """Gets simple-API and find-links pages, honouring freshness, refresh and offline."""

    def __init__(
        self, transport: HttpTransport, cache: PageCache, *, refresh: bool, offline: bool
    ) -> None:
        self._transport = transport
        self._cache = cache
        self._refresh = refresh
        self._offline = offline

    def project_files(
        self,
        index_url: str,
        name: NormalizedName,
        on_download: Callable[[Sequence[DistFile]], None] | None = None,
    ) -> Sequence[DistFile] | None:
        """Files of ``name`` on one index (URL without credentials); None when it lacks it.

        ``on_download`` sees the files of a freshly downloaded page before it is cached.
        """
        base = index_url if index_url.endswith("/") else index_url + "/"
        if base.startswith("file:"):
            return self._local_project(base, name)
        return self.page(
            f"{base}{name}/", index=index_url, project=name, accept=ACCEPT, on_download=on_download
        )

    def page(
        self,
        url: str,
        *,
        index: str,
        project: NormalizedName | None,
        accept: str,
        on_download: Callable[[Sequence[DistFile]], None] | None = None,
    ) -> Sequence[DistFile] | None:
        """Files a remote page lists (None on 404), from the cache while it is fresh."""
        url = redact(url)
        cached = self._cache.load(url)
        now = time.time()
        if self._offline:
            if cached is None:
                raise OfflineError(
                    f"{url} is not in the cache and --offline is set; run once online first"
                )
            return self._files(cached, index, project)
        if cached is not None and not self._refresh and cached.is_fresh(now):
            return self._files(cached, index, project)
        headers = {"Accept": accept}
        if cached is not None:
            headers.update(cached.validators())
        response = self._transport.get(url, headers)
        ttl = freshness(response.headers)
        if response.status == 304 and cached is not None:
            if ttl is not None:
                self._cache.store(cached.renewed(now, ttl, response.headers))
            return self._files(cached, index, project)
        if response.status in (404, 410):
            if ttl is not None:
                self._cache.store(CachedPage(url, False, [], now, ttl))
            return None
        if response.status != 200:
            raise IndexResponseError(
                f"{url} answered HTTP {response.status}; check the index URL and its access rights"
            )
        content_type = response.headers.get("content-type")
        raw = project is not None and media_type(content_type) == JSON_TYPE
        files: Sequence[DistFile]
        body = spans = None
        if raw:
            assert project is not None
            files, (body, spans) = json_page(
                response.content, url=response.url, index=index, project=project
            )
        else:
            files = parse_page(
                response.content, content_type, url=response.url, index=index, project=project
            )
        if on_download is not None:
            on_download(files)
        if ttl is not None:
            page = CachedPage(
                url,
                True,
                [] if raw else files_to_rows(files),
                now,
                ttl,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                body=body,
                base=response.url if raw else None,
                spans=spans,
            )
            self._cache.store(page)
        return files

    def _files(
        self, cached: CachedPage, index: str, project: NormalizedName | None
    ) -> Sequence[DistFile] | None:
        if not cached.found:
            return None
        body, base = cached.body, cached.base
        try:
            if body is not None and base is not None and project is not None:
                if cached.spans is None:
                    raise ValueError("a page body without spans")
                return spans_listing(
                    body,
                    cached.spans,
                    url=base,
                    index=index,
                    project=project,
                    reread=body.reread if isinstance(body, PageBody) else None,
                )
            return files_from_rows(cached.rows, index=index)
        except (ValueError, TypeError, IndexResponseError):
            raise IndexResponseError(
                f"the cached copy of {cached.url} is damaged; run again with --refresh"
            ) from None

    def _local_project(self, base: str, name: NormalizedName) -> list[DistFile] | None:
        page = local_path(base) / name / "index.html"
        return self.local_page(page, index=base, project=name)

    def local_page(
        self, path: Path, *, index: str, project: NormalizedName | None
    ) -> list[DistFile] | None:
        """Files listed by an HTML page on disk; None when it does not exist."""
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexResponseError(f"cannot read {path}: {exc.strerror or exc}") from None
        return parse_page(body, "text/html", url=path.as_uri(), index=index, project=project)
