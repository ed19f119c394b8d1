"""The PyTorch index's layout on 127.0.0.1: ``<url>/<variant>/<project>/``.

A front server redirects ``/whl/<variant>/...`` to one ``IndexServer`` per variant
(``/simple/...``), so each variant's requests are recorded apart: a test can assert
that the CUDA index was never asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.index_server import IndexServer


class TorchIndex:
    """Per-variant indexes behind one base URL (the ``torch-index-url`` setting)."""

    def __init__(self, make_index: Callable[[], IndexServer]) -> None:
        self._make_index = make_index
        self.variants: dict[str, IndexServer] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._redirect(self)

            do_HEAD = do_GET

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/whl"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def variant(self, name: str) -> IndexServer:
        """The index of variant ``name`` (``cpu``, ``cu128``), made on first use."""
        if name not in self.variants:
            self.variants[name] = self._make_index()
        return self.variants[name]

    def add_wheel(self, variant: str, name: str, version: str, **kwargs: Any) -> None:
        self.variant(variant).add_wheel(name, version, **kwargs)

    def asked(self, variant: str) -> int:
        """How many requests the variant's index got (0 when it has none)."""
        server = self.variants.get(variant)
        return len(server.requests) if server is not None else 0

    def _redirect(self, handler: BaseHTTPRequestHandler) -> None:
        parts = handler.path.split("/", 3)  # "", "whl", variant, rest
        server = self.variants.get(parts[2]) if len(parts) > 2 and parts[1] == "whl" else None
        if server is None:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        rest = parts[3] if len(parts) > 3 else ""
        handler.send_response(302)
        handler.send_header("Location", f"{server.url}{rest}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
