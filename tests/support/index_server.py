"""A real PEP 503 / 691 / 658 / 700 package index on 127.0.0.1, for tests.

Behaviour switches are plain attributes so a test can flip them mid-way.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import hashlib
import html
import json
import shutil
import socket
import tarfile
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from tests.support.dists import make_sdist, make_wheel

__all__ = ["CaseInsensitiveDict", "IndexServer", "RequestRecord"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"
HTML_TYPE = "text/html"
_OFFERS = (JSON_TYPE, HTML_V1_TYPE, HTML_TYPE)
GARBAGE = b"<<not {an index page]] \xef\xbf\xbd"


class CaseInsensitiveDict(dict[str, str]):
    """A dict of header values whose lookups ignore case (keys are stored lower-cased)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for key, value in dict(items).items():
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class RequestRecord:
    method: str
    path: str
    """The request path as sent, query string included."""
    headers: dict[str, str]
    """Request headers; lookups are case-insensitive."""


@dataclass
class _File:
    filename: str
    name: str
    version: Version
    sha256: str
    size: int
    requires_python: str | None
    yanked: str | bool | None
    upload_time: str
    metadata: bytes | None
    """The wheel's METADATA, served as ``<file>.metadata`` (PEP 658)."""


@dataclass
class _Project:
    name: str
    files: dict[str, _File] = field(default_factory=dict)
    last_modified: int = 0


def _read_metadata(path: Path) -> bytes | None:
    """METADATA of a wheel, PKG-INFO of an sdist; None when absent or unreadable."""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    parts = member.split("/")
                    if (
                        parts[-1] == "METADATA"
                        and len(parts) == 2
                        and parts[0].endswith(".dist-info")
                    ):
                        return zf.read(member)
        elif path.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path) as tf:
                for member in tf.getmembers():
                    parts = member.name.split("/")
                    if len(parts) == 2 and parts[1] == "PKG-INFO":
                        extracted = tf.extractfile(member)
                        return extracted.read() if extracted else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        return None
    return None


def _parse_filename(filename: str) -> tuple[str, Version]:
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
    else:
        name, version = parse_sdist_filename(filename)
    return str(name), version


def _accept(header: str | None) -> str | None:
    """PEP 691 negotiation: the media type to answer with, or None for 406."""
    if not header:
        return HTML_TYPE
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in ("*/*", "text/*"):
            offer = HTML_TYPE
        elif media in _OFFERS:
            offer = media
        else:
            continue
        # Highest quality wins; on a tie, the type the client listed first.
        if quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, offer)
    return best[2] if best else None


def _etag_matches(header: str, etag: str) -> bool:
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return "*" in candidates or etag in candidates


class IndexServer:
    """A simple-API index serving files from ``files_dir`` on a background thread."""

    def __init__(self, files_dir: Path | None = None, *, host: str = "127.0.0.1") -> None:
        self._own_dir = files_dir is None
        self.files_dir = (
            Path(tempfile.mkdtemp(prefix="cloche-index-")) if files_dir is None else Path(files_dir)
        )
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.requests: list[RequestRecord] = []
        self.advertise_metadata = True
        self.serve_metadata_files = True
        self.support_range = True
        self.force_format: str | None = None
        self.send_etag = True
        self.cache_control: str | None = None
        self.status_overrides: dict[str, int] = {}
        self.garbage: set[str] = set()
        self.delay = 0.0
        self.auth: tuple[str, str] | None = None
        self.absolute_urls = False
        """Link files with absolute URLs instead of relative ones (both formats)."""
        self._projects: dict[str, _Project] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server((host, 0), _Handler, self)
        port = self._httpd.server_address[1]
        self.root_url = f"http://{host}:{port}"
        self.url = f"{self.root_url}/simple/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # -- registering files -------------------------------------------------

    def add(
        self,
        path: Path,
        *,
        yanked: str | bool | None = None,
        requires_python: str | None = None,
        upload_time: str | None = None,
    ) -> None:
        """List an existing wheel or sdist (copied into ``files_dir`` if it lives elsewhere)."""
        path = Path(path)
        target = self.files_dir / path.name
        if path.resolve() != target.resolve():
            shutil.copyfile(path, target)
        data = target.read_bytes()
        name, version = _parse_filename(path.name)
        metadata = _read_metadata(target)
        if requires_python is None and metadata is not None:
            parsed = email.parser.BytesParser().parsebytes(metadata, headersonly=True)
            requires_python = parsed.get("Requires-Python")
        if upload_time is None:
            upload_time = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry = _File(
            filename=path.name,
            name=name,
            version=version,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            requires_python=requires_python,
            yanked=yanked,
            upload_time=upload_time,
            metadata=metadata if path.name.endswith(".whl") else None,
        )
        with self._lock:
            project = self._projects.setdefault(name, _Project(name))
            project.files[entry.filename] = entry
            # Strictly increasing, so a change within one second still beats If-Modified-Since.
            project.last_modified = max(int(time.time()), project.last_modified + 1)

    def add_wheel(
        self, name: str, version: str, *, yanked: str | bool | None = None, **kwargs: Any
    ) -> Path:
        path = make_wheel(self.files_dir, name, version, **kwargs)
        self.add(path, yanked=yanked)
        return path

    def add_sdist(
        self, name: str, version: str, *, yanked: str | bool | None = None, **kwargs: Any
    ) -> Path:
        path = make_sdist(self.files_dir, name, version, **kwargs)
        self.add(path, yanked=yanked)
        return path

    def remove(self, filename: str) -> None:
        """Unlist a file (it stays downloadable)."""
        with self._lock:
            for project in self._projects.values():
                if project.files.pop(filename, None) is not None:
                    project.last_modified = max(int(time.time()), project.last_modified + 1)

    def file_url(self, filename: str) -> str:
        return f"{self.root_url}/files/{quote(filename)}"

    def requests_to(self, path: str) -> list[RequestRecord]:
        """Requests whose path (query excluded) equals ``path``."""
        with self._lock:
            return [r for r in self.requests if urlsplit(r.path).path == path]

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join()
        if self._own_dir:
            shutil.rmtree(self.files_dir, ignore_errors=True)

    def __enter__(self) -> IndexServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- page rendering (called from handler threads) -------------------------

    def _snapshot(self, name: str) -> tuple[list[_File], int] | None:
        with self._lock:
            project = self._projects.get(name)
            if project is None:
                return None
            return list(project.files.values()), project.last_modified

    def _project_names(self) -> list[str]:
        with self._lock:
            return sorted(self._projects)

    def _href(self, filename: str) -> str:
        if self.absolute_urls:
            return self.file_url(filename)
        return f"../../files/{quote(filename)}"

    def _render_project(self, name: str, files: list[_File], media: str) -> bytes:
        files = sorted(files, key=lambda f: (f.version, f.filename))
        if media == JSON_TYPE:
            entries = []
            for f in files:
                entry: dict[str, Any] = {
                    "filename": f.filename,
                    "url": self._href(f.filename),
                    "hashes": {"sha256": f.sha256},
                    "size": f.size,
                    "upload-time": f.upload_time,
                }
                if f.requires_python is not None:
                    entry["requires-python"] = f.requires_python
                entry["yanked"] = (f.yanked or True) if f.yanked not in (None, False) else False
                if self.advertise_metadata and f.metadata is not None:
                    digest = {"sha256": hashlib.sha256(f.metadata).hexdigest()}
                    entry["core-metadata"] = digest
                    entry["dist-info-metadata"] = digest
                entries.append(entry)
            versions = sorted({f.version for f in files})
            doc = {
                "meta": {"api-version": "1.1"},
                "name": name,
                "files": entries,
                "versions": [str(v) for v in versions],
            }
            return json.dumps(doc, indent=1).encode("utf-8")
        links = []
        for f in files:
            attrs = [f'href="{html.escape(self._href(f.filename))}#sha256={f.sha256}"']
            if f.requires_python is not None:
                attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
            if f.yanked not in (None, False):
                reason = f.yanked if isinstance(f.yanked, str) else ""
                attrs.append(f'data-yanked="{html.escape(reason)}"')
            if self.advertise_metadata and f.metadata is not None:
                digest = f"sha256={hashlib.sha256(f.metadata).hexdigest()}"
                attrs.append(f'data-dist-info-metadata="{digest}"')
                attrs.append(f'data-core-metadata="{digest}"')
            links.append(f"    <a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>")
        return _html_page(f"Links for {name}", links)

    def _render_root(self, media: str) -> bytes:
        names = self._project_names()
        if media == JSON_TYPE:
            doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
            return json.dumps(doc, indent=1).encode("utf-8")
        links = [f'    <a href="{html.escape(quote(n))}/">{html.escape(n)}</a><br/>' for n in names]
        return _html_page("Simple index", links)

    def _file_entry(self, filename: str) -> _File | None:
        with self._lock:
            for project in self._projects.values():
                if filename in project.files:
                    return project.files[filename]
        return None


def _html_page(title: str, links: list[str]) -> bytes:
    body = "\n".join(links)
    page = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    )
    return page.encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], index: IndexServer
    ) -> None:
        self.index = index
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are expected in tests; stay quiet.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30

    def setup(self) -> None:
        super().setup()
        with self.server.index._lock:
            self.server.index._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.index._lock:
            self.server.index._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    # -- plumbing --------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        send_body: bool = True,
        content_length: int | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header(
            "Content-Length", str(len(body) if content_length is None else content_length)
        )
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _authorized(self, auth: tuple[str, str]) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return decoded == f"{auth[0]}:{auth[1]}"

    def _media(self) -> str | None:
        index = self.server.index
        if index.force_format == "json":
            return JSON_TYPE
        if index.force_format == "html":
            return HTML_TYPE
        return _accept(self.headers.get("Accept"))

    def _dispatch(self, *, send_body: bool) -> None:
        index = self.server.index
        with index._lock:
            index.requests.append(
                RequestRecord(self.command, self.path, CaseInsensitiveDict(self.headers.items()))
            )
        if index.delay and index._closing.wait(index.delay):
            self.close_connection = True
            return
        path = unquote(urlsplit(self.path).path)
        if index.auth is not None and not self._authorized(index.auth):
            headers = {"WWW-Authenticate": 'Basic realm="cloche-test-index"'}
            self._send(401, content_type="text/plain", headers=headers, send_body=send_body)
            return
        override = index.status_overrides.get(path)
        if override is not None:
            self._send(override, send_body=send_body)
            return
        if path in index.garbage:
            is_page = path.startswith("/simple/")
            media = (self._media() or HTML_TYPE) if is_page else "application/octet-stream"
            self._send(200, GARBAGE, content_type=media, send_body=send_body)
            return
        if path == "/simple/" or path == "/simple":
            self._root(path, send_body)
        elif path.startswith("/simple/"):
            self._project(path, send_body)
        elif path.startswith("/files/"):
            self._file(path.removeprefix("/files/"), send_body)
        else:
            self._send(404, send_body=send_body)

    # -- routes ------------------------------------------------------------------

    def _redirect(self, location: str, send_body: bool) -> None:
        self._send(301, headers={"Location": location}, send_body=send_body)

    def _root(self, path: str, send_body: bool) -> None:
        if path == "/simple":
            self._redirect("/simple/", send_body)
            return
        media = self._media()
        if media is None:
            self._send(406, send_body=send_body)
            return
        body = self.server.index._render_root(media)
        self._send_page(body, media, None, send_body)

    def _project(self, path: str, send_body: bool) -> None:
        raw = path.removeprefix("/simple/")
        raw_name = raw.rstrip("/")
        if not raw_name or "/" in raw_name:
            self._send(404, send_body=send_body)
            return
        name = canonicalize_name(raw_name)
        if raw != f"{name}/":
            self._redirect(f"/simple/{name}/", send_body)
            return
        snapshot = self.server.index._snapshot(name)
        if snapshot is None:
            self._send(404, b"Not Found\n", content_type="text/plain", send_body=send_body)
            return
        media = self._media()
        if media is None:
            self._send(406, send_body=send_body)
            return
        files, last_modified = snapshot
        body = self.server.index._render_project(name, files, media)
        self._send_page(body, media, last_modified, send_body)

    def _send_page(
        self, body: bytes, media: str, last_modified: int | None, send_body: bool
    ) -> None:
        index = self.server.index
        headers = {"Vary": "Accept"}
        if index.cache_control:
            headers["Cache-Control"] = index.cache_control
        if index.send_etag:
            etag = '"' + hashlib.sha256(media.encode() + b"\0" + body).hexdigest()[:32] + '"'
            headers["ETag"] = etag
            if last_modified is not None:
                headers["Last-Modified"] = formatdate(last_modified, usegmt=True)
            if self._not_modified(etag, last_modified):
                self._send(304, headers=headers, send_body=False, content_length=0)
                return
        self._send(200, body, content_type=media, headers=headers, send_body=send_body)

    def _not_modified(self, etag: str, last_modified: int | None) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return _etag_matches(if_none_match, etag)
        since = self.headers.get("If-Modified-Since")
        if since is None or last_modified is None:
            return False
        try:
            return last_modified <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def _file(self, filename: str, send_body: bool) -> None:
        index = self.server.index
        if not filename or "/" in filename or filename.startswith("."):
            self._send(404, send_body=send_body)
            return
        if filename.endswith(".metadata"):
            entry = index._file_entry(filename.removesuffix(".metadata"))
            if entry is not None and entry.metadata is not None:
                if not index.serve_metadata_files:
                    self._send(404, send_body=send_body)
                    return
                self._send_bytes(entry.metadata, "application/octet-stream", send_body)
                return
        target = index.files_dir / filename
        if not target.is_file():
            self._send(404, send_body=send_body)
            return
        self._send_bytes(target.read_bytes(), "application/octet-stream", send_body)

    def _send_bytes(self, data: bytes, content_type: str, send_body: bool) -> None:
        index = self.server.index
        headers = {"Accept-Ranges": "bytes"} if index.support_range else {}
        range_header = self.headers.get("Range")
        if range_header and index.support_range:
            span = _parse_range(range_header, len(data))
            if span == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{len(data)}"
                self._send(416, headers=headers, send_body=send_body)
                return
            if span is not None:
                start, end = span
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                self._send(
                    206,
                    data[start : end + 1],
                    content_type=content_type,
                    headers=headers,
                    send_body=send_body,
                )
                return
        self._send(200, data, content_type=content_type, headers=headers, send_body=send_body)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range as inclusive (start, end); None to answer in full."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if not first:
            length = int(last)
            if length <= 0:
                return "unsatisfiable"
            return max(size - length, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, size - 1)


def add_hello_tool(server: IndexServer) -> None:
    """``tool`` 1.0: a wheel with a ``tool-hello`` console script that prints a greeting."""
    server.add_wheel(
        "tool",
        "1.0",
        entry_points={"console_scripts": {"tool-hello": "tool:main"}},
        files={"tool/__init__.py": "def main():\n    print('hello from tool')\n"},
    )
