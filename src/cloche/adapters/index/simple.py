"""Simple repository API pages (PEP 503 HTML, PEP 691 JSON) -> DistFiles.

Also used for find-links HTML pages, where one page lists many projects.
Parsing is pure; the caller fetches the bytes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from cloche.adapters.index.api_version import NewerApi, check_meta, newer_api
from cloche.adapters.index.auth import redact
from cloche.core.listing import FileListing
from cloche.core.models import DistFile, Hashes, NormalizedName, parse_dist_filename
from cloche.errors import IndexError_

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

    Raises IndexError_ for anything that is not a simple-API JSON or HTML page.
    """
    media = media_type(content_type)
    if media == JSON_TYPE:
        return _parse_json(body, url=url, index=index, project=project)
    if media in (HTML_V1_TYPE, "text/html", ""):
        return _parse_html(body, content_type, url=url, index=index, project=project)
    raise IndexError_(
        f"{redact(url)} answered with content type {media!r}, not a package index page; "
        "check the index URL"
    )


def _garbage(url: str, why: str) -> IndexError_:
    return IndexError_(
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
    parsed = parse_dist_filename(filename)
    if parsed is None:
        return None
    name, version = parsed
    if project is not None and name != project:
        return None
    # Most pages link absolute URLs; urljoin/urlsplit per file was the bulk of parsing.
    absolute = href if href.startswith(("https://", "http://")) else urljoin(base, href)
    clean, _sep, fragment = absolute.partition("#")
    fragment_hashes = _fragment_hashes(fragment)
    if "@" in clean:
        clean = redact(clean)
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


def _fragment_hashes(fragment: str) -> Hashes:
    algo, sep, digest = fragment.partition("=")
    if not sep or not digest or not algo.isalnum():
        return ()
    return ((algo.lower(), digest.lower()),)


def _hash_dict(value: Any) -> Hashes:
    if not isinstance(value, dict):
        return ()
    return tuple(
        sorted((str(k).lower(), str(v).lower()) for k, v in value.items() if isinstance(v, str))
    )


# -- PEP 691 JSON -------------------------------------------------------------------


def _parse_json(
    body: bytes, *, url: str, index: str, project: NormalizedName | None
) -> list[DistFile]:
    files = (_json_file(entry, url, index, project) for entry in _json_files(body, url))
    return [f for f in files if f is not None]


def _json_files(body: bytes, url: str) -> list[dict[str, Any]]:
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
    _check_entries(entries, url)
    return entries


def _check_entries(entries: list[Any], url: str) -> None:
    for entry in entries:
        if not isinstance(entry, dict):
            raise _garbage(url, "a 'files' entry is not an object")
        if not isinstance(entry.get("filename"), str) or not isinstance(entry.get("url"), str):
            raise _garbage(url, "a file without 'filename' or 'url'")


def json_listing(body: bytes, *, url: str, index: str, project: NormalizedName) -> FileListing:
    """The files of a PEP 691 project page, each version's built only when asked for."""
    entries = _json_files(body, url)
    groups, _where = _json_entries(entries, url=url, index=index, project=project)
    return _listing(groups, url=url, index=index, project=project)


def json_page(
    body: bytes, *, url: str, index: str, project: NormalizedName
) -> tuple[FileListing, Spans | None]:
    """``json_listing``, and where each version's entries lie in ``body`` (see ``spans_listing``).

    The spans are None for a page the quick walk does not understand (not UTF-8, say);
    such a page is parsed as ``json_listing`` does and must be parsed so again.
    """
    try:
        walked = _walk_page(body)
    except NewerApi as exc:
        raise newer_api(url, str(exc)) from None
    if walked is None:
        return json_listing(body, url=url, index=index, project=project), None
    entries, bounds = walked
    _check_entries(entries, url)
    groups, where = _json_entries(entries, url=url, index=index, project=project)
    return _listing(groups, url=url, index=index, project=project), _spans(where, bounds)


def _listing(
    groups: dict[Version, list[Any]], *, url: str, index: str, project: NormalizedName
) -> FileListing:
    return FileListing(
        project, groups, partial(_build_json_group, url=url, index=index, project=project)
    )


# The name part of a wheel filename that packaging.utils.parse_wheel_filename accepts.
# A wheel without build tag whose (ASCII) name part lowercases to the project's such
# name parses once its version is valid.
_PLAIN_WHEEL_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


@lru_cache(maxsize=8192)
def _valid_version(text: str) -> Version | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def _json_entries(
    entries: list[dict[str, Any]], *, url: str, index: str, project: NormalizedName
) -> tuple[dict[Version, list[Any]], dict[Version, list[int]]]:
    """A page's entries by version: plain wheels and sdists left raw, others as DistFiles.

    Also where each kept entry sits in ``entries``. Only the cheap checks run here;
    building a raw entry later cannot fail.
    """
    wheel_name = project.replace("-", "_")
    if not _PLAIN_WHEEL_NAME.fullmatch(wheel_name):
        wheel_name = "-"  # no wheel is plain
    groups: dict[Version, list[Any]] = {}
    where: dict[Version, list[int]] = {}
    # A version's text -> its lists: hashing a str is much cheaper than hashing a Version.
    by_text: dict[str, tuple[list[Any], list[int]]] = {}
    for position, entry in enumerate(entries):
        filename = entry["filename"]
        if not filename.endswith(_DIST_SUFFIXES):
            continue  # an .egg or .exe: parse_dist_filename would drop it too
        text = _version_text(filename, wheel_name, project)
        if text is not None:
            lists = by_text.get(text)
            if lists is None:
                version = _valid_version(text)
                if version is not None:
                    lists = by_text[text] = (
                        groups.setdefault(version, []),
                        where.setdefault(version, []),
                    )
            if lists is not None:
                lists[0].append(entry)
                lists[1].append(position)
                continue
        made = _json_file(entry, url=url, index=index, project=project)
        if made is not None:
            groups.setdefault(made.version, []).append(made)
            where.setdefault(made.version, []).append(position)
    return groups, where


def _version_text(filename: str, wheel_name: str, project: NormalizedName) -> str | None:
    """The version part of a plain wheel's or sdist's filename if it names ``project``.

    None leaves the file to the full parser. A valid version there means the full
    parser reads the same name and version (packaging splits an sdist at its last dash).
    """
    if filename.endswith(".whl"):
        parts = filename.split("-")
        if len(parts) == 5 and parts[1] and parts[0].lower() == wheel_name and parts[0].isascii():
            return parts[1]
        return None
    stem = filename[: -len(".tar.gz")] if filename.endswith(".tar.gz") else filename[:-4]
    name, _dash, version = stem.rpartition("-")
    if name.lower().replace("_", "-").replace(".", "-") == project:
        return version
    return None


def _build_json_group(
    version: Version,
    items: Sequence[Any],
    *,
    url: str,
    index: str,
    project: NormalizedName | None,
) -> list[DistFile]:
    files = []
    for item in items:
        made = item if isinstance(item, DistFile) else _json_file(item, url, index, project)
        if made is not None:
            files.append(made)
    return files


def _json_file(
    entry: dict[str, Any], url: str, index: str, project: NormalizedName | None
) -> DistFile | None:
    yanked_value = entry.get("yanked", False)
    yanked = yanked_value if isinstance(yanked_value, str) else ("" if yanked_value else None)
    metadata_value = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    metadata_hashes: Hashes | None
    if isinstance(metadata_value, dict):
        metadata_hashes = _hash_dict(metadata_value)
    else:
        metadata_hashes = () if metadata_value is True else None
    requires_python = entry.get("requires-python")
    size = entry.get("size")
    upload_time = entry.get("upload-time")
    return _make_file(
        entry["filename"],
        entry["url"],
        base=url,
        index=index,
        project=project,
        hashes=_hash_dict(entry.get("hashes")),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=yanked,
        metadata_hashes=metadata_hashes,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time=upload_time if isinstance(upload_time, str) else None,
    )


# -- byte spans: a cached JSON page read back one version at a time ------------------

Spans = list[list[Any]]
"""Per version, in listed order: ``[version, start, end, start, end, ...]``.

Each ``[start, end)`` is a byte range of the page body holding one or more adjacent
entries of that version (with the commas between them), so joining a version's ranges
with commas inside ``[]`` gives its entries as one JSON array.
"""

# The C scanners behind json.loads (typeshed does not list them).
_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """The first index from ``at`` on that is not JSON whitespace."""
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # always matches


def _walk_page(body: bytes) -> tuple[list[Any], list[int]] | None:
    """The ``files`` entries of a page and their byte bounds (start, end, start, end...).

    None for anything unusual (a BOM, another encoding, invalid JSON, no ``files``
    list): ``json.loads`` then decides, raising what it raises.
    """
    if json.detect_encoding(body) != "utf-8":
        return None
    try:
        text = body.decode("utf-8", "surrogatepass")
        walked = _walk_object(text)
    except (ValueError, StopIteration):
        return None
    if walked is None:
        return None
    entries, bounds = walked
    return entries, bounds if body.isascii() else _byte_offsets(text, bounds)


def _walk_object(text: str) -> tuple[list[Any], list[int]] | None:
    """What ``json.loads(text)["files"]`` is, with bounds; None if it is not a list.

    Raises ValueError or StopIteration for invalid JSON.
    """
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return None
    found: tuple[list[Any], list[int]] | None = None
    at = _skip(text, at + 1)
    while not text.startswith("}", at):
        if not text.startswith('"', at):
            raise ValueError(at)
        key, at = _scan_string(text, at + 1)
        at = _skip(text, at)
        if not text.startswith(":", at):
            raise ValueError(at)
        at = _skip(text, at + 1)
        if key == "files" and text.startswith("[", at):
            entries, bounds, at = _walk_array(text, at + 1)
            found = entries, bounds
        else:
            found = None if key == "files" else found  # the last "files" wins
            value, at = _scan_value(text, at)
            if key == "meta":
                check_meta(value)
        at = _skip(text, at)
        if text.startswith(",", at):
            at = _skip(text, at + 1)
            if text.startswith("}", at):
                raise ValueError(at)
        elif not text.startswith("}", at):
            raise ValueError(at)
    if _skip(text, at + 1) != len(text):
        raise ValueError(at)
    return found


def _walk_array(text: str, at: int) -> tuple[list[Any], list[int], int]:
    """The values of the array whose ``[`` is just before ``at``, their bounds, its end."""
    starts = text.startswith
    values: list[Any] = []
    bounds: list[int] = []
    at = _skip(text, at)
    if starts("]", at):
        return values, bounds, at + 1
    while True:
        value, end = _scan_value(text, at)
        values.append(value)
        bounds.append(at)
        bounds.append(end)
        if starts(", {", end):  # PyPI's separator, taken without the regex
            at = end + 2
            continue
        end = _skip(text, end)
        if starts("]", end):
            return values, bounds, end + 1
        if not starts(",", end):
            raise ValueError(end)
        at = _skip(text, end + 1)


def _byte_offsets(text: str, bounds: list[int]) -> list[int]:
    """Ascending character offsets into ``text`` as offsets into its UTF-8 bytes."""
    offsets = []
    position = previous = 0
    for bound in bounds:
        position += len(text[previous:bound].encode("utf-8", "surrogatepass"))
        previous = bound
        offsets.append(position)
    return offsets


def _spans(where: dict[Version, list[int]], bounds: list[int]) -> Spans:
    spans: Spans = []
    for version, positions in where.items():
        span: list[Any] = [str(version)]
        previous = -2
        for position in positions:
            if position == previous + 1:
                span[-1] = bounds[2 * position + 1]  # adjacent: one range
            else:
                span += (bounds[2 * position], bounds[2 * position + 1])
            previous = position
        spans.append(span)
    return spans


class ByteRanges(Protocol):
    """A page body that can be read a range at a time (bytes, or a cached page's body)."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: slice, /) -> bytes: ...
    def __bytes__(self) -> bytes: ...


def spans_listing(
    body: ByteRanges, spans: Spans, *, url: str, index: str, project: NormalizedName
) -> FileListing:
    """The listing ``json_page`` gave with ``spans``, decoding only the versions asked for.

    ``spans`` must be well formed (ranges inside ``body``); raises ValueError for a
    version that does not parse. Should a range not hold what ``spans`` says (a
    damaged cache), the version is read from the whole body instead.
    """
    groups: dict[Version, list[Any]] = {}
    for span in spans:
        version = _valid_version(span[0])
        if version is None or version in groups:
            raise ValueError(span[0])
        groups[version] = span
    build = partial(_build_span_group, body=body, url=url, index=index, project=project)
    return FileListing(project, groups, build)


def _build_span_group(
    version: Version,
    span: Sequence[Any],
    *,
    body: ByteRanges,
    url: str,
    index: str,
    project: NormalizedName,
) -> list[DistFile]:
    try:
        # One read from the first range's start to the last one's end.
        start = span[1]
        extent = body[start : span[-1]]
        ranges = [extent[span[i] - start : span[i + 1] - start] for i in range(1, len(span), 2)]
        entries = json.loads(b"[" + b",".join(ranges) + b"]")
        files = _span_files(version, entries, url=url, index=index, project=project)
    except (ValueError, TypeError):
        files = None
    if files is None:
        return _reparse_group(version, body, url=url, index=index, project=project)
    return files


def _span_files(
    version: Version, entries: list[Any], *, url: str, index: str, project: NormalizedName
) -> list[DistFile] | None:
    """The files of ``entries``; None unless each is a file entry of ``version``."""
    files = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        if not isinstance(entry.get("filename"), str) or not isinstance(entry.get("url"), str):
            return None
        made = _json_file(entry, url, index, project)
        if made is None:
            continue  # as json_listing drops it
        if made.version != version:
            return None
        files.append(made)
    return files


def _reparse_group(
    version: Version, body: ByteRanges, *, url: str, index: str, project: NormalizedName
) -> list[DistFile]:
    try:
        listing = json_listing(bytes(body), url=url, index=index, project=project)
    except (IndexError_, OSError, ValueError):
        raise IndexError_(
            f"the cached copy of {redact(url)} is damaged; run again with --refresh"
        ) from None
    return list(listing.group(version)) if version in listing.versions() else []


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
