"""Where each file of a wheel goes in an environment (PEP 427 schemes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from installer.utils import parse_metadata_file

from cloche.adapters.install.layout import EnvLayout, InstallRequest, RecordRowLike
from cloche.errors import InstallError

# Written fresh by the installer, never taken from the wheel.
_GENERATED = frozenset(
    {"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED", "direct_url.json"}
)


class PlannedFile(NamedTuple):
    """One file of a wheel and where it goes.

    A named tuple of plain strings rather than a frozen dataclass: a big install plans
    thousands of them, and tuples are several times cheaper to make.
    """

    source: str
    target: str
    row: RecordRowLike
    is_script: bool
    """From ``.data/scripts``: copied with its ``#!python`` shebang rewritten."""
    in_site: bool
    """Installed at its wheel path under the site directory, so RECORD lists it as is."""


@dataclass(frozen=True, slots=True)
class WheelPlan:
    request: InstallRequest
    site: Path
    """The site-packages directory that receives the ``.dist-info``; RECORD is relative to it."""
    files: tuple[PlannedFile, ...]

    @property
    def dist_info(self) -> Path:
        return self.site / self.request.wheel.dist_info

    @property
    def label(self) -> str:
        return f"{self.request.wheel.name} {self.request.wheel.version}"


def _root_is_purelib(request: InstallRequest) -> bool:
    wheel = request.wheel
    wheel_file = wheel.path / wheel.dist_info / "WHEEL"
    try:
        text = wheel_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(
            f"cannot read {wheel_file} of {wheel.filename}: {exc}",
            hint="the cache entry is damaged; run `cloche cache clean` and install again",
        ) from None
    return parse_metadata_file(text).get("Root-Is-Purelib", "").strip().lower() == "true"


def _relative_parts(request: InstallRequest, path: str) -> list[str]:
    parts = path.split("/")
    if path.startswith("/") or "" in parts or "." in parts or ".." in parts or "\\" in path:
        raise InstallError(
            f"{request.wheel.filename} lists {path!r}, which is not inside the wheel; refusing it"
        )
    return parts


def _under(directory: str, parts: list[str]) -> str:
    return directory + os.sep + os.sep.join(parts)


def plan_wheel(layout: EnvLayout, request: InstallRequest) -> WheelPlan:
    """Map every file of the wheel to its target path in ``layout``."""
    wheel = request.wheel
    site_path = layout.purelib if _root_is_purelib(request) else layout.platlib
    site = str(site_path)
    source_root = str(wheel.path)
    dist_info = wheel.dist_info
    data_dir = dist_info[: -len(".dist-info")] + ".data"
    schemes = {
        "purelib": str(layout.purelib),
        "platlib": str(layout.platlib),
        "scripts": str(layout.scripts),
        "headers": str(layout.include / wheel.name),
        "data": str(layout.data),
    }
    files = []
    for row in wheel.records:
        parts = _relative_parts(request, row.path)
        top = parts[0]
        if top == dist_info and len(parts) == 2 and parts[1] in _GENERATED:
            continue
        source = _under(source_root, parts)
        if top == data_dir:
            if len(parts) < 3 or parts[1] not in schemes:
                raise InstallError(
                    f"{wheel.filename} has {row.path!r} in an unknown .data scheme; refusing it"
                )
            target = _under(schemes[parts[1]], parts[2:])
            files.append(PlannedFile(source, target, row, parts[1] == "scripts", False))
        else:
            files.append(PlannedFile(source, _under(site, parts), row, False, True))
    return WheelPlan(request, site_path, tuple(files))
