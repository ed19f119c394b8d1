"""Several cloches started at once in a project with no ``.venv`` yet (Ray starts a
node's workers together, each through ``cloche run``): one makes the venv, the others
wait for it, and every one of them runs in the whole env."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import cloche, installed
from tests.support.index_server import IndexServer
from tests.support.locks import write_project

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX processes and locks")

AT_ONCE = 6


@pytest.fixture
def project(tmp_path: Path, index_server: IndexServer) -> Path:
    index_server.add_wheel("alpha", "1.0", requires=["beta"])
    index_server.add_wheel("beta", "1.5")
    return write_project(tmp_path / "app", index_server, ["alpha==1.0"]).parent


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cloche", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _all_succeed(started: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; each must succeed. What each said on stderr."""
    said = []
    for proc in started:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
        said.append(err)
    return said


@pytest.mark.parametrize("attempt", range(3))
def test_runs_started_together_make_the_venv_once(project: Path, attempt: int) -> None:
    code = "import alpha, beta, sys; print(sys.prefix)"
    started = [_start(project, "run", "--frozen", "python", "-c", code) for _ in range(AT_ONCE)]
    said = _all_succeed(started)
    assert sum(err.count("Creating .venv") for err in said) == 1, said
    assert installed(project / ".venv") == {"alpha": "1.0", "beta": "1.5"}


def test_syncs_and_runs_together_into_a_deleted_venv(project: Path) -> None:
    """The first sync kept a recipe, so some of these replay it (``sync_replay``) while
    the others plan: whichever finishes the venv first, it is whole for all."""
    assert cloche("sync", cwd=project).code == 0
    shutil.rmtree(project / ".venv")
    started = [
        _start(project, *(("sync",) if n % 2 else ("run", "python", "-c", "import alpha")))
        for n in range(AT_ONCE)
    ]
    _all_succeed(started)
    assert installed(project / ".venv") == {"alpha": "1.0", "beta": "1.5"}
    assert not [p for p in project.iterdir() if "partial" in p.name]


def test_a_sync_waits_for_the_venv_being_made(project: Path) -> None:
    """While another process holds the venv's creation lock, a sync says so and waits;
    when it is let go, the sync makes the venv."""
    from cloche.ops.venv_lock import making

    venv = project / ".venv"
    with making(str(venv), os.environ["CLOCHE_CACHE_DIR"], lambda: None):
        proc = _start(project, "sync", "--frozen")
        assert proc.stderr is not None
        first = proc.stderr.readline()  # said before it waits, on a line of its own
        assert first.startswith("Waiting for another cloche process to make"), first
        time.sleep(0.5)
        assert proc.poll() is None
        assert not venv.exists()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Creating .venv" in err
    assert installed(venv) == {"alpha": "1.0", "beta": "1.5"}
