"""Raw deflate decompression: ISA-L (python-isal) where it is installed, else zlib.

Inflating is most of the CPU time of a cold install (a few hundred MB of wheel
contents); ISA-L does it about twice as fast as the zlib CPython ships with, and
like zlib it releases the GIL while it works. The two agree byte for byte; only
their error types differ, so callers catch ``ERRORS``.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any, Protocol


class Inflater(Protocol):
    """The part of a ``zlib.decompressobj`` the unpacker uses."""

    @property
    def eof(self) -> bool: ...

    @property
    def unconsumed_tail(self) -> bytes:
        """Input left over when ``max_length`` stopped the last call."""

    def decompress(self, data: bytes | memoryview, max_length: int = 0, /) -> bytes: ...


def _load_isal() -> Any:
    try:
        return importlib.import_module("isal.isal_zlib")
    except ImportError:  # pragma: no cover - a platform without an isal wheel
        return None


_fast = _load_isal()

ERRORS: tuple[type[Exception], ...] = (zlib.error,) if _fast is None else (zlib.error, _fast.error)
"""What a corrupt deflate stream raises."""

ENGINE = "zlib" if _fast is None else "isal"


def raw_inflater() -> Inflater:
    """A decompressor for a raw deflate stream (a zip member)."""
    if _fast is not None:
        inflater: Inflater = _fast.decompressobj(-zlib.MAX_WBITS)
        return inflater
    return zlib.decompressobj(-zlib.MAX_WBITS)
