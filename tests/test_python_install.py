"""``cloche python install|uninstall`` and ``python-downloads``, against a mirror served
from 127.0.0.1 in the test.

The mirror has the public layout (``latest-release.json``, ``<tag>/SHA256SUMS``, the
archives). Its one real archive is an install_only-shaped ``python/`` tree whose
``bin/python3.X`` is a copy of the base interpreter running these tests (plus its
libpython when that is shared) next to a ``pyvenv.cfg`` whose ``home`` points at the
original's directory, so the copy starts and finds its standard library. It is a real
ELF interpreter that discovery and the probe accept as they would a downloaded one,
and it reports the version the archive's name says (the running one), which is why
the archive is named after ``sys.version_info`` instead of a made-up release.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import sys
import sysconfig
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloche.adapters.python.downloads import platform_triple
from tests.support.cli import cloche

TAG = "20990101"
VERSION = ".".join(map(str, sys.version_info[:3]))
MINOR = ".".join(map(str, sys.version_info[:2]))
TRIPLE = platform_triple()

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX interpreter layout")


def _archive_bytes() -> bytes:
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:

        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        add(f"python/bin/python{MINOR}", base.read_bytes(), 0o755)
        link = tarfile.TarInfo("python/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, f"python{MINOR}"
        tar.addfile(link)
        add("python/pyvenv.cfg", f"home = {base.parent}\n".encode())
        shared = sysconfig.get_config_var("INSTSONAME") or ""
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        if sysconfig.get_config_var("Py_ENABLE_SHARED") and (Path(libdir) / shared).is_file():
            add(f"python/lib/{shared}", (Path(libdir) / shared).read_bytes(), 0o755)
    return buffer.getvalue()


@functools.cache
def _real_archive() -> bytes:
    return _archive_bytes()


class Mirror:
    """A directory served over HTTP: ``url`` is the mirror's base."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url

    def publish(self, archives: dict[str, bytes], sums: dict[str, str] | None = None) -> None:
        release = self.root / TAG
        release.mkdir(parents=True, exist_ok=True)
        (self.root / "latest-release.json").write_text(json.dumps({"version": 1, "tag": TAG}))
        lines = []
        for name, data in archives.items():
            (release / name).write_bytes(data)
            digest = (sums or {}).get(name) or hashlib.sha256(data).hexdigest()
            lines.append(f"{digest}  {name}\n")
        (release / "SHA256SUMS").write_text("".join(lines))


def archive_name(version: str, triple: str = TRIPLE) -> str:
    return f"cpython-{version}+{TAG}-{triple}-install_only.tar.gz"


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Mirror(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def managed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: Mirror) -> Path:
    """Nothing on PATH, in pyenv or asdf; cloche's directory empty; the mirror configured."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("ASDF_DATA_DIR", str(tmp_path / "no-asdf"))
    monkeypatch.setenv("CLOCHE_PYTHON_DIR", str(tmp_path / "managed"))
    monkeypatch.setenv("CLOCHE_PYTHON_MIRROR", mirror.url)
    for variable in ("MAMBA_ROOT_PREFIX", "CONDA_EXE", "CONDA_ROOT"):
        monkeypatch.delenv(variable, raising=False)
    mirror.publish(
        {
            archive_name(VERSION): _real_archive(),
            archive_name("3.8.1"): b"an older build, never chosen here",
            archive_name(VERSION, "riscv64-unknown-linux-gnu"): b"another platform",
        }
    )
    return tmp_path / "managed"


def test_install_picks_checks_and_unpacks(managed: Path) -> None:
    result = cloche("python", "install", MINOR)
    assert result.code == 0, result
    assert f"Installed Python {VERSION} ({archive_name(VERSION)})" in result.err
    install = managed / f"cpython-{VERSION}-{TRIPLE}"
    assert (install / "bin" / "python3").is_file()
    assert json.loads((install / "cloche-python.json").read_text())["tag"] == TAG
    assert sorted(p.name for p in managed.iterdir()) == [install.name]  # no temp dirs left
    rows = json.loads(cloche("python", "list", "--json").out)
    assert [(r["source"], r["version"]) for r in rows] == [("cloche", VERSION)]
    found = cloche("python", "find", MINOR)
    assert found.out.strip() == str(install / "bin" / "python3"), found
    again = cloche("python", "install", MINOR)
    assert again.code == 0 and "already installed" in again.err


def test_uninstall(managed: Path) -> None:
    assert cloche("python", "install", VERSION).code == 0
    result = cloche("python", "uninstall", MINOR)
    assert result.code == 0, result
    assert f"Removed Python {VERSION}" in result.err
    assert list(managed.iterdir()) == []
    missing = cloche("python", "uninstall", MINOR)
    assert missing.code == 2 and "installed: none" in missing.err


def test_wrong_sha256_is_refused_and_leaves_nothing(managed: Path, mirror: Mirror) -> None:
    name = archive_name(VERSION)
    mirror.publish({name: _real_archive()}, sums={name: "0" * 64})
    result = cloche("python", "install", MINOR)
    assert result.code == 1, result
    assert "refusing it" in result.err and "0" * 64 in result.err
    assert not managed.exists() or list(managed.iterdir()) == []


def test_unknown_version_lists_what_the_mirror_has(managed: Path) -> None:
    result = cloche("python", "install", "3.99")
    assert result.code == 1, result
    assert f"no CPython matching '3.99' in release {TAG}" in result.err
    assert f"it has: {VERSION}, 3.8.1" in result.err
    assert "riscv64" not in result.err
    bad = cloche("python", "install", "pypy3.10")
    assert bad.code == 2 and "CPython builds only" in bad.err


def test_unreachable_mirror_is_one_line(managed: Path) -> None:
    result = cloche(
        "python", "install", MINOR, env={"CLOCHE_PYTHON_MIRROR": "http://127.0.0.1:9/none"}
    )
    assert result.code == 1, result
    assert "cannot reach the Python mirror at http://127.0.0.1:9/none" in result.err
    assert "Traceback" not in result.err


def test_automatic_downloads_serve_python_requests(managed: Path, tmp_path: Path) -> None:
    result = cloche("venv", tmp_path / "v", "--python", MINOR)
    assert result.code == 0, result
    assert f"Installed Python {VERSION}" in result.err
    assert f"version = {VERSION}" in (tmp_path / "v" / "pyvenv.cfg").read_text().replace(
        "version_info", "version"
    )
    assert (managed / f"cpython-{VERSION}-{TRIPLE}").is_dir()


def test_manual_and_never(managed: Path, tmp_path: Path) -> None:
    manual = {"CLOCHE_PYTHON_DOWNLOADS": "manual"}
    result = cloche("venv", tmp_path / "v", "--python", MINOR, env=manual)
    assert result.code == 1, result
    assert f"install one with 'cloche python install {MINOR}'" in result.err
    assert not managed.exists()
    assert cloche("python", "install", MINOR, env=manual).code == 0
    never = cloche("python", "install", "3.8", env={"CLOCHE_PYTHON_DOWNLOADS": "never"})
    assert never.code == 2 and "python-downloads is 'never'" in never.err
    bad = cloche("python", "install", "3.8", env={"CLOCHE_PYTHON_DOWNLOADS": "sometimes"})
    assert bad.code == 2 and "expected automatic, manual or never" in bad.err


def _tar_with_link(target: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("python/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, target
        tar.addfile(link)
    return buffer.getvalue()


def test_archive_reaching_outside_is_refused(managed: Path, mirror: Mirror) -> None:
    mirror.publish({archive_name(VERSION): _tar_with_link("/etc/passwd")})
    result = cloche("python", "install", MINOR)
    assert result.code == 1 and "cannot unpack" in result.err, result
    assert not managed.exists() or list(managed.iterdir()) == []


@pytest.mark.parametrize(
    ("target", "refused"), [("python3.12", False), ("../../../etc", True), ("/usr/bin", True)]
)
def test_member_check_without_tar_filters(target: str, refused: bool) -> None:
    # What Python 3.10 before 3.10.12 (no tarfile filters) checks by hand.
    from cloche.adapters.python.managed import _check_members
    from cloche.errors import CorruptArchive

    with tarfile.open(fileobj=io.BytesIO(_tar_with_link(target)), mode="r:gz") as tar:
        if refused:
            with pytest.raises(CorruptArchive, match="points outside"):
                _check_members(tar)
        else:
            _check_members(tar)


def _project(root: Path, requires: str, pin: str | None = None) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "0.1"\nrequires-python = "{requires}"\n'
        "dependencies = []\n"
    )
    if pin is not None:
        (root / ".python-version").write_text(pin + "\n")
    return root


def _older_python() -> str | None:
    """An interpreter on this machine older than the running one, or None."""
    from packaging.version import Version

    from cloche.adapters.python.discovery import list_interpreters

    for found in list_interpreters():
        if found.version < Version(VERSION) and not found.is_venv:
            return str(found.executable)
    return None


def test_sync_downloads_the_python_the_pin_asks_for(managed: Path, tmp_path: Path) -> None:
    root = _project(tmp_path / "demo", f">={MINOR}", MINOR)
    result = cloche("sync", cwd=root)
    assert result.code == 0, result
    assert f"Installed Python {VERSION}" in result.err
    # The venv is made from the download (whose copied binary says its home is the
    # original's directory, so pyvenv.cfg names that one).
    assert (managed / f"cpython-{VERSION}-{TRIPLE}" / "bin" / "python3").is_file()
    assert f"Creating .venv with Python {VERSION} ({managed}" in result.err, result
    assert (root / ".venv" / "pyvenv.cfg").is_file()
    again = cloche("sync", cwd=root)  # the venv's Python fits now: nothing downloaded
    assert again.code == 0 and "Installed Python" not in again.err, again


def test_sync_downloads_what_requires_python_asks_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: Mirror
) -> None:
    older = _older_python()  # found before the fixture hides every interpreter
    if older is None:
        pytest.skip("no interpreter older than the running one here")
    managed = tmp_path / "managed"
    bin_dir = tmp_path / "old-bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(older)  # python3 on PATH, too old for the project
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("ASDF_DATA_DIR", str(tmp_path / "no-asdf"))
    monkeypatch.setenv("CLOCHE_PYTHON_DIR", str(managed))
    monkeypatch.setenv("CLOCHE_PYTHON_MIRROR", mirror.url)
    mirror.publish({archive_name(VERSION): _real_archive()})
    root = _project(tmp_path / "demo", f">={VERSION}")
    result = cloche("sync", cwd=root)
    assert result.code == 0, result
    assert f"Installed Python {VERSION}" in result.err
    assert f"Creating .venv with Python {VERSION} ({managed}" in result.err, result


@pytest.mark.parametrize("mode", ["manual", "never"])
def test_sync_without_automatic_downloads_says_how_to_install(
    managed: Path, tmp_path: Path, mode: str
) -> None:
    root = _project(tmp_path / "demo", f">={MINOR}", MINOR)
    result = cloche("sync", cwd=root, env={"CLOCHE_PYTHON_DOWNLOADS": mode})
    assert result.code == 1, result
    assert f"cloche python install {MINOR}" in result.err
    assert not managed.exists() and not (root / ".venv").exists()
    if mode == "manual":  # an explicit install is then used
        assert cloche("python", "install", MINOR, env={"CLOCHE_PYTHON_DOWNLOADS": mode}).code == 0
        done = cloche("sync", cwd=root, env={"CLOCHE_PYTHON_DOWNLOADS": mode})
        assert done.code == 0 and "Installed Python" not in done.err, done


def test_sync_with_a_version_the_mirror_lacks(managed: Path, tmp_path: Path) -> None:
    root = _project(tmp_path / "demo", ">=3.99")
    result = cloche("sync", cwd=root)
    assert result.code == 1, result
    assert "downloading one failed" in result.err and "it has:" in result.err
    assert "Traceback" not in result.err and not (root / ".venv").exists()


def test_offline_downloads_nothing(managed: Path, tmp_path: Path) -> None:
    root = _project(tmp_path / "demo", f">={MINOR}", MINOR)
    result = cloche("sync", cwd=root, env={"CLOCHE_OFFLINE": "1"})
    assert result.code == 1 and f"cloche python install {MINOR}" in result.err, result
    assert not managed.exists()


def test_env_create_downloads_its_python(managed: Path, tmp_path: Path) -> None:
    envs = tmp_path / "envs"
    result = cloche("env", "create", "e", "--python", MINOR, env={"CLOCHE_ENVS_DIR": str(envs)})
    assert result.code == 0, result
    assert f"Installed Python {VERSION}" in result.err
    assert (managed / f"cpython-{VERSION}-{TRIPLE}").is_dir()
    assert (envs / "e" / "pyvenv.cfg").is_file()
    manual = cloche(
        "env",
        "create",
        "f",
        "--python",
        "3.99",
        env={"CLOCHE_ENVS_DIR": str(envs), "CLOCHE_PYTHON_DOWNLOADS": "manual"},
    )
    assert manual.code == 1 and "cloche python install 3.99" in manual.err, manual
    assert sorted(p.name for p in envs.iterdir()) == ["e"]
