"""Requires-Dist lines of cached metadata, parsed with their common parts shared.

A warm resolve reads ~1,500 of them, and packaging's parser was a tenth of its time;
most are ``name[extras]specifier; marker`` where the marker is one of a few hundred
(``extra == "dev"``...) and many a ``name>=x`` comes back in package after package.
Each distinct part is parsed once per process: a marker by packaging itself, the
rest by packaging too unless it has the form ``str(Requirement)`` writes (how the
metadata cache stores it), ``name[a,b]>=1,<2``, whose specifier is then the one
``SpecifierSet`` that packaging's parser would make of it. Anything else (a URL, a
line packaging rejects) goes through ``Requirement`` whole, as before.
"""

from __future__ import annotations

import functools
import re

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_ONE_SPEC = r"(?:~=|===?|!=|<=|>=|<|>)[A-Za-z0-9._*+!-]+"
_PLAIN = re.compile(
    rf"(?P<name>{_NAME})(?:\[(?P<extras>{_NAME}(?:,{_NAME})*)\])?"
    rf"(?P<specifier>{_ONE_SPEC}(?:,{_ONE_SPEC})*)?"
)
"""``name[extras]specifiers`` as ``str(Requirement)`` writes it: no spaces, no URL."""


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
    plain = _PLAIN.fullmatch(text)
    if plain is None:
        return Requirement(text)
    requirement = Requirement.__new__(Requirement)
    requirement.name = plain["name"]
    requirement.url = None
    extras = plain["extras"]
    requirement.extras = set(extras.split(",")) if extras else set()
    requirement.specifier = shared_specifier(plain["specifier"] or "")
    requirement.marker = None
    return requirement


@functools.lru_cache(maxsize=4096)
def shared_specifier(text: str) -> SpecifierSet:
    """``SpecifierSet(text)``, one object per distinct text (also Requires-Python values)."""
    return SpecifierSet(text)


@functools.lru_cache(maxsize=1024)
def _marker(text: str) -> Marker:
    return Marker(text)
