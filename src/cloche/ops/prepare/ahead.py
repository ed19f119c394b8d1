"""Wheels fetched into the store before the install asks for them.

An install knows the wheel each exact pin (``numpy==2.4.6``) will install as soon as
that pin's index page is in: the resolver can choose no other release, and of its
files the same ranking picks the same one. Fetching it then, while the other pages
(and, with dependencies to read, the metadata) are still coming, overlaps downloads
and unpacking with the listing instead of starting them once it is all read: on a
2-core VM the pages of ``numpy pandas scikit-learn matplotlib`` take ~0.4 s, mostly
one busy core. A resolution that fails wastes what was fetched, nothing more.

Whatever is fetched goes into the store, keyed by the sha256 the index gave, exactly
as the install would have put it there; a wheel the install ends up not needing is
stopped at its next chunk when the block ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack

from cloche.adapters.store import Store, UnpackedWheel
from cloche.core.models import DistFile


class Stopped(Exception):
    """A fetch the install no longer needs (its block ended first)."""


class AheadFetcher:
    """Runs ``produce`` for the wheels it is given, biggest first, in ``threads`` threads.

    Once the wheels given add up to enough to unpack (see ``helpers_for``), the store
    unpacks in helper processes until ``close``, as ``prepare`` would have had it.
    """

    def __init__(
        self, produce: Callable[[DistFile], UnpackedWheel], store: Store, *, threads: int
    ) -> None:
        self._produce = produce
        self._store = store
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="cloche-ahead")
        self._jobs: dict[str, Future[UnpackedWheel]] = {}
        self._waiting: list[DistFile] = []
        self._total = 0
        self._helpers = ExitStack()
        self._helping = False
        self._lock = threading.Lock()
        self.stopped = threading.Event()
        """Set by ``close``: downloads still running for nobody raise Stopped."""

    def start(self, file: DistFile) -> None:
        """Fetch ``file`` (a wheel with a sha256) into the store in the background."""
        from cloche.adapters.store.workers import helpers_for

        sha256 = file.sha256
        with self._lock:
            if not sha256 or sha256 in self._jobs or self.stopped.is_set():
                return
            self._jobs[sha256] = Future()
            self._waiting.append(file)
            self._total += file.size or 0
            helpers = 0 if self._helping else helpers_for(len(self._jobs), self._total)
            if helpers:
                self._helping = True
                self._helpers.enter_context(self._store.unpacking_in_processes(helpers))
        self._pool.submit(self._next)

    def take(self, file: DistFile) -> Future[UnpackedWheel] | None:
        """The fetch started for ``file``, if any."""
        with self._lock:
            return self._jobs.get(file.sha256) if file.sha256 else None

    def _next(self) -> None:
        """Fetch the biggest wheel waiting: the longest to download and unpack."""
        with self._lock:
            file = max(self._waiting, key=lambda f: f.size or 0)
            self._waiting.remove(file)
            job = self._jobs[file.sha256 or ""]
        if not job.set_running_or_notify_cancel():
            return
        try:
            job.set_result(self._produce(file))
        except BaseException as exc:  # handed to whoever takes the job
            job.set_exception(exc)

    def close(self) -> None:
        """Cancel what has not started, stop what is downloading, wait for the rest."""
        self.stopped.set()
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        self._pool.shutdown(wait=True)
        self._helpers.close()
