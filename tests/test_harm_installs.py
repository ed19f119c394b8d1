"""No silent harm in installs: an install that breaks what is installed says so, as pip
does, and an install that waited for another one plans again against what it left."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from cloche.adapters.install import env_lock, install
from cloche.adapters.python.discovery import find_interpreter
from cloche.ops.layouts import layout_for
from cloche.ops.plan import present_in
from tests.support.cli import cloche, installed, pip, venv_python
from tests.support.index_server import IndexServer

_CLOCHE = (sys.executable, "-m", "cloche")


def test_an_install_that_breaks_an_installed_package_warns(
    tmp_path: Path, index_server: IndexServer
) -> None:
    index_server.add_wheel("numpy", "1.26.4")
    index_server.add_wheel("numpy", "2.1.0")
    index_server.add_wheel("pandas", "3.0.0", requires=["numpy>=2"])
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    first = pip(index_server, venv, "install", "pandas")
    assert first.code == 0, first
    assert "requires" not in first.err
    result = pip(index_server, venv, "install", "numpy<2")
    assert result.code == 0, result  # pip warns and exits 0 too
    assert "pandas 3.0.0 requires numpy>=2, but numpy 1.26.4 is installed" in result.err
    assert installed(venv) == {"numpy": "1.26.4", "pandas": "3.0.0"}


def test_an_install_that_waited_plans_again_against_what_the_other_left(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """beta needs alpha. While ``pip install beta`` (a real subprocess) waits for the
    env, another install removes alpha: beta's install must not leave beta without
    alpha, just as it would not have had it run second."""
    index_server.add_wheel("alpha", "1.0")
    index_server.add_wheel("beta", "1.0", requires=["alpha"])
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    assert pip(index_server, venv, "install", "alpha").code == 0
    layout = layout_for(find_interpreter(str(venv_python(venv)), cache_dir=tmp_path / "probe"))
    with env_lock(layout):
        second = subprocess.Popen(
            [*_CLOCHE, "pip", "install", "beta", "--python", str(venv), "-i", index_server.url],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        seen = []
        for line in second.stderr:
            seen.append(line)
            if "Waiting for another cloche process" in line:
                break
        else:
            raise AssertionError("".join(seen))
        # The other install, run first: alpha goes away.
        (alpha,) = [p.dist for p in present_in(layout) if p.name == "alpha"]
        install(layout, [], [alpha])
    _out, err = second.communicate(timeout=120)
    assert second.returncode == 0, "".join(seen) + err
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0"}


def test_an_unknown_extra_warns_as_pip_does(tmp_path: Path, index_server: IndexServer) -> None:
    index_server.add_wheel("six", "1.17.0")  # declares no extras at all
    index_server.add_wheel("speedups", "1.0")
    # Older generators name extras only in markers, without Provides-Extra.
    index_server.add_wheel("lib", "1.0", requires=['speedups; extra == "fast"'])
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    result = pip(index_server, venv, "install", "six[nosuchextra]", "lib[fast]")
    assert result.code == 0, result
    assert "six 1.17.0 does not provide the extra 'nosuchextra'" in result.err
    assert result.err.count("does not provide the extra") == 1, result.err
    assert installed(venv) == {"six": "1.17.0", "lib": "1.0", "speedups": "1.0"}


def test_a_hash_of_the_sdist_alone_chooses_the_sdist(
    tmp_path: Path, index_server: IndexServer
) -> None:
    wheel = index_server.add_wheel("alpha", "1.0")
    sdist = index_server.add_sdist("alpha", "1.0")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha==1.0 --hash=sha256:{digest}\n")
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    result = pip(index_server, venv, "install", "--require-hashes", "-r", requirements)
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0"}
    assert index_server.requests_to(urlsplit(index_server.file_url(sdist.name)).path)
    assert not index_server.requests_to(urlsplit(index_server.file_url(wheel.name)).path)
