"""The preparer: every wheel a plan installs, unpacked in the store.

It downloads (or takes from the store), checks, unpacks, and builds from source what
has no wheel; in parallel, biggest first. What is already stored was found by the
plan and is not asked for again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.install import InstallRequest
from cloche.core.direct_url import direct_url_json
from cloche.core.models import DistFile
from cloche.core.plan import Wanted
from cloche.core.report import Reporter
from cloche.errors import HashMismatchError
from cloche.ops.prepare.ahead import AheadFetcher, Stopped
from cloche.ops.prepare.trees import SourceTrees, direct_file
from cloche.worker_pool import WorkerPool

if TYPE_CHECKING:
    from cloche.adapters.index.client import IndexClient
    from cloche.adapters.index.download import Sink
    from cloche.adapters.store import Store, UnpackedWheel
    from cloche.ops.plan import Artifact

_STREAM_LIMIT = 128 * 1024 * 1024
"""Wheels up to this size unpack as they download, never written to the cache whole.

Each is held in memory until its last byte is in, once per preparing thread: bigger
wheels (torch, tensorflow) go to disk first so memory stays bounded."""
_SEND_LIMIT = 64 * 1024 * 1024
"""Wheels up to this size go to an unpack helper from memory; bigger ones through a
file in the cache. Up to helpers + 4 are held at once (a CUDA stack peaked at 600 MB
with 128 MB here)."""


class Preparer:
    """Produces unpacked wheels for index files and direct URLs; thread-safe."""

    def __init__(
        self,
        client: Callable[[], IndexClient],
        store: Store,
        trees: SourceTrees,
        reporter: Reporter,
        *,
        concurrency: int,
    ) -> None:
        self._client = client
        self.store = store
        self.trees = trees
        self.reporter = reporter
        self._concurrency = concurrency
        self._ahead: AheadFetcher | None = None

    # -- the plan's remote wheels ------------------------------------------------------
    def prepare(self, wanted: Sequence[Wanted[Artifact]]) -> list[InstallRequest]:
        """Download, build and unpack what ``wanted`` needs, in parallel, in its order."""
        if not wanted:
            return []
        task = self.reporter.started("Preparing packages", total=len(wanted))
        try:
            # Biggest first: the largest wheel's download and unpack is the critical path.
            order = sorted(range(len(wanted)), key=lambda i: -_size(wanted[i]))
            helpers = _unpack_helpers(wanted)
            workers = min(
                self._concurrency,
                # With helpers, threads download and wait for them: one download ahead
                # keeps them fed; more threads only fight over the GIL, 16 KB (one TLS
                # record) at a time (measured on 2 cores: helpers + 1 beat helpers + 4 by
                # 8%). Without, unpacking is CPU work: beyond about two per core, more
                # threads only contend (measured on 2 cores: 4 beat 16 by ~10%).
                helpers + 1 if helpers else max(4, 2 * (os.cpu_count() or 1)),
                len(order),
            )
            if helpers:
                self.reporter.debug(f"unpacking wheels in {helpers} helper processes")

            def one(want: Wanted[Artifact]) -> InstallRequest:
                request = self._request(want)
                self.reporter.advanced(task)
                return request

            with (
                self.store.unpacking_in_processes(helpers) if helpers else nullcontext(),
                WorkerPool(workers) as pool,
            ):
                done = dict(zip(order, pool.map(one, [wanted[i] for i in order]), strict=True))
            return [done[i] for i in range(len(wanted))]
        finally:
            self.reporter.finished(task)

    def _request(self, want: Wanted[Artifact]) -> InstallRequest:
        artifact = want.source
        if artifact.allowed_sha256 and artifact.file is not None:
            sha = self.verified_sha256(artifact.file)
            if sha not in artifact.allowed_sha256:
                raise HashMismatchError(
                    f"hash mismatch for {artifact.file.filename}: got sha256:{sha}, "
                    f"expected one of the --hash values for {want.name}"
                )
        if artifact.file is not None:
            wheel = self.wheel(artifact.file)
            direct = None
            if artifact.url is not None:
                direct = direct_url_json(
                    artifact.url, sha256=wheel.sha256 if artifact.file.is_wheel else None
                )
            return InstallRequest(wheel=wheel, requested=want.requested, direct_url=direct)
        assert artifact.url is not None
        wheel = self.wheel_for_url(artifact.url, editable=artifact.editable)
        url = artifact.url
        if artifact.editable and url.startswith("git+"):
            url = self.trees.editable_tree(url).as_uri()  # what runs: the kept checkout
        commit = self.trees.vcs_commit(url)
        direct = direct_url_json(url, editable=artifact.editable, commit=commit)
        return InstallRequest(wheel=wheel, requested=want.requested, direct_url=direct)

    # -- one wheel ---------------------------------------------------------------------
    def wheel(self, file: DistFile) -> UnpackedWheel:
        """An unpacked wheel for ``file``: unpacked from the store, or built from the sdist."""
        return self._fetched_ahead(file) or self._wheel(file)

    def verified_sha256(self, file: DistFile) -> str:
        """The sha256 of ``file``'s content, without a download when the store has it."""
        if file.is_wheel and file.sha256:
            if self._fetched_ahead(file) is not None:
                return file.sha256  # unpacked (or its error raised) by now
            if self.store.unpacked(file.sha256) is not None:
                return file.sha256  # unpacked trees are keyed by their archive's checked hash
        return self.trees.archive(file)[1]

    def note_origin(self, file: DistFile) -> None:
        """Let later pinned installs find this stored wheel without its index page."""
        if file.index != file.url:  # not a direct URL
            self.store.origins.note(file)

    def _fetched_ahead(self, file: DistFile) -> UnpackedWheel | None:
        """The wheel a fetch ahead made of ``file`` (waited for); None if none was started."""
        ahead = self._ahead
        job = ahead.take(file) if ahead is not None else None
        return job.result() if job is not None and not job.cancelled() else None

    def _wheel(self, file: DistFile) -> UnpackedWheel:
        found = self.store.unpacked_dist(file)
        if found is not None:
            self.note_origin(file)
            return found
        wheel = self._new_wheel(file)
        if file.is_wheel:
            kept = wheel.sha256 == file.sha256
        else:
            kept = self.trees.build_variant is not None
        if file.sha256 and kept:
            self.note_origin(file)
        return wheel

    def _new_wheel(self, file: DistFile) -> UnpackedWheel:
        sha256 = file.sha256
        helpers = self.store.unpacks_in_processes
        if (
            file.is_wheel
            and sha256
            and _fits_in_memory(file, _SEND_LIMIT if helpers else _STREAM_LIMIT)
            and self.store.archive(sha256) is None
        ):
            stopped = self._ahead.stopped if self._ahead is not None else None
            client = self._client()

            def fetch(sink: Sink) -> None:
                client.download_into(file, _Stoppable(sink, stopped))

            if helpers:  # a helper unpacks it, from memory
                return self.store.unpack_wheel_data(file.filename, sha256, fetch)
            return self.store.unpack_wheel_stream(file.filename, sha256, fetch)
        archive, sha = self.trees.archive(file)
        if file.is_wheel:
            return self.store.unpacked(sha) or self.store.unpack_wheel(
                archive, sha, keep_archive=False
            )
        return self._unpack_local_wheel(self.trees.built_wheel(file, archive, sha))

    def wheel_for_url(self, url: str, *, editable: bool = False) -> UnpackedWheel:
        """An unpacked wheel for a direct URL: an archive, a local directory or a VCS URL."""
        file = direct_file(url)
        if file is not None and not editable:
            return self.wheel(file)
        key = self.trees.build_key(url) if not editable else None
        if key is not None:
            cached = self.store.built_wheel(key, self.trees.wheel_fits)
            if cached is not None:
                return self._unpack_local_wheel(cached)
        tree = self.trees.editable_tree(url) if editable else self.trees.tree_for_url(url)
        self.reporter.info(f"Building {url}")
        wheel = self.trees.builder.build_wheel(
            tree, self.trees.scratch(), editable=editable, source=url
        )
        if key is not None:
            wheel = self.store.add_built_wheel(key, wheel)
        return self._unpack_local_wheel(wheel)

    def _unpack_local_wheel(self, wheel: Path) -> UnpackedWheel:
        unpacked = self.store.unpacked_file(wheel)
        if unpacked is not None:
            return unpacked
        archive, sha = self.store.add_archive(wheel, wheel.name, move=False)
        return self.store.unpack_wheel(archive, sha, keep_archive=False)

    # -- ahead of the plan -------------------------------------------------------------
    @contextmanager
    def fetching_ahead(self, threads: int) -> Iterator[Callable[[DistFile], None]]:
        """While the block runs, the function it gives starts wheels into the store.

        ``wheel`` then takes each from there (waiting for it if need be); at the end
        of the block, fetches nobody took are stopped (see ``ahead.py``).
        """
        ahead = AheadFetcher(self._wheel, self.store, threads=threads)
        self._ahead = ahead
        try:
            yield ahead.start
        finally:
            self._ahead = None
            ahead.close()


class _Stoppable:
    """A sink (see ``Sink``) whose download stops when ``stopped`` is set."""

    def __init__(self, sink: Sink, stopped: threading.Event | None) -> None:
        self._sink = sink
        self._stopped = stopped
        self.restart = sink.restart

    def write(self, chunk: bytes) -> None:
        if self._stopped is not None and self._stopped.is_set():
            raise Stopped
        self._sink.write(chunk)


def _fits_in_memory(file: DistFile, limit: int) -> bool:
    """Small enough to hold in memory while it downloads and unpacks."""
    return file.size is not None and file.size <= limit


def _unpack_helpers(todo: Sequence[Wanted[Artifact]]) -> int:
    """How many helper processes should unpack ``todo`` (0: none, unpack in threads)."""
    from cloche.adapters.store.workers import helpers_for

    return helpers_for(len(todo), sum(map(_size, todo)))


def _size(want: Wanted[Artifact]) -> int:
    file = want.source.file
    return (file.size or 0) if file is not None else 0
