"""``add`` / ``remove`` / ``upgrade``: change the project's inputs, re-lock, write both files
all-or-nothing.

An edit is made in memory; it is locked from a pyproject.toml written to a scratch
directory; only when the lock succeeds are pyproject.toml and pylock.toml replaced
(each atomically, the first restored if writing the second fails).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.pylock import Pylock
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cloche.core.lock.model import build_lock
from cloche.core.lock.toml_writer import dump_lock
from cloche.core.models import Interpreter, Resolution, normalize
from cloche.core.project.load import load_project
from cloche.core.project.roots import is_dist_file, pointed_at
from cloche.core.project.spec import PYPROJECT, PYTHON_VERSION_FILE, PathSource, ProjectSpec
from cloche.core.pyproject_edit import (
    add_requirements,
    remove_requirements,
    remove_sources,
    set_sources,
)
from cloche.errors import ClocheError, ProjectError, UsageError
from cloche.ops.lock import LockRequest, lock_project, previous_lock

if TYPE_CHECKING:
    from cloche.ops.services import Services


@dataclass(frozen=True, slots=True)
class Edit:
    """A locked edit, ready to be written."""

    spec: ProjectSpec
    pyproject_text: str
    lock: Pylock
    lock_text: str
    previous: Pylock | None


def read_pyproject(root: Path) -> str:
    """pyproject.toml's text with its line endings as they are (so a rewrite keeps them)."""
    path = root / PYPROJECT
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file", hint="run 'cloche init'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from None


def spec_from_text(root: Path, text: str) -> ProjectSpec:
    """The ProjectSpec that ``text`` would give as ``root``'s pyproject.toml."""
    with tempfile.TemporaryDirectory(prefix="cloche-edit-") as scratch:
        where = Path(scratch)
        (where / PYPROJECT).write_text(text, encoding="utf-8")
        version_file = root / PYTHON_VERSION_FILE
        if version_file.is_file():
            shutil.copyfile(version_file, where / PYTHON_VERSION_FILE)
        spec = load_project(where)
    return replace(spec, root=root)


def parse_args(args: Sequence[str]) -> list[Requirement]:
    """Requirements typed on the command line (``numpy``, ``"pandas>=2"``, ``name @ url``)."""
    from cloche.core.requirements.file import parse_requirement

    if not args:
        raise UsageError("name at least one package")
    reqs = [parse_requirement(arg, "command line").requirement for arg in args]
    for req in reqs:
        _refuse_secret(req)
    return reqs


def _refuse_secret(req: Requirement) -> None:
    """A password in a URL would be written to pyproject.toml, which is committed."""
    from cloche.core.direct_url import public_url

    if req.url is None or public_url(req.url) == req.url:
        return
    raise UsageError(
        f"{req.name} @ {public_url(req.url)}: the URL holds a password, which would be "
        f"written to {PYPROJECT}",
        hint="put the credentials in ~/.netrc, or write them as an environment variable "
        "reference: https://user:${TOKEN}@host/...",
    )


def with_added(
    text: str,
    reqs: Sequence[Requirement],
    *,
    group: str | None,
    optional: str | None,
    sources: Mapping[str, PathSource] | None = None,
) -> str:
    return set_sources(add_requirements(text, reqs, group=group, optional=optional), sources or {})


def local_sources(
    root: Path, reqs: Sequence[Requirement], *, editable: bool
) -> tuple[list[Requirement], dict[str, PathSource]]:
    """Requirements on local directories as a bare name plus a ``[tool.cloche.sources]``
    entry with the path relative to ``root``, so pyproject.toml works on any checkout.

    With ``editable`` every requirement must be such a directory.
    """
    out: list[Requirement] = []
    sources: dict[str, PathSource] = {}
    for req in reqs:
        sourced = as_source(root, req, editable=editable)
        if sourced is None:
            if editable:
                raise UsageError(f"--editable takes local project directories; {req} is not one")
            out.append(req)
            continue
        bare, source = sourced
        out.append(bare)
        sources[normalize(req.name)] = source
    return out, sources


def as_source(
    root: Path, req: Requirement, *, editable: bool
) -> tuple[Requirement, PathSource] | None:
    """``req`` by name and its ``[tool.cloche.sources]`` entry (path relative to
    ``root``) when it names a local directory, or (not ``editable``) a local wheel or
    sdist; None otherwise."""
    path = _local_path(req)
    if path is None or not (path.is_dir() or (is_dist_file(path) and not editable)):
        return None
    relative = Path(os.path.relpath(path, root)).as_posix()
    return pointed_at(req, None), PathSource(relative, editable)


def _local_path(req: Requirement) -> Path | None:
    if not req.url or not req.url.startswith("file:"):
        return None
    from cloche.adapters.index.download import local_path

    return local_path(req.url)


def without_unused_sources(root: Path, text: str) -> str:
    """``text`` without the ``[tool.cloche.sources]`` entries no dependency list names."""
    spec = spec_from_text(root, text)
    named = spec.named
    unused = [str(name) for name in spec.sources if name not in named]
    return remove_sources(text, unused) if unused else text


def with_removed(
    text: str, names: Sequence[str], *, group: str | None, optional: str | None
) -> str:
    new_text, missing = remove_requirements(text, names, group=group, optional=optional)
    if missing:
        where = (
            f"dependency group {group!r}"
            if group
            else f"optional dependencies {optional!r}"
            if optional
            else "project.dependencies"
        )
        listed = ", ".join(repr(name) for name in missing)
        raise UsageError(f"{listed} not found in {where} of {PYPROJECT}; nothing was changed")
    return new_text


def lock_edit(
    root: Path,
    new_text: str,
    services: Services,
    interpreter: Interpreter,
    *,
    pin_bare: Sequence[Requirement] = (),
    group: str | None = None,
    optional: str | None = None,
    lock_name: str | None = None,
) -> Edit:
    """Lock the project as ``new_text`` describes it, into ``pylock.toml`` or the named lock
    ``lock_name``. ``pin_bare`` requirements without a version get ``>=`` the locked
    version written into the text (like uv)."""
    new_spec = replace(spec_from_text(root, new_text), lock_name=lock_name)
    previous = previous_lock(new_spec.lock_path, services.reporter)
    result = lock_project(services, new_spec, interpreter, previous, LockRequest())
    pinned = _lower_bounds(pin_bare, result.resolutions)
    if not pinned:
        return Edit(new_spec, new_text, result.lock, result.text, previous)
    final_text = add_requirements(new_text, pinned, group=group, optional=optional)
    final_spec = replace(spec_from_text(root, final_text), lock_name=lock_name)
    # Same resolutions: each new bound is met by the version just locked.
    index_urls = services.settings.index_urls
    lock = build_lock(final_spec, result.resolutions, index_urls, result.archive_sha256)
    return Edit(final_spec, final_text, lock, dump_lock(lock), previous)


def _lower_bounds(
    reqs: Sequence[Requirement], resolutions: Sequence[Resolution]
) -> list[Requirement]:
    out = []
    for req in reqs:
        if req.url or str(req.specifier):
            continue
        name = normalize(req.name)
        versions = [p.version for r in resolutions for p in r.packages if p.name == name]
        if not versions:
            continue  # its marker leaves it out of every target
        pinned = Requirement(str(req))
        pinned.specifier = SpecifierSet(f">={min(versions).public}")
        out.append(pinned)
    return out


def upgrade_lock(
    spec: ProjectSpec,
    services: Services,
    interpreter: Interpreter,
    names: Sequence[str],
) -> Edit:
    """Re-lock with the newest allowed versions (of everything, or of ``names``)."""
    previous = previous_lock(spec.lock_path, services.reporter)
    request = LockRequest(
        upgrade=not names, upgrade_packages=frozenset(normalize(n) for n in names)
    )
    result = lock_project(services, spec, interpreter, previous, request)
    text = read_pyproject(spec.root)
    return Edit(spec, text, result.lock, result.text, previous)


@dataclass(frozen=True, slots=True)
class Committed:
    """The bytes ``commit`` replaced (None: the file was not there), to put them back when
    the step after the lock fails (``add`` then syncing), as uv does."""

    pyproject: Path
    old_pyproject: bytes | None
    lock: Path
    old_lock: bytes | None

    def undo(self) -> None:
        for path, old in ((self.lock, self.old_lock), (self.pyproject, self.old_pyproject)):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                _write(path, old)


def commit(root: Path, edit: Edit) -> Committed:
    """Write pyproject.toml then pylock.toml; if the second write fails, put the first back."""
    pyproject = root / PYPROJECT
    lock_path = root / edit.spec.lock_path.name
    old = _read_or_none(pyproject)
    old_lock = _read_or_none(lock_path)
    if old is None or old != edit.pyproject_text.encode("utf-8"):
        _write(pyproject, edit.pyproject_text.encode("utf-8"))
    try:
        _write(lock_path, edit.lock_text.encode("utf-8"))
    except BaseException:
        if old is None:
            pyproject.unlink(missing_ok=True)
        else:
            _write(pyproject, old)
        raise
    return Committed(pyproject, old, lock_path, old_lock)


def commit_each(root: Path, edits: Sequence[Edit]) -> list[Committed]:
    """``commit`` every edit (pylock.toml, or each named lock), or none: when a write
    fails, the files written before it are put back."""
    committed: list[Committed] = []
    try:
        for edit in edits:
            committed.append(commit(root, edit))
    except BaseException:
        undo_each(committed)
        raise
    return committed


def undo_each(committed: Sequence[Committed]) -> None:
    """Put back what ``commit_each`` replaced, the last write first."""
    for done in reversed(committed):
        done.undo()


def _read_or_none(path: Path) -> bytes | None:
    """The file's bytes; None when there is no file to read (writing it then says why)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _write(path: Path, data: bytes) -> None:
    """Atomic: readers see the old file or the new one, never half of one."""
    from cloche.core.os_errors import os_error_hint

    temporary = ""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except OSError as exc:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        hint = os_error_hint(exc, path)
        raise ClocheError(f"cannot write {path}: {exc.strerror or exc}", hint=hint) from None
    except BaseException:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise
