"""Where an install puts things: the environment's own layout, ``--target`` or ``--prefix``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cloche.adapters.install import EnvLayout
from cloche.core.models import Interpreter
from cloche.file_lock import directory_lock_path


def layout_for(interpreter: Interpreter) -> EnvLayout:
    scheme = interpreter.scheme
    return EnvLayout(
        purelib=Path(scheme["purelib"]),
        platlib=Path(scheme["platlib"]),
        scripts=Path(scheme["scripts"]),
        # Headers of installed distributions go inside the env, as pip puts them.
        include=Path(scheme["data"])
        / "include"
        / "site"
        / f"python{interpreter.version.major}.{interpreter.version.minor}",
        data=Path(scheme["data"]),
        python_executable=Path(interpreter.executable),
        python_version=interpreter.version,
    )


def target_layout(interpreter: Interpreter, target: Path, lock_dir: Path) -> EnvLayout:
    """``pip install --target DIR``: packages straight in DIR, scripts in DIR/bin.

    The install lock lives in ``lock_dir`` (the cache's), so DIR gets nothing but packages.
    """
    target = target.absolute()
    return EnvLayout(
        purelib=target,
        platlib=target,
        scripts=target / "bin",
        include=target / "include",
        data=target,
        python_executable=Path(interpreter.executable),
        python_version=interpreter.version,
        lock_file=_directory_lock(lock_dir, target),
        work_dir=target,
    )


def prefix_layout(interpreter: Interpreter, prefix: Path, lock_dir: Path) -> EnvLayout:
    """``pip install --prefix DIR``: the interpreter's own layout, moved under DIR
    (DIR/lib/pythonX.Y/site-packages, DIR/bin, ...); the lock as for ``target_layout``."""
    own = layout_for(interpreter)
    home = own.data
    prefix = prefix.absolute()

    def moved(path: Path) -> Path:
        try:
            return prefix / path.relative_to(home)
        except ValueError:  # a scheme path outside the prefix (unusual distro layouts)
            return prefix / path.name

    return replace(
        own,
        purelib=moved(own.purelib),
        platlib=moved(own.platlib),
        scripts=moved(own.scripts),
        include=moved(own.include),
        data=prefix,
        lock_file=_directory_lock(lock_dir, prefix),
    )


def _directory_lock(lock_dir: Path, directory: Path) -> Path:
    return Path(directory_lock_path(str(lock_dir), str(directory)))
