"""``cloche gpu``'s answers kept on disk, so a warm run prints one without importing the
catalog, the settings or click.

An answer is stored under what the command was asked (its options, the working
directory, every ``CLOCHE_*`` variable) with what it was made from: the machine's
detection key (boot id, driver version files), and the size and modification time
of each file read (the detection cache, the build catalog, the user config, each
pyproject.toml on the way up). Any change, and the answer is made again.

Only builtin modules are imported here: the answers are kept with ``marshal`` (one
file per Python version, whose format it is), as json would import ``re``.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

ANSWERS_NAME = f"gpu-answers-v1-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
MACHINE_FILES = (
    "/sys/module/nvidia/version",
    "/proc/driver/nvidia/version",
    "/opt/rocm/.info/version",
)
UNKNOWN_BOOT_TTL = 24 * 3600.0
"""Where the OS has no boot id, a cached answer is kept this long (seconds)."""
_KEEP = 8


def read_system_file(absolute: str) -> str | None:
    """The text of a small system file, stripped; None when missing or unreadable."""
    try:
        with open(absolute, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def machine_key(read: Callable[[str], str | None], platform: str) -> str:
    """What must stay the same for a detected machine to hold: the boot and the drivers."""
    boot = read("/proc/sys/kernel/random/boot_id") or "unknown"
    return "|".join((boot, *(read(path) or "-" for path in MACHINE_FILES), platform))


def file_stamp(path: str) -> str:
    """Size and modification time of ``path``, or ``-`` when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return "-"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def pyprojects_above(start: str) -> list[str]:
    """Every pyproject.toml from ``start`` up to the filesystem's root, nearest first."""
    found = []
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            found.append(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            return found
        directory = parent


def question(options: Sequence[str], cwd: str) -> str:
    """The key an answer is stored under: the options, the directory, the variables."""
    variables = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("CLOCHE_"))
    return "\0".join((cwd, *options, "", *variables))


def recall(cache_dir: str, asked: str) -> tuple[str, str] | None:
    """(stdout, stderr) of the stored answer to ``asked``, when all it was made from holds."""
    try:
        with open(os.path.join(cache_dir, ANSWERS_NAME), "rb") as fh:
            entry = marshal.load(fh)[asked]
        key = machine_key(read_system_file, sys.platform)
        if entry["machine"] != key:
            return None
        if key.startswith("unknown|") and time.time() - float(entry["written"]) > UNKNOWN_BOOT_TTL:
            return None
        for path, stamp in entry["files"]:
            if file_stamp(path) != stamp:
                return None
        read_pyprojects = [path for path, _ in entry["files"] if path.endswith("pyproject.toml")]
        above = pyprojects_above(asked.split("\0", 1)[0])
        if above[: len(read_pyprojects)] != read_pyprojects:
            return None  # a pyproject.toml appeared (or went) nearer than the one read
        if not entry["walk_ended"] and above != read_pyprojects:
            return None
        return str(entry["out"]), str(entry["err"])
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError):
        return None


def remember(
    cache_dir: str,
    asked: str,
    answer: tuple[str, str],
    files: Sequence[str],
    walk_ended: bool,
) -> None:
    """Store ``answer`` (stdout, stderr) with the stamps of the ``files`` it was made from;
    ``walk_ended``: the last pyproject.toml among them ended the walk up (it had a
    ``[project]`` or ``[tool.cloche]`` table)."""
    path = os.path.join(cache_dir, ANSWERS_NAME)
    try:
        with open(path, "rb") as fh:
            answers = dict(marshal.load(fh))
    except (OSError, EOFError, ValueError, TypeError):
        answers = {}
    answers.pop(asked, None)
    answers[asked] = {
        "machine": machine_key(read_system_file, sys.platform),
        "written": time.time(),
        "files": [(name, file_stamp(name)) for name in files],
        "walk_ended": walk_ended,
        "out": answer[0],
        "err": answer[1],
    }
    kept = dict(list(answers.items())[-_KEEP:])
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(cache_dir, exist_ok=True)
        with open(temporary, "wb") as fh:
            marshal.dump(kept, fh)
        os.replace(temporary, path)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):  # a read-only cache only costs the next run time
            os.unlink(temporary)
