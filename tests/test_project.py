"""core.project: finding and reading pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche.core.models import normalize
from cloche.core.project.load import load_project
from cloche.core.project.root import find_project_root
from cloche.core.project.roots import requirements_for
from cloche.core.project.spec import DEFAULT_TARGETS
from cloche.errors import ProjectError, UsageError

FULL = """\
[project]
name = "Demo_App"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["numpy>=2", "requests[socks]; python_version >= '3.10'"]

[project.optional-dependencies]
Viz = ["matplotlib"]
all = ["demo-app[viz]", "rich"]

[dependency-groups]
test = ["pytest"]
lint = ["ruff"]
dev = [{include-group = "test"}, {include-group = "lint"}, "ipython"]

[tool.cloche]
targets = ["linux"]
python = "3.11"
index-url = "https://mirror.example/simple/"
"""


def write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(text)
    return root


def test_load_full_project(tmp_path: Path) -> None:
    spec = load_project(write(tmp_path, FULL))
    assert spec.root == tmp_path
    assert spec.name == "Demo_App"
    assert str(spec.requires_python) == ">=3.10"
    assert [str(r) for r in spec.dependencies] == [
        "numpy>=2",
        'requests[socks]; python_version >= "3.10"',
    ]
    assert [str(r) for r in spec.optional_dependencies[normalize("viz")]] == ["matplotlib"]
    # The self-reference demo-app[viz] is replaced by the viz requirements.
    assert [str(r) for r in spec.optional_dependencies[normalize("all")]] == ["matplotlib", "rich"]
    assert [str(r) for r in spec.dependency_groups[normalize("dev")]] == [
        "pytest",
        "ruff",
        "ipython",
    ]
    assert spec.targets == ("linux",)
    assert spec.python == "3.11"
    assert spec.tool["index-url"] == "https://mirror.example/simple/"
    assert spec.default_groups == ("dev",)


def test_defaults_and_python_version_file(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n')
    (tmp_path / ".python-version").write_text("# pinned\n3.12.1\n")
    spec = load_project(tmp_path)
    assert spec.targets == DEFAULT_TARGETS
    assert spec.python == "3.12.1"
    assert spec.dependencies == ()
    assert spec.requires_python is None
    assert spec.default_groups == ()


def test_find_project_root(tmp_path: Path) -> None:
    write(tmp_path, FULL)
    write(tmp_path / "sub", "[tool.black]\nline-length = 100\n")  # not a cloche project
    deep = tmp_path / "sub" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path
    write(tmp_path / "sub" / "a", "[tool.cloche]\n")
    assert find_project_root(deep) == tmp_path / "sub" / "a"


def test_find_project_root_none_and_broken(tmp_path: Path) -> None:
    assert find_project_root(tmp_path) is None
    write(tmp_path / "broken", "[project\n")
    # A broken file still marks the root, so loading it reports the error.
    assert find_project_root(tmp_path / "broken") == tmp_path / "broken"


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = = "x"\ndependencies = ["a"]\n')
    with pytest.raises(ProjectError, match=r"^pyproject\.toml: invalid TOML: .*line 2"):
        load_project(tmp_path)


def test_missing_pyproject(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[project]\ndependencies = ["ok", "not a req!!"]', r"project\.dependencies\[1\]: invalid"),
        (
            '[project]\ndependencies = "numpy"',
            "project.dependencies: expected an array, got a string",
        ),
        ("[project]\ndependencies = [1]", r"project\.dependencies\[0\]: expected a string"),
        (
            '[project]\nrequires-python = ">=x"',
            "project.requires-python: invalid version specifier",
        ),
        ("[project]\nname = 3", "project.name: expected a string, got an integer"),
        ('[project.optional-dependencies]\nviz = ["@@"]', r"optional-dependencies\.viz\[0\]"),
        ('[dependency-groups]\ndev = [{include-group = "nope"}]', "include-group 'nope' is not"),
        ("[dependency-groups]\ndev = [{other = 1}]", r"dependency-groups\.dev\[0\]: expected"),
        ('[tool.cloche]\ntargets = "linux"', "tool.cloche.targets: expected an array"),
        ("[tool.cloche]\ntargets = []", "tool.cloche.targets: must name at least one"),
        ('[tool.cloche]\ndefault-groups = ["dev"]', "tool.cloche.default-groups: 'dev' is not"),
        (
            '[project]\nname = "a"\n[project.optional-dependencies]\nx = ["a[y]"]',
            "unknown extra 'y'",
        ),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text + "\n")
    with pytest.raises(ProjectError, match=message) as info:
        load_project(tmp_path)
    assert str(info.value).startswith("pyproject.toml: ")


def test_include_group_cycle(tmp_path: Path) -> None:
    text = """\
[dependency-groups]
a = ["x", {include-group = "b"}]
b = [{include-group = "c"}]
c = [{include-group = "a"}]
"""
    write(tmp_path, text)
    with pytest.raises(ProjectError, match="include-group cycle: a -> b -> c -> a"):
        load_project(tmp_path)


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, '[dependency-groups]\nDev = [{include-group = "dev"}]\n')
    with pytest.raises(ProjectError, match="cycle: dev -> dev"):
        load_project(tmp_path)


def test_extra_self_reference_cycle(tmp_path: Path) -> None:
    text = '[project]\nname = "p"\n[project.optional-dependencies]\na = ["p[b]"]\nb = ["p[a]"]\n'
    write(tmp_path, text)
    with pytest.raises(ProjectError, match="cycle"):
        load_project(tmp_path)


def test_extra_self_reference_keeps_marker(tmp_path: Path) -> None:
    text = (
        '[project]\nname = "p"\n[project.optional-dependencies]\n'
        "a = [\"x; os_name == 'nt'\"]\nb = [\"p[a]; python_version < '3.12'\"]\n"
    )
    spec = load_project(write(tmp_path, text))
    (req,) = spec.optional_dependencies[normalize("b")]
    assert str(req.marker) == 'os_name == "nt" and python_version < "3.12"'


def test_requirements_for_origins(tmp_path: Path) -> None:
    spec = load_project(write(tmp_path, FULL))
    plain = requirements_for(spec)
    assert [(u.name, u.origin) for u in plain] == [
        ("numpy", "pyproject.toml"),
        ("requests", "pyproject.toml"),
    ]
    some = requirements_for(spec, groups=["Test"], extras=["VIZ"])
    assert [(u.name, u.origin) for u in some[2:]] == [
        ("matplotlib", "pyproject.toml [project.optional-dependencies] viz"),
        ("pytest", "pyproject.toml [dependency-groups] test"),
    ]
    everything = requirements_for(spec, all_groups=True, all_extras=True)
    assert {u.name for u in everything} >= {"ipython", "rich", "ruff", "matplotlib"}


def test_requirements_for_unknown_names(tmp_path: Path) -> None:
    spec = load_project(write(tmp_path, FULL))
    with pytest.raises(UsageError, match=r"unknown dependency group 'docs'.*dev, lint, test"):
        requirements_for(spec, groups=["docs"])
    with pytest.raises(UsageError, match="unknown extra 'gpu'"):
        requirements_for(spec, extras=["gpu"])


# -- [tool.cloche.sources] -----------------------------------------------------------------

SOURCED = """\
[project]
name = "app"
dependencies = ["mylib[fast]; sys_platform != 'win32'", "Other_Lib", "numpy"]

[dependency-groups]
dev = ["devlib"]

[tool.cloche.sources]
mylib = { path = "libs/mylib", editable = true }
other-lib = { path = "../other" }
devlib = { path = "tools/devlib" }
"""


def test_sources_point_named_dependencies_at_directories(tmp_path: Path) -> None:
    root = write(tmp_path / "app", SOURCED)
    spec = load_project(root)
    with pytest.raises(ProjectError) as info:
        requirements_for(spec)  # the directories are not there yet
    assert str(info.value).startswith(
        "pyproject.toml: tool.cloche.sources.mylib: libs/mylib is not a directory"
    )
    for directory in (root / "libs" / "mylib", tmp_path / "other", root / "tools" / "devlib"):
        directory.mkdir(parents=True)
    assert set(spec.sources) == {"mylib", "other-lib", "devlib"}
    reqs = {r.name: r for r in requirements_for(spec, groups=["dev"])}
    mylib = reqs["mylib"]
    assert mylib.editable
    assert mylib.requirement.url == (root / "libs" / "mylib").resolve().as_uri()
    assert mylib.requirement.extras == {"fast"}
    assert str(mylib.requirement.marker) == 'sys_platform != "win32"'
    other = reqs["other-lib"]
    assert not other.editable
    assert other.requirement.url == (tmp_path / "other").resolve().as_uri()
    assert reqs["devlib"].requirement.url == (root / "tools" / "devlib").resolve().as_uri()
    assert reqs["numpy"].requirement.url is None
    ranged = write(tmp_path / "ranged", SOURCED.replace('"Other_Lib"', '"Other_Lib>=2"'))
    (tmp_path / "ranged" / "libs" / "mylib").mkdir(parents=True)
    with pytest.raises(ProjectError) as info:
        requirements_for(load_project(ranged))
    assert str(info.value) == (
        "pyproject.toml: 'Other_Lib>=2' has a version range, but tool.cloche.sources.other-lib "
        "is a directory, which has one version; name it alone"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('mylib = "libs/mylib"', "tool.cloche.sources.mylib: expected a table, got a string"),
        ("mylib = { editable = true }", "tool.cloche.sources.mylib: needs a path"),
        ('mylib = { path = "x", git = "y" }', "unknown key 'git' (known: path, editable, index)"),
        ('mylib = { path = "x", editable = "yes" }', "editable: expected true or false"),
        ("mylib = { path = 3 }", "tool.cloche.sources.mylib.path: expected a string"),
    ],
)
def test_bad_sources_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    text = '[project]\nname = "app"\n\n[tool.cloche.sources]\n' + table + "\n"
    root = write(tmp_path / "app", text)
    with pytest.raises(ProjectError) as info:
        load_project(root)
    assert message in str(info.value)
    assert str(info.value).startswith("pyproject.toml: tool.cloche.sources")
