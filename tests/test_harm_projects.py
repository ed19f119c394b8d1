"""No silent harm in projects: ``run`` keeps what was installed by hand (``--exact``
and ``sync`` remove it), and alternating extras does not reinstall each time."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.cli import Result, cloche
from tests.support.dists import make_source_tree
from tests.support.index_server import IndexServer


def _ok(*args: str | Path, cwd: Path) -> Result:
    result = cloche(*args, cwd=cwd)
    assert result.code == 0, result
    return result


def _installed(root: Path) -> dict[str, str]:
    result = _ok("pip", "list", "--python", root / ".venv", "--format", "json", cwd=root)
    return {d["name"]: d["version"] for d in json.loads(result.out)}


def _project(tmp_path: Path, index: IndexServer) -> Path:
    _ok("init", "--python", sys.executable, "demo", cwd=tmp_path)
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index.url}"\n')
    return root


def test_run_keeps_packages_installed_by_hand_and_sync_removes_them(
    tmp_path: Path, index_server: IndexServer
) -> None:
    for name, version in (("beta", "1.0"), ("plotlib", "0.5"), ("handmade", "2.0")):
        index_server.add_wheel(name, version)
    root = _project(tmp_path, index_server)
    _ok("add", "beta==1.0", cwd=root)
    _ok("add", "--optional", "viz", "plotlib", cwd=root)
    assert _installed(root) == {"beta": "1.0"}
    _ok("pip", "install", "--python", root / ".venv", "-i", index_server.url, "handmade", cwd=root)

    _ok("run", "python", "-c", "import handmade", cwd=root)
    assert _installed(root) == {"beta": "1.0", "handmade": "2.0"}

    viz = _ok("run", "--extra", "viz", "python", "-c", "import plotlib", cwd=root)
    assert "plotlib" in viz.err
    for _ in range(2):  # alternating: nothing is installed or removed again
        plain = _ok("run", "python", "-c", "import plotlib", cwd=root)
        assert "plotlib" not in plain.err, plain
        again = _ok("run", "--extra", "viz", "python", "-c", "import plotlib", cwd=root)
        assert "plotlib" not in again.err, again
    assert _installed(root) == {"beta": "1.0", "handmade": "2.0", "plotlib": "0.5"}

    # A stamp written by an inexact run does not pass for an exact sync.
    synced = _ok("sync", cwd=root)
    assert "- handmade==2.0" in synced.err and "- plotlib==0.5" in synced.err
    assert _installed(root) == {"beta": "1.0"}

    _ok("pip", "install", "--python", root / ".venv", "-i", index_server.url, "handmade", cwd=root)
    exact = _ok("run", "--exact", "python", "-c", "pass", cwd=root)
    assert "- handmade==2.0" in exact.err
    assert _installed(root) == {"beta": "1.0"}


def _two_pythons() -> tuple[str, str] | None:
    """A Python (not a venv's) and a higher minor version, when this machine has both."""
    from cloche.adapters.python.discovery import list_interpreters

    found = [i for i in list_interpreters() if not i.is_venv and i.version >= Version("3.9")]
    if not found:
        return None
    highest = max(found, key=lambda i: i.version)
    lower = [i for i in found if i.version.release[:2] < highest.version.release[:2]]
    if not lower:
        return None
    chosen = min(lower, key=lambda i: i.version)
    return chosen.executable, f"{chosen.version.major}.{chosen.version.minor}"


def test_sync_after_import_uses_python3_on_path_and_says_which(
    tmp_path: Path, index_server: IndexServer
) -> None:
    pythons = _two_pythons()
    if pythons is None:
        pytest.skip("needs two Python versions (a lower one to put first on PATH)")
    executable, minor = pythons
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(executable)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    index_server.add_wheel("beta", "1.0")
    root = tmp_path / "imported"
    root.mkdir()
    (root / "requirements.txt").write_text(f"--index-url {index_server.url}\nbeta==1.0\n")
    imported = cloche("import", "requirements.txt", cwd=root, env=env)
    assert imported.code == 0, imported
    assert f'requires-python = ">={minor}"' in (root / "pyproject.toml").read_text()
    synced = cloche("sync", cwd=root, env=env)
    assert synced.code == 0, synced
    assert f"Creating .venv with Python {minor}." in synced.err, synced
    assert "python3 on PATH" in synced.err
    config = (root / ".venv" / "pyvenv.cfg").read_text()
    assert re.search(rf"^version(_info)? = {re.escape(minor)}\.", config, re.M), config


def test_dynamic_dependencies_come_from_the_build_backend(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """``dynamic = ["dependencies"]``: the backend's prepare_metadata_for_build_wheel
    says what they are (as setuptools does reading requirements.txt), and they are
    locked and installed."""
    index_server.add_wheel("alpha", "1.0", requires=["beta"])
    index_server.add_wheel("beta", "2.0")
    root = make_source_tree(
        tmp_path, "demo", "0.1", requires=["alpha==1.0"], dynamic=["Requires-Dist"]
    )
    pyproject = root / "pyproject.toml"
    assert "dynamic = [" in pyproject.read_text() and "\ndependencies" not in pyproject.read_text()
    with pyproject.open("a") as fh:
        fh.write(f'requires-python = ">=3.9"\n\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    locked = _ok("lock", cwd=root)
    assert "Read 1 dependencies from the build backend" in locked.err, locked
    assert 'name = "alpha"' in (root / "pylock.toml").read_text()
    assert 'name = "beta"' in (root / "pylock.toml").read_text()
    assert _ok("lock", "--check", cwd=root).code == 0  # the lock is fresh as read
    _ok("sync", cwd=root)
    assert _installed(root) == {"alpha": "1.0", "beta": "2.0", "demo": "0.1"}


def test_dynamic_extras_come_from_the_build_backend_too(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """``dynamic = ["optional-dependencies"]``: each extra's requirements are what the
    backend reports under ``extra == "..."``; they are locked and ``--extra`` installs them."""
    index_server.add_wheel("alpha", "1.0")
    index_server.add_wheel("plotter", "3.0")
    root = make_source_tree(
        tmp_path, "demo", "0.1", requires=["alpha"], extras={"viz": ["plotter"]},
        dynamic=["Provides-Extra"],
    )  # fmt: skip
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'requires-python = ">=3.9"\n\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    locked = _ok("lock", cwd=root)
    assert "Read 1 extras from the build backend" in locked.err, locked
    assert 'name = "plotter"' in (root / "pylock.toml").read_text()
    assert _ok("lock", "--check", cwd=root).code == 0  # the lock is fresh as read
    _ok("sync", cwd=root)
    assert "plotter" not in _installed(root)
    _ok("sync", "--extra", "viz", cwd=root)
    assert _installed(root) == {"alpha": "1.0", "demo": "0.1", "plotter": "3.0"}
