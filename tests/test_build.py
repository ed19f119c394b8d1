"""Source builds: sdist PKG-INFO, safe unpacking, git sources and PEP 517/660 builds."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.adapters.build.backend import SourceBuilder
from cloche.adapters.build.sdist import read_sdist_metadata, unpack_sdist
from cloche.adapters.build.system import LEGACY_BUILD_SYSTEM, read_build_system
from cloche.adapters.build.vcs import clone_vcs, head_commit, parse_vcs_url, resolve_vcs_commit
from cloche.errors import BuildError, ClocheError
from tests.support.dists import make_sdist, make_source_tree

# -- a real isolated environment: a pip-less venv ----------------------------------------


@dataclass
class VenvEnv:
    root: Path
    allowed: frozenset[str]
    installed: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def scripts_dir(self) -> Path:
        return self.root / "bin"

    def install(self, requirements: Sequence[str]) -> None:
        for requirement in requirements:
            if Requirement(requirement).name not in self.allowed:
                raise BuildError(f"no package named {Requirement(requirement).name}")
        self.installed.extend(requirements)


@dataclass
class VenvFactory:
    base: Path
    allowed: frozenset[str] = frozenset()
    envs: list[VenvEnv] = field(default_factory=list)
    closed: int = 0

    @contextmanager
    def create(self) -> Iterator[VenvEnv]:
        root = self.base / f"env-{len(self.envs)}"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        env = VenvEnv(root, self.allowed)
        self.envs.append(env)
        try:
            yield env
        finally:
            shutil.rmtree(root)
            self.closed += 1


@pytest.fixture
def factory(tmp_path: Path) -> VenvFactory:
    return VenvFactory(tmp_path / "envs")


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


# -- read_sdist_metadata -----------------------------------------------------------------


def test_static_pkg_info_is_read_without_a_build(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path,
        "Foo.Bar",
        "1.0",
        requires=["idna>=3"],
        requires_python=">=3.8",
        extras={"fast": ["ujson"]},
    )
    metadata = read_sdist_metadata(sdist)
    assert metadata is not None
    assert metadata.name == "foo-bar"
    assert metadata.version == Version("1.0")
    assert [str(r) for r in metadata.requires_dist] == ["idna>=3", 'ujson; extra == "fast"']
    assert metadata.requires_python == SpecifierSet(">=3.8")
    assert metadata.provides_extras == {"fast"}


@pytest.mark.parametrize(
    ("metadata_version", "dynamic"),
    [("2.1", ()), ("2.2", ("Requires-Dist",)), ("2.4", ("Requires-Python",))],
)
def test_old_or_dynamic_pkg_info_needs_a_build(
    tmp_path: Path, metadata_version: str, dynamic: tuple[str, ...]
) -> None:
    sdist = make_sdist(tmp_path, "foo", "1.0", metadata_version=metadata_version, dynamic=dynamic)
    assert read_sdist_metadata(sdist) is None


def test_dynamic_summary_does_not_need_a_build(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "foo", "1.0", dynamic=("Summary",))
    assert read_sdist_metadata(sdist) is not None


def _tar(path: Path, members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


PKG_INFO = b"Metadata-Version: 2.2\nName: zipped\nVersion: 2.0\nRequires-Dist: idna\n\n"


def test_pkg_info_only_at_top_level_and_from_zip(tmp_path: Path) -> None:
    nested = _tar(tmp_path / "a-1.0.tar.gz", [_file("a-1.0/a.egg-info/PKG-INFO", PKG_INFO)])
    assert read_sdist_metadata(nested) is None
    archive = tmp_path / "zipped-2.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-2.0/setup.py", "")
        zf.writestr("zipped-2.0/PKG-INFO", PKG_INFO)
    metadata = read_sdist_metadata(archive)
    assert metadata is not None
    assert (metadata.name, str(metadata.version)) == ("zipped", "2.0")


def test_corrupt_sdist_is_a_build_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(BuildError, match=r"cannot read sdist .*bad-1\.0\.tar\.gz"):
        read_sdist_metadata(bad)
    with pytest.raises(BuildError, match="cannot unpack sdist"):
        unpack_sdist(bad, tmp_path / "out")


# -- unpack_sdist --------------------------------------------------------------------------


def test_unpack_sdist_returns_the_project_dir(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "foo", "1.0")
    project = unpack_sdist(sdist, tmp_path / "out")
    assert project == (tmp_path / "out" / "foo-1.0").resolve()
    assert (project / "pyproject.toml").is_file()
    assert (project / "foo" / "__init__.py").is_file()


def _device() -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo("p-1.0/null")
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info, None


UNSAFE: dict[str, list[tuple[tarfile.TarInfo, bytes | None]]] = {
    "dotdot": [_file("p-1.0/ok"), _file("p-1.0/../../escaped")],
    "absolute": [_file("/tmp/escaped-abs")],
    "symlink-abs": [_link("p-1.0/etc", "/etc")],
    "symlink-up": [_link("p-1.0/up", "../../escaped")],
    "hardlink-out": [_link("p-1.0/hl", "../escaped", tarfile.LNKTYPE)],
    "under-link": [_link("p-1.0/d", "sub"), _file("p-1.0/sub/x"), _file("p-1.0/d/y")],
    "device": [_device()],
}


@pytest.mark.parametrize("stdlib_filter", [True, False], ids=["data-filter", "own-checks"])
@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_tar_members_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, stdlib_filter: bool
) -> None:
    if not stdlib_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    sdist = _tar(tmp_path / "p-1.0.tar.gz", UNSAFE[case])
    dest = tmp_path / "a" / "b" / "out"
    with pytest.raises(BuildError, match=r"refusing to unpack p-1\.0\.tar\.gz: member"):
        unpack_sdist(sdist, dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "a" / "escaped").exists()
    assert not (tmp_path / "a" / "b" / "escaped").exists()


@pytest.mark.parametrize("name", ["p-1.0/../../escaped", "/abs/escaped", "C:/escaped"])
def test_unsafe_zip_members_are_refused(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "p-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("p-1.0/PKG-INFO", PKG_INFO)
        zf.writestr(name, "x")
    dest = tmp_path / "out"
    with pytest.raises(BuildError, match=r"refusing to unpack p-1\.0\.zip"):
        unpack_sdist(archive, dest)
    assert list(dest.iterdir()) == []


def test_unpack_zip_and_inner_links(tmp_path: Path) -> None:
    archive = tmp_path / "z-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("z-1.0/PKG-INFO", PKG_INFO)
        info = zipfile.ZipInfo("z-1.0/run.sh")
        info.external_attr = 0o755 << 16
        zf.writestr(info, "#!/bin/sh\n")
    project = unpack_sdist(archive, tmp_path / "zip-out")
    assert (project / "run.sh").stat().st_mode & 0o100
    inner = _tar(
        tmp_path / "l-1.0.tar.gz", [_file("l-1.0/a.txt", b"hi"), _link("l-1.0/b", "a.txt")]
    )
    project = unpack_sdist(inner, tmp_path / "tar-out")
    assert (project / "b").read_text() == "hi"


def test_sdist_needs_one_top_level_directory(tmp_path: Path) -> None:
    sdist = _tar(tmp_path / "two-1.0.tar.gz", [_file("a/x"), _file("b/y")])
    with pytest.raises(BuildError, match="exactly one top-level directory, found 2"):
        unpack_sdist(sdist, tmp_path / "out")


# -- [build-system] ------------------------------------------------------------------------


def test_missing_pyproject_or_table_uses_the_setuptools_fallback(tmp_path: Path) -> None:
    assert read_build_system(tmp_path) == LEGACY_BUILD_SYSTEM
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert read_build_system(tmp_path) == LEGACY_BUILD_SYSTEM
    assert LEGACY_BUILD_SYSTEM.requires == ("setuptools>=40.8.0",)
    assert LEGACY_BUILD_SYSTEM.backend == "setuptools.build_meta:__legacy__"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[build-system\n", "invalid TOML in .*pyproject.toml"),
        (
            '[build-system]\nrequires = "setuptools"\n',
            "requires in .*pyproject.toml must be a list",
        ),
        ("[build-system]\nbuild-backend = 'x'\n", "has no 'requires' key"),
        ("[build-system]\nrequires = ['not a req!!']\n", "invalid requirement 'not a req!!'"),
        ("[build-system]\nrequires = []\nbuild-backend = 3\n", "build-backend in .* must be"),
        (
            "[build-system]\nrequires = []\nbackend-path = ['../out']\n",
            "not a relative path inside",
        ),
        ("build-system = 1\n", r"\[build-system\] in .*pyproject.toml must be a table"),
    ],
)
def test_bad_build_system_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(BuildError, match=message):
        read_build_system(tmp_path)


def test_bad_pyproject_fails_the_build_cleanly(tmp_path: Path, factory: VenvFactory) -> None:
    project = make_source_tree(tmp_path, "foo", "1.0")
    (project / "pyproject.toml").write_text("[build-system]\nrequires = 5\n")
    with SourceBuilder(factory) as builder, pytest.raises(BuildError, match=r"pyproject\.toml"):
        builder.build_wheel(project, tmp_path / "out")
    assert factory.envs == []


# -- SourceBuilder -------------------------------------------------------------------------


def test_sdist_to_wheel(tmp_path: Path, factory: VenvFactory) -> None:
    sdist = make_sdist(tmp_path, "foo", "1.0", requires=["idna"])
    project = unpack_sdist(sdist, tmp_path / "src")
    with SourceBuilder(factory) as builder:
        wheel = builder.build_wheel(project, tmp_path / "out", source=sdist.name)
    assert wheel == tmp_path / "out" / "foo-1.0-py3-none-any.whl"
    assert "foo/__init__.py" in _wheel_names(wheel)
    assert (len(factory.envs), factory.closed) == (1, 1)


def test_metadata_then_wheel_share_one_environment(tmp_path: Path, factory: VenvFactory) -> None:
    project = make_source_tree(
        tmp_path, "bar", "2.0", requires=["idna>=3"], dynamic=("Requires-Dist",)
    )
    builder = SourceBuilder(factory)
    metadata = builder.metadata(project, tmp_path / "work")
    assert (metadata.name, metadata.version) == ("bar", Version("2.0"))
    assert [str(r) for r in metadata.requires_dist] == ["idna>=3"]
    assert factory.closed == 0
    wheel = builder.build_wheel(project, tmp_path / "out")
    assert wheel.name == "bar-2.0-py3-none-any.whl"
    assert (len(factory.envs), factory.closed) == (1, 1)
    builder.close()


def test_close_removes_unused_environments(tmp_path: Path, factory: VenvFactory) -> None:
    project = make_source_tree(tmp_path, "bar", "2.0")
    with SourceBuilder(factory) as builder:
        builder.metadata(project, tmp_path / "work")
        assert builder.metadata(project, tmp_path / "work").name == "bar"
        assert factory.closed == 0
    assert (len(factory.envs), factory.closed) == (1, 1)


def test_editable_wheel(tmp_path: Path, factory: VenvFactory) -> None:
    project = make_source_tree(tmp_path, "edit-me", "0.1")
    with SourceBuilder(factory) as builder:
        metadata = builder.metadata(project, tmp_path / "work", editable=True)
        wheel = builder.build_wheel(project, tmp_path / "out", editable=True)
    assert metadata.name == "edit-me"
    names = _wheel_names(wheel)
    assert "_cloche_editable_edit_me.pth" in names
    assert "edit_me/__init__.py" not in names


def test_build_requirements_are_installed_into_the_environment(tmp_path: Path) -> None:
    factory = VenvFactory(tmp_path / "envs", allowed=frozenset({"flit-core"}))
    project = make_source_tree(tmp_path, "foo", "1.0", build_requires=["flit-core>=3"])
    with SourceBuilder(factory) as builder:
        builder.build_wheel(project, tmp_path / "out")
    assert factory.envs[0].installed == ["flit-core>=3"]


def test_failed_requirement_install_propagates_and_cleans_up(
    tmp_path: Path, factory: VenvFactory
) -> None:
    project = make_source_tree(tmp_path, "foo", "1.0", build_requires=["nowhere-to-be-found"])
    with SourceBuilder(factory) as builder, pytest.raises(ClocheError, match="nowhere-to-be"):
        builder.metadata(project, tmp_path / "work")
    assert factory.closed == 1


def test_failed_build_shows_the_backends_last_lines(
    tmp_path: Path, factory: VenvFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    sdist = make_sdist(tmp_path, "fails", "1.0", fail_build=True)
    project = unpack_sdist(sdist, tmp_path / "src")
    with SourceBuilder(factory) as builder, pytest.raises(BuildError) as caught:
        builder.build_wheel(project, tmp_path / "out", source=str(sdist))
    message = str(caught.value)
    first, *rest = message.splitlines()
    assert first.startswith(f"failed to build fails 1.0 from {sdist}: build_wheel")
    assert first.endswith("exited with 1")
    assert 3 <= len(rest) <= 20
    assert any("cloche-test-build-failure" in line for line in rest)
    assert "RuntimeError: cloche test build failed on purpose" in message
    assert "_in_process" not in message
    out, err = capfd.readouterr()
    assert "cloche-test-build-failure" not in out + err
    assert factory.closed == 1


def test_unimportable_backend(tmp_path: Path, factory: VenvFactory) -> None:
    project = tmp_path / "nob"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[build-system]\nrequires = []\nbuild-backend = 'no_such_backend_module'\n"
    )
    with SourceBuilder(factory) as builder, pytest.raises(BuildError) as caught:
        builder.metadata(project, tmp_path / "work")
    assert "cannot import the build backend 'no_such_backend_module'" in str(caught.value)
    assert "no_such_backend_module" in str(caught.value).splitlines()[-1]


MINIMAL_BACKEND = """\
import os, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "mini-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        zf.writestr("mini/path.txt", os.environ["PATH"])
        zf.writestr("mini-1.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\\nName: mini\\nVersion: 1.0\\nRequires-Dist: idna\\n\\n")
        zf.writestr("mini-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\n")
        zf.writestr("mini-1.0.dist-info/RECORD", "")
    return name
"""


@pytest.fixture
def minimal_project(tmp_path: Path) -> Path:
    """A backend with only build_wheel: no prepare_metadata, no build_editable."""
    project = tmp_path / "mini"
    (project / "backend").mkdir(parents=True)
    (project / "backend" / "mini_backend.py").write_text(MINIMAL_BACKEND)
    (project / "pyproject.toml").write_text(
        "[build-system]\nrequires = []\nbuild-backend = 'mini_backend'\n"
        "backend-path = ['backend']\n"
    )
    return project


def test_metadata_without_prepare_hook_builds_the_wheel(
    tmp_path: Path, factory: VenvFactory, minimal_project: Path
) -> None:
    with SourceBuilder(factory) as builder:
        metadata = builder.metadata(minimal_project, tmp_path / "work")
        assert (metadata.name, [str(r) for r in metadata.requires_dist]) == ("mini", ["idna"])
        wheel = builder.build_wheel(minimal_project, tmp_path / "out")
    with zipfile.ZipFile(wheel) as zf:
        path = zf.read("mini/path.txt").decode()
    assert path.split(":")[0] == str(factory.envs[0].scripts_dir)


def test_backend_without_build_editable(
    tmp_path: Path, factory: VenvFactory, minimal_project: Path
) -> None:
    with SourceBuilder(factory) as builder, pytest.raises(BuildError) as caught:
        builder.build_wheel(minimal_project, tmp_path / "out", editable=True)
    assert str(caught.value).startswith("mini's build backend does not support editable installs")


def test_no_build_isolation_uses_the_given_python(tmp_path: Path) -> None:
    project = make_source_tree(tmp_path, "foo", "1.0", build_requires=["not-installed-anywhere"])
    with SourceBuilder(None, isolated=False, python=Path(sys.executable)) as builder:
        assert builder.metadata(project, tmp_path / "work").name == "foo"
        wheel = builder.build_wheel(project, tmp_path / "out")
    assert wheel.is_file()


# -- git sources ---------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(
        command, cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass(frozen=True)
class Repo:
    url: str
    first: str
    second: str
    feature: str


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """main: first (tag v1, annotated; tag light, lightweight) -> second; feature branch."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "--quiet", "-b", "main")
    make_source_tree(root, "sub-pkg", "3.0")
    (root / "version.txt").write_text("one")
    _git(root, "add", "-A")
    _git(root, "commit", "--quiet", "-m", "one")
    first = _git(root, "rev-parse", "HEAD")
    _git(root, "tag", "-a", "v1", "-m", "version 1")
    _git(root, "tag", "light")
    (root / "version.txt").write_text("two")
    _git(root, "commit", "--quiet", "-am", "two")
    second = _git(root, "rev-parse", "HEAD")
    _git(root, "checkout", "--quiet", "-b", "feature", first)
    (root / "version.txt").write_text("three")
    _git(root, "commit", "--quiet", "-am", "three")
    feature = _git(root, "rev-parse", "HEAD")
    _git(root, "checkout", "--quiet", "main")
    return Repo(f"git+{root.as_uri()}", first, second, feature)


@pytest.mark.parametrize(
    ("rev", "expected", "commit"),
    [
        ("", "two", "second"),
        ("@main", "two", "second"),
        ("@feature", "three", "feature"),
        ("@v1", "one", "first"),
        ("@light", "one", "first"),
        ("@{first}", "one", "first"),
        ("@{first_short}", "one", "first"),
    ],
)
def test_clone_at_a_revision(
    tmp_path: Path, repo: Repo, rev: str, expected: str, commit: str
) -> None:
    rev = rev.format(first=repo.first, first_short=repo.first[:10])
    url = repo.url + rev
    checkout = clone_vcs(url, tmp_path / "clone")
    assert checkout == tmp_path / "clone"
    assert (checkout / "version.txt").read_text() == expected
    want = getattr(repo, commit)
    assert head_commit(checkout) == want
    assert resolve_vcs_commit(url) == want


def test_clone_a_subdirectory_and_build_it(
    tmp_path: Path, repo: Repo, factory: VenvFactory
) -> None:
    url = f"{repo.url}@v1#subdirectory=sub_pkg-3.0&egg=sub-pkg"
    assert parse_vcs_url(url).egg == "sub-pkg"
    project = clone_vcs(url, tmp_path / "clone")
    assert project == tmp_path / "clone" / "sub_pkg-3.0"
    with SourceBuilder(factory) as builder:
        wheel = builder.build_wheel(project, tmp_path / "out", source=url)
    assert wheel.name == "sub_pkg-3.0-py3-none-any.whl"


def test_missing_subdirectory(tmp_path: Path, repo: Repo) -> None:
    with pytest.raises(BuildError, match="subdirectory 'nope' does not exist"):
        clone_vcs(repo.url + "#subdirectory=nope", tmp_path / "clone")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/r.git", "is not a git URL"),
        ("hg+https://example.com/r", "only git URLs"),
        ("git+ftp://example.com/r.git", "unsupported git URL"),
        ("git+https://example.com/r.git@", "empty revision"),
        ("git+https://example.com/r.git#subdirectory=../up", "must be a relative path"),
    ],
)
def test_bad_git_urls(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        clone_vcs(url, tmp_path / "clone")


def test_git_failures_carry_gits_stderr(tmp_path: Path, repo: Repo) -> None:
    missing = (tmp_path / "missing").as_uri()
    with pytest.raises(BuildError, match=f"cannot clone {re.escape(missing)}: .*repository"):
        clone_vcs(f"git+{missing}", tmp_path / "a")
    with pytest.raises(BuildError, match=r"cannot clone .* at no-such-branch: .*no-such-branch"):
        clone_vcs(repo.url + "@no-such-branch", tmp_path / "b")
    with pytest.raises(BuildError, match="no branch, tag or commit named no-such-branch"):
        resolve_vcs_commit(repo.url + "@no-such-branch")


def test_credentials_never_appear_in_errors(tmp_path: Path) -> None:
    url = "git+https://someone:s3cr3t-token@127.0.0.1:1/o/r.git@main"
    assert parse_vcs_url(url).display == "https://****@127.0.0.1:1/o/r.git"
    with pytest.raises(BuildError) as caught:
        clone_vcs(url, tmp_path / "clone")
    assert "s3cr3t" not in str(caught.value)
    assert "someone" not in str(caught.value)
    assert "https://****@127.0.0.1:1/o/r.git" in str(caught.value)
    with pytest.raises(BuildError) as caught:
        resolve_vcs_commit(url)
    assert "s3cr3t" not in str(caught.value)
