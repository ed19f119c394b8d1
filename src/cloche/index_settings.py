"""Which indexes a command may ask, in which order, and which names are pinned to one.

The search order follows uv: ``--extra-index-url`` entries first (in the order
given), then the named ``[[tool.cloche.index]]`` entries that are not explicit
(in the order listed), then the default index (``--index-url``, PyPI unless
set). A package pinned to an index (``[tool.cloche.sources] torch = { index =
"pytorch" }``, or ``Settings.package_indexes``) is looked up on that index alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloche.errors import UsageError

if TYPE_CHECKING:
    from cloche.core.models import NormalizedName

_NO_PINS: Mapping[NormalizedName, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class NamedIndex:
    """``[[tool.cloche.index]] name = ..., url = ..., explicit = ...``."""

    name: str
    url: str
    explicit: bool = False
    """Used only by the packages pinned to it, never searched for other names."""


def no_pins() -> Mapping[NormalizedName, str]:
    return _NO_PINS


def frozen_pins(
    pins: Mapping[str, str] | Mapping[NormalizedName, str],
) -> Mapping[NormalizedName, str]:
    """``pins`` keyed by normalized names, read-only."""
    if not pins:
        return _NO_PINS  # most commands: no import of the models at start-up
    from cloche.core.models import normalize

    return MappingProxyType({normalize(name): url for name, url in pins.items()})


def search_order(
    default: str, extras: Iterable[str], named: Iterable[NamedIndex]
) -> tuple[str, ...]:
    """Index URLs in the order a name is looked up (explicit indexes left out)."""
    searched = [*extras, *(index.url for index in named if not index.explicit), default]
    return tuple(dict.fromkeys(searched))


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
