"""Git URLs (and paths) written without ``name @``, as pip and uv take them: named from
the checkout's metadata, the name kept by URL and commit. Real git repositories in tmp,
reached by ``git+file://`` URLs; builds by the test distributions' in-tree backend."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cloche.adapters.python.discovery import probe
from cloche.config import load_settings
from cloche.core.models import Metadata
from cloche.ops.prepare.naming import ReferenceNames, source_key
from cloche.ops.requirements import gather
from cloche.ops.services import Services
from tests.support.cli import cloche, installed, pip
from tests.support.dists import make_source_tree
from tests.support.index_server import IndexServer

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _project(where: Path, name: str, version: str, *, dynamic_name: bool = False) -> None:
    """The test distribution ``name`` in ``where``; with ``dynamic_name`` its pyproject.toml
    has no [project] table, so only its build backend can tell the name."""
    tree = make_source_tree(where.parent / f".made-{where.name}-{version}", name, version)
    shutil.copytree(tree, where, dirs_exist_ok=True)
    shutil.rmtree(tree.parent)
    if dynamic_name:
        pyproject = where / "pyproject.toml"
        text = pyproject.read_text()
        pyproject.write_text(text[: text.index("[project]")])


def _repo(tmp_path: Path, name: str = "gitpkg", *, dynamic_name: bool = False) -> Path:
    repo = tmp_path / f"{name}-repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _project(repo, name, "1.0", dynamic_name=dynamic_name)
    _commit(repo, "1.0")
    return repo


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "env"
    assert cloche("venv", path).code == 0
    return path


def _requirements(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_install_from_a_file_with_a_bare_git_line(
    index_server: IndexServer, venv: Path, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    req = _requirements(tmp_path, f"git+{repo.as_uri()}")
    result = pip(index_server, venv, "install", "-r", req)
    assert result.code == 0, result
    assert installed(venv) == {"gitpkg": "1.0"}
    direct = next((venv / "lib").glob("python*/site-packages/gitpkg-1.0.dist-info/direct_url.json"))
    data = json.loads(direct.read_text())
    assert data["url"] == repo.as_uri()
    assert data["vcs_info"]["commit_id"] == _git(repo, "rev-parse", "HEAD")


def test_a_bare_git_line_at_a_tag(index_server: IndexServer, venv: Path, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _git(repo, "tag", "v1")
    _project(repo, "gitpkg", "2.0")
    _commit(repo, "2.0")
    req = _requirements(tmp_path, f"git+{repo.as_uri()}@v1")
    result = pip(index_server, venv, "install", "-r", req)
    assert result.code == 0, result
    assert installed(venv) == {"gitpkg": "1.0"}


def test_a_name_only_the_backend_knows_in_a_subdirectory(
    index_server: IndexServer, venv: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "mono"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("several projects\n")
    _project(repo / "libs" / "dyn", "dynpkg", "0.3", dynamic_name=True)
    _commit(repo, "init")
    url = f"git+{repo.as_uri()}#subdirectory=libs/dyn"
    req = _requirements(tmp_path, url)
    result = pip(index_server, venv, "install", "-r", req)
    assert result.code == 0, result
    assert installed(venv) == {"dynpkg": "0.3"}

    compiled = cloche("pip", "compile", req, "--index-url", index_server.url)
    assert compiled.code == 0, compiled
    assert f"dynpkg @ {url}" in compiled.out


def test_a_bare_local_directory_named_by_its_backend(
    index_server: IndexServer, venv: Path, tmp_path: Path
) -> None:
    _project(tmp_path / "local", "localdyn", "0.2", dynamic_name=True)
    req = _requirements(tmp_path, "./local")
    result = pip(index_server, venv, "install", "-r", req)
    assert result.code == 0, result
    assert installed(venv) == {"localdyn": "0.2"}


def test_compile_a_bare_git_line(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_wheel("beta", "2.0")
    repo = _repo(tmp_path)
    source = tmp_path / "requirements.in"
    source.write_text(f"beta\ngit+{repo.as_uri()}\n")
    out = tmp_path / "requirements.txt"
    result = cloche("pip", "compile", source, "-o", out, "--index-url", index_server.url)
    assert result.code == 0, result
    text = out.read_text()
    assert "beta==2.0" in text
    assert f"gitpkg @ git+{repo.as_uri()}" in text


def test_sync_and_env_create_take_a_bare_git_line(
    index_server: IndexServer, venv: Path, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    req = _requirements(tmp_path, f"git+{repo.as_uri()}")
    result = pip(index_server, venv, "sync", req)
    assert result.code == 0, result
    assert installed(venv) == {"gitpkg": "1.0"}
    envs = {"CLOCHE_ENVS_DIR": str(tmp_path / "envs"), "CLOCHE_INDEX_URL": index_server.url}
    made = cloche("env", "create", "named", "-r", req, env=envs)
    assert made.code == 0, made
    assert installed(tmp_path / "envs" / "named") == {"gitpkg": "1.0"}


def test_a_named_commit_installs_again_without_the_repository(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """The second run names the URL from the cache: it never reads the (gone) checkout."""
    repo = _repo(tmp_path, "dynpkg", dynamic_name=True)
    commit = _git(repo, "rev-parse", "HEAD")
    req = _requirements(tmp_path, f"git+{repo.as_uri()}@{commit}")
    first = tmp_path / "first"
    assert cloche("venv", first).code == 0
    assert pip(index_server, first, "install", "-r", req).code == 0

    repo.rename(tmp_path / "gone")
    second = tmp_path / "second"
    assert cloche("venv", second).code == 0
    result = pip(index_server, second, "install", "-r", req)
    assert result.code == 0, result
    assert installed(second) == {"dynpkg": "1.0"}


class _CountingTrees:
    """A real SourceTrees, counting the checkouts and metadata builds asked of it."""

    def __init__(self, trees: Any) -> None:
        self._trees = trees
        self.checkouts = 0
        self.metadata = 0

    def tree_for_url(self, url: str) -> Path:
        self.checkouts += 1
        return self._trees.tree_for_url(url)

    def url_metadata(self, url: str) -> Metadata:
        self.metadata += 1
        return self._trees.url_metadata(url)

    def vcs_commit(self, url: str) -> str | None:
        return self._trees.vcs_commit(url)


def test_a_moving_ref_is_named_once_per_commit(index_server: IndexServer, tmp_path: Path) -> None:
    repo = _repo(tmp_path, "dynpkg", dynamic_name=True)
    settings = replace(load_settings(), index_url=index_server.url)
    [reference] = gather([f"git+{repo.as_uri()}"]).unnamed

    def name_once() -> tuple[str, _CountingTrees | None]:
        made: list[_CountingTrees] = []
        with Services(settings) as services:

            def trees() -> Any:
                python = probe(Path(sys.executable))
                made.append(_CountingTrees(services.sources(python).trees))
                return made[0]

            name = ReferenceNames(settings.cache_dir, trees).name(reference)
        return name, made[0] if made else None

    name, first = name_once()
    assert name == "dynpkg"
    assert first is not None and (first.checkouts, first.metadata) == (1, 1)
    assert name_once() == ("dynpkg", None)  # from the cache: no checkout, no build

    _project(repo, "dynpkg", "1.1", dynamic_name=True)
    _commit(repo, "1.1")  # the branch moved: its new commit is read once more
    name, moved = name_once()
    assert name == "dynpkg"
    assert moved is not None and (moved.checkouts, moved.metadata) == (1, 1)


def test_the_cache_key_ignores_credentials_revision_and_dot_git() -> None:
    commit = "a" * 40
    assert (
        source_key("git+https://user:pw@Host.example/o/r.git@v1#egg=r", commit)
        == source_key("git+https://host.example/o/r/", commit)
        == f"git+https://host.example/o/r#subdirectory=@{commit}"
    )
    assert source_key("git+https://h/o/r#subdirectory=a", commit) != source_key(
        "git+https://h/o/r#subdirectory=b", commit
    )


def test_a_url_that_does_not_clone(index_server: IndexServer, venv: Path, tmp_path: Path) -> None:
    missing = (tmp_path / "no-such-repo").as_uri()
    req = _requirements(tmp_path, "beta", f"git+{missing}")
    result = pip(index_server, venv, "install", "-r", req)
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert lines[0].startswith(f"error: {req}:2: cannot resolve {missing}"), result.err
    assert "Traceback" not in result.err
    assert installed(venv) == {}


def test_a_checkout_without_a_project(
    index_server: IndexServer, venv: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "notes"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("no Python here\n")
    _commit(repo, "init")
    req = _requirements(tmp_path, f"git+{repo.as_uri()}")
    out = tmp_path / "compiled.txt"
    result = cloche("pip", "compile", req, "-o", out, "--index-url", index_server.url)
    assert result.code == 1, result
    assert result.err.startswith(
        f"error: {req}:1: cannot tell the project name of git+{repo.as_uri()}: "
        "there is no Python project in it"
    ), result.err
    assert "Traceback" not in result.err
    assert not out.exists()
    assert pip(index_server, venv, "install", "-r", req).code == 1
    assert installed(venv) == {}


def test_add_writes_the_name_it_found(index_server: IndexServer, tmp_path: Path) -> None:
    repo = _repo(tmp_path, "dynpkg", dynamic_name=True)
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    url = f"git+{repo.as_uri()}@{_git(repo, 'rev-parse', 'HEAD')}"  # a lock needs a commit
    result = cloche("add", url, cwd=root)
    assert result.code == 0, result
    assert f'"dynpkg @ {url}"' in (root / "pyproject.toml").read_text()
    assert installed(root / ".venv") == {"dynpkg": "1.0"}
