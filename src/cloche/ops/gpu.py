"""``cloche gpu``: detect the machine (cached), read the build catalog, choose."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloche.config import Settings
from cloche.core.variants.catalog import read_catalog, with_torch_index
from cloche.core.variants.frameworks import Selection, select
from cloche.core.variants.machine import Machine
from cloche.core.variants.model import Catalog, CudaPolicy
from cloche.core.variants.select import Request, check_accelerator
from cloche.ops.gpu_relevance import PARSED_CATALOG


@dataclass(frozen=True, slots=True)
class GpuAsk:
    """What ``cloche gpu`` was asked beyond the settings (None: from the settings)."""

    accelerator: str | None = None
    cuda_policy: str | None = None
    python: str | None = None


@dataclass(frozen=True, slots=True)
class ToolTable:
    """``[tool.cloche]`` of the nearest project (None: none), and the pyproject.toml files
    read on the way up; ``ended``: the last of them ended the walk."""

    table: dict[str, Any] | None
    read: tuple[Path, ...] = ()
    ended: bool = False


def project_tool_table(start: Path) -> ToolTable:
    """``[tool.cloche]`` of the nearest pyproject.toml declaring a project, if any.

    Walks up as ``core.project.find_project_root`` does, without importing the
    project model (``cloche gpu`` is meant to answer in milliseconds)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    start = start.resolve()
    read: list[Path] = []
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        read.append(candidate)
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            # the project's own commands report a broken pyproject.toml
            return ToolTable(None, tuple(read), ended=True)
        tool = data.get("tool")
        table = tool.get("cloche") if isinstance(tool, dict) else None
        if isinstance(table, dict):
            return ToolTable(table, tuple(read), ended=True)
        if "project" in data:
            return ToolTable(None, tuple(read), ended=True)
    return ToolTable(None, tuple(read))


def catalog_file(settings: Settings) -> Path:
    """The build catalog file the settings choose (the shipped one by default)."""
    from cloche.core.variants.catalog_file import SHIPPED_CATALOG

    return settings.variant_catalog or SHIPPED_CATALOG


def load_catalog(settings: Settings) -> Catalog:
    """The build catalog with the settings' overrides (a replacement file, an index mirror)."""
    catalog = read_catalog(settings.variant_catalog, settings.cache_dir / PARSED_CATALOG)
    if settings.torch_index_url:
        catalog = with_torch_index(catalog, settings.torch_index_url)
    return catalog


def machine_for(settings: Settings) -> Machine:
    """The machine as detected (cached in the cache dir), or as the override says."""
    from cloche.adapters.accel.detect import Detector, detect_cached, overridden_machine

    if settings.cuda_driver_version:
        return overridden_machine(settings.cuda_driver_version, sys.platform)
    return detect_cached(Detector(), settings.cache_dir)


def choose_for_machine(settings: Settings, ask: GpuAsk) -> Selection:
    """What torch / TensorFlow / JAX build this machine gets, and why."""
    catalog = load_catalog(settings)
    if ask.accelerator is not None:
        forced = check_accelerator(catalog, ask.accelerator, "--accelerator")
        origin = "--accelerator"
    elif settings.accelerator is not None:
        origin = "CLOCHE_ACCELERATOR (or the accelerator setting)"
        forced = check_accelerator(catalog, settings.accelerator, origin)
    else:
        forced, origin = None, ""
    request = Request(
        policy=CudaPolicy(ask.cuda_policy or settings.cuda_policy),
        accelerator=forced,
        accelerator_origin=origin,
        python=ask.python,
    )
    return select(catalog, machine_for(settings), request)
