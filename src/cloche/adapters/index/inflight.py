"""The index client's background work: one fetch per key, run in a pool made on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Generic, TypeVar

from cloche.errors import UsageError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

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

    def start(self, key: K, compute: Callable[[], V], pool: WorkerPool) -> tuple[Future[V], bool]:
        """Compute ``key`` in ``pool`` unless it is already known or in flight.

        The future, and whether this call started it. When the pool refuses (it was
        shut down), the future fails at once instead of waiting forever.
        """
        future, mine = self._claim(key)
        refused = mine and not pool.submit(partial(_run, future, compute))
        if refused and future.set_running_or_notify_cancel():
            future.set_exception(UsageError("the index client is closed"))
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

    def submit(self, task: Callable[[], object]) -> bool:
        """Run ``task`` in the pool; False once it is shut down.

        Under the lock: ``shutdown`` cannot stop the pool between the check and the
        submit (a look-ahead callback on a worker thread used to submit to a pool
        already shut down, and the RuntimeError was printed before the real error).
        """
        with self._lock:
            if self._closed:
                return False
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="cloche-index"
                )
            self._pool.submit(task)
            return True

    def shutdown(self) -> bool:
        """Stop the pool, dropping queued work; whether it had been started."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is None:
            return False
        pool.shutdown(wait=True, cancel_futures=True)
        return True
