"""Which build of torch / TensorFlow / JAX an env holds, read from its dist-infos.

- torch: the version's local label (``2.9.0+cu128``, ``+cpu``); a PyPI torch without
  one is a CUDA build when the ``nvidia-*-cuNN`` runtime wheels it requires are
  installed (their ``nvidia-cuda-runtime`` version is the CUDA it was built with).
- TensorFlow: a CUDA build when its ``and-cuda`` extra's ``nvidia-*`` wheels are
  installed; the release says which CUDA (the catalog).
- JAX: a CUDA build when ``jax-cudaNN-plugin`` (or ``-pjrt``) is installed.

Only what the catalog knows is checked for GPU architectures: a build it does not
list is checked against the driver alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from cloche.adapters.install import InstalledDist
from cloche.core.variants.model import ArchList, Catalog, VariantKind, variant_kind_and_toolkit
from cloche.errors import ClocheError

_NVIDIA_RUNTIME = re.compile(r"^nvidia-[a-z0-9-]+-cu(\d+)$")
_JAX_PLUGIN = re.compile(r"^jax-cuda(\d+)-(plugin|pjrt)$")
_CUDA_RUNTIME = "nvidia-cuda-runtime-cu"


@dataclass(frozen=True, slots=True)
class InstalledBuild:
    """One framework as installed: CUDA or not, and what its CUDA build carries."""

    framework: str
    """``torch``, ``tensorflow`` or ``jax``."""
    dist: InstalledDist
    """The framework's own distribution (``jaxlib`` for JAX)."""
    cuda: tuple[int, int] | None
    """The CUDA it was built with; None for a CPU-only build."""
    arch: ArchList | None = None
    """The GPU code it carries, when the catalog knows the build."""
    runtime: tuple[InstalledDist, ...] = ()
    """The CUDA wheels it brought (``nvidia-*-cu12``, the JAX plugin)."""

    @property
    def label(self) -> str:
        cuda = "CPU-only" if self.cuda is None else f"CUDA {self.cuda[0]}.{self.cuda[1]}"
        return f"{self.dist} ({cuda} build)"


def installed_builds(dists: Sequence[InstalledDist], catalog: Catalog) -> list[InstalledBuild]:
    """The ML frameworks in ``dists`` and how each was built."""
    by_name: dict[str, InstalledDist] = {dist.name: dist for dist in dists}
    found = []
    if "torch" in by_name:
        found.append(_torch(by_name["torch"], by_name, catalog))
    for name in ("tensorflow", "tensorflow-cpu"):
        if name in by_name:
            found.append(_tensorflow(by_name[name], by_name, catalog))
            break
    if "jaxlib" in by_name:
        found.append(_jax(by_name["jaxlib"], dists, catalog))
    return [build for build in found if build is not None]


def has_framework(dists: Sequence[InstalledDist]) -> bool:
    """Whether any framework a GPU check looks at is installed (detection costs time)."""
    return any(d.name in ("torch", "tensorflow", "tensorflow-cpu", "jaxlib") for d in dists)


def _required_runtime(
    dist: InstalledDist, by_name: dict[str, InstalledDist]
) -> tuple[InstalledDist, ...]:
    """The installed ``nvidia-*-cuNN`` wheels ``dist`` requires, and theirs in turn."""
    seen: dict[str, InstalledDist] = {}
    todo = [dist]
    while todo:
        for name in _requirement_names(todo.pop()):
            runtime = by_name.get(name)
            if runtime is not None and name not in seen and _NVIDIA_RUNTIME.match(name):
                seen[name] = runtime
                todo.append(runtime)
    return tuple(sorted(seen.values(), key=lambda d: d.name))


def _requirement_names(dist: InstalledDist) -> Iterator[str]:
    for line in dist.requires:
        try:
            yield Requirement(line).name.lower().replace("_", "-").replace(".", "-")
        except InvalidRequirement:
            continue


def _runtime_cuda(runtime: Sequence[InstalledDist]) -> tuple[int, int] | None:
    """CUDA X.Y from the ``nvidia-cuda-runtime-cuXX`` version, else (XX, 0) from a name."""
    for dist in runtime:
        if dist.name.startswith(_CUDA_RUNTIME) and len(dist.version.release) >= 2:
            return dist.version.release[0], dist.version.release[1]
    for dist in runtime:
        match = _NVIDIA_RUNTIME.match(dist.name)
        if match:
            return int(match.group(1)), 0
    return None


def _torch(
    dist: InstalledDist, by_name: dict[str, InstalledDist], catalog: Catalog
) -> InstalledBuild | None:
    label = dist.version.local
    release = catalog.torch_release(str(dist.version))
    runtime = _required_runtime(dist, by_name)
    if label is not None:
        meaning = variant_kind_and_toolkit(label)
        if meaning is None or meaning[0] not in (VariantKind.CPU, VariantKind.CUDA):
            return None  # ROCm and XPU builds: not checked here
        if meaning[0] is VariantKind.CPU:
            return InstalledBuild("torch", dist, None)
        toolkit = meaning[1]
        assert toolkit is not None
        variant = release.variant(label) if release is not None else None
        arch = variant.arch if variant is not None else None
        return InstalledBuild("torch", dist, (toolkit[0], toolkit[1]), arch, runtime)
    cuda = _runtime_cuda(runtime)
    if cuda is None:
        return InstalledBuild("torch", dist, None)
    variant = release.variant(f"cu{cuda[0]}{cuda[1]}") if release is not None else None
    return InstalledBuild("torch", dist, cuda, variant.arch if variant else None, runtime)


def _tensorflow(
    dist: InstalledDist, by_name: dict[str, InstalledDist], catalog: Catalog
) -> InstalledBuild:
    runtime = _required_runtime(dist, by_name)
    if dist.name == "tensorflow-cpu" or not runtime:
        return InstalledBuild("tensorflow", dist, None)
    series = ".".join(str(part) for part in dist.version.release[:2])
    release = next((r for r in catalog.tensorflow_releases if r.version == series), None)
    if release is not None:
        return InstalledBuild("tensorflow", dist, release.cuda, release.arch, runtime)
    return InstalledBuild("tensorflow", dist, _runtime_cuda(runtime), None, runtime)


def _jax(dist: InstalledDist, dists: Sequence[InstalledDist], catalog: Catalog) -> InstalledBuild:
    by_name: dict[str, InstalledDist] = {d.name: d for d in dists}
    plugins = [d for d in dists if _JAX_PLUGIN.match(d.name)]
    if not plugins:
        return InstalledBuild("jax", dist, None)
    major = int(_JAX_PLUGIN.match(plugins[0].name).group(1))  # type: ignore[union-attr]
    runtime = tuple(plugins) + tuple(
        r for p in plugins for r in _required_runtime(p, by_name) if r not in plugins
    )
    extra = next((e for e in catalog.jax_extras if e.name == f"cuda{major}"), None)
    if extra is not None:
        return InstalledBuild("jax", dist, extra.cuda, extra.arch, runtime)
    return InstalledBuild("jax", dist, _runtime_cuda(runtime) or (major, 0), None, runtime)


def size_on_disk(dist: InstalledDist) -> int:
    """Bytes of the files ``dist``'s RECORD lists (0 for files that are gone)."""
    from cloche.adapters.install.installed import record_paths

    site = dist.dist_info.parent
    try:
        paths = record_paths(dist)
    except ClocheError:
        return 0
    total = 0
    for relative in paths:
        try:
            total += (site / relative).stat().st_size
        except OSError:
            continue
    return total


def human_size(size: int) -> str:
    """``1.2 GB``, ``340 MB``, ``12 kB`` (decimal units, as download pages show)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
