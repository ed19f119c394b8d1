"""Which indexes a command may ask, in which order, and which names are pinned to one.

The search order (``Settings.index_search_order``) follows uv: ``--extra-index-url``
entries first (in the order given), then the named ``[[tool.cloche.index]]``
entries that are not explicit (in the order listed), then the default index
(``--index-url``, PyPI unless set). A package pinned to an index
(``[tool.cloche.sources] torch = { index = "pytorch" }``, or
``Settings.package_indexes``) is looked up on that index alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloche.core.models import NormalizedName

_NO_PINS: Mapping[NormalizedName, str] = MappingProxyType({})


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
