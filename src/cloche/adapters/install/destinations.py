"""Where each file of a wheel goes in an environment (PEP 427 schemes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cloche.adapters.install.layout import EnvLayout, InstallRequest, RecordRowLike
from cloche.core.headers import first, read_headers
from cloche.errors import InstallError

# Written fresh by the installer, never taken from the wheel.
_GENERATED = frozenset(
    {"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED", "direct_url.json"}
)


class PlannedFile(NamedTuple):
    """One file of a wheel's ``.data`` directory and where its scheme puts it."""

    source: str
    target: str
    row: RecordRowLike
    is_script: bool
    """From ``.data/scripts``: copied with its ``#!python`` shebang rewritten."""


@dataclass(frozen=True, slots=True)
class WheelPlan:
    """Where every file of one wheel goes.

    Most files go to the site directory at their wheel path; those are kept as the
    store's rows, not one object per file (a warm install places thousands).
    """

    request: InstallRequest
    site: Path
    """The site-packages directory that receives the ``.dist-info``; RECORD is relative to it."""
    site_rows: tuple[RecordRowLike, ...]
    """Files installed at ``site/<row.path>``, so RECORD lists them as they are."""
    data_files: tuple[PlannedFile, ...]
    """Files from the wheel's ``.data`` directory, placed by scheme."""

    def links(self) -> dict[str, str]:
        """Target -> store source of every file that is linked (all but scripts)."""
        source_root = str(self.request.wheel.path) + os.sep
        site_root = str(self.site) + os.sep
        paths = [row.path for row in self.site_rows]
        if os.sep != "/":
            paths = [path.replace("/", os.sep) for path in paths]
        out = {site_root + path: source_root + path for path in paths}
        out.update((f.target, f.source) for f in self.data_files if not f.is_script)
        return out

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
    return (first(read_headers(text), "Root-Is-Purelib") or "").lower() == "true"


def _unsafe(wrapped: str) -> bool:
    """Whether paths wrapped as ``/path/`` hold an empty, ``.`` or ``..`` part or a backslash."""
    return "//" in wrapped or "/./" in wrapped or "/../" in wrapped or "\\" in wrapped


def _check_paths(request: InstallRequest, paths: list[str]) -> None:
    """Refuse a path that is not plain and relative."""
    # All paths at once (one substring test covers every position); the culprit only
    # when there is one.
    if _unsafe("/" + "/\n/".join(paths) + "/"):
        bad = next(path for path in paths if _unsafe(f"/{path}/"))
        raise InstallError(
            f"{request.wheel.filename} lists {bad!r}, which is not inside the wheel; refusing it"
        )


def plan_wheel(layout: EnvLayout, request: InstallRequest) -> WheelPlan:
    """Map every file of the wheel to its target path in ``layout``."""
    wheel = request.wheel
    records = wheel.records
    _check_paths(request, [row.path for row in records])
    site_path = layout.purelib if _root_is_purelib(request) else layout.platlib
    dist_info = wheel.dist_info
    generated = {f"{dist_info}/{name}" for name in _GENERATED}
    data_prefix = dist_info[: -len(".dist-info")] + ".data/"
    data_rows = [row for row in records if row.path.startswith(data_prefix)]
    site_rows = tuple(
        r for r in records if r.path not in generated and not r.path.startswith(data_prefix)
    )
    schemes = {
        "purelib": str(layout.purelib),
        "platlib": str(layout.platlib),
        "scripts": str(layout.scripts),
        "headers": str(layout.include / wheel.name),
        "data": str(layout.data),
    }
    data_files = []
    for row in data_rows:
        parts = row.path.split("/")
        if len(parts) < 3 or parts[1] not in schemes:
            raise InstallError(
                f"{wheel.filename} has {row.path!r} in an unknown .data scheme; refusing it"
            )
        source = os.path.join(str(wheel.path), *parts)
        target = os.path.join(schemes[parts[1]], *parts[2:])
        data_files.append(PlannedFile(source, target, row, parts[1] == "scripts"))
    return WheelPlan(request, site_path, site_rows, tuple(data_files))
