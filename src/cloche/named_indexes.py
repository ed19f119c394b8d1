"""``[[tool.cloche.index]]`` tables and the ``sources`` entries that pin a name to one.

Read only when a configuration has them: apart from ``index_settings`` so that
most commands never create the ``NamedIndex`` class (a frozen dataclass costs
about a millisecond to make).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloche.errors import UsageError
from cloche.index_settings import frozen_pins

if TYPE_CHECKING:
    from cloche.core.models import NormalizedName


@dataclass(frozen=True, slots=True)
class NamedIndex:
    """``[[tool.cloche.index]] name = ..., url = ..., explicit = ...``."""

    name: str
    url: str
    explicit: bool = False
    """Used only by the packages pinned to it, never searched for other names."""


def read_named_indexes(value: Any, where: str) -> tuple[NamedIndex, ...]:
    """The ``index`` array of tables of a config table."""
    if not isinstance(value, list):
        raise UsageError(f"invalid value for index in {where}: expected an array of tables")
    out: list[NamedIndex] = []
    for position, entry in enumerate(value):
        key = f"index[{position}] in {where}"
        if not isinstance(entry, Mapping):
            raise UsageError(f"invalid value for {key}: expected a table")
        unknown = sorted(set(entry) - {"name", "url", "explicit"})
        if unknown:
            raise UsageError(f"{key}: unknown key {unknown[0]!r} (known: name, url, explicit)")
        name, url, explicit = entry.get("name"), entry.get("url"), entry.get("explicit", False)
        if not isinstance(name, str) or not name:
            raise UsageError(f"{key}: needs a name (a string)")
        if not isinstance(url, str) or not url:
            raise UsageError(f"{key}: index {name!r} needs a url (a string)")
        if not isinstance(explicit, bool):
            raise UsageError(f"{key}: explicit must be true or false, got {explicit!r}")
        if any(index.name == name for index in out):
            raise UsageError(f"{key}: index {name!r} is defined twice")
        out.append(NamedIndex(name, url, explicit))
    return tuple(out)


def read_index_pins(
    sources: Any, indexes: Iterable[NamedIndex], where: str
) -> Mapping[NormalizedName, str]:
    """``sources`` entries of the form ``name = { index = "<index name>" }``, as URLs.

    Other entries (paths) belong to the project reader and are skipped here.
    """
    if not isinstance(sources, Mapping):
        raise UsageError(f"invalid value for sources in {where}: expected a table")
    by_name = {index.name: index.url for index in indexes}
    pins: dict[str, str] = {}
    for package, entry in sources.items():
        if not isinstance(entry, Mapping) or "index" not in entry:
            continue
        index = entry["index"]
        if index not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise UsageError(
                f"sources.{package} in {where} names index {index!r}, which no "
                f"[[tool.cloche.index]] defines (defined: {known})"
            )
        pins[package] = by_name[index]
    return frozen_pins(pins)
