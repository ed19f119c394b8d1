"""Linking wheels from the store into real venvs: files, scripts, RECORD, uninstall, rollback."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from installer.records import RecordEntry, parse_record_file
from packaging.markers import default_environment
from packaging.version import Version

from cloche.adapters.install import (
    EnvLayout,
    InstalledDist,
    InstallRequest,
    check,
    damage,
    install,
    installed_distributions,
    uninstall,
)
from cloche.adapters.store import RecordRow, Store, UnpackedWheel
from cloche.config import LinkMode
from cloche.core.report import NullReporter
from cloche.errors import InstallError
from tests.support.dists import make_wheel

DEMO_INIT = "def main():\n    print('demo-main')\n    return 0\n"
ENTRY_POINTS = {
    "console_scripts": {"demo-cli": "demo:main"},
    "gui_scripts": {"demo-gui": "demo:main"},
}
DATA = {
    "scripts/demo-tool": "#!python\nimport sys\nprint('tool', sys.prefix)\n",
    "data/share/demo/readme.txt": "read me\n",
    "headers/demo.h": "#define DEMO 1\n",
}


def make_env(directory: Path) -> EnvLayout:
    prefix = directory / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    paths = sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})
    short = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    # Scheme directories belong to the env: uninstall empties them but never removes them.
    (prefix / "include" / "site" / short).mkdir(parents=True)
    return EnvLayout(
        purelib=Path(paths["purelib"]),
        platlib=Path(paths["platlib"]),
        scripts=Path(paths["scripts"]),
        include=prefix / "include" / "site" / short,
        data=prefix,
        python_executable=prefix / "bin" / "python",
        python_version=Version(".".join(map(str, sys.version_info[:3]))),
    )


def snapshot(root: Path) -> dict[str, object]:
    """Every path under ``root`` with its type, bytes and mode: equal means byte-for-byte equal."""
    found: dict[str, object] = {}
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(directory, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", str(path.readlink()))
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


@pytest.fixture
def env(tmp_path: Path) -> EnvLayout:
    return make_env(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


def unpack(store: Store, wheel: Path) -> UnpackedWheel:
    archive, digest = store.add_archive(wheel, wheel.name, move=False)
    return store.unpack_wheel(archive, digest)


def demo(store: Store, directory: Path, version: str = "1.0", **files: str) -> UnpackedWheel:
    contents = {"demo/__init__.py": DEMO_INIT, "demo/sub/mod.py": f"VALUE = {version!r}\n", **files}
    wheel = make_wheel(
        directory / version, "demo", version, files=contents, entry_points=ENTRY_POINTS, data=DATA
    )
    return unpack(store, wheel)


def run(*command: str | Path) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, check=False, env=environ
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def only_dist(env: EnvLayout) -> InstalledDist:
    (dist,) = installed_distributions(env)
    return dist


def record_rows(dist: InstalledDist) -> list[RecordEntry]:
    text = (dist.dist_info / "RECORD").read_text("utf-8")
    return [RecordEntry.from_elements(*row) for row in parse_record_file(text.splitlines())]


def assert_record_matches_files(env: EnvLayout, dist: InstalledDist, new_files: set[Path]) -> None:
    site = dist.dist_info.parent
    listed = set()
    for row in record_rows(dist):
        path = Path(os.path.normpath(site / row.path))
        listed.add(path)
        if row.path.endswith(("/RECORD", ".pyc")):
            assert row.hash_ is None
            continue
        assert row.hash_ is not None and row.hash_.name == "sha256", row.path
        with path.open("rb") as stream:
            assert row.validate_stream(stream), row.path
    assert listed == new_files


def new_files(before: dict[str, object], root: Path) -> set[Path]:
    after = snapshot(root)
    return {
        root / key
        for key, value in after.items()
        if key not in before and isinstance(value, tuple) and value[0] != "link"
    }


# -- installing ---------------------------------------------------------------


def test_install_links_files_scripts_data_and_writes_record(
    env: EnvLayout, store: Store, tmp_path: Path
) -> None:
    prefix = env.data
    before = snapshot(prefix)
    direct_url = '{"url": "file:///src/demo", "dir_info": {}}'
    wheel = demo(store, tmp_path)
    install(env, [InstallRequest(wheel, requested=True, direct_url=direct_url)], [])
    dist = only_dist(env)
    assert_record_matches_files(env, dist, new_files(before, prefix))

    assert run(env.scripts / "demo-cli") == "demo-main\n"
    tool = env.scripts / "demo-tool"
    assert tool.read_text().splitlines()[0] == f"#!{env.python_executable}"
    assert run(tool) == f"tool {prefix}\n"
    assert os.access(env.scripts / "demo-gui", os.X_OK)
    assert (prefix / "share/demo/readme.txt").read_text() == "read me\n"
    assert (env.include / "demo" / "demo.h").exists()

    assert (dist.name, dist.version, dist.installer, dist.requested) == (
        "demo",
        Version("1.0"),
        "cloche",
        True,
    )
    assert dist.direct_url == direct_url
    assert dist.top_level == ("demo",)
    assert run(env.python_executable, "-c", "import demo.sub.mod as m; print(m.VALUE)") == "1.0\n"
    assert not list(env.purelib.parent.glob(".cloche-backup-*"))


@pytest.mark.parametrize("mode", [LinkMode.AUTO, LinkMode.HARDLINK])
def test_hardlinks_share_inodes_with_the_store(
    env: EnvLayout, store: Store, tmp_path: Path, mode: LinkMode
) -> None:
    wheel = demo(store, tmp_path)
    install(env, [InstallRequest(wheel)], [], link_mode=mode)
    installed = env.purelib / "demo" / "sub" / "mod.py"
    stored = wheel.path / "demo" / "sub" / "mod.py"
    if mode is LinkMode.AUTO and installed.stat().st_ino != stored.stat().st_ino:
        pytest.skip("this filesystem supports reflinks, which AUTO prefers")
    assert installed.stat().st_ino == stored.stat().st_ino
    # Rewritten scripts are copies: editing them must never touch the store.
    assert (env.scripts / "demo-tool").stat().st_ino != (
        wheel.path / "demo-1.0.data" / "scripts" / "demo-tool"
    ).stat().st_ino
    assert not only_dist(env).requested


def test_copy_mode_makes_independent_files(env: EnvLayout, store: Store, tmp_path: Path) -> None:
    wheel = demo(store, tmp_path)
    install(env, [InstallRequest(wheel)], [], link_mode=LinkMode.COPY)
    installed = env.purelib / "demo" / "__init__.py"
    stored = wheel.path / "demo" / "__init__.py"
    assert installed.read_bytes() == stored.read_bytes()
    assert installed.stat().st_ino != stored.stat().st_ino
    assert run(env.scripts / "demo-cli") == "demo-main\n"


def test_clone_mode_works_or_fails_cleanly(env: EnvLayout, store: Store, tmp_path: Path) -> None:
    wheel = demo(store, tmp_path)
    before = snapshot(env.data)
    try:
        install(env, [InstallRequest(wheel)], [], link_mode=LinkMode.CLONE)
    except InstallError as exc:
        assert "cannot clone" in str(exc)
        assert snapshot(env.data) == before
    else:
        assert run(env.scripts / "demo-cli") == "demo-main\n"


def test_many_files_are_linked_in_parallel(env: EnvLayout, store: Store, tmp_path: Path) -> None:
    files = {f"demo/gen/m{i}.py": f"V = {i}\n" for i in range(1000)}
    wheel = demo(store, tmp_path, **files)
    before = snapshot(env.data)
    install(env, [InstallRequest(wheel)], [])
    assert (env.purelib / "demo/gen/m999.py").read_text() == "V = 999\n"
    assert_record_matches_files(env, only_dist(env), new_files(before, env.data))


def _namespace_wheels(store: Store, tmp_path: Path, count: int) -> list[UnpackedWheel]:
    """``count`` wheels sharing the new directory ``ns/`` and the file ``ns/common.txt``."""
    wheels = []
    for i in range(count):
        files = {f"ns/part{i}/m{j}.py": f"V = {j}\n" for j in range(50 * (i + 1))}
        files["ns/common.txt"] = f"from wheel {i}\n"
        made = make_wheel(tmp_path / f"w{i}", f"part{i}", "1.0", files=files)
        wheels.append(unpack(store, made))
    return wheels


@pytest.mark.parametrize("mode", [LinkMode.AUTO, LinkMode.COPY])
def test_wheels_sharing_directories_install_together(
    env: EnvLayout, store: Store, tmp_path: Path, mode: LinkMode
) -> None:
    wheels = _namespace_wheels(store, tmp_path, 6)
    before = snapshot(env.data)
    install(env, [InstallRequest(w) for w in wheels], [], link_mode=mode)
    # A file two wheels ship is installed once; the later wheel wins, as with pip.
    assert (env.purelib / "ns" / "common.txt").read_text() == "from wheel 5\n"
    for i in range(6):
        assert len(list((env.purelib / "ns" / f"part{i}").iterdir())) == 50 * (i + 1)
    added = new_files(before, env.data)
    listed = {
        Path(os.path.normpath(dist.dist_info.parent / row.path))
        for dist in installed_distributions(env)
        for row in record_rows(dist)
    }
    assert listed == added


def test_a_failing_wheel_among_many_rolls_back_every_thread(
    env: EnvLayout, store: Store, tmp_path: Path
) -> None:
    wheels = _namespace_wheels(store, tmp_path, 5)
    # A directory where the last wheel puts a file: found only while linking.
    (env.purelib / "ns" / "part4" / "m7.py").mkdir(parents=True)
    before = snapshot(env.data)
    with pytest.raises(InstallError, match="a directory is in the way"):
        install(env, [InstallRequest(w) for w in wheels], [])
    assert snapshot(env.data) == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../evil.py", "not inside the wheel"),
        ("/etc/evil.py", "not inside the wheel"),
        ("demo//evil.py", "not inside the wheel"),
        ("demo/./evil.py", "not inside the wheel"),
        ("demo/sub/..", "not inside the wheel"),
        ("demo\\evil.py", "not inside the wheel"),
        ("", "not inside the wheel"),
        ("demo-1.0.data/elsewhere/evil.py", "unknown .data scheme"),
        ("demo-1.0.data/purelib", "unknown .data scheme"),
    ],
)
def test_a_tampered_store_manifest_is_refused(
    env: EnvLayout, store: Store, tmp_path: Path, path: str, message: str
) -> None:
    wheel = demo(store, tmp_path)
    bad = dataclasses.replace(wheel, records=(*wheel.records, RecordRow(path, "x", 1)))
    before = snapshot(env.data)
    with pytest.raises(InstallError, match=message) as raised:
        install(env, [InstallRequest(bad)], [])
    if message == "not inside the wheel":
        assert repr(path) in str(raised.value)
    assert snapshot(env.data) == before


def test_compile_bytecode_records_pyc_files(env: EnvLayout, store: Store, tmp_path: Path) -> None:
    before = snapshot(env.data)
    install(env, [InstallRequest(demo(store, tmp_path))], [], compile_bytecode=True)
    dist = only_dist(env)
    pycs = [row.path for row in record_rows(dist) if row.path.endswith(".pyc")]
    assert any(p.startswith("demo/sub/__pycache__/mod.") for p in pycs)
    assert_record_matches_files(env, dist, new_files(before, env.data))
    uninstall(env, [dist])
    assert snapshot(env.data) == before


# -- uninstalling and upgrading -----------------------------------------------


def test_uninstall_removes_everything(env: EnvLayout, store: Store, tmp_path: Path) -> None:
    before = snapshot(env.data)
    install(env, [InstallRequest(demo(store, tmp_path), requested=True)], [])
    run(env.python_executable, "-c", "import demo.sub.mod")  # leaves __pycache__ behind
    assert (env.purelib / "demo" / "sub" / "__pycache__").is_dir()
    uninstall(env, installed_distributions(env))
    assert snapshot(env.data) == before
    assert installed_distributions(env) == []


def test_upgrade_removes_old_and_adds_new_in_one_call(
    env: EnvLayout, store: Store, tmp_path: Path
) -> None:
    install(env, [InstallRequest(demo(store, tmp_path, "1.0", **{"demo/old.py": ""}))], [])
    old = only_dist(env)
    new = demo(store, tmp_path, "2.0", **{"demo/new.py": ""})
    install(env, [InstallRequest(new)], [old])
    dist = only_dist(env)
    assert dist.version == Version("2.0")
    assert not (env.purelib / "demo" / "old.py").exists()
    assert (env.purelib / "demo" / "new.py").exists()
    assert not old.dist_info.exists()
    assert run(env.python_executable, "-c", "import demo.sub.mod as m; print(m.VALUE)") == "2.0\n"
    assert run(env.scripts / "demo-cli") == "demo-main\n"
    assert not list(env.purelib.parent.glob(".cloche-backup-*"))


def test_uninstall_without_record_removes_its_dist_info(env: EnvLayout) -> None:
    dist_info = env.purelib / "ghost-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ghost\nVersion: 1.0\n\n")
    (env.purelib / "ghost").mkdir()
    (env.purelib / "ghost" / "half.py").write_text("")
    [ghost] = installed_distributions(env)
    assert damage(ghost) == "its RECORD is missing or invalid"
    uninstall(env, [ghost])
    assert installed_distributions(env) == []
    # Nothing says which files were its own: they stay, never a guess.
    assert (env.purelib / "ghost" / "half.py").exists()


def test_uninstall_refuses_record_paths_outside_the_env(env: EnvLayout, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    dist_info = env.purelib / "evil-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n\n")
    escape = os.path.relpath(outside, env.purelib)
    (dist_info / "RECORD").write_text(f"{escape},,\nevil-1.0.dist-info/RECORD,,\n")
    before = snapshot(env.data)
    with pytest.raises(InstallError, match="outside the environment"):
        uninstall(env, installed_distributions(env))
    assert outside.read_text() == "keep me"
    assert snapshot(env.data) == before


# -- rollback -----------------------------------------------------------------


def _installed_demo(env: EnvLayout, store: Store, tmp_path: Path) -> InstalledDist:
    install(env, [InstallRequest(demo(store, tmp_path, "1.0"), requested=True)], [])
    run(env.python_executable, "-c", "import demo.sub.mod")
    return only_dist(env)


def _blocking_wheel(env: EnvLayout, store: Store, tmp_path: Path) -> UnpackedWheel:
    (env.purelib / "blocker" / "mod.py").mkdir(parents=True)
    wheel = make_wheel(tmp_path / "blocker", "blocker", "1.0", files={"blocker/mod.py": ""})
    return unpack(store, wheel)


def _bad_entry_point_wheel(env: EnvLayout, store: Store, tmp_path: Path) -> UnpackedWheel:
    points = {"console_scripts": {"../../evil": "x:main"}}
    wheel = make_wheel(tmp_path / "badep", "badep", "1.0", entry_points=points)
    return unpack(store, wheel)


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (_blocking_wheel, "a directory is in the way"),
        (_bad_entry_point_wheel, "not a valid file name"),
    ],
)
def test_failure_in_the_middle_rolls_back(
    env: EnvLayout, store: Store, tmp_path: Path, make_bad: object, message: str
) -> None:
    old = _installed_demo(env, store, tmp_path)
    files = {f"demo/gen/m{i}.py": "" for i in range(600)}
    new = demo(store, tmp_path, "2.0", **files)
    assert callable(make_bad)
    bad = make_bad(env, store, tmp_path)
    before = snapshot(env.data)
    with pytest.raises(InstallError, match=message):
        install(env, [InstallRequest(new), InstallRequest(bad)], [old])
    assert snapshot(env.data) == before
    assert run(env.scripts / "demo-cli") == "demo-main\n"


class InterruptingReporter(NullReporter):
    """Presses Ctrl-C while the second batch of files is being linked."""

    def __init__(self) -> None:
        self.tasks: dict[int, str] = {}
        self.linked = 0

    def started(self, task: str, total: int | None = None) -> int:
        self.tasks[len(self.tasks) + 1] = task
        return len(self.tasks)

    def advanced(self, task_id: int, amount: int = 1) -> None:
        if self.tasks[task_id] == "Installing":
            self.linked += 1
            if self.linked == 2:
                raise KeyboardInterrupt


def test_keyboard_interrupt_rolls_back(env: EnvLayout, store: Store, tmp_path: Path) -> None:
    old = _installed_demo(env, store, tmp_path)
    files = {f"demo/gen/m{i}.py": "" for i in range(2000)}
    new = demo(store, tmp_path, "2.0", **files)
    before = snapshot(env.data)
    reporter = InterruptingReporter()
    with pytest.raises(KeyboardInterrupt):
        install(env, [InstallRequest(new)], [old], reporter=reporter)
    assert reporter.linked == 2
    assert snapshot(env.data) == before
    assert not list(env.purelib.parent.glob(".cloche-backup-*"))


# -- check --------------------------------------------------------------------


def test_check_reports_missing_and_wrong_versions(
    env: EnvLayout, store: Store, tmp_path: Path
) -> None:
    app = make_wheel(
        tmp_path / "app",
        "App",
        "1.0",
        requires=[
            "lib>=2",
            "missing-pkg",
            "Lib_Two[fast]<3",
            "winonly; sys_platform == 'win32'",
        ],
        extras={"extra": ["extra-only"]},
    )
    lib = make_wheel(tmp_path / "lib", "lib", "1.0")
    lib_two = make_wheel(tmp_path / "lib2", "lib-two", "2.5")
    requests = [InstallRequest(unpack(store, w)) for w in (app, lib, lib_two)]
    install(env, requests, [])
    markers = {k: str(v) for k, v in default_environment().items()}
    assert check(env, markers) == [
        "App 1.0 requires lib>=2, but lib 1.0 is installed",
        "App 1.0 requires missing-pkg, which is not installed",
    ]
    assert json.dumps([d.name for d in installed_distributions(env)]) == (
        '["app", "lib", "lib-two"]'
    )
