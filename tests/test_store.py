"""The global store: archives by sha256, wheels unpacked once and safely, built wheels, gc."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from cloche.adapters.store import CorruptWheelError, Store, StoreMaintenance, UnpackedWheel, unpack
from cloche.errors import HashMismatchError, InstallError
from tests.support.dists import make_wheel, record_hash

DIST_INFO = "demo-1.0.dist-info"
WHEEL_TEXT = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
METADATA = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_wheel(
    directory: Path,
    files: dict[str, bytes],
    *,
    filename: str = "demo-1.0-py3-none-any.whl",
    unrecorded: dict[str, bytes] | None = None,
    record_overrides: dict[str, tuple[str, str]] | None = None,
    symlinks: dict[str, str] | None = None,
    record: bool = True,
) -> Path:
    """A wheel zip written entry by entry, so tests can make it wrong on purpose."""
    contents = {
        f"{DIST_INFO}/METADATA": METADATA.encode(),
        f"{DIST_INFO}/WHEEL": WHEEL_TEXT.encode(),
    }
    contents.update(files)
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for path, data in contents.items():
        hash_, size = (record_overrides or {}).get(path, (record_hash(data), str(len(data))))
        writer.writerow([path, hash_, size])
    for path in symlinks or {}:
        writer.writerow([path, "", ""])
    writer.writerow([f"{DIST_INFO}/RECORD", "", ""])
    if record:
        contents[f"{DIST_INFO}/RECORD"] = rows.getvalue().encode()
    contents.update(unrecorded or {})
    target = directory / filename
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as zf:
        for path, data in contents.items():
            zf.writestr(path, data)
        for path, link_target in (symlinks or {}).items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, link_target)
    return target


@pytest.fixture(autouse=True, params=["one thread", "two threads", "in pieces"])
def writers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store test runs with members written by one thread, by two, and with
    every member inflated, hashed and written a piece at a time (as big ones are)."""
    if request.param == "two threads":
        monkeypatch.setattr(unpack, "PARALLEL_BYTES", 0)
    if request.param == "in pieces":
        monkeypatch.setattr(unpack, "PIECE_FROM", 0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


def stored_wheel(store: Store, wheel: Path) -> tuple[Path, str]:
    return store.add_archive(wheel, wheel.name, move=False)


# -- archives -----------------------------------------------------------------


def test_add_archive_moves_into_sha_addressed_bucket(store: Store, tmp_path: Path) -> None:
    wheel = make_wheel(store.staging_dir(), "demo", "1.0")
    expected = sha256_of(wheel)
    path, digest = store.add_archive(wheel, wheel.name, sha256=expected.upper())
    assert digest == expected
    assert path == store.root / "archives-v1" / expected[:2] / expected / wheel.name
    assert not wheel.exists()
    assert store.archive(expected) == path
    assert store.archive("0" * 64) is None
    again = make_wheel(tmp_path / "again", "demo", "1.0")
    assert store.add_archive(again, again.name, move=False) == (path, expected)
    assert again.exists()


def test_hash_mismatch_stores_nothing(store: Store, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    with pytest.raises(HashMismatchError, match=r"demo-1\.0-py3-none-any\.whl has sha256"):
        store.add_archive(wheel, wheel.name, sha256="a" * 64)
    assert wheel.exists()
    assert store.archive(sha256_of(wheel)) is None
    assert not (store.root / "archives-v1").exists()


def test_archive_name_must_be_a_file_name(store: Store, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    with pytest.raises(InstallError, match="not a file name"):
        store.add_archive(wheel, "../escape.whl")


def test_staging_dir_is_fresh_and_on_the_store_filesystem(store: Store) -> None:
    first, second = store.staging_dir(), store.staging_dir()
    assert first != second
    assert first.parent == store.root / "tmp"
    assert first.stat().st_dev == store.root.stat().st_dev


# -- unpacking ----------------------------------------------------------------


def test_unpack_wheel_once_with_verified_records(store: Store, tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "Demo.Pkg",
        "1.0",
        files={"demo_pkg/__init__.py": "X = 1\n", "demo_pkg/data.bin": b"\x00\x01"},
        data={"scripts/tool": "#!python\nprint('tool')\n"},
    )
    archive, digest = stored_wheel(store, wheel)
    unpacked = store.unpack_wheel(archive, digest)
    assert unpacked.path == store.root / "wheels-v1" / digest
    assert (unpacked.name, str(unpacked.version)) == ("demo-pkg", "1.0")
    assert unpacked.dist_info == "demo_pkg-1.0.dist-info"
    assert unpacked.filename == wheel.name
    paths = [row.path for row in unpacked.records]
    assert "demo_pkg/__init__.py" in paths
    assert "demo_pkg-1.0.dist-info/RECORD" not in paths
    for row in unpacked.records:
        data = (unpacked.path / row.path).read_bytes()
        assert record_hash(data) == f"sha256={row.sha256}"
        assert len(data) == row.size
    assert os.access(unpacked.path / "demo_pkg-1.0.data/scripts/tool", os.X_OK)
    assert store.unpacked(digest) == unpacked
    assert list((store.root / "tmp").iterdir()) == []

    (unpacked.path / "marker").write_text("not re-extracted")
    assert store.unpack_wheel(archive, digest) == unpacked
    assert (unpacked.path / "marker").exists()


def _bad_wheels(directory: Path) -> dict[str, tuple[Path, str]]:
    good = {"demo/__init__.py": b"X = 1\n"}
    bad_hash = {"demo/__init__.py": (record_hash(b"other"), "6")}
    bad_size = {"demo/__init__.py": (record_hash(b"X = 1\n"), "99")}
    truncated = raw_wheel(directory / "truncated", good)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    corrupt = raw_wheel(directory / "corrupt", {"demo/__init__.py": b"A" * 5000})
    blob = bytearray(corrupt.read_bytes())
    start = blob.index(b"A" * 10) if b"A" * 10 in blob else 60
    blob[start : start + 8] = b"\xff" * 8
    corrupt.write_bytes(bytes(blob))
    return {
        "traversal": (raw_wheel(directory / "t", {**good, "../evil.py": b"x"}), "../evil.py"),
        "nested traversal": (
            raw_wheel(directory / "n", {**good, "demo/../../evil.py": b"x"}),
            "demo/../../evil.py",
        ),
        "absolute": (raw_wheel(directory / "a", {**good, "/etc/evil.py": b"x"}), "/etc/evil.py"),
        "drive letter": (raw_wheel(directory / "d", {**good, "C:/evil.py": b"x"}), "C:/evil.py"),
        "symlink": (
            raw_wheel(directory / "s", good, symlinks={"demo/link": "/etc/passwd"}),
            "demo/link",
        ),
        "hash mismatch": (
            raw_wheel(directory / "h", good, record_overrides=bad_hash),
            "demo/__init__.py",
        ),
        "size mismatch": (
            raw_wheel(directory / "z", good, record_overrides=bad_size),
            "demo/__init__.py",
        ),
        "unrecorded file": (
            raw_wheel(directory / "u", good, unrecorded={"demo/extra.py": b"x"}),
            "demo/extra.py",
        ),
        "missing RECORD": (raw_wheel(directory / "m", good, record=False), "RECORD is missing"),
        "invalid RECORD": (
            raw_wheel(directory / "i", good, record_overrides={"demo/__init__.py": ("x", "y")}),
            "RECORD is invalid",
        ),
        "truncated zip": (truncated, "corrupt or truncated"),
        "corrupt data": (corrupt, "corrupt or truncated"),
        "no dist-info": (_no_dist_info(directory / "x"), ".dist-info"),
        "unknown data scheme": (
            raw_wheel(directory / "k", {**good, "demo-1.0.data/bogus/f": b"x"}),
            "demo-1.0.data/bogus/f",
        ),
    }


def _no_dist_info(directory: Path) -> Path:
    directory.mkdir(parents=True)
    target = directory / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("demo/__init__.py", "")
    return target


BAD_CASES = [
    "traversal",
    "nested traversal",
    "absolute",
    "drive letter",
    "symlink",
    "hash mismatch",
    "size mismatch",
    "unrecorded file",
    "missing RECORD",
    "invalid RECORD",
    "truncated zip",
    "corrupt data",
    "no dist-info",
    "unknown data scheme",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_unpack_refuses_bad_wheels(store: Store, tmp_path: Path, case: str) -> None:
    wheel, detail = _bad_wheels(tmp_path / "bad")[case]
    archive, digest = stored_wheel(store, wheel)
    with pytest.raises(CorruptWheelError) as info:
        store.unpack_wheel(archive, digest)
    check_refused(info.value, detail, store, digest, tmp_path)


def check_refused(
    error: CorruptWheelError, detail: str, store: Store, digest: str, tmp_path: Path
) -> None:
    """One line naming the wheel and the problem, and nothing left behind anywhere."""
    message = str(error)
    assert "demo-1.0-py3-none-any.whl" in message
    assert detail in message
    assert "\n" not in message
    assert isinstance(error, InstallError)
    assert store.unpacked(digest) is None
    assert not (store.root / "wheels-v1" / digest).exists()
    assert list((store.root / "tmp").iterdir()) == []
    assert not (tmp_path / "evil.py").exists()
    assert not (store.root / "evil.py").exists()


def test_two_processes_unpack_the_same_wheel(store: Store, tmp_path: Path) -> None:
    files = {f"demo/m{i}.py": f"V = {i}\n" * 50 for i in range(300)}
    archive, digest = stored_wheel(store, make_wheel(tmp_path, "demo", "1.0", files=files))
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from cloche.adapters.store import Store
        wheel = Store(Path(sys.argv[1])).unpack_wheel(Path(sys.argv[2]), sys.argv[3])
        first = wheel.path / "demo/m0.py"
        print(json.dumps([str(wheel.path), len(wheel.records), first.stat().st_ino]))
        """
    )
    command = [sys.executable, "-c", script, str(store.root), str(archive), digest]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results[0] == results[1]
    assert results[0][1] == 302  # 300 modules + METADATA + WHEEL
    assert [p.name for p in (store.root / "wheels-v1").iterdir()] == [digest]
    assert list((store.root / "tmp").iterdir()) == []
    assert isinstance(store.unpacked(digest), UnpackedWheel)


# -- built wheels -------------------------------------------------------------


def test_built_wheels_by_key(store: Store, tmp_path: Path) -> None:
    assert store.built_wheel("abc") is None
    first = store.add_built_wheel("abc", make_wheel(tmp_path / "1", "demo", "1.0"))
    assert first == store.root / "built-v1" / "abc" / "demo-1.0-py3-none-any.whl"
    assert store.built_wheel("abc") == first
    second = store.add_built_wheel(
        "abc", make_wheel(tmp_path / "2", "demo", "1.0", tag="py311-none-any")
    )
    # one source built for two interpreters: both kept, each found by its own
    assert sorted(second.parent.iterdir()) == sorted([first, second])
    assert store.built_wheel("abc") == second  # the last one built
    assert store.built_wheel("abc", lambda name: "py3-none" in name) == first
    assert store.built_wheel("abc", lambda name: False) is None
    again = store.add_built_wheel("abc", make_wheel(tmp_path / "3", "demo", "1.0"))
    assert again == first and len(list(first.parent.iterdir())) == 2
    with pytest.raises(ValueError):
        store.built_wheel("../x")


# -- info, clean, prune -------------------------------------------------------


def _fill(store: Store, tmp_path: Path) -> dict[str, str]:
    digests = {}
    for name in ("alpha", "beta"):
        archive, digest = stored_wheel(store, make_wheel(tmp_path / name, name, "1.0"))
        store.unpack_wheel(archive, digest)
        store.add_built_wheel(f"src-{name}", make_wheel(tmp_path / f"b{name}", name, "1.0"))
        digests[name] = digest
    return digests


def test_info_counts_entries_and_hardlinked_bytes_once(store: Store, tmp_path: Path) -> None:
    digests = _fill(store, tmp_path)
    info = StoreMaintenance(store.root).info()
    buckets = {b.name: b for b in info.buckets}
    assert buckets["archives-v1"].entries == 2
    assert buckets["wheels-v1"].entries == 2
    assert buckets["built-v1"].entries == 2
    archives = [store.archive(digest) for digest in digests.values()]
    sizes = [path.stat().st_size for path in archives if path is not None]
    assert buckets["archives-v1"].bytes == sum(sizes) == info.buckets[0].bytes
    archive = archives[0]
    assert archive is not None
    before = info.total_bytes
    (store.root / "tmp" / "link").hardlink_to(archive)
    assert StoreMaintenance(store.root).info().total_bytes == before


def test_clean_one_package(store: Store, tmp_path: Path) -> None:
    digests = _fill(store, tmp_path)
    freed = StoreMaintenance(store.root).clean("ALPHA")
    assert freed > 0
    assert store.archive(digests["alpha"]) is None
    assert store.unpacked(digests["alpha"]) is None
    assert store.built_wheel("src-alpha") is None
    assert store.archive(digests["beta"]) is not None
    assert store.unpacked(digests["beta"]) is not None
    assert store.built_wheel("src-beta") is not None


def test_clean_everything(store: Store, tmp_path: Path) -> None:
    digests = _fill(store, tmp_path)
    (store.root / "http-v1").mkdir()
    (store.root / "http-v1" / "page").write_text("cached")
    total = StoreMaintenance(store.root).info().total_bytes
    assert StoreMaintenance(store.root).clean() == total
    assert store.unpacked(digests["beta"]) is None
    assert StoreMaintenance(store.root).info().total_bytes == 0
    assert sorted(p.name for p in store.root.iterdir()) == ["locks", "tmp"]


def test_prune_removes_leftovers_and_old_buckets_only(store: Store, tmp_path: Path) -> None:
    digests = _fill(store, tmp_path)
    old = store.root / "wheels-v0" / "x"
    old.mkdir(parents=True)
    (old / "f").write_text("old")
    other = store.root / "http-v0"
    other.mkdir()
    half = store.root / "wheels-v1" / ("f" * 64)
    half.mkdir()
    (half / "partial.py").write_text("half")
    stale = store.staging_dir()
    (stale / "download.part").write_text("stale")
    os.utime(stale, (0, 0))
    fresh = store.staging_dir()

    assert StoreMaintenance(store.root).prune() > 0
    assert not old.parent.exists()
    assert not half.exists()
    assert not stale.exists()
    assert fresh.exists()
    assert other.exists()  # not ours to judge
    assert store.unpacked(digests["alpha"]) is not None
    assert store.archive(digests["beta"]) is not None
    StoreMaintenance(store.root).prune(tmp_age=0)
    assert not fresh.exists()


def test_lock_names_are_checked(store: Store) -> None:
    with store.lock("wheel-abc"):
        assert (store.root / "locks" / "wheel-abc.lock").exists()
    with pytest.raises(ValueError):
        store.lock("../x")


def test_big_members_come_out_whole_and_checked(store: Store, tmp_path: Path) -> None:
    # Over PIECE_FROM, deflated: inflated across many input and output pieces; one
    # part compresses ~1000:1, so the inflater also stops for want of output room.
    blob = os.urandom(3 * 1024 * 1024) + bytes(12 * 1024 * 1024) + os.urandom(1000)
    stored_blob = os.urandom(int(1.5 * 1024 * 1024))
    wheel = make_wheel(
        tmp_path, "demo", "1.0", files={"demo/__init__.py": "", "demo/big.bin": blob}
    )
    with zipfile.ZipFile(wheel, "a", zipfile.ZIP_STORED) as zf:  # plus one stored big member
        zf.writestr("demo/stored.bin", stored_blob)
        record = zf.read("demo-1.0.dist-info/RECORD").decode()
    rows = record + f"demo/stored.bin,{record_hash(stored_blob)},{len(stored_blob)}\n"
    rebuilt = tmp_path / "rebuilt" / wheel.name
    rebuilt.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        for info in src.infolist():
            data = rows.encode() if info.filename.endswith("RECORD") else src.read(info)
            dst.writestr(info, data)
    unpacked = store.unpack_wheel(*stored_wheel(store, rebuilt))
    assert (unpacked.path / "demo/big.bin").read_bytes() == blob
    assert (unpacked.path / "demo/stored.bin").read_bytes() == stored_blob
    sizes = {row.path: row.size for row in unpacked.records}
    assert sizes["demo/big.bin"] == len(blob)
    assert sizes["demo/stored.bin"] == len(stored_blob)


def test_a_big_member_that_differs_from_record_is_refused(store: Store, tmp_path: Path) -> None:
    blob = os.urandom(2 * 1024 * 1024)
    wrong = {"demo/big.bin": (record_hash(b"something else"), str(len(blob)))}
    wheel = raw_wheel(tmp_path / "w", {"demo/big.bin": blob}, record_overrides=wrong)
    archive, digest = stored_wheel(store, wheel)
    with pytest.raises(CorruptWheelError) as info:
        store.unpack_wheel(archive, digest)
    check_refused(info.value, "does not match its hash in RECORD", store, digest, tmp_path)


def test_record_with_sha512_is_checked_with_sha512(store: Store, tmp_path: Path) -> None:
    data = os.urandom(64 * 1024)
    sha512 = base64.urlsafe_b64encode(hashlib.sha512(data).digest()).rstrip(b"=").decode()
    good = {"demo/x.bin": (f"sha512={sha512}", str(len(data)))}
    wheel = raw_wheel(tmp_path / "good", {"demo/x.bin": data}, record_overrides=good)
    unpacked = store.unpack_wheel(*stored_wheel(store, wheel))
    (row,) = [r for r in unpacked.records if r.path == "demo/x.bin"]
    assert "sha256=" + row.sha256 == record_hash(data)  # the manifest keeps sha256
    bad = {"demo/x.bin": (f"sha512={sha512[::-1]}", str(len(data)))}
    wheel = raw_wheel(tmp_path / "bad", {"demo/x.bin": data}, record_overrides=bad)
    archive, digest = stored_wheel(store, wheel)
    with pytest.raises(CorruptWheelError, match="does not match its hash in RECORD"):
        store.unpack_wheel(archive, digest)
