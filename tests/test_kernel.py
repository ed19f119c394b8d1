"""Jupyter kernels for environments, started for real with jupyter_client.

The env that runs the real kernel gets ipykernel through a ``.pth`` file naming this
test venv's site-packages (where the ``test`` extra installed ipykernel): a real
import path, as ``--system-site-packages`` would give, without the network. The
install-when-missing path is tested separately against the local index, with a
stand-in ``ipykernel`` wheel.
"""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from tests.support.cli import cloche
from tests.support.index_server import IndexServer

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")


@pytest.fixture
def jupyter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "jupyter-data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("CLOCHE_ENVS_DIR", str(tmp_path / "envs"))
    return data


def _reach_test_packages(env: Path) -> None:
    site = next(env.glob("lib/python*/site-packages"))
    (site / "_test_ipykernel.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def _run_in_kernel(name: str, code: str) -> str:
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name=name, startup_timeout=120)
    out: list[str] = []

    def hook(message: dict[str, object]) -> None:
        content = message["content"]
        if message["msg_type"] == "stream" and isinstance(content, dict):
            out.append(str(content["text"]))

    try:
        reply = client.execute_interactive(code, output_hook=hook, timeout=120)
        assert reply["content"]["status"] == "ok", reply
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return "".join(out)


def test_kernel_of_a_named_env_runs_in_that_env(
    jupyter: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    assert cloche("env", "create", "ml_env", "--index-url", index_server.url).code == 0
    env = tmp_path / "envs" / "ml_env"
    _reach_test_packages(env)
    result = cloche("kernel", "install", "-n", "ml_env", "--display-name", "ML")
    assert result.code == 0, result
    assert "installing" not in result.err  # ipykernel was importable already
    spec = json.loads((jupyter / "kernels" / "ml_env" / "kernel.json").read_text())
    assert spec["argv"][0] == str(env / "bin" / "python") and spec["display_name"] == "ML"

    assert _run_in_kernel("ml_env", "import sys; print(sys.prefix)").strip() == str(env)

    listed = cloche("kernel", "list")
    assert "ml_env" in listed.out and str(env) in listed.out
    assert cloche("kernel", "remove", "ml_env").code == 0
    assert not (jupyter / "kernels" / "ml_env").exists()
    assert env.exists()  # the env stays


def test_missing_ipykernel_is_installed_with_cloche(
    jupyter: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("ipykernel", "6.0", files={"ipykernel/__init__.py": ""})
    assert cloche("env", "create", "bare", "--index-url", index_server.url).code == 0
    result = cloche("kernel", "install", "-n", "bare", "--index-url", index_server.url)
    assert result.code == 0, result
    assert "ipykernel is not in" in result.err and "installing it" in result.err
    env = tmp_path / "envs" / "bare"
    assert list(env.glob("lib/python*/site-packages/ipykernel-6.0.dist-info"))
    assert (jupyter / "kernels" / "bare" / "kernel.json").is_file()
    again = cloche("kernel", "install", "-n", "bare")
    assert again.code == 0 and "installing" not in again.err, again


def test_project_kernel_follows_its_venv(jupyter: Path, tmp_path: Path) -> None:
    project = tmp_path / "My Project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "My Project"\nversion = "0.1"\ndependencies = []\n'
    )
    result = cloche("kernel", "install", cwd=project)
    assert result.code == 1 and "cloche sync" in result.err, result
    assert cloche("venv", project / ".venv").code == 0
    _reach_test_packages(project / ".venv")
    result = cloche("kernel", "install", cwd=project)
    assert result.code == 0, result
    spec = json.loads((jupyter / "kernels" / "my-project" / "kernel.json").read_text())
    assert spec["argv"][0] == str(project / ".venv" / "bin" / "python")
    assert spec["display_name"] == "Python (My Project)"


def test_bad_kernel_input(jupyter: Path, tmp_path: Path) -> None:
    result = cloche("kernel", "remove", "nope")
    assert result.code == 2 and "no kernel named 'nope'" in result.err, result
    result = cloche("kernel", "install", "-n", "nope")
    assert result.code == 2 and "no environment named 'nope'" in result.err, result


def test_env_remove_removes_the_kernels_that_run_it(
    jupyter: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    assert cloche("env", "create", "gone", "--index-url", index_server.url).code == 0
    assert cloche("env", "create", "gone2", "--index-url", index_server.url).code == 0
    env = tmp_path / "envs" / "gone"
    specs = {
        "gone": {"metadata": {"cloche": {"env": str(env)}}, "python": env / "bin" / "python"},
        # Made by `python -m ipykernel install` from inside the env: no cloche metadata.
        "by-hand": {"python": env / "bin" / "python3"},
        # A sibling whose name starts the same is another env: its kernel stays.
        "other": {"python": tmp_path / "envs" / "gone2" / "bin" / "python"},
    }
    for name, spec in specs.items():
        (jupyter / "kernels" / name).mkdir(parents=True)
        kernel = {
            "argv": [str(spec["python"]), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": name,
            "language": "python",
            "metadata": spec.get("metadata", {}),
        }
        (jupyter / "kernels" / name / "kernel.json").write_text(json.dumps(kernel))
    result = cloche("env", "remove", "gone")
    assert result.code == 0, result
    assert "Removed kernel 'gone'" in result.err and "Removed kernel 'by-hand'" in result.err
    assert sorted(p.name for p in (jupyter / "kernels").iterdir()) == ["other"]
    assert not env.exists()
