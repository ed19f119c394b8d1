"""Wheels unpacked while they download: same result and same refusals as from a file."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cloche.adapters.index.download import Sink
from cloche.adapters.store import CorruptWheelError, Store
from cloche.errors import HashMismatchError
from tests.support.dists import make_wheel
from tests.test_store import BAD_CASES, _bad_wheels, check_refused


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


def feeder(data: bytes, chunk: int) -> Callable[[Sink], None]:
    def fetch(sink: Sink) -> None:
        for start in range(0, len(data), chunk):
            sink.write(data[start : start + chunk])

    return fetch


def sample_wheel(directory: Path) -> Path:
    files: dict[str, str | bytes] = {f"demo/m{i}.py": f"V = {i}\n" * i for i in range(40)}
    files["demo/sub/data.bin"] = os.urandom(300_000)
    files["demo/empty.txt"] = b""
    return make_wheel(
        directory, "demo", "1.0", files=files, data={"scripts/tool": "#!python\nprint(1)\n"}
    )


def tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), os.access(p, os.X_OK))
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".cloche-manifest.json"
    }


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 30])
def test_streamed_unpack_matches_unpack_from_a_file(tmp_path: Path, chunk: int) -> None:
    wheel = sample_wheel(tmp_path / "w")
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    from_file = Store(tmp_path / "a")
    archive, _ = from_file.add_archive(wheel, wheel.name, move=False)
    expected = from_file.unpack_wheel(archive, digest)

    streamed_store = Store(tmp_path / "b")
    streamed = streamed_store.unpack_wheel_stream(wheel.name, digest, feeder(data, chunk))

    assert streamed.records == expected.records
    assert (streamed.dist_info, streamed.name, streamed.version) == (
        expected.dist_info,
        expected.name,
        expected.version,
    )
    assert tree(streamed.path) == tree(expected.path)
    assert os.access(streamed.path / "demo-1.0.data/scripts/tool", os.X_OK)
    assert streamed_store.unpacked(digest) == streamed
    assert list((streamed_store.root / "tmp").iterdir()) == []
    assert not (streamed_store.root / "archives-v1").exists()
    manifest = json.loads((streamed.path / ".cloche-manifest.json").read_text())
    assert manifest["sha256"] == digest


def test_a_restarted_download_starts_over(store: Store, tmp_path: Path) -> None:
    wheel = sample_wheel(tmp_path / "w")
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()

    def fetch(sink: Sink) -> None:
        feeder(data[: len(data) // 2], 1000)(sink)
        sink.restart()
        feeder(data, 1000)(sink)

    unpacked = store.unpack_wheel_stream(wheel.name, digest, fetch)
    plain = Store(tmp_path / "plain")
    archive, _ = plain.add_archive(wheel, wheel.name, move=False)
    assert unpacked.records == plain.unpack_wheel(archive, digest).records
    assert tree(unpacked.path) == tree(plain.unpacked(digest).path)  # type: ignore[union-attr]


def test_already_unpacked_wheels_are_not_fetched(store: Store, tmp_path: Path) -> None:
    wheel = sample_wheel(tmp_path / "w")
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    first = store.unpack_wheel_stream(wheel.name, digest, feeder(data, 1 << 16))

    def must_not_run(sink: Sink) -> None:
        raise AssertionError("fetched again")

    assert store.unpack_wheel_stream(wheel.name, digest, must_not_run) == first


def test_a_failed_download_leaves_nothing(store: Store, tmp_path: Path) -> None:
    wheel = sample_wheel(tmp_path / "w")
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()

    def fetch(sink: Sink) -> None:
        feeder(data, 1000)(sink)
        raise HashMismatchError("hash mismatch for demo-1.0-py3-none-any.whl")

    with pytest.raises(HashMismatchError):
        store.unpack_wheel_stream(wheel.name, digest, fetch)
    assert store.unpacked(digest) is None
    assert not (store.root / "wheels-v1" / digest).exists()
    assert list((store.root / "tmp").iterdir()) == []


@pytest.mark.parametrize("case", BAD_CASES)
@pytest.mark.parametrize("chunk", [3, 1 << 30])
def test_streamed_unpack_refuses_bad_wheels(
    store: Store, tmp_path: Path, case: str, chunk: int
) -> None:
    wheel, detail = _bad_wheels(tmp_path / "bad")[case]
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(CorruptWheelError) as info:
        store.unpack_wheel_stream(wheel.name, digest, feeder(data, chunk))
    check_refused(info.value, detail, store, digest, tmp_path)


def test_a_local_entry_missing_from_the_central_directory_is_not_kept(
    store: Store, tmp_path: Path
) -> None:
    wheel = sample_wheel(tmp_path / "w")
    hidden = tmp_path / "hidden" / wheel.name
    hidden.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(hidden, "w") as dst:
        dst.writestr("demo/smuggled.py", "EVIL = 1\n")
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        smuggled = dst.NameToInfo.pop("demo/smuggled.py")
        dst.filelist.remove(smuggled)
    data = hidden.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    unpacked = store.unpack_wheel_stream(hidden.name, digest, feeder(data, 1 << 30))
    assert not (unpacked.path / "demo/smuggled.py").exists()
    assert "demo/smuggled.py" not in {row.path for row in unpacked.records}
