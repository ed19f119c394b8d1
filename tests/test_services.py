"""The install path in process: plan -> prepare -> apply, with the composition root's
parts replaced where a test needs to see what was asked of them."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cloche.adapters.index.client import IndexClient
from cloche.adapters.store import Store
from cloche.config import Settings, load_settings
from cloche.core.project.load import load_project
from cloche.core.report import NullReporter, Reporter
from cloche.ops.services import Services
from cloche.ops.stamp import Selection
from cloche.ops.sync import LockMode, sync_project
from tests.support.cli import cloche
from tests.support.index_server import IndexServer


class CountingClients:
    """A client factory that counts the index clients made."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, settings: Settings, reporter: Reporter) -> IndexClient:
        self.made += 1
        return IndexClient(settings, reporter=reporter)


@pytest.fixture
def synced(tmp_path: Path, index_server: IndexServer) -> Path:
    index_server.add_wheel("alpha", "1.0", requires=["beta>=1"])
    index_server.add_wheel("beta", "1.0")
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    result = cloche("add", "alpha", cwd=root)
    assert result.code == 0, result
    return root


def _services(root: Path, clients: CountingClients) -> Services:
    spec = load_project(root)
    settings = load_settings(project_table=dict(spec.tool))
    return Services(settings, NullReporter(), store=Store(settings.cache_dir), client=clients)


def test_a_warm_sync_links_from_the_store_without_an_index_client(synced: Path) -> None:
    shutil.rmtree(synced / ".venv")
    clients = CountingClients()
    with _services(synced, clients) as services:
        result = sync_project(services, load_project(synced), Selection(), LockMode.FROZEN)
    assert clients.made == 0
    assert {w.name for w in result.plan.install} == {"alpha", "beta"}
    assert result.plan.remote == ()  # every wheel was found in the store by the plan
    assert {w.name for w in result.plan.cached} == {"alpha", "beta"}


def test_a_cold_sync_makes_one_client_and_fetches_what_is_remote(
    synced: Path, tmp_path: Path
) -> None:
    shutil.rmtree(synced / ".venv")
    clients = CountingClients()
    warm = _services(synced, clients)
    settings = replace(warm.settings, cache_dir=tmp_path / "empty-cache")
    with Services(settings, NullReporter(), client=clients) as services:
        result = sync_project(services, load_project(synced), Selection(), LockMode.FROZEN)
    assert clients.made == 1
    assert {w.name for w in result.plan.remote} == {"alpha", "beta"}
    assert result.plan.cached == ()
