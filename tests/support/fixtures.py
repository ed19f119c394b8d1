"""Pytest plugin: local package indexes and a directory for built dists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex


@pytest.fixture
def index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """A fresh, empty index, closed at teardown."""
    server = IndexServer(tmp_path_factory.mktemp("index-files"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def make_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], IndexServer]]:
    """A factory for more indexes in one test; all are closed at teardown."""
    servers: list[IndexServer] = []

    def make() -> IndexServer:
        server = IndexServer(tmp_path_factory.mktemp("index-files"))
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def torch_index(make_index: Callable[[], IndexServer]) -> Iterator[TorchIndex]:
    """The PyTorch index's layout with torch 2.9.0 and torchvision 0.24.0 built for cpu,
    cu126 and cu128 (a test module that needs other wheels defines its own)."""
    index = TorchIndex(make_index)
    for variant in ("cpu", "cu126", "cu128"):
        index.add_wheel(variant, "torch", f"2.9.0+{variant}", requires=["filelock"])
        index.add_wheel(variant, "torchvision", f"0.24.0+{variant}", requires=["torch"])
    try:
        yield index
    finally:
        index.close()


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    """An empty directory for built dists (find-links tests)."""
    directory = tmp_path / "dists"
    directory.mkdir()
    return directory
