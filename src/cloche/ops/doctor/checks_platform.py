"""Checks on the env against its interpreter and surroundings: a base Python that is
gone, wheels built for another Python or platform, files in the working directory
that shadow packages, and pip mixed into a conda prefix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from packaging.tags import parse_tag

from cloche.adapters.install import InstalledDist
from cloche.core.conda_names import conda_names
from cloche.core.direct_url import recorded_url
from cloche.ops.doctor.model import DoctorEnv, Finding, Severity

_BASE_NAMES = ("python3", "python", "python.exe")


def base_interpreter(env: DoctorEnv) -> Iterator[Finding]:
    """A venv whose ``pyvenv.cfg`` home (the base Python it was made from) is gone."""
    home = env.venv_config.get("home")
    if home is None:
        return
    names = (*_BASE_NAMES, f"python{env.python_version}")
    if any((Path(home) / name).exists() for name in names):
        return
    version = env.python_version or "3"
    yield Finding(
        "base-interpreter",
        Severity.ERROR,
        "the venv's base interpreter is gone: its Python cannot start",
        (f"{env.prefix / 'pyvenv.cfg'}: home = {home} (no Python there)",),
        f"cloche venv --allow-existing --python {version} {env.prefix}",
    )


def wheel_tags(dist: InstalledDist) -> list[str]:
    """The ``Tag:`` lines of ``dist``'s WHEEL file (empty when it has none)."""
    try:
        text = (dist.dist_info / "WHEEL").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [line[4:].strip() for line in text.splitlines() if line.startswith("Tag:")]


def foreign_builds(env: DoctorEnv) -> Iterator[Finding]:
    """Distributions whose wheel tags fit no tag of this env's interpreter (copied in
    from another Python version or platform)."""
    if env.interpreter is None:
        return
    supported = set(env.interpreter.tags)
    best = str(env.interpreter.tags[0]) if env.interpreter.tags else "?"
    for dist in env.dists:
        tags = wheel_tags(dist)
        if not tags or any(tag in supported for text in tags for tag in parse_tag(text)):
            continue
        yield Finding(
            "foreign-build",
            Severity.ERROR,
            f"{dist} was built for another Python or platform",
            (f"WHEEL tags: {', '.join(tags)}", f"this env's Python takes {best} (and older)"),
            f"cloche pip install {env.python_command} --force-reinstall --no-deps "
            f'"{dist.name}=={dist.version}"',
        )


def _import_names(dist: InstalledDist) -> set[str]:
    names = set()
    for top in dist.top_level:
        if top.endswith((".dist-info", ".data", ".pth", ".egg-info")) or top in (
            "__pycache__",
            "bin",
        ):
            continue
        names.add(top.split(".", 1)[0])
    return names


def _shadowing_entry(cwd: Path, entry: os.DirEntry[str]) -> str | None:
    """The module name ``entry`` provides to ``import`` from the working directory.

    A directory shadows only as a regular package (with ``__init__.py``): a plain
    directory is a namespace portion, which import passes over for a real package.
    """
    if entry.is_dir():
        return entry.name if (cwd / entry.name / "__init__.py").exists() else None
    stem, dot, suffix = entry.name.partition(".")
    if dot and (suffix == "py" or suffix.endswith(("so", "pyd"))):
        return stem
    return None


def shadowed_packages(env: DoctorEnv) -> Iterator[Finding]:
    """``numpy.py`` or a ``torch/`` package in the working directory: Python puts the
    script's (or the current) directory first on sys.path, so it wins over the install."""
    owners: dict[str, InstalledDist] = {}
    for dist in env.dists:
        if recorded_url(dist.direct_url)[1]:  # an editable project is meant to be here
            continue
        for name in _import_names(dist):
            owners.setdefault(name, dist)
    try:
        entries = list(os.scandir(env.cwd))
    except OSError:
        return
    sites = {site.resolve() for site in env.site_dirs}
    if env.cwd.resolve() in sites:
        return
    for entry in sorted(entries, key=lambda e: e.name):
        module = _shadowing_entry(env.cwd, entry)
        owner = owners.get(module) if module else None
        if owner is None:
            continue
        yield Finding(
            "shadowed-package",
            Severity.ERROR,
            f"{entry.name} in the working directory shadows the installed {owner}",
            (f"{env.cwd / entry.name}: 'import {module}' finds this before site-packages",),
            f"rename {env.cwd / entry.name} (and delete __pycache__ beside it)",
        )


def conda_pip_mix(env: DoctorEnv) -> Iterator[Finding]:
    """pip (or cloche, uv) installs inside a conda prefix: conda does not see them, and
    the same package from both means conda's copy was overwritten."""
    meta = env.prefix / "conda-meta"
    if not meta.is_dir():
        return
    names = conda_names()
    conda_packages = {}
    for record in meta.glob("*.json"):
        parts = record.stem.rsplit("-", 2)
        if len(parts) == 3:
            project = names.same_project(parts[0])
            if project is not None:
                conda_packages[project] = parts[0]
    foreign = [d for d in env.dists if d.installer and d.installer.lower() != "conda"]
    if not foreign:
        return
    both = [d for d in foreign if d.name in conda_packages]
    for dist in both:
        conda = conda_packages[dist.name]
        yield Finding(
            "conda-pip-overlap",
            Severity.ERROR,
            f"{dist.name} is installed by both conda ({conda}) and {dist.installer}",
            (f"{meta}/{conda}-*.json", f"{dist.dist_info}/INSTALLER: {dist.installer}"),
            f"cloche pip uninstall {env.python_command} {dist.name} && "
            f"conda install --force-reinstall {conda}",
        )
    listed = ", ".join(f"{d} ({d.installer})" for d in foreign[:8])
    more = f" and {len(foreign) - 8} more" if len(foreign) > 8 else ""
    yield Finding(
        "conda-pip-mix",
        Severity.WARNING,
        f"pip and conda mixed in one prefix: {len(foreign)} package(s) conda does not track",
        (f"{meta} exists", f"installed by pip-style tools: {listed}{more}"),
        "install them with conda where it has them, or keep this env to one tool "
        "(cloche export conda writes an environment.yml with a pip: section)",
    )
