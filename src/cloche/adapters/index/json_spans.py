"""Where each version's entries lie in a PEP 691 page body, found by a quick walk.

``json.loads`` decodes a whole page; the walk here reads the ``files`` entries with
the same C scanners and keeps each entry's byte bounds, so a cached page can later
be read back one version at a time (see ``json_listing.spans_listing``).
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cloche.adapters.index.api_version import check_meta

if TYPE_CHECKING:
    from packaging.version import Version

_PLAIN_VERSION = frozenset("0123456789.")
"""The characters of a version string packaging parses on its fast path."""


@dataclass(frozen=True, slots=True)
class Spans:
    """Where each version's entries lie in a page body, in a form that loads fast.

    Version ``i`` (in listed order) has the byte ranges ``firsts[i]`` to
    ``firsts[i + 1]`` of ``bounds`` (read as arrays, see ``ranges``). Each ``[start,
    end)`` holds one or more adjacent entries of that version (with the commas between
    them), so joining a version's ranges with commas inside ``[]`` gives its entries
    as one JSON array.
    """

    versions: str
    """Each version's string, newline-separated (no version string holds one)."""
    firsts: bytes
    """``array("I")``: the index of each version's first range, and one past the last."""
    bounds: bytes
    """``array("q")``: start and end of each range."""
    states: tuple[Any, ...]
    """Per version, ``Version.__getstate__()`` (packaging's stable pickle state), which
    restores a version without parsing it; None for a plain ``1.2.3`` (parsed fast)."""

    def texts(self) -> list[str]:
        return self.versions.split("\n") if self.versions else []

    def arrays(self) -> tuple[array[int], array[int]]:
        """``firsts`` and ``bounds`` as arrays (in this machine's byte order)."""
        firsts, bounds = array("I"), array("q")
        firsts.frombytes(self.firsts)
        bounds.frombytes(self.bounds)
        return firsts, bounds


# The C scanners behind json.loads (typeshed does not list them).
_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """The first index from ``at`` on that is not JSON whitespace."""
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # always matches


def walk_page(body: bytes) -> tuple[list[Any], list[int]] | None:
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


def page_spans(where: dict[Version, list[int]], bounds: list[int]) -> Spans:
    """The spans of each version's entries, given their positions in a page's ``files``
    list (``where``, in listed order) and each entry's bounds (``walk_page``)."""
    texts: list[str] = []
    states: list[Any] = []
    firsts = array("I", [0])
    ranges = array("q")
    for version, positions in where.items():
        text = str(version)
        texts.append(text)
        states.append(None if _PLAIN_VERSION.issuperset(text) else version.__getstate__())
        previous = -2
        for position in positions:
            if position == previous + 1:
                ranges[-1] = bounds[2 * position + 1]  # adjacent: one range
            else:
                ranges.append(bounds[2 * position])
                ranges.append(bounds[2 * position + 1])
            previous = position
        firsts.append(len(ranges) // 2)
    return Spans("\n".join(texts), firsts.tobytes(), ranges.tobytes(), tuple(states))


class ByteRanges(Protocol):
    """A page body that can be read a range at a time (bytes, or a cached page's body)."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: slice, /) -> bytes: ...
    def __bytes__(self) -> bytes: ...
