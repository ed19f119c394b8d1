"""core.pyproject_edit: edits keep comments, order and formatting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from cloche.core.project.load import load_project
from cloche.core.project.spec import PathSource
from cloche.core.pyproject_edit import (
    add_requirements,
    new_pyproject,
    remove_requirements,
    remove_sources,
    set_sources,
)
from cloche.errors import ProjectError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

COMMENTED = """\
# Project file (top comment)
[project]
name = "demo"
version = "0.1.0"
dependencies = [
    # the numeric core
    "numpy>=1.26",  # keep in step with torch
    "zlib-state",
    "Pandas>=2",
]

[tool.other]
keep = "me"  # trailing comment
"""


def reqs(*texts: str) -> list[Requirement]:
    return [Requirement(t) for t in texts]


def test_new_pyproject_is_loadable(tmp_path: Path) -> None:
    text = new_pyproject("my-app", ">=3.11", description="A demo")
    data = tomllib.loads(text)
    assert data["project"] == {
        "name": "my-app",
        "version": "0.1.0",
        "description": "A demo",
        "requires-python": ">=3.11",
        "dependencies": [],
    }
    (tmp_path / "pyproject.toml").write_text(text)
    assert load_project(tmp_path).name == "my-app"
    assert "description" not in new_pyproject("x", ">=3.10")


@pytest.mark.parametrize(
    ("name", "python"), [("bad name", ">=3.10"), ("-x", ">=3.10"), ("x", "3.1O")]
)
def test_new_pyproject_refuses_bad_input(name: str, python: str) -> None:
    with pytest.raises(UsageError):
        new_pyproject(name, python)


def test_add_replaces_in_place_and_keeps_comments() -> None:
    out = add_requirements(COMMENTED, reqs("numpy>=2", "requests"))
    assert out == COMMENTED.replace('"numpy>=1.26"', '"numpy>=2"').replace(
        '    "Pandas>=2",\n', '    "Pandas>=2",\n    "requests",\n'
    )


def test_add_replaces_differently_spelled_name() -> None:
    out = add_requirements(COMMENTED, reqs("pandas>=2.2"))
    assert '"pandas>=2.2",' in out and "Pandas" not in out
    assert out.index("zlib-state") < out.index("pandas>=2.2")


def test_add_inserts_sorted_into_sorted_list() -> None:
    text = '[project]\nname = "x"\ndependencies = [\n  "alpha",\n  "gamma",\n]\n'
    out = add_requirements(text, reqs("beta>=1", "zeta"))
    assert out == (
        '[project]\nname = "x"\n'
        'dependencies = [\n  "alpha",\n  "beta>=1",\n  "gamma",\n  "zeta",\n]\n'
    )


def test_add_to_single_line_and_empty_arrays_goes_multiline() -> None:
    text = new_pyproject("x", ">=3.10")
    out = add_requirements(text, reqs("numpy"))
    assert 'dependencies = [\n    "numpy",\n]' in out
    one_line = '[project]\nname = "x"\ndependencies = ["b", "a"]\n'
    assert 'dependencies = [\n    "b",\n    "a",\n    "c",\n]' in add_requirements(
        one_line, reqs("c")
    )


def test_add_creates_group_and_extra() -> None:
    out = add_requirements(COMMENTED, reqs("pytest>=8"), group="dev")
    out = add_requirements(out, reqs("matplotlib"), optional="viz")
    assert out.startswith(COMMENTED.split("\n[tool.other]")[0])
    assert 'keep = "me"  # trailing comment' in out
    data = tomllib.loads(out)
    assert data["dependency-groups"] == {"dev": ["pytest>=8"]}
    assert data["project"]["optional-dependencies"] == {"viz": ["matplotlib"]}


def test_add_to_existing_group_spelled_differently_keeps_include() -> None:
    text = '[dependency-groups]\nDev = [{include-group = "lint"}, "pytest"]\nlint = ["ruff"]\n'
    out = add_requirements(text, reqs("pytest>=8", "hypothesis"), group="dev")
    data = tomllib.loads(out)
    assert data["dependency-groups"]["Dev"] == [
        {"include-group": "lint"},
        "pytest>=8",
        "hypothesis",
    ]


def test_add_requires_project_table() -> None:
    with pytest.raises(ProjectError, match="missing \\[project\\] table"):
        add_requirements("[tool.cloche]\n", reqs("numpy"))


def test_add_refuses_group_and_extra_together() -> None:
    with pytest.raises(UsageError):
        add_requirements(COMMENTED, reqs("x"), group="dev", optional="viz")


def test_add_wrong_type_names_key() -> None:
    with pytest.raises(ProjectError, match=r"project\.dependencies: expected an array"):
        add_requirements('[project]\ndependencies = "numpy"\n', reqs("x"))


def test_remove_keeps_other_comments() -> None:
    out, missing = remove_requirements(COMMENTED, ["zlib_state", "pandas"])
    assert missing == []
    assert out == COMMENTED.replace('    "zlib-state",\n    "Pandas>=2",\n', "")


def test_remove_reports_missing_names() -> None:
    out, missing = remove_requirements(COMMENTED, ["numpy", "scipy"])
    assert missing == ["scipy"]
    assert "numpy" not in out
    same, missing = remove_requirements(COMMENTED, ["pytest"], group="dev")
    assert (same, missing) == (COMMENTED, ["pytest"])
    same, missing = remove_requirements("[tool.cloche]\n", ["x"])
    assert missing == ["x"]


def test_remove_every_entry_of_a_name_from_group() -> None:
    text = (
        "[dependency-groups]\n"
        "dev = [\"pytest<8; python_version < '3.9'\",\n"
        '       "pytest>=8; python_version >= \'3.9\'", "ruff"]\n'
    )
    out, missing = remove_requirements(text, ["pytest"], group="dev")
    assert missing == []
    assert tomllib.loads(out)["dependency-groups"]["dev"] == ["ruff"]


def test_edit_of_invalid_toml() -> None:
    with pytest.raises(ProjectError, match=r"pyproject\.toml: invalid TOML"):
        add_requirements("[project\n", reqs("x"))


def test_sources_are_set_and_removed_keeping_the_rest(tmp_path: Path) -> None:
    text = '[project]\nname = "app"\n\n[tool.cloche]\npython = "3.11"  # pinned\n'
    added = set_sources(
        text, {"mylib": PathSource("libs/mylib", editable=True), "b": PathSource("../b")}
    )
    assert 'python = "3.11"  # pinned' in added
    assert 'mylib = {path = "libs/mylib", editable = true}' in added
    assert 'b = {path = "../b"}' in added
    (tmp_path / "pyproject.toml").write_text(added)
    assert set(load_project(tmp_path).sources) == {"mylib", "b"}
    replaced = set_sources(added, {"MyLib": PathSource("elsewhere")})
    assert 'mylib = {path = "elsewhere"}' in replaced  # the existing key, spelled as it was
    fewer = remove_sources(replaced, ["mylib"])
    assert "mylib" not in fewer and 'b = {path = "../b"}' in fewer
    assert "[tool.cloche.sources]" not in remove_sources(fewer, ["b"])  # empty: dropped
    assert remove_sources(text, ["mylib"]) == text
