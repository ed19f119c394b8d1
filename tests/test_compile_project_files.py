"""A project file where a requirements file goes, and ``-`` for standard input:
``cloche pip compile pyproject.toml --extra viz``, ``pip install -r pyproject.toml``,
``... | cloche pip compile -`` (as pip-tools and uv read them)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.cli import cloche
from tests.support.dists import make_source_tree
from tests.support.index_server import IndexServer


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel("alpha", "1.0", requires=["beta"])
    index_server.add_wheel("beta", "2.0")
    index_server.add_wheel("plotter", "3.0")
    index_server.add_wheel("checker", "4.0")
    return index_server


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "demo"
            version = "0.1"
            dependencies = ["alpha"]

            [project.optional-dependencies]
            viz = ["plotter"]
            all = ["demo[viz]"]

            [dependency-groups]
            dev = ["checker"]
            """
        )
    )
    return root / "pyproject.toml"


def _compile(index: IndexServer, *args: str | Path, cwd: Path, stdin: str | None = None):
    return cloche(
        "pip", "compile", *args, "--index-url", index.url, "--no-header", cwd=cwd, input=stdin
    )


def test_a_pyproject_gives_its_dependencies_not_itself(index: IndexServer, tmp_path: Path) -> None:
    _project(tmp_path)
    result = _compile(index, "pyproject.toml", cwd=tmp_path)
    assert result.code == 0, result
    assert result.out.splitlines() == [
        "alpha==1.0",
        "    # via demo (pyproject.toml)",
        "beta==2.0",
        "    # via alpha",
    ]


def test_extras_and_groups_are_added_when_asked(index: IndexServer, tmp_path: Path) -> None:
    _project(tmp_path)
    viz = _compile(index, "pyproject.toml", "--extra", "viz", cwd=tmp_path)
    assert viz.code == 0, viz
    assert "plotter==3.0" in viz.out and "checker" not in viz.out
    every = _compile(index, "pyproject.toml", "--all-extras", "--group", "dev", cwd=tmp_path)
    assert every.code == 0, every
    assert "plotter==3.0" in every.out and "checker==4.0" in every.out
    assert "demo" not in every.out.replace("demo (pyproject.toml)", "")  # not itself


def test_a_pyproject_beside_a_requirements_file(index: IndexServer, tmp_path: Path) -> None:
    _project(tmp_path / "proj")
    (tmp_path / "more.in").write_text("checker\n")
    result = _compile(index, "proj/pyproject.toml", "more.in", cwd=tmp_path)
    assert result.code == 0, result
    assert "# via demo (proj/pyproject.toml)" in result.out
    assert "checker==4.0\n    # via -r more.in" in result.out


def test_dynamic_dependencies_and_setup_py_ask_the_build_backend(
    index: IndexServer, tmp_path: Path
) -> None:
    root = make_source_tree(
        tmp_path, "dyn", "0.1", requires=["alpha==1.0"], dynamic=["Requires-Dist"]
    )
    result = _compile(index, "pyproject.toml", cwd=root)
    assert result.code == 0, result
    assert "alpha==1.0\n    # via dyn (pyproject.toml)" in result.out
    assert "Read 1 dependencies from the build backend" in result.err
    # A setup.py named instead: the same backend answers for every dependency.
    (root / "setup.py").write_text("")
    result = _compile(index, "setup.py", cwd=root)
    assert result.code == 0, result
    assert "alpha==1.0\n    # via dyn (setup.py)" in result.out and "beta==2.0" in result.out


def test_extras_the_build_backend_declares(index: IndexServer, tmp_path: Path) -> None:
    """``optional-dependencies`` dynamic (every setup.py's extras_require): the backend's
    ``Requires-Dist: ...; extra == "viz"`` lines give the extra, the rest of each marker
    kept for the target."""
    root = make_source_tree(
        tmp_path,
        "dyn",
        "0.1",
        requires=["alpha==1.0"],
        extras={"viz": ["plotter", "checker; sys_platform == 'win32'"], "all": ["dyn[viz]"]},
        dynamic=["Requires-Dist", "Provides-Extra"],
    )
    plain = _compile(index, "pyproject.toml", cwd=root)
    assert plain.code == 0, plain
    assert "plotter" not in plain.out
    viz = _compile(index, "pyproject.toml", "--extra", "all", cwd=root)
    assert viz.code == 0, viz
    assert "plotter==3.0\n    # via dyn (pyproject.toml)" in viz.out
    assert "checker" not in viz.out  # only on Windows
    assert "Read 1 dependencies and 2 extras from the build backend" in viz.err
    windows = _compile(
        index, "pyproject.toml", "--all-extras", "--python-platform", "windows", cwd=root
    )
    assert windows.code == 0, windows
    assert "checker==4.0" in windows.out
    missing = _compile(index, "pyproject.toml", "--extra", "nope", cwd=root)
    assert missing.code != 0 and "unknown extra 'nope' in pyproject.toml" in missing.err


def test_a_pyproject_without_a_project_table_asks_its_backend(
    index: IndexServer, tmp_path: Path
) -> None:
    """Only ``[build-system]`` (a setuptools project configured in setup.py): the
    backend names the dependencies; with no backend either, there is nothing to read."""
    root = make_source_tree(
        tmp_path, "legacy", "0.1", requires=["alpha"], extras={"viz": ["plotter"]}
    )
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[project]")[0])
    result = _compile(index, "pyproject.toml", "--extra", "viz", cwd=root)
    assert result.code == 0, result
    assert "alpha==1.0\n    # via legacy (pyproject.toml)" in result.out
    assert "plotter==3.0" in result.out

    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 99\n")
    bare = _compile(index, "pyproject.toml", cwd=tmp_path / "bare")
    assert bare.code == 2, bare
    assert bare.err.startswith("error: pyproject.toml has no [project] table"), bare

    # Dependency groups need no [project] (PEP 735): a repository that is no package.
    (tmp_path / "bare" / "pyproject.toml").write_text('[dependency-groups]\ndev = ["checker"]\n')
    groups = _compile(index, "pyproject.toml", "--group", "dev", cwd=tmp_path / "bare")
    assert groups.code == 0, groups
    assert "checker==4.0\n    # via bare (pyproject.toml)" in groups.out


def test_pip_install_reads_a_pyproject_too(index: IndexServer, tmp_path: Path) -> None:
    _project(tmp_path)
    venv = tmp_path / "env"
    assert cloche("venv", venv).code == 0
    result = cloche(
        "pip", "install", "--python", venv, "-r", "pyproject.toml", "--extra", "viz",
        "--index-url", index.url, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result
    listed = cloche("pip", "list", "--python", venv, "--format", "freeze").out
    assert {"alpha==1.0", "beta==2.0", "plotter==3.0"} <= set(listed.split()), listed
    assert "demo" not in listed


def test_standard_input_is_a_requirements_file(index: IndexServer, tmp_path: Path) -> None:
    result = _compile(index, "-", cwd=tmp_path, stdin="alpha\n")
    assert result.code == 0, result
    assert "alpha==1.0\n    # via -r -" in result.out and "beta==2.0" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("more.in", "--extra", "viz"), "choose from a project: give its pyproject.toml"),
        (("pyproject.toml", "--extra", "nope"), "unknown extra 'nope' in pyproject.toml"),
        (("pyproject.toml", "--group", "nope"), "unknown dependency group 'nope'"),
        (("missing/pyproject.toml",), "missing/pyproject.toml: no such file"),
    ],
)
def test_bad_choices_are_one_line(
    index: IndexServer, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    _project(tmp_path)
    (tmp_path / "more.in").write_text("alpha\n")
    result = _compile(index, *args, cwd=tmp_path)
    assert result.code == 2 or result.code == 1, result
    assert message in result.err and "Traceback" not in result.err, result
    assert len(result.err.strip().splitlines()) <= 2, result


def test_a_broken_pyproject_is_one_line(index: IndexServer, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'x'\n")
    result = _compile(index, "pyproject.toml", cwd=tmp_path)
    assert result.code != 0 and "Traceback" not in result.err, result
    assert "pyproject.toml" in result.err
