"""The project workflow end to end: init, add, remove, lock, sync, run, upgrade, import."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.pylock import Pylock

from tests.support.cli import Result, cloche, cloche_imports
from tests.support.index_server import IndexServer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    s = index_server
    s.add_wheel("alpha", "1.0", requires=["beta>=1"])
    s.add_wheel("alpha", "2.0", requires=["beta>=2"])
    s.add_wheel("beta", "1.0")
    s.add_wheel("beta", "2.0")
    s.add_wheel("winonly", "1.0")
    s.add_wheel("gamma", "1.0", requires=["beta", "winonly; sys_platform == 'win32'"])
    s.add_wheel("devtool", "3.0")
    s.add_wheel("plotlib", "0.5")
    return s


@dataclass
class Project:
    root: Path
    index: IndexServer

    def run(self, *args: str | Path, cwd: Path | None = None) -> Result:
        return cloche(*args, cwd=cwd or self.root)

    def ok(self, *args: str | Path, cwd: Path | None = None) -> Result:
        result = self.run(*args, cwd=cwd)
        assert result.code == 0, result
        return result

    @property
    def pyproject(self) -> str:
        return (self.root / "pyproject.toml").read_text()

    @property
    def lock(self) -> Pylock:
        with (self.root / "pylock.toml").open("rb") as fh:
            return Pylock.from_dict(tomllib.load(fh))

    def locked(self) -> dict[str, str]:
        return {p.name: str(p.version) for p in self.lock.packages}

    def installed(self) -> dict[str, str]:
        result = cloche("pip", "list", "--python", self.root / ".venv", "--format", "json")
        assert result.code == 0, result
        return {d["name"]: d["version"] for d in json.loads(result.out)}

    def files(self) -> tuple[bytes, bytes | None]:
        lock = self.root / "pylock.toml"
        return (self.root / "pyproject.toml").read_bytes(), (
            lock.read_bytes() if lock.exists() else None
        )


@pytest.fixture
def project(tmp_path: Path, index: IndexServer) -> Project:
    result = cloche("init", "--python", sys.executable, "demo", cwd=tmp_path)
    assert result.code == 0, result
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index.url}"\n')
    return Project(root, index)


def test_init_writes_project_files(project: Project) -> None:
    assert 'name = "demo"' in project.pyproject
    assert f'requires-python = ">={sys.version_info[0]}.{sys.version_info[1]}"' in project.pyproject
    version = (project.root / ".python-version").read_text().strip()
    assert version == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert not (project.root / ".venv").exists()  # made on first use
    again = project.run("init")
    assert again.code == 2 and "already exists" in again.err


def test_init_add_lock_sync_run(project: Project) -> None:
    project.ok("add", "alpha==1.0")
    assert '"alpha==1.0"' in project.pyproject
    assert project.locked() == {"alpha": "1.0", "beta": "2.0"}
    assert project.installed() == {"alpha": "1.0", "beta": "2.0"}
    for package in project.lock.packages:  # every locked file carries its hash
        assert all(wheel.hashes.get("sha256") for wheel in package.wheels or ())
    assert project.run("lock", "--check").code == 0
    result = project.ok(
        "run", "python", "-c", "import alpha, sys; print(alpha.__name__, sys.prefix)"
    )
    name, prefix = result.out.split()
    assert name == "alpha" and Path(prefix) == project.root / ".venv"


def test_bare_add_writes_lower_bound(project: Project) -> None:
    project.ok("add", "beta")
    assert '"beta>=2.0"' in project.pyproject
    assert project.run("lock", "--check").code == 0  # the lock matches the rewritten file


def test_add_to_group_and_extra(project: Project) -> None:
    project.ok("add", "--group", "dev", "devtool")
    project.ok("add", "--optional", "viz", "plotlib")
    text = project.pyproject
    assert "[dependency-groups]" in text and '"devtool>=3.0"' in text
    assert "[project.optional-dependencies]" in text and '"plotlib>=0.5"' in text
    assert project.installed() == {"devtool": "3.0"}  # dev is a default group; extras are not
    project.ok("sync", "--extra", "viz")
    assert project.installed() == {"devtool": "3.0", "plotlib": "0.5"}
    project.ok("sync", "--no-default-groups")
    assert project.installed() == {}
    markers = {p.name: str(p.marker) for p in project.lock.packages}
    assert "dependency_groups" in markers["devtool"] and "extras" in markers["plotlib"]


def test_remove(project: Project) -> None:
    project.ok("add", "alpha", "devtool")
    project.ok("remove", "alpha")
    assert "alpha" not in project.pyproject
    assert project.locked() == {"devtool": "3.0"}
    assert project.installed() == {"devtool": "3.0"}
    before = project.files()
    missing = project.run("remove", "nosuch")
    assert missing.code == 2 and "'nosuch' not found" in missing.err
    assert project.files() == before


def test_failed_add_changes_nothing(project: Project) -> None:
    project.ok("add", "alpha==1.0")
    before = project.files()
    unknown = project.run("add", "doesnotexist")
    assert unknown.code == 1 and "doesnotexist" in unknown.err, unknown
    assert "Traceback" not in unknown.err
    assert project.files() == before
    conflict = project.run("add", "beta<2", "gamma==1.0", "alpha==2.0")
    assert conflict.code == 1, conflict
    assert "beta" in conflict.err and "alpha" in conflict.err
    assert project.files() == before
    assert project.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_lock_check_and_locked_and_frozen(project: Project) -> None:
    project.ok("add", "alpha==1.0")
    assert project.ok("lock", "--check").code == 0
    text = project.pyproject.replace('"alpha==1.0"', '"alpha==2.0"')
    (project.root / "pyproject.toml").write_text(text)
    stale = project.run("lock", "--check")
    assert stale.code == 1
    assert "pylock.toml is out of date with pyproject.toml; run 'cloche lock'" in stale.err
    locked = project.run("sync", "--locked")
    assert locked.code == 1 and "out of date" in locked.err
    project.ok("sync", "--frozen")  # the old lock, as it is
    assert project.installed()["alpha"] == "1.0"
    project.ok("sync")  # re-locks, then installs
    assert project.installed() == {"alpha": "2.0", "beta": "2.0"}
    assert project.run("lock", "--check").code == 0


def test_sync_removes_extraneous_packages(project: Project) -> None:
    project.ok("add", "beta")
    extra = cloche(
        "pip",
        "install",
        "devtool",
        "--python",
        project.root / ".venv",
        "--index-url",
        project.index.url,
    )
    assert extra.code == 0, extra
    assert "devtool" in project.installed()
    project.ok("sync")
    assert project.installed() == {"beta": "2.0"}


def test_multi_target_lock_with_windows_only_dependency(project: Project) -> None:
    project.ok("add", "gamma")
    by_name = {p.name: p for p in project.lock.packages}
    assert str(by_name["winonly"].marker) == 'sys_platform == "win32"'
    assert by_name["gamma"].marker is None
    assert len(project.lock.environments or []) == 3
    assert project.installed() == {"beta": "2.0", "gamma": "1.0"}  # this is not Windows
    exported = project.ok("export", "requirements").out
    assert "gamma==1.0\n" in exported
    assert "winonly==1.0 ; sys_platform == 'win32'\n" in exported


def test_tree_why_export(project: Project, tmp_path: Path) -> None:
    project.ok("add", "alpha", "gamma")
    project.ok("add", "--dev", "devtool")
    tree = project.ok("tree").out
    assert tree.splitlines()[:2] == ["alpha v2.0", "└── beta v2.0"]
    assert "devtool v3.0 (group: dev)" in tree
    assert 'winonly v1.0 ; sys_platform == "win32"' in tree
    inverted = project.ok("tree", "--invert").out
    assert "beta v2.0\n├── alpha v2.0\n└── gamma v1.0\n" in inverted
    why = project.ok("why", "beta").out.splitlines()
    assert why == ["alpha -> beta", "gamma -> beta"]
    assert project.ok("why", "devtool").out == "devtool (group: dev)\n"
    absent = project.run("why", "nosuch")
    assert absent.code == 2 and "not in pylock.toml" in absent.err

    out = tmp_path / "requirements.txt"
    project.ok("export", "requirements", "--hashes", "--no-default-groups", "-o", out)
    text = out.read_text()
    assert "alpha==2.0 \\\n    --hash=sha256:" in text
    assert "devtool" not in text
    assert f"--index-url {project.index.url}" in text
    names = [line.split("==")[0] for line in text.splitlines() if "==" in line]
    assert names == ["alpha", "beta", "gamma", "winonly"]
    plain = project.ok("export", "requirements").out
    assert "devtool==3.0\n" in plain and "--hash" not in plain


def test_upgrade(project: Project) -> None:
    project.ok("add", "alpha<2")
    text = project.pyproject.replace('"alpha<2"', '"alpha"')
    (project.root / "pyproject.toml").write_text(text)
    project.ok("lock")
    assert project.locked()["alpha"] == "1.0"  # the locked version is kept while allowed
    result = project.ok("upgrade", "alpha")
    assert "alpha 1.0 -> 2.0" in result.err
    assert project.locked()["alpha"] == "2.0"
    assert project.installed()["alpha"] == "2.0"
    unknown = project.run("upgrade", "nosuch")
    assert unknown.code == 2 and "not in pylock.toml" in unknown.err


def test_import_requirements(tmp_path: Path, index: IndexServer) -> None:
    root = tmp_path / "old-project"
    root.mkdir()
    (root / "requirements.txt").write_text(f"-i {index.url}\nalpha==1.0\ngamma  # plots\n")
    result = cloche("import", "requirements.txt", cwd=root)
    assert result.code == 0, result
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "old-project"' in pyproject
    assert '"alpha==1.0"' in pyproject and '"gamma"' in pyproject
    assert f'index-url = "{index.url}"' in pyproject
    assert cloche("lock", "--check", cwd=root).code == 0
    assert cloche("sync", cwd=root).code == 0


def test_import_local_directories_as_sources(tmp_path: Path, index: IndexServer) -> None:
    from tests.support.dists import make_source_tree, make_wheel

    root = tmp_path / "old-project"
    edited = make_source_tree(root / "libs", "edlib", "0.2")
    built = make_source_tree(root / "libs", "plainlib", "0.3", requires=["beta==1.0"])
    wheel = make_wheel(root / "dist", "wheellib", "0.5")
    (root / "requirements.txt").write_text(
        f"-i {index.url}\n-e ./libs/{edited.name}\n./libs/{built.name}\n./dist/{wheel.name}\n"
    )
    result = cloche("import", "requirements.txt", cwd=root)
    assert result.code == 0, result
    pyproject = (root / "pyproject.toml").read_text()
    assert '"edlib",' in pyproject and '"plainlib",' in pyproject and '"wheellib",' in pyproject
    assert f'edlib = {{path = "libs/{edited.name}", editable = true}}' in pyproject
    assert f'plainlib = {{path = "libs/{built.name}"}}' in pyproject
    assert f'wheellib = {{path = "dist/{wheel.name}"}}' in pyproject
    assert cloche("sync", cwd=root).code == 0
    (edited / "edlib" / "__init__.py").write_text("VALUE = 'live'\n")
    out = cloche("run", "python", "-c", "import edlib; print(edlib.VALUE)", cwd=root)
    assert out.out.strip() == "live", out


def test_import_refuses_an_editable_that_is_not_a_directory(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "requirements.txt").write_text("-e git+https://example.invalid/x.git#egg=x\n")
    result = cloche("import", "requirements.txt", cwd=tmp_path)
    assert result.code == 2, result
    assert result.err.strip() == (
        "error: requirements.txt:1: only local directories can be imported editable; "
        "add x by URL, without -e"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt"]


def test_failed_import_writes_nothing(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "requirements.txt").write_text(f"--index-url {index.url}\nalpha\nnosuchthing\n")
    result = cloche("import", "requirements.txt", cwd=tmp_path)
    assert result.code == 1, result
    assert "nosuchthing" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt"]


def test_noop_sync_and_run_take_the_fast_path(project: Project) -> None:
    project.ok("add", "alpha")
    requests = len(project.index.requests)
    result, imported = cloche_imports("sync", cwd=project.root)
    assert result.code == 0, result
    for heavy in ("httpx", "resolvelib", "rich.progress", "packaging.requirements", "tomlkit"):
        assert heavy not in imported, heavy
    assert "Environment is up to date" in result.err
    result, imported = cloche_imports("run", "python", "-c", "pass", cwd=project.root)
    assert result.code == 0, result
    assert not imported & {"httpx", "resolvelib", "rich.progress", "packaging.requirements"}
    assert len(project.index.requests) == requests  # no network


def test_a_fresh_sync_from_the_store_takes_the_light_path(project: Project) -> None:
    # Re-creating .venv from the lock with every wheel stored is what teammates and CI
    # do most: it links, and imports neither the index client, the installer package's
    # email parser, a locking library nor the GPU layer (the project has no torch).
    project.ok("add", "alpha")
    before = project.installed()
    shutil.rmtree(project.root / ".venv")
    requests = len(project.index.requests)
    result, imported = cloche_imports("sync", cwd=project.root)
    assert result.code == 0, result
    heavy = {
        "httpx",
        "resolvelib",
        "installer",
        "email",
        "filelock",
        "cloche.core.variants.model",
        "cloche.ops.accelerated",
        "cloche.ops.named_locks",
    }
    assert not imported & heavy, imported & heavy
    assert project.installed() == before
    assert len(project.index.requests) == requests  # no network


def test_stamp_notices_changes(project: Project) -> None:
    project.ok("add", "beta==1.0")
    cloche("pip", "uninstall", "--python", project.root / ".venv", "beta")
    assert project.installed() == {}
    project.ok("sync")  # the site-packages change invalidated the stamp
    assert project.installed() == {"beta": "1.0"}
    with (project.root / "pyproject.toml").open("a") as fh:
        fh.write("# a comment\n")
    assert "up to date" in project.ok("sync").err  # slow path, same result


def test_run_passes_exit_code_and_finds_project_from_subdirectory(project: Project) -> None:
    project.ok("add", "beta")
    sub = project.root / "src" / "deep"
    sub.mkdir(parents=True)
    result = project.run("run", "python", "-c", "import beta, sys; sys.exit(7)", cwd=sub)
    assert result.code == 7, result
    assert project.run("sync", cwd=sub).code == 0
    assert project.ok("why", "beta", cwd=sub).out == "beta\n"
    missing = project.run("run", "no-such-command-here")
    assert missing.code == 127 and "command not found" in missing.err


def test_run_with_no_cache_leaves_no_cache_behind(project: Project, tmp_path: Path) -> None:
    project.ok("add", "beta==1.0")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (project.root / ".venv").rename(tmp_path / "old-venv")  # so run must sync first
    result = cloche(
        "--no-cache", "run", "python", "-c", "import beta",
        cwd=project.root, env={"TMPDIR": str(tmp)},
    )  # fmt: skip
    assert result.code == 0, result
    assert list(tmp.glob("cloche-cache-*")) == []  # gone before python replaced cloche


def test_run_syncs_first(project: Project) -> None:
    text = project.pyproject.replace("dependencies = []", 'dependencies = ["beta==1.0"]')
    (project.root / "pyproject.toml").write_text(text)
    result = project.run("run", "python", "-c", "import beta")
    assert result.code == 0, result
    assert (project.root / "pylock.toml").exists()
    assert project.installed() == {"beta": "1.0"}


def test_shell_activates_env(project: Project) -> None:
    project.ok("sync")
    script = project.root / "fake-shell"
    script.write_text('#!/bin/sh\necho "$VIRTUAL_ENV"\nexit 3\n')
    script.chmod(0o755)
    result = cloche("shell", cwd=project.root, env={"SHELL": str(script)})
    assert result.code == 3, result
    assert result.out.strip() == str(project.root / ".venv")


def test_bad_pyproject_is_one_line_error(project: Project) -> None:
    (project.root / "pyproject.toml").write_text("[project\nname = 'x'\n")
    for args in (("sync",), ("lock",), ("add", "beta"), ("run", "python", "-c", "pass")):
        result = project.run(*args)
        assert result.code == 2, (args, result)
        assert result.err.startswith("error: pyproject.toml: invalid TOML"), result
        assert "Traceback" not in result.err


def test_no_project(tmp_path: Path) -> None:
    result = cloche("sync", cwd=tmp_path)
    assert result.code == 2 and "cloche init" in result.err


def test_sync_installs_from_lock_urls_without_index_pages(project: Project, tmp_path: Path) -> None:
    project.ok("add", "alpha==1.0")
    project.ok("run", "python", "-c", "import shutil; shutil.rmtree('.venv')")
    before = len(project.index.requests)
    fresh_cache = {"CLOCHE_CACHE_DIR": str(tmp_path / "empty-cache")}
    result = cloche("sync", "--frozen", cwd=project.root, env=fresh_cache)
    assert result.code == 0, result
    assert project.installed() == {"alpha": "1.0", "beta": "2.0"}
    paths = [r.path for r in project.index.requests[before:]]
    assert paths and all(path.startswith("/files/") for path in paths), paths


def test_broken_lock(project: Project) -> None:
    project.ok("add", "beta")
    (project.root / "pylock.toml").write_text("lock-version = 1.0\n")  # not valid PEP 751
    result = project.run("sync")
    assert result.code == 2 and result.err.startswith("error: pylock.toml"), result
    relock = project.ok("lock")
    assert "ignoring the current pylock.toml" in relock.err
    assert project.locked() == {"beta": "2.0"}


@pytest.mark.network
def test_real_index_lock_covers_every_platform(tmp_path: Path) -> None:
    assert cloche("init", "--python", sys.executable, "ml", cwd=tmp_path).code == 0
    root = tmp_path / "ml"
    result = cloche("add", "numpy", cwd=root)
    assert result.code == 0, result
    with (root / "pylock.toml").open("rb") as fh:
        lock = Pylock.from_dict(tomllib.load(fh))
    (numpy,) = [p for p in lock.packages if p.name == "numpy"]
    names = [w.filename for w in numpy.wheels or ()]
    for platform in ("manylinux", "macosx", "win_amd64"):
        assert any(platform in name for name in names), platform
    run = cloche("run", "python", "-c", "import numpy; print(numpy.__version__)", cwd=root)
    assert run.code == 0 and run.out.strip() == str(numpy.version), run


def test_add_a_local_directory(project: Project, tmp_path: Path) -> None:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(project.root / "libs", "mylib", "0.4", requires=["beta==1.0"])
    relative = tree.relative_to(project.root).as_posix()
    result = project.ok("add", f"./{relative}")
    assert " + mylib==0.4" in result.err  # the version it was built with
    assert project.installed() == {"beta": "1.0", "mylib": "0.4"}
    # By name, with the path relative to the project: any checkout of it works.
    assert '"mylib",' in project.pyproject and "file:" not in project.pyproject
    assert f'mylib = {{path = "{relative}"}}' in project.pyproject
    assert f'directory = {{path = "{relative}"}}' in (project.root / "pylock.toml").read_text()
    moved = tmp_path / "elsewhere" / "demo"
    shutil.copytree(project.root, moved, ignore=shutil.ignore_patterns(".venv"))
    check = cloche("lock", "--check", cwd=moved)
    assert check.code == 0, check
    assert cloche("sync", cwd=moved).code == 0
    # Exported for pip run from the project, as in a Docker build: a relative path.
    exported = cloche("export", "requirements", cwd=moved)
    assert exported.code == 0, exported
    assert f"./{relative}\n" in exported.out and "file:" not in exported.out


def test_add_editable_local_directory_and_remove_it(project: Project) -> None:
    from tests.support.dists import make_source_tree

    tree = make_source_tree(project.root / "libs", "edlib", "0.2")
    relative = tree.relative_to(project.root).as_posix()
    project.ok("add", "-e", f"./{relative}")
    assert f'edlib = {{path = "{relative}", editable = true}}' in project.pyproject
    assert "editable = true" in (project.root / "pylock.toml").read_text()
    assert f"-e ./{relative}\n" in project.ok("export", "requirements").out
    (tree / "edlib" / "__init__.py").write_text("VALUE = 'live'\n")
    out = project.ok("run", "python", "-c", "import edlib; print(edlib.VALUE)")
    assert out.out.strip() == "live"  # the source tree itself is imported
    project.ok("remove", "edlib")
    assert "edlib" not in project.pyproject  # its source entry went with it
    assert "edlib" not in project.installed()


def test_add_editable_refuses_what_is_not_a_directory(project: Project) -> None:
    before = project.files()
    result = project.run("add", "-e", "beta")
    assert result.code == 2
    assert result.err.strip() == (
        "error: --editable takes local project directories; beta is not one"
    )
    assert project.files() == before


def test_buildable_project_is_installed_editable(tmp_path: Path, index: IndexServer) -> None:
    from tests.support.dists import make_source_tree

    root = make_source_tree(tmp_path, "mylib", "0.3", requires=["beta"])
    text = (root / "pyproject.toml").read_text()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    extra = f'\n[tool.cloche]\nindex-url = "{index.url}"\npython = "{python}"\n'
    (root / "pyproject.toml").write_text(text + extra)
    proj = Project(root, index)
    synced = proj.ok("sync")
    assert " + mylib==0.3" in synced.err  # the built version, not a placeholder
    assert proj.installed() == {"beta": "2.0", "mylib": "0.3"}
    (root / "mylib" / "__init__.py").write_text("VALUE = 'edited'\n")
    out = proj.ok("run", "python", "-c", "import mylib; print(mylib.VALUE)")
    assert out.out.strip() == "edited"
    # The project itself is never locked: the lock holds its dependencies only.
    assert "mylib" not in proj.locked()
    assert proj.ok("sync").code == 0  # in sync: nothing to do


def test_sync_refuses_a_locked_wheel_for_another_platform(project: Project, tmp_path: Path) -> None:
    from tests.support.dists import make_wheel

    project.ok("add", "beta==1.0")
    wheel = make_wheel(tmp_path / "w", "oddity", "1.0", tag="cp27-cp27mu-win32")
    text = project.pyproject.replace('"beta==1.0"', f'"beta==1.0", "oddity @ {wheel.as_uri()}"')
    (project.root / "pyproject.toml").write_text(text)
    project.ok("lock")
    result = project.run("sync")
    assert result.code == 1, result
    assert "oddity-1.0-cp27-cp27mu-win32.whl is not a supported wheel" in result.err
    assert "Traceback" not in result.err
    assert project.installed() == {"beta": "1.0"}  # the env as it was


def test_lock_hashes_a_direct_archive_url_that_gives_none(project: Project, tmp_path: Path) -> None:
    import hashlib

    from tests.support.dists import make_wheel

    wheel = make_wheel(tmp_path / "w", "localwheel", "1.0")
    project.index.add_sdist("remotesdist", "2.0")
    remote = project.index.file_url("remotesdist-2.0.tar.gz")
    text = project.pyproject.replace(
        "dependencies = [",
        f'dependencies = ["localwheel @ {wheel.as_uri()}", "remotesdist @ {remote}", ',
    )
    (project.root / "pyproject.toml").write_text(text)
    project.ok("sync")
    assert project.installed() == {"localwheel": "1.0", "remotesdist": "2.0"}
    archives = {p.name: p.archive for p in project.lock.packages}
    local, http = archives["localwheel"], archives["remotesdist"]
    assert local is not None and http is not None
    assert local.hashes == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert http.url == remote and set(http.hashes) == {"sha256"}
    # A command reads an unhashed URL once; a re-lock hashes it the same.
    assert len(project.index.requests_to("/files/remotesdist-2.0.tar.gz")) == 1
    project.ok("add", "beta")
    assert {p.name: p.archive for p in project.lock.packages}["remotesdist"] == http
    assert len(project.index.requests_to("/files/remotesdist-2.0.tar.gz")) == 2


def test_add_a_local_wheel_keeps_its_path_relative(project: Project, tmp_path: Path) -> None:
    import hashlib

    from tests.support.dists import make_wheel

    wheel = make_wheel(project.root / "dist", "localw", "1.0", requires=["beta==1.0"])
    result = project.ok("add", "./dist/localw-1.0-py3-none-any.whl")
    assert " + localw==1.0" in result.err
    assert project.installed() == {"beta": "1.0", "localw": "1.0"}
    assert '"localw",' in project.pyproject and "file:" not in project.pyproject
    assert 'localw = {path = "dist/localw-1.0-py3-none-any.whl"}' in project.pyproject
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock_text = (project.root / "pylock.toml").read_text()
    assert f'path = "dist/localw-1.0-py3-none-any.whl", hashes = {{sha256 = "{sha}"}}' in lock_text
    moved = tmp_path / "elsewhere" / "demo"
    shutil.copytree(project.root, moved, ignore=shutil.ignore_patterns(".venv"))
    assert cloche("lock", "--check", cwd=moved).code == 0
    synced = cloche("sync", "--locked", cwd=moved)
    assert synced.code == 0, synced
    exported = cloche("export", "requirements", cwd=moved)
    assert exported.code == 0, exported
    assert "\n./dist/localw-1.0-py3-none-any.whl\n" in exported.out
    assert "file:" not in exported.out
    # Changed bytes under the same name: the locked hash catches it.
    make_wheel(moved / "dist", "localw", "1.0", files={"localw/extra.py": b"x = 1\n"})
    shutil.rmtree(moved / ".venv")
    changed = cloche("sync", "--frozen", cwd=moved, env={"CLOCHE_CACHE_DIR": str(tmp_path / "c2")})
    assert changed.code != 0 and "sha256" in changed.err, changed


def test_sources_path_must_be_a_directory_wheel_or_sdist(project: Project) -> None:
    (project.root / "notes.txt").write_text("hello")
    (project.root / "dist").mkdir()
    from tests.support.dists import make_wheel

    make_wheel(project.root / "dist", "localw", "1.0")
    cases = {
        'localw = {path = "notes.txt"}': "notes.txt is not a directory, wheel or sdist",
        'localw = {path = "dist/localw-1.0-py3-none-any.whl", editable = true}': (
            "is a file; only a directory is editable"
        ),
    }
    base = project.pyproject.replace("dependencies = []", 'dependencies = ["localw"]')
    for entry, message in cases.items():
        (project.root / "pyproject.toml").write_text(f"{base}\n[tool.cloche.sources]\n{entry}\n")
        result = project.run("lock")
        assert result.code != 0 and message in result.err, result
        assert "Traceback" not in result.err
    refused = project.run("add", "-e", "./dist/localw-1.0-py3-none-any.whl")
    assert refused.code == 2 and "--editable takes local project directories" in refused.err
