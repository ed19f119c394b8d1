"""Wheels unpacked in helper processes: same trees and errors as in this process."""

from __future__ import annotations

import errno
import hashlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import pytest

from cloche.adapters.store import CorruptWheelError, Store, workers
from cloche.adapters.store import held as held_module
from cloche.adapters.store.held import HeldArchive
from cloche.adapters.store.workers import UnpackWorkers
from cloche.errors import InstallError
from tests.support.dists import make_wheel
from tests.test_store import BAD_CASES, _bad_wheels, check_refused, raw_wheel, stored_wheel


def _wheels(tmp_path: Path, count: int) -> list[Path]:
    return [
        make_wheel(
            tmp_path / "wheels",
            f"pkg{i}",
            "1.0",
            files={f"pkg{i}/__init__.py": f"N = {i}\n", f"pkg{i}/data.bin": bytes(range(256)) * 64},
            entry_points={"console_scripts": {f"pkg{i}": f"pkg{i}:main"}},
        )
        for i in range(count)
    ]


def _pool_with_a_dead_helper() -> UnpackWorkers:
    """One helper, killed before it gets any work."""
    workers = UnpackWorkers(1)
    (helper,) = workers._all
    helper.process.kill()
    helper.process.wait()
    return workers


def test_helpers_unpack_what_this_process_would(tmp_path: Path) -> None:
    here, helped = Store(tmp_path / "here"), Store(tmp_path / "helped")
    wheels = _wheels(tmp_path, 6)
    expected = [here.unpack_wheel(*stored_wheel(here, w)) for w in wheels]
    with helped.unpacking_in_processes(2), ThreadPoolExecutor(4) as pool:
        assert helped.unpacks_in_processes
        got = list(pool.map(lambda w: helped.unpack_wheel(*stored_wheel(helped, w)), wheels))
    assert not helped.unpacks_in_processes
    for want, have in zip(expected, got, strict=True):
        assert have.records == want.records
        assert have.path == helped.root / "wheels-v1" / want.sha256
        assert helped.unpacked(want.sha256) == have
        for row in have.records:
            assert (have.path / row.path).read_bytes() == (want.path / row.path).read_bytes()
    assert list((helped.root / "tmp").iterdir()) == []


@pytest.mark.parametrize("case", BAD_CASES)
def test_helpers_refuse_bad_wheels_with_the_same_error(tmp_path: Path, case: str) -> None:
    store = Store(tmp_path / "cache")
    wheel, detail = _bad_wheels(tmp_path / "bad")[case]
    archive, digest = stored_wheel(store, wheel)
    with store.unpacking_in_processes(1), pytest.raises(CorruptWheelError) as info:
        store.unpack_wheel(archive, digest)
    check_refused(info.value, detail, store, digest, tmp_path)


def test_a_helper_that_died_is_replaced_by_this_process(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    first, second = _wheels(tmp_path, 2)
    workers = _pool_with_a_dead_helper()
    try:
        destination = tmp_path / "out1"
        destination.mkdir()
        archive, digest = stored_wheel(store, first)
        wheel = workers.extract(archive, digest, destination)
        assert (destination / "pkg0" / "__init__.py").read_text() == "N = 0\n"
        assert len(wheel.records) == 5  # module, data, METADATA, WHEEL, entry_points.txt
        destination = tmp_path / "out2"
        destination.mkdir()
        archive, digest = stored_wheel(store, second)
        assert workers.extract(archive, digest, destination).name == "pkg1"
    finally:
        workers.close()


def test_a_disk_error_in_a_helper_is_an_os_error_here(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    archive, digest = stored_wheel(store, _wheels(tmp_path, 1)[0])
    workers = UnpackWorkers(1)
    try:
        not_a_directory = tmp_path / "file"
        not_a_directory.write_text("")
        with pytest.raises(OSError) as info:
            workers.extract(archive, digest, not_a_directory)
        assert info.value.errno == errno.ENOTDIR
    finally:
        workers.close()


def test_store_reports_a_helper_disk_error_as_this_process_does(tmp_path: Path) -> None:
    # A name longer than the filesystem allows: the write fails with ENAMETOOLONG.
    wheel = raw_wheel(tmp_path / "long", {"demo/" + "x" * 300 + ".py": b"X = 1\n"})
    messages = []
    for helpers in (0, 1):
        store = Store(tmp_path / f"cache{helpers}")
        archive, digest = stored_wheel(store, wheel)
        with (
            store.unpacking_in_processes(helpers) if helpers else nullcontext(),
            pytest.raises(InstallError) as info,
        ):
            store.unpack_wheel(archive, digest)
        messages.append(str(info.value).replace(str(store.root), "ROOT"))
        assert store.unpacked(digest) is None
        assert list((store.root / "tmp").iterdir()) == []
    assert messages[0] == messages[1]
    assert "cannot unpack demo-1.0-py3-none-any.whl into ROOT" in messages[0]
    assert "\n" not in messages[0]


def test_helpers_exit_when_the_block_ends(tmp_path: Path) -> None:
    workers = UnpackWorkers(2)
    processes = [helper.process for helper in workers._all]
    assert len(processes) == 2
    workers.close()
    assert all(p.returncode is not None for p in processes)


def test_helpers_unpack_wheels_sent_from_memory(tmp_path: Path) -> None:
    here, helped = Store(tmp_path / "here"), Store(tmp_path / "helped")
    wheels = _wheels(tmp_path, 3)
    expected = [here.unpack_wheel(*stored_wheel(here, w)) for w in wheels]
    with helped.unpacking_in_processes(2), ThreadPoolExecutor(3) as pool:
        got = list(
            pool.map(
                lambda pair: helped.unpack_wheel_data(
                    pair[0].name, pair[1].sha256, lambda sink: sink.write(pair[0].read_bytes())
                ),
                zip(wheels, expected, strict=True),
            )
        )
    for want, have in zip(expected, got, strict=True):
        assert have.records == want.records
        assert helped.unpacked(want.sha256) == have
    assert not (helped.root / "archives-v1").exists()  # never written to disk
    assert list((helped.root / "tmp").iterdir()) == []


@pytest.mark.parametrize("memory_file", [True, False], ids=["memfd", "bytes"])
def test_held_wheels_unpack_with_or_without_an_in_memory_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_file: bool
) -> None:
    if not memory_file:
        monkeypatch.setattr(held_module, "_memory_file", lambda: None)
    wheel = _wheels(tmp_path, 1)[0]
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    for helpers in (0, 2):
        store = Store(tmp_path / f"cache{helpers}")
        scope = store.unpacking_in_processes(helpers) if helpers else nullcontext()

        def fetch(sink: HeldArchive) -> None:
            sink.write(b"a first try that failed halfway")
            sink.restart()
            sink.write(data[:100])
            sink.write(memoryview(data)[100:])

        with scope:
            unpacked = store.unpack_wheel_data(wheel.name, digest, fetch)
        assert unpacked.name == "pkg0"
        assert (unpacked.path / "pkg0" / "data.bin").read_bytes() == bytes(range(256)) * 64


def test_a_held_wheel_is_unpacked_here_when_its_helper_died(tmp_path: Path) -> None:
    wheel = _wheels(tmp_path, 1)[0]
    data = wheel.read_bytes()
    held = HeldArchive(wheel.name)
    held.write(data)
    workers = _pool_with_a_dead_helper()
    try:
        destination = tmp_path / "out"
        destination.mkdir()
        unpacked = workers.extract_held(held, hashlib.sha256(data).hexdigest(), destination)
        assert unpacked.name == "pkg0"
        assert (destination / "pkg0" / "data.bin").read_bytes() == bytes(range(256)) * 64
    finally:
        workers.close()
        held.close()


def test_held_archive_keeps_the_bytes_until_closed(tmp_path: Path) -> None:
    held = HeldArchive("x-1.0-py3-none-any.whl")
    held.write(b"abc")
    held.restart()
    held.write(b"def")
    assert held.data() == b"def"
    if held.path is not None:  # Linux: another process can read it by path
        assert held.path.read_bytes() == b"def"
    held.close()
    held.close()  # twice is harmless


def test_a_held_wheel_a_helper_cannot_open_is_unpacked_here(tmp_path: Path) -> None:
    wheel = _wheels(tmp_path, 1)[0]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    destination = tmp_path / "out"
    destination.mkdir()
    unreadable = str(tmp_path / "not-there")
    job = {
        "archive": unreadable,
        "filename": wheel.name,
        "sha256": digest,
        "destination": str(destination),
    }
    pool = UnpackWorkers(1)
    try:
        here = lambda: workers._extract_file(wheel, digest, destination)  # noqa: E731
        unpacked = pool._run(job, b"", destination, here, unreadable=unreadable)
        assert unpacked.name == "pkg0"
        (helper,) = pool._all
        assert helper.process.poll() is None  # it answered properly: still serving
    finally:
        pool.close()


def test_a_wheel_from_memory_is_unpacked_here_when_its_helper_died(tmp_path: Path) -> None:
    wheel = _wheels(tmp_path, 1)[0]
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    workers = _pool_with_a_dead_helper()
    try:
        destination = tmp_path / "out"
        destination.mkdir()
        unpacked = workers.extract_data(data, wheel.name, digest, destination)
        assert unpacked.name == "pkg0"
        assert (destination / "pkg0" / "data.bin").read_bytes() == bytes(range(256)) * 64
    finally:
        workers.close()


def test_the_helpers_do_the_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    workers = UnpackWorkers(2)
    try:
        for i, wheel in enumerate(_wheels(tmp_path, 2)):
            destination = tmp_path / f"out{i}"
            destination.mkdir()
            archive, digest = stored_wheel(store, wheel)
            assert workers.extract(archive, digest, destination).name == f"pkg{i}"
        # Both answered and are still serving: none died and was replaced by this process.
        assert all(helper.process.poll() is None for helper in workers._all)
    finally:
        workers.close()


@pytest.mark.parametrize(
    "answer", ["nonsense", '{"manifest": {"format": 99}}', '{"os_error": 5}', "[1, 2]"]
)
def test_a_helper_answering_nonsense_is_retired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    program = (
        "import sys\n"
        "for line in sys.stdin.buffer:\n"
        f"    sys.stdout.write({answer!r} + '\\n'); sys.stdout.flush()\n"
    )
    monkeypatch.setattr(workers, "_SERVE", program)
    store = Store(tmp_path / "cache")
    first, second = _wheels(tmp_path, 2)
    pool = UnpackWorkers(1)
    try:
        for i, wheel in enumerate((first, second)):
            destination = tmp_path / f"out{i}"
            destination.mkdir()
            archive, digest = stored_wheel(store, wheel)
            assert pool.extract(archive, digest, destination).name == f"pkg{i}"  # done here
        (helper,) = pool._all
        assert helper.process.poll() is not None  # retired after its first answer
    finally:
        pool.close()


def test_a_wheel_from_memory_unpacks_here_without_helpers(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    wheel = _wheels(tmp_path, 1)[0]
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    calls = []

    def fetch(sink: HeldArchive) -> None:
        calls.append(1)
        sink.write(data)

    first = store.unpack_wheel_data(wheel.name, digest, fetch)
    assert first.name == "pkg0"
    assert store.unpack_wheel_data(wheel.name, digest, fetch) == first
    assert calls == [1]  # unpacked once, fetched once
