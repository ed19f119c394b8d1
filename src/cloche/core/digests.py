"""SHA-256 of short keys (cache file names) without importing ``hashlib``.

``import hashlib`` loads OpenSSL (``_hashlib``), ~0.7% of a warm offline compile that
only hashes a few hundred cache keys. CPython's own SHA-256 module gives the same
digests; ``hashlib`` is the fallback where it is missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _sha256() -> Callable[[bytes], Any]:
    for name in ("_sha2", "_sha256"):  # CPython 3.12+, 3.10-3.11
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256


_SHA256 = _sha256()


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 digest of ``data``."""
    return str(_SHA256(data).hexdigest())
