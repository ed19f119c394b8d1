"""The network never holds a user hostage: Ctrl-C answers at once while an index hangs,
a dripping server hits a total deadline, and odd answers are one clear line each."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.support.cli import cloche
from tests.support.index_server import IndexServer

Serve = Callable[[socket.socket, threading.Event], None]


@contextmanager
def raw_server(serve: Serve) -> Iterator[str]:
    """A TCP server on 127.0.0.1 answering each connection with ``serve`` on its own
    thread; everything stops (sockets closed, threads joined) when the block ends."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    threads: list[threading.Thread] = []
    conns: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            conns.append(conn)
            worker = threading.Thread(target=serve, args=(conn, stop), daemon=True)
            threads.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple/"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for conn in conns:
            with suppress(OSError):
                conn.close()
        for worker in threads:
            worker.join(5)


def hang(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(60)  # read nothing, answer nothing


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """Answer one byte every 2 s (each read well within any per-read timeout)."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n"
    for byte in answer + b"x" * 100:
        if stop.wait(2):
            return
        with suppress(OSError):
            conn.sendall(bytes([byte]))


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:
    with suppress(OSError):
        while not stop.is_set() and conn.recv(65536):
            conn.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: /simple/alpha/\r\nContent-Length: 0\r\n\r\n"
            )


def test_ctrl_c_answers_at_once_while_the_index_hangs(tmp_path: Path) -> None:
    with raw_server(hang) as url:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloche",
                "-v",
                "pip",
                "install",
                "--target",
                tmp_path / "t",
                "-i",
                url,
                "--timeout",
                "60",
                "alpha",
                "beta",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1.5)  # the requests are out and waiting
            assert proc.poll() is None
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
            took = time.monotonic() - started
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert took < 1.0, f"Ctrl-C took {took:.1f}s"


def test_a_dripping_server_hits_the_total_deadline(tmp_path: Path) -> None:
    with raw_server(drip) as url:
        started = time.monotonic()
        result = cloche(
            "pip", "install", "--target", tmp_path / "t", "-i", url, "alpha",
            env={"CLOCHE_HTTP_TIMEOUT": "3", "CLOCHE_HTTP_RETRIES": "0"},
            timeout=60,
        )  # fmt: skip
        took = time.monotonic() - started
    assert result.code == 1, result
    assert "timed out after 3s" in result.err, result
    assert took < 15, f"took {took:.1f}s"


def test_a_redirect_loop_is_one_line(tmp_path: Path) -> None:
    with raw_server(redirect_loop) as url:
        result = cloche("pip", "install", "--target", tmp_path / "t", "-i", url, "alpha")
    assert result.code == 1, result
    assert result.err.startswith("error: http://127.0.0.1:"), result
    assert "redirects in a loop" in result.err and "unexpected" not in result.err


def test_an_unknown_api_version_is_one_line(tmp_path: Path, index_server: IndexServer) -> None:
    page = json.dumps({"meta": {"api-version": "2.0"}, "name": "alpha", "files": []}).encode()

    def newer(conn: socket.socket, stop: threading.Event) -> None:
        with suppress(OSError):
            conn.recv(65536)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.pypi.simple.v1+json\r\n"
                f"Content-Length: {len(page)}\r\nConnection: close\r\n\r\n"
            )
            conn.sendall(head.encode() + page)

    with raw_server(newer) as url:
        result = cloche("pip", "install", "--target", tmp_path / "t", "-i", url, "alpha")
    assert result.code == 1, result
    assert "is a simple API '2.0' page; cloche reads version 1.x" in result.err, result
    assert "unexpected" not in result.err


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {"CLOCHE_HTTP_TIMEOUT": "-1"}, "invalid value for CLOCHE_HTTP_TIMEOUT"),
        (("--timeout", "-1"), {}, "Invalid value for '--http-timeout' / '--timeout'"),
        (("--retries", "x"), {}, "Invalid value for '--http-retries' / '--retries'"),
    ],
)
def test_bad_network_settings_are_one_line(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    result = cloche("pip", "install", "--target", tmp_path / "t", *args, "alpha", env=env)
    assert result.code == 2, result
    assert expected in result.err
    assert "Traceback" not in result.err and "unexpected" not in result.err


def test_network_flags_in_every_spelling(tmp_path: Path, index_server: IndexServer) -> None:
    index_server.add_wheel("alpha", "1.0")
    for flags in (
        ("--http-timeout", "5", "--http-retries", "1"),
        ("--timeout", "5", "--retries", "1"),
    ):
        target = tmp_path / flags[0].strip("-")
        args = ("pip", "install", "--target", target, "-i", index_server.url, *flags, "alpha")
        result = cloche(*args)
        assert result.code == 0, result
    result = cloche("--http-timeout", "5", "--http-retries", "0", "lock", "--help")
    assert result.code == 0 and "--http-timeout" in result.out, result
