"""``cloche python list|find`` over PATH, pyenv, asdf, conda and cloche-managed layouts
built in the test from the real pyenv interpreters of this machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import cloche
from tests.test_python import pyenv_python


@pytest.fixture
def places(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """asdf holds 3.10, a conda env 3.12, cloche's own directory 3.9; PATH and pyenv nothing."""
    real = {v: pyenv_python(v) for v in ("3.9", "3.10", "3.12")}
    asdf = tmp_path / "asdf"
    managed = tmp_path / "managed"
    conda_env = isolated_home / "miniconda3" / "envs" / "torch"
    layout = {
        "asdf": (asdf / "installs" / "python" / "3.10.0" / "bin", real["3.10"]),
        "conda": (conda_env / "bin", real["3.12"]),
        "cloche": (managed / "cpython-3.9" / "bin", real["3.9"]),
    }
    found = {}
    for source, (bin_dir, target) in layout.items():
        bin_dir.mkdir(parents=True)
        (bin_dir / "python3").symlink_to(target)
        found[source] = bin_dir / "python3"
    (conda_env / "conda-meta").mkdir()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("ASDF_DATA_DIR", str(asdf))
    monkeypatch.setenv("CLOCHE_PYTHON_DIR", str(managed))
    for variable in ("MAMBA_ROOT_PREFIX", "CONDA_EXE", "CONDA_ROOT"):
        monkeypatch.delenv(variable, raising=False)
    return found


def find(*args: str, cwd: Path | None = None) -> str:
    result = cloche("python", "find", *args, cwd=cwd)
    assert result.code == 0, result
    return result.out.strip()


def test_list_shows_every_place(places: dict[str, Path]) -> None:
    result = cloche("python", "list", "--json")
    assert result.code == 0, result
    rows = json.loads(result.out)
    assert [(r["source"], r["executable"]) for r in rows] == [
        ("conda", str(places["conda"])),
        ("asdf", str(places["asdf"])),
        ("cloche", str(places["cloche"])),
    ]
    assert [r["version"][:4] for r in rows] == ["3.12", "3.10", "3.9."]
    text = cloche("python", "list").out
    assert "conda" in text and str(places["asdf"]) in text


def test_find_requests(places: dict[str, Path], tmp_path: Path) -> None:
    assert find("3.10") == str(places["asdf"])
    assert find("cpython@3.12") == str(places["conda"])
    assert find(">=3.9,<3.10") == str(places["cloche"])
    assert find(">=3.9") == str(places["conda"])  # the newest that fits
    version = json.loads(cloche("python", "list", "--json").out)[1]["version"]
    assert find(version) == str(places["asdf"])  # an exact 3.10.x
    assert find(str(places["cloche"])) == str(places["cloche"])
    missing = cloche("python", "find", "3.7")
    assert missing.code == 1 and "no Python matching '3.7'" in missing.err
    assert "3.12" in missing.err  # what there is
    bad = cloche("python", "find", "three")
    assert bad.code == 1 and "invalid Python request" in bad.err


def test_find_honours_python_version_then_requires_python(
    places: dict[str, Path], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.10,<3.11"\n')
    assert find(cwd=project / "sub") == str(places["asdf"])
    (project / ".python-version").write_text("3.12\n")
    assert find(cwd=project / "sub") == str(places["conda"])


def test_new_places_serve_python_requests_everywhere(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOCHE_ENVS_DIR", str(tmp_path / "envs"))
    result = cloche("env", "create", "old", "--python", "3.9")
    assert result.code == 0, result
    assert "version = 3.9." in (tmp_path / "envs" / "old" / "pyvenv.cfg").read_text()


def test_fast_list_answers_as_the_click_command(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python list [--json]` is answered before click loads; `--cache-dir` goes through click.
    cache = tmp_path / "probe-cache"
    for extra in ((), ("--json",)):
        fast = cloche("python", "list", *extra, env={"CLOCHE_CACHE_DIR": str(cache)})
        slow = cloche("--cache-dir", cache, "python", "list", *extra)
        assert fast.code == slow.code == 0 and fast.out == slow.out and fast.out, (fast, slow)
    monkeypatch.setenv("CLOCHE_PYTHON_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("ASDF_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("HOME", str(tmp_path / "nothing"))
    empty = cloche("python", "list")
    assert empty.code == 0 and empty.out == ""
    assert "No Python interpreters found" in empty.err
