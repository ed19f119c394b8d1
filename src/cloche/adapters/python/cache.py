"""What an interpreter said about itself, cached on disk; light enough for ``cloche venv``.

The cache entry of an executable lives at
``<cache>/interpreter-v3/<crc32 and length of its path>.marshal``; the entry holds the
full path too, so two paths that share a name only ever cost a probe. The path is absolute with
its directories resolved but not its last component: a venv's ``bin/python`` is
a symlink to the base interpreter, and the two must not share an entry. An entry
is valid while the resolved file keeps its realpath, mtime and size.

This module runs on the start-up path of ``cloche venv``, so it imports only what
the standard library loads cheaply: strings and ``os.path`` instead of pathlib,
no dataclasses (``inspect`` alone costs more than uv's whole ``venv``).
"""

from __future__ import annotations

import binascii
import marshal
import os
import sys

from cloche import dirs
from cloche.errors import InterpreterNotFound

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from os import PathLike
    from typing import Any

CACHE_BUCKET = "interpreter-v3"
MIN_VERSION = (3, 8)
_PROBE_TIMEOUT = 60.0
_PRE_RELEASE = {"alpha": "a", "beta": "b", "candidate": "rc"}


def default_cache_dir() -> str:
    """``$CLOCHE_CACHE_DIR`` or the platform cache dir (what Settings would pick)."""
    env = os.environ.get("CLOCHE_CACHE_DIR")
    if env:
        return os.path.expanduser(env)
    return dirs.platform_cache_dir()


def absolute(path: str | PathLike[str]) -> str:
    """``path`` made absolute and normalised, without resolving symlinks."""
    return os.path.normpath(os.path.abspath(path))


def probe_data(executable: str | PathLike[str], cache_dir: str | None = None) -> dict[str, Any]:
    """What ``executable`` reports about itself: from the cache, else by running it once."""
    shown = absolute(executable)
    path = _key_path(shown)
    cache_file = _cache_file(cache_dir, path)
    key = stat_key(path, shown)
    data = _read_cache(cache_file, key)
    if data is None:
        data = _run_probe(path, shown)
        _write_cache(cache_file, key, data)
    return data


def cached_probe_data(
    executable: str | PathLike[str], cache_dir: str | None = None
) -> dict[str, Any] | None:
    """What the cache holds for ``executable`` while it is still valid; None otherwise."""
    shown = absolute(executable)
    path = _key_path(shown)
    return _read_cache(_cache_file(cache_dir, path), stat_key(path, shown))


def store_probes(
    executables: Iterable[str], data: Mapping[str, Any], cache_dir: str | None = None
) -> None:
    """Record ``data`` as the probe of each of ``executables`` (the links of a venv made
    without a subprocess, so that later commands on it run none either)."""
    for executable in executables:
        path = _key_path(absolute(executable))
        _write_cache(_cache_file(cache_dir, path), stat_key(path, executable), data)


def default_interpreter(cache_dir: str | None = None) -> tuple[str, dict[str, Any]]:
    """``python3``, else ``python``, on PATH (the first usable binary), else cloche's own Python.

    Returns the executable as found (absolute, links kept) and its probe data.
    """
    for name in ("python3", "python"):
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            candidate = os.path.join(directory, name)
            if directory and is_binary(candidate):
                try:
                    data = probe_data(candidate, cache_dir)
                    check_usable(candidate, data)
                except InterpreterNotFound:
                    break
                return absolute(candidate), data
    return absolute(sys.executable), probe_data(sys.executable, cache_dir)


def is_binary(path: str | PathLike[str]) -> bool:
    """An executable file that is not a ``#!`` script (pyenv/asdf shims are scripts)."""
    try:
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            return False
        with open(path, "rb") as fh:
            return fh.read(2) != b"#!"
    except OSError:
        return False


def looks_like_path(text: str) -> bool:
    """A ``--python`` value naming a file or directory rather than a version or a name."""
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return any(sep in text for sep in seps) or text.startswith((".", "~"))


def request_path(text: str, cwd: str | None = None) -> str:
    """The absolute, normalised path a ``--python`` value names (``~`` expanded)."""
    return os.path.normpath(os.path.join(cwd or os.getcwd(), os.path.expanduser(text)))


def version_text(data: Mapping[str, Any]) -> str:
    """The interpreter's version as PEP 440 text: ``3.11.7``, ``3.13.0rc1``."""
    info = data["version_info"]
    text = ".".join(str(part) for part in info[:3])
    if info[3] != "final":
        text += _PRE_RELEASE.get(str(info[3]), str(info[3])[:1]) + str(info[4])
    return text


def check_usable(executable: str, data: Mapping[str, Any]) -> None:
    """Refuse a Python older than cloche supports."""
    if tuple(data["version_info"][:2]) < MIN_VERSION:
        raise InterpreterNotFound(
            f"{executable} is Python {version_text(data)}; cloche needs Python 3.8 or newer"
        )


def _key_path(shown: str) -> str:
    head, name = os.path.split(shown)
    return os.path.join(os.path.realpath(head), name)


def stat_key(path: str, shown: str) -> dict[str, Any]:
    """What a probe of ``path`` stays valid for: the file and its size and mtime."""
    try:
        st = os.stat(path)
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


def _cache_file(cache_dir: str | None, path: str) -> str:
    root = cache_dir if cache_dir is not None else default_cache_dir()
    # crc32, not sha256: hashlib's OpenSSL start-up alone costs ~3 ms of `cloche venv`.
    raw = path.encode("utf-8", "surrogateescape")
    return os.path.join(root, CACHE_BUCKET, f"{binascii.crc32(raw):08x}-{len(raw):x}.marshal")


def _read_cache(cache_file: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    # marshal, not json: json's import (and re's, under it) cost more than reading.
    try:
        with open(cache_file, "rb") as fh:
            entry = marshal.load(fh)
    except (OSError, ValueError, EOFError, TypeError):
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
    if tuple(info[:2]) < MIN_VERSION:
        return True
    needed = ("implementation", "markers", "paths", "venv_paths", "prefix", "base_prefix")
    return all(name in data for name in needed)


def _write_cache(cache_file: str, key: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    # The cache is an optimisation: failing to write it must not fail the command.
    directory = os.path.dirname(cache_file)
    tmp = os.path.join(directory, f".probe-{os.getpid()}-{os.urandom(6).hex()}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            marshal.dump({"key": dict(key), "data": dict(data)}, fh)
        os.replace(tmp, cache_file)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _probe_flags(path: str) -> list[str]:
    """Isolated from the environment and the user's site; outside a virtual environment
    also without ``site``, which only fills ``sys.path`` there: a Python with many
    packages runs their ``.pth`` files first (~100 ms for a pyenv build). In a venv
    ``site`` is what sets ``sys.prefix``, so it stays."""
    here = os.path.dirname(os.path.abspath(path))
    for directory in (here, os.path.dirname(here)):
        if os.path.isfile(os.path.join(directory, "pyvenv.cfg")):
            return ["-E", "-s"]
    return ["-E", "-s", "-S"]


def _run_probe(path: str, shown: str) -> dict[str, Any]:
    import json
    import subprocess

    from cloche.adapters.python.probe_script import PROBE_SCRIPT

    try:
        proc = subprocess.run(
            [path, *_probe_flags(path), "-c", PROBE_SCRIPT],
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
