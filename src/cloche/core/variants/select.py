"""Choose the torch build a machine can run, and say why.

The newest release first and, within it, the newest CUDA: the first build whose CUDA
the driver can run (by the policy) and whose code covers every GPU present (the
oldest architecture decides). No GPU, or nothing that fits: the CPU build, never
the multi-GB CUDA one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cloche.core.variants.cuda import arch_fit, coverage_words, describe_driver, driver_fit
from cloche.core.variants.machine import Machine
from cloche.core.variants.model import (
    Catalog,
    CudaPolicy,
    TorchRelease,
    Variant,
    VariantKind,
)
from cloche.errors import UsageError

AUTO = "auto"
MPS = "mps"


@dataclass(frozen=True, slots=True)
class Request:
    """What the user asked for, beyond the machine itself."""

    policy: CudaPolicy = CudaPolicy.COMPATIBLE
    accelerator: str | None = None
    """A variant name (``cu126``, ``cpu``) that overrides detection; None for auto."""
    accelerator_origin: str = "--accelerator"
    """Where the forced accelerator came from, for the reason line."""
    python: str | None = None
    """``3.12``: only releases with wheels for that Python."""
    torch_version: str | None = None
    """``2.8`` (or ``2.8.1``): only that release series."""


@dataclass(frozen=True, slots=True)
class FrameworkChoice:
    """The build chosen for one framework, where it comes from, and why."""

    framework: str
    variant: str
    """torch: ``cu128``, ``rocm6.4``, ``cpu``...; TensorFlow / JAX: the extra or ``cpu``."""
    reason: str
    release: str | None = None
    index_url: str | None = None
    """The index the build comes from; None for the normal indexes."""
    extra: str | None = None
    local_label: str | None = None


def valid_accelerators(catalog: Catalog) -> tuple[str, ...]:
    """Every name ``--accelerator`` takes: auto, mps and the catalog's variants."""
    return (AUTO, MPS, *catalog.variant_names())


def check_accelerator(catalog: Catalog, name: str, origin: str) -> str | None:
    """The forced accelerator ``name`` (None for ``auto``); an unknown one is a usage error."""
    value = name.strip().lower()
    if value == AUTO:
        return None
    if value == MPS or value in catalog.variant_names():
        return value
    valid = ", ".join(valid_accelerators(catalog))
    raise UsageError(f"unknown accelerator {name!r} in {origin} (valid: {valid})")


def eligible_releases(catalog: Catalog, request: Request) -> tuple[TorchRelease, ...]:
    """Torch releases the request allows (its Python, its version), newest first."""
    releases = catalog.torch_releases
    if request.torch_version is not None:
        wanted = catalog.torch_release(request.torch_version)
        releases = (wanted,) if wanted is not None else ()
    if request.python is not None:
        releases = tuple(r for r in releases if python_allowed(r.python, request.python))
    return releases


def python_allowed(specifier: str, python: str) -> bool:
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(specifier).contains(python, prereleases=True)


def choose_torch(catalog: Catalog, machine: Machine, request: Request) -> FrameworkChoice:
    """The torch build for this machine (see the module docstring)."""
    releases = eligible_releases(catalog, request)
    if not releases:
        return _unknown_release(catalog, request)
    if request.accelerator is not None:
        return _forced(catalog, machine, request, releases)
    if machine.platform == "darwin":
        return _normal_index(releases[0], _macos_reason(machine))
    if machine.vendor == "nvidia":
        return _nvidia(catalog, machine, request, releases)
    if machine.vendor == "amd":
        return _rocm(machine, releases)
    if machine.vendor == "intel":
        found = _newest(releases, lambda v: v.kind is VariantKind.XPU)
        if found is not None:
            names = ", ".join(gpu.name for gpu in machine.gpus) or "an Intel GPU"
            return _chosen(*found, f"{names}: the XPU build")
    return _cpu(releases, "no supported GPU found: the CPU build, from its own index")


def _chosen(release: TorchRelease, variant: Variant, reason: str) -> FrameworkChoice:
    return FrameworkChoice(
        framework="torch",
        variant=variant.name,
        reason=reason,
        release=release.version,
        index_url=variant.index_url,
        local_label=variant.local_label,
    )


def _cpu(releases: tuple[TorchRelease, ...], reason: str) -> FrameworkChoice:
    found = _newest(releases, lambda v: v.kind is VariantKind.CPU)
    if found is None:
        return _normal_index(releases[0], reason + " (no CPU index for it: the normal indexes)")
    return _chosen(*found, reason)


def _normal_index(release: TorchRelease, reason: str) -> FrameworkChoice:
    return FrameworkChoice("torch", "default", reason, release=release.version)


def _macos_reason(machine: Machine) -> str:
    if machine.vendor == "apple":
        return "Apple Silicon: torch's macOS wheels on the normal index include MPS"
    return "macOS: torch's wheels on the normal index (CPU)"


def _newest(
    releases: tuple[TorchRelease, ...], wanted: Callable[[Variant], bool]
) -> tuple[TorchRelease, Variant] | None:
    for release in releases:
        for variant in release.variants:
            if wanted(variant):
                return release, variant
    return None


def _cuda_variants(release: TorchRelease) -> list[Variant]:
    cuda = [v for v in release.variants if v.kind is VariantKind.CUDA]
    return sorted(cuda, key=lambda v: v.toolkit or (), reverse=True)


def _nvidia(
    catalog: Catalog, machine: Machine, request: Request, releases: tuple[TorchRelease, ...]
) -> FrameworkChoice:
    rejected: list[str] = []
    least = ""  # the last build rejected is the least demanding one
    policy = request.policy.value
    for release in releases:
        for variant in _cuda_variants(release):
            assert variant.toolkit is not None and variant.arch is not None
            toolkit = (variant.toolkit[0], variant.toolkit[1])
            fit = driver_fit(catalog, machine, toolkit, request.policy)
            if fit.ok:
                fit = arch_fit(variant.arch, machine)
            if not fit.ok:
                _note(rejected, f"{variant.name} ({fit.problem})")
                least = f"torch {release.version} {variant.name}: {fit.problem}"
                continue
            reason = (
                f"{describe_driver(catalog, machine)} runs CUDA {toolkit[0]}.{toolkit[1]} "
                f"builds ({policy} policy); {variant.name}: {coverage_words(machine)}"
            )
            if release is not releases[0] or rejected:
                reason += "; newer builds do not fit: " + ", ".join(rejected)
            return _chosen(release, variant, reason)
    why = f"even the oldest, {least}" if least else "no CUDA build in the catalog"
    return _cpu(
        releases,
        f"no CUDA build fits {describe_driver(catalog, machine)} ({why}); the CPU build "
        "(update the NVIDIA driver, or the GPU is older than every build supports)",
    )


def _note(rejected: list[str], text: str) -> None:
    # One line per variant name: the same build rejected in many releases says it once.
    name = text.split(" ", 1)[0]
    if len(rejected) < 4 and not any(r.split(" ", 1)[0] == name for r in rejected):
        rejected.append(text)


def _rocm(machine: Machine, releases: tuple[TorchRelease, ...]) -> FrameworkChoice:
    targets = sorted({gpu.gfx for gpu in machine.gpus if gpu.gfx})
    for release in releases:
        rocm = [v for v in release.variants if v.kind is VariantKind.ROCM]
        for variant in sorted(rocm, key=lambda v: v.toolkit or (), reverse=True):
            if all(gfx in variant.gfx for gfx in targets):
                what = ", ".join(targets) if targets else "GPU architecture unknown"
                runtime = machine.rocm_version
                installed = f" (ROCm {runtime} installed)" if runtime else ""
                reason = f"AMD GPU{installed}: {variant.name} has code for {what}"
                return _chosen(release, variant, reason)
    return _cpu(releases, f"no ROCm build has code for {', '.join(targets)}: the CPU build")


def _forced(
    catalog: Catalog, machine: Machine, request: Request, releases: tuple[TorchRelease, ...]
) -> FrameworkChoice:
    name = request.accelerator
    asked = f"asked for by {request.accelerator_origin}"
    if name == MPS:
        return _normal_index(releases[0], f"MPS {asked}: torch's wheels on the normal index")
    found = _newest(releases, lambda v: v.name == name)
    if found is None:
        return _cpu(releases, f"{name} {asked}, but no torch release allowed has it")
    release, variant = found
    reason = f"{name} {asked}"
    if variant.kind is VariantKind.CUDA and machine.vendor == "nvidia":
        assert variant.toolkit is not None and variant.arch is not None
        toolkit = (variant.toolkit[0], variant.toolkit[1])
        problems = [
            fit.problem
            for fit in (
                driver_fit(catalog, machine, toolkit, request.policy),
                arch_fit(variant.arch, machine),
            )
            if not fit.ok
        ]
        if problems:
            reason += " (warning: " + "; ".join(problems) + ")"
    return _chosen(release, variant, reason)


def _unknown_release(catalog: Catalog, request: Request) -> FrameworkChoice:
    wanted = []
    if request.torch_version:
        wanted.append(f"torch {request.torch_version}")
    if request.python:
        wanted.append(f"Python {request.python}")
    return FrameworkChoice(
        "torch",
        "default",
        f"the catalog ({catalog.source}) knows no torch release for {' and '.join(wanted)}: "
        "the normal indexes",
    )
