"""Reading METADATA / PKG-INFO out of downloaded archives, and refusing broken ones."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from cloche.adapters.index.archive import sdist_metadata, wheel_metadata
from cloche.errors import CorruptArchive


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_wheel_metadata_prefers_the_dist_info_named_like_the_wheel(tmp_path: Path) -> None:
    wheel = _zip(
        tmp_path / "pkg-1.0-py3-none-any.whl",
        {
            "other-2.0.dist-info/METADATA": b"Name: other\n",
            "pkg-1.0.dist-info/METADATA": b"Name: pkg\n",
            "deep/pkg-1.0.dist-info/METADATA": b"Name: nested\n",
        },
    )
    assert wheel_metadata(wheel, wheel.name) == b"Name: pkg\n"
    assert wheel_metadata(io.BytesIO(wheel.read_bytes()), wheel.name) == b"Name: pkg\n"


def test_broken_wheels_are_one_clear_error(tmp_path: Path) -> None:
    no_metadata = _zip(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/__init__.py": b""})
    with pytest.raises(CorruptArchive, match=r"has no \.dist-info/METADATA; the wheel is broken"):
        wheel_metadata(no_metadata, no_metadata.name)
    garbage = tmp_path / "bad-1.0-py3-none-any.whl"
    garbage.write_bytes(b"this is not a zip")
    with pytest.raises(CorruptArchive, match=r"is not a valid wheel \(zip\)"):
        wheel_metadata(garbage, garbage.name)


def test_sdist_metadata_from_tar_gz_and_zip(tmp_path: Path) -> None:
    tgz = _tar(tmp_path / "pkg-1.0.tar.gz", {"pkg-1.0/PKG-INFO": b"Name: pkg\n"})
    assert sdist_metadata(tgz, tgz.name) == b"Name: pkg\n"
    zipped = _zip(tmp_path / "pkg-1.0.zip", {"pkg-1.0/PKG-INFO": b"Name: zipped\n"})
    assert sdist_metadata(zipped, zipped.name) == b"Name: zipped\n"


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("nopkginfo-1.0.tar.gz", "has no PKG-INFO; the sdist is broken"),
        ("nopkginfo-1.0.zip", "has no PKG-INFO; the sdist is broken"),
        ("garbage-1.0.tar.gz", "is not a valid sdist"),
        ("garbage-1.0.zip", "is not a valid sdist"),
    ],
)
def test_broken_sdists_are_one_clear_error(tmp_path: Path, filename: str, message: str) -> None:
    path = tmp_path / filename
    if filename.startswith("garbage"):
        path.write_bytes(b"not an archive at all")
    elif filename.endswith(".zip"):
        _zip(path, {"nopkginfo-1.0/setup.py": b""})
    else:
        _tar(path, {"nopkginfo-1.0/setup.py": b"", "nopkginfo-1.0/sub/PKG-INFO": b"x"})
    with pytest.raises(CorruptArchive, match=message):
        sdist_metadata(path, filename)
