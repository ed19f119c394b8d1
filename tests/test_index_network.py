"""Against the real package index (marked network): numpy's page and one wheel's metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from cloche.adapters.index import IndexClient
from cloche.config import Settings
from cloche.core.models import NormalizedName

pytestmark = pytest.mark.network


def test_numpy_page(tmp_path: Path) -> None:
    with IndexClient(Settings(cache_dir=tmp_path / "cache")) as client:
        files = client.files(NormalizedName("numpy"))
    assert len(files) > 1000
    assert any(f.version == Version("1.26.4") and f.is_wheel for f in files)
    assert all(f.name == "numpy" and f.url.startswith("https://") for f in files)


def test_numpy_wheel_metadata(tmp_path: Path) -> None:
    with IndexClient(Settings(cache_dir=tmp_path / "cache")) as client:
        files = client.files(NormalizedName("numpy"))
        wheel = next(
            f for f in files if f.version == Version("1.26.4") and "manylinux" in f.filename
        )
        meta = client.metadata(wheel)
    assert meta.name == "numpy" and meta.version == Version("1.26.4")
    assert meta.requires_python is not None and meta.requires_python.contains("3.11")
