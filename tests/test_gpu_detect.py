"""Accelerator detection through its real code paths, with fakes only at the hardware
edge: an ``nvidia-smi`` script on PATH, a fake /proc and /sys root, a fake NVML."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cloche.adapters.accel.detect import Detector, detect_cached, overridden_machine
from cloche.adapters.accel.nvidia import NvidiaProbe
from cloche.adapters.accel.system import Host
from cloche.errors import UsageError

SMI_3090 = "NVIDIA GeForce RTX 3090, 24576, 8.6, 570.86.10"
PROC_VERSION = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.144.03  Release Build\n"
    "GCC version:  gcc version 12.2.0\n"
)


def fake_smi(bin_dir: Path, body: str) -> Path:
    """An ``nvidia-smi`` that runs ``body`` (a shell script fragment)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def write(root: Path, absolute: str, text: str) -> None:
    path = root / absolute.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def no_nvml() -> None:
    return None


def probe(root: Path, nvml: Any = no_nvml, **kwargs: Any) -> Detector:
    host = Host(root=root, platform="linux", machine="x86_64")
    nvidia = NvidiaProbe(host=host, nvml=nvml, libcuda_names=(), **kwargs)
    return Detector(host=host, nvidia=nvidia)


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bin directory first on PATH (for the fake nvidia-smi)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


def test_nothing_found_is_cpu(tmp_path: Path, on_path: Path) -> None:
    machine = probe(tmp_path).detect()
    assert machine.vendor is None and machine.gpus == () and machine.warnings == ()


def test_nvidia_smi_gives_gpus_and_driver(tmp_path: Path, on_path: Path) -> None:
    fake_smi(on_path, f'echo "{SMI_3090}"\necho "Tesla P100-PCIE-16GB, 16384 MiB, 6.0, 570.86.10"')
    machine = probe(tmp_path).detect()
    assert machine.vendor == "nvidia" and machine.source == "nvidia-smi"
    assert machine.driver_version == "570.86.10"
    assert [(g.name, g.memory_mb, g.compute_capability) for g in machine.gpus] == [
        ("NVIDIA GeForce RTX 3090", 24576, (8, 6)),
        ("Tesla P100-PCIE-16GB", 16384, (6, 0)),
    ]
    assert machine.lowest_capability == (6, 0)


def test_nvidia_smi_that_hangs_is_unknown_with_a_warning(tmp_path: Path, on_path: Path) -> None:
    fake_smi(on_path, "exec sleep 30")
    write(tmp_path, "/proc/driver/nvidia/version", PROC_VERSION)
    machine = probe(tmp_path, smi_timeout=0.3).detect()
    assert machine.vendor == "nvidia"
    assert machine.gpus == ()
    assert machine.driver_version == "550.144.03"  # from /proc, the next source
    assert machine.source == "/proc/driver/nvidia/version"
    assert any("did not answer within 0.3 s" in w for w in machine.warnings)


@pytest.mark.parametrize(
    "output",
    ["<html>oops</html>", "NVIDIA A100, 40960, [N/A], 535.54.03", "a, b, c"],
)
def test_nvidia_smi_garbage_is_unknown_with_a_warning(
    tmp_path: Path, on_path: Path, output: str
) -> None:
    fake_smi(on_path, f"echo '{output}'")
    machine = probe(tmp_path).detect()
    assert machine.vendor is None
    assert any("printed something unexpected" in w for w in machine.warnings)


def test_nvidia_smi_failing_falls_back_to_sys(tmp_path: Path, on_path: Path) -> None:
    fake_smi(on_path, "echo 'NVIDIA-SMI has failed' >&2; exit 9")
    write(tmp_path, "/sys/module/nvidia/version", "535.104.05\n")
    machine = probe(tmp_path).detect()
    assert (machine.vendor, machine.driver_version) == ("nvidia", "535.104.05")
    assert machine.source == "/sys/module/nvidia/version"
    assert any("exit 9" in w for w in machine.warnings)


class FakeNvml:
    """pynvml's functions over a list of (name, MiB, capability)."""

    def __init__(self, driver: str, cuda: int, gpus: list[tuple[str, int, tuple[int, int]]]):
        self.driver, self.cuda, self.gpus = driver, cuda, gpus
        self.shut = False

    def nvmlInit(self) -> None:
        pass

    def nvmlShutdown(self) -> None:
        self.shut = True

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return self.driver.encode()  # old nvidia-ml-py releases return bytes

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return self.cuda

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self.gpus[handle][0]

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return SimpleNamespace(total=self.gpus[handle][1] * 1024 * 1024)

    def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
        return self.gpus[handle][2]


def test_nvml_first_when_the_driver_is_loaded(tmp_path: Path, on_path: Path) -> None:
    fake_smi(on_path, "echo never run >&2; exit 3")
    write(tmp_path, "/proc/driver/nvidia/version", PROC_VERSION)
    nvml = FakeNvml("580.65.06", 13000, [("GTX 1080", 8192, (6, 1)), ("H100", 81559, (9, 0))])
    machine = probe(tmp_path, nvml=lambda: nvml).detect()
    assert machine.source == "nvml" and nvml.shut
    assert machine.cuda_driver_version == (13, 0)
    assert machine.driver_version == "580.65.06"
    assert [g.compute_capability for g in machine.gpus] == [(6, 1), (9, 0)]
    assert machine.warnings == ()


def test_nvml_without_its_library_falls_through(tmp_path: Path, on_path: Path) -> None:
    class Missing(FakeNvml):
        def nvmlInit(self) -> None:
            raise OSError("NVML Shared Library Not Found")

    fake_smi(on_path, f'echo "{SMI_3090}"')
    write(tmp_path, "/proc/driver/nvidia/version", PROC_VERSION)
    machine = probe(tmp_path, nvml=lambda: Missing("1", 1, [])).detect()
    assert machine.source == "nvidia-smi" and machine.driver_version == "570.86.10"


def test_the_real_pynvml_without_libnvidia_ml_falls_through(tmp_path: Path, on_path: Path) -> None:
    pytest.importorskip("pynvml")
    if Path("/proc/driver/nvidia").exists():
        pytest.skip("a real NVIDIA driver is here")
    write(tmp_path, "/sys/module/nvidia/version", "550.54.14\n")
    host = Host(root=tmp_path, platform="linux", machine="x86_64")
    machine = Detector(host=host, nvidia=NvidiaProbe(host=host, smi="no-such-smi")).detect()
    assert (machine.source, machine.driver_version) == ("/sys/module/nvidia/version", "550.54.14")


def test_amd_from_the_kfd_topology(tmp_path: Path, on_path: Path) -> None:
    write(tmp_path, "/opt/rocm/.info/version", "6.4.1-120\n")
    nodes = "/sys/class/kfd/kfd/topology/nodes"
    write(tmp_path, f"{nodes}/0/properties", "cpu_cores_count 16\ngfx_target_version 0\n")
    write(tmp_path, f"{nodes}/1/properties", "gfx_target_version 90010\nvendor_id 4098\n")
    write(tmp_path, f"{nodes}/1/mem_banks/0/properties", "size_in_bytes 68702699520\n")
    write(tmp_path, f"{nodes}/2/properties", "gfx_target_version 110000\nvendor_id 4098\n")
    machine = probe(tmp_path).detect()
    assert (machine.vendor, machine.rocm_version) == ("amd", "6.4.1")
    assert [(g.gfx, g.memory_mb) for g in machine.gpus] == [("gfx90a", 65520), ("gfx1100", None)]


def test_intel_discrete_gpu_on_the_xe_driver(tmp_path: Path, on_path: Path) -> None:
    device = "/sys/class/drm/card1/device"
    write(tmp_path, f"{device}/vendor", "0x8086\n")
    write(tmp_path, f"{device}/class", "0x030000\n")
    write(tmp_path, f"{device}/device", "0xe20b\n")
    write(tmp_path, "/sys/bus/pci/drivers/xe/.keep", "")
    (tmp_path / device.lstrip("/") / "driver").symlink_to(tmp_path / "sys/bus/pci/drivers/xe")
    machine = probe(tmp_path).detect()
    assert machine.vendor == "intel" and machine.gpus[0].name == "Intel GPU 0xe20b"


def test_apple_silicon_is_mps(tmp_path: Path) -> None:
    host = Host(root=tmp_path, platform="darwin", machine="arm64")
    machine = Detector(host=host, nvidia=NvidiaProbe(host=host, nvml=no_nvml)).detect()
    assert machine.vendor == "apple" and machine.platform == "darwin"


def test_the_cache_answers_until_boot_or_driver_changes(tmp_path: Path, on_path: Path) -> None:
    root, cache = tmp_path / "root", tmp_path / "cache"
    write(root, "/proc/sys/kernel/random/boot_id", "boot-1\n")
    fake_smi(on_path, f'echo "{SMI_3090}"')
    assert detect_cached(probe(root), cache).driver_version == "570.86.10"
    fake_smi(on_path, 'echo "NVIDIA GeForce RTX 3090, 24576, 8.6, 575.51.03"')
    assert detect_cached(probe(root), cache).driver_version == "570.86.10"  # cached
    write(root, "/sys/module/nvidia/version", "575.51.03\n")  # a new driver loaded
    assert detect_cached(probe(root), cache).driver_version == "575.51.03"
    write(root, "/proc/sys/kernel/random/boot_id", "boot-2\n")
    (cache / "accel-v1.json").write_text("{garbage", encoding="utf-8")
    assert detect_cached(probe(root), cache).driver_version == "575.51.03"


def test_cuda_driver_version_override() -> None:
    assert overridden_machine("12.8", "linux").cuda_driver_version == (12, 8)
    assert overridden_machine("13", "linux").cuda_driver_version == (13, 0)
    driver = overridden_machine("570.86.10", "linux")
    assert (driver.driver_version, driver.cuda_driver_version) == ("570.86.10", None)
    with pytest.raises(UsageError, match="invalid CLOCHE_CUDA_DRIVER_VERSION 'new'"):
        overridden_machine("new", "linux")
