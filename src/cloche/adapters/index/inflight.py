"""The index client's background work: one fetch per key, run in a pool made on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from cloche.errors import UsageError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class InFlight(Generic[K, V]):
    """One computation per key: started once, awaited by every later asker."""

    def __init__(self) -> None:
        self._futures: dict[K, Future[V]] = {}
        self._lock = threading.Lock()

    def _claim(self, key: K) -> tuple[Future[V], bool]:
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                return future, False
            future = Future()
            self._futures[key] = future
            return future, True

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value for ``key``, computed here unless someone already started it."""
        future, mine = self._claim(key)
        if mine:
            _run(future, compute)
        return future.result()

    def abandon(self, error: BaseException) -> None:
        """Fail every fetch that was queued but never started (the pool was shut down)."""
        with self._lock:
            pending = [f for f in self._futures.values() if not f.running() and not f.done()]
        for future in pending:
            if future.set_running_or_notify_cancel():
                future.set_exception(error)

    def start(
        self, key: K, compute: Callable[[], V], pool: ThreadPoolExecutor
    ) -> tuple[Future[V], bool]:
        """Compute ``key`` in ``pool`` unless it is already known or in flight.

        The future, and whether this call started it.
        """
        future, mine = self._claim(key)
        if mine:
            pool.submit(_run, future, compute)
        return future, mine


def _run(future: Future[V], compute: Callable[[], V]) -> None:
    future.set_running_or_notify_cancel()
    try:
        future.set_result(compute())
    except BaseException as exc:  # delivered to whoever awaits the future
        future.set_exception(exc)


class WorkerPool:
    """A thread pool started on first use that refuses work once shut down."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def executor(self) -> ThreadPoolExecutor:
        """The pool; raises UsageError once shut down."""
        with self._lock:
            if self._closed:
                raise UsageError("the index client is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="cloche-index"
                )
            return self._pool

    def shutdown(self) -> bool:
        """Stop the pool, dropping queued work; whether it had been started."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is None:
            return False
        pool.shutdown(wait=True, cancel_futures=True)
        return True
