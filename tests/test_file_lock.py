"""The inter-process file lock: exclusion, timeouts, re-entry, and release at death."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cloche.file_lock import FileLock, LockTimeout

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from cloche.file_lock import FileLock
    FileLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(60)
    """
)


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_lock_held_by_another_process_times_out_then_frees_when_it_is_killed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.lock"
    proc = _holder(path)
    try:
        lock = FileLock(path)
        with pytest.raises(LockTimeout, match="held by another process"):
            lock.acquire(timeout=0)
        with pytest.raises(LockTimeout):
            lock.acquire(timeout=0.2)
        assert not lock.is_locked
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    lock.acquire(timeout=5)  # kill -9 released it: nothing stale is left to clean
    assert lock.is_locked
    lock.release()
    assert path.exists()  # the file stays; only the lock on it is gone


def test_the_holder_may_nest_and_two_objects_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first, second = FileLock(path), FileLock(path)
    with first:
        with first:
            assert first.is_locked
        assert first.is_locked  # the inner exit does not release the outer hold
        with pytest.raises(LockTimeout):
            second.acquire(timeout=0)
    assert not first.is_locked
    with second:
        assert second.is_locked


def test_release_without_a_hold_does_nothing(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock")
    lock.release()
    assert not lock.is_locked
