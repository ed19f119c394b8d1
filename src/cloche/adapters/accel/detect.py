"""Detect the machine's accelerator once per boot and driver: NVIDIA, then AMD, Intel,
Apple; none means CPU. The answer is cached on disk, keyed by the boot id and the
drivers' version files, so a warm command reads one small JSON file."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.accel.system import Host
from cloche.core.variants.machine import Machine, parse_capability
from cloche.core.variants.model import parse_driver_version
from cloche.errors import UsageError

if TYPE_CHECKING:
    from cloche.adapters.accel.nvidia import NvidiaProbe

CACHE_NAME = "accel-v1.json"
UNKNOWN_BOOT_TTL = 24 * 3600.0
"""Where the OS has no boot id, a cached answer is kept this long (seconds)."""


@dataclass(frozen=True, slots=True)
class Detector:
    """Looks at the machine through its seams (the host's files, NVML, nvidia-smi)."""

    host: Host = field(default_factory=Host)
    nvidia: NvidiaProbe | None = None
    """None: the real probes on ``host``."""

    def detect(self) -> Machine:
        # The probes are imported only here: a warm run reads the cache and needs none.
        from cloche.adapters.accel.nvidia import NvidiaProbe
        from cloche.adapters.accel.others import probe_amd, probe_apple, probe_intel

        nvidia = self.nvidia or NvidiaProbe(host=self.host)
        found = nvidia.probe()
        if found is not None and found.vendor is not None:
            return found
        warnings = found.warnings if found is not None else ()
        for probe in (probe_amd, probe_intel, probe_apple):
            other = probe(self.host)
            if other is not None:
                return replace(other, warnings=warnings + other.warnings)
        return Machine(platform=self.host.platform, warnings=warnings)

    def cache_key(self) -> str:
        """What must stay the same for a cached answer to hold."""
        from cloche.adapters.accel.answers import machine_key

        return machine_key(self.host.read, self.host.platform)


def detect_cached(detector: Detector, cache_dir: Path) -> Machine:
    """The detector's answer, from the cache when its key still holds."""
    path = cache_dir / CACHE_NAME
    key = detector.cache_key()
    cached = _read_cache(path, key, unknown_boot=key.startswith("unknown|"))
    if cached is not None:
        return cached
    machine = detector.detect()
    _write_cache(path, key, machine)
    return machine


def _read_cache(path: Path, key: str, *, unknown_boot: bool) -> Machine | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        if unknown_boot and time.time() - float(data["written"]) > UNKNOWN_BOOT_TTL:
            return None
        return Machine.from_json(data["machine"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, or written by something else: detect again


def _write_cache(path: Path, key: str, machine: Machine) -> None:
    document = {"key": key, "written": time.time(), "machine": machine.to_json()}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a read-only cache only costs the next run time


def overridden_machine(cuda_driver_version: str, platform: str) -> Machine:
    """The machine ``CLOCHE_CUDA_DRIVER_VERSION`` describes, without looking: ``12.8`` is
    the CUDA version the driver supports, ``570.86.10`` the NVIDIA driver itself."""
    text = cuda_driver_version.strip()
    version = parse_driver_version(text)
    if version is None:
        raise UsageError(
            f"invalid CLOCHE_CUDA_DRIVER_VERSION {cuda_driver_version!r}: "
            "expected a CUDA version such as 12.8 or a driver version such as 570.86.10"
        )
    if version[0] >= 100:
        return Machine(
            vendor="nvidia",
            driver_version=text,
            source="CLOCHE_CUDA_DRIVER_VERSION",
            platform=platform,
        )
    cuda = parse_capability(".".join(str(part) for part in (*version, 0)[:2]))
    return Machine(
        vendor="nvidia",
        cuda_driver_version=cuda,
        source="CLOCHE_CUDA_DRIVER_VERSION",
        platform=platform,
    )
