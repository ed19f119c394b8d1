"""Bad answers from an index end in one clear ClocheError, never a raw exception."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from cloche.adapters.index import IndexClient
from cloche.config import Settings
from cloche.core.models import NormalizedName
from cloche.errors import IndexResponseError, NetworkError
from tests.support.index_server import IndexServer


def client_for(url: str, tmp_path: Path, **kwargs: Any) -> IndexClient:
    return IndexClient(Settings(cache_dir=tmp_path / "cache", index_url=url, **kwargs))


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_garbage_page(index_server: IndexServer, tmp_path: Path, fmt: str) -> None:
    index_server.force_format = fmt
    index_server.garbage.add("/simple/demo/")
    with (
        client_for(index_server.url, tmp_path) as client,
        pytest.raises(IndexResponseError) as info,
    ):
        client.files(NormalizedName("demo"))
    assert f"{index_server.url}demo/" in str(info.value)


def test_server_error_is_retried_then_reported(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.status_overrides["/simple/demo/"] = 500
    client = client_for(index_server.url, tmp_path, retries=1)
    with client, pytest.raises(IndexResponseError) as info:
        client.files(NormalizedName("demo"))
    assert "HTTP 500" in str(info.value) and "2 attempts" in str(info.value)
    assert len(index_server.requests_to("/simple/demo/")) == 2


def test_other_client_errors(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.status_overrides["/simple/demo/"] = 418
    with (
        client_for(index_server.url, tmp_path) as client,
        pytest.raises(IndexResponseError) as info,
    ):
        client.files(NormalizedName("demo"))
    assert "HTTP 418" in str(info.value)


def test_timeout_names_the_host(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.delay = 2.0
    host = index_server.root_url.removeprefix("http://")
    client = client_for(index_server.url, tmp_path, timeout=0.2, retries=1)
    with client, pytest.raises(NetworkError) as info:
        client.files(NormalizedName("demo"))
    assert host in str(info.value) and "timed out" in str(info.value)
    assert len(index_server.requests_to("/simple/demo/")) == 2


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/simple/"
    with client_for(url, tmp_path, retries=0) as client, pytest.raises(NetworkError) as info:
        client.files(NormalizedName("demo"))
    assert f"127.0.0.1:{port}" in str(info.value)


def test_prefetch_errors_surface_when_asked(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.garbage.add("/simple/demo/")
    with client_for(index_server.url, tmp_path) as client:
        client.prefetch([NormalizedName("demo")])
        with pytest.raises(IndexResponseError):
            client.files(NormalizedName("demo"))
