"""The global cache: archives by sha256, wheels unpacked once, wheels built from source.

Where each lives under the root is in ``layout.py``; ``cloche cache`` maintenance is in
``maintenance.py``. Every entry appears by one rename (file or directory), so readers
never see half of one.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.store.held import HeldArchive
from cloche.adapters.store.layout import (
    BUILT,
    TMP,
    WHEELS,
    archive_dir,
    cache_error,
    check_key,
    check_sha256,
    copy_into,
    file_sha256,
    store_lock,
)
from cloche.adapters.store.origins import IndexOrigins
from cloche.adapters.store.usage import remove_entry
from cloche.adapters.store.wheel import MANIFEST_NAME, UnpackedWheel, manifest_json, read_manifest
from cloche.core.models import DistFile
from cloche.errors import HashMismatchError, InstallError

if TYPE_CHECKING:
    from cloche.adapters.store.stream import WheelStream
    from cloche.adapters.store.workers import UnpackWorkers
    from cloche.file_lock import FileLock


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

    def archive(self, sha256: str) -> Path | None:
        """The stored archive with this sha256, or None."""
        directory = archive_dir(self.root, check_sha256(sha256))
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
            digest = sha256.lower() if verified and sha256 else file_sha256(src)
        except OSError as exc:
            raise cache_error("read", src, exc) from None
        if sha256 is not None and digest != sha256.lower():
            raise HashMismatchError(
                f"{filename} has sha256 {digest}, expected {sha256.lower()}; "
                "the download is corrupt or was tampered with, and was not stored",
                hint="retry; if it persists, the index or the lockfile hash is wrong",
            )
        dest = archive_dir(self.root, digest) / filename
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
            copy_into(self.root, src, dest)
            if move:
                src.unlink(missing_ok=True)
        except OSError as exc:
            raise cache_error("store an archive in", self.root, exc) from None
        return dest, digest

    def staging_dir(self) -> Path:
        """A fresh directory under ``tmp/``, on the buckets' filesystem; the caller removes it."""
        tmp_dir = self.root / TMP
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="stage-", dir=tmp_dir))
        except OSError as exc:
            raise cache_error("create a staging directory in", tmp_dir, exc) from None

    # -- unpacked wheels ------------------------------------------------------

    def unpacked(self, sha256: str) -> UnpackedWheel | None:
        """The wheel with this archive sha256, already unpacked; None otherwise."""
        digest = check_sha256(sha256)
        wheel = read_manifest(self.root / WHEELS / digest)
        return wheel if wheel is not None and wheel.sha256 == digest else None

    def unpacked_dist(self, file: DistFile) -> UnpackedWheel | None:
        """The index wheel ``file``, unpacked earlier (found by the sha256 its index gave)."""
        return self.unpacked(file.sha256) if file.is_wheel and file.sha256 else None

    def unpacked_file(self, wheel: Path) -> UnpackedWheel | None:
        """The unpacked tree of the wheel file ``wheel`` (a built wheel), if there is one."""
        try:
            digest = file_sha256(wheel)
        except OSError:
            return None
        return self.unpacked(digest)

    def is_unpacked(self, sha256: str) -> bool:
        """Whether the wheel with this archive sha256 is unpacked (without reading it)."""
        return (self.root / WHEELS / check_sha256(sha256) / MANIFEST_NAME).is_file()

    def unpack_wheel(
        self, archive: Path, sha256: str, *, keep_archive: bool = True
    ) -> UnpackedWheel:
        """Unpack ``archive`` (whose verified sha256 is given) once; later calls reuse it.

        With ``keep_archive=False`` the stored zip is removed once unpacked: installs
        link from the unpacked tree, and writing both doubled a cold install's disk I/O.
        Raises CorruptWheelError (an InstallError) for unsafe or inconsistent wheels,
        leaving nothing behind.
        """
        digest = check_sha256(sha256)
        workers = self._workers

        def unpack() -> UnpackedWheel:
            slots: AbstractContextManager[object]
            if workers is not None:  # the number of helpers bounds how many run at once
                extract, slots = workers.extract, nullcontext()
            else:
                from cloche.adapters.store.unpack import extract_wheel  # a cold store only

                extract, slots = extract_wheel, self._unpack_slots
            with slots:
                wheel = _unpack_into(
                    self.root,
                    archive.name,
                    digest,
                    lambda staging: extract(archive, digest, staging),
                )
            if not keep_archive:
                remove_entry(archive_dir(self.root, digest), self.root / TMP)
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
        digest = check_sha256(sha256)
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

        return self._unpacked_once(
            digest, lambda: _unpack_into(self.root, filename, digest, extract)
        )

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

        digest = check_sha256(sha256)

        def extract(staging: Path) -> UnpackedWheel:
            stream = WheelStream(filename, staging, self._unpack_slots)
            fetch(stream)
            return stream.finish(digest)

        return self._unpacked_once(
            digest, lambda: _unpack_into(self.root, filename, digest, extract)
        )

    def _unpacked_once(self, digest: str, unpack: Callable[[], UnpackedWheel]) -> UnpackedWheel:
        """The unpacked wheel ``digest``, made by ``unpack`` under its lock if missing."""
        found = self.unpacked(digest)
        if found is not None:
            return found
        with self.lock(f"wheel-{digest}"):
            return self.unpacked(digest) or unpack()

    # -- built wheels ---------------------------------------------------------

    def built_wheel(self, key: str, fits: Callable[[str], bool] | None = None) -> Path | None:
        """The wheel built earlier for ``key`` (a source sha256 or a caller's key), or None.

        One source may have been built for several interpreters (a C extension's wheel
        is tagged for the Python that built it): ``fits`` picks those whose filename
        suits the caller; of those, the last one built.
        """
        directory = self.root / BUILT / check_key(key)
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
        directory = self.root / BUILT / check_key(key)
        if not wheel.name.endswith(".whl"):
            raise InstallError(f"refusing to store {wheel.name} as a built wheel: not a .whl file")
        with self.lock(f"built-{key}"):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                dest = directory / wheel.name
                copy_into(self.root, wheel, dest)
            except OSError as exc:
                raise cache_error("store a built wheel in", directory, exc) from None
        return dest

    def lock(self, name: str) -> FileLock:
        """An inter-process lock ``<root>/locks/<name>.lock`` (not yet acquired)."""
        return store_lock(self.root, name)


def _unpack_into(
    root: Path, filename: str, digest: str, extract: Callable[[Path], UnpackedWheel]
) -> UnpackedWheel:
    """``extract`` run into a fresh staging directory, renamed into ``wheels-v1/<digest>``
    with its manifest; nothing is left behind on failure."""
    target = root / WHEELS / digest
    try:
        # A directory without a readable manifest is left over from an older cloche.
        remove_entry(target, root / TMP)
        tmp_dir = root / TMP
        tmp_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=tmp_dir))
    except OSError as exc:
        raise cache_error("prepare an unpack directory in", root, exc) from None
    try:
        wheel = replace(extract(staging), path=target)
        (staging / MANIFEST_NAME).write_text(manifest_json(wheel), "utf-8")
        staging.chmod(0o755)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InstallError(
            f"cannot unpack {filename} into {root}: {exc.strerror or exc}",
            hint="check the cache directory's permissions and free space",
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return wheel
