"""PEP 691 project pages as listings that build each version's files only when asked.

A fresh page is grouped by version with cheap filename checks (``json_listing``) and,
for the cache, digested (``json_page``); a cached page is read back through its spans,
reading only the versions asked for (``spans_listing``). A version read gives its
files' facts (``FileFacts``) from its raw entries and rows; a file's DistFile is built
only when read (see ``core.listing.FileGroup``).
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from packaging.version import Version

from cloche.adapters.index.auth import redact
from cloche.adapters.index.json_spans import (
    ByteRanges,
    Replaced,
    Row,
    Spans,
    blob_check,
    digest_page,
    file_row,
)
from cloche.adapters.index.simple import (
    entry_requires_python,
    entry_yanked,
    fields_file,
    json_fields,
    json_file,
    json_files,
    requires_python_of,
)
from cloche.core.listing import FileFacts, FileGroup, FileListing
from cloche.core.models import DistFile, NormalizedName, sha256_of, valid_version
from cloche.errors import IndexResponseError

Reread = Callable[[], "tuple[ByteRanges, Spans] | None"]
"""The body and spans of a cached page as its file is now (None: no longer readable)."""


def json_listing(body: bytes, *, url: str, index: str, project: NormalizedName) -> FileListing:
    """The files of a PEP 691 project page, each version's built only when asked for."""
    entries = json_files(body, url)
    groups = _json_entries(entries, url=url, index=index, project=project)
    return _listing(groups, url=url, index=index, project=project)


def json_page(
    body: bytes, *, url: str, index: str, project: NormalizedName
) -> tuple[FileListing, tuple[bytes, Spans]]:
    """``json_listing``, and the page digested for the cache: its digested body and spans
    (see ``spans_listing``)."""
    entries = json_files(body, url)
    groups = _json_entries(entries, url=url, index=index, project=project)
    listing = _listing(groups, url=url, index=index, project=project)
    wheel_name = _plain_wheel_name(project)
    rows = (
        (version, _rows(version, items, wheel_name=wheel_name, project=project))
        for version, items in groups.items()
    )
    return listing, digest_page(rows)


def _rows(
    version: Version, items: list[Any], *, wheel_name: str, project: NormalizedName
) -> Iterator[Row]:
    """The digest's rows of one version's items (see ``_json_entries``)."""
    text = str(version)
    for item in items:
        if isinstance(item, DistFile):
            yield file_row(item, project, text)
            continue
        # Kept as it came (marshal writes a JSON value as fast as it reads it): its
        # fields are worked out only if a resolve builds this version. Its DistFile has
        # the version its own filename spells.
        spelling = _version_text(item["filename"], wheel_name, project)
        yield (item, None if spelling == text else spelling)


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


def _json_entries(
    entries: list[dict[str, Any]], *, url: str, index: str, project: NormalizedName
) -> dict[Version, list[Any]]:
    """A page's entries by version: plain wheels and sdists left raw, others as DistFiles.

    Only the cheap checks run here; building a raw entry later cannot fail.
    """
    wheel_name = _plain_wheel_name(project)
    groups: dict[Version, list[Any]] = {}
    # A version's text -> its list: hashing a str is much cheaper than hashing a Version.
    by_text: dict[str, list[Any]] = {}
    for entry in entries:
        filename = entry["filename"]
        if not filename.endswith(_DIST_SUFFIXES):
            continue  # an .egg or .exe: parse_dist_filename would drop it too
        text = _version_text(filename, wheel_name, project)
        if text is not None:
            group = by_text.get(text)
            if group is None:
                version = valid_version(text)
                if version is not None:
                    group = by_text[text] = groups.setdefault(version, [])
            if group is not None:
                group.append(entry)
                continue
        made = json_file(entry, url=url, index=index, project=project)
        if made is not None:
            groups.setdefault(made.version, []).append(made)
    return groups


def _plain_wheel_name(project: NormalizedName) -> str:
    """The name part of ``project``'s plain wheels; "-" (which none has) if it has none."""
    wheel_name = project.replace("-", "_")
    return wheel_name if _PLAIN_WHEEL_NAME.fullmatch(wheel_name) else "-"


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
    project: NormalizedName,
) -> FileGroup:
    def build(at: int) -> DistFile:
        item = items[at]
        if isinstance(item, DistFile):
            return item
        made = json_file(item, url, index, project)
        assert made is not None  # _json_entries leaves raw only the entries it can make
        return made

    def sha256(at: int) -> str | None:
        item = items[at]
        return item.sha256 if isinstance(item, DistFile) else sha256_of(json_fields(item, url)[2])

    def facts(at: int) -> FileFacts:
        item = items[at]
        if isinstance(item, DistFile):
            return item.requires_python, item.yanked is not None
        return _entry_facts(item)

    filenames = [
        item.filename if isinstance(item, DistFile) else item["filename"] for item in items
    ]
    return FileGroup(filenames, facts, build, sha256)


def _entry_facts(entry: dict[str, Any]) -> FileFacts:
    """The facts of a checked page entry, as ``json_fields`` makes its DistFile's."""
    requires_python = entry_requires_python(entry)
    return (
        None if requires_python is None else requires_python_of(requires_python),
        entry_yanked(entry) is not None,
    )


def spans_listing(
    body: ByteRanges,
    spans: Spans,
    *,
    url: str,
    index: str,
    project: NormalizedName,
    reread: Reread | None = None,
) -> FileListing:
    """The listing of a digested page (``json_page``), building only the versions asked for.

    ``spans`` must be well formed (``offsets`` ascending, inside ``body``); raises
    ValueError for a version that does not parse or restore. A version whose blob does
    not hold what the spans say (a damaged cache) raises IndexResponseError when built;
    should the page's file be replaced meanwhile, ``reread`` gives it as it is now.
    """
    texts = spans.texts()
    offsets, checks = spans.arrays()
    states = spans.states
    if not len(texts) == len(states) == len(checks) == len(offsets) - 1:
        raise ValueError("spans of another shape")
    groups: dict[Version, Any] = {}
    restored = _restored
    for at, text in enumerate(texts):
        state = states[at]
        version = (
            valid_version(text) if state is None else restored.get(text) or _restore(text, state)
        )
        if version is None:
            raise ValueError(text)
        groups[version] = at  # one hash per version: Version hashes through Python code
    if len(groups) != len(texts):
        raise ValueError("a version is listed twice")
    build = partial(
        _build_digested,
        body=body,
        texts=texts,
        offsets=offsets,
        checks=checks,
        url=url,
        index=index,
        project=project,
        reread=reread,
    )
    return FileListing(project, groups, build)


_restored: dict[str, Version] = {}
"""Versions restored from cached states, by string: shared as ``valid_version``'s are."""


def _restore(text: str, state: Any) -> Version:
    """The version ``text`` parses to, from its state (the cache's checksum vouches that
    ``state`` is what ``digest_page`` wrote for ``text``)."""
    version = Version.__new__(Version)
    try:
        version.__setstate__(state)
        if type(state[1]) is not tuple:
            raise TypeError(state)
    except (TypeError, ValueError, LookupError, AttributeError):
        raise ValueError(text) from None
    if len(_restored) < 8192:
        _restored[text] = version
    return version


def _build_digested(
    version: Version,
    at: int,
    *,
    body: ByteRanges,
    texts: Sequence[str],
    offsets: Sequence[int],
    checks: Sequence[int],
    url: str,
    index: str,
    project: NormalizedName,
    reread: Reread | None,
) -> FileGroup:
    try:
        blob = body[offsets[at] : offsets[at + 1]]
    except Replaced:
        now = reread() if reread is not None else None
        if now is None:
            raise _damaged(url) from None
        listing = spans_listing(*now, url=url, index=index, project=project)
        return listing.group(version) if version in listing.versions() else FileGroup.of(())
    try:
        if blob_check(blob, texts[at]) != checks[at]:
            raise ValueError("a blob that is not what was written")
        rows: Sequence[Row] = marshal.loads(blob)
        # A row is a page entry and its version spelling, or a file's fields.
        filenames = [row[0]["filename"] if len(row) == 2 else row[0] for row in rows]
    except (ValueError, TypeError, EOFError, KeyError, AttributeError, IndexError):
        raise _damaged(url) from None

    def build(at: int) -> DistFile:
        try:
            return _row_file(rows[at], version, url=url, index=index, project=project)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise _damaged(url) from None

    def sha256(at: int) -> str | None:
        row = rows[at]
        try:
            return sha256_of(json_fields(row[0], url)[2] if len(row) == 2 else row[2])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise _damaged(url) from None

    def facts(at: int) -> FileFacts:
        try:
            return _row_facts(rows[at])
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            raise _damaged(url) from None

    return FileGroup(filenames, facts, build, sha256)


def _row_facts(row: Row) -> FileFacts:
    """The facts of one digest row (see ``json_spans.Row``), as ``_row_file`` makes its
    DistFile's."""
    if len(row) == 2:
        return _entry_facts(row[0])
    requires_python = row[3]
    return (
        None if requires_python is None else requires_python_of(requires_python),
        row[4] is not None,
    )


def _row_file(
    row: Row, version: Version, *, url: str, index: str, project: NormalizedName
) -> DistFile:
    """The file of one digest row (see ``json_spans.Row``) listed under ``version``."""
    fields: Sequence[Any]
    if len(row) == 2:  # a page entry as it came, and its own version spelling
        entry, text = row
        fields = json_fields(entry, url)
        name = None
    else:
        *fields, name, text = row
    own = version if text is None else _file_version(text)
    return fields_file(name or project, own, fields, index)


def _file_version(text: str) -> Version:
    version = valid_version(text)
    if version is None:
        raise ValueError(text)
    return version


def _damaged(url: str) -> IndexResponseError:
    return IndexResponseError(
        f"the cached copy of {redact(url)} is damaged; run again with --refresh"
    )
