"""core.digests: the cache keys' SHA-256 without hashlib, the same digests."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from cloche.core.digests import sha256_hex


@pytest.mark.parametrize(
    "data", [b"", b"x", b"https://pypi.org/simple/numpy/", bytes(range(256)) * 9]
)
def test_sha256_hex_is_hashlibs_digest(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_importing_it_does_not_load_openssl() -> None:
    code = "import sys, cloche.core.digests; print('_hashlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
