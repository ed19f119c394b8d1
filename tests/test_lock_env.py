"""ops/lock_env: an env made from a lock's text, whole or not at all, by many processes at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cloche.adapters.python.discovery import probe
from cloche.config import Settings
from cloche.ops.lock_env import (
    ENV_MARK,
    HOST_PTH,
    LockedEnvRequest,
    env_mark,
    make_lock_env,
    remove_lock_env,
)
from cloche.ops.services import Services
from cloche.ops.stamp import Selection
from tests.support.index_server import IndexServer
from tests.support.locks import write_project

_VERSIONS = (
    "import importlib.metadata as m, json, sys; "
    "print(json.dumps({'prefix': sys.prefix, 'alpha': m.version('alpha'), "
    "'beta': m.version('beta')}))"
)


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel("alpha", "1.0", requires=["beta"])
    index_server.add_wheel("alpha", "2.0", requires=["beta"])
    index_server.add_wheel("beta", "1.5", entry_points={"console_scripts": {"beta-cli": "beta:x"}})
    index_server.add_wheel("devtool", "3.0")
    return index_server


@pytest.fixture
def lock_text(tmp_path: Path, index: IndexServer) -> str:
    lock = write_project(tmp_path / "proj", index, ["alpha==1.0"], {"dev": ["devtool"]})
    return lock.read_text()


def _make(cache: Path, path: Path, request: LockedEnvRequest):  # type: ignore[no-untyped-def]
    base = probe(Path(sys.executable), cache)
    with Services(Settings(cache_dir=cache)) as services:
        return make_lock_env(services, path, request, base)


def _versions(python: Path) -> dict[str, str]:
    out = subprocess.run([python, "-c", _VERSIONS], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def test_makes_the_locked_env_then_reuses_it(tmp_path: Path, lock_text: str) -> None:
    cache, path = tmp_path / "cache", tmp_path / "envs" / "one"
    made = _make(cache, path, LockedEnvRequest(lock_text))
    assert made.created and made.python == path / "bin" / "python"
    found = _versions(made.python)
    assert found == {"prefix": str(path), "alpha": "1.0", "beta": "1.5"}
    shebang = (path / "bin" / "beta-cli").read_text().splitlines()[0]
    assert shebang == f"#!{path / 'bin' / 'python'}"  # not the staging directory's
    assert str(path) in (path / "bin" / "activate").read_text()
    assert ".tmp-" not in (path / "pyvenv.cfg").read_text()
    assert [p.name for p in path.parent.iterdir()] == ["one", ".one.lock"] or sorted(
        p.name for p in path.parent.iterdir()
    ) == [".one.lock", "one"]
    again = _make(cache, path, LockedEnvRequest(lock_text))
    assert not again.created
    assert env_mark(path) is not None


def test_groups_and_host_dirs_make_another_env(tmp_path: Path, lock_text: str) -> None:
    cache = tmp_path / "cache"
    host = tmp_path / "host"
    (host / "hostpkg").mkdir(parents=True)
    (host / "hostpkg" / "__init__.py").write_text("WHERE = 'host'\n")
    request = LockedEnvRequest(lock_text, host_site_dirs=(str(host),))  # dev: a default group
    path = tmp_path / "envs" / "dev"
    made = _make(cache, path, request)
    code = f"import devtool, hostpkg, sys; print(sys.path.index({str(host)!r}) > 0)"
    out = subprocess.run([made.python, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert any((path / "lib").rglob(HOST_PTH))
    # The same path for other inputs: replaced, not reused.
    other = _make(cache, path, LockedEnvRequest(lock_text, Selection(no_default_groups=True)))
    assert other.created
    assert subprocess.run([other.python, "-c", "import devtool"], check=False).returncode != 0


def test_a_bad_lock_names_its_source(tmp_path: Path) -> None:
    from cloche.errors import ProjectError

    with pytest.raises(ProjectError, match=r"driver\.toml"):
        _make(tmp_path / "c", tmp_path / "e", LockedEnvRequest("[[x", source="driver.toml"))
    assert not (tmp_path / "e").exists()


def test_refuses_to_replace_a_directory_it_did_not_make(tmp_path: Path, lock_text: str) -> None:
    from cloche.errors import UnusableEnvError

    path = tmp_path / "mine"
    path.mkdir()
    (path / "keep.txt").write_text("x")
    with pytest.raises(UnusableEnvError, match="not an environment cloche made"):
        _make(tmp_path / "c", path, LockedEnvRequest(lock_text))
    assert (path / "keep.txt").exists()


def test_remove_frees_the_env(tmp_path: Path, lock_text: str) -> None:
    path = tmp_path / "envs" / "gone"
    _make(tmp_path / "cache", path, LockedEnvRequest(lock_text))
    assert remove_lock_env(path) > 0
    assert not path.exists()
    assert remove_lock_env(path) == 0


_CREATOR = """
import json, sys
from pathlib import Path
from cloche.adapters.python.discovery import probe
from cloche.config import Settings
from cloche.ops import lock_env
from cloche.ops.services import Services

cache, path, lock_file, die = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
if die == "die":
    import os
    real = lock_env.install_lock
    def dying(*args, **kwargs):
        real(*args, **kwargs)
        os._exit(9)  # the node goes away with the env built but not committed
    lock_env.install_lock = dying
request = lock_env.LockedEnvRequest(lock_file.read_text())
with Services(Settings(cache_dir=cache)) as services:
    made = lock_env.make_lock_env(services, path, request, probe(Path(sys.executable), cache))
print(json.dumps({"created": made.created}))
"""


def _creator(tmp_path: Path, cache: Path, path: Path, lock: Path, die: str = "") -> list[str]:
    script = tmp_path / "creator.py"
    # written once: rewriting it while an earlier creator starts hands that one an empty file
    if not script.exists():
        script.write_text(textwrap.dedent(_CREATOR))
    return [sys.executable, str(script), str(cache), str(path), str(lock), die or "live"]


def test_concurrent_creators_on_one_shared_cache_each_get_a_whole_env(
    tmp_path: Path, index: IndexServer, lock_text: str
) -> None:
    index.delay = 0.2  # downloads overlap: every creator is in flight at once
    lock = tmp_path / "pylock.toml"
    lock.write_text(lock_text)
    cache, path = tmp_path / "shared-cache", tmp_path / "envs" / "same"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    creators = [
        subprocess.Popen(
            _creator(tmp_path, cache, path, lock), stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(4)
    ]
    results = []
    for proc in creators:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(json.loads(out)["created"])
    assert sorted(results) == [False, False, False, True]
    assert _versions(path / "bin" / "python")["alpha"] == "1.0"
    assert sorted(p.name for p in path.parent.iterdir()) == [".same.lock", "same"]


def test_a_creator_that_dies_leaves_nothing_trusted(
    tmp_path: Path, index: IndexServer, lock_text: str
) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(lock_text)
    cache, path = tmp_path / "shared-cache", tmp_path / "envs" / "torn"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    died = subprocess.run(_creator(tmp_path, cache, path, lock, "die"), env=env, check=False)
    assert died.returncode == 9
    assert not path.exists()
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".torn.tmp-")]
    assert leftovers  # the dead creator's staging directory, never at the final name
    made = _make(cache, path, LockedEnvRequest(lock_text))
    assert made.created
    assert (path / ENV_MARK).is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == [".torn.lock", "torn"]


def test_a_lock_for_another_platform_fails_with_that_reason(tmp_path: Path, lock_text: str) -> None:
    from cloche.errors import ClocheError

    other = lock_text.replace('sys_platform == "linux"', 'sys_platform == "win32"')
    assert other != lock_text
    path = tmp_path / "envs" / "win"
    with pytest.raises(ClocheError) as caught:
        _make(tmp_path / "cache", path, LockedEnvRequest(other))
    assert "cannot be installed on this machine (linux" in str(caught.value)
    assert not path.exists()
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]


def test_a_bundle_rehomes_every_file() -> None:
    from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock
    from packaging.version import Version

    from cloche.errors import UsageError
    from cloche.ops.bundle.rehome import lock_from_bundle

    wheel = PackageWheel(
        url="https://files.example/a/alpha-1.0-py3-none-any.whl", hashes={"sha256": "0" * 64}
    )
    sdist = PackageSdist(
        url="https://files.example/a/alpha-1.0.tar.gz", hashes={"sha256": "1" * 64}
    )
    package = Package(name="alpha", version=None, wheels=[wheel], sdist=sdist)  # type: ignore[arg-type]
    lock = Pylock(lock_version=Version("1.0"), created_by="t", packages=[package])  # type: ignore[arg-type]
    over_http = lock_from_bundle(lock, "https://bundles.example/b/")
    (moved,) = over_http.packages
    assert moved.wheels is not None and moved.sdist is not None
    assert moved.wheels[0].url == "https://bundles.example/b/wheels/alpha-1.0-py3-none-any.whl"
    assert moved.wheels[0].hashes == wheel.hashes
    assert moved.sdist.url == "https://bundles.example/b/wheels/alpha-1.0.tar.gz"
    on_disk = lock_from_bundle(lock, "/shared/bundle").packages[0]
    assert on_disk.wheels is not None
    assert on_disk.wheels[0].url == "file:///shared/bundle/wheels/alpha-1.0-py3-none-any.whl"
    with pytest.raises(UsageError, match="must be absolute"):
        lock_from_bundle(lock, "relative")
