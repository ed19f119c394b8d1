"""A PEP 691 project page kept digested: each version's files as one marshal'd blob.

A warm resolve reads a few versions of pages that list thousands of files. The page
cache keeps, instead of the page's JSON, each version's files as rows (``Row``: a plain
wheel's or sdist's entry as it came, other files' checked ``DistFile`` fields), one
blob per version, and in its header where each blob lies (``Spans``). A later run reads
and builds only the versions it asks for (see ``json_listing.spans_listing``): no JSON
decoding and no filename parsing per file.
"""

from __future__ import annotations

import binascii
import marshal
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cloche.core.models import DistFile, NormalizedName

if TYPE_CHECKING:
    from packaging.version import Version

_PLAIN_VERSION = frozenset("0123456789.")
"""The characters of a version string packaging parses on its fast path."""

Row = tuple[Any, ...]
"""One file: filename, url, hashes, Requires-Python text, yanked, metadata hashes, size,
upload time, then its name and version string where they differ from the project's and
the version's own (else None); or, for a plain wheel or sdist of the project, its page
entry as it came and that version string (a pair: caching a page parses no entry)."""


@dataclass(frozen=True, slots=True)
class Spans:
    """Where each version's blob lies in a digested page body, in a form that loads fast.

    Version ``i`` (in listed order) is ``body[offsets[i]:offsets[i + 1]]``, checked by
    ``checks[i]`` (``blob_check``; ``offsets`` and ``checks`` read as arrays, see
    ``arrays``).
    """

    versions: str
    """Each version's string, newline-separated (no version string holds one)."""
    offsets: bytes
    """``array("q")``: where each version's blob starts, and where the last one ends."""
    checks: bytes
    """``array("I")``: each blob's ``blob_check``."""
    states: tuple[Any, ...]
    """Per version, ``Version.__getstate__()`` (packaging's stable pickle state), which
    restores a version without parsing it; None for a plain ``1.2.3`` (parsed fast)."""

    def texts(self) -> list[str]:
        return self.versions.split("\n") if self.versions else []

    def arrays(self) -> tuple[array[int], array[int]]:
        """``offsets`` and ``checks`` as arrays (in this machine's byte order)."""
        offsets, checks = array("q"), array("I")
        offsets.frombytes(self.offsets)
        checks.frombytes(self.checks)
        return offsets, checks


def digest_page(groups: Iterable[tuple[Version, Iterable[Row]]]) -> tuple[bytes, Spans]:
    """The digested body of a page whose files are ``groups`` (each version's rows, in
    listed order), and its spans."""
    texts: list[str] = []
    states: list[Any] = []
    offsets = array("q", [0])
    checks = array("I")
    blobs: list[bytes] = []
    for version, rows in groups:
        text = str(version)
        texts.append(text)
        states.append(None if _PLAIN_VERSION.issuperset(text) else version.__getstate__())
        blob = marshal.dumps(tuple(rows))
        blobs.append(blob)
        offsets.append(offsets[-1] + len(blob))
        checks.append(blob_check(blob, text))
    spans = Spans("\n".join(texts), offsets.tobytes(), checks.tobytes(), tuple(states))
    return b"".join(blobs), spans


def blob_check(blob: bytes, text: str) -> int:
    """The CRC-32 of a version's string and its blob: a blob read for another version
    (spans that lie) fails it as a damaged one does."""
    return binascii.crc32(blob, binascii.crc32(text.encode()))


def file_row(file: DistFile, project: NormalizedName, text: str) -> Row:
    """The row of ``file``, listed under the version spelled ``text``."""
    requires_python = file.requires_python
    version = str(file.version)
    return (
        file.filename,
        file.url,
        file.hashes,
        None if requires_python is None else str(requires_python),
        file.yanked,
        file.metadata_hashes,
        file.size,
        file.upload_time,
        None if file.name == project else file.name,
        None if version == text else version,
    )


class Replaced(ValueError):
    """The page file was replaced since it was loaded (another process refreshed it)."""


class ByteRanges(Protocol):
    """A page body that can be read a range at a time (bytes, or a cached page's body,
    which raises ``Replaced`` once its file was replaced)."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: slice, /) -> bytes: ...
    def __bytes__(self) -> bytes: ...
