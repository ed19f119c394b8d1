"""The global cache: archives, wheels unpacked once, built wheels (see ``store.py``)."""

from __future__ import annotations

from cloche.adapters.store.store import BucketInfo, CacheError, Store, StoreInfo
from cloche.adapters.store.wheel import CorruptWheelError, RecordRow, UnpackedWheel

__all__ = [
    "BucketInfo",
    "CacheError",
    "CorruptWheelError",
    "RecordRow",
    "Store",
    "StoreInfo",
    "UnpackedWheel",
]
