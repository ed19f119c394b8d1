"""Interpreter probing, discovery and environment selection, against real Pythons."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.tags import sys_tags
from packaging.version import Version

from cloche.adapters.python.discovery import (
    find_active_interpreter,
    find_environment,
    find_interpreter,
    list_interpreters,
    probe,
)
from cloche.adapters.python.tags import manylinux_platforms
from cloche.errors import InterpreterNotFound, UnusableEnvError
from cloche.ops.venv_create import create_venv

# Read at import time: the isolation fixtures move HOME for each test.
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"


def pyenv_python(prefix: str) -> Path:
    """The pyenv interpreter whose version starts with ``prefix`` (skip the test if absent)."""
    for install in sorted(PYENV_VERSIONS.glob(f"{prefix}.*")):
        binary = install / "bin" / f"python{prefix}"
        if binary.exists():
            return binary.resolve()
    pytest.skip(f"no pyenv Python {prefix} on this machine")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One probe cache for the module, so each interpreter is run once."""
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture
def count_probes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record every interpreter the probe module starts."""
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    return calls


def make_script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


# --- probe ---------------------------------------------------------------------------


def test_running_interpreter_tags_match_packaging(shared_cache: Path) -> None:
    interp = probe(Path(sys.executable), shared_cache)
    # Installers pick the wheel whose tag comes first here, so the order must be
    # packaging's exactly, not just the set: since packaging 26.3 (pypa/packaging#160)
    # that puts linux_<arch> before manylinux (newest glibc first) and musllinux, as
    # a linux_<arch> wheel can only have been built for this very machine.
    assert list(interp.tags) == list(sys_tags())
    assert dict(interp.marker_env) == default_environment()
    assert interp.version == Version(default_environment()["python_full_version"])
    assert interp.implementation == sys.implementation.name
    assert interp.prefix == sys.prefix
    assert interp.base_prefix == sys.base_prefix
    expected = sysconfig.get_paths()
    assert interp.scheme == {k: expected[k] for k in interp.scheme}
    assert set(interp.scheme) == {"purelib", "platlib", "scripts", "include", "data"}


@pytest.mark.parametrize("minor", ["3.8", "3.10", "3.13"])
def test_probe_other_pythons(minor: str, shared_cache: Path) -> None:
    interp = probe(pyenv_python(minor), shared_cache)
    nodot = minor.replace(".", "")
    assert str(interp.version).startswith(minor + ".")
    assert interp.tags[0].interpreter == f"cp{nodot}"
    assert interp.tags[0].abi == f"cp{nodot}"
    assert interp.tags[-1].interpreter == "py30"
    assert dict(interp.marker_env)["python_version"] == minor
    assert interp.scheme["purelib"].endswith(f"python{minor}/site-packages")


def test_probe_skips_site_only_outside_a_venv(
    tmp_path: Path, shared_cache: Path, count_probes: list[list[str]]
) -> None:
    base = Path(sys.executable).resolve()
    venv = tmp_path / "v"
    create_venv(venv, probe(base, shared_cache), cache_dir=shared_cache)
    in_venv = probe(venv / "bin" / "python", tmp_path / "fresh-cache")  # run, not stored
    probed = probe(base, tmp_path / "fresh-cache")
    flags = {Path(call[0]): call[1 : call.index("-c")] for call in count_probes}
    assert flags[venv / "bin" / "python"] == ["-E", "-s"]  # site is what sets sys.prefix
    assert flags[base] == ["-E", "-s", "-S"]  # site only runs .pth files there
    assert in_venv.prefix == str(venv)
    assert in_venv.base_prefix == probed.prefix == sys.base_prefix


def test_probe_is_cached_without_subprocess(tmp_path: Path, count_probes: list[list[str]]) -> None:
    cache = tmp_path / "cache"
    first = probe(Path(sys.executable), cache)
    assert len(count_probes) == 1
    entries = list((cache / "interpreter-v3").glob("*.marshal"))
    assert len(entries) == 1
    assert probe(Path(sys.executable), cache) == first
    assert len(count_probes) == 1


def test_corrupt_cache_is_ignored_and_rewritten(
    tmp_path: Path, count_probes: list[list[str]]
) -> None:
    cache = tmp_path / "cache"
    first = probe(Path(sys.executable), cache)
    (entry,) = (cache / "interpreter-v3").glob("*.marshal")
    garbage = [b"{not marshal", marshal.dumps({"key": "x", "data": []}), marshal.dumps([]), b""]
    for content in garbage:
        entry.write_bytes(content)
        assert probe(Path(sys.executable), cache) == first
        assert marshal.loads(entry.read_bytes())["data"]["prefix"] == sys.prefix
    assert len(count_probes) == 5


def test_cache_is_invalidated_when_the_file_changes(
    tmp_path: Path, count_probes: list[list[str]]
) -> None:
    wrapper = make_script(tmp_path / "python", f'exec "{sys.executable}" "$@"')
    cache = tmp_path / "cache"
    probe(wrapper, cache)
    probe(wrapper, cache)
    assert len(count_probes) == 1
    stat = wrapper.stat()
    os.utime(wrapper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    probe(wrapper, cache)
    assert len(count_probes) == 2


def test_default_cache_dir_is_the_clochecachedir(count_probes: list[list[str]]) -> None:
    probe(Path(sys.executable))
    cache = Path(os.environ["CLOCHE_CACHE_DIR"]) / "interpreter-v3"
    assert len(list(cache.glob("*.marshal"))) == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [("exit 3", "exit code 3"), ("echo hello", "exit code 0"), ("echo '{}'", "exit code 0")],
)
def test_probe_of_a_non_python_names_the_path(tmp_path: Path, body: str, needle: str) -> None:
    fake = make_script(tmp_path / "python", body)
    with pytest.raises(InterpreterNotFound, match="is not a working Python") as info:
        probe(fake, tmp_path / "cache")
    assert str(fake) in str(info.value)
    assert needle in str(info.value)


def test_probe_of_missing_or_unrunnable_file(tmp_path: Path) -> None:
    with pytest.raises(InterpreterNotFound, match=r"no Python interpreter at .*nope"):
        probe(tmp_path / "nope", tmp_path / "cache")
    data = tmp_path / "data.txt"
    data.write_text("not a program", encoding="utf-8")
    with pytest.raises(InterpreterNotFound, match=r"data.txt is not a Python interpreter"):
        probe(data, tmp_path / "cache")


def test_probe_refuses_old_pythons(shared_cache: Path) -> None:
    old = PYENV_VERSIONS / "2.7.18" / "bin" / "python2.7"
    if not old.exists():
        pytest.skip("no Python 2.7 on this machine")
    with pytest.raises(InterpreterNotFound, match=r"is Python 2\.7\.18; cloche needs Python 3\.8"):
        probe(old, shared_cache)


def test_manylinux_platform_list_matches_packaging() -> None:
    # The probed glibc feeds our own list; for this machine it must be packaging's.
    best = next(iter(sys_tags()))
    linux = [
        t.platform for t in sys_tags() if (t.interpreter, t.abi) == (best.interpreter, best.abi)
    ]
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    if not glibc or not sysconfig.get_platform().startswith("linux"):
        pytest.skip("needs glibc Linux")
    major, minor = (int(part) for part in glibc.split()[1].split(".")[:2])
    arch = sysconfig.get_platform().split("-", 1)[1]
    ours = list(manylinux_platforms([arch], (major, minor)))
    assert [p for p in linux if p.startswith("manylinux")] == ours
    assert ours[0] == f"manylinux_{major}_{minor}_{arch}"
    assert "manylinux2014_" + arch in ours


# --- find_interpreter ------------------------------------------------------------------


@pytest.fixture
def fake_machine(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """A PATH and a PYENV_ROOT made of links to real Pythons, chosen per test."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pyenv_root = tmp_path / "pyenv"
    (pyenv_root / "versions").mkdir(parents=True)

    def add(minor: str, *, on_path: tuple[str, ...] = (), in_pyenv: bool = False) -> Path:
        real = pyenv_python(minor)
        for name in on_path:
            (bin_dir / name).symlink_to(real)
        if in_pyenv:
            version_bin = pyenv_root / "versions" / real.parent.parent.name / "bin"
            version_bin.mkdir(parents=True)
            (version_bin / "python3").symlink_to(real)
        return real

    # A private MonkeyPatch: undone before the leak check runs, whatever the fixture order.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(bin_dir))
        patch.setenv("PYENV_ROOT", str(pyenv_root))
        yield add


def test_find_interpreter_request_kinds(
    fake_machine: Callable[..., Path], tmp_path: Path, shared_cache: Path
) -> None:
    py311 = fake_machine("3.11", on_path=("python3", "python"))
    py312 = fake_machine("3.12", on_path=("python3.12",))
    py310 = fake_machine("3.10", in_pyenv=True)
    py313 = fake_machine("3.13", in_pyenv=True)

    def found(request: str | None) -> Path:
        return Path(find_interpreter(request, cache_dir=shared_cache).executable).resolve()

    assert found(None) == py311
    assert found("3") == py313
    assert found("3.10") == py310
    assert found(str(probe(py310, shared_cache).version)) == py310
    assert found(">=3.10,<3.12") == py311
    assert found("python3.12") == py312
    assert found("cpython@3.11") == py311
    assert found("cpython") == py313
    assert found(str(py312)) == py312


def test_find_interpreter_by_relative_path_and_prefix_dir(
    fake_machine: Callable[..., Path], tmp_path: Path
) -> None:
    py310 = fake_machine("3.10")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(py310.parent)
        assert Path(find_interpreter(f"./{py310.name}").executable).resolve() == py310
    # A prefix directory: its bin/python3 is used.
    assert Path(find_interpreter(str(py310.parent.parent)).executable).resolve() == py310


def test_find_interpreter_not_found_lists_what_exists(
    fake_machine: Callable[..., Path], shared_cache: Path
) -> None:
    versions = [
        probe(fake_machine(m, in_pyenv=True), shared_cache).version for m in ("3.10", "3.12")
    ]
    with pytest.raises(InterpreterNotFound) as info:
        find_interpreter("3.9", cache_dir=shared_cache)
    assert str(info.value) == (
        f"no Python matching '3.9' found (found: {versions[0]}, {versions[1]}; "
        "install one with 'cloche python install 3.9' (or pyenv), or pass --python PATH)"
    )
    with pytest.raises(InterpreterNotFound, match="no Python matching 'pypy3'") as info:
        find_interpreter("pypy3", cache_dir=shared_cache)
    assert str(info.value).endswith("install one with pyenv or pass --python PATH)")


def test_find_interpreter_skips_shims(
    fake_machine: Callable[..., Path], tmp_path: Path, shared_cache: Path
) -> None:
    real39 = pyenv_python("3.9")
    fake_machine("3.10", in_pyenv=True)
    shim = make_script(tmp_path / "bin" / "python3.9", f'exec "{real39}" "$@"')
    assert shim.exists()
    with pytest.raises(InterpreterNotFound, match=r"'3.9' found"):
        find_interpreter("3.9", cache_dir=shared_cache)


def test_find_interpreter_default_falls_back_to_sys_executable(
    fake_machine: Callable[..., Path], shared_cache: Path
) -> None:
    interp = find_interpreter(None, cache_dir=shared_cache)
    assert Path(interp.executable).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("request_text", ["banana", "3.x", "==", ""])
def test_find_interpreter_invalid_request(request_text: str) -> None:
    with pytest.raises(InterpreterNotFound, match="invalid Python request"):
        find_interpreter(request_text)


def test_find_interpreter_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InterpreterNotFound, match=r"no Python at .*missing"):
        find_interpreter(str(tmp_path / "missing"))


def test_list_interpreters_dedupes_and_sorts(
    fake_machine: Callable[..., Path], shared_cache: Path
) -> None:
    fake_machine("3.11", on_path=("python3", "python3.11", "python"), in_pyenv=True)
    fake_machine("3.13", in_pyenv=True)
    fake_machine("3.10", on_path=("python3.10",))
    found = list_interpreters(shared_cache)
    assert [str(i.version)[:4] for i in found] == ["3.13", "3.11", "3.10"]


def test_a_warm_discovery_reads_the_cache_and_starts_no_probe_or_thread(
    fake_machine: Callable[..., Path], shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_machine("3.11", on_path=("python3", "python3.11"), in_pyenv=True)
    fake_machine("3.13", in_pyenv=True)
    first = list_interpreters(shared_cache)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a warm discovery must not probe or start threads")

    import concurrent.futures

    import cloche.adapters.python.cache as python_cache

    monkeypatch.setattr(python_cache, "_run_probe", refuse)
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", refuse)
    assert list_interpreters(shared_cache) == first


# --- find_environment ------------------------------------------------------------------


@pytest.fixture
def venv(tmp_path: Path, shared_cache: Path) -> Path:
    base = probe(Path(sys.executable), shared_cache)
    create_venv(tmp_path / "project" / ".venv", base, cache_dir=shared_cache)
    return tmp_path / "project" / ".venv"


def test_find_environment_from_virtual_env(venv: Path, shared_cache: Path) -> None:
    interp = find_environment(None, environ={"VIRTUAL_ENV": str(venv)}, cache_dir=shared_cache)
    assert interp.prefix == str(venv)
    assert interp.is_venv


def test_find_environment_virtual_env_problems(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(UnusableEnvError, match=r"VIRTUAL_ENV is set to .*gone, which does not"):
        find_environment(None, environ={"VIRTUAL_ENV": str(missing)})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnusableEnvError, match="has no Python interpreter"):
        find_environment(None, environ={"VIRTUAL_ENV": str(empty)})


def test_find_environment_discovers_dot_venv_upwards(venv: Path, shared_cache: Path) -> None:
    nested = venv.parent / "src" / "pkg"
    nested.mkdir(parents=True)
    interp = find_environment(None, cwd=nested, environ={}, cache_dir=shared_cache)
    assert interp.prefix == str(venv)


def test_find_environment_conda_prefix_is_consulted(venv: Path, shared_cache: Path) -> None:
    interp = find_environment(None, environ={"CONDA_PREFIX": str(venv)}, cache_dir=shared_cache)
    assert interp.prefix == str(venv)


def test_find_environment_python_option(venv: Path, shared_cache: Path) -> None:
    by_dir = find_environment(str(venv), environ={}, cache_dir=shared_cache)
    by_exe = find_environment(str(venv / "bin" / "python"), environ={}, cache_dir=shared_cache)
    relative = find_environment(".venv", cwd=venv.parent, environ={}, cache_dir=shared_cache)
    assert by_dir.prefix == by_exe.prefix == relative.prefix == str(venv)
    # --python wins over VIRTUAL_ENV.
    other = find_environment(str(venv), environ={"VIRTUAL_ENV": "/nowhere"}, cache_dir=shared_cache)
    assert other.prefix == str(venv)


def test_find_active_interpreter_prefers_the_activated_environment(
    venv: Path, shared_cache: Path
) -> None:
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        active = find_active_interpreter(
            None, environ={variable: str(venv)}, cache_dir=shared_cache
        )
        assert active.prefix == str(venv)
    # A request wins; with nothing activated it is find_interpreter's default.
    asked = find_active_interpreter(
        sys.executable, environ={"VIRTUAL_ENV": str(venv)}, cache_dir=shared_cache
    )
    assert asked.prefix != str(venv)
    plain = find_active_interpreter(None, environ={}, cache_dir=shared_cache)
    assert plain.executable == find_interpreter(None, cache_dir=shared_cache).executable
    with pytest.raises(UnusableEnvError, match=r"VIRTUAL_ENV is set to .*gone, which does not"):
        find_active_interpreter(None, environ={"VIRTUAL_ENV": str(venv.parent / "gone")})


def test_find_environment_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(UnusableEnvError) as info:
        find_environment(None, cwd=tmp_path, environ={})
    assert str(info.value) == (
        "no virtual environment found; create one with 'cloche venv' and activate it, "
        "or pass --python"
    )


def test_find_environment_refuses_system_python_without_flag(shared_cache: Path) -> None:
    system_python = str(Path(sys.executable))
    if sys.prefix != sys.base_prefix:
        pytest.skip("the test suite itself runs in a venv")
    with pytest.raises(UnusableEnvError) as info:
        find_environment(system_python, environ={}, cache_dir=shared_cache)
    assert str(info.value) == (
        f"{system_python} is not a virtual environment (it is the system Python); "
        "pass --system to install into it anyway"
    )
    interp = find_environment(system_python, system=True, environ={}, cache_dir=shared_cache)
    assert not interp.is_venv
    by_version = find_environment("3", system=True, environ={}, cache_dir=shared_cache)
    assert not by_version.is_venv
