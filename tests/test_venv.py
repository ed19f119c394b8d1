"""Virtual environments created without ``python -m venv``, checked with real Pythons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloche.adapters.python.discovery import probe
from cloche.adapters.venv.activate import ActivationContext, write_activation_scripts
from cloche.core.models import Interpreter
from cloche.errors import UnusableEnvError
from cloche.ops.venv_create import create_venv

PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"


def pyenv_python(minor: str) -> Path:
    for install in sorted(PYENV_VERSIONS.glob(f"{minor}.*")):
        binary = install / "bin" / f"python{minor}"
        if binary.exists():
            return binary
    pytest.skip(f"no pyenv Python {minor} on this machine")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture
def base(shared_cache: Path) -> Interpreter:
    return probe(Path(sys.executable), shared_cache)


def run(python: Path, code: str) -> str:
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def cfg(venv: Path) -> dict[str, str]:
    lines = (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in lines)}


@pytest.mark.parametrize("minor", ["running", "3.8", "3.12"])
def test_venv_works(minor: str, tmp_path: Path, shared_cache: Path) -> None:
    executable = Path(sys.executable) if minor == "running" else pyenv_python(minor)
    base = probe(executable, shared_cache)
    venv = tmp_path / "env"
    made = create_venv(venv, base, cache_dir=shared_cache)
    python = venv / "bin" / "python"
    prefix, base_prefix = run(
        python, "import sys; print(sys.prefix); print(sys.base_prefix)"
    ).split("\n")
    assert prefix == str(venv) == made.prefix
    assert base_prefix == base.base_prefix == made.base_prefix
    assert made.is_venv
    site_packages = Path(made.scheme["purelib"])
    (site_packages / "cloche_probe_mod.py").write_text("VALUE = 42\n", encoding="utf-8")
    assert run(python, "import cloche_probe_mod; print(cloche_probe_mod.VALUE)") == "42"
    major_minor = f"{base.version.major}.{base.version.minor}"
    for name in ("python", "python3", f"python{major_minor}"):
        assert (venv / "bin" / name).resolve() == Path(executable).resolve()
    assert (venv / "lib64").is_symlink() and (venv / "lib64").readlink() == Path("lib")
    assert (venv / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    config = cfg(venv)
    assert config["home"] == str(Path(executable).resolve().parent)
    assert config["version"] == str(base.version)
    assert config["include-system-site-packages"] == "false"
    assert config["cloche"]
    for script in ("activate", "activate.fish", "activate.csh", "Activate.ps1"):
        text = (venv / "bin" / script).read_text(encoding="utf-8")
        assert "__VENV_" not in text
        assert script == "Activate.ps1" or str(venv) in text


@pytest.mark.parametrize("minor", ["running", "3.10"])
def test_derived_interpreter_equals_a_real_probe(
    minor: str, tmp_path: Path, shared_cache: Path
) -> None:
    executable = Path(sys.executable) if minor == "running" else pyenv_python(minor)
    made = create_venv(tmp_path / "env", probe(executable, shared_cache), cache_dir=shared_cache)
    fresh = probe(tmp_path / "env" / "bin" / "python", tmp_path / "empty-cache")
    assert fresh == made


def test_no_subprocess_when_base_probe_is_cached(
    tmp_path: Path, base: Interpreter, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    made = create_venv(tmp_path / "env", base, cache_dir=shared_cache)
    assert probe(tmp_path / "env" / "bin" / "python", shared_cache) == made
    again = probe(tmp_path / "env" / "bin" / "python3", shared_cache)
    assert again.prefix == made.prefix and again.tags == made.tags
    assert calls == []


def test_venv_of_a_venv_uses_the_real_base(
    tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    first = create_venv(tmp_path / "one", base, cache_dir=shared_cache)
    second = create_venv(tmp_path / "two", first, cache_dir=shared_cache)
    assert second.base_prefix == base.base_prefix
    assert cfg(tmp_path / "two")["home"] == cfg(tmp_path / "one")["home"]
    target = (tmp_path / "two" / "bin" / "python").resolve()
    assert not target.is_relative_to(tmp_path)
    out = run(tmp_path / "two" / "bin" / "python", "import sys; print(sys.prefix)")
    assert out == str(tmp_path / "two")


def test_bash_activation_with_prompt_and_spaces(
    tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    venv = tmp_path / "my env"
    create_venv(venv, base, prompt="proj x", cache_dir=shared_cache)
    assert cfg(venv)["prompt"] == "'proj x'"
    script = (
        f'. "{venv}/bin/activate" && echo "$VIRTUAL_ENV" && echo "$VIRTUAL_ENV_PROMPT" '
        "&& command -v python"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PS1")}
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, text=True, env=env
    ).stdout.splitlines()
    assert out[0] == str(venv)
    assert "proj x" in out[1]
    assert out[2] == f"{venv}/bin/python"


def test_default_prompt_is_the_directory_name(
    tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    venv = tmp_path / "envname"
    create_venv(venv, base, cache_dir=shared_cache)
    assert "prompt" not in cfg(venv)
    assert "envname" in (venv / "bin" / "activate").read_text(encoding="utf-8")


@pytest.mark.parametrize(("shell", "script"), [("fish", "activate.fish"), ("csh", "activate.csh")])
def test_other_shells_activate(
    shell: str, script: str, tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    venv = tmp_path / "env"
    create_venv(venv, base, cache_dir=shared_cache)
    out = subprocess.run(
        [shell, "-c", f"source {venv}/bin/{script}; echo $VIRTUAL_ENV"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == str(venv)


def test_system_site_packages(tmp_path: Path, base: Interpreter, shared_cache: Path) -> None:
    venv = tmp_path / "env"
    create_venv(venv, base, system_site_packages=True, cache_dir=shared_cache)
    assert cfg(venv)["include-system-site-packages"] == "true"
    paths = run(venv / "bin" / "python", "import sys; print('\\n'.join(sys.path))").splitlines()
    # A venv made from a venv is made from that venv's own base (as python -m venv does),
    # so the system site-packages are the base interpreter's: the tests run in a venv.
    real_base = Path(getattr(sys, "_base_executable", sys.executable))
    purelib = run(real_base, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    assert purelib in paths


def test_existing_non_empty_directory_is_refused(
    tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    target = tmp_path / "env"
    target.mkdir()
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UnusableEnvError, match="already exists and is not empty; pass --clear"):
        create_venv(target, base, cache_dir=shared_cache)
    with pytest.raises(UnusableEnvError, match=r"refusing to clear .*not a virtual environment"):
        create_venv(target, base, clear=True, cache_dir=shared_cache)
    assert (target / "keep.txt").exists()


def test_empty_existing_directory_is_fine(
    tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    (tmp_path / "env").mkdir()
    assert create_venv(tmp_path / "env", base, cache_dir=shared_cache).prefix == str(
        tmp_path / "env"
    )


def test_existing_file_is_refused(tmp_path: Path, base: Interpreter, shared_cache: Path) -> None:
    (tmp_path / "env").write_text("", encoding="utf-8")
    with pytest.raises(UnusableEnvError, match="exists and is not a directory"):
        create_venv(tmp_path / "env", base, cache_dir=shared_cache)


def test_clear_recreates(tmp_path: Path, base: Interpreter, shared_cache: Path) -> None:
    venv = tmp_path / "env"
    made = create_venv(venv, base, cache_dir=shared_cache)
    stray = Path(made.scheme["purelib"]) / "stray.py"
    stray.write_text("", encoding="utf-8")
    again = create_venv(venv, base, clear=True, cache_dir=shared_cache)
    assert not stray.exists()
    assert again == made


def test_allow_existing_keeps_contents_and_refreshes_config(
    tmp_path: Path, base: Interpreter, shared_cache: Path
) -> None:
    venv = tmp_path / "env"
    made = create_venv(venv, base, cache_dir=shared_cache)
    kept = Path(made.scheme["purelib"]) / "kept.py"
    kept.write_text("", encoding="utf-8")
    create_venv(venv, base, prompt="fresh", allow_existing=True, cache_dir=shared_cache)
    assert kept.exists()
    assert cfg(venv)["prompt"] == "'fresh'"
    assert "fresh" in (venv / "bin" / "activate").read_text(encoding="utf-8")
    assert run(venv / "bin" / "python", "import sys; print(sys.prefix)") == str(venv)


def test_failed_creation_leaves_nothing(
    tmp_path: Path, base: Interpreter, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "symlink", broken)
    with pytest.raises(UnusableEnvError, match=r"cannot create virtual environment at .*No space"):
        create_venv(tmp_path / "env", base, cache_dir=shared_cache)
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize(
    ("venv_source", "expected"),
    [
        ("context.prompt = '(%s) ' % prompt\n", "D=/v/my env\nP=(it's) \n"),
        (
            "context.prompt = prompt\nquote = shlex.quote\n",
            "D='/v/my env'\nP='it'\"'\"'s'\n",
        ),
    ],
)
def test_activation_rules_follow_the_target_venv_module(
    tmp_path: Path, venv_source: str, expected: str
) -> None:
    stdlib = tmp_path / "stdlib"
    (stdlib / "venv" / "scripts" / "common").mkdir(parents=True)
    (stdlib / "venv" / "__init__.py").write_text(venv_source, encoding="utf-8")
    template = stdlib / "venv" / "scripts" / "common" / "activate"
    template.write_text("D=__VENV_DIR__\nP=__VENV_PROMPT__\n", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    context = ActivationContext("/v/my env", "my env", "it's", "bin", "/v/my env/bin/python")
    written = write_activation_scripts(stdlib, "posix", bin_dir, context)
    assert written == [str(bin_dir / "activate")]
    assert (bin_dir / "activate").read_text(encoding="utf-8") == expected
