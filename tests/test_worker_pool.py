"""WorkerPool: once shutdown(wait=True) returns, no task runs, even on a thread whose
start a Ctrl-C interrupted (ThreadPoolExecutor never joins that one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from cloche.worker_pool import WorkerPool


@pytest.fixture
def ctrl_c_in_thread_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The first Thread.start starts its thread, then raises as a Ctrl-C arriving
    while it waits for the thread to say it started."""
    original = threading.Thread.start
    fired = False

    def start(self: threading.Thread) -> None:
        nonlocal fired
        original(self)
        if not fired:
            fired = True
            raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", start)
    yield


def _slow_writer(log: list[str]) -> None:
    time.sleep(0.3)
    log.append("written")


def _interrupted_run(pool: ThreadPoolExecutor, log: list[str]) -> list[str]:
    with pytest.raises(KeyboardInterrupt), pool:
        pool.submit(_slow_writer, log)
    return list(log)  # what had been done when the pool's `with` ended


@pytest.mark.usefixtures("ctrl_c_in_thread_start")
def test_plain_executor_returns_while_the_lost_thread_still_works() -> None:
    """The failure WorkerPool exists for: the lost thread's task is still running."""
    log: list[str] = []
    assert _interrupted_run(ThreadPoolExecutor(max_workers=2), log) == []
    deadline = time.monotonic() + 10
    while not log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log == ["written"]  # after the caller went on: it would write into a removed dir


@pytest.mark.usefixtures("ctrl_c_in_thread_start")
def test_worker_pool_waits_for_the_lost_thread() -> None:
    log: list[str] = []
    assert _interrupted_run(WorkerPool(2), log) == ["written"]


def test_a_task_the_lost_thread_takes_after_shutdown_never_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lost thread is held back until shutdown has returned, then takes the task."""
    original = threading.Thread.start
    go = threading.Event()
    lost: list[threading.Thread] = []

    def start(self: threading.Thread) -> None:
        target = self._target  # type: ignore[attr-defined]

        def held(*args: object) -> None:
            go.wait(10)
            target(*args)

        self._target = held  # type: ignore[attr-defined]
        original(self)
        lost.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", start)
    log: list[str] = []
    assert _interrupted_run(WorkerPool(2), log) == []
    go.set()
    lost[0].join(10)
    assert not lost[0].is_alive()
    assert log == []


def test_results_and_errors_pass_through() -> None:
    with WorkerPool(3) as pool:
        assert list(pool.map(lambda n: n * n, range(5))) == [0, 1, 4, 9, 16]
        failing = pool.submit(int, "x")
    with pytest.raises(ValueError):
        failing.result()
