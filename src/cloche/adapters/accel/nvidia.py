"""NVIDIA detection, most precise first: NVML (``nvidia-ml-py``), then libcuda's
``cuDriverGetVersion``, then one ``nvidia-smi`` run with a timeout, then the kernel
module's version in ``/proc`` and ``/sys``."""

from __future__ import annotations

import contextlib
import importlib
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cloche.adapters.accel.system import Host
from cloche.core.variants.machine import Gpu, Machine, parse_capability
from cloche.core.variants.model import parse_driver_version

SMI_QUERY = (
    "--query-gpu=name,memory.total,compute_cap,driver_version",
    "--format=csv,noheader,nounits",
)
SMI_TIMEOUT = 3.0
_PROC_VERSION = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)")


class Nvml(Protocol):
    """The part of ``pynvml`` (nvidia-ml-py) detection uses."""

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlSystemGetDriverVersion(self) -> str | bytes: ...
    def nvmlSystemGetCudaDriverVersion_v2(self) -> int: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any: ...
    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]: ...


def import_pynvml() -> Nvml | None:
    """The installed ``pynvml`` module, or None."""
    try:
        module: Nvml = importlib.import_module("pynvml")
    except ImportError:
        return None
    return module


def _libcuda_names(platform: str) -> tuple[str, ...]:
    if platform == "win32":
        return ("nvcuda.dll",)
    if platform == "darwin":
        return ()
    return ("libcuda.so.1", "libcuda.so")


@dataclass(frozen=True, slots=True)
class NvidiaProbe:
    """Finds the NVIDIA driver and GPUs; each seam can be replaced (tests, other hosts)."""

    host: Host = field(default_factory=Host)
    nvml: Callable[[], Nvml | None] = import_pynvml
    libcuda_names: Sequence[str] | None = None
    """None: the platform's usual names."""
    smi: str = "nvidia-smi"
    smi_timeout: float = SMI_TIMEOUT

    def driver_loaded(self) -> bool:
        """Linux: the kernel module is there (cheap); elsewhere assume it may be."""
        if not self.host.platform.startswith("linux"):
            return self.host.platform != "darwin"
        return any(
            self.host.path(p).exists() for p in ("/proc/driver/nvidia", "/sys/module/nvidia")
        )

    def probe(self) -> Machine | None:
        """The NVIDIA side of the machine, or None when there is no NVIDIA driver or GPU."""
        warnings: list[str] = []
        if self.driver_loaded():
            found = self.from_nvml(warnings)
            if found is not None:
                return found
            cuda = self.from_libcuda()
        else:
            cuda = None
        gpus, driver = self.from_smi(warnings)
        source = "nvidia-smi" if gpus or driver else "libcuda" if cuda else "none"
        if driver is None:
            driver, where = self.from_files()
            if driver is not None and source in ("none", "libcuda"):
                source = where
        if not gpus and driver is None and cuda is None:
            if warnings:
                return Machine(
                    source="nvidia-smi", platform=self.host.platform, warnings=tuple(warnings)
                )
            return None
        return Machine(
            vendor="nvidia",
            gpus=tuple(gpus),
            driver_version=driver,
            cuda_driver_version=cuda,
            source=source,
            platform=self.host.platform,
            warnings=tuple(warnings),
        )

    def from_nvml(self, warnings: list[str]) -> Machine | None:
        nvml = self.nvml()
        if nvml is None:
            return None
        try:
            nvml.nvmlInit()
        except Exception:  # NVMLError_LibraryNotFound and friends: fall through
            return None
        try:
            driver = _text(nvml.nvmlSystemGetDriverVersion())
            cuda = _cuda_pair(nvml.nvmlSystemGetCudaDriverVersion_v2())
            gpus = []
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
                memory = int(nvml.nvmlDeviceGetMemoryInfo(handle).total) // (1024 * 1024)
                name = _text(nvml.nvmlDeviceGetName(handle))
                gpus.append(Gpu(name, memory, (int(major), int(minor))))
        except Exception as exc:  # a half-working NVML: say so, use the next source
            warnings.append(f"NVML failed ({type(exc).__name__}: {exc}); trying nvidia-smi")
            return None
        finally:
            with contextlib.suppress(Exception):
                nvml.nvmlShutdown()
        return Machine(
            vendor="nvidia",
            gpus=tuple(gpus),
            driver_version=driver,
            cuda_driver_version=cuda,
            source="nvml",
            platform=self.host.platform,
        )

    def from_libcuda(self) -> tuple[int, int] | None:
        """``cuDriverGetVersion`` (12080 -> (12, 8)), or None without a loadable libcuda."""
        import ctypes

        names = self.libcuda_names
        for name in _libcuda_names(self.host.platform) if names is None else names:
            try:
                library = ctypes.CDLL(name)
            except OSError:
                continue
            version = ctypes.c_int(0)
            try:
                if library.cuDriverGetVersion(ctypes.byref(version)) != 0:
                    return None
            except AttributeError:
                return None
            return _cuda_pair(version.value)
        return None

    def from_smi(self, warnings: list[str]) -> tuple[list[Gpu], str | None]:
        """GPUs and driver from one ``nvidia-smi`` run; ``([], None)`` when it is absent,
        hangs (a warning) or prints something else (a warning)."""
        import shutil

        command = shutil.which(self.smi)
        if command is None:
            return [], None
        try:
            done = subprocess.run(
                [command, *SMI_QUERY],
                capture_output=True,
                text=True,
                timeout=self.smi_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            warnings.append(
                f"nvidia-smi did not answer within {self.smi_timeout:g} s; GPUs treated as unknown"
            )
            return [], None
        except OSError as exc:
            warnings.append(f"cannot run nvidia-smi: {exc.strerror}; GPUs treated as unknown")
            return [], None
        if done.returncode != 0:
            first = (done.stderr or done.stdout).strip().splitlines()[:1]
            warnings.append(
                f"nvidia-smi failed (exit {done.returncode}: {first[0] if first else ''}); "
                "GPUs treated as unknown"
            )
            return [], None
        return parse_smi(done.stdout, warnings)

    def from_files(self) -> tuple[str | None, str]:
        """The kernel module's version from ``/proc``, else ``/sys``."""
        text = self.host.read("/proc/driver/nvidia/version")
        if text:
            match = _PROC_VERSION.search(text)
            if match:
                return match.group(1), "/proc/driver/nvidia/version"
        text = self.host.read("/sys/module/nvidia/version")
        if text and parse_driver_version(text):
            return text, "/sys/module/nvidia/version"
        return None, "none"


def parse_smi(output: str, warnings: list[str]) -> tuple[list[Gpu], str | None]:
    """``nvidia-smi --query-gpu=name,memory.total,compute_cap,driver_version`` as CSV;
    anything else is a warning and unknown GPUs."""
    gpus: list[Gpu] = []
    driver: str | None = None
    for line in output.strip().splitlines():
        fields = [part.strip() for part in line.split(",")]
        memory = fields[1].removesuffix("MiB").strip() if len(fields) == 4 else ""
        capability = parse_capability(fields[2]) if len(fields) == 4 else None
        version = fields[3] if len(fields) == 4 else ""
        if capability is None or not memory.isdigit() or not parse_driver_version(version):
            shown = line.strip()[:80]
            warnings.append(
                f"nvidia-smi printed something unexpected ({shown!r}); GPUs treated as unknown"
            )
            return [], None
        gpus.append(Gpu(fields[0], int(memory), capability))
        driver = version
    return gpus, driver


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _cuda_pair(value: int) -> tuple[int, int] | None:
    """CUDA's integer form: 12080 -> (12, 8)."""
    if value <= 0:
        return None
    return value // 1000, (value % 1000) // 10
