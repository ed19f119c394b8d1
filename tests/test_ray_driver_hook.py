"""``cloche run``'s Ray hook without a cluster: when it is set, and what it writes."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from cloche.ops.project.ray_driver import HOOK_DIR, PY_EXECUTABLE_VAR, with_ray_hook


def _hook_module() -> object:
    spec = importlib.util.spec_from_file_location(
        "cloche_ray_hook", HOOK_DIR / "cloche_ray_hook.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _venv_with_ray(root: Path) -> Path:
    package = root / ".venv" / "lib" / "python3.11" / "site-packages" / "ray"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    return root / ".venv"


def test_the_environment_is_unchanged_without_ray(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    venv.mkdir()
    env = {"PATH": "/bin"}
    assert with_ray_hook(dict(env), venv, tmp_path) == env


def test_a_driver_with_ray_gets_the_hook(tmp_path: Path) -> None:
    venv = _venv_with_ray(tmp_path)
    env = with_ray_hook({"PYTHONPATH": "/mine"}, venv, tmp_path)
    assert env["RAY_RUNTIME_ENV_HOOK"] == "cloche_ray_hook.hook"
    assert env["PYTHONPATH"] == os.pathsep.join(["/mine", str(HOOK_DIR)])
    assert env[PY_EXECUTABLE_VAR].startswith(sys.executable)
    assert env[PY_EXECUTABLE_VAR].endswith("-m cloche run --frozen python")
    assert env["CLOCHE_RAY_PROJECT"] == str(tmp_path)
    own = {"RAY_RUNTIME_ENV_HOOK": "my.hook"}
    assert with_ray_hook(dict(own), venv, tmp_path) == own  # the user's hook stands


def test_the_hook_sets_py_executable_and_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook_module().hook  # type: ignore[attr-defined]
    monkeypatch.delenv(PY_EXECUTABLE_VAR, raising=False)
    assert hook({"env_vars": {"A": "1"}}) == {"env_vars": {"A": "1"}}
    monkeypatch.setenv(PY_EXECUTABLE_VAR, "cloche run --frozen python")
    monkeypatch.setenv("CLOCHE_RAY_PROJECT", str(tmp_path))
    made = hook(None)
    assert made["py_executable"] == "cloche run --frozen python"
    assert made["working_dir"] == str(tmp_path)
    assert ".venv" in made["excludes"]
    assert hook({"working_dir": "s3://x.zip"})["working_dir"] == "s3://x.zip"
    assert hook({"py_executable": "/opt/py"}) == {"py_executable": "/opt/py"}
    with pytest.raises(
        RuntimeError, match="runtime_env\\['pip'\\] cannot be used under 'cloche run'"
    ):
        hook({"pip": ["numpy"]})
