"""Test isolation: every test gets its own HOME, config, cache; no test may leak
changes to os.environ or the working directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.fixtures"]

_LEAKY_PREFIXES = ("PIP_", "UV_", "CLOCHE_", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")
_SET_BY_IMPORTS = ("RAY_CLIENT_MODE",)
"""Set by importing Ray (the first test to import the plugin module), not by a test."""


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that changes the environment or cwd and does not restore them."""
    env_before = dict(os.environ)
    cwd_before = Path.cwd()
    yield
    cwd_after = Path.cwd()
    if cwd_after != cwd_before:
        os.chdir(cwd_before)
        pytest.fail(f"test changed the working directory to {cwd_after}")
    # Set up before monkeypatch, so by now every monkeypatch change is undone.
    changed = sorted(
        k
        for k in set(os.environ) | set(env_before)
        if os.environ.get(k) != env_before.get(k)
        and k != "PYTEST_CURRENT_TEST"
        and not (k in _SET_BY_IMPORTS and k not in env_before)
    )
    if changed:
        os.environ.clear()
        os.environ.update(env_before)
        pytest.fail(f"test changed environment variables: {changed}")


@pytest.fixture(autouse=True)
def isolated_home(
    no_leaks: None, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    # Requesting no_leaks first makes it set up before monkeypatch, so it checks after undo.
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("CLOCHE_CACHE_DIR", str(home / "cloche-cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    # A refused port: no test downloads an interpreter from the public mirror.
    monkeypatch.setenv("CLOCHE_PYTHON_MIRROR", "http://127.0.0.1:9/no-python-mirror")
    yield home
