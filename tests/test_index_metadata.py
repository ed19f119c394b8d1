"""Metadata paths (PEP 658, speculative .metadata, range read, download) and downloads."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from cloche.adapters.index import IndexClient, NeedsBuild
from cloche.config import Settings
from cloche.core.models import DistFile, NormalizedName
from cloche.errors import ClocheError, HashMismatchError, IndexResponseError
from tests.support.index_server import IndexServer


def client_for(server: IndexServer, tmp_path: Path, **kwargs: Any) -> IndexClient:
    return IndexClient(Settings(cache_dir=tmp_path / "cache", index_url=server.url, **kwargs))


def only_file(client: IndexClient, name: str) -> DistFile:
    (file,) = client.files(NormalizedName(name))
    return file


def file_requests(server: IndexServer, filename: str) -> list[tuple[str, str | None]]:
    """(path, Range header) of every request for ``filename`` or its .metadata."""
    return [
        (r.path.rsplit("/", 1)[-1], r.headers.get("Range"))
        for r in server.requests
        if r.path.startswith(f"/files/{filename}")
    ]


def test_pep658_metadata_when_advertised(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = index_server.add_wheel("demo", "1.0", requires=["dep>=1"], requires_python=">=3.9")
    with client_for(index_server, tmp_path) as client:
        meta = client.metadata(only_file(client, "demo"))
    assert [str(r) for r in meta.requires_dist] == ["dep>=1"]
    assert str(meta.requires_python) == ">=3.9"
    assert file_requests(index_server, wheel.name) == [(wheel.name + ".metadata", None)]


def test_pep658_hash_is_checked(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_wheel("demo", "1.0")
    with client_for(index_server, tmp_path) as client:
        file = dataclasses.replace(only_file(client, "demo"), metadata_hashes=(("sha256", "00"),))
        with pytest.raises(HashMismatchError) as info:
            client.metadata(file)
    assert "demo-1.0-py3-none-any.whl.metadata" in str(info.value)
    assert "expected sha256 00" in str(info.value)


def test_unadvertised_metadata_file_is_not_guessed(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.advertise_metadata = False  # the file is served, but not announced
    wheel = index_server.add_wheel("demo", "1.0", requires=["dep"])
    with client_for(index_server, tmp_path) as client:
        file = only_file(client, "demo")
        assert file.metadata_hashes is None
        assert [str(r) for r in client.metadata(file).requires_dist] == ["dep"]
    assert file_requests(index_server, wheel.name) == [(wheel.name, "bytes=-65536")]


def test_range_read_when_no_metadata_files(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.advertise_metadata = False
    index_server.serve_metadata_files = False
    wheels = [index_server.add_wheel(n, "1.0", requires=[f"{n}-dep"]) for n in ("a", "b")]
    # A large incompressible dist-info file after METADATA puts it outside the tail.
    big = index_server.add_wheel(
        "big", "1.0", requires=["x"], dist_info_files={"zz.bin": os.urandom(300_000)}
    )
    with client_for(index_server, tmp_path) as client:
        for name in ("a", "b", "big"):
            meta = client.metadata(only_file(client, name))
            assert [str(r) for r in meta.requires_dist] == ["x" if name == "big" else f"{name}-dep"]
    for wheel in wheels:
        assert file_requests(index_server, wheel.name) == [(wheel.name, "bytes=-65536")]
    big_requests = file_requests(index_server, big.name)
    assert big_requests[0] == (big.name, "bytes=-65536")
    assert len(big_requests) == 2
    assert all(path == big.name and rng for path, rng in big_requests)


def test_full_download_without_ranges(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.advertise_metadata = False
    index_server.serve_metadata_files = False
    index_server.support_range = False
    first = index_server.add_wheel("demo", "1.0", requires=["dep"])
    second = index_server.add_wheel("other", "1.0")
    third = index_server.add_wheel("third", "1.0")
    with client_for(index_server, tmp_path) as client:
        file = only_file(client, "demo")
        assert [str(r) for r in client.metadata(file).requires_dist] == ["dep"]
        assert client.metadata(only_file(client, "other")).name == "other"
        assert client.metadata(only_file(client, "third")).name == "third"
        # The wheel is in the client's archive cache now: download() costs no request.
        before = len(index_server.requests)
        path = client.download(file, tmp_path / "out")
        assert len(index_server.requests) == before
    assert path.read_bytes() == first.read_bytes()
    assert (first.name, None) in file_requests(index_server, first.name)
    # Ranges were found unsupported on the first wheel; later ones are downloaded directly.
    assert (second.name, "bytes=-65536") not in file_requests(index_server, second.name)
    assert file_requests(index_server, third.name) == [(third.name, None)]


def test_metadata_is_cached_on_disk(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = index_server.add_wheel("demo", "1.0")
    with client_for(index_server, tmp_path) as client:
        first = client.metadata(only_file(client, "demo"))
    with client_for(index_server, tmp_path) as client:
        assert client.metadata(only_file(client, "demo")) == first
    assert len(file_requests(index_server, wheel.name)) == 1


def test_remote_sdists(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_sdist("static", "1.0", requires=["dep"])
    index_server.add_sdist("dynamic", "1.0", dynamic=["Requires-Dist"])
    with client_for(index_server, tmp_path) as client:
        meta = client.metadata(only_file(client, "static"))
        assert [str(r) for r in meta.requires_dist] == ["dep"]
        file = only_file(client, "dynamic")
        with pytest.raises(NeedsBuild) as info:
            client.metadata(file)
    assert info.value.file == file
    assert info.value.archive is not None and info.value.archive.is_file()


def test_corrupt_wheel(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.advertise_metadata = False
    index_server.serve_metadata_files = False
    wheel = index_server.add_wheel("demo", "1.0")
    index_server.garbage.add(f"/files/{wheel.name}")
    with client_for(index_server, tmp_path) as client, pytest.raises(ClocheError) as info:
        client.metadata(only_file(client, "demo"))
    assert wheel.name in str(info.value)


def test_download_checks_the_hash(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = index_server.add_wheel("demo", "1.0")
    out = tmp_path / "out"
    with client_for(index_server, tmp_path) as client:
        file = only_file(client, "demo")
        assert client.download(file, out).read_bytes() == wheel.read_bytes()
        bad = dataclasses.replace(file, hashes=(("sha256", "0" * 64),))
        (out / wheel.name).unlink()
        with pytest.raises(HashMismatchError) as info:
            client.download(bad, out)
    message = str(info.value)
    assert wheel.name in message and "0" * 64 in message and str(file.sha256) in message
    assert list(out.iterdir()) == []


def test_download_url(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = index_server.add_wheel("demo", "1.0")
    url = index_server.file_url(wheel.name)
    with client_for(index_server, tmp_path) as client:
        got = client.download_url(url, tmp_path / "a")
        assert got == tmp_path / "a" / wheel.name
        with pytest.raises(HashMismatchError):
            client.download_url(url + "#sha256=" + "1" * 64, tmp_path / "b")
        with pytest.raises(IndexResponseError, match="HTTP 404"):
            client.download_url(index_server.file_url("gone-1.0.tar.gz"), tmp_path / "c")
