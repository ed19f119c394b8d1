"""Requires-Dist lines of cached metadata, parsed with their common parts shared.

A warm resolve reads ~1,500 of them, and packaging's parser was a tenth of its time;
most are ``name[extras]specifier; marker`` where the marker is one of a few hundred
(``extra == "dev"``...) and many a ``name>=x`` comes back in package after package.
Each distinct part is parsed once per process by packaging itself; anything else
(a URL, a line packaging rejects) goes through ``Requirement`` whole, as before.
"""

from __future__ import annotations

import functools

from packaging.markers import Marker
from packaging.requirements import Requirement


def parse_requires_dist(text: str) -> Requirement:
    """``Requirement(text)``, equal in every field, from shared parsed parts."""
    left, semicolon, marker_text = text.partition(";")
    if "@" in left:
        return Requirement(text)  # a URL may hold a ';' of its own
    try:
        base = _base(left)
        marker = _marker(marker_text) if semicolon else None
    except ValueError:
        return Requirement(text)  # packaging's own error for the whole line
    requirement = Requirement.__new__(Requirement)
    requirement.name = base.name
    requirement.url = None
    requirement.extras = set(base.extras)
    # Shared between equal lines: nothing in cloche changes a parsed specifier or marker.
    requirement.specifier = base.specifier
    requirement.marker = marker
    return requirement


@functools.lru_cache(maxsize=4096)
def _base(text: str) -> Requirement:
    return Requirement(text)


@functools.lru_cache(maxsize=1024)
def _marker(text: str) -> Marker:
    return Marker(text)
