"""The pip-compatible workflow end to end: venv, install, upgrade, uninstall, list, sync."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import cloche, installed, pip, run_python, venv_python
from tests.support.dists import make_wheel
from tests.support.index_server import IndexServer, add_hello_tool
from tests.test_python import pyenv_python


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    s = index_server
    s.add_wheel("alpha", "1.0", requires=["beta>=1"])
    s.add_wheel("alpha", "2.0", requires=["beta>=2"])
    s.add_wheel("beta", "1.0")
    s.add_wheel("beta", "2.0")
    add_hello_tool(s)
    s.add_sdist("srconly", "0.5", requires=["beta"])
    return s


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "env"
    result = cloche("venv", path)
    assert result.code == 0, result
    return path


def test_venv_has_no_pip_and_is_a_venv(venv: Path) -> None:
    python = venv_python(venv)
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "True"
    assert not list((venv / "lib").glob("python*/site-packages/pip"))
    assert (venv / "bin" / "activate").exists()


def test_install_upgrade_uninstall(index: IndexServer, venv: Path) -> None:
    result = pip(index, venv, "install", "alpha==1.0")
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0"}

    result = pip(index, venv, "install", "alpha")
    assert result.code == 0, result
    assert installed(venv)["alpha"] == "1.0"  # already satisfied: kept

    result = pip(index, venv, "install", "--upgrade", "alpha")
    assert result.code == 0, result
    assert installed(venv)["alpha"] == "2.0"

    result = cloche("pip", "uninstall", "--python", venv, "alpha")
    assert result.code == 0, result
    assert installed(venv) == {"beta": "2.0"}
    python = venv_python(venv)
    gone = subprocess.run([python, "-c", "import alpha"], capture_output=True, text=True)
    assert gone.returncode != 0


def test_console_script_runs(index: IndexServer, venv: Path) -> None:
    assert pip(index, venv, "install", "tool").code == 0
    out = subprocess.run([venv / "bin" / "tool-hello"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "hello from tool"


def test_sdist_only_package_is_built(index: IndexServer, venv: Path) -> None:
    result = pip(index, venv, "install", "srconly")
    assert result.code == 0, result
    assert installed(venv)["srconly"] == "0.5"


def test_a_native_build_serves_only_its_own_python(
    index_server: IndexServer, tmp_path: Path
) -> None:
    python310 = pyenv_python("3.10")
    index_server.add_sdist("native", "1.0", native=True)

    def install(name: str, python: str | Path) -> tuple[str, str]:
        venv = tmp_path / name
        assert cloche("venv", venv, "--python", python).code == 0
        result = pip(index_server, venv, "install", "native")
        assert result.code == 0, result
        built = next((venv / "lib").glob("python*/site-packages/native/built_with.txt"))
        return built.read_text(), result.out + result.err

    here = "cp{}{}".format(*sys.version_info[:2])
    assert install("a", sys.executable)[0] == here
    assert install("b", python310)[0] == "cp310"  # built again, not the other Python's
    again, output = install("c", sys.executable)
    assert again == here
    assert "Building" not in output  # the first build, reused


def test_a_wheel_for_another_platform_is_refused(venv: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "oddity", "1.0", tag="cp27-cp27mu-win32")
    for spec in (str(wheel), f"oddity @ {wheel.as_uri()}"):
        result = cloche("pip", "install", "--python", venv, spec)
        assert result.code == 1, result
        assert "oddity-1.0-cp27-cp27mu-win32.whl is not a supported wheel" in result.err
        assert "Traceback" not in result.err
    assert installed(venv) == {}


def test_freeze_and_sync(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    assert pip(index, venv, "install", "alpha==1.0", "tool").code == 0
    frozen = cloche("pip", "freeze", "--python", venv)
    assert frozen.code == 0
    assert frozen.out == "alpha==1.0\nbeta==2.0\ntool==1.0\n"
    req = tmp_path / "requirements.txt"
    req.write_text("alpha==2.0\nbeta==2.0\n")
    result = pip(index, venv, "sync", req)
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "2.0", "beta": "2.0"}


def test_show_and_check(index: IndexServer, venv: Path) -> None:
    assert pip(index, venv, "install", "alpha==1.0").code == 0
    shown = cloche("pip", "show", "--python", venv, "alpha")
    assert shown.code == 0, shown
    assert (
        "Name: alpha" in shown.out and "Version: 1.0" in shown.out and "Requires: beta" in shown.out
    )
    assert cloche("pip", "check", "--python", venv).code == 0
    assert cloche("pip", "uninstall", "--python", venv, "beta").code == 0
    broken = cloche("pip", "check", "--python", venv)
    assert broken.code == 1
    assert "alpha 1.0 requires beta" in broken.out


def test_refuses_non_venv(index: IndexServer, tmp_path: Path) -> None:
    import sys

    # The interpreter the test venv was made from: the tests themselves run in a venv
    # (.ci/run makes one), so sys.executable would be a venv and take the install.
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    result = cloche("pip", "install", "beta", "--python", base, "--index-url", index.url)
    assert result.code != 0
    assert "not a virtual environment" in result.err
    assert "--system" in result.err


def test_no_env_found(index: IndexServer, tmp_path: Path) -> None:
    result = cloche("pip", "install", "beta", "--index-url", index.url, cwd=tmp_path)
    assert result.code != 0
    assert "cloche venv" in result.err


def test_require_hashes(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("beta==2.0 --hash=sha256:" + "0" * 64 + "\n")
    result = pip(index, venv, "install", "-r", req)
    assert result.code == 1, result
    assert "hash" in result.err
    assert "beta" not in installed(venv)


def test_failed_install_leaves_env_as_it_was(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    assert pip(index, venv, "install", "beta==1.0").code == 0
    index.add_sdist("broken", "1.0", fail_build=True)
    result = pip(index, venv, "install", "broken", "beta==2.0")
    assert result.code == 1, result
    assert "broken" in result.err
    assert installed(venv) == {"beta": "1.0"}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_install_unnamed_git_url(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(tmp_path / "src", "gitpkg", "1.0")
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-q", "-m", "init")
    result = pip(index, venv, "install", f"git+{tree.as_uri()}")
    assert result.code == 0, result
    assert installed(venv)["gitpkg"] == "1.0"
    direct = next((venv / "lib").glob("python*/site-packages/gitpkg-1.0.dist-info/direct_url.json"))
    data = json.loads(direct.read_text())
    assert data["vcs_info"]["vcs"] == "git" and len(data["vcs_info"]["commit_id"]) == 40


def test_a_git_commit_once_built_needs_no_repository(index: IndexServer, tmp_path: Path) -> None:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(tmp_path / "src", "gitpkg", "1.0")
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-q", "-m", "init")
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout.strip()
    spec = f"gitpkg @ git+{tree.as_uri()}@{commit}"
    first = tmp_path / "first"
    assert cloche("venv", first).code == 0
    assert pip(index, first, "install", spec).code == 0

    tree.rename(tmp_path / "gone")  # the repository is no longer there
    second = tmp_path / "second"
    assert cloche("venv", second).code == 0
    result = pip(index, second, "install", spec)
    assert result.code == 0, result
    assert installed(second) == {"gitpkg": "1.0"}
    direct = next(
        (second / "lib").glob("python*/site-packages/gitpkg-1.0.dist-info/direct_url.json")
    )
    assert json.loads(direct.read_text())["vcs_info"]["commit_id"] == commit
    (tmp_path / "req.in").write_text(spec + "\n")
    compiled = cloche("pip", "compile", tmp_path / "req.in", "--index-url", index.url)
    assert compiled.code == 0, compiled  # what its build said is kept too
    assert spec in compiled.out


def test_editable_install(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(tmp_path / "src", "editme", "0.1")
    result = pip(index, venv, "install", "-e", tree)
    assert result.code == 0, result
    python = venv_python(venv)
    (tree / "editme" / "__init__.py").write_text("VALUE = 'changed'\n")
    out = subprocess.run(
        [python, "-c", "import editme; print(editme.VALUE)"], capture_output=True, text=True
    )
    assert out.stdout.strip() == "changed", out.stderr
    frozen = cloche("pip", "freeze", "--python", venv)
    assert f"-e {tree.as_uri()}" in frozen.out


@pytest.mark.network
def test_real_index_install_numpy_and_sdist_only_package(tmp_path: Path) -> None:
    """The pip workflow on the real package index: a wheel with a C extension and a
    package that ships only an sdist (built with setuptools in an isolated env)."""
    env = tmp_path / "env"
    assert cloche("venv", env).code == 0
    result = cloche("pip", "install", "--python", env, "numpy", "docopt==0.6.2")
    assert result.code == 0, result
    out = subprocess.run(
        [venv_python(env), "-c", "import numpy, docopt; print(numpy.ones(2).sum())"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "2.0", out.stderr
    assert cloche("pip", "check", "--python", env).code == 0


@pytest.mark.network
def test_real_index_no_build_isolation_builds_with_the_env_setuptools(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert cloche("venv", env).code == 0
    bare = cloche("pip", "install", "--python", env, "--no-build-isolation", "docopt==0.6.2")
    assert bare.code == 1 and "No module named 'setuptools'" in bare.err
    assert cloche("pip", "install", "--python", env, "setuptools").code == 0
    result = cloche("pip", "install", "--python", env, "--no-build-isolation", "docopt==0.6.2")
    assert result.code == 0, result
    out = subprocess.run([venv_python(env), "-c", "import docopt"], capture_output=True)
    assert out.returncode == 0, out.stderr


def test_big_wheels_unpack_in_helper_processes(index_server: IndexServer, tmp_path: Path) -> None:
    blob = os.urandom(5 * 1024 * 1024)  # incompressible: each wheel is over 5 MB
    for name in ("heavy_a", "heavy_b"):
        index_server.add_wheel(
            name,
            "1.0",
            files={f"{name}/__init__.py": "X = 1\n", f"{name}/blob.bin": blob},
            entry_points={"console_scripts": {f"{name}-run": f"{name}:main"}},
        )
    index_server.add_wheel("light", "1.0")
    venv = tmp_path / "env"
    assert cloche("venv", venv).code == 0
    result = cloche(
        "-v", "pip", "install", "heavy-a", "heavy-b", "light",
        "--python", venv, "--index-url", index_server.url,
    )  # fmt: skip
    assert result.code == 0, result
    if (os.cpu_count() or 1) >= 2:
        assert "unpacking wheels in 2 helper processes" in result.err + result.out
    assert installed(venv) == {"heavy_a": "1.0", "heavy_b": "1.0", "light": "1.0"}
    site = next((venv / "lib").glob("python*/site-packages"))
    assert (site / "heavy_b" / "blob.bin").read_bytes() == blob
    assert (venv / "bin" / "heavy_a-run").exists()
    check = cloche("pip", "check", "--python", venv)
    assert check.code == 0, check


def test_output_flags_after_the_subcommand(index: IndexServer, venv: Path) -> None:
    quiet = pip(index, venv, "install", "-q", "beta")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    loud = pip(index, venv, "install", "-v", "alpha==1.0")
    assert loud.code == 0, loud
    assert "trying alpha 1.0" in loud.out + loud.err  # a resolver step, shown with -v only
    assert "Less output" in cloche("pip", "sync", "--help").out


@pytest.fixture
def needy(index_server: IndexServer) -> IndexServer:
    """An sdist whose build imports a package it does not declare (flash-attn and torch)."""
    index_server.add_wheel("helperlib", "1.0", files={"helperlib/__init__.py": "X = 1\n"})
    index_server.add_sdist("needy", "1.0", backend_imports=["helperlib"])
    return index_server


def test_no_build_isolation_builds_with_the_environment(
    needy: IndexServer, venv: Path, tmp_path: Path
) -> None:
    isolated = pip(needy, venv, "install", "needy")
    assert isolated.code == 1
    assert "No module named 'helperlib'" in isolated.err
    assert pip(needy, venv, "install", "helperlib").code == 0
    for _ in range(2):  # the second build is not taken from the cache: it is redone
        result = pip(needy, venv, "install", "--reinstall", "--no-build-isolation", "needy")
        assert result.code == 0, result
        assert "Building needy==1.0 from source" in result.err
    assert installed(venv) == {"helperlib": "1.0", "needy": "1.0"}
    assert not (Path(os.environ["CLOCHE_CACHE_DIR"]) / "built-v1").exists()
    (tmp_path / "req.txt").write_text("needy==1.0\nhelperlib==1.0\n")
    synced = cloche(
        "pip", "sync", "--reinstall", "req.txt", "--python", venv, "--index-url", needy.url,
        cwd=tmp_path, env={"CLOCHE_NO_BUILD_ISOLATION": "1"},
    )  # fmt: skip
    assert synced.code == 0, synced


def test_no_build_isolation_without_the_backend_says_what_to_install(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    project = tmp_path / "legacy"
    project.mkdir()
    (project / "setup.py").write_text("from setuptools import setup\nsetup(name='legacy')\n")
    result = pip(index, venv, "install", "--no-build-isolation", project)
    assert result.code == 1
    assert "cannot import the build backend 'setuptools.build_meta:__legacy__'" in result.err
    assert f"the backend runs in {venv}" in result.err
    assert "install the build requirements there first (setuptools>=40.8.0)" in result.err
    assert "Traceback" not in result.err


def test_no_build_isolation_in_compile_uses_the_activated_environment(
    needy: IndexServer, venv: Path, tmp_path: Path
) -> None:
    assert pip(needy, venv, "install", "helperlib").code == 0
    (tmp_path / "requirements.in").write_text("needy\n")
    result = cloche(
        "pip", "compile", "--no-build-isolation", "requirements.in", "--index-url", needy.url,
        cwd=tmp_path, env={"VIRTUAL_ENV": str(venv)},
    )  # fmt: skip
    assert result.code == 0, result
    assert "needy==1.0" in result.out


def test_only_binary_and_no_binary_on_the_command_line(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    index.add_wheel("both", "1.0")
    index.add_sdist("both", "1.0")
    refused = pip(index, venv, "install", "--only-binary", ":all:", "srconly")
    assert refused.code == 1
    assert "(binary only)" in refused.err
    assert "hint: let srconly build from source (it is under --only-binary)" in refused.err
    built = pip(index, venv, "install", "--no-binary", "both", "both")
    assert built.code == 0, built
    assert "Building both==1.0 from source" in built.err
    (tmp_path / "req.txt").write_text("--only-binary :all:\nsrconly==0.5\nbeta==2.0\n")
    assert pip(index, venv, "sync", tmp_path / "req.txt").code == 1
    # The command line comes after the file, and a name beats :all:.
    synced = pip(index, venv, "sync", "--no-binary", "srconly", tmp_path / "req.txt")
    assert synced.code == 0, synced
    assert "Building srconly==0.5 from source" in synced.err
    assert installed(venv) == {"beta": "2.0", "srconly": "0.5"}
    wheel_only = pip(index, venv, "install", "--no-binary", "beta", "beta")
    assert wheel_only.code == 1
    assert "hint: let beta install from a wheel (it is under --no-binary)" in wheel_only.err
    bad = pip(index, venv, "install", "--only-binary", "no good", "both")
    assert bad.code == 2
    assert (
        bad.err.strip() == "error: command line: invalid project name 'no good' in a binary option"
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_install_into_a_target_directory(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "layer"
    result = pip(index, venv, "install", "--target", target, "alpha==1.0", "tool")
    assert result.code == 0, result
    assert {p.name for p in target.iterdir()} == {
        "alpha", "alpha-1.0.dist-info", "beta", "beta-2.0.dist-info",
        "tool", "tool-1.0.dist-info", "bin",
    }  # fmt: skip
    assert installed(venv) == {}  # the interpreter's own environment is not touched
    script = target / "bin" / "tool-hello"
    assert script.read_text().splitlines()[0].startswith(f"#!{venv}/bin/python")
    env = {**os.environ, "PYTHONPATH": str(target)}
    ran = subprocess.run([script], capture_output=True, text=True, env=env)
    assert ran.stdout == "hello from tool\n", ran.stderr
    assert "alpha/__init__.py" in (target / "alpha-1.0.dist-info" / "RECORD").read_text()
    assert list((tmp_path / "out").iterdir()) == [target]  # no lock or backup beside it

    again = pip(index, venv, "install", "--target", target, "alpha==1.0")
    assert again.code == 0
    assert again.err.strip() == f"Nothing to do: {target} already has everything asked for"
    upgraded = pip(index, venv, "install", "--target", target, "alpha==2.0")
    assert upgraded.code == 0, upgraded
    names = {p.name for p in target.iterdir()}
    assert {"alpha-2.0.dist-info", "beta-2.0.dist-info"} <= names
    assert "alpha-1.0.dist-info" not in names

    before = _tree(target)
    index.add_sdist("broken", "1.0", fail_build=True)
    failed = pip(index, venv, "install", "--target", target, "broken", "beta==1.0")
    assert failed.code == 1 and "broken" in failed.err
    assert _tree(target) == before  # all-or-nothing there too


def test_list_and_freeze_a_target_directory(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    target = tmp_path / "layer"
    assert pip(index, venv, "install", "--target", target, "alpha==1.0").code == 0
    listed = cloche("pip", "list", "--path", target, "--format", "json", "--python", venv)
    assert listed.code == 0, listed
    assert json.loads(listed.out) == [
        {"name": "alpha", "version": "1.0"},
        {"name": "beta", "version": "2.0"},
    ]
    frozen = cloche("pip", "freeze", "--path", target, "--exclude", "beta")
    assert (frozen.code, frozen.out) == (0, "alpha==1.0\n")
    assert cloche("pip", "freeze", "--python", venv).out == ""  # the env itself is empty
    missing = cloche("pip", "list", "--path", tmp_path / "nowhere")
    assert missing.code == 2 and "does not exist" in missing.err


def test_install_under_a_prefix(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "stage"
    result = pip(index, venv, "install", "--prefix", prefix, "tool")
    assert result.code == 0, result
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = prefix / "lib" / version / "site-packages"
    assert (site / "tool" / "__init__.py").is_file()
    assert (prefix / "bin" / "tool-hello").is_file()
    assert {p.name for p in (prefix / "lib" / version).iterdir()} == {"site-packages"}
    assert installed(venv) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--target", "t", "--prefix", "p", "beta"),
            "error: --target and --prefix cannot be used together; pick one",
        ),
        (
            ("--target", "t", "-e", "./proj"),
            "error: -e cannot be used with --target or --prefix: an editable install needs "
            "the site-packages of an environment",
        ),
    ],
)
def test_target_and_prefix_bad_input(
    index: IndexServer, venv: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = pip(index, venv, "install", *args, cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == message
    assert not (tmp_path / "t").exists() and not (tmp_path / "p").exists()


def test_config_settings_reach_the_build_backend(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    site = next((venv / "lib").glob("python*/site-packages"))
    result = pip(
        index, venv, "install", "-C", "mode=fast", "-C", "flag=a", "-C", "flag=b", "srconly"
    )
    assert result.code == 0, result
    written = json.loads((site / "srconly_config_settings.json").read_text())
    assert written == {"flag": ["a", "b"], "mode": "fast"}
    # Other settings are another build (not the cached one); the same ones reuse it.
    other = pip(index, venv, "install", "--reinstall", "--config-settings", "mode=slow", "srconly")
    assert other.code == 0 and "Building srconly==0.5 from source" in other.err
    assert json.loads((site / "srconly_config_settings.json").read_text()) == {"mode": "slow"}
    again = pip(index, venv, "install", "--reinstall", "--config-setting", "mode=slow", "srconly")
    assert again.code == 0 and "Building" not in again.err
    plain = pip(index, venv, "install", "--reinstall", "srconly")
    assert plain.code == 0 and "Building srconly==0.5 from source" in plain.err
    assert not (site / "srconly_config_settings.json").exists()
    bad = pip(index, venv, "install", "-C", "novalue", "srconly")
    assert bad.code == 2 and "'novalue' is not KEY=VALUE" in bad.err


@pytest.mark.parametrize(("strategy", "beta"), [("only-if-needed", "1.0"), ("eager", "2.0")])
def test_upgrade_strategy(index: IndexServer, venv: Path, strategy: str, beta: str) -> None:
    index.add_wheel("gamma", "1.0", requires=["beta>=1"])
    index.add_wheel("gamma", "2.0", requires=["beta>=1"])
    assert pip(index, venv, "install", "gamma==1.0", "beta==1.0").code == 0
    result = pip(index, venv, "install", "-U", "--upgrade-strategy", strategy, "gamma")
    assert result.code == 0, result
    assert installed(venv) == {"beta": beta, "gamma": "2.0"}


def _scratch_caches(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("cloche-cache-*"))


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--no-cache",), {}),  # before the subcommand
        ((), {"CLOCHE_NO_CACHE": "1"}),
    ],
)
def test_no_cache_installs_without_keeping_anything(
    index: IndexServer, venv: Path, tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cache = tmp_path / "cache"
    result = cloche(
        *args, "--cache-dir", cache, "pip", "install", "tool", "alpha==1.0",
        "--python", venv, "--index-url", index.url,
        env={"TMPDIR": str(tmp), **env},
    )  # fmt: skip
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0", "tool": "1.0"}
    done = subprocess.run([venv / "bin" / "tool-hello"], capture_output=True, text=True)
    assert done.stdout == "hello from tool\n"  # linked out of the cache before it went
    assert not cache.exists()
    assert _scratch_caches(tmp) == []


@pytest.mark.parametrize("spelling", ["--no-cache", "--no-cache-dir"])
def test_no_cache_after_the_subcommand_as_pip_spells_it(
    index: IndexServer, venv: Path, tmp_path: Path, spelling: str
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = cloche(
        "pip", "install", spelling, "beta", "--python", venv, "--index-url", index.url,
        env={"TMPDIR": str(tmp)},
    )  # fmt: skip
    assert result.code == 0, result
    assert installed(venv) == {"beta": "2.0"}
    assert not (Path(os.environ["CLOCHE_CACHE_DIR"]) / "wheels-v1").exists()
    assert _scratch_caches(tmp) == []


def test_no_cache_is_removed_when_the_command_fails(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = cloche(
        "pip", "install", "--no-cache", "beta", "no-such-package",
        "--python", venv, "--index-url", index.url,
        env={"TMPDIR": str(tmp)},
    )  # fmt: skip
    assert result.code != 0
    assert "no-such-package" in result.err
    assert installed(venv) == {}
    assert _scratch_caches(tmp) == []


def test_no_cache_from_the_config_file_and_a_bad_value(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    config = tmp_path / "cloche.toml"
    config.write_text("no-cache = true\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    ok = cloche(
        "pip", "install", "beta", "--python", venv, "--index-url", index.url,
        env={"TMPDIR": str(tmp), "CLOCHE_CONFIG_FILE": str(config)},
    )  # fmt: skip
    assert ok.code == 0, ok
    assert not (Path(os.environ["CLOCHE_CACHE_DIR"]) / "wheels-v1").exists()
    bad = cloche("pip", "list", "--python", venv, env={"CLOCHE_NO_CACHE": "maybe"})
    assert bad.code == 2
    assert bad.err.strip() == (
        "error: invalid value for CLOCHE_NO_CACHE: expected true or false, got 'maybe'"
    )


@pytest.mark.parametrize("where", ["before", "after"])
def test_v_shows_the_traceback_before_or_after_the_subcommand(tmp_path: Path, where: str) -> None:
    missing = tmp_path / "no-such-env"
    args = ["pip", "install", "--python", missing, "six"]
    args = ["-v", *args] if where == "before" else [*args[:2], "-v", *args[2:]]
    result = cloche(*args)
    assert result.code != 0
    assert "Traceback (most recent call last)" in result.err
    assert "error: " in result.err
    plain = cloche("pip", "install", "--python", missing, "six")
    assert "Traceback" not in plain.err and plain.err.startswith("error: ")


def test_ctrl_c_while_preparing_starts_no_new_downloads(
    index_server: IndexServer, tmp_path: Path
) -> None:
    # 32 files and at most 8 downloads at once: a loaded machine that takes a while to
    # deliver the signal sees one or two more start, never the whole queue.
    names = [f"pkg{i}" for i in range(32)]
    for name in names:
        index_server.add_wheel(name, "1.0")
    pins = tmp_path / "requirements.txt"
    pins.write_text("".join(f"{name}==1.0\n" for name in names))
    venv = tmp_path / "env"
    assert cloche("venv", venv).code == 0
    index_server.delay = 0.4  # every request: pages first, then one file per thread
    env = {**os.environ, "CLOCHE_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "cloche", "pip", "sync", "--python", str(venv)]
    proc = subprocess.Popen(
        [*command, "--index-url", index_server.url, str(pins)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def files_asked() -> int:
        return sum(1 for r in index_server.requests if r.path.endswith(".whl"))

    deadline = time.monotonic() + 60
    while files_asked() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "aborted" in err or "interrupted" in err
    at_exit = files_asked()
    time.sleep(1.0)  # anything still queued would be asked for by now
    assert files_asked() == at_exit  # nothing outlived the process
    assert at_exit < len(names) // 2
    assert installed(venv) == {}


def test_ctrl_c_with_helpers_leaves_no_helper_behind(
    index_server: IndexServer, tmp_path: Path
) -> None:
    blob = os.urandom(5 * 1024 * 1024)
    names = [f"heavy{i}" for i in range(3)]
    for name in names:
        index_server.add_wheel(name, "1.0", files={f"{name}/blob.bin": blob})
    venv = tmp_path / "env"
    assert cloche("venv", venv).code == 0
    index_server.delay = 0.4
    env = {**os.environ, "CLOCHE_CACHE_DIR": str(tmp_path / "cache")}
    args = ["-v", "pip", "install", "--python", str(venv), "--index-url", index_server.url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloche", *args, *names],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        r.path.endswith(".whl")
        for r in index_server.requests  # a wheel, not its metadata
    ):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    if (os.cpu_count() or 1) >= 2:
        assert "helper processes" in err
    if shutil.which("pgrep"):
        serving = subprocess.run(
            ["pgrep", "-f", f"workers import serve.*{Path(__file__).parents[1]}"],
            capture_output=True,
            text=True,
        )
        assert serving.stdout.strip() == ""
    assert installed(venv) == {}


def test_processes_sharing_an_empty_cache_all_install(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """Four installs at once into four venvs, one cache: same wheels, same sdist build."""
    blob = os.urandom(3 * 1024 * 1024)  # 12 MB in all: the helper processes unpack
    for i in range(4):
        index_server.add_wheel(f"big{i}", "1.0", files={f"big{i}/blob.bin": blob})
    index_server.add_wheel("small", "1.0", requires=["big0", "big1", "big2", "big3"])
    index_server.add_sdist("fromsrc", "1.0")
    env = {**os.environ, "CLOCHE_CACHE_DIR": str(tmp_path / "cache")}
    venvs = [tmp_path / f"env{i}" for i in range(4)]
    for venv in venvs:
        assert cloche("venv", venv).code == 0
    args = ["pip", "install", "--index-url", index_server.url, "small", "fromsrc"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cloche", *args, "--python", str(venv)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for venv in venvs
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    expected = {"big0", "big1", "big2", "big3", "fromsrc", "small"}
    for venv in venvs:
        assert set(installed(venv)) == expected
        check = cloche("pip", "check", "--python", venv)
        assert check.code == 0, check
        blob_path = next((venv / "lib").glob("python*/site-packages/big3/blob.bin"))
        assert blob_path.read_bytes() == blob
    info = cloche("cache", "info", env={"CLOCHE_CACHE_DIR": str(tmp_path / "cache")})
    assert info.code == 0, info
    prune = cloche("cache", "prune", env={"CLOCHE_CACHE_DIR": str(tmp_path / "cache")})
    assert prune.code == 0, prune


def test_two_installs_into_one_env_at_once_leave_one_version(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """Both plan against the same empty env; the env lock serialises the installs,
    and the one that goes second replaces what the first installed."""
    index_server.add_wheel("twin", "1.0", files={"twin/only_in_1.py": b""})
    index_server.add_wheel("twin", "2.0", files={"twin/only_in_2.py": b""})
    venv = tmp_path / "env"
    assert cloche("venv", venv).code == 0
    index_server.delay = 0.3  # both read the env before either installs
    env = {**os.environ, "CLOCHE_CACHE_DIR": str(tmp_path / "cache")}
    args = ["pip", "install", "--python", str(venv), "--index-url", index_server.url]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cloche", *args, f"twin=={version}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in ("1.0", "2.0")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    site = next((venv / "lib").glob("python*/site-packages"))
    dist_infos = sorted(p.name for p in site.glob("twin-*.dist-info"))
    assert len(dist_infos) == 1, dist_infos
    major = dist_infos[0].removesuffix(".dist-info").split("-")[1][0]
    assert sorted(p.name for p in (site / "twin").iterdir()) == [f"only_in_{major}.py"]
    assert cloche("pip", "check", "--python", venv).code == 0


def test_an_install_waits_for_another_on_the_same_env_and_says_so(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    from cloche.file_lock import FileLock

    site = next((venv / "lib").glob("python*/site-packages"))
    held = FileLock(site.parent / ".cloche-install.lock")
    held.acquire()
    try:
        args = ["pip", "install", "--python", str(venv), "--index-url", index.url]
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloche", *args, "alpha==1.0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.0)
        assert proc.poll() is None  # still waiting
        assert installed(venv) == {}
    finally:
        held.release()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Waiting for another cloche process to finish with {venv}" in err
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0"}


def _git_tree(tmp_path: Path, name: str) -> Path:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(tmp_path / "repos", name, "1.0")
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-q", "-m", "init")
    return tree


def test_editable_git_url_keeps_its_checkout_in_the_venv_src(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    tree = _git_tree(tmp_path, "gitedit")
    url = f"git+{tree.as_uri()}#egg=gitedit"
    result = pip(index, venv, "install", "-e", url)
    assert result.code == 0, result
    checkout = venv / "src" / "gitedit"
    assert f"into {checkout}" in result.err
    (checkout / "gitedit" / "__init__.py").write_text("VALUE = 'edited in src'\n")
    out = run_python(venv_python(venv), "import gitedit; print(gitedit.VALUE)")
    assert out.stdout.strip() == "edited in src", out.stderr  # the kept checkout runs
    direct = next(
        (venv / "lib").glob("python*/site-packages/gitedit-1.0.dist-info/direct_url.json")
    )
    assert json.loads(direct.read_text()) == {
        "dir_info": {"editable": True},
        "url": checkout.as_uri(),
    }
    # freeze gives what pip gives: the repository at its commit, installable elsewhere.
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout.strip()
    frozen = cloche("pip", "freeze", "--python", venv)
    line = f"-e git+{tree.as_uri()}@{commit}#egg=gitedit"
    assert frozen.out == line + "\n", frozen
    (tmp_path / "frozen.txt").write_text(frozen.out)
    other = tmp_path / "other"
    assert cloche("venv", other).code == 0
    synced = pip(index, other, "sync", tmp_path / "frozen.txt")
    assert synced.code == 0, synced
    assert (other / "src" / "gitedit" / "gitedit" / "__init__.py").exists()
    # Local changes in the kept checkout are never thrown away by a new install.
    again = pip(index, venv, "install", "-e", url)
    assert again.code == 1 and "has local changes" in again.err, again
    assert "Traceback" not in again.err
    out = run_python(venv_python(venv), "import gitedit; print(gitedit.VALUE)")
    assert out.stdout.strip() == "edited in src"


def test_editable_git_url_with_src_and_a_clean_checkout_replaced(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    tree = _git_tree(tmp_path, "gitsrc")
    src = tmp_path / "checkouts"
    url = f"git+{tree.as_uri()}#egg=gitsrc"
    assert pip(index, venv, "install", "--src", src, "-e", url).code == 0
    assert (src / "gitsrc" / ".git").is_dir()
    (tree / "gitsrc" / "__init__.py").write_text("VALUE = 'second commit'\n")
    _git(tree, "commit", "-q", "-am", "second")
    result = pip(index, venv, "install", "--src", src, "-e", url)
    assert result.code == 0, result  # a clean checkout is brought up to date, as pip does
    out = run_python(venv_python(venv), "import gitsrc; print(gitsrc.VALUE)")
    assert out.stdout.strip() == "second commit", out.stderr
    (src / "other").mkdir()
    (src / "other" / "file.txt").write_text("not a checkout")
    other = _git_tree(tmp_path / "more", "other")
    refused = pip(index, venv, "install", "--src", src, "-e", f"git+{other.as_uri()}#egg=other")
    assert refused.code == 1 and "is not a git checkout" in refused.err, refused
    assert (src / "other" / "file.txt").read_text() == "not a checkout"
    assert "other" not in installed(venv)


def test_list_filters_as_pip_does(index: IndexServer, venv: Path, tmp_path: Path) -> None:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(tmp_path / "src", "editme", "0.1")
    assert pip(index, venv, "install", "alpha==1.0", "tool").code == 0
    assert pip(index, venv, "install", "-e", tree).code == 0

    def listed(*args: str) -> list[dict[str, str]]:
        result = cloche("pip", "list", "--python", venv, "--format", "json", *args)
        assert result.code == 0, result
        rows: list[dict[str, str]] = json.loads(result.out)
        return rows

    assert [r["name"] for r in listed()] == ["alpha", "beta", "editme", "tool"]
    assert listed("--editable") == [
        {"name": "editme", "version": "0.1", "editable_project_location": str(tree)}
    ]
    assert [r["name"] for r in listed("--exclude-editable")] == ["alpha", "beta", "tool"]
    assert [r["name"] for r in listed("--not-required")] == ["alpha", "editme", "tool"]
    assert [r["name"] for r in listed("--exclude", "Alpha", "--exclude", "tool")] == [
        "beta",
        "editme",
    ]
    columns = cloche("pip", "list", "--python", venv)
    assert "Editable project location" in columns.out and str(tree) in columns.out
    both = cloche("pip", "list", "--python", venv, "-e", "--exclude-editable")
    assert both.code == 2 and "cannot be used together" in both.err
    frozen = cloche("pip", "freeze", "--python", venv, "--exclude-editable")
    assert frozen.out == "alpha==1.0\nbeta==2.0\ntool==1.0\n", frozen


def test_pip_flags_scripts_pass_everywhere_are_accepted(index: IndexServer, venv: Path) -> None:
    quiet = ("--disable-pip-version-check",)
    result = pip(
        index, venv, "install", *quiet, "--no-warn-script-location", "--prefer-binary", "tool"
    )
    assert result.code == 0, result
    for command in (("list",), ("freeze",), ("check",), ("uninstall", "-y", "tool")):
        done = cloche("pip", *command, *quiet, "--python", venv)
        assert done.code == 0, done
    assert installed(venv) == {}
    user = pip(index, venv, "install", "--user", "tool")
    assert user.code == 2 and "--user installs into the user site-packages" in user.err
    assert installed(venv) == {}


def test_pip_sync_leaves_the_seed_packages_unless_listed(
    index: IndexServer, tmp_path: Path
) -> None:
    """As pip-sync does: a venv made by python -m venv keeps its pip."""
    index.add_wheel("pip", "99.0")
    index.add_wheel("setuptools", "99.0")
    venv = tmp_path / "env"
    assert cloche("venv", venv).code == 0
    assert pip(index, venv, "install", "pip", "setuptools", "alpha==1.0").code == 0
    pins = tmp_path / "requirements.txt"
    pins.write_text("beta==2.0\n")
    assert pip(index, venv, "sync", pins).code == 0
    assert installed(venv) == {"beta": "2.0", "pip": "99.0", "setuptools": "99.0"}
    pins.write_text("beta==2.0\nsetuptools==99.0\n")
    assert pip(index, venv, "sync", pins).code == 0  # listed: synced like the rest
    assert installed(venv) == {"beta": "2.0", "pip": "99.0", "setuptools": "99.0"}


def test_venv_seed_installs_pip_from_the_index(index: IndexServer, tmp_path: Path) -> None:
    index.add_wheel("pip", "99.0")
    venv = tmp_path / "seeded"
    result = cloche("venv", venv, "--seed", "--index-url", index.url)
    assert result.code == 0, result
    assert installed(venv) == {"pip": "99.0"}
    plain = tmp_path / "plain"
    assert cloche("venv", plain).code == 0
    assert installed(plain) == {}  # without --seed, no pip (as uv venv)


def test_list_outdated_against_the_index(index: IndexServer, venv: Path) -> None:
    assert pip(index, venv, "install", "alpha==1.0", "beta==1.0", "tool").code == 0
    base = ["pip", "list", "--outdated", "--python", venv, "--index-url", index.url]
    columns = cloche(*base)
    assert columns.code == 0, columns
    lines = columns.out.splitlines()
    assert lines[0].split() == ["Package", "Version", "Latest"]
    assert [line.split() for line in lines[2:]] == [["alpha", "1.0", "2.0"], ["beta", "1.0", "2.0"]]
    as_json = json.loads(cloche(*base, "--format", "json").out)
    assert as_json[0] == {"name": "alpha", "version": "1.0", "latest_version": "2.0"}
    assert cloche(*base, "--format", "freeze").out == "alpha==1.0\nbeta==1.0\n"


def test_show_files_several_packages_and_missing_ones(index: IndexServer, venv: Path) -> None:
    assert pip(index, venv, "install", "alpha==1.0").code == 0
    shown = cloche("pip", "show", "-f", "--python", venv, "alpha", "beta")
    assert shown.code == 0, shown
    first, second = shown.out.split("---\n")
    assert "Name: alpha" in first and "Required-by: \n" not in second
    assert "Required-by: alpha" in second
    assert "Files:\n" in first and "  alpha/__init__.py\n" in first
    missing = cloche("pip", "show", "--python", venv, "alpha", "nothere")
    assert missing.code == 1
    assert missing.err.strip().endswith("package(s) not installed: nothere")
    assert "Name: alpha" in missing.out


def test_progress_bars_on_a_terminal(index: IndexServer, venv: Path) -> None:
    """With stderr on a terminal (a pty here) the rich bars run, and leave only the summary."""
    import pty

    index.add_sdist("fromsrc", "1.0")
    leader, follower = pty.openpty()
    args = ["pip", "install", "--python", str(venv), "--index-url", index.url]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloche", *args, "alpha==1.0", "fromsrc"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        )
        os.close(follower)
        output = bytearray()
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            output.extend(chunk)
        assert proc.wait(timeout=120) == 0, output.decode(errors="replace")
    finally:
        os.close(leader)
    text = output.decode(errors="replace")
    assert "Preparing packages" in text  # a bar was drawn
    assert " + alpha==1.0" in text and " + fromsrc==1.0" in text
    assert "Traceback" not in text
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0", "fromsrc": "1.0"}


def test_a_local_directory_is_rebuilt_on_every_install(
    index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    """As pip does: its files may have changed since, whatever its version says."""
    from tests.support.dists import make_source_tree

    tree = make_source_tree(tmp_path / "src", "localdir", "1.0")
    assert pip(index, venv, "install", tree, "beta==1.0").code == 0
    (tree / "localdir" / "__init__.py").write_text("VALUE = 'second build'\n")
    again = pip(index, venv, "install", tree, "beta==1.0")
    assert again.code == 0, again
    assert "localdir" in again.err and "beta" not in again.err  # only the directory
    out = run_python(venv_python(venv), "import localdir; print(localdir.VALUE)")
    assert out.stdout.strip() == "second build", out.stderr
    assert installed(venv) == {"beta": "1.0", "localdir": "1.0"}


def test_pip_tree(index: IndexServer, venv: Path) -> None:
    index.add_wheel("loopa", "1.0", requires=["loopb"])
    index.add_wheel("loopb", "1.0", requires=["loopa", "winonly; sys_platform == 'win32'"])
    index.add_wheel("winonly", "1.0")
    assert pip(index, venv, "install", "alpha==1.0", "tool", "loopa").code == 0
    tree = cloche("pip", "tree", "--python", venv)
    assert tree.code == 0, tree
    assert tree.out == (
        "alpha v1.0\n"
        "└── beta v2.0\n"
        "loopa v1.0\n"  # only the two of them need each other: shown from the first
        "└── loopb v1.0\n"
        "    └── loopa v1.0 (*)\n"
        "tool v1.0\n"
    )
    inverted = cloche("pip", "tree", "--invert", "--python", venv)
    assert inverted.code == 0, inverted
    assert "beta v2.0\n└── alpha v1.0\n" in inverted.out
    assert "tool v1.0\n" in inverted.out
