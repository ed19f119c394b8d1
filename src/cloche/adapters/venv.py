"""Create virtual environments directly, without running ``python -m venv``.

The layout comes from the base interpreter's probe (its venv sysconfig scheme),
so with a cached probe creating a venv starts no subprocess at all. pip is not
installed here: seeding goes through cloche's own installer.

Importing ``python_probe`` is deliberate: a venv's interpreter description is
derived from its base's probe and written back to the same cache.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import cloche
from cloche.adapters.python_probe import (
    ProbeResult,
    absolute_path,
    interpreter_from_data,
    probe_result,
    store_probe,
)
from cloche.adapters.venv_activate import ActivationContext, write_activation_scripts
from cloche.core.models import Interpreter
from cloche.errors import EnvironmentError_


def create_venv(
    path: Path,
    interpreter: Interpreter,
    *,
    prompt: str | None = None,
    clear: bool = False,
    system_site_packages: bool = False,
    allow_existing: bool = False,
    cache_dir: Path | None = None,
) -> Interpreter:
    """Create a virtual environment at ``path`` for ``interpreter`` and return its Interpreter.

    ``clear`` wipes an existing environment first; ``allow_existing`` keeps what is
    there and refreshes configuration, links and scripts.
    """
    if os.name == "nt":
        raise EnvironmentError_(
            "creating virtual environments on Windows is not supported yet; "
            "use 'python -m venv' there"
        )
    base = probe_result(Path(interpreter.executable), cache_dir)
    if prompt == ".":  # like CPython (bpo-38901): the current directory's name
        prompt = Path.cwd().name
    venv_dir = absolute_path(path)
    created = not os.path.lexists(venv_dir)
    _prepare_directory(venv_dir, clear=clear, allow_existing=allow_existing)
    try:
        return _populate(venv_dir, base, prompt, system_site_packages, cache_dir)
    except BaseException:
        if created:
            shutil.rmtree(venv_dir, ignore_errors=True)
        raise


def _populate(
    venv_dir: Path,
    base: ProbeResult,
    prompt: str | None,
    system_site_packages: bool,
    cache_dir: Path | None,
) -> Interpreter:
    paths = base.venv_paths(str(venv_dir))
    bin_dir = Path(paths["scripts"])
    try:
        for key in ("scripts", "purelib", "platlib"):
            Path(paths[key]).mkdir(parents=True, exist_ok=True)
        _link_lib64(venv_dir, base)
        _write_pyvenv_cfg(venv_dir, base, prompt=prompt, system_site_packages=system_site_packages)
        executables = _link_executables(bin_dir, base)
        (venv_dir / ".gitignore").write_text(
            "# Created by cloche automatically.\n*\n", encoding="utf-8"
        )
    except OSError as exc:
        raise EnvironmentError_(f"cannot create virtual environment at {venv_dir}: {exc}") from None
    name = venv_dir.name
    shown_prompt = prompt if prompt is not None else name
    write_activation_scripts(
        Path(base.stdlib),
        str(base.data["os_name"]),
        bin_dir,
        ActivationContext(
            env_dir=str(venv_dir),
            env_name=name,
            prompt=shown_prompt,
            bin_name=os.path.relpath(bin_dir, venv_dir),
            env_exe=str(executables[0]),
        ),
    )
    data = _venv_probe_data(base, venv_dir, paths)
    for executable in executables:
        store_probe(executable, data, cache_dir)
    return interpreter_from_data(str(executables[0]), data)


def _prepare_directory(venv_dir: Path, *, clear: bool, allow_existing: bool) -> None:
    if venv_dir.is_symlink() and not venv_dir.exists():
        raise EnvironmentError_(f"{venv_dir} is a broken symlink; remove it or pick another path")
    if venv_dir.exists() and not venv_dir.is_dir():
        raise EnvironmentError_(f"{venv_dir} exists and is not a directory; pick another path")
    if not venv_dir.exists():
        _mkdir(venv_dir)
        return
    try:
        entries = list(venv_dir.iterdir())
    except OSError as exc:
        raise EnvironmentError_(f"cannot read {venv_dir}: {exc}") from None
    if not entries:
        return
    if clear:
        if not (venv_dir / "pyvenv.cfg").is_file():
            raise EnvironmentError_(
                f"refusing to clear {venv_dir}: it is not a virtual environment (no pyvenv.cfg)"
            )
        _clear(venv_dir, entries)
    elif not allow_existing:
        raise EnvironmentError_(
            f"{venv_dir} already exists and is not empty; pass --clear to replace it "
            "or --allow-existing to update it in place"
        )


def _mkdir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True)
    except OSError as exc:
        raise EnvironmentError_(f"cannot create {directory}: {exc}") from None


def _clear(venv_dir: Path, entries: list[Path]) -> None:
    try:
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as exc:
        raise EnvironmentError_(f"cannot clear {venv_dir}: {exc}") from None


def _link_lib64(venv_dir: Path, base: ProbeResult) -> None:
    # CPython adds lib64 -> lib on 64-bit POSIX except macOS (bpo-21197).
    data = base.data
    lib64 = venv_dir / "lib64"
    wanted = data["is_64bit"] and data["os_name"] == "posix" and data["sys_platform"] != "darwin"
    if wanted and (venv_dir / "lib").is_dir() and not os.path.lexists(lib64):
        lib64.symlink_to("lib")


def _write_pyvenv_cfg(
    venv_dir: Path, base: ProbeResult, *, prompt: str | None, system_site_packages: bool
) -> None:
    base_exe = base.base_executable
    version = str(base.interpreter.version)
    lines = [
        f"home = {Path(base_exe).parent}",
        f"include-system-site-packages = {'true' if system_site_packages else 'false'}",
        f"version = {version}",
        f"executable = {base_exe}",
        f"command = cloche venv --python {base_exe} {venv_dir}",
    ]
    if prompt is not None:
        lines.append(f"prompt = {prompt!r}")
    lines.append(f"cloche = {cloche.__version__}")
    (venv_dir / "pyvenv.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _link_executables(bin_dir: Path, base: ProbeResult) -> list[Path]:
    info = base.data["version_info"]
    major, minor = info[0], info[1]
    names = ["python", f"python{major}", f"python{major}.{minor}"]
    if base.data.get("gil_disabled"):
        names.append(f"python{major}.{minor}t")
    if base.interpreter.implementation == "pypy":
        names += ["pypy", f"pypy{major}", f"pypy{major}.{minor}"]
    links = []
    for name in names:
        link = bin_dir / name
        if os.path.lexists(link):
            link.unlink()
        link.symlink_to(base.base_executable)
        links.append(link)
    return links


def _venv_probe_data(base: ProbeResult, venv_dir: Path, paths: dict[str, str]) -> dict[str, Any]:
    """What probing the new venv's python would report, derived from its base's probe."""
    data = dict(base.data)
    data["prefix"] = str(venv_dir)
    data["paths"] = paths
    return data
