"""Where each file of a wheel goes in an environment (PEP 427 schemes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from installer.utils import parse_metadata_file

from cloche.adapters.install.layout import EnvLayout, InstallRequest, RecordRowLike
from cloche.errors import InstallError

# Written fresh by the installer, never taken from the wheel.
_GENERATED = frozenset(
    {"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED", "direct_url.json"}
)


@dataclass(frozen=True, slots=True)
class PlannedFile:
    source: Path
    target: Path
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
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise InstallError(
            f"{request.wheel.filename} lists {path!r}, which is not inside the wheel; refusing it"
        )
    return parts


def plan_wheel(layout: EnvLayout, request: InstallRequest) -> WheelPlan:
    """Map every file of the wheel to its target path in ``layout``."""
    wheel = request.wheel
    site = layout.purelib if _root_is_purelib(request) else layout.platlib
    data_dir = wheel.dist_info[: -len(".dist-info")] + ".data"
    schemes = {
        "purelib": layout.purelib,
        "platlib": layout.platlib,
        "scripts": layout.scripts,
        "headers": layout.include / wheel.name,
        "data": layout.data,
    }
    files = []
    for row in wheel.records:
        parts = _relative_parts(request, row.path)
        if parts[0] == wheel.dist_info and len(parts) == 2 and parts[1] in _GENERATED:
            continue
        if parts[0] == data_dir:
            if len(parts) < 3 or parts[1] not in schemes:
                raise InstallError(
                    f"{wheel.filename} has {row.path!r} in an unknown .data scheme; refusing it"
                )
            target = schemes[parts[1]].joinpath(*parts[2:])
            is_script = parts[1] == "scripts"
        else:
            target = site.joinpath(*parts)
            is_script = False
        source = wheel.path.joinpath(*parts)
        files.append(PlannedFile(source, target, row, is_script, in_site=parts[0] != data_dir))
    return WheelPlan(request, site, tuple(files))
