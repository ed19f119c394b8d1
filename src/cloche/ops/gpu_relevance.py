"""Whether a project command needs the GPU layer at all.

A project with no GPU-built package (the catalog's torch family, JAX, TensorFlow) and
no named lock syncs as any other: it never builds the catalog's values, detects the
machine or routes an index (imports a fresh ``sync`` paid ~10 ms for).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.core.models import NormalizedName, normalize
from cloche.core.variants.catalog_file import SHIPPED_CATALOG, read_catalog_data, torch_family

if TYPE_CHECKING:
    from packaging.pylock import Pylock

    from cloche.config import Settings

PARSED_CATALOG = "variants-v1.json"
"""The parsed catalog kept in the cache directory (see ``read_catalog_data``)."""
EXTRA_FRAMEWORKS = ("jax", "tensorflow")
"""GPU-built frameworks chosen by an extra (``jax[cuda12]``), not by an index."""
NAMED_LOCK = re.compile(r"^pylock\.([^.\\/]+)\.toml$")  # PEP 751: no dot in the name


def named_locks(root: Path) -> tuple[str, ...]:
    """The names of the project's named locks (``pylock.<name>.toml``), sorted."""
    try:
        entries = [entry.name for entry in root.iterdir()]
    except OSError:
        return ()
    return tuple(sorted(m.group(1) for m in map(NAMED_LOCK.match, entries) if m is not None))


def torch_label(lock: Pylock) -> str | None:
    """The torch version ``lock`` holds when it names a build (``2.9.0+cu128``), else None."""
    for package in lock.packages:
        version = package.version
        if normalize(package.name) == "torch" and version is not None and version.local:
            return str(version)
    return None


def gpu_built(family: Iterable[str], names: Iterable[str]) -> set[NormalizedName]:
    """The names among ``names`` built per accelerator: the torch ``family`` the catalog
    lists, and the frameworks chosen by an extra."""
    gpu = {normalize(member) for member in (*family, *EXTRA_FRAMEWORKS)}
    return {normalize(name) for name in names} & gpu


def governs_any(settings: Settings, names: Iterable[str]) -> bool:
    """Whether any of ``names`` is built per accelerator, by the settings' catalog."""
    names = list(names)
    if not names:
        return False
    where = settings.variant_catalog or SHIPPED_CATALOG
    data = read_catalog_data(where, settings.cache_dir / PARSED_CATALOG)
    return bool(gpu_built(torch_family(data), names))


def plain_project(
    settings: Settings, root: Path, names: Iterable[str], plain_lock_exists: bool
) -> bool:
    """True when a command with no ``--accelerator`` / ``--lock`` uses ``pylock.toml`` as
    it is: no named lock applies and no GPU-built package is among ``names``."""
    if not plain_lock_exists and named_locks(root):
        return False
    return not governs_any(settings, names)
