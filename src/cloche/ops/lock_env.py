"""Make an environment at a path from a lock's text alone: all or nothing, shared safely.

The recipe: parse the lock, then under the path's file lock either find the whole
env a previous maker committed (its mark names the same inputs) or build one in a
staging directory beside the path (venv, then ``install_lock`` from the store or
the lock's URLs) and rename it into place. Any number of processes, on one machine
or on many sharing a filesystem, get the same whole env; one that dies mid-build
leaves only a staging directory that the next maker removes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters import staged_dir
from cloche.core.lock.toml_reader import parse_lock
from cloche.core.project.spec import LOCKFILE, ProjectSpec
from cloche.errors import ProjectError, UnusableEnvError
from cloche.ops.bundle.rehome import lock_from_bundle
from cloche.ops.layouts import layout_for
from cloche.ops.stamp import Selection
from cloche.ops.sync import install_lock
from cloche.ops.venv_create import create_venv

if TYPE_CHECKING:
    from packaging.pylock import Pylock

    from cloche.core.models import Interpreter
    from cloche.ops.services import Services

ENV_MARK = ".cloche-env.json"
HOST_PTH = "_cloche_host.pth"


@dataclass(frozen=True, slots=True)
class LockedEnvRequest:
    """What an env is made of: a lock's text, the part of it to install, host paths."""

    lock_text: str
    selection: Selection = field(default_factory=Selection)
    source: str = LOCKFILE
    """The lock's name in messages."""
    host_site_dirs: tuple[str, ...] = ()
    """Directories put on the env's ``sys.path`` after its own packages (a ``.pth``
    file): the host's packages (Ray itself) stay importable, the lock's come first."""
    bundle: str | None = None
    """A ``cloche bundle`` (directory or http(s) URL) holding the lock's files: they
    come from its ``wheels/``, never from the lock's own URLs."""

    @property
    def lock_sha256(self) -> str:
        return hashlib.sha256(self.lock_text.encode("utf-8")).hexdigest()

    def key(self, base: Interpreter) -> str:
        """The inputs' identity: one env per lock, selection, interpreter and host."""
        inputs = {
            "lock": self.lock_sha256,
            "selection": self.selection.key(),
            "python": base.executable,
            "version": str(base.version),
            "host": list(self.host_site_dirs),
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LockedEnv:
    """An env the lock describes, and whether this call made it (False: reused)."""

    path: Path
    python: Path
    created: bool


def parse_locked(request: LockedEnvRequest) -> Pylock:
    """The request's lock, parsed; errors name ``request.source``."""
    return parse_lock(request.lock_text, source=request.source)


def make_lock_env(
    services: Services, path: Path, request: LockedEnvRequest, base: Interpreter
) -> LockedEnv:
    """The env at ``path`` holding exactly what ``request`` selects, made if not there."""
    lock = parse_locked(request)
    if request.bundle is not None:
        lock = lock_from_bundle(lock, request.bundle)
    key = request.key(base)
    python = path / "bin" / "python"
    if _mark_of(path) == key:
        return LockedEnv(path, python, created=False)
    with staged_dir.held(path):
        mark = _mark_of(path)
        if mark == key:
            return LockedEnv(path, python, created=False)
        if path.exists():
            if mark is None:
                raise UnusableEnvError(
                    f"{path} exists and is not an environment cloche made from a lock; "
                    "move it away or pick another path"
                )
            staged_dir.discard(path)  # made from other inputs
        staged_dir.clear_leftovers(path)
        built = staged_dir.staging(path)
        try:
            _build(services, built, path, lock, request, base)
            _write_mark(built, key, request)
            staged_dir.commit(built, path)
        except BaseException:
            staged_dir.discard(built)
            raise
    return LockedEnv(path, python, created=True)


def remove_lock_env(path: Path) -> int:
    """Remove the env at ``path`` (readers see it whole or gone); the bytes freed."""
    if _mark_of(path) is None:
        return 0
    with staged_dir.held(path):
        return staged_dir.discard(path)


def env_mark(path: Path) -> dict[str, object] | None:
    """What the env at ``path`` was made from, or None when it is not a whole one."""
    try:
        data = json.loads((path / ENV_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _mark_of(path: Path) -> str | None:
    mark = env_mark(path)
    key = None if mark is None else mark.get("key")
    return key if isinstance(key, str) else None


def _build(
    services: Services,
    built: Path,
    final: Path,
    lock: Pylock,
    request: LockedEnvRequest,
    base: Interpreter,
) -> None:
    """Make the env in ``built`` as if it were at ``final`` (scripts' shebangs, paths)."""
    env = create_venv(built, base, prompt=final.name)
    # Scripts name the interpreter at the final path; compiling would run it, so
    # bytecode is left to the first import.
    layout = replace(layout_for(env), python_executable=final / "bin" / "python")
    settings = replace(services.settings, compile_bytecode=False)
    spec = ProjectSpec(root=built, name=None, requires_python=None)
    install_lock(services.using(settings), lock, env, request.selection, spec, layout=layout)
    if request.host_site_dirs:
        text = "".join(f"{directory}\n" for directory in request.host_site_dirs)
        (layout.purelib / HOST_PTH).write_text(text, encoding="utf-8")
    _retarget(built, final)


def _retarget(built: Path, final: Path) -> None:
    """Point the venv's own text files (pyvenv.cfg, activation scripts) at ``final``."""
    files = [built / "pyvenv.cfg"]
    bin_dir = built / "bin"
    files += [p for p in bin_dir.iterdir() if p.name.lower().startswith("activate")]
    for file in files:
        if file.is_symlink() or not file.is_file():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if str(built) in text:
            file.write_text(text.replace(str(built), str(final)), encoding="utf-8")


def _write_mark(built: Path, key: str, request: LockedEnvRequest) -> None:
    mark = {
        "key": key,
        "lock_sha256": request.lock_sha256,
        "selection": request.selection.key(),
        "source": request.source,
    }
    try:
        (built / ENV_MARK).write_text(json.dumps(mark, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ProjectError(f"cannot write {built / ENV_MARK}: {exc}") from None
