"""``cloche export conda``: the lock as an environment.yml for teammates on conda.

conda gets Python and pip; every locked package goes in the ``pip:`` section at its
locked version (the same lines ``export requirements`` writes, markers included), so
``conda env create`` recreates the lock's versions, not a new conda solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from packaging.pylock import Pylock

from cloche import __version__
from cloche.core.project.spec import LOCKFILE
from cloche.ops.project.export import ExportRequest, render_requirements


def render_environment(
    lock: Pylock,
    lock_dir: Path,
    python: str,
    targets: Sequence[str],
    request: ExportRequest,
    *,
    name: str,
    channels: Sequence[str] = ("conda-forge",),
    index_urls: Sequence[str] = (),
    lock_file: str = LOCKFILE,
) -> str:
    """environment.yml text: python=X.Y and pip from conda, the lock's packages via pip."""
    import yaml

    lines = render_requirements(lock, lock_dir, python, targets, request, index_urls, lock_file)
    pip = [line for line in lines.splitlines() if line and not line.startswith("#")]
    document = {
        "name": name,
        "channels": list(channels),
        "dependencies": [f"python={_minor(python)}", "pip", {"pip": pip}],
    }
    header = (
        f"# Exported by cloche {__version__} from {lock_file}; do not edit.\n"
        "# Recreate with: conda env create -f environment.yml\n"
    )
    body: str = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000)
    return header + body


def _minor(python: str) -> str:
    return ".".join(python.split(".")[:2])
