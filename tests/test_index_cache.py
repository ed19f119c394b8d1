"""The HTTP cache of index pages: freshness, revalidation, refresh, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloche.adapters.index import IndexClient
from cloche.config import Settings
from cloche.core.models import NormalizedName
from cloche.errors import OfflineError
from tests.support.index_server import IndexServer

PAGE = "/simple/demo/"


def listing(server: IndexServer, tmp_path: Path, name: str = "demo", **kwargs: Any) -> list[str]:
    settings = Settings(cache_dir=tmp_path / "cache", index_url=server.url, **kwargs)
    with IndexClient(settings) as client:
        return sorted(f.filename for f in client.files(NormalizedName(name)))


@pytest.mark.parametrize("cache_control", ["max-age=600", None])
def test_fresh_page_costs_no_request(
    index_server: IndexServer, tmp_path: Path, cache_control: str | None
) -> None:
    index_server.cache_control = cache_control
    index_server.add_wheel("demo", "1.0")
    first = listing(index_server, tmp_path)
    assert listing(index_server, tmp_path) == first == ["demo-1.0-py3-none-any.whl"]
    assert len(index_server.requests_to(PAGE)) == 1


def test_stale_page_is_revalidated(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.cache_control = "max-age=0"
    index_server.add_wheel("demo", "1.0")
    listing(index_server, tmp_path)
    assert listing(index_server, tmp_path) == ["demo-1.0-py3-none-any.whl"]
    first, second = index_server.requests_to(PAGE)
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"].startswith('"')
    assert "If-Modified-Since" in second.headers
    # A changed page is fetched in full.
    index_server.add_wheel("demo", "2.0")
    assert listing(index_server, tmp_path) == [
        "demo-1.0-py3-none-any.whl",
        "demo-2.0-py3-none-any.whl",
    ]


def test_refresh_revalidates_a_fresh_page(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.cache_control = "max-age=600"
    index_server.add_wheel("demo", "1.0")
    listing(index_server, tmp_path)
    listing(index_server, tmp_path, refresh=True)
    requests = index_server.requests_to(PAGE)
    assert len(requests) == 2 and "If-None-Match" in requests[1].headers


def test_without_validators_a_stale_page_is_refetched(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.cache_control = "no-cache"
    index_server.send_etag = False
    index_server.add_wheel("demo", "1.0")
    listing(index_server, tmp_path)
    listing(index_server, tmp_path)
    requests = index_server.requests_to(PAGE)
    assert len(requests) == 2 and "If-None-Match" not in requests[1].headers


def test_no_store_is_honoured(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.cache_control = "no-store"
    index_server.add_wheel("demo", "1.0")
    listing(index_server, tmp_path)
    with pytest.raises(OfflineError):
        listing(index_server, tmp_path, offline=True)


def test_not_found_is_cached_too(index_server: IndexServer, tmp_path: Path) -> None:
    assert listing(index_server, tmp_path, "absent") == []
    assert listing(index_server, tmp_path, "absent") == []
    assert len(index_server.requests_to("/simple/absent/")) == 1


def test_offline_uses_the_cache_even_when_stale(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.cache_control = "max-age=0"
    index_server.add_wheel("demo", "1.0")
    listing(index_server, tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache", index_url=index_server.url, offline=True)
    with IndexClient(settings) as client:
        (file,) = client.files(NormalizedName("demo"))
        with pytest.raises(OfflineError) as info:
            client.files(NormalizedName("missing"))
        assert "/simple/missing/" in str(info.value)
        with pytest.raises(OfflineError):
            client.metadata(file)
        with pytest.raises(OfflineError):
            client.download(file, tmp_path / "out")
    assert len(index_server.requests_to(PAGE)) == 1


def test_damaged_cache_entries_are_ignored(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_wheel("demo", "1.0")
    listing(index_server, tmp_path)
    for entry in (tmp_path / "cache" / "http-v1").rglob("*.json"):
        entry.write_bytes(b"{truncated")
    assert listing(index_server, tmp_path) == ["demo-1.0-py3-none-any.whl"]
    assert len(index_server.requests_to(PAGE)) == 2
