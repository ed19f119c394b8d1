"""Wheels fetched ahead: which pins start one, in what order, and what stops them."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.version import Version

from cloche.adapters.store import Store, UnpackedWheel
from cloche.core.models import DistFile, NormalizedName, Target, UserRequirement, normalize
from cloche.core.resolver import ResolveOptions
from cloche.ops.prepare.ahead import AheadFetcher, Stopped
from cloche.ops.prepare.pinned_ahead import PinnedWheelsAhead
from cloche.ops.requirements import Asked
from tests.support.cli import installed, pip
from tests.support.index_server import IndexServer
from tests.test_pinned_store import cache_dir, new_venv

MB = 1024 * 1024
TARGET = Target(
    python_version=Version("3.11.7"),
    marker_env=(("python_version", "3.11"), ("sys_platform", "linux")),
    tags=(Tag("cp311", "cp311", "manylinux_2_17_x86_64"), Tag("py3", "none", "any")),
    platform="linux",
)


def dist(filename: str, size: int = 1000, sha: str | None = None) -> DistFile:
    name, version = filename.split("-")[:2]
    return DistFile(
        name=normalize(name),
        version=Version(version.removesuffix(".tar.gz")),
        filename=filename,
        url=f"https://files.test/{filename}",
        index="https://i.test/simple/",
        hashes=(("sha256", sha or filename.encode().hex()[:64].ljust(64, "0")),),
        size=size,
    )


def wheel_for(file: DistFile, root: Path) -> UnpackedWheel:
    return UnpackedWheel(
        path=root / file.filename,
        sha256=file.sha256 or "",
        filename=file.filename,
        name=file.name,
        version=file.version,
        dist_info=f"{file.name}-{file.version}.dist-info",
        records=(),
    )


# -- AheadFetcher ----------------------------------------------------------------------


def test_biggest_waiting_wheel_goes_first_and_take_gives_its_result(tmp_path: Path) -> None:
    gate, began = threading.Event(), threading.Event()
    order: list[str] = []

    def produce(file: DistFile) -> UnpackedWheel:
        began.set()
        gate.wait(5)
        order.append(file.name)
        return wheel_for(file, tmp_path)

    files = [dist("first-1.0-py3-none-any.whl", 10), dist("small-1.0-py3-none-any.whl", 1)]
    files += [dist("big-1.0-py3-none-any.whl", 900), dist("mid-1.0-py3-none-any.whl", 50)]
    fetcher = AheadFetcher(produce, Store(tmp_path / "cache"), threads=1)
    try:
        fetcher.start(files[0])
        assert began.wait(5)  # the one thread is busy: the others wait their turn
        for file in files[1:]:
            fetcher.start(file)
        fetcher.start(files[2])  # twice: one fetch
        gate.set()
        results = {f.name: fetcher.take(f).result(5) for f in files}  # type: ignore[union-attr]
    finally:
        fetcher.close()
    assert order == ["first", "big", "mid", "small"]
    assert results["big"].dist_info == "big-1.0.dist-info"
    assert fetcher.take(dist("other-1.0-py3-none-any.whl")) is None


def test_an_error_reaches_whoever_takes_the_wheel(tmp_path: Path) -> None:
    def produce(file: DistFile) -> UnpackedWheel:
        raise RuntimeError(f"cannot fetch {file.filename}")

    file = dist("broken-1.0-py3-none-any.whl")
    fetcher = AheadFetcher(produce, Store(tmp_path / "cache"), threads=2)
    try:
        fetcher.start(file)
        job = fetcher.take(file)
        assert job is not None
        with pytest.raises(RuntimeError, match="cannot fetch broken"):
            job.result(5)
    finally:
        fetcher.close()


def test_close_stops_running_fetches_and_cancels_waiting_ones(tmp_path: Path) -> None:
    running = threading.Event()

    def produce(file: DistFile) -> UnpackedWheel:
        running.set()
        while True:  # a download checking its sink between chunks
            if fetcher.stopped.wait(0.01):
                raise Stopped

    slow, waiting = dist("slow-1.0-py3-none-any.whl", 5), dist("later-1.0-py3-none-any.whl")
    fetcher = AheadFetcher(produce, Store(tmp_path / "cache"), threads=1)
    fetcher.start(slow)
    assert running.wait(5)
    fetcher.start(waiting)
    fetcher.close()
    assert isinstance(fetcher.take(slow).exception(0), Stopped)  # type: ignore[union-attr]
    assert fetcher.take(waiting).cancelled()  # type: ignore[union-attr]
    fetcher.start(dist("after-1.0-py3-none-any.whl"))  # ignored once closed
    assert fetcher.take(dist("after-1.0-py3-none-any.whl")) is None


def test_helpers_start_once_there_is_enough_to_unpack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    gate = threading.Event()
    store = Store(tmp_path / "cache")

    def produce(file: DistFile) -> UnpackedWheel:
        gate.wait(5)
        return wheel_for(file, tmp_path)

    fetcher = AheadFetcher(produce, store, threads=2)
    try:
        fetcher.start(dist("one-1.0-py3-none-any.whl", 6 * MB))
        assert not store.unpacks_in_processes  # one wheel: threads do
        fetcher.start(dist("two-1.0-py3-none-any.whl", 3 * MB))
        assert store.unpacks_in_processes
    finally:
        gate.set()
        fetcher.close()
    assert not store.unpacks_in_processes


# -- PinnedWheelsAhead -------------------------------------------------------------------


def asked(*lines: str, constraints: tuple[str, ...] = ()) -> Asked:
    def user(line: str) -> UserRequirement:
        editable = line.startswith("-e ")
        return UserRequirement(Requirement(line.removeprefix("-e ")), "test", editable=editable)

    return Asked(
        requirements=tuple(user(x) for x in lines),
        constraints=tuple(user(x) for x in constraints),
        files=None,
    )


def started_for(
    request: Asked,
    listings: dict[str, list[DistFile]],
    installed: dict[NormalizedName, Version] | None = None,
) -> list[str]:
    started: list[DistFile] = []
    pick = PinnedWheelsAhead(started.append, request, TARGET, ResolveOptions(), installed or {})
    for name, files in listings.items():
        assert list(pick(normalize(name), files)) == []  # no metadata is ever asked for
    return [f.filename for f in started]


LISTINGS = {
    "numpy": [
        dist("numpy-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        dist("numpy-2.0-cp311-cp311-win_amd64.whl"),
        dist("numpy-2.0-py3-none-any.whl"),
        dist("numpy-2.0.tar.gz"),
        dist("numpy-2.1-cp311-cp311-manylinux_2_17_x86_64.whl"),
    ],
    "six": [dist("six-1.0-py3-none-any.whl"), dist("six-1.1-py3-none-any.whl")],
    "onlysdist": [dist("onlysdist-1.0.tar.gz")],
}


def test_each_exact_pin_starts_the_wheel_the_resolver_would_choose() -> None:
    request = asked("numpy==2.0", "six==1.1", "onlysdist==1.0")
    assert started_for(request, LISTINGS) == [
        "numpy-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",  # the best tag, not py3-none-any
        "six-1.1-py3-none-any.whl",
    ]


def test_ranges_urls_editables_and_other_markers_start_nothing() -> None:
    request = asked(
        "numpy>=2.0",
        "six==1.1; sys_platform == 'win32'",
        "onlysdist @ https://files.test/onlysdist-1.0.tar.gz",
    )
    assert started_for(request, LISTINGS) == []
    assert started_for(asked("-e six @ file:///src/six", "six==1.0"), LISTINGS) == []


def test_a_constraint_can_make_the_pin() -> None:
    request = asked("numpy>=2.0", "six", constraints=("numpy==2.1",))
    assert started_for(request, LISTINGS) == ["numpy-2.1-cp311-cp311-manylinux_2_17_x86_64.whl"]
    assert started_for(asked("numpy==3.0"), LISTINGS) == []  # nothing matches: the resolver says


def test_a_wheel_outside_the_pins_hashes_starts_nothing() -> None:
    wheel = "six-1.1-py3-none-any.whl"
    good, other = dist(wheel).sha256 or "", "0" * 64
    for hashes, expected in (((good, other), [wheel]), ((other,), [])):
        request = Asked(
            requirements=tuple(
                UserRequirement(Requirement("six==1.1"), "t", hashes=(("sha256", h),))
                for h in hashes
            ),
            constraints=(),
            files=None,
        )
        assert started_for(request, LISTINGS) == expected


def test_a_pin_the_environment_already_has_starts_nothing() -> None:
    request = asked("numpy==2.0", "six==1.1")
    have = {normalize("numpy"): Version("2.0"), normalize("six"): Version("1.0")}
    assert started_for(request, LISTINGS, have) == ["six-1.1-py3-none-any.whl"]


# -- end to end --------------------------------------------------------------------------


def test_sync_with_a_bad_pin_fails_as_before_and_leaves_the_env(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("alpha", "1.0")
    index_server.add_wheel("beta", "1.0")
    venv = new_venv(tmp_path, "v")
    req = tmp_path / "requirements.txt"
    req.write_text("alpha==1.0\nbeta==9.9\n")
    result = pip(index_server, venv, "sync", req)
    assert result.code != 0
    assert "beta" in result.err and "Traceback" not in result.err
    assert installed(venv) == {}
    # alpha's wheel was started before beta's page said no: stored whole, or not at all
    assert not list((cache_dir() / "tmp").glob("unpack-*"))
    req.write_text("alpha==1.0\nbeta==1.0\n")
    result = pip(index_server, venv, "sync", req)
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0"}


def test_a_corrupt_wheel_fetched_ahead_reports_as_before(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("alpha", "1.0")
    filename = "alpha-1.0-py3-none-any.whl"
    path = index_server.files_dir / filename
    path.write_bytes(path.read_bytes()[:-40])  # the listed sha256 no longer matches
    venv = new_venv(tmp_path, "v")
    req = tmp_path / "requirements.txt"
    req.write_text("alpha==1.0\n")
    result = pip(index_server, venv, "sync", req)
    assert result.code != 0
    assert "hash mismatch" in result.err and filename in result.err
    assert installed(venv) == {}


def test_install_with_dependencies_fetches_pinned_wheels_ahead_too(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("alpha", "1.0", requires=["beta>=1"])
    index_server.add_wheel("beta", "1.0")
    index_server.add_wheel("beta", "2.0")
    venv = new_venv(tmp_path, "v")
    result = pip(index_server, venv, "install", "alpha==1.0", "beta==1.0")
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0"}
    wheels = [r.path for r in index_server.requests if r.path.endswith(".whl")]
    assert sorted(wheels) == [
        "/files/alpha-1.0-py3-none-any.whl",
        "/files/beta-1.0-py3-none-any.whl",
    ]
    # a conflict still fails as the resolver says, with nothing installed
    other = new_venv(tmp_path, "w")
    result = pip(index_server, other, "install", "alpha==1.0", "beta==0.5")
    assert result.code != 0 and "beta" in result.err
    assert installed(other) == {}


def test_require_hashes_checks_the_wheel_fetched_ahead_without_a_second_download(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("alpha", "1.0")
    index_server.add_wheel("beta", "1.0")
    digest = {
        name: hashlib.sha256((index_server.files_dir / f"{name}-1.0-py3-none-any.whl").read_bytes())
        for name in ("alpha", "beta")
    }
    venv = new_venv(tmp_path, "v")
    req = tmp_path / "requirements.txt"
    req.write_text(
        f"alpha==1.0 --hash=sha256:{digest['alpha'].hexdigest()}\n"
        f"beta==1.0 --hash=sha256:{'0' * 64}\n"
    )
    result = pip(index_server, venv, "sync", req)
    assert result.code != 0 and "hash mismatch" in result.err and "beta" in result.err
    assert installed(venv) == {}
    index_server.requests.clear()
    req.write_text("".join(f"{n}==1.0 --hash=sha256:{d.hexdigest()}\n" for n, d in digest.items()))
    result = pip(index_server, venv, "sync", req)
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0", "beta": "1.0"}
    wheels = [r.path for r in index_server.requests if r.path.endswith(".whl")]
    assert len(set(wheels)) == len(wheels)  # none downloaded twice
