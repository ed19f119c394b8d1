"""The global cache: archives by sha256, wheels unpacked once, wheels built from source.

Layout under the root (other adapters own ``http-v1``, ``metadata-v1``, ``interpreter-v2``)::

    archives-v1/<sha[:2]>/<sha256>/<filename>
    wheels-v1/<sha256>/...             the wheel's tree + .cloche-manifest.json
    built-v1/<key>/<wheel filename>
    origins-v1/...                     which index listed which stored wheel (origins.py)
    tmp/                               staging, same filesystem as the buckets
    locks/<name>.lock

Every entry appears by one rename (file or directory), so readers never see half of one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.store.held import HeldArchive
from cloche.adapters.store.origins import ORIGINS, IndexOrigins
from cloche.adapters.store.usage import disk_usage, remove_entry
from cloche.adapters.store.wheel import MANIFEST_NAME, UnpackedWheel, manifest_json, read_manifest
from cloche.core.models import DistFile, normalize, parse_dist_filename
from cloche.errors import ClocheError, HashMismatchError, InstallError

if TYPE_CHECKING:
    import filelock

    from cloche.adapters.store.stream import WheelStream
    from cloche.adapters.store.workers import UnpackWorkers

ARCHIVES = "archives-v1"
WHEELS = "wheels-v1"
BUILT = "built-v1"
TMP = "tmp"
LOCKS = "locks"

_CURRENT = {"archives": ARCHIVES, "wheels": WHEELS, "built": BUILT, "origins": ORIGINS}
_OWN_BUCKET = re.compile(r"^(archives|wheels|built|origins)-v\d+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK = 1024 * 1024


class CacheError(ClocheError):
    """The cache directory could not be read or written."""


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """One cache bucket (``wheels-v1``, ``http-v1``, ...): entries and size."""

    name: str
    entries: int
    bytes: int
    """Apparent size; a file hardlinked twice inside the store counts once."""


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What ``cloche cache info`` shows: the cache root and its buckets."""

    root: Path
    buckets: tuple[BucketInfo, ...]

    @property
    def total_bytes(self) -> int:
        return sum(bucket.bytes for bucket in self.buckets)


def _check_sha256(sha256: str) -> str:
    digest = sha256.lower()
    if not _SHA256.match(digest):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return digest


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a valid store key: {key!r}")
    return key


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_error(action: str, path: Path, exc: OSError) -> CacheError:
    return CacheError(
        f"cannot {action} {path}: {exc.strerror or exc}",
        hint="check the cache directory's permissions and free space, or set CLOCHE_CACHE_DIR",
    )


class Store:
    """The global cache rooted at ``Settings.cache_dir``; safe to share between processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # Unpacking is CPU and disk bound: more unpacks at once than cores only adds
        # contention (measured: 2 at a time took 2.6 s for a data-science stack on
        # 2 cores, 16 at a time 5.5 s), while downloads keep their own wider pool.
        self._unpack_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
        self._workers: UnpackWorkers | None = None
        self.origins = IndexOrigins(self.root)

    # -- archives -------------------------------------------------------------

    def _archive_dir(self, sha256: str) -> Path:
        return self.root / ARCHIVES / sha256[:2] / sha256

    def archive(self, sha256: str) -> Path | None:
        """The stored archive with this sha256, or None."""
        directory = self._archive_dir(_check_sha256(sha256))
        try:
            names = sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))
        except OSError:
            return None
        return directory / names[0] if names else None

    def add_archive(
        self,
        src: Path,
        filename: str,
        *,
        sha256: str | None = None,
        move: bool = True,
        verified: bool = False,
    ) -> tuple[Path, str]:
        """Store ``src`` as ``filename``; returns (stored path, sha256).

        With ``sha256`` given, a file that does not match raises HashMismatchError and
        nothing is stored; ``verified`` says the caller has already checked it (a
        download hashed as it streamed), so it is not read again. ``move`` renames
        ``src`` (put it in ``staging_dir()``), else copies.
        """
        if not filename or "/" in filename or "\\" in filename or filename in (".", ".."):
            raise InstallError(f"refusing to store an archive named {filename!r}: not a file name")
        try:
            digest = sha256.lower() if verified and sha256 else _file_sha256(src)
        except OSError as exc:
            raise _cache_error("read", src, exc) from None
        if sha256 is not None and digest != sha256.lower():
            raise HashMismatchError(
                f"{filename} has sha256 {digest}, expected {sha256.lower()}; "
                "the download is corrupt or was tampered with, and was not stored",
                hint="retry; if it persists, the index or the lockfile hash is wrong",
            )
        dest = self._archive_dir(digest) / filename
        try:
            if dest.exists():
                if move:
                    src.unlink(missing_ok=True)
                return dest, digest
            dest.parent.mkdir(parents=True, exist_ok=True)
            if move:
                try:
                    src.replace(dest)
                    return dest, digest
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
            self._copy_into(src, dest)
            if move:
                src.unlink(missing_ok=True)
        except OSError as exc:
            raise _cache_error("store an archive in", self.root, exc) from None
        return dest, digest

    def _copy_into(self, src: Path, dest: Path) -> None:
        """Copy through a temp file on the store's filesystem, then rename into place."""
        tmp_dir = self.root / TMP
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="copy-", dir=tmp_dir)
        os.close(fd)
        tmp = Path(name)
        try:
            shutil.copyfile(src, tmp)
            tmp.chmod(0o644)
            tmp.replace(dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def staging_dir(self) -> Path:
        """A fresh directory under ``tmp/``, on the buckets' filesystem; the caller removes it."""
        tmp_dir = self.root / TMP
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="stage-", dir=tmp_dir))
        except OSError as exc:
            raise _cache_error("create a staging directory in", tmp_dir, exc) from None

    # -- unpacked wheels ------------------------------------------------------

    def unpacked(self, sha256: str) -> UnpackedWheel | None:
        """The wheel with this archive sha256, already unpacked; None otherwise."""
        digest = _check_sha256(sha256)
        wheel = read_manifest(self.root / WHEELS / digest)
        return wheel if wheel is not None and wheel.sha256 == digest else None

    def unpacked_dist(self, file: DistFile) -> UnpackedWheel | None:
        """The index wheel ``file``, unpacked earlier (found by the sha256 its index gave)."""
        return self.unpacked(file.sha256) if file.is_wheel and file.sha256 else None

    def unpacked_file(self, wheel: Path) -> UnpackedWheel | None:
        """The unpacked tree of the wheel file ``wheel`` (a built wheel), if there is one."""
        try:
            digest = _file_sha256(wheel)
        except OSError:
            return None
        return self.unpacked(digest)

    def is_unpacked(self, sha256: str) -> bool:
        """Whether the wheel with this archive sha256 is unpacked (without reading it)."""
        return (self.root / WHEELS / _check_sha256(sha256) / MANIFEST_NAME).is_file()

    def unpack_wheel(
        self, archive: Path, sha256: str, *, keep_archive: bool = True
    ) -> UnpackedWheel:
        """Unpack ``archive`` (whose verified sha256 is given) once; later calls reuse it.

        With ``keep_archive=False`` the stored zip is removed once unpacked: installs
        link from the unpacked tree, and writing both doubled a cold install's disk I/O.
        Raises CorruptWheelError (an InstallError) for unsafe or inconsistent wheels,
        leaving nothing behind.
        """
        digest = _check_sha256(sha256)
        workers = self._workers

        def unpack() -> UnpackedWheel:
            slots: AbstractContextManager[object]
            if workers is not None:  # the number of helpers bounds how many run at once
                extract, slots = workers.extract, nullcontext()
            else:
                from cloche.adapters.store.unpack import extract_wheel  # a cold store only

                extract, slots = extract_wheel, self._unpack_slots
            with slots:
                wheel = self._unpack_locked(
                    archive.name, digest, lambda staging: extract(archive, digest, staging)
                )
            if not keep_archive:
                remove_entry(self._archive_dir(digest), self.root / TMP)
            return wheel

        return self._unpacked_once(digest, unpack)

    def unpack_wheel_data(
        self, filename: str, sha256: str, fetch: Callable[[HeldArchive], None]
    ) -> UnpackedWheel:
        """Unpack a wheel that ``fetch`` downloads whole into memory, without storing
        the archive.

        ``fetch`` writes the wheel's bytes into the given holder and returns only once
        they match ``sha256``; it runs under the wheel's lock, so two processes download
        a wheel once. Errors as for ``unpack_wheel``.
        """
        digest = _check_sha256(sha256)
        workers = self._workers

        def extract(staging: Path) -> UnpackedWheel:
            held = HeldArchive(filename)
            try:
                fetch(held)
                if workers is not None:
                    return workers.extract_held(held, digest, staging)
                from cloche.adapters.store.unpack import extract_wheel_data  # a cold store only

                with self._unpack_slots:
                    return extract_wheel_data(held.data(), filename, digest, staging)
            finally:
                held.close()

        return self._unpacked_once(digest, lambda: self._unpack_locked(filename, digest, extract))

    @property
    def unpacks_in_processes(self) -> bool:
        """Inside ``unpacking_in_processes``: wheels are better sent whole than streamed."""
        return self._workers is not None

    @contextmanager
    def unpacking_in_processes(self, count: int) -> Iterator[None]:
        """While the block runs, ``unpack_wheel`` uses ``count`` helper processes.

        For installs of several big wheels: threads of this process would share one
        core's worth of Python between them (see ``workers.py``).
        """
        from cloche.adapters.store.workers import UnpackWorkers

        if self._workers is not None:  # already (the helpers a fetch ahead started)
            yield
            return
        workers = UnpackWorkers(count)
        self._workers = workers
        try:
            yield
        finally:
            self._workers = None
            workers.close()

    def unpack_wheel_stream(
        self, filename: str, sha256: str, fetch: Callable[[WheelStream], None]
    ) -> UnpackedWheel:
        """Unpack a wheel while ``fetch`` downloads it, without storing the archive.

        ``fetch`` writes the wheel's bytes into the stream and returns only once they
        match ``sha256``; it runs under the wheel's lock, so two processes download a
        wheel once. Errors as for ``unpack_wheel``.
        """
        from cloche.adapters.store.stream import WheelStream  # only a cold store needs it

        digest = _check_sha256(sha256)

        def extract(staging: Path) -> UnpackedWheel:
            stream = WheelStream(filename, staging, self._unpack_slots)
            fetch(stream)
            return stream.finish(digest)

        return self._unpacked_once(digest, lambda: self._unpack_locked(filename, digest, extract))

    def _unpacked_once(self, digest: str, unpack: Callable[[], UnpackedWheel]) -> UnpackedWheel:
        """The unpacked wheel ``digest``, made by ``unpack`` under its lock if missing."""
        found = self.unpacked(digest)
        if found is not None:
            return found
        with self.lock(f"wheel-{digest}"):
            return self.unpacked(digest) or unpack()

    def _unpack_locked(
        self, filename: str, digest: str, extract: Callable[[Path], UnpackedWheel]
    ) -> UnpackedWheel:
        target = self.root / WHEELS / digest
        try:
            # A directory without a readable manifest is left over from an older cloche.
            remove_entry(target, self.root / TMP)
            tmp_dir = self.root / TMP
            tmp_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=tmp_dir))
        except OSError as exc:
            raise _cache_error("prepare an unpack directory in", self.root, exc) from None
        try:
            wheel = replace(extract(staging), path=target)
            (staging / MANIFEST_NAME).write_text(manifest_json(wheel), "utf-8")
            staging.chmod(0o755)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise InstallError(
                f"cannot unpack {filename} into {self.root}: {exc.strerror or exc}",
                hint="check the cache directory's permissions and free space",
            ) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return wheel

    # -- built wheels ---------------------------------------------------------

    def built_wheel(self, key: str, fits: Callable[[str], bool] | None = None) -> Path | None:
        """The wheel built earlier for ``key`` (a source sha256 or a caller's key), or None.

        One source may have been built for several interpreters (a C extension's wheel
        is tagged for the Python that built it): ``fits`` picks those whose filename
        suits the caller; of those, the last one built.
        """
        directory = self.root / BUILT / _check_key(key)
        try:
            found = [
                (entry.stat().st_mtime_ns, entry.name)
                for entry in directory.iterdir()
                if entry.name.endswith(".whl") and (fits is None or fits(entry.name))
            ]
        except OSError:
            return None
        return directory / max(found)[1] if found else None

    def add_built_wheel(self, key: str, wheel: Path) -> Path:
        """Copy ``wheel`` into ``built-v1/<key>/``, beside the wheels built for other
        interpreters (one with the same filename is replaced)."""
        directory = self.root / BUILT / _check_key(key)
        if not wheel.name.endswith(".whl"):
            raise InstallError(f"refusing to store {wheel.name} as a built wheel: not a .whl file")
        with self.lock(f"built-{key}"):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                dest = directory / wheel.name
                self._copy_into(wheel, dest)
            except OSError as exc:
                raise _cache_error("store a built wheel in", directory, exc) from None
        return dest

    # -- maintenance ----------------------------------------------------------

    def lock(self, name: str) -> filelock.BaseFileLock:
        """An inter-process lock ``<root>/locks/<name>.lock`` (not yet acquired)."""
        import filelock  # ~10 ms to import: not before a command has something to write

        locks = self.root / LOCKS
        try:
            locks.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _cache_error("create", locks, exc) from None
        return filelock.FileLock(str(locks / f"{_check_key(name)}.lock"))

    def _buckets(self) -> list[Path]:
        try:
            return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != LOCKS)
        except OSError:
            return []

    def info(self) -> StoreInfo:
        """Entries and bytes per bucket (every top-level directory but ``locks``)."""
        seen: set[tuple[int, int]] = set()
        buckets = []
        for bucket in self._buckets():
            if bucket.name == ARCHIVES:
                count = sum(len(_children(shard)) for shard in _children(bucket))
            elif bucket.name == ORIGINS:
                count = self.origins.count()
            else:
                count = len(_children(bucket))
            buckets.append(BucketInfo(bucket.name, count, disk_usage([bucket], seen)))
        return StoreInfo(self.root, tuple(buckets))

    def clean(self, package: str | None = None) -> int:
        """Remove everything, or every archive / unpacked / built wheel of ``package``.

        Returns the bytes removed (files still hardlinked from an environment stay on disk).
        """
        trash = self.root / TMP
        try:
            if package is None:
                freed = 0
                for bucket in self._buckets():
                    if bucket.name == TMP:
                        freed += sum(remove_entry(e, trash) for e in _children(bucket))
                    else:
                        freed += remove_entry(bucket, trash)
                return freed
            return self._clean_package(package, trash)
        except OSError as exc:
            raise _cache_error("clean", self.root, exc) from None

    def _clean_package(self, package: str, trash: Path) -> int:
        name = normalize(package)
        freed = 0
        for shard in _children(self.root / ARCHIVES):
            for entry in _children(shard):
                if any(_dist_name(f.name) == name for f in _children(entry)):
                    freed += remove_entry(entry, trash)
        for entry in _children(self.root / WHEELS):
            wheel = read_manifest(entry)
            if wheel is not None and wheel.name == name:
                with self.lock(f"wheel-{entry.name}"):
                    freed += remove_entry(entry, trash)
        for entry in _children(self.root / BUILT):
            if any(_dist_name(f.name) == name for f in _children(entry)):
                with self.lock(f"built-{entry.name}"):
                    freed += remove_entry(entry, trash)
        for entry in self.origins.package_dirs(name):
            freed += remove_entry(entry, trash)
        return freed

    def prune(self, *, tmp_age: float = 3600.0) -> int:
        """Remove what no reader can use; returns bytes freed.

        That is: ``tmp/`` entries older than ``tmp_age`` seconds (younger ones may belong
        to a running cloche), buckets of other format versions (``wheels-v0``), unpacked
        wheels without a manifest, origin entries whose wheel or sdist is gone.
        """
        trash = self.root / TMP
        freed = 0
        try:
            cutoff = time.time() - tmp_age
            for entry in _children(self.root / TMP):
                if entry.lstat().st_mtime <= cutoff:
                    freed += remove_entry(entry, trash)
            for bucket in self._buckets():
                match = _OWN_BUCKET.match(bucket.name)
                if match and _CURRENT[match.group(1)] != bucket.name:
                    freed += remove_entry(bucket, trash)
            for entry in _children(self.root / WHEELS):
                if read_manifest(entry) is None:
                    freed += self._prune_unpacked(entry, trash)
            for path, sha256 in self.origins.entries():
                if path.name.startswith(".tmp-") and path.lstat().st_mtime > cutoff:
                    continue  # being written
                if not _SHA256.match(sha256) or not self._holds(path.name, sha256):
                    freed += remove_entry(path, trash)
        except OSError as exc:
            raise _cache_error("prune", self.root, exc) from None
        return freed

    def _holds(self, filename: str, sha256: str) -> bool:
        """Whether the store still has what an origin entry points at."""
        if filename.endswith(".whl"):
            return (self.root / WHEELS / sha256).is_dir()
        # An sdist: its archive, or a build of it with no -C settings.
        return self._archive_dir(sha256).is_dir() or (self.root / BUILT / sha256).is_dir()

    def _prune_unpacked(self, entry: Path, trash: Path) -> int:
        lock = self.lock(f"wheel-{entry.name}") if _SHA256.match(entry.name) else None
        if lock is None:
            return remove_entry(entry, trash)
        import filelock

        try:
            with lock.acquire(timeout=0):
                if read_manifest(entry) is None:
                    return remove_entry(entry, trash)
        except filelock.Timeout:
            pass  # being unpacked right now by another process
        return 0


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError:
        return []


def _dist_name(filename: str) -> str | None:
    parsed = parse_dist_filename(filename)
    return parsed[0] if parsed is not None else None
