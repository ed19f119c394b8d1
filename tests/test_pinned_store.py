"""Exact pins served from the store: a warm ``pip sync`` / pinned ``pip install -r``
reads no index page, and anything the store cannot answer still asks the index."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from cloche.adapters.store.origins import ORIGINS, IndexOrigins, index_key
from cloche.config import Settings
from cloche.core.models import DistFile, normalize
from cloche.ops.finder.stored import exact_pins, single_index
from cloche.ops.requirements import gather
from tests.support.cli import cloche, installed, pip
from tests.support.index_server import IndexServer, add_hello_tool
from tests.test_python import pyenv_python

PINS = "alpha==1.0\nbeta==1.0\ntool==1.0\n"


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    s = index_server
    s.add_wheel("alpha", "1.0", requires=["beta>=1"])
    s.add_wheel("beta", "1.0")
    s.add_wheel("beta", "2.0")
    add_hello_tool(s)
    return s


def cache_dir() -> Path:
    return Path(os.environ["CLOCHE_CACHE_DIR"])


def new_venv(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    result = cloche("venv", path)
    assert result.code == 0, result
    return path


def forget_index_pages() -> None:
    """Drop every cached index page and metadata: only the store's wheels are left."""
    for bucket in cache_dir().iterdir():
        if bucket.name.startswith(("http-", "metadata-")):
            shutil.rmtree(bucket)


@pytest.fixture
def warm(index: IndexServer, tmp_path: Path) -> Path:
    """The pins installed once (the store holds them), then the index's pages forgotten."""
    first = new_venv(tmp_path, "first")
    result = pip(index, first, "install", "alpha==1.0", "beta==1.0", "tool==1.0")
    assert result.code == 0, result
    forget_index_pages()
    index.requests.clear()
    req = tmp_path / "requirements.txt"
    req.write_text(PINS)
    return req


def test_sync_of_pins_reads_no_index_page(index: IndexServer, warm: Path, tmp_path: Path) -> None:
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", warm)
    assert result.code == 0, result
    assert index.requests == []
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0", "tool": "1.0"}
    done = subprocess.run([venv / "bin" / "tool-hello"], capture_output=True, text=True)
    assert done.stdout == "hello from tool\n"
    record = next((venv / "lib").glob("python*/site-packages/alpha-1.0.dist-info/REQUESTED"))
    assert record.exists()


def test_pinned_install_resolves_from_the_store(
    index: IndexServer, warm: Path, tmp_path: Path
) -> None:
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "install", "-r", warm)
    assert result.code == 0, result
    assert index.requests == []
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0", "tool": "1.0"}
    assert cloche("pip", "check", "--python", venv).code == 0


def test_dry_run_from_the_store_changes_nothing(
    index: IndexServer, warm: Path, tmp_path: Path
) -> None:
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", "--dry-run", warm)
    assert result.code == 0, result
    assert "alpha==1.0" in result.out + result.err
    assert index.requests == []
    assert installed(venv) == {}


def test_an_unpinned_dependency_comes_from_the_index(
    index: IndexServer, warm: Path, tmp_path: Path
) -> None:
    # beta 1.0 is in the store, but only the index knows 2.0 is the newest
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "install", "alpha==1.0")
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0"}
    assert index.requests_to("/simple/beta/")


def test_a_pin_the_store_lacks_asks_the_index(
    index: IndexServer, warm: Path, tmp_path: Path
) -> None:
    warm.write_text("alpha==1.0\nbeta==2.0\n")
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", warm)
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "2.0"}
    assert index.requests_to("/simple/beta/")


def test_a_kept_sdist_build_is_served_for_its_own_python(
    index: IndexServer, tmp_path: Path
) -> None:
    python310 = pyenv_python("3.10")
    index.add_sdist("srconly", "0.5")
    index.add_sdist("native", "1.0", native=True)
    first = new_venv(tmp_path, "first")
    assert pip(index, first, "install", "srconly==0.5", "native==1.0").code == 0
    forget_index_pages()
    index.requests.clear()
    req = tmp_path / "requirements.txt"
    req.write_text("srconly==0.5\nnative==1.0\n")

    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", req)
    assert result.code == 0, result
    assert index.requests == []
    assert installed(venv) == {"native": "1.0", "srconly": "0.5"}

    # the native build was for this Python: a 3.10 venv needs the index and a build
    other = tmp_path / "py310"
    assert cloche("venv", other, "--python", python310).code == 0
    result = pip(index, other, "sync", req)
    assert result.code == 0, result
    assert index.requests_to("/simple/native/")
    built = next((other / "lib").glob("python*/site-packages/native/built_with.txt"))
    assert built.read_text() == "cp310"


@pytest.mark.parametrize(
    "extra",
    [("--refresh",), ("--extra-index-url", "{url}"), ("--upgrade",)],
    ids=["refresh", "extra-index", "upgrade"],
)
def test_what_needs_the_index_asks_it(
    index: IndexServer, warm: Path, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    venv = new_venv(tmp_path, "second")
    args = [a.format(url=index.url) for a in extra]
    result = pip(index, venv, "install", "-r", warm, *args)
    assert result.code == 0, result
    assert index.requests_to("/simple/alpha/")


def test_another_index_is_asked_itself(
    index: IndexServer, warm: Path, tmp_path: Path, make_index
) -> None:
    other = make_index()
    other.add_wheel("alpha", "1.0", requires=["beta>=1"], files={"alpha/__init__.py": "X = 2\n"})
    other.add_wheel("beta", "1.0", files={"beta/__init__.py": "X = 2\n"})
    other.add_wheel("tool", "1.0", files={"tool/__init__.py": "X = 2\n"})
    venv = new_venv(tmp_path, "second")
    result = pip(other, venv, "sync", warm)
    assert result.code == 0, result
    assert other.requests_to("/simple/alpha/")
    alpha = next((venv / "lib").glob("python*/site-packages/alpha/__init__.py"))
    assert alpha.read_text() == "X = 2\n"  # the other index's file, not the stored one
    assert index.requests == []


def test_require_hashes_from_the_store(index: IndexServer, warm: Path, tmp_path: Path) -> None:
    lines = []
    for name in ("alpha", "beta", "tool"):
        wheel = index.files_dir / f"{name}-1.0-py3-none-any.whl"
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{name}==1.0 --hash=sha256:{digest}")
    warm.write_text("\n".join(lines) + "\n")
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", warm)
    assert result.code == 0, result
    assert index.requests == []
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0", "tool": "1.0"}


def test_a_wrong_hash_still_fails_and_changes_nothing(
    index: IndexServer, warm: Path, tmp_path: Path
) -> None:
    warm.write_text("beta==1.0 --hash=sha256:" + "0" * 64 + "\n")
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", warm)
    assert result.code != 0
    assert "hash" in result.err
    assert "Traceback" not in result.err
    assert installed(venv) == {}


def test_a_wheel_gone_from_the_store_is_fetched_again(
    index: IndexServer, warm: Path, tmp_path: Path
) -> None:
    wheels = cache_dir() / "wheels-v1"
    for entry in wheels.iterdir():
        manifest = json.loads((entry / ".cloche-manifest.json").read_text())
        if manifest["name"] == "beta":
            shutil.rmtree(entry)
    venv = new_venv(tmp_path, "second")
    result = pip(index, venv, "sync", warm)
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0", "tool": "1.0"}
    assert index.requests_to("/simple/beta/")


def test_cache_clean_and_prune_drop_origins(index: IndexServer, warm: Path) -> None:
    info = cloche("cache", "info")
    assert info.code == 0, info
    assert re.search(r"origins-v1 +3 entries", info.out), info.out  # one per stored file
    origins = cache_dir() / ORIGINS
    assert sorted(p.name for p in origins.glob("*/*")) == ["alpha", "beta", "tool"]
    assert cloche("cache", "clean", "beta").code == 0
    assert sorted(p.name for p in origins.glob("*/*")) == ["alpha", "tool"]
    for entry in (cache_dir() / "wheels-v1").iterdir():
        if json.loads((entry / ".cloche-manifest.json").read_text())["name"] == "tool":
            shutil.rmtree(entry)
    assert cloche("cache", "prune").code == 0
    assert sorted(p.name for p in origins.glob("*/*/*.whl")) == ["alpha-1.0-py3-none-any.whl"]


# -- units ---------------------------------------------------------------------------


def dist_file(filename: str, sha: str = "a" * 64, index: str = "https://i.test/simple") -> DistFile:
    name, version = filename.split("-")[:2]
    version = version.removesuffix(".tar.gz").removesuffix(".exe")
    return DistFile(
        name=normalize(name),
        version=Version(version),
        filename=filename,
        url=f"https://files.test/{filename}",
        index=index,
        hashes=(("sha256", sha),),
        size=12,
    )


def test_origins_round_trip_and_version_filter(tmp_path: Path) -> None:
    origins = IndexOrigins(tmp_path)
    origins.note(dist_file("pkg-1.0-py3-none-any.whl"))
    origins.note(dist_file("pkg-2.0-py3-none-any.whl", "b" * 64))
    origins.note(dist_file("pkg-1.0.tar.gz", "c" * 64))
    origins.note(dist_file("pkg-1.0.exe"))  # not a wheel or sdist: never noted
    found = origins.listed("https://i.test/simple/", normalize("pkg"), lambda v: v.major == 1)
    assert sorted((f.filename, f.sha256, f.size) for f in found) == [
        ("pkg-1.0-py3-none-any.whl", "a" * 64, 12),
        ("pkg-1.0.tar.gz", "c" * 64, 12),
    ]
    assert origins.listed("https://other.test/simple", normalize("pkg"), lambda v: True) == []


def test_an_index_that_now_serves_other_bytes_is_believed(tmp_path: Path) -> None:
    origins = IndexOrigins(tmp_path)
    origins.note(dist_file("pkg-1.0-py3-none-any.whl", "a" * 64))
    origins.note(dist_file("pkg-1.0-py3-none-any.whl", "b" * 64))  # re-uploaded
    found = origins.listed("https://i.test/simple", normalize("pkg"), lambda v: True)
    assert [f.sha256 for f in found] == ["b" * 64]


@pytest.mark.parametrize(
    "content",
    ["not json", '{"format": 1}', '{"format": 1, "sha256": "xyz", "url": "u"}', "[]"],
)
def test_a_broken_origin_entry_is_ignored(tmp_path: Path, content: str) -> None:
    origins = IndexOrigins(tmp_path)
    directory = tmp_path / ORIGINS / index_key("https://i.test/simple") / "pkg"
    directory.mkdir(parents=True)
    (directory / "pkg-1.0-py3-none-any.whl").write_text(content)
    assert origins.listed("https://i.test/simple", normalize("pkg"), lambda v: True) == []


def test_an_unwritable_cache_only_loses_the_shortcut(tmp_path: Path) -> None:
    (tmp_path / ORIGINS).write_text("a file where the bucket should be")
    IndexOrigins(tmp_path).note(dist_file("pkg-1.0-py3-none-any.whl"))


def test_exact_pins(tmp_path: Path) -> None:
    req = tmp_path / "r.txt"
    req.write_text("a==1.0\nb===2\nc[x]==3 ; python_version > '3'\n")
    pins = exact_pins(gather(requirement_files=[req]))
    assert pins is not None and sorted(pins) == ["a", "b", "c"]
    for loose in ("a>=1", "a==1.*", "a", "a @ https://x.test/a-1.0-py3-none-any.whl"):
        req.write_text(f"a==1.0\n{loose}\n" if "@" in loose else f"{loose}\n")
        assert exact_pins(gather(requirement_files=[req])) is None, loose


def test_single_index(tmp_path: Path) -> None:
    base = Settings(cache_dir=tmp_path, index_url="https://u:p@i.test/simple")
    assert single_index(base) == "https://i.test/simple"
    assert single_index(Settings(cache_dir=tmp_path, refresh=True)) is None
    assert single_index(Settings(cache_dir=tmp_path, extra_index_urls=("https://x",))) is None
    assert single_index(Settings(cache_dir=tmp_path, find_links=("/d",))) is None
    assert single_index(Settings(cache_dir=tmp_path, no_index=True)) is None
