"""What ``cloche cache info|clean|prune`` does to the store: count, clean, prune."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from cloche.adapters.store.layout import (
    ARCHIVES,
    BUILT,
    LOCKS,
    SHA256,
    TMP,
    WHEELS,
    archive_dir,
    cache_error,
    store_lock,
)
from cloche.adapters.store.origins import ORIGINS, IndexOrigins
from cloche.adapters.store.usage import disk_usage, remove_entry
from cloche.adapters.store.wheel import read_manifest
from cloche.core.models import normalize, parse_dist_filename

_CURRENT = {"archives": ARCHIVES, "wheels": WHEELS, "built": BUILT, "origins": ORIGINS}
_OWN_BUCKET = re.compile(r"^(archives|wheels|built|origins)-v\d+$")


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


class StoreMaintenance:
    """Counts, cleans and prunes the store rooted at ``root``; safe beside running installs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.origins = IndexOrigins(self.root)

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
            raise cache_error("clean", self.root, exc) from None

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
                with store_lock(self.root, f"wheel-{entry.name}"):
                    freed += remove_entry(entry, trash)
        for entry in _children(self.root / BUILT):
            if any(_dist_name(f.name) == name for f in _children(entry)):
                with store_lock(self.root, f"built-{entry.name}"):
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
                if not SHA256.match(sha256) or not self._holds(path.name, sha256):
                    freed += remove_entry(path, trash)
        except OSError as exc:
            raise cache_error("prune", self.root, exc) from None
        return freed

    def _holds(self, filename: str, sha256: str) -> bool:
        """Whether the store still has what an origin entry points at."""
        if filename.endswith(".whl"):
            return (self.root / WHEELS / sha256).is_dir()
        # An sdist: its archive, or a build of it with no -C settings.
        return archive_dir(self.root, sha256).is_dir() or (self.root / BUILT / sha256).is_dir()

    def _prune_unpacked(self, entry: Path, trash: Path) -> int:
        lock = store_lock(self.root, f"wheel-{entry.name}") if SHA256.match(entry.name) else None
        if lock is None:
            return remove_entry(entry, trash)
        from cloche.file_lock import LockTimeout

        try:
            lock.acquire(timeout=0)
        except LockTimeout:
            return 0  # being unpacked right now by another process
        try:
            if read_manifest(entry) is None:
                return remove_entry(entry, trash)
        finally:
            lock.release()
        return 0


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError:
        return []


def _dist_name(filename: str) -> str | None:
    parsed = parse_dist_filename(filename)
    return parsed[0] if parsed is not None else None
