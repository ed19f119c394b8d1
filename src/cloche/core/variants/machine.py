"""What detection found on a machine: its GPUs and drivers, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cloche.core.variants.model import Capability, DriverVersion, parse_driver_version

Vendor = Literal["nvidia", "amd", "intel", "apple"]


@dataclass(frozen=True, slots=True)
class Gpu:
    """One GPU: its name, memory, and the architecture its code must be built for."""

    name: str
    memory_mb: int | None = None
    compute_capability: Capability | None = None
    """NVIDIA: (8, 6) for sm_86."""
    gfx: str | None = None
    """AMD: the gfx target (``gfx90a``)."""


@dataclass(frozen=True, slots=True)
class Machine:
    """The accelerator side of a machine, as detection (or an override) saw it."""

    vendor: Vendor | None = None
    """Whose GPUs drive the choice; None means CPU only."""
    gpus: tuple[Gpu, ...] = ()
    driver_version: str | None = None
    """NVIDIA's driver (``570.86.10``); for AMD and Intel the kernel driver when known."""
    cuda_driver_version: tuple[int, int] | None = None
    """The newest CUDA the NVIDIA driver reports (``cuDriverGetVersion``: 12080 -> (12, 8))."""
    rocm_version: str | None = None
    source: str = "none"
    """How it was found: ``nvml``, ``nvidia-smi``, ``/proc/driver/nvidia/version``..."""
    platform: str = "linux"
    """``sys.platform`` of the machine (TensorFlow's CUDA extra exists only for Linux)."""
    warnings: tuple[str, ...] = ()
    """What went wrong while looking (a hung ``nvidia-smi``), each one line."""

    @property
    def driver(self) -> DriverVersion | None:
        return parse_driver_version(self.driver_version) if self.driver_version else None

    @property
    def lowest_capability(self) -> Capability | None:
        """The oldest NVIDIA architecture present: every build must run on it."""
        known = [gpu.compute_capability for gpu in self.gpus if gpu.compute_capability]
        return min(known) if known else None

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        return tuple(sorted({g.compute_capability for g in self.gpus if g.compute_capability}))

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON form (the detection cache stores it)."""
        return {
            "vendor": self.vendor,
            "gpus": [
                {
                    "name": gpu.name,
                    "memory_mb": gpu.memory_mb,
                    "compute_capability": _capability_text(gpu.compute_capability),
                    "gfx": gpu.gfx,
                }
                for gpu in self.gpus
            ],
            "driver_version": self.driver_version,
            "cuda_driver_version": _capability_text(self.cuda_driver_version),
            "rocm_version": self.rocm_version,
            "source": self.source,
            "platform": self.platform,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Machine:
        """Inverse of ``to_json``; raises KeyError/TypeError/ValueError on a bad document."""
        vendor = data["vendor"]
        if vendor not in (None, "nvidia", "amd", "intel", "apple"):
            raise ValueError(f"unknown vendor {vendor!r}")
        gpus = tuple(
            Gpu(
                name=str(gpu["name"]),
                memory_mb=None if gpu["memory_mb"] is None else int(gpu["memory_mb"]),
                compute_capability=parse_capability(gpu["compute_capability"]),
                gfx=gpu["gfx"],
            )
            for gpu in data["gpus"]
        )
        return cls(
            vendor=vendor,
            gpus=gpus,
            driver_version=data["driver_version"],
            cuda_driver_version=parse_capability(data["cuda_driver_version"]),
            rocm_version=data["rocm_version"],
            source=str(data["source"]),
            platform=str(data["platform"]),
            warnings=tuple(str(w) for w in data["warnings"]),
        )


def parse_capability(text: str | None) -> Capability | None:
    """``"8.6"`` -> ``(8, 6)``; None for None, and for anything that is not ``N.N``."""
    if text is None:
        return None
    version = parse_driver_version(str(text))
    if version is None or len(version) != 2:
        return None
    return version[0], version[1]


def _capability_text(value: Capability | None) -> str | None:
    return None if value is None else f"{value[0]}.{value[1]}"
