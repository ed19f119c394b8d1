"""core.lock: resolutions -> pylock.toml, merge across targets, freshness, selection."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.pylock import Package, Pylock
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from cloche.adapters.atomic_file import atomic_write_text
from cloche.core.lock.inputs import inputs_hash, is_fresh, lock_inputs_hash
from cloche.core.lock.model import build_lock
from cloche.core.lock.select import LockedInstall, select
from cloche.core.lock.toml_reader import load_lock, parse_lock
from cloche.core.lock.toml_writer import dump_lock
from cloche.core.models import DistFile, Resolution, ResolvedPackage, Target, normalize
from cloche.core.project.load import load_project
from cloche.core.project.spec import ProjectSpec
from cloche.errors import ClocheError, ProjectError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

INDEX = "https://pypi.example/simple/"

LINUX = Target(
    python_version=Version("3.11.7"),
    marker_env=(
        ("sys_platform", "linux"),
        ("platform_machine", "x86_64"),
        ("python_version", "3.11"),
        ("python_full_version", "3.11.7"),
        ("implementation_name", "cpython"),
        ("os_name", "posix"),
        ("platform_system", "Linux"),
    ),
    tags=(Tag("cp311", "cp311", "manylinux_2_17_x86_64"), Tag("py3", "none", "any")),
    platform="linux",
)
MACOS = Target(
    python_version=Version("3.11.7"),
    marker_env=(
        ("sys_platform", "darwin"),
        ("platform_machine", "arm64"),
        ("python_version", "3.11"),
        ("python_full_version", "3.11.7"),
        ("implementation_name", "cpython"),
        ("os_name", "posix"),
        ("platform_system", "Darwin"),
    ),
    tags=(Tag("cp311", "cp311", "macosx_11_0_arm64"), Tag("py3", "none", "any")),
    platform="macos",
)
WINDOWS = Target(
    python_version=Version("3.11.7"),
    marker_env=(
        ("sys_platform", "win32"),
        ("platform_machine", "AMD64"),
        ("python_version", "3.11"),
        ("python_full_version", "3.11.7"),
        ("implementation_name", "cpython"),
        ("os_name", "nt"),
        ("platform_system", "Windows"),
    ),
    tags=(Tag("cp311", "cp311", "win_amd64"), Tag("py3", "none", "any")),
    platform="windows",
)
PLATFORM_TAGS = {"linux": "manylinux_2_17_x86_64", "macos": "macosx_11_0_arm64"}
PLATFORM_TAGS["windows"] = "win_amd64"


def dist(filename: str, *, index: str = INDEX, hashed: bool = True) -> DistFile:
    name = normalize(filename.split("-")[0])
    version = Version(filename.split("-")[1].removesuffix(".tar.gz"))
    digest = hashlib.sha256(filename.encode()).hexdigest()
    return DistFile(
        name=name,
        version=version,
        filename=filename,
        url=f"https://files.example/packages/{filename}",
        index=index,
        hashes=(("sha256", digest),) if hashed else (),
        size=1000 + len(filename),
        upload_time="2024-05-01T12:00:00.123456Z",
    )


def binary(name: str, version: str) -> tuple[DistFile, ...]:
    """Wheels for every platform plus an sdist."""
    wheels = tuple(
        dist(f"{name}-{version}-cp311-cp311-{tag}.whl") for tag in PLATFORM_TAGS.values()
    )
    return (*wheels, dist(f"{name}-{version}.tar.gz"))


def pure(name: str, version: str) -> tuple[DistFile, ...]:
    return (dist(f"{name}-{version}-py3-none-any.whl"), dist(f"{name}-{version}.tar.gz"))


def pkg(
    files: tuple[DistFile, ...], target: Target, *deps: str, chosen: DistFile | None = None
) -> ResolvedPackage:
    if chosen is None:
        platform_tag = PLATFORM_TAGS[target.platform]
        wheels = [f for f in files if f.is_wheel]
        chosen = next((f for f in wheels if platform_tag in f.filename), wheels[0])
    return ResolvedPackage(
        name=files[0].name,
        version=files[0].version,
        files=files,
        chosen=chosen,
        dependencies=tuple(normalize(d) for d in deps),
        requires_python=SpecifierSet(">=3.9"),
    )


def resolve(target: Target) -> Resolution:
    """What a resolver would return for PROJECT with all groups and extras on ``target``."""
    torch = "2.2.2" if target.platform == "macos" else "2.5.1"
    packages = [
        pkg(binary("numpy", "2.1.0"), target),
        pkg(binary("torch", torch), target, "numpy", "packaging"),
        pkg(pure("packaging", "24.1"), target),
        pkg(pure("pytest", "8.3.0"), target, "iniconfig", "packaging"),
        pkg(pure("iniconfig", "2.0.0"), target),
        pkg(pure("matplotlib", "3.9.0"), target, "numpy"),
    ]
    if target.platform == "windows":
        packages.append(pkg((dist("pywin32-306-cp311-cp311-win_amd64.whl"),), target))
    return Resolution(target, tuple(sorted(packages, key=lambda p: p.name)))


PROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = [
    "numpy>=2",
    "torch",
    "pywin32; sys_platform == 'win32'",
]

[project.optional-dependencies]
viz = ["matplotlib"]

[dependency-groups]
dev = ["pytest"]
"""


@pytest.fixture
def spec(tmp_path: Path) -> ProjectSpec:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    return load_project(tmp_path)


@pytest.fixture
def lock_text(spec: ProjectSpec) -> str:
    lock = build_lock(spec, [resolve(LINUX), resolve(MACOS), resolve(WINDOWS)], [INDEX])
    return dump_lock(lock)


def entries(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    data = tomllib.loads(text)
    return {(p["name"], p.get("version", "")): p for p in data["packages"]}


def test_written_lock_is_valid_pep751(lock_text: str) -> None:
    data = tomllib.loads(lock_text)
    lock = Pylock.from_dict(data)
    assert data["lock-version"] == "1.0"
    assert data["created-by"] == "cloche"
    assert data["requires-python"] == ">=3.10"
    assert data["extras"] == ["viz"]
    assert data["dependency-groups"] == ["dev"]
    assert data["default-groups"] == ["dev"]
    assert data["tool"]["cloche"]["targets"] == ["linux", "macos", "windows"]
    assert sorted(data["environments"]) == [
        'sys_platform == "darwin"',
        'sys_platform == "linux"',
        'sys_platform == "win32"',
    ]
    assert [p.name for p in lock.packages] == sorted(p.name for p in lock.packages)


def test_merge_three_targets_markers(lock_text: str) -> None:
    found = entries(lock_text)
    assert "marker" not in found["numpy", "2.1.0"]
    assert "marker" not in found["packaging", "24.1"]
    assert found["pywin32", "306"]["marker"] == 'sys_platform == "win32"'
    assert found["torch", "2.2.2"]["marker"] == 'sys_platform == "darwin"'
    assert found["torch", "2.5.1"]["marker"] == (
        'sys_platform == "linux" or sys_platform == "win32"'
    )
    assert found["pytest", "8.3.0"]["marker"] == '"dev" in dependency_groups'
    assert found["iniconfig", "2.0.0"]["marker"] == '"dev" in dependency_groups'
    assert found["matplotlib", "3.9.0"]["marker"] == '"viz" in extras'


def test_entries_list_every_file_index_and_dependencies(lock_text: str) -> None:
    numpy = entries(lock_text)["numpy", "2.1.0"]
    assert numpy["index"] == "https://pypi.example/simple/numpy/"
    assert numpy["requires-python"] == ">=3.9"
    wheels = numpy["wheels"]
    assert isinstance(wheels, list) and len(wheels) == 3
    first = wheels[0]
    assert first["url"].startswith("https://files.example/packages/numpy-2.1.0-")
    assert set(first["hashes"]) == {"sha256"}
    assert first["size"] > 1000
    assert first["upload-time"].year == 2024
    assert numpy["sdist"]["url"].endswith("numpy-2.1.0.tar.gz")
    torch = entries(lock_text)["torch", "2.5.1"]
    # numpy has one entry in the lock (name only); torch's dep list is name-only too.
    assert torch["dependencies"] == [{"name": "numpy"}, {"name": "packaging"}]


def test_dependencies_name_version_when_ambiguous(spec: ProjectSpec) -> None:
    def with_app(target: Target) -> Resolution:
        base = resolve(target)
        app = pkg(pure("app", "1.0"), target, "torch")
        return Resolution(target, (*base.packages, app))

    lock = build_lock(spec, [with_app(LINUX), with_app(MACOS)], [INDEX])
    app = next(p for p in lock.packages if p.name == "app")
    assert list(app.dependencies or ()) == [
        {"name": "torch", "version": "2.2.2"},
        {"name": "torch", "version": "2.5.1"},
    ]


def test_round_trip_and_deterministic(spec: ProjectSpec, lock_text: str, tmp_path: Path) -> None:
    again = build_lock(spec, [resolve(WINDOWS), resolve(LINUX), resolve(MACOS)], [INDEX])
    reordered = dump_lock(again)
    # Target order only changes the recorded target list, never the packages.
    assert tomllib.loads(reordered)["packages"] == tomllib.loads(lock_text)["packages"]
    path = tmp_path / "pylock.toml"
    path.write_text(lock_text)
    loaded = load_lock(path)
    assert dump_lock(loaded) == lock_text
    atomic_write_text(path, dump_lock(loaded))
    assert path.read_text() == lock_text


def test_wheels_written_inline_one_per_line(lock_text: str) -> None:
    assert "[[packages]]" in lock_text
    assert "wheels = [\n    {" in lock_text
    assert "[tool.cloche]" in lock_text


def test_select_linux_default(lock_text: str) -> None:
    lock = parse_lock(lock_text)
    chosen = select(lock, LINUX.markers, LINUX.tags, groups=())
    assert [(i.name, str(i.version)) for i in chosen] == [
        ("numpy", "2.1.0"),
        ("packaging", "24.1"),
        ("torch", "2.5.1"),
    ]
    numpy = chosen[0]
    assert numpy.kind == "wheel"
    assert numpy.filename == "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert numpy.hashes[0][0] == "sha256"
    dist_file = numpy.dist_file(Path("/proj"))
    assert dist_file is not None
    assert dist_file.index == INDEX
    assert dist_file.url.endswith(numpy.filename)


def test_select_default_groups_and_extras(lock_text: str) -> None:
    lock = parse_lock(lock_text)
    names = {i.name for i in select(lock, WINDOWS.markers, WINDOWS.tags)}
    assert names == {"numpy", "packaging", "torch", "pywin32", "pytest", "iniconfig"}
    with_viz = select(lock, MACOS.markers, MACOS.tags, groups=(), extras=["viz"])
    assert {(i.name, str(i.version)) for i in with_viz} == {
        ("numpy", "2.1.0"),
        ("packaging", "24.1"),
        ("torch", "2.2.2"),
        ("matplotlib", "3.9.0"),
    }


def test_select_unknown_group_or_extra(lock_text: str) -> None:
    lock = parse_lock(lock_text)
    with pytest.raises(UsageError, match="dependency group 'docs'"):
        select(lock, LINUX.markers, LINUX.tags, groups=["docs"])
    with pytest.raises(UsageError, match="extra 'gpu'"):
        select(lock, LINUX.markers, LINUX.tags, extras=["gpu"])


def test_select_falls_back_to_sdist_then_errors(spec: ProjectSpec, lock_text: str) -> None:
    lock = parse_lock(lock_text)
    musl = [Tag("cp311", "cp311", "musllinux_1_2_x86_64")]
    chosen: dict[str, LockedInstall] = {
        i.name: i for i in select(lock, LINUX.markers, musl, groups=())
    }
    assert chosen["numpy"].kind == "sdist"
    assert chosen["numpy"].filename == "numpy-2.1.0.tar.gz"
    assert chosen["packaging"].kind == "sdist"  # py3-none-any is not in that tag list

    only_wheels = Resolution(
        WINDOWS, (pkg((dist("pywin32-306-cp311-cp311-win_amd64.whl"),), WINDOWS),)
    )
    lock = build_lock(spec, [only_wheels], [INDEX])
    arm = [Tag("cp311", "cp311", "win_arm64")]
    with pytest.raises(ClocheError, match=r"win32 AMD64.*pywin32"):
        select(lock, WINDOWS.markers, arm, groups=())


def test_select_machine_not_covered(lock_text: str) -> None:
    lock = parse_lock(lock_text)
    freebsd = {**LINUX.markers, "sys_platform": "freebsd14"}
    with pytest.raises(ClocheError, match="freebsd14"):
        select(lock, freebsd, LINUX.tags)


def test_group_and_default_shared_package_has_no_marker(spec: ProjectSpec) -> None:
    lock = build_lock(spec, [resolve(LINUX)], [INDEX])
    packaging = next(p for p in lock.packages if p.name == "packaging")
    assert packaging.marker is None  # torch (default) and pytest (dev) both need it
    assert [str(m) for m in lock.environments or ()] == ['sys_platform == "linux"']


def test_platform_and_group_marker_combined(spec: ProjectSpec) -> None:
    def resolve_extra(target: Target) -> Resolution:
        base = resolve(target)
        if target.platform != "linux":
            return base
        extra = pkg(pure("pytest_xdist", "3.6.0"), target)
        pytest_pkg = next(p for p in base.packages if p.name == "pytest")
        replaced = ResolvedPackage(
            name=pytest_pkg.name,
            version=pytest_pkg.version,
            files=pytest_pkg.files,
            chosen=pytest_pkg.chosen,
            dependencies=(*pytest_pkg.dependencies, normalize("pytest-xdist")),
        )
        others = tuple(p for p in base.packages if p.name != "pytest")
        return Resolution(target, (*others, replaced, extra))

    lock = build_lock(spec, [resolve_extra(LINUX), resolve_extra(MACOS)], [INDEX])
    xdist = next(p for p in lock.packages if p.name == "pytest-xdist")
    assert str(xdist.marker) == 'sys_platform == "linux" and "dev" in dependency_groups'
    chosen = select(lock, LINUX.markers, LINUX.tags, groups=["dev"])
    assert "pytest-xdist" in {i.name for i in chosen}
    assert "pytest-xdist" not in {
        i.name for i in select(lock, LINUX.markers, LINUX.tags, groups=())
    }


def test_targets_differing_only_by_machine(spec: ProjectSpec) -> None:
    intel = Target(
        python_version=MACOS.python_version,
        marker_env=tuple(
            (k, "x86_64" if k == "platform_machine" else v) for k, v in MACOS.marker_env
        ),
        tags=(Tag("cp311", "cp311", "macosx_10_9_x86_64"), Tag("py3", "none", "any")),
        platform="macos-x86_64",
    )
    arm_only = pkg(pure("mlx", "0.1"), MACOS)
    lock = build_lock(
        spec,
        [
            Resolution(MACOS, (arm_only,)),
            Resolution(intel, ()),
            Resolution(LINUX, ()),
        ],
        [INDEX],
    )
    assert str(lock.packages[0].marker) == (
        'sys_platform == "darwin" and platform_machine == "arm64"'
    )


def test_file_without_hash_is_refused_when_chosen(spec: ProjectSpec) -> None:
    files = (dist("foo-1.0-py3-none-any.whl", hashed=False),)
    resolution = Resolution(LINUX, (pkg(files, LINUX),))
    with pytest.raises(ClocheError, match=r"no hash for foo-1.0-py3-none-any.whl"):
        build_lock(spec, [resolution], [INDEX])


def test_find_links_package_has_no_index(spec: ProjectSpec) -> None:
    files = (dist("foo-1.0-py3-none-any.whl", index="/srv/wheels"),)
    lock = build_lock(spec, [Resolution(LINUX, (pkg(files, LINUX),))], [INDEX])
    assert lock.packages[0].index is None


def test_direct_sources(spec: ProjectSpec) -> None:
    commit = "a" * 40
    local = ResolvedPackage(
        name=normalize("mylib"),
        version=Version("0.3"),
        files=(),
        chosen=None,
        direct_url=(spec.root / "libs" / "mylib").as_uri(),
        editable=True,
    )
    vcs = ResolvedPackage(
        name=normalize("tool"),
        version=Version("1.0"),
        files=(),
        chosen=None,
        direct_url=f"git+https://user:secret@git.example/tool.git@{commit}",
    )
    archive = ResolvedPackage(
        name=normalize("blob"),
        version=Version("2.0"),
        files=(),
        chosen=None,
        direct_url="https://files.example/blob-2.0.tar.gz#sha256=" + "b" * 64,
    )
    lock = build_lock(spec, [Resolution(LINUX, (archive, local, vcs))], [INDEX])
    text = dump_lock(lock)
    assert "secret" not in text
    found: dict[str, Package] = {p.name: p for p in parse_lock(text).packages}
    assert found["mylib"].directory is not None
    assert found["mylib"].directory.path == "libs/mylib"
    assert found["mylib"].directory.editable is True
    assert found["tool"].vcs is not None
    assert found["tool"].vcs.commit_id == commit
    assert found["tool"].vcs.url == "https://git.example/tool.git"
    assert found["blob"].archive is not None
    assert found["blob"].archive.hashes == {"sha256": "b" * 64}
    kinds = {i.name: i.kind for i in select(parse_lock(text), LINUX.markers, LINUX.tags)}
    assert kinds == {"blob": "archive", "mylib": "directory", "tool": "vcs"}


def test_vcs_without_commit_is_refused(spec: ProjectSpec) -> None:
    vcs = ResolvedPackage(
        name=normalize("tool"),
        version=Version("1.0"),
        files=(),
        chosen=None,
        direct_url="git+https://git.example/tool.git@main",
    )
    with pytest.raises(ClocheError, match="not pinned to a commit"):
        build_lock(spec, [Resolution(LINUX, (vcs,))], [INDEX])


def test_unhashed_archive_is_hashed_by_the_callback_or_refused(spec: ProjectSpec) -> None:
    archive = ResolvedPackage(
        name=normalize("blob"),
        version=Version("2.0"),
        files=(),
        chosen=None,
        direct_url="https://files.example/blob-2.0.tar.gz",
    )
    resolutions = [Resolution(LINUX, (archive,))]
    with pytest.raises(ClocheError, match="no hash is known"):
        build_lock(spec, resolutions, [INDEX])
    asked: list[str] = []

    def sha256(url: str) -> str:
        asked.append(url)
        return "c" * 64

    lock = build_lock(spec, resolutions, [INDEX], sha256)
    assert asked == ["https://files.example/blob-2.0.tar.gz"]
    (package,) = lock.packages
    assert package.archive is not None and package.archive.hashes == {"sha256": "c" * 64}


# -- freshness ---------------------------------------------------------------


def test_inputs_hash_recorded_and_fresh(spec: ProjectSpec, lock_text: str) -> None:
    lock = parse_lock(lock_text)
    assert lock_inputs_hash(lock) == inputs_hash(spec, [INDEX])
    assert is_fresh(lock, spec, [INDEX])
    assert not is_fresh(lock, spec, ["https://other.example/simple/"])


def test_inputs_hash_ignores_formatting_and_comments(tmp_path: Path, spec: ProjectSpec) -> None:
    reformatted = PROJECT.replace(
        '    "numpy>=2",\n', '    # the array library\n    "NumPy >= 2",\n'
    )
    reformatted = "# top comment\n" + reformatted.replace('dev = ["pytest"]', 'dev = [ "pytest" ]')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "pyproject.toml").write_text(reformatted)
    other = load_project(tmp_path / "other")
    assert inputs_hash(other, [INDEX]) == inputs_hash(spec, [INDEX])
    assert inputs_hash(other, ["https://u:p@pypi.example/simple"]) == inputs_hash(spec, [INDEX])


def test_inputs_hash_covers_sources_but_not_where_the_checkout_is(tmp_path: Path) -> None:
    text = (
        '[project]\nname = "app"\ndependencies = ["mylib"]\n\n'
        '[tool.cloche.sources]\nmylib = { path = "libs/mylib" }\n'
    )
    hashes = []
    for where, body in [
        ("one", text),
        ("two", text),
        ("three", text.replace('"libs/mylib"', '"libs/other"')),
        ("four", text.replace("}", ", editable = true }")),
    ]:
        (tmp_path / where).mkdir()
        (tmp_path / where / "pyproject.toml").write_text(body)
        hashes.append(inputs_hash(load_project(tmp_path / where), [INDEX]))
    assert hashes[0] == hashes[1]  # the same project in another directory
    assert len(set(hashes)) == 3


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"numpy>=2"', '"numpy>=2.1"'),
        ('dev = ["pytest"]', 'dev = ["pytest", "ruff"]'),
        ('viz = ["matplotlib"]', 'viz = ["seaborn"]'),
        ('requires-python = ">=3.10"', 'requires-python = ">=3.11"'),
        ('dev = ["pytest"]', 'dev = ["pytest"]\n\n[tool.cloche]\ntargets = ["linux"]'),
    ],
)
def test_inputs_hash_changes_with_inputs(
    tmp_path: Path, spec: ProjectSpec, old: str, new: str
) -> None:
    assert old in PROJECT
    (tmp_path / "changed").mkdir()
    (tmp_path / "changed" / "pyproject.toml").write_text(PROJECT.replace(old, new))
    changed = load_project(tmp_path / "changed")
    assert inputs_hash(changed, [INDEX]) != inputs_hash(spec, [INDEX])


# -- bad lockfiles -----------------------------------------------------------


def test_load_missing_lock(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no pylock.toml .*run 'cloche lock'"):
        load_lock(tmp_path / "pylock.toml")


def test_load_garbage_toml(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = = "x"\npackages = []\n')
    with pytest.raises(ProjectError, match=r"^pylock.toml: invalid TOML: .*line"):
        load_lock(path)


def test_load_missing_key(lock_text: str) -> None:
    data = lock_text.replace('created-by = "cloche"\n', "")
    with pytest.raises(ProjectError, match=r"^pylock.toml: created-by: Missing required value"):
        parse_lock(data)


def test_load_wrong_type_with_key_path(lock_text: str) -> None:
    bad = lock_text.replace('hashes = {sha256 = "', 'hashes = {sha256 = 1, x = "', 1)
    with pytest.raises(
        ProjectError,
        match=r"^pylock.toml: packages\[0\]\.sdist\.hashes: Hash values must be strings",
    ):
        parse_lock(bad)
    bad_version = lock_text.replace('lock-version = "1.0"', "lock-version = 1")
    with pytest.raises(ProjectError, match=r"^pylock.toml: lock-version: Unexpected type int"):
        parse_lock(bad_version)


def test_lock_other_readers_see_markers(lock_text: str) -> None:
    lock = Pylock.from_dict(tomllib.loads(lock_text))
    by_name: dict[str, Package] = {p.name: p for p in lock.packages if p.marker is not None}
    assert by_name["pywin32"].marker == Marker("sys_platform == 'win32'")


@pytest.mark.parametrize("machine", ["linux", "windows", "macos"])
def test_select_picks_the_same_wheel_as_ranking_every_filename(
    lock_text: str, machine: str
) -> None:
    # select() matches tag strings before packaging ranks the wheels: the answer must be
    # the one packaging gives when it parses every filename itself.
    target = {"linux": LINUX, "windows": WINDOWS, "macos": MACOS}[machine]
    lock = parse_lock(lock_text)
    ours = select(lock, target.markers, target.tags, groups=())
    theirs = lock.select(
        environment=dict(target.markers),  # type: ignore[arg-type]
        tags=target.tags,
        extras=[],
        dependency_groups=[],
    )
    assert [(i.name, i.filename) for i in ours] == sorted(
        (package.name, source.filename) for package, source in theirs
    )
