"""Run an interpreter once to describe it, and cache what it said.

The cache entry of an executable lives at
``<cache>/interpreter-v1/<sha256 of its path>.json``. The path is absolute with
its directories resolved but not its last component: a venv's ``bin/python`` is
a symlink to the base interpreter, and the two must not share an entry. An entry
is valid while the resolved file keeps its realpath, mtime and size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from cloche.adapters.python_script import PROBE_SCRIPT
from cloche.adapters.python_tags import compute_tags
from cloche.core.models import Interpreter
from cloche.errors import InterpreterNotFound

CACHE_BUCKET = "interpreter-v1"
_PROBE_TIMEOUT = 60.0
_MIN_VERSION = (3, 8)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """An interpreter and the extra facts a venv needs that ``Interpreter`` does not carry."""

    interpreter: Interpreter
    data: Mapping[str, Any]
    """The probe's JSON, as the interpreter printed it."""

    @property
    def stdlib(self) -> str:
        return str(self.data["stdlib"])

    @property
    def base_executable(self) -> str:
        """The real (non-venv) interpreter binary, symlinks resolved."""
        return str(self.data["base_executable"])

    def venv_paths(self, venv_dir: str) -> dict[str, str]:
        """sysconfig paths of a venv at ``venv_dir`` made from this interpreter."""
        base = str(self.data["base_prefix"])
        return {
            key: value.replace("@VENV@", venv_dir).replace("@BASE@", base)
            for key, value in self.data["venv_paths"].items()
        }


def default_cache_dir() -> Path:
    """``$CLOCHE_CACHE_DIR`` or the platform cache dir (what Settings would pick)."""
    env = os.environ.get("CLOCHE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from cloche.config import default_cache_dir as platform_cache_dir

    return platform_cache_dir()


def probe_result(executable: Path, cache_dir: Path | None = None) -> ProbeResult:
    """Probe ``executable`` (cached) and keep the raw facts alongside the Interpreter."""
    shown = str(absolute_path(executable))
    path = _key_path(executable)
    cache_file = _cache_file(cache_dir, path)
    key = _stat_key(path, shown)
    data = _read_cache(cache_file, key)
    if data is None:
        data = _run_probe(path, shown)
        _write_cache(cache_file, key, data)
    return ProbeResult(interpreter_from_data(shown, data), data)


def store_probe(executable: Path, data: Mapping[str, Any], cache_dir: Path | None = None) -> None:
    """Record ``data`` as the probe of ``executable`` (used for venvs made without a subprocess)."""
    path = _key_path(executable)
    _write_cache(_cache_file(cache_dir, path), _stat_key(path, str(executable)), data)


def interpreter_from_data(executable: str, data: Mapping[str, Any]) -> Interpreter:
    """Build the Interpreter value a probe describes; refuse Pythons cloche cannot use."""
    info = data["version_info"]
    version_text = ".".join(str(part) for part in info[:3])
    if tuple(info[:2]) < _MIN_VERSION:
        raise InterpreterNotFound(
            f"{executable} is Python {version_text}; cloche needs Python 3.8 or newer"
        )
    if info[3] != "final":
        version_text += f"{str(info[3])[0]}{info[4]}"
    try:
        version = Version(version_text)
    except InvalidVersion:
        raise InterpreterNotFound(
            f"{executable} reported an invalid version {version_text!r}"
        ) from None
    return Interpreter(
        executable=executable,
        version=version,
        implementation=str(data["implementation"]),
        marker_env=tuple(sorted((str(k), str(v)) for k, v in data["markers"].items())),
        tags=tuple(compute_tags(data)),
        prefix=str(data["prefix"]),
        base_prefix=str(data["base_prefix"]),
        paths=tuple((str(k), str(v)) for k, v in data["paths"].items()),
    )


def absolute_path(path: Path) -> Path:
    """``path`` made absolute and normalised, without resolving symlinks."""
    return Path(os.path.normpath(Path(path).absolute()))


def _key_path(executable: Path) -> str:
    absolute = absolute_path(executable)
    return str(absolute.parent.resolve() / absolute.name)


def _stat_key(path: str, shown: str) -> dict[str, Any]:
    try:
        st = Path(path).stat()
    except OSError as exc:
        raise InterpreterNotFound(
            f"no Python interpreter at {shown} ({exc.strerror or exc}); "
            "check the path or pass another --python"
        ) from None
    return {
        "path": path,
        "realpath": os.path.realpath(path),
        "mtime_ns": st.st_mtime_ns,
        "size": st.st_size,
    }


def _cache_file(cache_dir: Path | None, path: str) -> Path:
    root = cache_dir if cache_dir is not None else default_cache_dir()
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return root / CACHE_BUCKET / f"{digest}.json"


def _read_cache(cache_file: Path, key: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        entry = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    data = entry.get("data")
    if not isinstance(data, dict) or not _looks_complete(data):
        return None
    return data


def _looks_complete(data: Mapping[str, Any]) -> bool:
    info = data.get("version_info")
    if not isinstance(info, list) or len(info) != 5:
        return False
    if tuple(info[:2]) < _MIN_VERSION:
        return True
    needed = ("implementation", "markers", "paths", "venv_paths", "prefix", "base_prefix")
    return all(name in data for name in needed)


def _write_cache(cache_file: Path, key: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    # The cache is an optimisation: failing to write it must not fail the command.
    with contextlib.suppress(OSError):
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".probe-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "data": data}, fh)
            Path(tmp).replace(cache_file)
        except OSError:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            raise


def _run_probe(path: str, shown: str) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            [path, "-E", "-s", "-c", PROBE_SCRIPT],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InterpreterNotFound(
            f"{shown} did not answer within {_PROBE_TIMEOUT:.0f}s; is it a Python interpreter?"
        ) from None
    except OSError as exc:
        raise InterpreterNotFound(
            f"{shown} is not a Python interpreter (cannot run it: {exc.strerror or exc})"
        ) from None
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        data = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not _looks_complete(data):
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        last = f": {detail[-1]}" if detail else ""
        raise InterpreterNotFound(
            f"{shown} is not a working Python interpreter (exit code {proc.returncode}{last})"
        )
    return data
