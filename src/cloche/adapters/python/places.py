"""Where interpreters live beyond PATH and pyenv: asdf, conda/mamba, cloche-managed.

``python.py`` walks PATH and pyenv itself; this module adds the other places and
says which place a found interpreter came from (for ``cloche python list``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from cloche import dirs
from cloche.adapters.python import cache as python_cache
from cloche.errors import InterpreterNotFound

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from typing import Any

_EXECUTABLE_NAME = re.compile(r"^(?:python|pypy)(?:\d+(?:\.\d+)?t?)?$")
_BIN_NAMES = ("python3", "python")
_CONDA_ROOTS = (
    "miniconda3",
    "anaconda3",
    "miniforge3",
    "mambaforge",
    "micromamba",
    ".conda",
    "opt/conda",
)


def _home() -> Path:
    return Path("~").expanduser()


def pyenv_root() -> Path:
    root = os.environ.get("PYENV_ROOT")
    return Path(root) if root else _home() / ".pyenv"


def asdf_root() -> Path:
    root = os.environ.get("ASDF_DATA_DIR")
    return Path(root) if root else _home() / ".asdf"


def managed_root() -> Path:
    """Where cloche keeps the interpreters it manages: ``<data dir>/python``."""
    override = os.environ.get("CLOCHE_PYTHON_DIR", "").strip()
    return Path(override) if override else Path(dirs.platform_data_dir()) / "python"


def _conda_roots() -> list[Path]:
    roots: list[Path] = []
    for variable in ("CONDA_PREFIX", "MAMBA_ROOT_PREFIX", "CONDA_ROOT"):
        if os.environ.get(variable):
            roots.append(Path(os.environ[variable]))
    conda_exe = os.environ.get("CONDA_EXE")
    if conda_exe:
        roots.append(Path(conda_exe).parent.parent)
    roots += [_home() / name for name in _CONDA_ROOTS]
    roots.append(Path("/opt/conda"))
    return roots


def conda_prefixes() -> list[Path]:
    """Conda/mamba installs and their environments, as far as they can be found cheaply."""
    home = _home()
    prefixes: list[Path] = []
    for root in _conda_roots():
        prefixes.append(root)
        with contextlib.suppress(OSError):
            prefixes += sorted(p for p in (root / "envs").iterdir() if p.is_dir())
    try:
        listed = (home / ".conda" / "environments.txt").read_text("utf-8").splitlines()
    except OSError:
        listed = []
    prefixes += [Path(line.strip()) for line in listed if line.strip()]
    unique: dict[str, Path] = {}
    for prefix in prefixes:
        if (prefix / "conda-meta").is_dir():
            unique.setdefault(os.path.normpath(prefix), prefix)
    return list(unique.values())


def _first_binary(directory: Path) -> Path | None:
    for name in _BIN_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _installs(root: Path) -> Iterator[Path]:
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for entry in entries:
        found = _first_binary(entry / "bin")
        if found is not None:
            yield found


def _name_order(name: str) -> tuple[int, str]:
    # Within one PATH directory, prefer the most specific name (python3.12 > python3 > python).
    return (-len(name), name)


def _on_path() -> Iterator[Path]:
    listed: set[str] = set()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        # /bin and /usr/bin are often one directory: list it once.
        if not entry or (real := os.path.realpath(entry)) in listed:
            continue
        listed.add(real)
        try:
            with os.scandir(entry) as listing:
                names = [e.name for e in listing if _EXECUTABLE_NAME.match(e.name)]
        except OSError:
            continue
        yield from (Path(entry, name) for name in sorted(names, key=_name_order))


def _pyenv_installs() -> Iterator[Path]:
    try:
        installs = sorted((pyenv_root() / "versions").iterdir())
    except OSError:
        return
    for install in installs:
        for name in ("python3", "python", "pypy3"):
            if (install / "bin" / name).exists():
                yield install / "bin" / name
                break


def candidates() -> Iterator[Path]:
    """Every interpreter file to consider, in order: PATH, pyenv, asdf, conda, cloche's."""
    yield from _on_path()
    yield from _pyenv_installs()
    yield from _installs(asdf_root() / "installs" / "python")
    for prefix in conda_prefixes():
        found = _first_binary(prefix / "bin")
        if found is not None:
            yield found
    yield from _installs(managed_root())


def searched_places() -> list[str]:
    """The directories (and files) whose listing decides what ``candidates`` yields: while
    none of them changed (mtime) and no candidate did (size, mtime), discovery chooses
    as it did (``ops.sync_replay`` relies on it)."""
    places = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    places += [str(pyenv_root() / "versions"), str(asdf_root() / "installs" / "python")]
    for root in _conda_roots():
        places += [str(root), str(root / "envs")]
    places += [str(p / "bin") for p in conda_prefixes()]
    places += [str(_home() / ".conda" / "environments.txt"), str(managed_root())]
    return places


def probed_candidates(cache_dir: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Each usable interpreter once (by real path) with its probe data, in discovery order.

    Light on purpose (no packaging, no threads on a warm cache): ``cloche python list``.
    """
    unique: dict[str, Path] = {}
    for candidate in candidates():
        if python_cache.is_binary(candidate):
            unique.setdefault(os.path.realpath(candidate), candidate)
    found = []
    for path in unique.values():
        executable = python_cache.absolute(path)
        try:
            data = python_cache.probe_data(path, cache_dir)
            python_cache.check_usable(executable, data)
        except InterpreterNotFound:
            continue
        found.append((executable, data))
    return found


def source_of(executable: str | Path) -> str:
    """Which place ``executable`` was found in: pyenv, asdf, conda, cloche or PATH."""
    path = python_cache.absolute(executable)
    places = [
        ("pyenv", pyenv_root() / "versions"),
        ("asdf", asdf_root() / "installs"),
        ("cloche", managed_root()),
    ]
    for label, root in places:
        if path.startswith(os.path.normpath(root) + os.sep):
            return label
    for prefix in conda_prefixes():
        if path.startswith(os.path.normpath(prefix) + os.sep):
            return "conda"
    return "PATH"
