"""GET requests over kept http.client connections, for the transport's plain case.

httpx reads a body one TLS record (16 KB) at a time through three layers of Python
(httpx, httpcore, h11), with a ``settimeout`` and a ``poll`` around every record: on the
bench VM the 100 MB of a cold ``numpy pandas scikit-learn matplotlib`` install took
0.75 s of CPU that way, most of it holding the GIL that the threads unpacking wheels
need. http.client's buffered reader fills a 1 MB block in a C loop, with the GIL
released: 0.26 s for the same bytes, sha256 included. Index pages gain alike.

The plain case is a GET with no proxy in the environment. A redirect, or a body in an
encoding other than gzip, raises ``HandOff``: the transport then asks httpx, which
follows redirects and decodes everything. Statuses, retries and error messages stay
with the transport (``http.py``), whichever client answered.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import ssl
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from cloche.adapters.index.deadline import Deadline, Deadlines

_BLOCK = 1 << 20
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_Key = tuple[str, str, int]
_T = TypeVar("_T")


def proxy_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names an HTTP proxy (httpx then makes every request)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) or env.get(name.upper()) for name in _PROXY_VARIABLES)


class HandOff(Exception):
    """This request is for httpx: a redirect to follow, or a body it must decode."""


class Broken(Exception):
    """The connection failed, timed out or ended early; the attempt may be retried."""

    def __init__(self, problem: str, *, timed_out: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.timed_out = timed_out


class Reply(Protocol):
    """One response, whichever client got it: its body is decoded and read once."""

    url: str
    status: int
    headers: dict[str, str]
    """Lower-cased names."""

    def read(self) -> bytes:
        """The whole body."""
        ...

    def chunks(self) -> Iterator[bytes]:
        """The body a block at a time; raises Broken if it ends early."""
        ...


class _Reply:
    """A ``Reply`` from http.client."""

    def __init__(
        self, url: str, response: http.client.HTTPResponse, deadline: Deadline | None = None
    ) -> None:
        self._deadline = deadline
        self.url = url
        self.status = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self._response = response
        encoding = self.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise HandOff(encoding)
        self._gzip = encoding == "gzip"

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        response = self._response
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if self._gzip else None
        try:
            while True:
                if self._deadline is not None:
                    self._deadline.allow(min(response.length or _BLOCK, _BLOCK))
                block = response.read(_BLOCK)
                if not block:
                    break
                yield block if inflate is None else inflate.decompress(block)
            # http.client stops quietly at a short body: a truncated file must not pass.
            if response.length:
                raise Broken(f"IncompleteRead ({response.length} bytes missing)")
            if inflate is not None:
                if not inflate.eof:
                    raise Broken("the gzip body ended early")
                yield inflate.flush()
        except zlib.error as exc:
            raise Broken(f"DecodingError ({exc})") from None


class KeptConnections:
    """Pooled keep-alive http.client connections, safe to share between threads."""

    def __init__(self, context: ssl.SSLContext, *, timeout: float, user_agent: str) -> None:
        self._context = context
        self._timeout = timeout
        self._user_agent = user_agent
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._busy: set[http.client.HTTPConnection] = set()
        self._deadlines = Deadlines(self.cut)
        """Connections a request is using: ``close`` cuts them (Ctrl-C, a deadline)."""
        self._addresses = _Addresses()
        self._lock = threading.Lock()
        self._closed = False

    def exchange(self, url: str, headers: Mapping[str, str], handle: Callable[[Reply], _T]) -> _T:
        """GET ``url`` and return what ``handle`` makes of the reply.

        Raises Broken when the connection fails (``handle``'s reading included),
        HandOff for an answer httpx must give. A kept connection that the server
        closed in the meantime is dropped for the next (or a new one), silently.
        """
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise HandOff(url) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HandOff(url)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = {"User-Agent": self._user_agent, "Accept-Encoding": "gzip", **headers}
        while True:
            connection, reused = self._connection(key)
            deadline = self._deadlines.start(connection, self._timeout)
            try:
                try:
                    connection.request("GET", target, headers=request_headers)
                    response = connection.getresponse()
                except (OSError, http.client.HTTPException) as exc:
                    self._drop(connection)
                    if deadline.passed:
                        raise Broken("timed out", timed_out=True) from None
                    if reused and not isinstance(exc, TimeoutError) and not self._closed:
                        continue  # closed by the server while it was kept
                    self._addresses.forget(parts.hostname, port)  # the next try looks again
                    raise _broken(exc) from None
                try:
                    if response.status in _REDIRECTS:
                        raise HandOff(str(response.status))
                    result = handle(_Reply(url, response, deadline))
                except (OSError, http.client.HTTPException, Broken) as exc:
                    self._drop(connection)
                    if deadline.passed:
                        raise Broken("timed out", timed_out=True) from None
                    raise exc if isinstance(exc, Broken) else _broken(exc) from None
                except BaseException:
                    self._drop(connection)
                    raise
            finally:
                self._deadlines.stop(connection)
            if response.isclosed() and not response.will_close:
                self._release(key, connection)  # read to its end: ready for the next
            else:
                self._drop(connection)
            return result

    @staticmethod
    def cut(connection: http.client.HTTPConnection) -> None:
        """End ``connection`` now, from any thread: a read blocked on it fails at once."""
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also under TLS: the reader gets an error.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _connection(self, key: _Key) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection to ``key`` (True), or a new one (False), marked busy."""
        with self._lock:
            if self._closed:
                raise Broken("the command is ending")
            idle = self._idle.get(key)
            if idle:
                connection = idle.pop()
                self._busy.add(connection)
                return connection, True
        scheme, host, port = key
        addresses = partial(self._addresses.lookup, host, port)
        made: http.client.HTTPConnection
        if scheme == "https":
            made = _HTTPSConnection(host, port, self._timeout, addresses, self._context)
        else:
            made = _HTTPConnection(host, port, self._timeout, addresses)
        with self._lock:
            self._busy.add(made)
        return made, False

    def _release(self, key: _Key, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._busy.discard(connection)
            if not self._closed:
                self._idle.setdefault(key, []).append(connection)
                return
        connection.close()

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._busy.discard(connection)
        connection.close()

    def close(self) -> None:
        """Close every connection; requests still reading fail at once (Broken)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
            busy = list(self._busy)
        for connection in busy:
            self.cut(connection)
        for connections in idle.values():
            for connection in connections:
                connection.close()


_AddressInfo = list[tuple[Any, Any, int, str, Any]]


class _Addresses:
    """Each host looked up once, however many threads connect to it at once.

    Sixteen threads opening their first connections each asked the resolver for the
    same name; on the bench VM one such burst in a few lost a query and waited out
    the resolver's 5 s timeout. One lookup per host makes that rare; a host none of
    whose addresses answers is looked up again by the next connection.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], _AddressInfo] = {}
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._lock = threading.Lock()

    def lookup(self, host: str, port: int) -> _AddressInfo:
        key = (host, port)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            known = self._known.get(key)
            if known is None:
                known = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                self._known[key] = known
            return known

    def forget(self, host: str, port: int) -> None:
        with self._lock:
            self._known.pop((host, port), None)


def _open_socket(addresses: _AddressInfo, timeout: float | None) -> socket.socket:
    """A connected TCP socket to the first of ``addresses`` that answers."""
    error: OSError | None = None
    for family, kind, protocol, _name, address in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"no address to connect to among {addresses}")


class _HTTPConnection(http.client.HTTPConnection):
    """An http.client connection that connects through ``_Addresses``."""

    def __init__(
        self, host: str, port: int, timeout: float, addresses: Callable[[], _AddressInfo]
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._lookup = addresses

    def connect(self) -> None:
        self.sock = _open_socket(self._lookup(), self.timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    """``_HTTPConnection`` over TLS."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float,
        addresses: Callable[[], _AddressInfo],
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._lookup = addresses
        self._tls = context

    def connect(self) -> None:
        sock = _open_socket(self._lookup(), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _broken(exc: Exception) -> Broken:
    if isinstance(exc, TimeoutError):
        return Broken("timed out", timed_out=True)
    detail = str(exc)
    return Broken(type(exc).__name__ + (f" ({detail})" if detail else ""))
