"""On-disk caches of the index client: parsed index pages and parsed metadata.

Pages live in ``http-v1`` with their HTTP freshness and validators; metadata
lives in ``metadata-v1`` forever, keyed by the file's sha256 (or its URL).
Every write is a temp file + ``os.replace``, so concurrent processes never see
a half-written entry; an unreadable entry is treated as missing.
"""

from __future__ import annotations

import binascii
import json
import marshal
import operator
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

import packaging

from cloche.adapters.index.json_spans import Replaced, Spans
from cloche.core.digests import sha256_hex
from cloche.core.models import DistFile, Metadata, NormalizedName

DEFAULT_TTL = 600.0
"""How long a page without freshness information is held fresh (the public index's max-age)."""

_PAGE_FORMAT = 5
"""5: a JSON page's body digested (``json_spans``), under a checksummed marshal'd header;
3 was the page as it came, under one line of JSON."""
_STATES_OF = packaging.__version__
"""Version states are packaging's pickle states: another packaging reads the page anew."""


def _key_path(root: Path, key: str) -> Path:
    return Path(_key_file(str(root), key))


def _key_file(root: str, key: str) -> str:
    """``_key_path`` as a string: reads need no Path (and pathlib's joins are slow)."""
    digest = sha256_hex(key.encode("utf-8"))
    return f"{root}{os.sep}{digest[:2]}{os.sep}{digest}.json"


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; False when the cache is not writable."""
    import tempfile  # only when a page is stored: an offline resolve never does

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def freshness(headers: Mapping[str, str]) -> float | None:
    """Seconds a response stays fresh; None when it must not be stored (no-store)."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        key, _, value = part.strip().partition("=")
        if key:
            directives[key.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    if "max-age" in directives:
        try:
            max_age = float(directives["max-age"])
        except ValueError:
            return 0.0
        try:
            age = float(headers.get("age", "0"))
        except ValueError:
            age = 0.0
        return max(max_age - age, 0.0)
    return DEFAULT_TTL


@dataclass(frozen=True, slots=True)
class CachedPage:
    """One index page as last seen: its files (or "not found") and validators.

    A JSON project page is kept digested (``body``, see ``json_spans``), with ``spans``:
    where each version's files lie in it, so that a later run reads only the versions it
    asks for. Other pages are kept as parsed ``rows``.
    """

    url: str
    found: bool
    rows: list[Any]
    stored_at: float
    ttl: float
    etag: str | None = None
    last_modified: str | None = None
    body: bytes | PageBody | None = None
    base: str | None = None
    """The URL the body was served from (after redirects), for its relative links."""
    spans: Spans | None = None
    """Set with ``body``."""

    def is_fresh(self, now: float) -> bool:
        return self.stored_at <= now < self.stored_at + self.ttl

    def validators(self) -> dict[str, str]:
        """Conditional-request headers for revalidating this page."""
        headers: dict[str, str] = {}
        if not self.found:
            return headers
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def renewed(self, now: float, ttl: float, headers: Mapping[str, str]) -> CachedPage:
        """The same page after a 304: fresh again, with any updated validators."""
        return replace(
            self,
            stored_at=now,
            ttl=ttl,
            etag=headers.get("etag", self.etag),
            last_modified=headers.get("last-modified", self.last_modified),
        )


class PageCache:
    """Parsed index pages by URL, in ``<cache_dir>/http-v1``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)

    def load(self, url: str) -> CachedPage | None:
        loaded = _load_file(_key_file(self._root, url))
        if loaded is None:
            return None
        doc, body, spans = loaded
        try:
            if doc.get("url") != url:
                return None
            return CachedPage(
                url=url,
                found=bool(doc["found"]),
                rows=list(doc["rows"]),
                stored_at=float(doc["stored_at"]),
                ttl=float(doc["ttl"]),
                etag=doc.get("etag"),
                last_modified=doc.get("last_modified"),
                body=body,
                base=doc.get("base"),
                spans=spans,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def store(self, page: CachedPage) -> None:
        """A line ``<header size> <header crc32>``, the marshal'd header, then the body if any."""
        raw = page.body is not None
        doc = {
            "format": _PAGE_FORMAT,
            "url": page.url,
            "found": page.found,
            "stored_at": page.stored_at,
            "ttl": page.ttl,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "base": page.base if raw else None,
            "size": len(page.body) if page.body is not None else None,
            "spans": _spans_doc(page.spans) if raw else None,
            "rows": page.rows,
        }
        header = marshal.dumps(doc)
        try:
            body = bytes(page.body) if page.body is not None else b""
        except Replaced:
            return  # refreshed meanwhile by another process: that copy stands
        line = b"%d %d\n" % (len(header), binascii.crc32(header))
        write_atomic(_key_path(self.root, page.url), b"".join((line, header, body)))


def _load_file(
    path: str,
) -> tuple[dict[str, Any], bytes | PageBody | None, Spans | None] | None:
    """A page file's header, body and spans; None unless it is whole and well formed."""
    try:
        head, body_at, stamp, read = _read_head(path)
        doc = marshal.loads(head)
        if type(doc) is not dict or doc.get("format") != _PAGE_FORMAT:
            return None
        if doc.get("base") is None:
            return doc, None, None
        size = doc["size"]
        if type(size) is not int or body_at + size != stamp[1]:
            return None
        versions, offsets, checks, states, order, states_of = doc["spans"]
        spans = Spans(versions, offsets, checks, states)
        if order != sys.byteorder or states_of != _STATES_OF or not _spans_fit(spans, size):
            return None
        if len(read) == stamp[1]:  # a small page, read whole with its header
            return doc, read[body_at:], spans
        return doc, PageBody(path, body_at, size, stamp), spans
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):
        return None


_HEAD_READ = 64 * 1024
"""First read of a page file: its header is a few KB, and a small page's body comes with
it (most pages); a large one's may be MBs, read a version at a time."""

Stamp = tuple[int, int, int]
"""A page file's inode, size and mtime: a replaced file (``write_atomic``) differs."""


def _open(path: str | Path) -> int:
    return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))


def _stamp(fd: int) -> Stamp:
    st = os.fstat(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_at(fd: int, start: int, length: int) -> bytes:
    os.lseek(fd, start, os.SEEK_SET)
    chunks = []
    while length > 0:
        chunk = os.read(fd, length)
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def _read_whole(path: str) -> bytes:
    fd = _open(path)
    try:
        return _read_at(fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _read_head(path: str) -> tuple[bytes, int, Stamp, bytes]:
    """A page file's header, where its body starts, the file's stamp, and all that was read
    (from the file's start).

    Raises ValueError when the first line does not describe the header that follows.
    """
    fd = _open(path)
    try:
        stamp = _stamp(fd)
        data = _read_at(fd, 0, _HEAD_READ)
        newline = data.find(b"\n", 0, 48)
        if newline < 0:
            raise ValueError(path)
        size, crc = map(int, data[:newline].split(b" "))  # ValueError unless two numbers
        start = newline + 1
        if size < 0 or start + size > stamp[1]:
            raise ValueError(path)
        if start + size > len(data):
            data += _read_at(fd, len(data), start + size - len(data))
        head = data[start : start + size]
        if binascii.crc32(head) != crc:
            raise ValueError(path)
        return head, start + size, stamp, data
    finally:
        os.close(fd)


class PageBody:
    """The digested body of a cached JSON page, read from its file only where it is sliced.

    A resolve reads a few versions of a page that lists thousands of files, so
    reading the body whole (MBs per popular project) was most of a warm page load.
    Cache files are only ever replaced, never rewritten: a slice of a file that was
    replaced since it was loaded raises ``Replaced`` (``reread`` gives the page now).
    """

    __slots__ = ("_path", "_size", "_stamp", "_start")

    def __init__(self, path: str, start: int, size: int, stamp: Stamp) -> None:
        self._path = path
        self._start = start
        self._size = size
        self._stamp = stamp

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        start, stop, step = key.indices(self._size)
        if step != 1:
            raise ValueError("a page body is read in plain ranges")
        fd = _open(self._path)
        try:
            if _stamp(fd) != self._stamp:
                raise Replaced(f"{self._path} was replaced while it was read")
            return _read_at(fd, self._start + start, max(stop - start, 0))
        finally:
            os.close(fd)

    def __bytes__(self) -> bytes:
        return self[:]

    def reread(self) -> tuple[bytes | PageBody, Spans] | None:
        """The body and spans of this page's file as it is now; None if it is not whole."""
        loaded = _load_file(self._path)
        if loaded is None or loaded[1] is None or loaded[2] is None:
            return None
        return loaded[1], loaded[2]


def _spans_doc(spans: Spans | None) -> tuple[Any, ...] | None:
    if spans is None:
        return None
    return (spans.versions, spans.offsets, spans.checks, spans.states, sys.byteorder, _STATES_OF)


def _spans_fit(spans: Spans, size: int) -> bool:
    """Whether ``spans`` are well formed and inside a body of ``size`` (each version's
    blob is checked when read, its state when restored)."""
    if (
        type(spans.versions) is not str
        or type(spans.offsets) is not bytes
        or type(spans.checks) is not bytes
        or type(spans.states) is not tuple
    ):
        return False
    offsets, checks = spans.arrays()
    count = len(spans.states)
    if len(offsets) != count + 1 or len(checks) != count or len(spans.texts()) != count:
        return False
    if offsets[0] != 0 or offsets[-1] != size:
        return False
    return all(map(operator.le, offsets, islice(offsets, 1, None)))


def metadata_key(file: DistFile) -> str:
    """The cache key of a file's metadata: its sha256 when known, else its URL."""
    sha = file.sha256
    return f"sha256={sha}" if sha else f"url={file.url}"


class MetadataCache:
    """Parsed core metadata, forever, in ``<cache_dir>/metadata-v1``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)

    def load(self, key: str) -> Metadata | None:
        from packaging.version import Version

        from cloche.adapters.index.requires_dist import parse_requires_dist, shared_specifier

        try:
            doc = json.loads(_read_whole(_key_file(self._root, key)))
            if doc.get("key") != key:
                return None
            requires_python = doc["requires_python"]
            return Metadata(
                name=NormalizedName(doc["name"]),
                version=Version(doc["version"]),
                requires_dist=tuple(parse_requires_dist(r) for r in doc["requires_dist"]),
                requires_python=shared_specifier(requires_python) if requires_python else None,
                provides_extras=frozenset(NormalizedName(e) for e in doc["provides_extras"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # Also covers packaging's Invalid* errors, which are ValueErrors.
            return None

    def store(self, key: str, metadata: Metadata) -> None:
        doc = {
            "key": key,
            "name": metadata.name,
            "version": str(metadata.version),
            "requires_dist": [str(r) for r in metadata.requires_dist],
            "requires_python": str(metadata.requires_python) if metadata.requires_python else None,
            "provides_extras": sorted(metadata.provides_extras),
        }
        write_atomic(_key_path(self.root, key), json.dumps(doc, separators=(",", ":")).encode())
