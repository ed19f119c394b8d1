"""Core metadata (METADATA / PKG-INFO / PEP 658 ``.metadata``) bytes -> ``Metadata``.

Only the fields the resolver needs are validated, so a wheel with, say, a
malformed ``Home-page`` still resolves; legacy ``Requires-Dist`` spellings are read
leniently, and one that cannot be read at all makes the version unusable (the
resolver skips it with a warning).
"""

from __future__ import annotations

import re

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cloche.core.models import Metadata, normalize
from cloche.errors import InvalidMetadata

_STATIC_SDIST_MIN_VERSION = Version("2.2")
_RESOLVER_FIELDS = frozenset({"requires-dist", "requires-python"})


# ">=1.19.*": a wildcard on an ordering operator, which old setuptools let through.
_ORDERED_WILDCARD = re.compile(r"(~=|>=|<=|>|<)(\s*[0-9][^,;()\s]*?)\.\*")
_TRAILING_COMMA = re.compile(r",\s*(?=[;)]|$)")


def lenient_requirement(text: str) -> Requirement:
    """``Requirement(text)``, reading legacy spellings as uv does.

    ``numpy (>=1.19.*)`` is read as ``numpy>=1.19``; ``foo (>=1,)`` as ``foo>=1``.
    Raises InvalidRequirement for anything else that is not PEP 508.
    """
    try:
        return Requirement(text)
    except InvalidRequirement:
        repaired = _TRAILING_COMMA.sub("", _ORDERED_WILDCARD.sub(r"\1\2", text))
        if repaired == text:
            raise
        try:
            return Requirement(repaired)
        except InvalidRequirement:
            raise InvalidRequirement(f"{text!r} is not a valid requirement") from None


def parse_core_metadata(data: bytes, *, source: str) -> Metadata:
    """Parse core-metadata bytes; ``source`` (a filename or URL) names the origin in errors."""
    raw, _unparsed = parse_email(data)
    name = raw.get("name")
    if not name:
        raise InvalidMetadata(f"metadata of {source} has no Name field; the file is broken")
    version_text = raw.get("version")
    if not version_text:
        raise InvalidMetadata(f"metadata of {source} has no Version field; the file is broken")
    try:
        version = Version(version_text)
    except InvalidVersion:
        raise InvalidMetadata(
            f"metadata of {source} has an invalid Version {version_text!r}; the file is broken"
        ) from None
    requires: list[Requirement] = []
    for line in raw.get("requires_dist", []):
        try:
            requires.append(lenient_requirement(line))
        except InvalidRequirement as exc:
            raise InvalidMetadata(
                f"metadata of {source} has an invalid Requires-Dist {line!r}: {exc}"
            ) from None
    requires_python: SpecifierSet | None = None
    python_text = raw.get("requires_python")
    if python_text:
        try:
            requires_python = SpecifierSet(python_text)
        except InvalidSpecifier:
            raise InvalidMetadata(
                f"metadata of {source} has an invalid Requires-Python {python_text!r}"
            ) from None
    return Metadata(
        name=normalize(name),
        version=version,
        requires_dist=tuple(requires),
        requires_python=requires_python,
        provides_extras=frozenset(normalize(e) for e in raw.get("provides_extra", [])),
    )


def is_static_sdist_metadata(data: bytes) -> bool:
    """True when an sdist's PKG-INFO can be trusted for resolution (PEP 643).

    That needs Metadata-Version >= 2.2 and neither Requires-Dist nor
    Requires-Python marked Dynamic.
    """
    raw, _unparsed = parse_email(data)
    try:
        metadata_version = Version(raw.get("metadata_version", "0"))
    except InvalidVersion:
        return False
    if metadata_version < _STATIC_SDIST_MIN_VERSION:
        return False
    dynamic = {field.strip().lower() for field in raw.get("dynamic", [])}
    return not (dynamic & _RESOLVER_FIELDS)
