"""TensorFlow's and JAX's CUDA extras, and the whole selection for a machine.

Both frameworks ship CUDA as NVIDIA's library wheels behind an extra
(``tensorflow[and-cuda]``, ``jax[cuda12]``), so only the driver and the GPUs'
architectures have to fit; both have CUDA builds for Linux only.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloche.core.variants.cuda import arch_fit, describe_driver, driver_fit
from cloche.core.variants.machine import Machine
from cloche.core.variants.model import ArchList, Catalog, VariantKind, variant_kind_and_toolkit
from cloche.core.variants.select import (
    MPS,
    FrameworkChoice,
    Request,
    choose_torch,
    python_allowed,
)


@dataclass(frozen=True, slots=True)
class Selection:
    """What would be chosen for this machine, per framework."""

    accelerator: str
    """The machine's accelerator as a torch variant name: ``cpu``, ``cu128``, ``rocm6.4``,
    ``xpu``, or ``mps``."""
    machine: Machine
    torch: FrameworkChoice
    tensorflow: FrameworkChoice
    jax: FrameworkChoice


def select(catalog: Catalog, machine: Machine, request: Request) -> Selection:
    """The torch, TensorFlow and JAX builds for ``machine``, each with its reason."""
    torch = choose_torch(catalog, machine, request)
    accelerator = torch.variant
    if accelerator == "default":
        accelerator = MPS if machine.vendor == "apple" or request.accelerator == MPS else "cpu"
    return Selection(
        accelerator=accelerator,
        machine=machine,
        torch=torch,
        tensorflow=choose_tensorflow(catalog, machine, request),
        jax=choose_jax(catalog, machine, request),
    )


def _cuda_wanted(machine: Machine, request: Request) -> tuple[bool, str]:
    """Whether a CUDA extra is in question at all, and if not, why."""
    if request.accelerator is not None:
        meaning = variant_kind_and_toolkit(request.accelerator)
        if meaning is None or meaning[0] is not VariantKind.CUDA:
            return False, f"{request.accelerator} asked for by {request.accelerator_origin}"
        return True, ""
    if machine.vendor != "nvidia":
        return False, "no NVIDIA GPU found"
    if machine.platform != "linux":
        return False, f"CUDA builds are for Linux only (this is {machine.platform})"
    return True, ""


def _forced_cuda_major(request: Request) -> int | None:
    meaning = variant_kind_and_toolkit(request.accelerator) if request.accelerator else None
    if meaning is None or meaning[1] is None:
        return None
    return meaning[1][0]


def _fit_problem(
    catalog: Catalog, machine: Machine, request: Request, cuda: tuple[int, int], arch: ArchList
) -> str:
    forced = _forced_cuda_major(request)
    if forced is not None:
        return "" if forced == cuda[0] else f"CUDA {cuda[0]}, not {forced}"
    fit = driver_fit(catalog, machine, cuda, request.policy)
    if fit.ok:
        fit = arch_fit(arch, machine)
    return fit.problem


def choose_tensorflow(catalog: Catalog, machine: Machine, request: Request) -> FrameworkChoice:
    """``tensorflow[and-cuda]`` when the newest fitting release can use the GPUs."""
    releases = [
        r
        for r in catalog.tensorflow_releases
        if request.python is None or python_allowed(r.python, request.python)
    ]
    newest = releases[0].version if releases else None
    wanted, why_not = _cuda_wanted(machine, request)
    if not wanted:
        return FrameworkChoice("tensorflow", "cpu", f"{why_not}: plain tensorflow", newest)
    rejected: list[str] = []
    for release in releases:
        problem = _fit_problem(catalog, machine, request, release.cuda, release.arch)
        if problem:
            rejected.append(f"{release.version} ({problem})")
            continue
        cuda = f"CUDA {release.cuda[0]}.{release.cuda[1]}"
        subject = _subject(catalog, machine, request)
        reason = f"{subject}: TensorFlow {release.version} with {cuda} fits"
        if rejected:
            reason += "; newer releases do not fit: " + ", ".join(rejected[:3])
        extra = catalog.tensorflow_extra
        return FrameworkChoice("tensorflow", extra, reason, release.version, extra=extra)
    why = ", ".join(rejected[:3]) or "no release for this Python"
    return FrameworkChoice(
        "tensorflow", "cpu", f"no TensorFlow CUDA build fits: {why}: plain tensorflow", newest
    )


def choose_jax(catalog: Catalog, machine: Machine, request: Request) -> FrameworkChoice:
    """``jax[cuda13]`` or ``jax[cuda12]``, the newest CUDA the machine can run."""
    wanted, why_not = _cuda_wanted(machine, request)
    if not wanted:
        return FrameworkChoice("jax", "cpu", f"{why_not}: plain jax (CPU)")
    rejected: list[str] = []
    for extra in catalog.jax_extras:
        problem = _fit_problem(catalog, machine, request, extra.cuda, extra.arch)
        if problem:
            rejected.append(f"{extra.name} ({problem})")
            continue
        reason = f"{_subject(catalog, machine, request)}: jax[{extra.name}] fits"
        if rejected:
            reason += "; not " + ", ".join(rejected)
        return FrameworkChoice("jax", extra.name, reason, extra=extra.name)
    why = ", ".join(rejected)
    return FrameworkChoice("jax", "cpu", f"no JAX CUDA extra fits: {why}: plain jax")


def _subject(catalog: Catalog, machine: Machine, request: Request) -> str:
    if request.accelerator is not None:
        return f"{request.accelerator} asked for by {request.accelerator_origin}"
    return describe_driver(catalog, machine)
