"""PEP 691 project pages as listings that build each version's files only when asked.

A fresh page is grouped by version with cheap filename checks (``json_page``); a cached
page is read back through its spans, decoding only the versions asked for
(``spans_listing``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache, partial
from itertools import pairwise
from typing import Any

from packaging.version import InvalidVersion, Version

from cloche.adapters.index.api_version import NewerApi, newer_api
from cloche.adapters.index.auth import redact
from cloche.adapters.index.json_spans import ByteRanges, Spans, page_spans, walk_page
from cloche.adapters.index.simple import check_entries, json_file, json_files
from cloche.core.listing import FileListing
from cloche.core.models import DistFile, NormalizedName
from cloche.errors import IndexResponseError


def json_listing(body: bytes, *, url: str, index: str, project: NormalizedName) -> FileListing:
    """The files of a PEP 691 project page, each version's built only when asked for."""
    entries = json_files(body, url)
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
        walked = walk_page(body)
    except NewerApi as exc:
        raise newer_api(url, str(exc)) from None
    if walked is None:
        return json_listing(body, url=url, index=index, project=project), None
    entries, bounds = walked
    check_entries(entries, url)
    groups, where = _json_entries(entries, url=url, index=index, project=project)
    listing = _listing(groups, url=url, index=index, project=project)
    return listing, page_spans(where, bounds)


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
    wheel_name = _plain_wheel_name(project)
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
        made = json_file(entry, url=url, index=index, project=project)
        if made is not None:
            groups.setdefault(made.version, []).append(made)
            where.setdefault(made.version, []).append(position)
    return groups, where


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
    project: NormalizedName | None,
) -> list[DistFile]:
    files = []
    for item in items:
        made = item if isinstance(item, DistFile) else json_file(item, url, index, project)
        if made is not None:
            files.append(made)
    return files


def spans_listing(
    body: ByteRanges, spans: Spans, *, url: str, index: str, project: NormalizedName
) -> FileListing:
    """The listing ``json_page`` gave with ``spans``, decoding only the versions asked for.

    ``spans`` must be well formed (``firsts`` ascending, ranges inside ``body``); raises
    ValueError for a version that does not parse. Should a range not hold what
    ``spans`` says (a damaged cache), the version is read from the whole body instead.
    """
    texts = spans.texts()
    firsts, bounds = spans.arrays()
    states = spans.states
    if not len(texts) == len(states) == len(firsts) - 1:
        raise ValueError("spans of another shape")
    groups: dict[Version, Any] = {}
    restored = _restored
    for at, text in enumerate(texts):
        state = states[at]
        version = (
            _valid_version(text) if state is None else restored.get(text) or _restore(text, state)
        )
        if version is None:
            raise ValueError(text)
        groups[version] = at  # one hash per version: Version hashes through Python code
    if len(groups) != len(texts):
        raise ValueError("a version is listed twice")
    build = partial(
        _build_span_group,
        body=body,
        texts=texts,
        firsts=firsts,
        bounds=bounds,
        url=url,
        index=index,
        project=project,
    )
    return FileListing(project, groups, build)


_restored: dict[str, Version] = {}
"""Versions restored from cached states, by string: shared as ``_valid_version``'s are."""


def _restore(text: str, state: Any) -> Version:
    """The version ``text`` parses to, from its state (the cache's checksum vouches that
    ``state`` is what ``page_spans`` wrote for ``text``)."""
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


def _build_span_group(
    version: Version,
    at: int,
    *,
    body: ByteRanges,
    texts: list[str],
    firsts: Sequence[int],
    bounds: Sequence[int],
    url: str,
    index: str,
    project: NormalizedName,
) -> list[DistFile]:
    try:
        span = bounds[2 * firsts[at] : 2 * firsts[at + 1]]
        if not span or any(a >= b for a, b in pairwise(span)):
            raise ValueError("ranges out of order")
        # One read from the first range's start to the last one's end.
        start = span[0]
        extent = body[start : span[-1]]
        ranges = [extent[span[i] - start : span[i + 1] - start] for i in range(0, len(span), 2)]
        entries = json.loads(b"[" + b",".join(ranges) + b"]")
        files = _span_files(version, texts[at], entries, url=url, index=index, project=project)
    except (ValueError, TypeError, IndexError):
        files = None
    if files is None:
        return _reparse_group(version, body, url=url, index=index, project=project)
    return files


def _span_files(
    version: Version,
    text: str,
    entries: list[Any],
    *,
    url: str,
    index: str,
    project: NormalizedName,
) -> list[DistFile] | None:
    """The files of ``entries``; None unless each is a file entry of ``version``.

    ``text`` is how the span spells ``version``: a plain wheel or sdist whose filename
    spells it so (``_version_text``) is a file of ``project`` at ``version`` without
    packaging's filename parser, as in ``_json_entries``.
    """
    wheel_name = _plain_wheel_name(project)
    # A plain wheel of this version starts so and has no other dash than its tags':
    # what _version_text checks, without splitting the filename.
    wheel_start = f"{wheel_name}-{text}-"
    plain_wheels = wheel_name != "-"
    plain = (project, version)
    files = []
    for entry in entries:
        if type(entry) is not dict:
            return None
        filename = entry.get("filename")
        if type(filename) is not str or type(entry.get("url")) is not str:
            return None
        if (
            plain_wheels
            and filename.startswith(wheel_start)
            and filename.endswith(".whl")
            and filename.count("-") == 4
        ):
            known: tuple[NormalizedName, Version] | None = plain
        else:
            known = (
                plain
                if filename.endswith(_DIST_SUFFIXES)
                and _version_text(filename, wheel_name, project) == text
                else None
            )
        made = json_file(entry, url, index, project, known)
        if made is None:
            continue  # as json_listing drops it
        if made.version is not version and made.version != version:
            return None
        files.append(made)
    return files


def _reparse_group(
    version: Version, body: ByteRanges, *, url: str, index: str, project: NormalizedName
) -> list[DistFile]:
    try:
        listing = json_listing(bytes(body), url=url, index=index, project=project)
    except (IndexResponseError, OSError, ValueError):
        raise IndexResponseError(
            f"the cached copy of {redact(url)} is damaged; run again with --refresh"
        ) from None
    return list(listing.group(version)) if version in listing.versions() else []
