"""AMD (ROCm), Intel (XPU) and Apple Silicon (MPS) detection, from files only: the
ROCm install's version file, the KFD topology in ``/sys``, the DRM devices."""

from __future__ import annotations

from pathlib import Path

from cloche.adapters.accel.system import Host
from cloche.core.variants.machine import Gpu, Machine

_AMD_VENDOR = 0x1002
_INTEL_VENDOR = "0x8086"
# Intel discrete GPUs on the i915 driver (Arc Alchemist, Data Center Max) by device id
# prefix; every GPU on the newer `xe` driver counts too.
_INTEL_DISCRETE_PREFIXES = ("0x56", "0x0bd", "0xe20", "0xe21")


def probe_amd(host: Host) -> Machine | None:
    """AMD GPUs from the KFD topology (``gfx_target_version``) and the ROCm version."""
    version = host.read("/opt/rocm/.info/version")
    rocm = version.split("-", 1)[0] if version else None
    gpus = []
    nodes = host.path("/sys/class/kfd/kfd/topology/nodes")
    for node in sorted(nodes.glob("*")) if nodes.is_dir() else ():
        properties = _properties(node / "properties")
        target = properties.get("gfx_target_version", 0)
        if not target or properties.get("vendor_id", _AMD_VENDOR) != _AMD_VENDOR:
            continue
        gfx = _gfx_name(target)
        gpus.append(Gpu(f"AMD {gfx}", _node_memory_mb(node), gfx=gfx))
    if not gpus and rocm is None:
        return None
    source = "/sys/class/kfd" if gpus else "/opt/rocm/.info/version"
    return Machine(
        vendor="amd", gpus=tuple(gpus), rocm_version=rocm, source=source, platform=host.platform
    )


def _properties(path: Path) -> dict[str, int]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if value.strip().isdigit():
            values[key] = int(value.strip())
    return values


def _gfx_name(target: int) -> str:
    """KFD's ``gfx_target_version`` (major*10000 + minor*100 + stepping) as a gfx
    target: 90010 -> gfx90a, 110000 -> gfx1100, 90402 -> gfx942."""
    major, rest = divmod(target, 10000)
    minor, stepping = divmod(rest, 100)
    return f"gfx{major}{minor:x}{stepping:x}"


def _node_memory_mb(node: Path) -> int | None:
    total = 0
    for bank in sorted((node / "mem_banks").glob("*")):
        total += _properties(bank / "properties").get("size_in_bytes", 0)
    return total // (1024 * 1024) or None


def probe_intel(host: Host) -> Machine | None:
    """Intel GPUs torch's XPU build can use: on the ``xe`` driver, or discrete on i915."""
    gpus = []
    drm = host.path("/sys/class/drm")
    for card in sorted(drm.glob("card*")) if drm.is_dir() else ():
        device = card / "device"
        if "-" in card.name or _read(device / "vendor") != _INTEL_VENDOR:
            continue
        if not (_read(device / "class") or "").startswith("0x03"):
            continue
        device_id = (_read(device / "device") or "").lower()
        driver = _driver_name(device)
        if driver == "xe" or device_id.startswith(_INTEL_DISCRETE_PREFIXES):
            gpus.append(Gpu(f"Intel GPU {device_id}".strip()))
    if not gpus:
        return None
    return Machine(
        vendor="intel", gpus=tuple(gpus), source="/sys/class/drm", platform=host.platform
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _driver_name(device: Path) -> str | None:
    try:
        return (device / "driver").resolve(strict=True).name
    except OSError:
        return None


def probe_apple(host: Host) -> Machine | None:
    """Apple Silicon: its GPU through torch's MPS backend."""
    if host.platform != "darwin" or host.cpu_architecture() != "arm64":
        return None
    return Machine(
        vendor="apple",
        gpus=(Gpu("Apple Silicon GPU"),),
        source="platform",
        platform=host.platform,
    )
