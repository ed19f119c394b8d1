"""Common OS errors on an env or a project name the path and say what to do, instead of
"unexpected error: PermissionError". The faults are real: a directory this user may not
change (chmod, or ``chattr +i`` for root, whom permissions do not stop), and a
directory where a file should be."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cli import cloche, installed, pip
from tests.support.index_server import IndexServer


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` (a directory) may not be changed by this process while inside."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip("running as root, and this file system has no chattr +i")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def _site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages")
    return found


def test_installing_into_an_env_this_user_may_not_change(
    tmp_path: Path, index_server: IndexServer
) -> None:
    index_server.add_wheel("alpha", "1.0")
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    site = _site_packages(venv)
    with unwritable(site):
        result = pip(index_server, venv, "install", "alpha")
    assert result.code == 1, result
    assert "unexpected error" not in result.err
    assert str(site) in result.err
    assert "hint: this user may not change" in result.err and "permissions" in result.err
    assert installed(venv) == {}


def test_a_project_directory_this_user_may_not_change(
    tmp_path: Path, index_server: IndexServer
) -> None:
    index_server.add_wheel("alpha", "1.0")
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    with unwritable(root):
        added = cloche("add", "--no-sync", "alpha", cwd=root)
        synced = cloche("sync", cwd=root)
    for result in (added, synced):
        assert result.code != 0, result
        assert "unexpected error" not in result.err, result
        assert "hint: this user may not change" in result.err, result
    assert f"cannot write {root / 'pyproject.toml'}" in added.err
    assert str(root / ".venv") in synced.err


def test_a_directory_where_the_lock_file_should_be(tmp_path: Path) -> None:
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    (root / "pylock.toml").mkdir()
    result = cloche("lock", cwd=root)
    assert result.code == 1, result
    assert f"cannot write {root / 'pylock.toml'}" in result.err
    assert "hint: a directory is where a file should be: move" in result.err
