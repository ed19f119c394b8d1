"""Bad input to the pip surface: one clear error line, non-zero exit, the env as it was."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pytest

from tests.support.cli import cloche
from tests.support.dists import make_wheel
from tests.support.index_server import IndexServer


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "env"
    assert cloche("venv", path).code == 0
    return path


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def snapshot(venv: Path) -> set[str]:
    return {str(p.relative_to(venv)) for p in venv.rglob("*")}


def rewrite_wheel(path: Path, extra: dict[str, bytes], *, drop_record: bool = False) -> None:
    """Add entries to a wheel (without fixing RECORD) to make it invalid."""
    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in items:
            if drop_record and info.filename.endswith("/RECORD"):
                continue
            zf.writestr(info, data)
        for name, data in extra.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a duplicate name is the point
                zf.writestr(name, data)


def expect_clean_failure(result, venv: Path, before: set[str], needle: str) -> None:
    assert result.code != 0, result
    assert any(line.startswith("error: ") for line in result.err.splitlines()), result
    assert "src/cloche" not in result.err  # the backend's own output may hold its traceback
    assert needle in result.err, result
    assert snapshot(venv) == before


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("traversal", "bad"),
        ("absolute", "bad"),
        ("record-mismatch", "bad"),
        ("truncated", "bad"),
    ],
)
def test_bad_wheels_are_refused(
    index_server: IndexServer, venv: Path, tmp_path: Path, case: str, needle: str
) -> None:
    wheel = make_wheel(tmp_path / "dists", "bad", "1.0")
    if case == "traversal":
        rewrite_wheel(wheel, {"../../evil.py": b"x = 1\n"})
    elif case == "absolute":
        rewrite_wheel(wheel, {"/tmp/evil.py": b"x = 1\n"})
    elif case == "record-mismatch":
        rewrite_wheel(wheel, {"bad/__init__.py": b"tampered = True\n"})
    else:
        data = wheel.read_bytes()
        wheel.write_bytes(data[: len(data) // 2])
    index_server.add(wheel)
    before = snapshot(venv)
    result = cloche("pip", "install", "bad", "--python", venv, "--index-url", index_server.url)
    expect_clean_failure(result, venv, before, needle)
    assert "Traceback" not in result.err
    assert not (tmp_path / "evil.py").exists()


def test_index_hash_mismatch(index_server: IndexServer, venv: Path, tmp_path: Path) -> None:
    index_server.add_wheel("good", "1.0")
    # Replace the served file after the index computed its hash.
    served = next(index_server.files_dir.glob("good-1.0-*.whl"))
    other = make_wheel(tmp_path / "other", "good", "1.0", files={"good/__init__.py": "x = 2\n"})
    served.write_bytes(other.read_bytes())
    before = snapshot(venv)
    result = cloche("pip", "install", "good", "--python", venv, "--index-url", index_server.url)
    expect_clean_failure(result, venv, before, "hash")


def test_failed_sdist_build_shows_backend_output(index_server: IndexServer, venv: Path) -> None:
    index_server.add_sdist("nobuild", "1.0", fail_build=True)
    before = snapshot(venv)
    result = cloche("pip", "install", "nobuild", "--python", venv, "--index-url", index_server.url)
    expect_clean_failure(result, venv, before, "failed to build nobuild")


def test_missing_interpreter(tmp_path: Path) -> None:
    result = cloche("venv", tmp_path / "v", "--python", "3.99")
    assert result.code != 0
    assert "no Python matching '3.99'" in result.err
    assert not (tmp_path / "v").exists()


def test_venv_over_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = cloche("venv", tmp_path / "f")
    assert result.code != 0
    assert result.err.startswith("error: ")
    assert (tmp_path / "f").read_text() == "x"


def test_venv_python_310(tmp_path: Path) -> None:
    import shutil

    if shutil.which("python3.10") is None:
        pytest.skip("no Python 3.10 here")
    result = cloche("venv", tmp_path / "v", "--python", "3.10")
    assert result.code == 0, result
    assert "Python 3.10" in result.err
    assert (tmp_path / "v" / "lib" / "python3.10" / "site-packages").is_dir()


def test_cache_commands(index_server: IndexServer, venv: Path, tmp_path: Path) -> None:
    index_server.add_wheel("cached", "1.0")
    cache = tmp_path / "cache"
    args = ("--cache-dir", cache)
    assert (
        cloche(
            *args, "pip", "install", "cached", "--python", venv, "--index-url", index_server.url
        ).code
        == 0
    )
    assert cloche(*args, "cache", "dir").out.strip() == str(cache)
    info = cloche(*args, "cache", "info")
    assert info.code == 0 and "wheels-v1" in info.out
    assert cloche(*args, "cache", "clean", "cached").code == 0
    assert cloche(*args, "cache", "prune").code == 0
    assert cloche(*args, "cache", "clean").code == 0
    # The env still works after the cache is gone: files were linked, not referenced.
    import subprocess

    out = subprocess.run([venv / "bin" / "python", "-c", "import cached"], capture_output=True)
    assert out.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs, where the machine lets us mount one (root on Linux)."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small filesystem here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_full_disk_leaves_env_as_it_was(
    index_server: IndexServer, small_disk: Path, tmp_path: Path
) -> None:
    import os

    index_server.add_wheel("small", "1.0")
    index_server.add_wheel("huge", "1.0", files={"huge/blob.bin": os.urandom(2 * 1024 * 1024)})
    venv = small_disk / "env"
    assert cloche("venv", venv).code == 0
    ok = cloche("pip", "install", "small", "--python", venv, "--index-url", index_server.url)
    assert ok.code == 0, ok
    before = snapshot(venv)
    result = cloche("pip", "install", "huge", "--python", venv, "--index-url", index_server.url)
    expect_clean_failure(result, venv, before, "No space left on device")
    assert "Traceback" not in result.err
    assert "free some disk space" in result.err
