"""``cloche export docker``: a Dockerfile and .dockerignore that recreate the lock's env.

The image installs ``requirements.lock.txt`` (the lock's Linux selection with every
file's sha256) with ``pip install --no-deps --require-hashes`` through a BuildKit
cache mount, before the project's code is copied (so code edits reuse the layer),
and runs as a non-root user. A CUDA accelerator picks an ``nvidia/cuda`` runtime
base and installs the lock's Python into it with uv's standalone builds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.pylock import Pylock

from cloche import __version__
from cloche.core.lock.select import select
from cloche.core.project.spec import LOCKFILE
from cloche.core.targets import target_for
from cloche.errors import ClocheError, UsageError
from cloche.ops.project.export import ExportRequest, render_requirements

REQUIREMENTS_NAME = "requirements.lock.txt"
UV_IMAGE = "ghcr.io/astral-sh/uv:0.8.13"
# CUDA release per accelerator, and the newest Ubuntu NVIDIA publishes a runtime for.
CUDA_IMAGES: dict[str, str] = {
    "cu118": "11.8.0-runtime-ubuntu22.04",
    "cu121": "12.1.1-runtime-ubuntu22.04",
    "cu124": "12.4.1-runtime-ubuntu22.04",
    "cu126": "12.6.3-runtime-ubuntu24.04",
    "cu128": "12.8.1-runtime-ubuntu24.04",
    "cu129": "12.9.1-runtime-ubuntu24.04",
    "cu130": "13.0.0-runtime-ubuntu24.04",
}
_CUDA_IN_LOCK = re.compile(r"(?:\+|/whl/)(cu\d{3})\b")

DOCKERIGNORE = """\
# Written by cloche export docker: keep the build context small and free of envs.
.git
.venv
**/__pycache__
**/*.pyc
.mypy_cache
.pytest_cache
.ruff_cache
*.egg-info
build
dist
"""


@dataclass(frozen=True, slots=True)
class DockerExport:
    """The files ``export docker`` writes, by name."""

    dockerfile: str
    dockerignore: str
    requirements: str
    accelerator: str | None


def lock_accelerator(lock: Pylock) -> str | None:
    """The CUDA build the lock holds (``+cu128`` versions, ``/whl/cu128`` indexes), if any."""
    for package in lock.packages:
        for text in (str(package.version or ""), package.index or ""):
            if match := _CUDA_IN_LOCK.search(text):
                return match[1]
    return None


def linux_target(
    lock: Pylock, python: str, targets: Sequence[str], lock_file: str = LOCKFILE
) -> str:
    """The lock's Linux target; an error naming what is missing when it has none."""
    linux = [t for t in targets if target_for(python, t).platform == "linux"]
    if not linux:
        raise UsageError(
            f'{lock_file} has no Linux target (it covers: {", ".join(targets)}); add "linux" '
            "to [tool.cloche] targets and run 'cloche lock', then export again"
        )
    label = "linux" if "linux" in linux else linux[0]
    target = target_for(python, label)
    try:
        select(lock, dict(target.marker_env), target.tags)
    except ClocheError as exc:
        raise ClocheError(
            f"{lock_file} has no Linux wheels for every package, so no image can install it: "
            f"{exc.message}",
            hint="add \"linux\" to [tool.cloche] targets and run 'cloche lock'",
        ) from None
    return label


def render_docker(
    lock: Pylock,
    lock_dir: Path,
    python: str,
    targets: Sequence[str],
    request: ExportRequest,
    *,
    accelerator: str | None,
    buildable: bool,
    index_urls: Sequence[str] = (),
    lock_file: str = LOCKFILE,
) -> DockerExport:
    """The Dockerfile, .dockerignore and hashed requirements for the lock's Linux selection."""
    label = linux_target(lock, python, targets, lock_file)
    accelerator = accelerator or lock_accelerator(lock)
    if accelerator is not None and accelerator not in CUDA_IMAGES:
        known = ", ".join(CUDA_IMAGES)
        raise UsageError(f"unknown accelerator {accelerator!r}: expected one of {known}")
    # The project's own directory is built from the copied code, after the lock layer.
    locked = dataclasses.replace(lock, packages=[p for p in lock.packages if p.directory is None])
    hashed = dataclasses.replace(request, hashes=True)
    requirements = render_requirements(
        locked, lock_dir, python, [label], hashed, index_urls, lock_file
    )
    minor = ".".join(python.split(".")[:2])
    dockerfile = _dockerfile(minor, accelerator, buildable, lock_file)
    return DockerExport(dockerfile, DOCKERIGNORE, requirements, accelerator)


def _python_stage(minor: str, accelerator: str | None) -> list[str]:
    if accelerator is None:
        return [f"FROM python:{minor}-slim", "", "RUN python -m venv /opt/venv"]
    return [
        f"FROM {UV_IMAGE} AS uv",
        "",
        f"FROM nvidia/cuda:{CUDA_IMAGES[accelerator]}",
        "COPY --from=uv /uv /usr/local/bin/uv",
        "ENV UV_PYTHON_INSTALL_DIR=/opt/python",
        f'RUN uv python install {minor} && "$(uv python find {minor})" -m venv /opt/venv',
    ]


def _dockerfile(minor: str, accelerator: str | None, buildable: bool, lock_file: str) -> str:
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# Written by cloche {__version__} from {lock_file}: 'cloche export docker' again "
        "after each lock.",
        *_python_stage(minor, accelerator),
        "",
        "ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        "WORKDIR /app",
        "",
        "# The locked packages first: this layer is rebuilt only when the lock changes.",
        f"COPY {REQUIREMENTS_NAME} ./",
        "RUN --mount=type=cache,target=/root/.cache/pip \\",
        f"    pip install --no-deps --require-hashes -r {REQUIREMENTS_NAME}",
        "",
        "RUN useradd --create-home --uid 10001 app",
        "COPY --chown=10001:10001 . .",
    ]
    if buildable:
        lines += [
            "RUN --mount=type=cache,target=/root/.cache/pip \\",
            "    pip install --no-deps .",
        ]
    lines += ["USER 10001", 'CMD ["python"]']
    return "\n".join(lines) + "\n"
