"""``cloche bundle`` end to end: a project locked against the test index, bundled, then
installed on a "node without network" (the index closed, a fresh empty cache) by
``cloche sync --offline --find-links`` and by plain pip, from the bundle alone."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.cli import Result, cloche, installed
from tests.support.index_server import IndexServer


@pytest.fixture
def project(tmp_path: Path, index_server: IndexServer) -> Path:
    index_server.add_wheel("alpha", "1.0", requires=["beta>=1", "built"])
    index_server.add_wheel("beta", "2.0", files={"beta/__init__.py": "VALUE = 'two'\n"})
    index_server.add_sdist("built", "1.5")  # no wheel on the index: built for the bundle
    index_server.add_wheel("winonly", "1.0")
    result = cloche("init", "--python", sys.executable, "demo", cwd=tmp_path)
    assert result.code == 0, result
    root = tmp_path / "demo"
    text = (root / "pyproject.toml").read_text()
    text = text.replace(
        "dependencies = []", 'dependencies = ["alpha", "winonly; sys_platform == \'win32\'"]'
    )
    text += f'\n[tool.cloche]\nindex-url = "{index_server.url}"\n'
    (root / "pyproject.toml").write_text(text)
    locked = cloche("lock", cwd=root)
    assert locked.code == 0, locked
    return root


def bundle(root: Path, *args: str | Path) -> Result:
    return cloche("bundle", *args, cwd=root)


def node(tmp_path: Path, project: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the project (no .venv) and the environment of a machine whose cache is
    empty; the caller closes the index, so any download fails."""
    copy = tmp_path / "node" / "demo"
    copy.mkdir(parents=True)
    for name in ("pyproject.toml", "pylock.toml", ".python-version"):
        if (project / name).exists():
            (copy / name).write_bytes((project / name).read_bytes())
    return copy, {"CLOCHE_CACHE_DIR": str(tmp_path / "node" / "empty-cache")}


def test_bundle_layout_index_and_requirements(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = bundle(project, "-o", out, "--platform", "linux", "--platform", "windows")
    assert result.code == 0, result
    assert "Bundled 5 file(s) (1 built from source)" in result.err
    wheels = sorted(p.name for p in (out / "wheels").iterdir())
    assert wheels[0] == "alpha-1.0-py3-none-any.whl" and "built-1.5.tar.gz" in wheels
    assert any(w.startswith("built-1.5-") and w.endswith(".whl") for w in wheels)
    assert "winonly-1.0-py3-none-any.whl" in wheels
    assert (out / "pylock.toml").read_bytes() == (project / "pylock.toml").read_bytes()
    # PEP 503 and PEP 691 side by side, relative links, sha256 on every file.
    root = json.loads((out / "simple" / "index.json").read_text())
    assert root["meta"]["api-version"] == "1.1"
    assert [p["name"] for p in root["projects"]] == ["alpha", "beta", "built", "winonly"]
    assert '<a href="alpha/">alpha</a>' in (out / "simple" / "index.html").read_text()
    page = json.loads((out / "simple" / "beta" / "index.json").read_text())
    (entry,) = page["files"]
    assert entry["url"] == "../../wheels/beta-2.0-py3-none-any.whl"
    import hashlib

    digest = hashlib.sha256((out / "wheels" / entry["filename"]).read_bytes()).hexdigest()
    assert entry["hashes"] == {"sha256": digest}
    html = (out / "simple" / "beta" / "index.html").read_text()
    assert f'href="../../wheels/beta-2.0-py3-none-any.whl#sha256={digest}"' in html
    requirements = (out / "requirements.txt").read_text()
    assert f"beta==2.0 \\\n    --hash=sha256:{digest}\n" in requirements
    assert "winonly==1.0 ; sys_platform == 'win32'" in requirements


def test_offline_sync_and_pip_from_the_bundle(
    project: Path, tmp_path: Path, index_server: IndexServer
) -> None:
    out = tmp_path / "bundle"
    assert bundle(project, "-o", out).code == 0
    index_server.close()  # the index's port is closed from here on
    copy, env = node(tmp_path, project)
    synced = cloche("sync", "--offline", "--find-links", out, cwd=copy, env=env)
    assert synced.code == 0, synced
    assert installed(copy / ".venv") == {"alpha": "1.0", "beta": "2.0", "built": "1.5"}
    # The same through a file:// URL to the wheels folder.
    shutil.rmtree(copy / ".venv")
    again = cloche("sync", "--offline", "-f", (out / "wheels").as_uri(), cwd=copy, env=env)
    assert again.code == 0, again
    assert installed(copy / ".venv") == {"alpha": "1.0", "beta": "2.0", "built": "1.5"}
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed here")
    venv = tmp_path / "pip-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-index",
         "--find-links", out / "wheels", "-r", out / "requirements.txt"],
        capture_output=True, text=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0", "built": "1.5"}


def test_a_tampered_wheel_is_refused_by_name(
    project: Path, tmp_path: Path, index_server: IndexServer
) -> None:
    out = tmp_path / "bundle"
    assert bundle(project, "-o", out).code == 0
    index_server.close()
    wheel = out / "wheels" / "beta-2.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    copy, env = node(tmp_path, project)
    result = cloche("sync", "--offline", "--find-links", out, cwd=copy, env=env)
    assert result.code == 1, result
    assert "hash mismatch for beta-2.0-py3-none-any.whl" in result.err
    assert not (copy / ".venv" / "lib").exists() or "beta" not in installed(copy / ".venv")


def test_an_existing_bundle_needs_force_and_tar(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    refused = bundle(project, "-o", out)
    assert refused.code == 2 and "already exists; pass --force" in refused.err
    assert (out / "mine.txt").read_text() == "keep me"
    assert bundle(project, "-o", out, "--force").code == 0
    assert not (out / "mine.txt").exists() and (out / "simple" / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]
    packed = tmp_path / "bundle.tar.gz"
    assert bundle(project, "--tar", packed).code == 0
    with tarfile.open(packed) as archive:
        names = archive.getnames()
    assert "bundle/simple/beta/index.json" in names and "bundle/requirements.txt" in names
    both = bundle(project, "-o", out, "--tar", packed)
    assert both.code == 2


def test_a_failed_bundle_leaves_nothing(
    project: Path, tmp_path: Path, index_server: IndexServer
) -> None:
    index_server.close()  # with a fresh cache nothing can be fetched
    out = tmp_path / "bundle"
    result = cloche("bundle", "-o", out, cwd=project, env={"CLOCHE_CACHE_DIR": str(tmp_path / "c")})
    assert result.code == 1, result
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]


def test_accelerator_picks_the_named_lock(project: Path, tmp_path: Path) -> None:
    (project / "pylock.cpu.toml").write_bytes((project / "pylock.toml").read_bytes())
    out = tmp_path / "cpu-bundle"
    result = bundle(project, "-o", out, "--accelerator", "cpu", "--platform", "linux")
    assert result.code == 0, result
    assert (out / "pylock.toml").read_bytes() == (project / "pylock.cpu.toml").read_bytes()
    missing = bundle(project, "-o", tmp_path / "b2", "--accelerator", "cu128")
    assert missing.code != 0
    assert "pylock.cu128.toml" in missing.err
    assert "cloche lock --accelerator cu128" in missing.err
    assert not (tmp_path / "b2").exists()
    both = bundle(project, "--lock", project / "pylock.toml", "--accelerator", "cpu")
    assert both.code == 2 and "pass one" in both.err
    unknown = bundle(project, "-o", tmp_path / "b3", "--accelerator", "cu999x")
    assert unknown.code == 2, unknown
    assert "Traceback" not in unknown.err
