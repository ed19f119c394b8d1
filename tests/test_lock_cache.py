"""The parsed-lock cache: a lock read before comes back without parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.pylock import Pylock

from cloche.adapters.lock_cache import _KEEP, BUCKET, ParsedLocks
from cloche.core.lock.toml_reader import parse_lock
from cloche.errors import ProjectError

LOCK = b"""lock-version = "1.0"
created-by = "cloche"

[[packages]]
name = "alpha"
version = "1.0"
index = "https://pypi.example/simple/alpha/"

[[packages.wheels]]
name = "alpha-1.0-py3-none-any.whl"
url = "https://files.example/alpha-1.0-py3-none-any.whl"
upload-time = 2024-01-02T03:04:05Z
hashes = {sha256 = "%s"}
"""


def lock_bytes(n: int = 0) -> bytes:
    return LOCK % (f"{n:064x}".encode(),)


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes) -> Pylock:
        self.calls += 1
        return parse_lock(data.decode())


def test_second_read_comes_from_the_cache(tmp_path: Path) -> None:
    parse = Counting()
    cache = ParsedLocks(tmp_path)
    first = cache.load(lock_bytes(), parse)
    again = ParsedLocks(tmp_path).load(lock_bytes(), parse)
    assert parse.calls == 1
    assert again == first
    assert again.packages[0].wheels is not None
    assert again.packages[0].wheels[0].upload_time == first.packages[0].wheels[0].upload_time
    assert len(list((tmp_path / BUCKET).glob("*.pickle"))) == 1


def test_other_bytes_are_parsed(tmp_path: Path) -> None:
    parse = Counting()
    cache = ParsedLocks(tmp_path)
    one, two = cache.load(lock_bytes(1), parse), cache.load(lock_bytes(2), parse)
    assert parse.calls == 2
    assert one != two


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_a_broken_entry_is_parsed_again_and_rewritten(tmp_path: Path, garbage: bytes) -> None:
    parse = Counting()
    ParsedLocks(tmp_path).load(lock_bytes(), parse)
    (entry,) = (tmp_path / BUCKET).glob("*.pickle")
    entry.write_bytes(garbage)  # torn write, or an int pickled by someone else
    lock = ParsedLocks(tmp_path).load(lock_bytes(), parse)
    assert parse.calls == 2 and lock.packages[0].name == "alpha"
    ParsedLocks(tmp_path).load(lock_bytes(), parse)
    assert parse.calls == 2


def test_a_parse_error_propagates_and_keeps_nothing(tmp_path: Path) -> None:
    def parse(data: bytes) -> Pylock:
        raise ProjectError("pylock.toml: invalid TOML")

    with pytest.raises(ProjectError, match="invalid TOML"):
        ParsedLocks(tmp_path).load(b"[[", parse)
    assert not list(tmp_path.rglob("*.pickle"))


def test_the_oldest_entries_go(tmp_path: Path) -> None:
    import os

    cache = ParsedLocks(tmp_path)
    for n in range(_KEEP + 3):
        cache.load(lock_bytes(n), Counting())
        entry = max((tmp_path / BUCKET).glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        os.utime(entry, (n, n))  # distinct ages, however coarse the file system's clock
    assert len(list((tmp_path / BUCKET).glob("*.pickle"))) == _KEEP


def test_an_unwritable_cache_costs_only_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    parse = Counting()
    lock = ParsedLocks(blocker).load(lock_bytes(), parse)
    assert lock.packages[0].name == "alpha" and parse.calls == 1
