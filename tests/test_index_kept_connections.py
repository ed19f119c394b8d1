"""The transport's http.client path: what it answers itself, what it hands to httpx.

A small scripted HTTP server stands in for odd servers: each path answers the way a
test sets up, and every request is recorded with the connection it came on.
"""

from __future__ import annotations

import errno
import gzip
import http.server
import os
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import pytest

from cloche.adapters.index import download as download_module
from cloche.adapters.index.auth import CredentialStore
from cloche.adapters.index.download import Downloader
from cloche.adapters.index.http import HttpTransport, default_tls
from cloche.adapters.index.kept_connections import proxy_configured
from cloche.core.report import NullReporter
from cloche.errors import IndexResponseError, NetworkError, UsageError

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    path: str
    connection: int
    headers: dict[str, str]


@dataclass
class Scripted:
    url: str
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


def _send(
    handler: http.server.BaseHTTPRequestHandler,
    body: bytes,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    state = Scripted(url="")
    counter = iter(range(1_000_000))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.number = next(counter)

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.seen.append(Seen(self.path, self.number, headers))
            route = state.routes.get(self.path)
            if route is None:
                _send(self, b"not here", status=404)
            else:
                route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def transport(retries: int = 0) -> Iterator[HttpTransport]:
    http = HttpTransport(timeout=5, retries=retries, concurrency=4, credentials=CredentialStore([]))
    try:
        yield http
    finally:
        http.close()


def download(http: HttpTransport, url: str) -> tuple[int, bytes, list[int | None]]:
    received: list[bytes] = []
    started: list[int | None] = []
    response = http.download(url, received.append, restart=received.clear, on_start=started.append)
    return response.status, b"".join(received), started


def test_download_and_page_share_one_kept_connection(scripted: Scripted) -> None:
    blob = bytes(range(256)) * 9000  # over one 1 MB block: read in several
    scripted.routes["/a.whl"] = lambda h: _send(h, blob)
    scripted.routes["/page"] = lambda h: _send(h, b"{}", headers={"ETag": '"x"'})
    with transport() as http:
        status, body, started = download(http, f"{scripted.url}/a.whl")
        page = http.get(f"{scripted.url}/page")
    assert (status, body, started) == (200, blob, [len(blob)])
    assert (page.status, page.content, page.headers["etag"]) == (200, b"{}", '"x"')
    assert page.url == f"{scripted.url}/page"
    assert len({s.connection for s in scripted.seen}) == 1
    # the http.client path asked for gzip only (httpx would also offer deflate)
    assert all(s.headers["accept-encoding"] == "gzip" for s in scripted.seen)


def test_gzip_body_is_decoded(scripted: Scripted) -> None:
    text = b'{"files": []}' * 1000
    scripted.routes["/page"] = lambda h: _send(
        h, gzip.compress(text), headers={"Content-Encoding": "gzip"}
    )
    with transport() as http:
        response = http.get(f"{scripted.url}/page")
    assert response.content == text
    assert "content-encoding" in response.headers


def test_other_encodings_and_redirects_go_to_httpx(scripted: Scripted) -> None:
    text = b"deflated" * 100
    scripted.routes["/deflate"] = lambda h: _send(
        h, zlib.compress(text), headers={"Content-Encoding": "deflate"}
    )
    scripted.routes["/old"] = lambda h: _send(
        h, b"", status=301, headers={"Location": f"{scripted.url}/new"}
    )
    scripted.routes["/new"] = lambda h: _send(h, b"moved here")
    with transport() as http:
        assert http.get(f"{scripted.url}/deflate").content == text
        moved = http.get(f"{scripted.url}/old")
    assert (moved.content, moved.url) == (b"moved here", f"{scripted.url}/new")
    assert scripted.paths() == ["/deflate", "/deflate", "/old", "/old", "/new"]
    httpx_seen = [s for s in scripted.seen if s.headers["accept-encoding"] != "gzip"]
    assert [s.path for s in httpx_seen] == ["/deflate", "/old", "/new"]


def test_truncated_download_is_retried_then_reported(scripted: Scripted) -> None:
    calls = []

    def short(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        _send(handler, b"x" * 1000, length=5000)
        handler.close_connection = True

    scripted.routes["/a.whl"] = short
    with transport(retries=1) as http, pytest.raises(NetworkError) as info:
        download(http, f"{scripted.url}/a.whl")
    assert "IncompleteRead" in str(info.value) and "2 attempts" in str(info.value)
    assert len(calls) == 2


@pytest.mark.parametrize("engine", ["http.client", "httpx"])
def test_a_failing_sink_is_reported_as_itself_and_not_retried(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    if engine == "httpx":  # a proxy setting sends everything through httpx
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    scripted.routes["/a.whl"] = lambda h: _send(h, b"x" * 5000)

    def full(chunk: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with transport(retries=3) as http, pytest.raises(OSError) as info:
        http.download(f"{scripted.url}/a.whl", full, restart=lambda: None)
    assert info.value.errno == errno.ENOSPC
    assert not isinstance(info.value, NetworkError)
    assert scripted.paths() == ["/a.whl"]  # a full disk is not worth a retry


def test_a_full_disk_while_saving_a_download_is_one_clear_error(
    scripted: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.routes["/a.whl"] = lambda h: _send(h, b"x" * 5000)
    real_fdopen = os.fdopen

    class FullFile:
        def __init__(self, fd: int, mode: str) -> None:
            self._file = real_fdopen(fd, mode)

        def __enter__(self) -> FullFile:
            return self

        def __exit__(self, *exc: object) -> None:
            self._file.close()

        def write(self, chunk: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def seek(self, offset: int) -> int:
            return self._file.seek(offset)

        def truncate(self) -> int:
            return self._file.truncate()

    monkeypatch.setattr(download_module.os, "fdopen", FullFile)
    with transport(retries=3) as http:
        downloader = Downloader(http, tmp_path / "archives", NullReporter())
        with pytest.raises(IndexResponseError) as info:
            downloader.fetch(f"{scripted.url}/a.whl", tmp_path / "out", filename="a.whl")
    assert "cannot save a.whl" in info.value.message
    assert "No space left on device" in info.value.message
    assert list((tmp_path / "out").iterdir()) == []  # the partial file is gone
    assert scripted.paths() == ["/a.whl"]


def test_a_retry_starts_the_body_over(scripted: Scripted) -> None:
    answers = iter([503, 200])
    scripted.routes["/a.whl"] = lambda h: _send(h, b"whole", status=next(answers))
    with transport(retries=2) as http:
        status, body, _ = download(http, f"{scripted.url}/a.whl")
    assert (status, body) == (200, b"whole")
    assert scripted.paths() == ["/a.whl", "/a.whl"]


def test_connection_closed_while_kept_is_replaced(scripted: Scripted) -> None:
    def once(handler: http.server.BaseHTTPRequestHandler) -> None:
        _send(handler, b"ok")
        handler.close_connection = True  # without saying so: the client keeps it

    scripted.routes["/one"] = once
    with transport(retries=0) as http:
        assert http.get(f"{scripted.url}/one").content == b"ok"
        assert http.get(f"{scripted.url}/one").content == b"ok"
    assert len({s.connection for s in scripted.seen}) == 2


def test_statuses_come_back_as_they_are(scripted: Scripted) -> None:
    with transport() as http:
        missing = http.get(f"{scripted.url}/nothing")
        status, body, _ = download(http, f"{scripted.url}/nothing")
    assert (missing.status, missing.content) == (404, b"not here")
    assert (status, body) == (404, b"")


def test_a_proxy_in_the_environment_leaves_every_request_to_httpx(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    scripted.routes["/page"] = lambda h: _send(h, b"direct")
    with transport() as http:
        assert http.get(f"{scripted.url}/page").content == b"direct"
    assert scripted.seen[0].headers["accept-encoding"] != "gzip"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"https_proxy": "http://proxy:3128"}, True),
        ({"HTTP_PROXY": "http://proxy:3128"}, True),
        ({"ALL_PROXY": "socks5://proxy:1080"}, True),
        ({"HTTPS_PROXY": ""}, False),
    ],
)
def test_proxy_configured(environ: dict[str, str], expected: bool) -> None:
    assert proxy_configured(environ) is expected


def test_tls_trusts_what_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    assert default_tls().cert_store_stats()["x509_ca"] > 100  # certifi's bundle
    one = tmp_path / "one.pem"
    pem = Path(certifi.where()).read_text()
    one.write_text(pem[: pem.index("-----END CERTIFICATE-----") + 26])
    monkeypatch.setenv("SSL_CERT_FILE", str(one))
    assert default_tls().cert_store_stats()["x509_ca"] == 1
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(UsageError, match=r"SSL_CERT_FILE names .*missing\.pem"):
        default_tls()


def test_threads_share_one_lookup_of_a_host(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    scripted.routes["/a.whl"] = lambda h: _send(h, b"x" * 10_000)
    url = scripted.url.replace("127.0.0.1", "localhost") + "/a.whl"
    with transport() as http, ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: download(http, url)[1], range(16)))
    assert bodies == [b"x" * 10_000] * 16
    assert lookups == ["localhost"]
    assert len({s.connection for s in scripted.seen}) > 1  # several connections, one lookup


def test_a_host_that_did_not_answer_is_looked_up_again(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()  # nothing listens there once closed
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", dead)]])

    def first_stale(host: str, *args: Any, **kwargs: Any) -> Any:
        return next(answers, None) or real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", first_stale)
    scripted.routes["/page"] = lambda h: _send(h, b"found")
    with transport(retries=1) as http:
        assert http.get(f"{scripted.url}/page").content == b"found"
