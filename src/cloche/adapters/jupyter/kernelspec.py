"""Kernelspec directories in the user's Jupyter data directory, as jupyter_client reads them.

``<data dir>/kernels/<name>/kernel.json``; the data dir is ``$JUPYTER_DATA_DIR``, else
the platform's (``$XDG_DATA_HOME/jupyter`` or ``~/.local/share/jupyter`` on Linux,
``~/Library/Jupyter`` on macOS, ``%APPDATA%/jupyter`` on Windows), as jupyter_core says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloche.errors import UsageError

_KERNEL_NAME = re.compile(r"^[a-z0-9._-]+$")


def jupyter_data_dir() -> Path:
    """The user's Jupyter data directory."""
    override = os.environ.get("JUPYTER_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "darwin":
        return Path("~/Library/Jupyter").expanduser()
    if os.name == "nt":
        appdata = os.environ.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else Path("~/.jupyter/data").expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else Path("~/.local/share").expanduser()) / "jupyter"


def kernels_dir() -> Path:
    return jupyter_data_dir() / "kernels"


def kernel_name(text: str) -> str:
    """``text`` as a kernel name: lower case (jupyter_client looks names up lower-cased)."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "python"
    return name


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """One kernelspec directory."""

    name: str
    path: Path
    display_name: str
    argv: tuple[str, ...]
    env: str | None
    """The environment cloche made it for (``metadata.cloche.env``), None for others."""


def write_kernelspec(name: str, python: Path, display_name: str, env: Path) -> KernelSpec:
    """Write (or replace) the kernelspec ``name`` running ``python -m ipykernel_launcher``."""
    if not _KERNEL_NAME.match(name):
        raise UsageError(f"invalid kernel name {name!r}: use a-z, 0-9, '.', '_' and '-'")
    argv = [os.fspath(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec: dict[str, Any] = {
        "argv": argv,
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True, "cloche": {"env": os.fspath(env)}},
    }
    parent = kernels_dir()
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
    try:
        (staging / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", "utf-8")
        target = parent / name
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return KernelSpec(name, target, display_name, tuple(argv), os.fspath(env))


def read_kernelspec(directory: Path) -> KernelSpec | None:
    try:
        data = json.loads((directory / "kernel.json").read_text("utf-8"))
        argv = tuple(str(a) for a in data["argv"])
        display = str(data.get("display_name", directory.name))
        meta = data.get("metadata") or {}
        env = (meta.get("cloche") or {}).get("env") if isinstance(meta, dict) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    env = env if isinstance(env, str) else None
    return KernelSpec(directory.name, directory, display, argv, env)


def list_kernelspecs() -> list[KernelSpec]:
    """The kernelspecs in the user's data directory, sorted by name."""
    try:
        entries = sorted(kernels_dir().iterdir())
    except OSError:
        return []
    found = (read_kernelspec(e) for e in entries if e.is_dir() and not e.name.startswith("."))
    return [spec for spec in found if spec is not None]


def remove_kernelspec(name: str) -> Path:
    """Delete the kernelspec ``name``; an unknown name lists the known ones."""
    target = kernels_dir() / name.lower()
    if not (target / "kernel.json").is_file():
        known = ", ".join(s.name for s in list_kernelspecs()) or "none"
        raise UsageError(f"no kernel named {name!r} in {kernels_dir()} (kernels there: {known})")
    shutil.rmtree(target)
    return target
