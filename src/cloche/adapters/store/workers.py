"""Unpack wheels in helper processes, one wheel per process at a time.

Unpacking is inflating, hashing and writing thousands of files: CPU work that
threads of one Python process share behind the GIL (two threads barely beat one,
four are slower than two). A few helper processes, each a plain ``python`` running
``serve`` below, do it in parallel; the parent only downloads and hands each
helper a checked wheel (a path to its bytes in memory or in the cache, or the
bytes themselves) and the empty directory to unpack it into.

The parent keeps every decision: the helper answers with the unpacked wheel (or
why it could not) and the store renames the directory into place as usual. A
helper that cannot start or that dies is replaced by unpacking in the parent, so
a wheel is never lost to a helper; the error a user sees is always the one the
in-process unpack reports.

Wire format, one JSON object per line each way. A downloaded wheel never needs to
touch the disk: the helper opens the parent's in-memory file (see ``held.py``), or
the wheel follows its line as ``size`` raw bytes::

    {"archive": PATH, "sha256": HEX, "destination": PATH[, "filename": NAME]}
    {"size": N, "filename": NAME, "sha256": HEX, "destination": PATH} + N bytes
    {"manifest": {...}} | {"corrupt": MESSAGE, "hint": HINT} | {"os_error": [ERRNO, TEXT, PATH]}
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

if sys.platform != "win32":
    import fcntl

from cloche.adapters.store.held import HeldArchive
from cloche.adapters.store.wheel import (
    UnpackedWheel,
    manifest_json,
    parse_manifest,
)
from cloche.errors import CorruptWheelError

_SERVE = (
    "import os, sys; sys.path.append(sys.argv[1]); "
    "from cloche.adapters.store.workers import serve; serve(); os._exit(0)"
)
"""A helper's program. The directory cloche was imported from goes last on its path:
found when nothing else provides cloche, never in front of the standard library. It
skips interpreter shutdown (tens of ms of module teardown) once its input ends."""
_HELPERS_FROM_BYTES = 8 * 1024 * 1024
"""Below this much to unpack, unpacking in the caller's threads beats starting helpers."""
_PIPE_SIZE = 1 << 20
_STOP_WAIT = 5.0
"""Seconds a helper gets to exit once its input is closed."""


def helpers_for(wheels: int, total_bytes: int) -> int:
    """How many helper processes should unpack ``wheels`` wheels of ``total_bytes`` in all.

    Threads of one process share the GIL, so several big wheels unpack faster in
    processes, one per core; a helper costs ~0.1 s of CPU to start, so only when
    there are megabytes to unpack. 0: unpack in threads.
    """
    cores = os.cpu_count() or 1
    if cores < 2 or wheels < 2 or total_bytes < _HELPERS_FROM_BYTES:
        return 0
    return min(cores, wheels, 8)


def serve(requests: IO[bytes] | None = None, replies: IO[bytes] | None = None) -> None:
    """The helper's loop: unpack each requested archive, answer, until input ends."""
    from cloche.adapters.store.unpack import extract_wheel, extract_wheel_data

    requests = requests or sys.stdin.buffer
    replies = replies or sys.stdout.buffer
    for line in requests:
        job = json.loads(line)
        destination = Path(job["destination"])
        reply: dict[str, Any]
        try:
            if "size" in job:  # the archive's bytes follow the line
                data = requests.read(job["size"])
                wheel = extract_wheel_data(data, job["filename"], job["sha256"], destination)
            else:
                archive = Path(job["archive"])
                wheel = extract_wheel(archive, job["sha256"], destination, job.get("filename"))
            reply = {"manifest": json.loads(manifest_json(wheel))}
        except CorruptWheelError as exc:
            reply = {"corrupt": exc.message, "hint": exc.hint}
        except OSError as exc:
            reply = {"os_error": [exc.errno, exc.strerror, exc.filename]}
        replies.write(json.dumps(reply).encode("ascii") + b"\n")
        replies.flush()


class _Helper:
    """One helper process and its two pipes."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[3])
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, package_root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # Its own session: Ctrl-C reaches only cloche, which then stops it.
            start_new_session=True,
        )
        if sys.platform == "linux" and self.process.stdin is not None:
            with suppress(OSError):  # fewer, larger writes for archives sent whole
                fcntl.fcntl(self.process.stdin, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)

    def call(self, job: dict[str, Any], data: bytes = b"") -> dict[str, Any] | None:
        """Send one job (and ``data`` after it) and wait for the answer; None when the
        helper is gone."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(job).encode("ascii") + b"\n")
            if data:
                stdin.write(data)
            stdin.flush()
            line = stdout.readline()
        except OSError:
            return None
        try:
            answer: Any = json.loads(line)
        except ValueError:  # nothing (it exited) or not what serve() writes
            return None
        return answer if isinstance(answer, dict) else None

    def close_pipes(self) -> None:
        """Its input ends: the helper exits once the job it has (if any) is done."""
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with suppress(OSError):
                    pipe.close()

    def wait(self) -> None:
        try:
            self.process.wait(_STOP_WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        self.process.kill()
        self.close_pipes()
        self.process.wait()


class UnpackWorkers:
    """``count`` helper processes; ``extract`` may be called from many threads at once."""

    def __init__(self, count: int) -> None:
        self._idle: queue.SimpleQueue[_Helper | None] = queue.SimpleQueue()
        self._all: list[_Helper] = []
        for _ in range(max(count, 1)):
            try:
                helper = _Helper()
            except OSError:
                helper = None  # unpack in this process instead
            if helper is not None:
                self._all.append(helper)
            self._idle.put(helper)

    def extract(self, archive: Path, sha256: str, destination: Path) -> UnpackedWheel:
        """Unpack ``archive`` into the empty ``destination``, as ``extract_wheel`` does."""
        job = {"archive": str(archive), "sha256": sha256, "destination": str(destination)}
        return self._run(job, b"", destination, lambda: _extract_file(archive, sha256, destination))

    def extract_held(self, held: HeldArchive, sha256: str, destination: Path) -> UnpackedWheel:
        """Unpack a downloaded wheel that ``held`` keeps in memory."""
        path = held.path
        if path is None:
            return self.extract_data(held.data(), held.filename, sha256, destination)
        job = {
            "archive": str(path),
            "filename": held.filename,
            "sha256": sha256,
            "destination": str(destination),
        }
        return self._run(
            job,
            b"",
            destination,
            # Read through the descriptor: a /proc this process may not open either.
            lambda: _extract_bytes(held.data(), held.filename, sha256, destination),
            unreadable=str(path),
        )

    def extract_data(
        self, data: bytes, filename: str, sha256: str, destination: Path
    ) -> UnpackedWheel:
        """Unpack a wheel held in memory, as ``extract_wheel_data`` does."""
        job = {
            "size": len(data),
            "filename": filename,
            "sha256": sha256,
            "destination": str(destination),
        }
        return self._run(
            job, data, destination, lambda: _extract_bytes(data, filename, sha256, destination)
        )

    def _run(
        self,
        job: dict[str, Any],
        data: bytes,
        destination: Path,
        here: Callable[[], UnpackedWheel],
        unreadable: str = "",
    ) -> UnpackedWheel:
        """``job`` done by an idle helper, else by ``here``. An OSError on the path
        ``unreadable`` (one a helper may not be allowed to open) also falls back to
        ``here``, which must not need that path."""
        helper = self._idle.get()
        outcome: UnpackedWheel | Exception | None = None
        if helper is not None:
            try:
                answer = helper.call(job, data)
            except BaseException:
                helper.kill()  # nothing may write into destination after this
                self._idle.put(None)
                raise
            outcome = None if answer is None else _outcome(answer, destination)
            if outcome is None:  # gone, or an answer serve() does not give: retire it
                helper.kill()
                helper = None
        self._idle.put(helper)
        if isinstance(outcome, OSError) and unreadable and outcome.filename == unreadable:
            outcome = None
        if outcome is None:
            _empty(destination)  # of what a helper that died left
            return here()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def close(self) -> None:
        """Stop every helper (each finishes the job it has, if any)."""
        for helper in self._all:
            helper.close_pipes()  # all at once: they exit in parallel
        for helper in self._all:
            helper.wait()
        self._all.clear()


def _empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _extract_file(archive: Path, sha256: str, destination: Path) -> UnpackedWheel:
    from cloche.adapters.store.unpack import extract_wheel

    return extract_wheel(archive, sha256, destination)


def _extract_bytes(data: bytes, filename: str, sha256: str, destination: Path) -> UnpackedWheel:
    from cloche.adapters.store.unpack import extract_wheel_data

    return extract_wheel_data(data, filename, sha256, destination)


def _outcome(answer: dict[str, Any], destination: Path) -> UnpackedWheel | Exception | None:
    """The unpacked wheel or the error a helper answered; None for anything else."""
    if "corrupt" in answer:
        hint = answer.get("hint")
        return CorruptWheelError(
            str(answer["corrupt"]), hint=hint if isinstance(hint, str) else None
        )
    if "os_error" in answer:
        try:
            number, text, filename = answer["os_error"]
        except (TypeError, ValueError):
            return None
        return OSError(number, text, filename)
    return parse_manifest(answer.get("manifest"), destination)
