"""A thread pool whose shutdown, on every path, leaves no task running and none to start.

``ThreadPoolExecutor`` joins the threads it knows. A Ctrl-C that lands while
``submit`` waits for a new thread to start leaves that thread running but never
added to the pool's set: ``shutdown(wait=True)`` does not join it, and it may still
take a queued task and write into a directory the caller is already removing (a
staged env, a rolled-back install). Here every task passes a gate: once
``shutdown(wait=True)`` returns, the tasks that began have ended and the gate turns
away any other, whichever thread picks it up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class WorkerPool(ThreadPoolExecutor):
    """``ThreadPoolExecutor`` whose ``shutdown(wait=True)`` also waits for threads it lost."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._gate = threading.Condition()
        self._running = 0
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return super().submit(self._through_gate, fn, *args, **kwargs)

    def _through_gate(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._gate:
            if self._closed:
                raise CancelledError
            self._running += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self._gate:
                self._running -= 1
                self._gate.notify_all()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if not wait:
            return
        with self._gate:
            self._closed = True
            while self._running:
                self._gate.wait()
