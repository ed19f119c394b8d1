"""``cloche sync`` into a deleted ``.venv``, made again from the last sync's tree
(``ops.sync_replay``), and the no-op answer before click loads."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import Result, cloche, cloche_imports, installed, venv_python
from tests.support.index_server import IndexServer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="replays hard links (POSIX)")


@pytest.fixture
def root(tmp_path: Path, index_server: IndexServer) -> Path:
    entry_points = {"console_scripts": {"alpha-cli": "alpha:main"}}
    files = {"alpha/__init__.py": "def main():\n    print('alpha here')\n"}
    index_server.add_wheel(
        "alpha", "1.0", requires=["beta>=1"], entry_points=entry_points, files=files
    )
    index_server.add_wheel("beta", "2.0")
    result = cloche("init", "--python", sys.executable, "demo", cwd=tmp_path)
    assert result.code == 0, result
    project = tmp_path / "demo"
    with (project / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    ok(project, "add", "alpha")
    return project


def ok(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    result = cloche(*args, cwd=project, env=env)
    assert result.code == 0, result
    return result


def traced_sync(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[str, set[str]]:
    """``cloche sync ARGS`` under ``-X importtime``: what it said, and what it imported."""
    result, imported = cloche_imports("sync", *args, cwd=project, env=env)
    assert result.code == 0, result
    return result.err, imported


def tree(venv: Path) -> dict[str, tuple[str, int, bytes | str | None]]:
    """Every entry under ``venv``: kind, mode and content (a symlink's target)."""
    out: dict[str, tuple[str, int, bytes | str | None]] = {}
    for path in sorted(venv.rglob("*")):
        rel = str(path.relative_to(venv))
        st = path.lstat()
        if path.is_symlink():
            out[rel] = ("link", 0, str(path.readlink()))
        elif path.is_dir():
            out[rel] = ("dir", st.st_mode & 0o7777, None)
        elif rel != ".cloche-stamp":
            out[rel] = ("file", st.st_mode & 0o7777, path.read_bytes())
    return out


def fresh_slow_sync(project: Path) -> str:
    """A sync into a new .venv the ordinary way (no recipe kept yet); what it said."""
    shutil.rmtree(project / ".venv")
    shutil.rmtree(Path(os.environ["CLOCHE_CACHE_DIR"], "sync-replay-v1"), ignore_errors=True)
    said, imported = traced_sync(project)
    assert "click" in imported  # the click command ran
    return said


def test_a_deleted_venv_is_made_again_exactly_without_click_or_packaging(root: Path) -> None:
    said = fresh_slow_sync(root)
    assert "+ alpha==1.0" in said and "Installed 2 package(s)" in said
    expected = tree(root / ".venv")
    shutil.rmtree(root / ".venv")

    again, imported = traced_sync(root)

    assert again == said
    assert not imported & {"click", "packaging", "pathlib", "json", "tomllib", "cloche.ops.sync"}
    assert tree(root / ".venv") == expected
    assert installed(root / ".venv") == {"alpha": "1.0", "beta": "2.0"}
    proc = subprocess.run(
        [str(root / ".venv" / "bin" / "alpha-cli")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "alpha here" in proc.stdout, proc.stderr
    # the replayed env carries a valid stamp: the next sync is a no-op, before click too
    noop, imported = traced_sync(root)
    assert noop == "Environment is up to date\n"
    assert "click" not in imported
    assert not [p for p in root.iterdir() if p.name.startswith(".venv.cloche-partial")]


def test_quiet_and_ci_flags_take_the_fast_path(root: Path) -> None:
    fresh_slow_sync(root)
    shutil.rmtree(root / ".venv")
    said, imported = traced_sync(root, "--locked", "-q")
    assert said == "" and "click" not in imported
    assert installed(root / ".venv") == {"alpha": "1.0", "beta": "2.0"}
    said, imported = traced_sync(root, "--frozen")
    assert said == "Environment is up to date\n" and "click" not in imported
    # what the fast path does not read goes to the click command, which answers the same
    said, imported = traced_sync(root, "--no-default-groups")
    assert "up to date" in said and "click" in imported
    result = cloche("sync", "--frozen", "--locked", cwd=root)
    assert result.code == 2 and "cannot be used together" in result.err


@pytest.mark.parametrize("change", ["pyproject", "lock", "python-version", "variable", "path"])
def test_any_changed_input_syncs_the_ordinary_way(root: Path, tmp_path: Path, change: str) -> None:
    fresh_slow_sync(root)
    shutil.rmtree(root / ".venv")
    env: dict[str, str] = {}
    if change == "pyproject":
        with (root / "pyproject.toml").open("a") as fh:
            fh.write("# edited\n")
    elif change == "lock":
        with (root / "pylock.toml").open("a") as fh:
            fh.write("# edited\n")
    elif change == "python-version":
        (root / ".python-version").write_text(sys.version.split()[0] + "\n")
    elif change == "variable":
        env["CLOCHE_HTTP_RETRIES"] = "7"
    else:
        # a new interpreter where discovery looks: it may be the one to choose now
        bin_dir = tmp_path / "more-pythons"
        bin_dir.mkdir()
        env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        ok(root, "sync", env=env)  # records with that PATH
        shutil.rmtree(root / ".venv")
        (bin_dir / "python3").symlink_to(sys.executable)
    _, imported = traced_sync(root, env=env)
    assert "click" in imported
    assert installed(root / ".venv") == {"alpha": "1.0", "beta": "2.0"}


def test_a_store_that_lost_a_wheel_falls_back_and_leaves_nothing(root: Path) -> None:
    fresh_slow_sync(root)
    shutil.rmtree(root / ".venv")
    cache = Path(os.environ["CLOCHE_CACHE_DIR"])
    wheels = [p for p in (cache / "wheels-v1").iterdir() if p.is_dir()]
    for wheel in wheels:
        shutil.rmtree(wheel)
    said, imported = traced_sync(root)
    assert "click" in imported and "Installed 2 package(s)" in said
    assert installed(root / ".venv") == {"alpha": "1.0", "beta": "2.0"}
    assert not [p for p in root.iterdir() if p.name.startswith(".venv.cloche-partial")]


def test_a_venv_that_appeared_is_left_alone(root: Path) -> None:
    fresh_slow_sync(root)
    shutil.rmtree(root / ".venv")
    ok(root, "venv", ".venv")  # an empty env in the way: the ordinary sync fills it
    _, imported = traced_sync(root)
    assert "click" in imported
    assert installed(root / ".venv") == {"alpha": "1.0", "beta": "2.0"}


def test_a_half_made_tree_of_a_killed_sync_is_removed(root: Path) -> None:
    fresh_slow_sync(root)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    partial = root / f".venv.cloche-partial-{dead.stdout.strip()}"
    (partial / "lib").mkdir(parents=True)
    shutil.rmtree(root / ".venv")
    ok(root, "sync")
    assert not partial.exists()
    assert installed(root / ".venv") == {"alpha": "1.0", "beta": "2.0"}


def test_kill_9_during_a_replay_leaves_the_venv_whole_or_absent(root: Path) -> None:
    fresh_slow_sync(root)
    expected = tree(root / ".venv")
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3):
        shutil.rmtree(root / ".venv", ignore_errors=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloche", "sync", "-q"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        venv = root / ".venv"
        assert not venv.exists() or tree(venv) == expected, delay
        ok(root, "sync", "-q")
        assert tree(venv) == expected
        assert not [p for p in root.iterdir() if p.name.startswith(".venv.cloche-partial")]
    assert venv_python(root / ".venv").exists()


def test_snapshot_takes_links_symlinks_and_written_files(tmp_path: Path) -> None:
    from cloche.adapters.venv import snapshot

    store = tmp_path / "store" / "w1"
    (store / "pkg").mkdir(parents=True)
    (store / "pkg" / "mod.py").write_text("x = 1\n")
    venv = tmp_path / "venv"
    (venv / "lib" / "pkg").mkdir(parents=True)
    os.link(store / "pkg" / "mod.py", venv / "lib" / "pkg" / "mod.py")
    (store / "w1.data" / "data" / "share").mkdir(parents=True)
    (store / "w1.data" / "data" / "share" / "f.txt").write_text("data\n")
    (venv / "share").mkdir()
    os.link(store / "w1.data" / "data" / "share" / "f.txt", venv / "share" / "f.txt")
    (venv / "bin").mkdir()
    (venv / "bin" / "tool").write_text("#!/bin/sh\n")
    (venv / "bin" / "tool").chmod(0o751)
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    (venv / "stamp").write_text("left out")
    taken = snapshot.take(str(venv), [str(store)], skip={"stamp"})
    assert taken is not None
    assert taken["grouped"] == [(str(store), "lib/", ["pkg/mod.py"])]
    assert taken["links"] == [("share/f.txt", f"{store}/w1.data/data/share/f.txt")]
    made = tmp_path / "made"
    snapshot.make(taken, str(made))
    assert tree(made) == {k: v for k, v in tree(venv).items() if k != "stamp"}
    assert (made / "lib" / "pkg" / "mod.py").stat().st_ino == (
        store / "pkg" / "mod.py"
    ).stat().st_ino
    # a store file gone: make fails with OSError, for the caller to fall back
    (store / "pkg" / "mod.py").unlink()
    with pytest.raises(OSError):
        snapshot.make(taken, str(tmp_path / "again"))


def test_snapshot_refuses_what_links_cannot_make(tmp_path: Path) -> None:
    from cloche.adapters.venv import snapshot

    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "big").write_bytes(b"\0" * (snapshot.MAX_WRITTEN_BYTES + 1))
    assert snapshot.take(str(venv), []) is None  # copied files: not worth keeping
    (venv / "big").unlink()
    os.mkfifo(venv / "pipe")
    assert snapshot.take(str(venv), []) is None
