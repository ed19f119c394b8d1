"""Named environments: venvs kept by name in cloche's data directory.

Layout under the envs root (``$CLOCHE_ENVS_DIR``, else ``<data dir>/envs``)::

    <name>/                 a plain venv any tool can use
    <name>/cloche-env.json  how it was made (``EnvRecord``)
    .<name>.tmp-XXXX/env    one being built; renamed to ``<name>`` when complete

A name never starts with a dot, so a half-built env is never taken for one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cloche import dirs
from cloche.errors import UnusableEnvError, UsageError

ENV_RECORD = "cloche-env.json"
_RECORD_FORMAT = 1
_LEFTOVER_AGE = 24 * 3600.0
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


class UnknownEnvError(UsageError):
    """No named environment has that name."""


def envs_root() -> Path:
    """Where named environments live: ``$CLOCHE_ENVS_DIR``, else ``<data dir>/envs``."""
    override = os.environ.get("CLOCHE_ENVS_DIR", "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return Path(dirs.platform_data_dir()) / "envs"


def check_name(name: str) -> str:
    """``name`` if it can name an environment (a directory, a kernel, a shell word)."""
    if not _NAME.match(name):
        raise UsageError(
            f"invalid environment name {name!r}: use letters, digits, '_', '-' and '.', "
            "not starting with '.' or '-' (no '/', spaces or shell characters)"
        )
    return name


@dataclass(frozen=True, slots=True)
class EnvRecord:
    """How a named environment was made, kept in ``<env>/cloche-env.json``."""

    name: str
    python_version: str
    base_executable: str
    python_request: str | None = None
    packages: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    lock: str | None = None
    accelerator: str | None = None
    """The build the torch family was installed from (``cpu``, ``cu128``), if routed."""
    cloned_from: str | None = None
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {"format": _RECORD_FORMAT, **asdict(self)}
        return json.dumps(data, indent=2) + "\n"


def read_record(env: Path) -> EnvRecord | None:
    """The record of ``env``; None when absent or unreadable (a venv made by hand)."""
    try:
        data = json.loads((env / ENV_RECORD).read_text("utf-8"))
        if data.pop("format") != _RECORD_FORMAT:
            return None
        for key in ("packages", "requirement_files"):
            data[key] = tuple(data.get(key, ()))
        return EnvRecord(**data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def write_record(env: Path, record: EnvRecord) -> None:
    (env / ENV_RECORD).write_text(record.to_json(), "utf-8")


def env_names(root: Path | None = None) -> list[str]:
    """The names of the environments under ``root``, sorted."""
    root = envs_root() if root is None else root
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    return sorted(
        e.name
        for e in entries
        if not e.name.startswith(".") and e.is_dir() and (Path(e.path) / "pyvenv.cfg").is_file()
    )


def _known(root: Path) -> str:
    names = env_names(root)
    return f"existing environments: {', '.join(names)}" if names else "there are none yet"


def env_path(name: str, root: Path | None = None) -> Path:
    """The directory of the existing environment ``name``."""
    root = envs_root() if root is None else root
    path = root / check_name(name)
    if not (path / "pyvenv.cfg").is_file():
        raise UnknownEnvError(
            f"no environment named {name!r} ({_known(root)}); "
            f"create it with 'cloche env create {name}'"
        )
    return path


def pyvenv_cfg(env: Path) -> dict[str, str]:
    """The ``key = value`` lines of ``env``'s pyvenv.cfg."""
    values: dict[str, str] = {}
    try:
        text = (env / "pyvenv.cfg").read_text("utf-8")
    except OSError:
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def check_base_python(name: str, env: Path) -> None:
    """Refuse an environment whose base interpreter has gone, saying how to remake it."""
    if env_python(env).exists():  # follows the symlink to the base interpreter
        return
    cfg = pyvenv_cfg(env)
    base = cfg.get("executable") or cfg.get("home") or "its base interpreter"
    version = cfg.get("version") or cfg.get("version_info") or ""
    short = ".".join(version.split(".")[:2])
    python = f" --python {short}" if short else ""
    raise UnusableEnvError(
        f"environment {name!r} cannot run: the Python it was made with ({base}) "
        f"no longer exists; recreate it with 'cloche env create {name} --force{python} ...' "
        f"(or 'cloche env export {name}' first to keep its package list)"
    )


def named_env(name: str, root: Path | None = None) -> Path:
    """The directory of ``name``, checked to be runnable."""
    path = env_path(name, root)
    check_base_python(name, path)
    return path


def refuse_existing(name: str, root: Path, force: bool) -> None:
    if not force and (root / name).exists():
        raise UsageError(
            f"environment {name!r} already exists at {root / name}; pass --force to "
            "replace it, or pick another name"
        )


@contextmanager
def staged_env(name: str, root: Path) -> Iterator[Path]:
    """A path beside ``root/name`` to build the env in; removed if the build stops.

    The caller moves it into place with ``commit_env``; a Ctrl-C or an error
    before that leaves nothing under the name.
    """
    root.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(root)
    holder = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=root))
    try:
        yield holder / "env"
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _sweep_leftovers(root: Path) -> None:
    """Remove what a killed (``kill -9``) build or removal left, once it is a day old."""
    import time

    cutoff = time.time() - _LEFTOVER_AGE
    for entry in os.scandir(root):
        if entry.name.startswith(".") and (".tmp-" in entry.name or ".old-" in entry.name):
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    shutil.rmtree(entry.path, ignore_errors=True)


def commit_env(staged: Path, final: Path, *, force: bool) -> None:
    """Move a complete ``staged`` env to ``final`` in one rename (replacing it with ``force``)."""
    old: Path | None = None
    if final.exists():
        if not force:
            raise UsageError(f"{final} appeared while the environment was being built")
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent)) / "env"
        final.rename(old)
    try:
        staged.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def remove_env(name: str, root: Path | None = None) -> Path:
    """Delete the environment ``name``; first renamed aside so it goes all at once."""
    path = env_path(name, root)
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=path.parent))
    path.rename(trash / "env")
    shutil.rmtree(trash, ignore_errors=True)
    return path
