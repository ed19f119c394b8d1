"""A real ``cloche`` killed while it changes an env: the next command puts the env back.

Each test starts a real ``cloche pip install`` or ``cloche sync`` subprocess, waits
for a marker on disk (the journal appearing, the package directory filling, the new
``.dist-info`` appearing), then sends kill -9 or SIGTERM. Whatever moment the signal
lands on, the env must afterwards be exactly as before or exactly as after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import cloche, venv_python
from tests.support.index_server import IndexServer

FILES = 1500
Marker = Callable[[Path], bool]


def _files(version: str) -> dict[str, str]:
    # Both versions share most names, so a mix of the two is visible in the tree.
    names = {f"big/m{i}.py": f"V = {version!r}\n" for i in range(FILES)}
    names[f"big/only_{version.replace('.', '_')}.py"] = ""
    names["big/__init__.py"] = f"VERSION = {version!r}\n"
    return names


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel("big", "1.0", files=_files("1.0"))
    index_server.add_wheel("big", "2.0", files=_files("2.0"))
    return index_server


def _site(venv: Path) -> Path:
    [site] = venv.glob("lib/python*/site-packages")
    return site


def _journal_written(venv: Path) -> bool:
    return (_site(venv).parent / ".cloche-journal").exists()


def _half_linked(venv: Path) -> bool:
    """The old tree moved aside (or never there), and a third of the new one linked."""
    big = _site(venv) / "big"
    if not _journal_written(venv) or (big / "only_1_0.py").exists():
        return False
    return len(list(big.glob("m*.py"))) > FILES // 3


def _dist_info_written(venv: Path) -> bool:
    return (_site(venv) / "big-2.0.dist-info" / "INSTALLER").exists()


def _start(args: list[str], cwd: Path | None = None) -> subprocess.Popen[str]:
    # --link-mode copy: a file at a time, so the window to land in is wide.
    env = {**os.environ, "CLOCHE_LINK_MODE": "copy"}
    return subprocess.Popen(
        [sys.executable, "-m", "cloche", "-v", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at(proc: subprocess.Popen[str], venv: Path, marker: Marker, signum: int) -> str:
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if marker(venv):
                proc.send_signal(signum)
                break
        except (OSError, ValueError):  # site-packages not there yet
            pass
        time.sleep(0.0005)
    _out, err = proc.communicate(timeout=60)
    return err


def _state(venv: Path, *, cleaned: bool = True) -> str | None:
    """The version the env holds, after checking that it holds it whole and nothing else.

    A process killed right after its commit leaves its backup: the next install (not
    ``cleaned``) deletes it.
    """
    listed = cloche("pip", "list", "--python", venv, "--format", "json")
    assert listed.code == 0, listed
    versions = {d["name"]: d["version"] for d in json.loads(listed.out)}
    site = _site(venv)
    assert not list(site.parent.glob(".cloche-journal*")), "the journal was not cleared"
    if cleaned:
        assert not list(site.parent.glob(".cloche-backup-*")), "a backup was left behind"
    checked = cloche("pip", "check", "--python", venv)
    assert checked.code == 0, checked
    version = versions.get("big")
    if version is None:
        assert not (site / "big").exists(), "a skeleton of the package was left"
        return None
    names = {p.name for p in (site / "big").iterdir() if p.name != "__pycache__"}
    assert names == {Path(path).name for path in _files(version)}
    ran = subprocess.run(
        [venv_python(venv), "-c", "import big, big.m7; print(big.VERSION, big.m7.V)"],
        capture_output=True,
        text=True,
    )
    assert ran.stdout.split() == [version, version], ran
    return version


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "env"
    assert cloche("venv", path).code == 0
    return path


@pytest.mark.parametrize(
    "marker", [_journal_written, _half_linked, _dist_info_written], ids=lambda m: m.__name__
)
def test_kill_9_during_an_upgrade_is_undone_by_the_next_command(
    index: IndexServer, venv: Path, marker: Marker
) -> None:
    pip = ["pip", "install", "--python", str(venv), "--index-url", index.url]
    assert cloche(*pip, "big==1.0").code == 0
    proc = _start([*pip, "big==2.0"])
    _kill_at(proc, venv, marker, signal.SIGKILL)
    interrupted = _journal_written(venv)  # else it was done before the signal came
    assert interrupted or proc.returncode in (0, -signal.SIGKILL)
    listed = cloche("pip", "list", "--python", venv)
    if interrupted:
        assert listed.err.startswith("warning: an earlier cloche was interrupted"), listed
        assert "back as it was before" in listed.err and listed.err.count("\n") == 1, listed
        assert "big     1.0" in listed.out
    else:
        assert listed.err == ""
    assert _state(venv, cleaned=interrupted) in ("1.0", "2.0")
    # And the next install goes ahead as if nothing had happened.
    assert cloche(*pip, "big==1.0").code == 0
    assert _state(venv) == "1.0"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_sigterm_and_sighup_roll_back_as_ctrl_c(
    index: IndexServer, venv: Path, signum: int
) -> None:
    pip = ["pip", "install", "--python", str(venv), "--index-url", index.url]
    proc = _start([*pip, "big==1.0"])
    err = _kill_at(proc, venv, _half_linked, signum)
    if proc.returncode != 0:  # not already done when the signal came
        assert proc.returncode == 128 + signum, err
        assert f"interrupted by {signal.Signals(signum).name}" in err
        assert "Traceback" not in err
        assert not list(_site(venv).parent.glob(".cloche-journal*"))
        assert _state(venv) is None
    else:
        assert _state(venv) == "1.0"


def test_kill_9_during_sync_is_undone_by_the_next_sync(index: IndexServer, tmp_path: Path) -> None:
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index.url}"\n')
    added = cloche("add", "big==1.0", cwd=root)
    assert added.code == 0, added
    venv = root / ".venv"
    text = (root / "pyproject.toml").read_text().replace('"big==1.0"', '"big==2.0"')
    (root / "pyproject.toml").write_text(text)
    assert cloche("lock", cwd=root).code == 0
    proc = _start(["sync"], cwd=root)
    _kill_at(proc, venv, _half_linked, signal.SIGKILL)
    interrupted = _journal_written(venv)
    synced = cloche("sync", cwd=root)
    assert ("was interrupted" in synced.err) == interrupted, synced
    assert synced.code == 0, synced
    assert _state(venv) == "2.0"


# -- a full filesystem --------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a small tmpfs (its ``-o`` options given) under ``tmp_path``; root only."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def _tree(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): path.lstat().st_size if path.is_file() else -1
        for path in root.rglob("*")
        if "__pycache__" not in path.parts
    }


@pytest.mark.parametrize(
    ("options", "files"),
    [
        # Out of blocks in the middle of copying the files.
        ("size=2m", {f"big/m{i}.py": "x" * 16384 for i in range(300)}),
        # Out of inodes in the middle of making directories.
        ("size=50m,nr_inodes=400", {f"big/d{i}/sub/m.py": "" for i in range(600)}),
    ],
    ids=["blocks", "inodes"],
)
def test_a_full_disk_leaves_the_env_as_it_was(
    index_server: IndexServer,
    small_disk: Callable[[str], Path],
    options: str,
    files: dict[str, str],
) -> None:
    index_server.add_wheel("big", "1.0", files={"big/__init__.py": "VERSION = '1.0'\n"})
    index_server.add_wheel("big", "2.0", files={"big/__init__.py": "", **files})
    venv = small_disk(options) / "env"
    assert cloche("venv", venv).code == 0
    pip = ["pip", "install", "--python", str(venv), "--index-url", index_server.url]
    assert cloche(*pip, "big==1.0").code == 0
    before = _tree(venv)
    failed = cloche(*pip, "big==2.0")
    assert failed.code == 1, failed
    assert "No space left on device" in failed.err and "left as it was" in failed.err
    assert "Traceback" not in failed.err
    assert _tree(venv) == before  # no empty file, no directory skeleton
    ran = subprocess.run(
        [venv_python(venv), "-c", "import big; print(big.VERSION)"], capture_output=True, text=True
    )
    assert ran.stdout.strip() == "1.0", ran


def test_add_puts_the_project_files_back_when_the_install_fails(
    index: IndexServer, tmp_path: Path
) -> None:
    # Locks fine; its install is refused (a script name that is not a file name).
    index.add_wheel("badep", "1.0", entry_points={"console_scripts": {"../../evil": "x:main"}})
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index.url}"\n')
    assert cloche("add", "big==1.0", cwd=root).code == 0
    before = [(root / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")]
    failed = cloche("add", "badep", cwd=root)
    assert failed.code == 1, failed
    assert "not a valid file name" in failed.err and "Traceback" not in failed.err
    assert "back as they were" in failed.err
    assert [(root / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")] == before
    assert _state(root / ".venv") == "1.0"


def test_venv_clear_waits_for_the_env_lock(venv: Path) -> None:
    from cloche.file_lock import FileLock

    lock = FileLock(_site(venv).parent / ".cloche-install.lock")
    with lock:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloche", "venv", "--clear", str(venv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # An install holds the env: clearing must not begin under it.
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
        assert (venv / "pyvenv.cfg").exists()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (venv / "pyvenv.cfg").exists() and _site(venv).is_dir()


# -- distributions cut short ----------------------------------------------------


@pytest.mark.parametrize("cut", ["no RECORD", "files gone"])
def test_a_distribution_cut_short_is_not_installed(
    index_server: IndexServer, venv: Path, cut: str
) -> None:
    files = {"small/__init__.py": "VERSION = '1.0'\n", "small/part.py": ""}
    index_server.add_wheel("small", "1.0", files=files)
    pip = ["pip", "install", "--python", str(venv), "--index-url", index_server.url]
    assert cloche(*pip, "small==1.0").code == 0
    site = _site(venv)
    if cut == "no RECORD":
        (site / "small-1.0.dist-info" / "RECORD").unlink()
    (site / "small" / "part.py").unlink()

    checked = cloche("pip", "check", "--python", venv)
    assert checked.code == 1, checked
    assert "small 1.0 is not wholly installed" in checked.out
    assert "cloche pip install --force-reinstall small==1.0" in checked.out

    again = cloche(*pip, "small==1.0")
    assert again.code == 0, again
    assert (site / "small" / "part.py").exists()
    assert cloche("pip", "check", "--python", venv).code == 0

    (site / "small-1.0.dist-info" / "RECORD").unlink()
    forced = cloche(*pip, "--force-reinstall", "small==1.0")
    assert forced.code == 0, forced
    assert cloche("pip", "check", "--python", venv).code == 0

    (site / "small-1.0.dist-info" / "RECORD").unlink()
    removed = cloche("pip", "uninstall", "--python", venv, "-y", "small")
    assert removed.code == 0, removed
    assert not (site / "small-1.0.dist-info").exists()
