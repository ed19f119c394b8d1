"""The global cache: archives, wheels unpacked once, built wheels (see ``store.py``).

The names below are loaded on first use: an unpack helper process (``workers.py``)
imports this package but needs neither the store nor its file locks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloche.adapters.store.maintenance import BucketInfo, StoreInfo, StoreMaintenance
    from cloche.adapters.store.store import Store
    from cloche.adapters.store.wheel import RecordRow, UnpackedWheel
    from cloche.errors import CacheError, CorruptWheelError

_HOMES = {
    "BucketInfo": "maintenance",
    "CacheError": "cloche.errors",
    "Store": "store",
    "StoreInfo": "maintenance",
    "StoreMaintenance": "maintenance",
    "CorruptWheelError": "cloche.errors",
    "RecordRow": "wheel",
    "UnpackedWheel": "wheel",
}

__all__ = [
    "BucketInfo",
    "CacheError",
    "CorruptWheelError",
    "RecordRow",
    "Store",
    "StoreInfo",
    "StoreMaintenance",
    "UnpackedWheel",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = home if home.startswith("cloche.") else f"{__name__}.{home}"
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
