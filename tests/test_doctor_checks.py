"""Each doctor check against an environment broken for real: real venvs, real wheels
built here and installed by cloche (or by another installer where cloche refuses)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.doctor_support import findings, install, make_venv, site_packages
from tests.support.dists import make_source_tree, make_wheel
from tests.support.index_server import IndexServer


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "env")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty working directory for doctor (nothing there to shadow anything)."""
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def test_a_healthy_env_exits_zero(index_server: IndexServer, venv: Path, work: Path) -> None:
    index_server.add_wheel("app", "1.0", requires=["lib>=1"])
    index_server.add_wheel("lib", "1.2")
    install(index_server, venv, "app")
    assert findings(venv, work) == []


def test_missing_and_wrong_version_dependencies(
    index_server: IndexServer, venv: Path, work: Path
) -> None:
    index_server.add_wheel("app", "1.0", requires=["lib<2", "helper"])
    index_server.add_wheel("lib", "2.0")
    install(index_server, venv, "--no-deps", "app", "lib")
    found = [f for f in findings(venv, work) if f["check"] == "unmet-requirement"]
    evidence = sorted(line for f in found for line in f["evidence"])
    assert evidence == [
        "app 1.0 requires helper; not installed",
        "app 1.0 requires lib<2; lib 2.0 is installed",
    ]
    assert all(f["severity"] == "error" and "cloche pip install" in f["fix_command"] for f in found)


def test_two_dist_infos_for_one_name(index_server: IndexServer, tmp_path: Path, work: Path) -> None:
    # What an interrupted upgrade leaves: the new version's files, and the old dist-info.
    index_server.add_wheel("twice", "1.0")
    index_server.add_wheel("twice", "2.0")
    old, venv = make_venv(tmp_path / "old"), make_venv(tmp_path / "new")
    install(index_server, old, "twice==1.0")
    install(index_server, venv, "twice==2.0")
    stale = site_packages(venv) / "twice-1.0.dist-info"
    shutil.copytree(site_packages(old) / "twice-1.0.dist-info", stale)
    (found,) = [f for f in findings(venv, work) if f["check"] == "duplicate-dist"]
    assert found["what"] == "two distributions of twice: 2.0 and 1.0"
    assert f"stale: {stale}" in found["evidence"]
    assert found["auto_fix"] == "remove-dist-info"


def test_known_clashing_pairs(index_server: IndexServer, venv: Path, work: Path) -> None:
    cv2 = {"cv2/__init__.py": "X = 1\n"}
    index_server.add_wheel("opencv-python", "4.10.0", files=cv2)
    index_server.add_wheel("opencv-python-headless", "4.10.0", files=cv2)
    index_server.add_wheel("torch", "2.5.1")
    index_server.add_wheel("nvidia-cublas-cu11", "11.11.3.6")
    index_server.add_wheel("nvidia-cudnn-cu12", "9.1.0.70")
    install(index_server, venv, "opencv-python", "torch", "nvidia-cublas-cu11", "nvidia-cudnn-cu12")
    install(index_server, venv, "opencv-python-headless")
    found = [f for f in findings(venv, work) if f["check"] == "clashing-dists"]
    whats = sorted(f["what"] for f in found)
    assert whats == [
        "clashing distributions installed together: nvidia-cublas-cu11, nvidia-cudnn-cu12",
        "clashing distributions installed together: opencv-python, opencv-python-headless",
    ]


def test_a_clash_needs_its_companion(index_server: IndexServer, venv: Path, work: Path) -> None:
    # Two CUDA families without torch (or jax) are not the torch clash.
    index_server.add_wheel("nvidia-cublas-cu11", "11.11.3.6")
    index_server.add_wheel("nvidia-cudnn-cu12", "9.1.0.70")
    install(index_server, venv, "nvidia-cublas-cu11", "nvidia-cudnn-cu12")
    assert findings(venv, work) == []


_ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57


def test_numpy1_extension_under_numpy2(index_server: IndexServer, venv: Path, work: Path) -> None:
    # Compiled files carry the module name NumPy's import_array() loads: 1.x headers
    # name numpy.core._multiarray_umath only, 2.x headers numpy._core first.
    so = "cpython-311-x86_64-linux-gnu.so"
    old = _ELF + b"\0numpy.core._multiarray_umath\0module compiled against ABI version\0"
    new = _ELF + b"\0numpy._core._multiarray_umath\0numpy.core._multiarray_umath\0"
    index_server.add_wheel("numpy", "2.1.0")
    index_server.add_wheel("oldext", "1.0", requires=["numpy"], files={f"oldext/_ext.{so}": old})
    index_server.add_wheel("newext", "1.0", requires=["numpy"], files={f"newext/_ext.{so}": new})
    # The same bytes in a package that does not use numpy are not scanned.
    index_server.add_wheel("other", "1.0", files={f"other/_ext.{so}": old})
    install(index_server, venv, "oldext", "newext", "other")
    (found,) = [f for f in findings(venv, work) if f["check"] == "numpy-abi"]
    assert found["what"] == "oldext 1.0 was compiled against NumPy 1.x; numpy 2.1.0 is installed"
    assert found["evidence"] == [f"oldext/_ext.{so}: has numpy.core._multiarray_umath only"]


def test_numpy1_extension_is_fine_under_numpy1(
    index_server: IndexServer, venv: Path, work: Path
) -> None:
    old = _ELF + b"\0numpy.core._multiarray_umath\0"
    index_server.add_wheel("numpy", "1.26.4")
    index_server.add_wheel("oldext", "1.0", requires=["numpy"], files={"oldext/_ext.so": old})
    install(index_server, venv, "oldext")
    assert findings(venv, work) == []


def test_files_in_the_working_directory_that_shadow_packages(
    index_server: IndexServer, venv: Path, work: Path
) -> None:
    for name in ("numpy", "torch", "pandas"):
        index_server.add_wheel(name, "1.0")
    install(index_server, venv, "numpy", "torch", "pandas")
    (work / "numpy.py").write_text("print('mine')\n")
    (work / "torch").mkdir()
    (work / "torch" / "__init__.py").write_text("")
    (work / "pandas").mkdir()  # a plain directory: a namespace portion, import skips it
    (work / "pandas" / "data.csv").write_text("a,b\n")
    found = [f for f in findings(venv, work) if f["check"] == "shadowed-package"]
    assert sorted(f["what"] for f in found) == [
        "numpy.py in the working directory shadows the installed numpy 1.0",
        "torch in the working directory shadows the installed torch 1.0",
    ]


def test_a_venv_whose_base_python_is_gone(index_server: IndexServer, tmp_path: Path) -> None:
    # A base "installation" that is a link to this Python; the venv records it as home.
    home = tmp_path / "base" / "bin"
    home.mkdir(parents=True)
    (home / "python3").symlink_to(Path(sys.executable).resolve())
    import subprocess

    subprocess.run([home / "python3", "-m", "venv", "--without-pip", tmp_path / "env"], check=True)
    index_server.add_wheel("lib", "1.0")
    install(index_server, tmp_path / "env", "lib")
    shutil.rmtree(tmp_path / "base")
    found = findings(tmp_path / "env", tmp_path)
    assert [f["check"] for f in found] == ["base-interpreter"]
    config = tmp_path / "env" / "pyvenv.cfg"
    assert found[0]["evidence"] == [f"{config}: home = {home} (no Python there)"]
    assert "cloche venv --allow-existing" in found[0]["fix_command"]


def test_a_wheel_built_for_another_python_and_platform(venv: Path, work: Path) -> None:
    # cloche refuses such a wheel; a tool that does not check tags (here the
    # `installer` library, as pip's --target copies between machines do) puts it in.
    from installer import install as install_wheel
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    wheel = make_wheel(venv.parent / "w", "oddity", "1.0", tag="cp27-cp27mu-win32")
    site = str(site_packages(venv))
    scheme = {k: site for k in ("purelib", "platlib", "headers", "data")}
    scheme["scripts"] = str(venv / "bin")
    destination = SchemeDictionaryDestination(scheme, sys.executable, "#!python")
    with WheelFile.open(wheel) as source:
        install_wheel(source, destination, {"INSTALLER": b"installer\n"})
    (found,) = findings(venv, work)
    assert found["check"] == "foreign-build"
    assert found["evidence"][0] == "WHEEL tags: cp27-cp27mu-win32"


def test_record_missing_and_changed_files(
    index_server: IndexServer, venv: Path, work: Path
) -> None:
    files = {"lib/__init__.py": "A = 1\n", "lib/util.py": "B = 2\n"}
    index_server.add_wheel("lib", "1.0", files=files)
    index_server.add_wheel("bare", "1.0")
    install(index_server, venv, "lib", "bare")
    site = site_packages(venv)
    (site / "lib" / "__init__.py").write_text("A = 2\n")  # same size, other content
    (site / "lib" / "util.py").unlink()
    (site / "bare-1.0.dist-info" / "RECORD").unlink()
    by_check = {f["check"]: f for f in findings(venv, work)}
    assert set(by_check) == {"record-mismatch", "no-record"}
    mismatch = by_check["record-mismatch"]
    assert mismatch["what"] == "lib 1.0: files listed in RECORD are 1 missing and 1 changed"
    assert mismatch["evidence"] == ["missing: lib/util.py", "changed: lib/__init__.py"]
    assert by_check["no-record"]["auto_fix"] == "reinstall"


def test_stale_pth_and_egg_link(index_server: IndexServer, venv: Path, tmp_path: Path) -> None:
    # An editable install of a checkout that was deleted afterwards.
    project = make_source_tree(tmp_path / "src", "devpkg", "0.1")
    install(index_server, venv, "-e", project)
    shutil.rmtree(project)
    # What `setup.py develop` (setuptools' old editable mode) leaves behind.
    site = site_packages(venv)
    (site / "oldpkg.egg-link").write_text(f"{tmp_path / 'gone'}\n.")
    found = findings(venv, tmp_path)
    assert sorted(f["check"] for f in found) == ["stale-egg-link", "stale-pth"]
    (pth,) = [f for f in found if f["check"] == "stale-pth"]
    assert pth["evidence"] == [f"{site / '_cloche_editable_devpkg.pth'}: {project}"]


def test_pip_and_conda_in_one_prefix(index_server: IndexServer, venv: Path, work: Path) -> None:
    # A conda prefix: conda-meta/ holds one JSON record per conda package.
    meta = venv / "conda-meta"
    meta.mkdir()
    (meta / "numpy-1.26.4-py311h64a7726_0.json").write_text("{}")
    (meta / "pytorch-2.3.0-py3.11_cpu_0.json").write_text("{}")
    index_server.add_wheel("numpy", "2.1.0")
    index_server.add_wheel("requests", "2.32.0")
    install(index_server, venv, "numpy", "requests")
    by_check = {f["check"]: f for f in findings(venv, work)}
    assert set(by_check) == {"conda-pip-overlap", "conda-pip-mix"}
    overlap = by_check["conda-pip-overlap"]
    assert overlap["what"] == "numpy is installed by both conda (numpy) and cloche"
    assert by_check["conda-pip-mix"]["severity"] == "warning"
