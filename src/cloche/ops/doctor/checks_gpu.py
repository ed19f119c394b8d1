"""GPU checks: the installed torch / TensorFlow / JAX build against the machine.

A CUDA build the driver is too old for, or that carries no code for this GPU, fails
at its first CUDA call; a CPU-only build on a GPU machine leaves the GPU idle; a CUDA
build on a machine without an NVIDIA GPU only costs gigabytes. The machine comes
from detection (cached on disk) and is looked at only when a framework is installed.
"""

from __future__ import annotations

from collections.abc import Iterator

from cloche.config import Settings
from cloche.core.variants.cuda import arch_fit, describe_driver, driver_cuda, driver_fit
from cloche.core.variants.frameworks import select
from cloche.core.variants.machine import Machine
from cloche.core.variants.model import Catalog
from cloche.core.variants.select import FrameworkChoice, Request
from cloche.ops.doctor.gpu_builds import (
    InstalledBuild,
    has_framework,
    human_size,
    installed_builds,
    size_on_disk,
)
from cloche.ops.doctor.model import DoctorEnv, Finding, GpuContext, Severity


def _looked_at(env: DoctorEnv) -> tuple[list[InstalledBuild], Catalog, Machine] | None:
    if env.gpu is None or not has_framework(env.dists):
        return None
    catalog, machine = env.gpu.load()
    return installed_builds(env.dists, catalog), catalog, machine


def _machine_words(catalog: Catalog, machine: Machine) -> str:
    gpus = ", ".join(
        gpu.name
        + (
            f" (sm_{gpu.compute_capability[0]}{gpu.compute_capability[1]})"
            if gpu.compute_capability
            else ""
        )
        for gpu in machine.gpus
    )
    return f"this machine: {gpus or 'NVIDIA GPU'}, {describe_driver(catalog, machine)}"


def cuda_driver(env: DoctorEnv) -> Iterator[Finding]:
    """CUDA builds whose CUDA needs a newer NVIDIA driver than the machine has."""
    seen = _looked_at(env)
    if seen is None or env.gpu is None:
        return
    builds, catalog, machine = seen
    if machine.vendor != "nvidia" or (machine.driver is None and not driver_cuda(catalog, machine)):
        return  # no NVIDIA driver, or one of unknown version: nothing to compare
    for build in builds:
        if build.cuda is None:
            continue
        fit = driver_fit(catalog, machine, build.cuda, env.gpu.policy)
        if fit.ok:
            continue
        yield Finding(
            "gpu-driver",
            Severity.ERROR,
            f"{build.label} cannot run on this NVIDIA driver: {fit.problem}",
            (
                _machine_words(catalog, machine),
                f"{build.framework} reports no GPU or fails at "
                'its first CUDA call ("driver is too old")',
            ),
            _rebuild_command(env, build, catalog, machine),
        )


def cuda_arch(env: DoctorEnv) -> Iterator[Finding]:
    """CUDA builds that carry no code for this machine's GPU architecture."""
    seen = _looked_at(env)
    if seen is None:
        return
    builds, catalog, machine = seen
    if machine.vendor != "nvidia" or not machine.capabilities:
        return
    for build in builds:
        if build.cuda is None or build.arch is None:
            continue
        fit = arch_fit(build.arch, machine)
        if fit.ok:
            continue
        yield Finding(
            "gpu-arch",
            Severity.ERROR,
            f"{build.label} dropped this GPU's architecture: {fit.problem}",
            (
                _machine_words(catalog, machine),
                'its kernels fail with "no kernel image is available for execution on the device"',
            ),
            _rebuild_command(env, build, catalog, machine),
        )


def cpu_build_on_gpu(env: DoctorEnv) -> Iterator[Finding]:
    """A CPU-only build where the machine has a GPU that a build of it could use."""
    seen = _looked_at(env)
    if seen is None:
        return
    builds, catalog, machine = seen
    if machine.vendor is None:
        return
    for build in builds:
        if build.cuda is not None:
            continue
        choice = _choice(env, build, catalog, machine)
        if choice.variant in ("cpu", "default"):
            continue
        yield Finding(
            "gpu-cpu-build",
            Severity.WARNING,
            f"{build.label} on a machine with a GPU: it runs on the CPU only",
            (
                _machine_words(catalog, machine)
                if machine.vendor == "nvidia"
                else f"this machine: {machine.vendor} GPU",
                f"cloche gpu: {choice.reason}",
            ),
            _rebuild_command(env, build, catalog, machine),
        )


def cuda_build_without_gpu(env: DoctorEnv) -> Iterator[Finding]:
    """CUDA builds on a machine with no NVIDIA GPU: gigabytes that can never be used."""
    seen = _looked_at(env)
    if seen is None:
        return
    builds, catalog, machine = seen
    cuda = [build for build in builds if build.cuda is not None]
    if machine.vendor == "nvidia" or not cuda:
        return
    evidence = []
    counted: dict[str, int] = {}
    for build in cuda:
        own = size_on_disk(build.dist)
        counted[build.dist.name] = own
        evidence.append(f"{build.label}: {human_size(own)}")
    runtime = {d.name: d for build in cuda for d in build.runtime if d.name not in counted}
    if runtime:
        sizes: dict[str, int] = {name: size_on_disk(dist) for name, dist in runtime.items()}
        counted |= sizes
        evidence.append(
            f"{len(runtime)} CUDA runtime package(s) ({', '.join(sorted(runtime))}): "
            f"{human_size(sum(sizes.values()))}"
        )
    found = f"a {machine.vendor} GPU" if machine.vendor else "no GPU"
    evidence.append(f"this machine: {found} (detected by {machine.source})")
    commands = [_rebuild_command(env, build, catalog, machine) for build in cuda]
    if runtime:
        commands.append(f"cloche pip uninstall {env.python_command} {' '.join(sorted(runtime))}")
    yield Finding(
        "gpu-unused-cuda",
        Severity.WARNING,
        f"CUDA builds on a machine with no NVIDIA GPU: {human_size(sum(counted.values()))} "
        "on disk that cannot be used",
        tuple(evidence),
        "; ".join(commands),
    )


def _choice(
    env: DoctorEnv, build: InstalledBuild, catalog: Catalog, machine: Machine
) -> FrameworkChoice:
    assert env.gpu is not None
    request = Request(
        policy=env.gpu.policy,
        python=env.python_version or None,
        torch_version=build.dist.version.base_version if build.framework == "torch" else None,
    )
    selection = select(catalog, machine, request)
    choice = {"torch": selection.torch, "tensorflow": selection.tensorflow, "jax": selection.jax}
    return choice[build.framework]


def _rebuild_command(
    env: DoctorEnv, build: InstalledBuild, catalog: Catalog, machine: Machine
) -> str:
    """The install that gives this machine the build ``cloche gpu`` would choose."""
    choice = _choice(env, build, catalog, machine)
    where = f"cloche pip install {env.python_command} --force-reinstall"
    version = build.dist.version.base_version
    if build.framework == "torch":
        index = f" --index-url {choice.index_url}" if choice.index_url else ""
        release = f"=={version}" if choice.release and version.startswith(choice.release) else ""
        return f'{where}{index} "torch{release}"'
    extra = f"[{choice.extra}]" if choice.extra else ""
    if build.framework == "tensorflow":
        return f'{where} "tensorflow{extra}=={version}"'
    return f'{where} "jax{extra}=={version}"'


def gpu_context(settings: Settings) -> GpuContext:
    """The machine as ``cloche gpu`` sees it (detection cached on disk, the settings'
    overrides), looked at once and only when a GPU check asks."""
    from functools import cache

    from cloche.core.variants.model import CudaPolicy
    from cloche.ops.gpu import load_catalog, machine_for

    @cache
    def load() -> tuple[Catalog, Machine]:
        return load_catalog(settings), machine_for(settings)

    return GpuContext(load, CudaPolicy(settings.cuda_policy))
