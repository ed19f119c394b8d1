"""What ``cloche env list`` shows: each env's Python, packages and true disk use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cloche.ops.named_env import (
    EnvRecord,
    env_names,
    env_python,
    envs_root,
    pyvenv_cfg,
    read_record,
)


@dataclass(frozen=True, slots=True)
class EnvUsage:
    """Bytes under one env, each inode counted once."""

    own_bytes: int
    """Files only this env holds (one link): what removing it frees."""
    total_bytes: int
    """Every file, including those linked from the cache or shared with a clone."""
    new_bytes: int = 0
    """Of ``total_bytes``, what no env listed before this one already holds."""


@dataclass(frozen=True, slots=True)
class EnvSummary:
    """One row of ``cloche env list``."""

    name: str
    path: Path
    python_version: str
    packages: int
    usage: EnvUsage
    python_missing: bool
    record: EnvRecord | None


def env_usage(root: Path, earlier: set[tuple[int, int]] | None = None) -> EnvUsage:
    """Disk use (allocated blocks) of the tree at ``root``, each inode once; ``new_bytes``
    leaves out inodes in ``earlier``, to which this tree's are added."""
    earlier = set() if earlier is None else earlier
    seen: set[tuple[int, int]] = set()
    own = total = new = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            size = st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
            total += size
            if st.st_nlink == 1:
                own += size
            if key not in earlier:
                earlier.add(key)
                new += size
    return EnvUsage(own, total, new)


def package_count(env: Path) -> int:
    """How many distributions the env holds (``*.dist-info`` in its site-packages)."""
    patterns = ("lib/python*/site-packages/*.dist-info", "Lib/site-packages/*.dist-info")
    return sum(1 for pattern in patterns for _ in env.glob(pattern))


def summarize(name: str, env: Path, seen: set[tuple[int, int]] | None = None) -> EnvSummary:
    record = read_record(env)
    cfg = pyvenv_cfg(env)
    version = cfg.get("version") or cfg.get("version_info") or ""
    if not version and record is not None:
        version = record.python_version
    return EnvSummary(
        name=name,
        path=env,
        python_version=version,
        packages=package_count(env),
        usage=env_usage(env, seen),
        python_missing=not env_python(env).exists(),
        record=record,
    )


def list_envs(root: Path | None = None) -> list[EnvSummary]:
    """Every named env, sorted by name; a file two envs share is new in the first only."""
    root = envs_root() if root is None else root
    seen: set[tuple[int, int]] = set()
    return [summarize(name, root / name, seen) for name in env_names(root)]
