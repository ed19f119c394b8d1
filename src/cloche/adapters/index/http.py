"""One shared HTTP transport: retries with backoff, per-host credentials, clear errors.

Plain requests go through the standard library's http.client over kept connections
(``kept_connections.py``: far less CPU per byte); httpx answers the rest (redirects,
other encodings, proxies) and is imported only then, so that a command that needs
neither stays cheap.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cloche.adapters.index.auth import CredentialStore, redact
from cloche.errors import IndexResponseError, NetworkError, OfflineError, UsageError

if TYPE_CHECKING:
    import ssl

    import httpx

    from cloche.adapters.index.kept_connections import KeptConnections, Reply
    from cloche.adapters.index.response import HttpResponse

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 8.0
_CHUNK = 1 << 16
USER_AGENT = "cloche"


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, for messages and per-host decisions."""
    return urlsplit(url).netloc.rpartition("@")[2] or url


class HttpTransport:
    """GET requests over pooled connections (http.client, else httpx), thread-safe."""

    def __init__(
        self,
        *,
        timeout: float,
        retries: int,
        concurrency: int,
        credentials: CredentialStore,
        offline: bool = False,
    ) -> None:
        self._timeout = timeout
        self._retries = max(retries, 0)
        self._concurrency = max(concurrency, 1)
        self._credentials = credentials
        self._offline = offline
        self._client: httpx.Client | None = None
        self._kept: KeptConnections | None = None
        self._tls_context: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        """Set by ``close``: requests still running fail at once, none is retried."""

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, partial_only: bool = False
    ) -> HttpResponse:
        """GET ``url`` and read the body; 5xx, timeouts and dropped connections are retried.

        With ``partial_only`` a 200 answer (the server ignored a Range header) comes
        back without its body, so a large file is not read by mistake.
        """

        def read(reply: Reply) -> bytes:
            if partial_only and reply.status == 200:
                return b""
            return reply.read()

        return self._with_retries(url, headers, read)

    def download(
        self,
        url: str,
        write: Callable[[bytes], None],
        *,
        restart: Callable[[], None],
        headers: Mapping[str, str] | None = None,
        on_start: Callable[[int | None], None] | None = None,
    ) -> HttpResponse:
        """Stream a 200 answer's body to ``write``; ``restart`` is called before a retry."""

        def stream(reply: Reply) -> bytes:
            if reply.status != 200:
                return b""
            _saving(restart)
            length = reply.headers.get("content-length")
            if on_start is not None:
                on_start(int(length) if length and length.isdigit() else None)
            for chunk in reply.chunks():
                _saving(write, chunk)
            return b""

        try:
            return self._with_retries(url, headers, stream)
        except _SaveFailed as failed:  # a full disk, say: not the network's fault
            raise failed.error from None

    def close(self) -> None:
        """Close the connections; a request still waiting on one (a hung index, when
        Ctrl-C ends the command) fails at once instead of holding the exit."""
        self._closed.set()
        with self._lock:
            client, self._client = self._client, None
            kept, self._kept = self._kept, None
        if client is not None:
            client.close()
        if kept is not None:
            kept.close()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = _make_client(self._timeout, self._concurrency, self._tls())
            return self._client

    def _tls(self) -> ssl.SSLContext:
        """The TLS context both clients verify with; made under the lock, once."""
        if self._tls_context is None:
            self._tls_context = default_tls()
        return self._tls_context

    def _kept_connections(self) -> KeptConnections | None:
        """The http.client path (see ``kept_connections.py``); None behind a proxy."""
        from cloche.adapters.index.kept_connections import KeptConnections, proxy_configured

        if proxy_configured():
            return None
        with self._lock:
            if self._kept is None:
                self._kept = KeptConnections(
                    self._tls(), timeout=self._timeout, user_agent=USER_AGENT
                )
            return self._kept

    def _with_retries(
        self, url: str, headers: Mapping[str, str] | None, body: Callable[[Reply], bytes]
    ) -> HttpResponse:
        clean = redact(url)
        if self._offline:
            raise OfflineError(f"{clean} is needed but --offline is set; run once online first")
        # Here, not at the top: a command the caches answer never loads http.client or ssl.
        from cloche.adapters.index.kept_connections import Broken, HandOff
        from cloche.adapters.index.response import HttpResponse

        request_headers = dict(headers or {})
        credential = self._credentials.for_url(url)
        if credential is not None:
            request_headers["Authorization"] = credential.header()
        kept = self._kept_connections()

        def answer(reply: Reply) -> HttpResponse:
            final = redact(reply.url)
            if reply.status in _RETRY_STATUSES:  # not worth reading
                return HttpResponse(reply.status, final)
            return HttpResponse(reply.status, final, reply.headers, body(reply))

        attempts = self._retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt and self._closed.wait(min(_BACKOFF_BASE * 2 ** (attempt - 1), _BACKOFF_CAP)):
                break
            if self._closed.is_set():
                break
            try:
                if kept is not None:
                    try:
                        response = kept.exchange(clean, request_headers, answer)
                    except HandOff:
                        kept = None  # a redirect or an encoding: httpx from now on
                if kept is None:
                    response = self._httpx_exchange(clean, request_headers, answer)
            except Broken as exc:
                problem = f"timed out after {self._timeout:g}s" if exc.timed_out else exc.problem
                continue
            if response.status in _RETRY_STATUSES:
                problem = f"HTTP {response.status}"
                continue
            _check_auth(response.status, clean, credential is not None)
            return response
        host = host_of(clean)
        if self._closed.is_set():
            raise UsageError(f"stopped fetching {clean}: the index client was closed")
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if problem.startswith("HTTP "):
            raise IndexResponseError(
                f"{clean} answered {problem} after {tries}; the index at {host} may be down, "
                "try again later"
            )
        raise NetworkError(
            f"cannot reach {host}: {problem} after {tries} (fetching {clean}); "
            "check the network, or raise --http-timeout / CLOCHE_HTTP_TIMEOUT"
        )

    def _httpx_exchange(
        self,
        url: str,
        headers: Mapping[str, str],
        handle: Callable[[Reply], HttpResponse],
    ) -> HttpResponse:
        """One attempt through httpx; raises Broken as ``KeptConnections.exchange`` does."""
        client = self._http()
        import httpx  # imported by _http()

        from cloche.adapters.index.kept_connections import Broken

        try:
            with client.stream("GET", url, headers=headers) as response:
                return handle(_HttpxReply(response))
        except httpx.TimeoutException:
            raise Broken("timed out", timed_out=True) from None
        except httpx.TooManyRedirects:
            raise IndexResponseError(
                f"{url} redirects in a loop (or more than 20 times); check the index URL"
            ) from None
        except httpx.InvalidURL as exc:
            raise UsageError(f"invalid URL {url}: {exc}") from None
        except httpx.UnsupportedProtocol:
            raise UsageError(f"{url} is not an http(s):// URL") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise Broken(type(exc).__name__ + (f" ({exc})" if str(exc) else "")) from None


class _HttpxReply:
    """An httpx response as a ``Reply``."""

    def __init__(self, response: httpx.Response) -> None:
        self.url = str(response.url)
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self._httpx = response

    def read(self) -> bytes:
        return self._httpx.read()

    def chunks(self) -> Iterator[bytes]:
        return self._httpx.iter_bytes(_CHUNK)


def _check_auth(status: int, url: str, had_credentials: bool) -> None:
    if status not in (401, 403):
        return
    host = host_of(url)
    if had_credentials:
        raise IndexResponseError(
            f"{host} refused the credentials for {url} (HTTP {status}); check them in the "
            "index URL or your netrc file"
        )
    raise IndexResponseError(
        f"{host} needs credentials for {url} (HTTP {status}); put them in the index URL "
        "(https://user:password@host/...) or in your netrc file"
    )


_UNUSED_BY_A_SYNC_CLIENT = ("trio", "anyio", "httpx._main")


def _import_httpx() -> None:
    """Import httpx without what a sync client never uses.

    httpcore imports trio and anyio, and httpx its command line (rich, pygments),
    whenever they are installed: about 0.1 s before the first request could go out.
    """
    if "httpx" in sys.modules:
        return
    blocked = [name for name in _UNUSED_BY_A_SYNC_CLIENT if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes the import fail
    try:
        import httpcore  # noqa: F401  # httpx imports it only when a client is made
        import httpx  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


class _SaveFailed(Exception):
    """Where a download's bytes go failed (``error``): retrying the request cannot help."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _saving(call: Callable[..., None], *args: bytes) -> None:
    """``call(*args)``, its OSError told apart from the connection's own."""
    try:
        call(*args)
    except OSError as exc:
        raise _SaveFailed(exc) from exc


def default_tls() -> ssl.SSLContext:
    """What ``httpx.create_ssl_context()`` makes, without importing httpx (~50 ms).

    ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle.
    """
    import ssl

    for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        where = os.environ.get(variable)
        if where:
            is_file = variable == "SSL_CERT_FILE"
            try:
                return ssl.create_default_context(
                    cafile=where if is_file else None, capath=None if is_file else where
                )
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                raise UsageError(
                    f"cannot load the certificates {variable} names ({where}): {reason}"
                ) from None
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _make_client(timeout: float, concurrency: int, tls: ssl.SSLContext) -> httpx.Client:
    _import_httpx()
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # HTTP/1.1 on purpose: one sync client serves many threads, and httpx's HTTP/2
    # connection is not thread-safe (interleaved streams fail with KeyError(stream id),
    # encode/httpx#3072). A pool of HTTP/1.1 connections is, and is as fast here.
    return httpx.Client(
        http2=False,
        timeout=httpx.Timeout(timeout),
        limits=limits,
        follow_redirects=True,
        verify=tls,
        headers={"User-Agent": USER_AGENT},
    )
