"""Package indexes (PEP 503/691/658), find-links and downloads.

The heavy parts (httpx) load on first use; ``from cloche.adapters.index import
IndexClient`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloche.adapters.index.client import IndexClient
    from cloche.adapters.index.errors import NeedsBuild

__all__ = ["IndexClient", "NeedsBuild"]


def __getattr__(name: str) -> Any:
    if name == "IndexClient":
        from cloche.adapters.index.client import IndexClient

        return IndexClient
    if name == "NeedsBuild":
        from cloche.adapters.index.errors import NeedsBuild

        return NeedsBuild
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
