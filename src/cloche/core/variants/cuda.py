"""Can this NVIDIA driver run that CUDA build, and does the build carry code for these
GPUs? The answers as data (``Fit``) so a caller can say why not."""

from __future__ import annotations

from dataclasses import dataclass

from cloche.core.variants.machine import Machine
from cloche.core.variants.model import (
    ArchList,
    Catalog,
    CudaPolicy,
    DriverMinimum,
)


@dataclass(frozen=True, slots=True)
class Fit:
    """Whether a build fits the machine; ``problem`` says why not, in words."""

    ok: bool
    problem: str = ""


FITS = Fit(True)


def driver_cuda(catalog: Catalog, machine: Machine) -> tuple[int, int] | None:
    """The newest CUDA the driver supports: reported by the driver, else worked out from
    the driver version and the toolkit table."""
    if machine.cuda_driver_version is not None:
        return machine.cuda_driver_version
    driver = machine.driver
    if driver is None:
        return None
    drivers = catalog.drivers
    runnable = [tk for tk, need in drivers.per_toolkit.items() if driver >= need.version]
    if runnable:
        return max(runnable)
    majors = [major for major, need in drivers.per_major.items() if driver >= need.version]
    return (max(majors), 0) if majors else None


def required_driver(
    catalog: Catalog, toolkit: tuple[int, int], policy: CudaPolicy
) -> DriverMinimum | None:
    """The oldest driver that runs ``toolkit`` under ``policy`` (None when unknown)."""
    if policy is CudaPolicy.STRICT and toolkit in catalog.drivers.per_toolkit:
        return catalog.drivers.per_toolkit[toolkit]
    return catalog.drivers.per_major.get(toolkit[0])


def driver_fit(
    catalog: Catalog, machine: Machine, toolkit: tuple[int, int], policy: CudaPolicy
) -> Fit:
    """Whether the machine's NVIDIA driver can run a build made with CUDA ``toolkit``."""
    name = f"CUDA {toolkit[0]}.{toolkit[1]}"
    driver = machine.driver
    need = required_driver(catalog, toolkit, policy)
    if driver is not None and need is not None:
        if driver >= need.version:
            return FITS
        return Fit(False, f"{name} needs driver >= {need.text}")
    supported = driver_cuda(catalog, machine)
    if supported is None:
        return Fit(False, "the NVIDIA driver's version is unknown")
    strict = policy is CudaPolicy.STRICT
    if (supported >= toolkit) if strict else (supported[0] >= toolkit[0]):
        return FITS
    have = f"{supported[0]}.{supported[1]}"
    return Fit(False, f"{name} needs a driver for CUDA {toolkit[0]}.x (it supports {have})")


def arch_fit(arch: ArchList, machine: Machine) -> Fit:
    """Whether a build carries code every NVIDIA GPU of the machine can run."""
    missing = [cc for cc in machine.capabilities if not arch.runs_on(cc)]
    if not missing:
        return FITS
    names = ", ".join(f"sm_{major}{minor}" for major, minor in missing)
    return Fit(False, f"no code for {names} (it has {arch.describe()})")


def coverage_words(machine: Machine) -> str:
    """``has code for sm_61, sm_86``, or that the GPUs' generation is unknown."""
    if not machine.capabilities:
        return "GPU generation unknown (not checked)"
    return "has code for " + ", ".join(f"sm_{a}{b}" for a, b in machine.capabilities)


def describe_driver(catalog: Catalog, machine: Machine) -> str:
    """``driver 570.86.10 (CUDA 12.8)`` as far as it is known."""
    supported = driver_cuda(catalog, machine)
    cuda = f"CUDA {supported[0]}.{supported[1]}" if supported else None
    if machine.driver_version:
        return f"driver {machine.driver_version}" + (f" ({cuda})" if cuda else "")
    return f"a driver for {cuda}" if cuda else "an NVIDIA driver of unknown version"
