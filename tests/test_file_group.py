"""Judging releases builds only the chosen file of each; the rest are built when read.

A listing's group may be a ``FileGroup``: per-file facts known up front, each DistFile
built by a callback when first read. These tests count the callbacks' calls.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.core.listing import FileGroup, FileListing
from cloche.core.models import DistFile, NormalizedName
from cloche.core.resolver.options import FilePolicy
from cloche.core.resolver.releases import Exclusion, Release, ReleaseTable, tag_ranks
from cloche.core.targets import target_for

NAME = NormalizedName("demo")
TARGET = target_for("3.11", "linux")
RANKS = tag_ranks(TARGET.tag_priority())
INDEX = "https://example.org/simple"


def dist(
    filename: str,
    version: str,
    *,
    requires_python: str | None = None,
    yanked: str | None = None,
    sha256: str | None = None,
) -> DistFile:
    return DistFile(
        NAME,
        Version(version),
        filename,
        f"https://files.example.org/{filename}",
        INDEX,
        (("sha256", sha256),) if sha256 else (),
        SpecifierSet(requires_python) if requires_python else None,
        yanked,
    )


def release_files(version: str, **extra: Any) -> list[DistFile]:
    """A release's usual files: two wheels (one fits the target) and an sdist."""
    return [
        dist(f"demo-{version}-cp311-cp311-win_amd64.whl", version, **extra),
        dist(f"demo-{version}-cp311-cp311-manylinux_2_17_x86_64.whl", version, **extra),
        dist(f"demo-{version}.tar.gz", version, **extra),
    ]


class CountingListing:
    """A listing whose groups build files lazily, counting every fact and file made."""

    def __init__(self, files: Sequence[DistFile]) -> None:
        self.built: Counter[str] = Counter()
        self.facts_read: Counter[str] = Counter()
        self.hashes_read: Counter[str] = Counter()
        groups: dict[Version, list[Any]] = {}
        for file in files:
            groups.setdefault(file.version, []).append(file)
        self.listing = FileListing(NAME, groups, self._group)

    def _group(self, version: Version, items: Sequence[Any]) -> FileGroup:
        def facts(at: int) -> tuple[SpecifierSet | None, bool]:
            self.facts_read[items[at].filename] += 1
            return items[at].requires_python, items[at].yanked is not None

        def build(at: int) -> DistFile:
            self.built[items[at].filename] += 1
            made: DistFile = items[at]
            return made

        def sha256(at: int) -> str | None:
            self.hashes_read[items[at].filename] += 1
            found: str | None = items[at].sha256
            return found

        return FileGroup([f.filename for f in items], facts, build, sha256)

    def table(
        self, policy: FilePolicy = FilePolicy.ANY, hashes: frozenset[str] = frozenset()
    ) -> ReleaseTable:
        return ReleaseTable(NAME, self.listing, TARGET, RANKS, policy, hashes)


def judged_both_ways(
    files: Sequence[DistFile],
    policy: FilePolicy = FilePolicy.ANY,
    hashes: frozenset[str] = frozenset(),
) -> tuple[Release, ...]:
    """Every release, judged through a lazy listing; checked equal to the eager judgement."""
    lazy = CountingListing(files).table(policy, hashes).all()
    eager = ReleaseTable(NAME, list(files), TARGET, RANKS, policy, hashes).all()
    assert [(r.version, r.chosen, r.yanked, r.excluded) for r in lazy] == [
        (r.version, r.chosen, r.yanked, r.excluded) for r in eager
    ]
    assert [tuple(r.files) for r in lazy] == [tuple(r.files) for r in eager]
    return lazy


def test_judging_builds_only_each_chosen_file_and_files_builds_the_rest_once() -> None:
    files = [f for v in ("1.0", "1.1", "2.0", "2.1") for f in release_files(v)]
    counting = CountingListing(files)
    releases = counting.table().all()
    assert sum(counting.built.values()) == len(releases) == 4
    assert all(r.chosen is not None and "manylinux" in r.chosen.filename for r in releases)
    assert set(counting.built) == {r.chosen.filename for r in releases if r.chosen}
    # Only the files that could install on the target had their facts read.
    assert set(counting.facts_read) == {f.filename for f in files if "win" not in f.filename}

    for release in releases:
        assert tuple(release.files) == tuple(f for f in files if f.version == release.version)
        assert release.files[1] is release.chosen  # the file built to judge, not a copy
    assert sum(counting.built.values()) == len(files)
    assert set(counting.built.values()) == {1}

    for release in releases:  # read again: nothing is built twice
        assert len(list(release.files)) == 3
    assert set(counting.built.values()) == {1}
    assert not counting.hashes_read  # no --hash: no file's hash is asked for


def test_files_read_from_many_threads_are_the_same_objects() -> None:
    counting = CountingListing(release_files("1.0"))
    (release,) = counting.table().all()
    seen: list[tuple[DistFile, ...]] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        seen.append(tuple(release.files))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    for files in seen:
        assert all(a is b for a, b in zip(files, seen[0], strict=True))


def test_a_group_compares_as_the_tuple_of_its_files() -> None:
    files = release_files("1.0")
    group = FileGroup.of(files)
    lazy = CountingListing(files).listing.group(Version("1.0"))
    assert group == tuple(files) == lazy
    assert hash(group) == hash(tuple(files)) == hash(lazy)
    assert group != tuple(files[:2])
    assert list(group[1:]) == files[1:]
    assert group[-1] is files[-1]
    with pytest.raises(IndexError):
        group[3]


def test_yanked_only_release_chooses_a_yanked_file() -> None:
    files = [
        *release_files("1.0"),
        dist("demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", "2.0", yanked="broken"),
        dist("demo-2.0.tar.gz", "2.0", yanked=""),
        dist("demo-3.0-cp311-cp311-manylinux_2_17_x86_64.whl", "3.0", yanked="broken"),
        dist("demo-3.0.tar.gz", "3.0"),
    ]
    newest, middle, oldest = judged_both_ways(files)
    assert middle.yanked and middle.chosen is not None
    assert middle.chosen.filename == "demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    # A file that is not yanked beats a better-ranked yanked one.
    assert not newest.yanked and newest.chosen is not None
    assert newest.chosen.filename == "demo-3.0.tar.gz"
    assert not oldest.yanked


def test_requires_python_exclusions_build_nothing() -> None:
    files = [
        *release_files("1.0"),
        *release_files("2.0", requires_python=">=3.12"),
        dist("demo-3.0-cp311-cp311-manylinux_2_17_x86_64.whl", "3.0", requires_python=">=3.12"),
        dist("demo-3.0.tar.gz", "3.0", requires_python=">=3.8"),
    ]
    counting = CountingListing(files)
    newest, middle, oldest = counting.table().all()
    assert middle.chosen is None and middle.excluded is Exclusion.REQUIRES_PYTHON
    assert middle.requires_python == SpecifierSet(">=3.12")
    assert newest.chosen is not None and newest.chosen.filename == "demo-3.0.tar.gz"
    assert oldest.chosen is not None
    assert set(counting.built) == {newest.chosen.filename, oldest.chosen.filename}
    judged_both_ways(files)


def test_no_file_for_the_target() -> None:
    files = [dist("demo-1.0-cp311-cp311-win_amd64.whl", "1.0")]
    (release,) = judged_both_ways(files)
    assert release.chosen is None and release.excluded is Exclusion.NO_FILE


def test_hash_allow_list_chooses_the_sdist_over_the_wheel() -> None:
    files = [
        dist("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "1.0", sha256="aa"),
        dist("demo-1.0.tar.gz", "1.0", sha256="bb"),
        dist("demo-1.0.zip", "1.0", sha256="cc"),
    ]
    (release,) = judged_both_ways(files, hashes=frozenset({"bb"}))
    assert release.chosen is not None and release.chosen.filename == "demo-1.0.tar.gz"

    counting = CountingListing(files)
    (release,) = counting.table(hashes=frozenset({"bb"})).all()
    assert set(counting.built) == {"demo-1.0.tar.gz"}  # hashes read from facts, not files
    assert set(counting.hashes_read) == {f.filename for f in files}

    # A hash no file has leaves the choice as it was.
    (release,) = judged_both_ways(files, hashes=frozenset({"zz"}))
    assert release.chosen is not None and release.chosen.is_wheel


@pytest.mark.parametrize(
    ("policy", "chosen"),
    [
        (FilePolicy.ANY, "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        (FilePolicy.NO_BINARY, "demo-1.0.tar.gz"),
        (FilePolicy.ONLY_BINARY, "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
    ],
)
def test_file_policies_choose_as_before(policy: FilePolicy, chosen: str) -> None:
    (release,) = judged_both_ways(release_files("1.0"), policy)
    assert release.chosen is not None and release.chosen.filename == chosen


def test_only_binary_without_a_wheel_excludes_the_release() -> None:
    files = [dist("demo-1.0.tar.gz", "1.0"), dist("demo-1.0.zip", "1.0")]
    (release,) = judged_both_ways(files, FilePolicy.ONLY_BINARY)
    assert release.excluded is Exclusion.NO_FILE
    (release,) = judged_both_ways(files)
    assert release.chosen is not None and release.chosen.filename == "demo-1.0.tar.gz"


def test_listing_of_built_files_judges_the_same() -> None:
    files = [f for v in ("1.0", "2.0") for f in release_files(v)]
    listing = FileListing.of(NAME, files)
    group = listing.group(Version("2.0"))
    assert isinstance(group, FileGroup) and tuple(group) == tuple(files[3:])
    releases = judged_both_ways(files)
    assert [str(r.version) for r in releases] == ["2.0", "1.0"]


def test_compressed_tag_sets_rank_as_their_best_tag_once_per_resolve() -> None:
    plain = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    compressed = "demo-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    nothing_fits = "demo-3.0-cp27.cp36-none-win32.win_amd64.whl"
    files = [dist(plain, "1.0"), dist(compressed, "2.0"), dist(nothing_fits, "3.0")]
    ranks = tag_ranks(TARGET.tag_priority())
    newest, middle, oldest = ReleaseTable(NAME, files, TARGET, ranks, FilePolicy.ANY).all()
    assert newest.excluded is Exclusion.NO_FILE
    assert middle.chosen is not None and middle.chosen.filename == compressed
    assert oldest.chosen is not None
    best = min(
        RANKS["cp311-cp311-manylinux_2_17_x86_64"], RANKS["cp311-cp311-manylinux2014_x86_64"]
    )
    assert ranks.compressed == {
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64": best,
        "cp27.cp36-none-win32.win_amd64": None,
    }
    # A plain mapping of ranks (no memo) judges the same.
    again = ReleaseTable(NAME, files, TARGET, dict(ranks), FilePolicy.ANY).all()
    assert [(r.chosen, r.excluded) for r in again] == [
        (r.chosen, r.excluded) for r in (newest, middle, oldest)
    ]
