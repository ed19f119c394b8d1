"""Files an install writes itself: scripts, INSTALLER/REQUESTED/direct_url.json, RECORD, .pyc."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import subprocess
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from cloche.adapters.install.destinations import WheelPlan
from cloche.adapters.install.journal import Journal
from cloche.adapters.install.launchers import (
    EntryPoint,
    launcher,
    make_executable,
    parse_entry_points,
    rewrite_shebang,
)
from cloche.adapters.install.layout import EnvLayout, RecordRowLike
from cloche.errors import InstallError
from cloche.worker_pool import WorkerPool

_INSTALLER = b"cloche\n"
_WRITTEN = ("INSTALLER", "REQUESTED", "direct_url.json", "RECORD")
_COMPILE_BATCH = 200
# Reads NUL-separated source paths, prints "source NUL pyc NUL" for each one compiled.
_COMPILE_SCRIPT = """
import compileall, importlib.util, os, sys
out = []
for source in sys.stdin.buffer.read().decode("utf-8").split("\\0"):
    if source and compileall.compile_file(source, quiet=2):
        cached = importlib.util.cache_from_source(source)
        if os.path.exists(cached):
            out += [source, cached]
sys.stdout.buffer.write("\\0".join(out).encode("utf-8"))
"""


RecordLine = str
"""One RECORD row as written: ``path,sha256=<digest>,size`` in CSV, newline included."""


def _needs_quoting(text: str) -> bool:
    """Whether a RECORD field holding ``text`` must be quoted in CSV."""
    return "," in text or '"' in text or "\n" in text or "\r" in text


def record_line(path: str, sha256: str | None, size: int | None) -> RecordLine:
    """The CSV row (PEP 376 RECORD) for one file; no hash or size for RECORD itself."""
    digest = f"sha256={sha256}" if sha256 is not None else ""
    length = "" if size is None else str(size)
    if not _needs_quoting(path):
        return f"{path},{digest},{length}\n"
    text = io.StringIO()
    csv.writer(text, delimiter=",", quotechar='"', lineterminator="\n").writerow(
        (path, digest, length)
    )
    return text.getvalue()


def site_record_lines(rows: Sequence[RecordRowLike]) -> list[RecordLine]:
    """RECORD rows of files installed at their wheel path (``record_line`` for each)."""
    if _needs_quoting("\0".join([row.path for row in rows])):
        return [record_line(row.path, row.sha256, row.size) for row in rows]
    # The common case, thousands of rows: no path needs CSV quoting.
    return [f"{row.path},sha256={row.sha256},{row.size}\n" for row in rows]


def record_entry(
    site: Path, target: Path | str, sha256: str | None, size: int | None
) -> RecordLine:
    """A RECORD row for ``target``, its path relative to ``site`` (``../../bin/x`` outside it)."""
    return record_line(os.path.relpath(target, site).replace(os.sep, "/"), sha256, size)


def make_dirs(directories: Iterable[Path | str], journal: Journal) -> None:
    """Create missing directories, parents first, recording each one so a rollback removes it.

    Safe to run in several threads at once: each directory is recorded by the one that made it.
    """
    missing: set[str] = set()
    for directory in set(directories):
        current = os.fspath(directory)
        # Strings and os.path here: pathlib costs more than the syscalls on big wheels.
        while current not in missing and not os.path.isdir(current):  # noqa: PTH112
            missing.add(current)
            current = os.path.dirname(current)  # noqa: PTH120
    for path in sorted(missing, key=lambda p: p.count(os.sep)):
        try:
            os.mkdir(path)  # noqa: PTH102
        except FileExistsError:
            # Another linking thread made it (wheels sharing a namespace directory).
            if os.path.isdir(path):  # noqa: PTH112
                continue
            raise
        journal.created_dir(path)


def write_file(
    plan: WheelPlan, target: Path, content: bytes, journal: Journal, *, executable: bool = False
) -> RecordLine:
    """Write ``content`` at ``target`` (moving aside what is there); returns its RECORD row."""
    make_dirs([target.parent], journal)
    try:
        handle = target.open("xb")
    except FileExistsError:
        if target.is_dir() and not target.is_symlink():
            raise InstallError(
                f"cannot install {plan.label}: {target} is a directory in the way"
            ) from None
        journal.stash(target)
        handle = target.open("xb")
    journal.created(target)
    with handle:
        handle.write(content)
    if executable:
        make_executable(target)
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).decode("ascii")
    return record_entry(plan.site, target, digest.rstrip("="), len(content))


def _console_scripts(plan: WheelPlan) -> list[EntryPoint]:
    wheel = plan.request.wheel
    path = wheel.path / wheel.dist_info / "entry_points.txt"
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read entry_points.txt of {wheel.filename}: {exc}") from None
    try:
        entries = parse_entry_points(text)
    except ValueError as exc:
        raise InstallError(
            f"{wheel.filename} has an invalid entry_points.txt ({exc})",
            hint="report it to the package's maintainers",
        ) from None
    for entry in entries:
        name = entry.name
        if not name or name.startswith(("-", ".")) or any(c in name for c in "/\\\x00 "):
            raise InstallError(
                f"{wheel.filename} declares a script named {name!r}, not a valid file name",
                hint="report it to the package's maintainers",
            )
    return entries


def planned_targets(layout: EnvLayout, plan: WheelPlan) -> tuple[list[str], list[str]]:
    """Every file the install of ``plan`` may write: (paths relative to ``plan.site``, others)."""
    dist_info = plan.request.wheel.dist_info
    in_site = [row.path for row in plan.site_rows]
    in_site += [f"{dist_info}/{name}" for name in _WRITTEN]
    others = [file.target for file in plan.data_files]
    python = str(layout.python_executable)
    others += [str(layout.scripts / launcher(e, python)[0]) for e in _console_scripts(plan)]
    return in_site, others


def write_generated(layout: EnvLayout, plan: WheelPlan, journal: Journal) -> list[RecordLine]:
    """Write the wheel's scripts and install metadata; returns RECORD rows of every file so far."""
    request = plan.request
    python = str(layout.python_executable)
    entries = site_record_lines(plan.site_rows)
    for file in plan.data_files:
        row = file.row
        if not file.is_script:
            entries.append(record_entry(plan.site, file.target, row.sha256, row.size))
            continue
        content = rewrite_shebang(Path(file.source).read_bytes(), python)
        entries.append(write_file(plan, Path(file.target), content, journal, executable=True))
    for entry in _console_scripts(plan):
        filename, content = launcher(entry, python)
        target = layout.scripts / filename
        entries.append(write_file(plan, target, content, journal, executable=True))
    entries.append(write_file(plan, plan.dist_info / "INSTALLER", _INSTALLER, journal))
    if request.requested:
        entries.append(write_file(plan, plan.dist_info / "REQUESTED", b"", journal))
    if request.direct_url is not None:
        content = request.direct_url.encode("utf-8")
        entries.append(write_file(plan, plan.dist_info / "direct_url.json", content, journal))
    return entries


def write_record(plan: WheelPlan, entries: Sequence[RecordLine], journal: Journal) -> None:
    """Write RECORD: every row given plus RECORD itself (no hash), as CSV (PEP 376)."""
    own = record_line(f"{plan.request.wheel.dist_info}/RECORD", None, None)
    content = ("".join(entries) + own).encode("utf-8")
    write_file(plan, plan.dist_info / "RECORD", content, journal)


def _compile_batch(python: Path, sources: Sequence[Path]) -> dict[Path, Path]:
    payload = "\0".join(str(s) for s in sources).encode("utf-8")
    try:
        result = subprocess.run(
            [str(python), "-I", "-X", "utf8", "-c", _COMPILE_SCRIPT],
            input=payload,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise InstallError(f"cannot run {python} to compile bytecode: {exc.strerror}") from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"]
        raise InstallError(f"compiling bytecode with {python} failed: {lines[-1]}")
    fields = result.stdout.decode("utf-8").split("\0") if result.stdout else []
    return {Path(src): Path(pyc) for src, pyc in zip(fields[::2], fields[1::2], strict=True)}


def compile_bytecode(
    layout: EnvLayout, sources: Sequence[Path], journal: Journal
) -> dict[Path, Path]:
    """Compile ``sources`` with the environment's Python, one process per core.

    Returns source -> .pyc written; a source that does not compile is skipped, as pip does.
    """
    if not sources:
        return {}
    workers = max(1, min(os.cpu_count() or 1, len(sources) // _COMPILE_BATCH))
    batches = [sources[i::workers] for i in range(workers)]
    compiled: dict[Path, Path] = {}
    with WorkerPool(workers) as pool:
        for result in pool.map(partial(_compile_batch, layout.python_executable), batches):
            compiled.update(result)
    for pyc in compiled.values():
        journal.created(pyc)
    return compiled
