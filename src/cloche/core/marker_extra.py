"""A requirement's marker as it stands once an extra is chosen.

A build backend reports an extra's requirements in the core metadata with the extra
in their marker (``Requires-Dist: rich; python_version >= "3.9" and extra == "cli"``).
Given as a project's own requirements (``pip compile setup.py --extra cli``) they
need that condition decided and the rest of the marker kept for the target to judge.
"""

from __future__ import annotations

from packaging.markers import Marker
from packaging.requirements import Requirement

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def for_extra(req: Requirement, extra: str) -> Requirement | None:
    """``req`` with ``extra`` chosen: without the comparisons on ``extra`` in its marker
    (None when they rule it out)."""
    if req.marker is None:
        return req
    decided = _decide(_tree(req.marker), extra)
    if decided is False:
        return None
    chosen = Requirement(str(req))
    chosen.marker = None if decided is True else Marker(decided)
    return chosen


def _tree(marker: Marker) -> Sequence[Any]:
    # packaging keeps the parsed form here (a list of atoms, nested lists and
    # "and"/"or"); it offers no public way to walk or rebuild a marker.
    tree: Sequence[Any] = marker._markers
    return tree


def _decide(items: Sequence[Any], extra: str) -> bool | str:
    """True, False or the marker text left once every ``extra`` comparison is decided."""
    alternatives: list[list[bool | str]] = [[]]
    for item in items:
        if item == "or":
            alternatives.append([])
        elif item != "and":
            alternatives[-1].append(_term(item, extra))
    kept: list[str] = []
    for terms in alternatives:
        if False in terms:
            continue
        left = [_grouped(term) for term in terms if term is not True]
        if not left:
            return True
        kept.append(" and ".join(left))
    if not kept:
        return False
    return " or ".join(kept)


def _term(item: Any, extra: str) -> bool | str:
    if isinstance(item, list):
        return _decide(item, extra)
    text = " ".join(part.serialize() for part in item)
    if any(part.serialize() == "extra" for part in (item[0], item[2])):
        return Marker(text).evaluate({"extra": extra})
    return text


def _grouped(term: bool | str) -> str:
    return f"({term})" if isinstance(term, str) and " or " in term else str(term)
