"""Simple repository API pages (PEP 503 HTML, PEP 691 JSON) -> DistFiles.

Also used for find-links HTML pages, where one page lists many projects.
Parsing is pure; the caller fetches the bytes. A PEP 691 project page read one
version at a time is ``json_listing``'s.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from cloche.adapters.index.api_version import NewerApi, check_meta, newer_api
from cloche.adapters.index.auth import redact
from cloche.core.models import DistFile, Hashes, NormalizedName, parse_dist_filename
from cloche.errors import IndexResponseError

if TYPE_CHECKING:
    from packaging.version import Version

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT = f"{JSON_TYPE}, {HTML_V1_TYPE};q=0.2, text/html;q=0.01"


@functools.lru_cache(maxsize=4096)
def requires_python_of(text: str | None) -> SpecifierSet | None:
    """A Requires-Python value; None when absent or invalid (invalid ones restrict nothing).

    Cached: a project page repeats a handful of values over thousands of files.
    """
    if not text or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_page(
    body: bytes,
    content_type: str | None,
    *,
    url: str,
    index: str,
    project: NormalizedName | None,
) -> list[DistFile]:
    """Files listed by a page; ``project`` None keeps every project's files (find-links).

    Raises IndexResponseError for anything that is not a simple-API JSON or HTML page.
    """
    media = media_type(content_type)
    if media == JSON_TYPE:
        return _parse_json(body, url=url, index=index, project=project)
    if media in (HTML_V1_TYPE, "text/html", ""):
        return _parse_html(body, content_type, url=url, index=index, project=project)
    raise IndexResponseError(
        f"{redact(url)} answered with content type {media!r}, not a package index page; "
        "check the index URL"
    )


def _garbage(url: str, why: str) -> IndexResponseError:
    return IndexResponseError(
        f"{redact(url)} is not a valid package index page ({why}); check the index URL"
    )


def _make_file(
    filename: str,
    href: str,
    *,
    base: str,
    index: str,
    project: NormalizedName | None,
    hashes: Hashes = (),
    requires_python: str | None = None,
    yanked: str | None = None,
    metadata_hashes: Hashes | None = None,
    size: int | None = None,
    upload_time: str | None = None,
) -> DistFile | None:
    parsed = _of_project(filename, project)
    if parsed is None:
        return None
    name, version = parsed
    clean, fragment = _clean_url(href, base)
    fragment_hashes = _fragment_hashes(fragment)
    return DistFile(
        name=name,
        version=version,
        filename=filename,
        url=clean,
        index=index,
        hashes=hashes or fragment_hashes,
        requires_python=requires_python_of(requires_python),
        yanked=yanked,
        metadata_hashes=metadata_hashes,
        size=size,
        upload_time=upload_time,
    )


def _of_project(
    filename: str, project: NormalizedName | None
) -> tuple[NormalizedName, Version] | None:
    """The name and version ``filename`` parses to, when it is a distribution of
    ``project`` (None: of any)."""
    parsed = parse_dist_filename(filename)
    if parsed is None or (project is not None and parsed[0] != project):
        return None
    return parsed


def _clean_url(href: str, base: str) -> tuple[str, str]:
    """A file's absolute URL without its fragment (credentials redacted), and the fragment."""
    # Most pages link absolute URLs; urljoin/urlsplit per file was the bulk of parsing.
    absolute = href if href.startswith(("https://", "http://")) else urljoin(base, href)
    clean, _sep, fragment = absolute.partition("#")
    return (redact(clean) if "@" in clean else clean), fragment


def _fragment_hashes(fragment: str) -> Hashes:
    algo, sep, digest = fragment.partition("=")
    if not sep or not digest or not algo.isalnum():
        return ()
    return ((algo.lower(), digest.lower()),)


def _hash_dict(value: Any) -> Hashes:
    if not isinstance(value, dict):
        return ()
    if len(value) == 1:  # nearly always: {"sha256": ...}
        ((algo, digest),) = value.items()
        if type(algo) is str and type(digest) is str:
            return ((algo.lower(), digest.lower()),)
    return tuple(
        sorted((str(k).lower(), str(v).lower()) for k, v in value.items() if isinstance(v, str))
    )


# -- PEP 691 JSON -------------------------------------------------------------------


def _parse_json(
    body: bytes, *, url: str, index: str, project: NormalizedName | None
) -> list[DistFile]:
    files = (json_file(entry, url, index, project) for entry in json_files(body, url))
    return [f for f in files if f is not None]


def json_files(body: bytes, url: str) -> list[dict[str, Any]]:
    """The ``files`` entries of a PEP 691 page, each with a string filename and url."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _garbage(url, "invalid JSON") from None
    if isinstance(doc, dict):
        try:
            check_meta(doc.get("meta"))
        except NewerApi as exc:
            raise newer_api(url, str(exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise _garbage(url, "JSON without a 'files' list")
    entries: list[dict[str, Any]] = doc["files"]
    check_entries(entries, url)
    return entries


def check_entries(entries: list[Any], url: str) -> None:
    """Raises IndexResponseError unless each entry is an object with a string filename and url."""
    for entry in entries:
        if not isinstance(entry, dict):
            raise _garbage(url, "a 'files' entry is not an object")
        if not isinstance(entry.get("filename"), str) or not isinstance(entry.get("url"), str):
            raise _garbage(url, "a file without 'filename' or 'url'")


_ABSENT = object()


def json_file(
    entry: dict[str, Any], url: str, index: str, project: NormalizedName | None
) -> DistFile | None:
    """One checked ``files`` entry; None for a file of another project or no distribution."""
    parsed = _of_project(entry["filename"], project)
    if parsed is None:
        return None
    return fields_file(parsed[0], parsed[1], json_fields(entry, url), index)


def fields_file(
    name: NormalizedName, version: Version, fields: Sequence[Any], index: str
) -> DistFile:
    """The DistFile of ``name`` at ``version`` with ``fields`` (``JsonFields``)."""
    filename, clean, hashes, requires_python, yanked, metadata_hashes, size, uploaded = fields
    return DistFile(
        name,
        version,
        filename,
        clean,
        index,
        hashes,
        None if requires_python is None else requires_python_of(requires_python),
        yanked,
        metadata_hashes,
        size,
        uploaded,
    )


JsonFields = tuple[
    str, str, Hashes, "str | None", "str | None", "Hashes | None", "int | None", "str | None"
]
"""A file's filename, URL, hashes, Requires-Python text, yanked, metadata hashes, size and
upload time, as ``json_file`` makes its DistFile of them."""


def entry_yanked(entry: dict[str, Any]) -> str | None:
    """A ``files`` entry's yank (PEP 592): None when not yanked, else the reason ("" when
    the index gives none)."""
    value = entry.get("yanked", False)
    return value if isinstance(value, str) else ("" if value else None)


def entry_requires_python(entry: dict[str, Any]) -> str | None:
    """A ``files`` entry's Requires-Python text (None when absent or not a string)."""
    value = entry.get("requires-python")
    return value if type(value) is str else None


def json_fields(entry: dict[str, Any], url: str) -> JsonFields:
    """The fields of one checked ``files`` entry (on a page at ``url``), but its name and
    version."""
    # Runs once per file of every release the resolver looks at (and per file of a page
    # that is cached): _make_file's work, inlined.
    metadata_value = entry.get("core-metadata", _ABSENT)
    if metadata_value is _ABSENT:  # the older name, asked only when the newer is absent
        metadata_value = entry.get("dist-info-metadata", False)
    metadata_hashes: Hashes | None
    if isinstance(metadata_value, dict):
        metadata_hashes = _hash_dict(metadata_value)
    else:
        metadata_hashes = () if metadata_value is True else None
    size = entry.get("size")
    upload_time = entry.get("upload-time")
    href = entry["url"]
    if href.startswith("https://") and "#" not in href and "@" not in href:
        clean, fragment = href, ""  # nearly always: what _clean_url would make of it
    else:
        clean, fragment = _clean_url(href, url)
    return (
        entry["filename"],
        clean,
        _hash_dict(entry.get("hashes")) or _fragment_hashes(fragment),
        entry_requires_python(entry),
        entry_yanked(entry),
        metadata_hashes,
        size if type(size) is int else None,
        upload_time if type(upload_time) is str else None,
    )


# -- PEP 503 HTML -------------------------------------------------------------------


def _charset(content_type: str | None) -> str:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _parse_html(
    body: bytes,
    content_type: str | None,
    *,
    url: str,
    index: str,
    project: NormalizedName | None,
) -> list[DistFile]:
    try:
        text = body.decode(_charset(content_type))
    except (UnicodeDecodeError, LookupError):
        raise _garbage(url, "undecodable HTML") from None
    if "\x00" in text:
        raise _garbage(url, "binary data")
    from cloche.adapters.index.html_links import LinkCollector  # only HTML pages need it

    collector = LinkCollector()
    collector.feed(text)
    collector.close()
    if not collector.saw_tag:
        raise _garbage(url, "no HTML")
    base = urljoin(url, collector.base) if collector.base else url
    files: list[DistFile] = []
    for attrs in collector.anchors:
        href = attrs.get("href")
        if not href:
            continue
        path = urlsplit(href).path
        filename = unquote(path.rsplit("/", 1)[-1]) or str(attrs.get("#text") or "")
        yanked = attrs.get("data-yanked")
        metadata_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        made = _make_file(
            filename,
            href,
            base=base,
            index=index,
            project=project,
            requires_python=attrs.get("data-requires-python"),
            yanked=None if "data-yanked" not in attrs else (yanked or ""),
            metadata_hashes=_metadata_attr(metadata_attr, present=metadata_attr is not None),
        )
        if made is not None:
            files.append(made)
    return files


def _metadata_attr(value: str | None, *, present: bool) -> Hashes | None:
    if not present or value is None:
        # A bare attribute (no value) means "available, no hash" per PEP 658.
        return () if present else None
    if value.strip().lower() == "false":
        return None
    if value.strip().lower() == "true":
        return ()
    return _fragment_hashes(value.strip())


# -- compact rows for the on-disk page cache -------------------------------------------


def files_to_rows(files: Iterable[DistFile]) -> list[list[Any]]:
    """DistFiles as compact JSON-ready rows (the cache stores parsed pages, not HTML)."""
    return [
        [
            f.name,
            f.filename,
            str(f.version),
            f.url,
            dict(f.hashes),
            str(f.requires_python) if f.requires_python is not None else None,
            f.yanked,
            None if f.metadata_hashes is None else dict(f.metadata_hashes),
            f.size,
            f.upload_time,
        ]
        for f in files
    ]


def files_from_rows(rows: Any, *, index: str) -> list[DistFile]:
    """Inverse of ``files_to_rows``; raises ValueError/TypeError on a damaged entry."""
    from packaging.version import Version

    # A page lists many files per release; parse each version string once.
    versions: dict[str, Version] = {}
    files: list[DistFile] = []
    for row in rows:
        name, filename, version, url, hashes, requires_python, yanked, meta, size, uploaded = row
        parsed = versions.get(version)
        if parsed is None:
            parsed = versions[version] = Version(version)
        files.append(
            DistFile(
                name=NormalizedName(name),
                version=parsed,
                filename=filename,
                url=url,
                index=index,
                hashes=tuple(hashes.items()),
                requires_python=requires_python_of(requires_python),
                yanked=yanked,
                metadata_hashes=None if meta is None else tuple(meta.items()),
                size=size,
                upload_time=uploaded,
            )
        )
    return files
