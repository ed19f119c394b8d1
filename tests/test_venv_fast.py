"""``cloche venv`` answered without click: same result as the click command, or no answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from cloche import dirs
from cloche.cli import venv_fast
from tests.support.cli import cloche

# Any CLOCHE_* variable but the cache dir sends `cloche venv` down the click path.
CLICK_PATH = {"CLOCHE_OFFLINE": "0"}


@pytest.mark.parametrize(
    ("args", "path", "prompt", "clear", "quiet", "cache_dir"),
    [
        (["venv"], ".venv", None, False, 0, None),
        (["venv", "env"], "env", None, False, 0, None),
        (["-q", "venv", "env", "--clear"], "env", None, True, 1, None),
        (["-qq", "--no-progress", "venv", "--prompt", "p", "e"], "e", "p", False, 2, None),
        (["--cache-dir", "c", "venv", "--prompt=x y"], ".venv", "x y", False, 0, "c"),
        (["--cache-dir=c", "venv", "e"], "e", None, False, 0, "c"),
        (["-q", "venv", "-q", "e"], "e", None, False, 2, None),
        (["venv", "--quiet", "e"], "e", None, False, 1, None),
    ],
)
def test_parse_takes_the_common_forms(
    args: list[str], path: str, prompt: str | None, clear: bool, quiet: int, cache_dir: str | None
) -> None:
    request = venv_fast.parse(args)
    assert request is not None
    assert (request.path, request.prompt, request.clear) == (path, prompt, clear)
    assert (request.quiet, request.cache_dir) == (quiet, cache_dir)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["pip", "install", "x"],
        ["venv", "--help"],
        ["venv", "-h"],
        ["venv", "--python", "3.10"],
        ["venv", "-p", "3.10"],
        ["venv", "--seed"],
        ["venv", "a", "b"],
        ["venv", "--prompt"],
        ["venv", "--index-url", "http://x"],
        ["-v", "venv"],
        ["--offline", "venv"],
        ["--cache-dir"],
        ["venv", ""],
    ],
)
def test_parse_leaves_everything_else_to_click(args: list[str]) -> None:
    assert venv_fast.parse(args) is None


def test_python_may_name_an_interpreter_file(tmp_path: Path) -> None:
    for form in (
        ["--python", sys.executable],
        ["-p", sys.executable],
        [f"--python={sys.executable}"],
    ):
        request = venv_fast.parse(["venv", "env", *form])
        assert request is not None
        assert request.python == sys.executable
    # A version, a missing file or a directory (an environment) go to click.
    for value in ("3.11", str(tmp_path / "missing" / "python"), str(tmp_path)):
        assert venv_fast.parse(["venv", "env", "--python", value]) is None


def test_python_path_gives_the_same_venv_on_both_paths(tmp_path: Path) -> None:
    args = ("--python", sys.executable, "--prompt", "demo")
    fast = cloche("venv", "fast", *args, cwd=tmp_path)
    slow = cloche("venv", "slow", *args, cwd=tmp_path, env=CLICK_PATH)
    assert fast.code == slow.code == 0, f"{fast}\n{slow}"
    assert fast.err.replace("fast", "X") == slow.err.replace("slow", "X")
    assert _snapshot(tmp_path / "fast") == _snapshot(tmp_path / "slow")


def test_a_settings_variable_or_config_file_leaves_it_to_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert venv_fast.parse(["venv"]) is not None
    monkeypatch.setenv("CLOCHE_INDEX_URL", "https://example.invalid/simple/")
    assert venv_fast.parse(["venv"]) is None
    monkeypatch.delenv("CLOCHE_INDEX_URL")
    config = Path(dirs.user_config_file())
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("offline = true\n", encoding="utf-8")
    assert venv_fast.parse(["venv"]) is None


def _snapshot(venv: Path) -> dict[str, str]:
    """Every file of the venv, its own path replaced so two venvs compare equal."""
    out = {}
    for path in sorted(venv.rglob("*")):
        rel = str(path.relative_to(venv))
        if path.is_symlink():
            out[rel] = f"-> {path.readlink()}"
        elif path.is_file():
            out[rel] = path.read_text(encoding="utf-8").replace(str(venv), "@VENV@")
        else:
            out[rel] = "dir"
    return out


def test_fast_and_click_paths_make_the_same_venv(tmp_path: Path) -> None:
    fast = cloche("venv", "fast", "--prompt", "demo", cwd=tmp_path)
    slow = cloche("venv", "slow", "--prompt", "demo", cwd=tmp_path, env=CLICK_PATH)
    assert fast.code == slow.code == 0, f"{fast}\n{slow}"
    assert fast.err.replace("fast", "X") == slow.err.replace("slow", "X")
    assert fast.err.startswith("Created virtual environment at fast with Python ")
    assert "Activate with: source fast/bin/activate" in fast.err
    assert _snapshot(tmp_path / "fast") == _snapshot(tmp_path / "slow")
    python = tmp_path / "fast" / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True
    )
    assert proc.stdout.strip() == str(tmp_path / "fast")


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_prints_nothing(tmp_path: Path, where: str) -> None:
    args = ["-q", "venv", "env"] if where == "before" else ["venv", "-q", "env"]
    result = cloche(*args, cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, "", "")
    assert (tmp_path / "env" / "pyvenv.cfg").is_file()
    slow = cloche("venv", "--python", sys.executable, "--quiet", "env2", cwd=tmp_path)
    assert (slow.code, slow.out, slow.err) == (0, "", "")


@pytest.mark.parametrize("env", [{}, CLICK_PATH], ids=["fast", "click"])
def test_errors_are_one_line_on_both_paths(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("", encoding="utf-8")
    result = cloche("venv", "taken", cwd=tmp_path, env=env)
    assert result.code == 1
    assert result.err.startswith("error: ")
    assert "already exists and is not empty; pass --clear" in result.err
    assert "Traceback" not in result.err
    assert (tmp_path / "taken" / "file").exists()


def test_clear_replaces_a_venv(tmp_path: Path) -> None:
    assert cloche("-q", "venv", "env", cwd=tmp_path).code == 0
    marker = tmp_path / "env" / "marker"
    marker.write_text("", encoding="utf-8")
    result = cloche("venv", "env", "--clear", cwd=tmp_path)
    assert result.code == 0, result
    assert not marker.exists()


def test_a_bad_config_file_is_still_reported(tmp_path: Path) -> None:
    config = Path(dirs.user_config_file())
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("concurrency = 0\n", encoding="utf-8")
    result = cloche("venv", "env", cwd=tmp_path)
    assert result.code == 2
    assert "invalid value for concurrency" in result.err


def test_the_fast_path_imports_no_heavy_module(tmp_path: Path) -> None:
    code = (
        "import atexit, sys\n"
        "heavy = ('click', 'dataclasses', 'packaging', 'pathlib', 'typing', 'platformdirs')\n"
        "atexit.register(lambda: print(sorted(m for m in heavy if m in sys.modules)))\n"
        "from cloche.cli.entry import main\n"
        f"main(['-q', 'venv', {str(tmp_path / 'env')!r}])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("xdg", [None, "", "  ", "/somewhere/else"])
def test_dirs_agree_with_platformdirs(monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
    for variable in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        if xdg is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, xdg)
    monkeypatch.delenv("CLOCHE_CONFIG_FILE", raising=False)
    assert dirs.platform_cache_dir() == platformdirs.user_cache_dir("cloche", appauthor=False)
    expected = Path(platformdirs.user_config_dir("cloche", appauthor=False)) / "cloche.toml"
    assert dirs.user_config_file() == str(expected)
    assert dirs.platform_data_dir() == platformdirs.user_data_dir("cloche", appauthor=False)
