"""Extension modules compiled against NumPy 1.x in an env with NumPy 2 (the "A module
that was compiled using NumPy 1.x cannot be run in NumPy 2.x" failure), found by
reading the compiled files, never by importing them.

The heuristic: ``import_array()`` (NumPy's C-API loader, inlined from
``__multiarray_api.h`` into every module that uses the C-API) names the module it
imports as a string. NumPy 1.x headers name only ``numpy.core._multiarray_umath``;
NumPy 2 headers name ``numpy._core._multiarray_umath`` first (and keep the old name
as a fallback). So an extension whose bytes hold the old name and not the new one
was built with 1.x headers, and NumPy 2 refuses to load it. Only distributions that
declare a dependency on numpy are scanned (their ``.so`` / ``.pyd`` files from RECORD).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from cloche.adapters.install import InstalledDist
from cloche.errors import ClocheError
from cloche.ops.doctor.model import DoctorEnv, Finding, Severity

NUMPY1_MARKER = b"numpy.core._multiarray_umath"
NUMPY2_MARKER = b"numpy._core._multiarray_umath"
_EXTENSIONS = (".so", ".pyd")


def built_against_numpy1(path: Path) -> bool:
    """True when the compiled file at ``path`` loads NumPy's C-API the 1.x way only."""
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(NUMPY1_MARKER) != -1 and data.find(NUMPY2_MARKER) == -1
    except (OSError, ValueError):  # unreadable, or empty (mmap refuses length 0)
        return False


def _requires_numpy(dist: InstalledDist) -> bool:
    for line in dist.requires:
        try:
            if Requirement(line).name.lower() == "numpy":
                return True
        except InvalidRequirement:
            continue
    return False


def _extension_files(dist: InstalledDist) -> Iterator[Path]:
    from cloche.adapters.install.installed import record_paths

    site = dist.dist_info.parent
    try:
        paths = record_paths(dist)
    except ClocheError:  # no RECORD: record_integrity reports that
        return
    for relative in paths:
        name = relative.rsplit("/", 1)[-1]
        if name.endswith(_EXTENSIONS) or ".so." in name:
            yield site / relative


def numpy_abi(env: DoctorEnv) -> Iterator[Finding]:
    """Packages whose extensions were compiled against NumPy 1.x while NumPy 2 is installed."""
    numpy = next((d for d in env.dists if d.name == "numpy"), None)
    if numpy is None or numpy.version.major < 2:
        return
    for dist in env.dists:
        if dist.name == "numpy" or not _requires_numpy(dist):
            continue
        old = [p for p in _extension_files(dist) if built_against_numpy1(p)]
        if not old:
            continue
        shown = [f"{old[0].relative_to(dist.dist_info.parent)}: has {NUMPY1_MARKER.decode()} only"]
        shown += [f"... and {len(old) - 1} more extension(s)"] if len(old) > 1 else []
        yield Finding(
            "numpy-abi",
            Severity.ERROR,
            f"{dist} was compiled against NumPy 1.x; numpy {numpy.version} is installed",
            tuple(shown),
            f'cloche pip install {env.python_command} --upgrade "{dist.name}" '
            f'(a release built for NumPy 2), or "numpy<2"',
        )
