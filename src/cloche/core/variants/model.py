"""The catalog's values: GPU architectures, build variants, releases, driver minimums."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

DriverVersion = tuple[int, ...]
"""An NVIDIA driver version as numbers: ``570.86.10`` -> ``(570, 86, 10)``."""

Capability = tuple[int, int]
"""A CUDA compute capability: sm_86 -> ``(8, 6)``."""


class VariantKind(Enum):
    CPU = "cpu"
    CUDA = "cuda"
    ROCM = "rocm"
    XPU = "xpu"


class CudaPolicy(Enum):
    COMPATIBLE = "compatible"
    """A driver runs every toolkit of its CUDA major (minor-version compatibility)."""
    STRICT = "strict"
    """A driver runs only toolkits up to its own CUDA version."""


def parse_driver_version(text: str) -> DriverVersion | None:
    """``"570.86.10"`` -> ``(570, 86, 10)``; None when it is not dotted numbers."""
    parts = text.strip().split(".")
    if not parts or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


@dataclass(frozen=True, slots=True)
class ArchList:
    """The GPU code a CUDA build carries: cubins per architecture, and PTX."""

    cubins: tuple[Capability, ...]
    ptx: tuple[Capability, ...] = ()

    def runs_on(self, capability: Capability) -> bool:
        """A cubin for X.Y runs on X.Z with Z >= Y; PTX for X.Y JIT-compiles on anything
        at least X.Y."""
        major, minor = capability
        if any(c_major == major and c_minor <= minor for c_major, c_minor in self.cubins):
            return True
        return any(ptx <= capability for ptx in self.ptx)

    @property
    def oldest(self) -> Capability | None:
        every = (*self.cubins, *self.ptx)
        return min(every) if every else None

    def describe(self) -> str:
        names = [f"sm_{major}{minor}" for major, minor in self.cubins]
        names += [f"compute_{major}{minor}" for major, minor in self.ptx]
        return " ".join(names) or "none"


@dataclass(frozen=True, slots=True)
class Variant:
    """One build of a torch release: ``cu128``, ``rocm6.4``, ``cpu``, ``xpu``."""

    name: str
    kind: VariantKind
    index_url: str
    toolkit: tuple[int, ...] | None = None
    """CUDA (11, 8) for cu118; ROCm (6, 2, 4) for rocm6.2.4; None otherwise."""
    arch: ArchList | None = None
    """CUDA builds: the architectures compiled in."""
    gfx: tuple[str, ...] = ()
    """ROCm builds: the gfx targets compiled in."""

    @property
    def local_label(self) -> str:
        """The local version label of its wheels (``+cu128``)."""
        return f"+{self.name}"


@dataclass(frozen=True, slots=True)
class TorchRelease:
    """A torch minor release (``2.9`` covers 2.9.x) and its builds, newest CUDA first."""

    version: str
    python: str
    """A PEP 440 specifier for the Pythons it has wheels for."""
    torchvision: str
    torchaudio: str
    variants: tuple[Variant, ...]

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def companion(self, package: str) -> str | None:
        """The paired release series of a family package (``torchvision`` -> ``0.24``)."""
        series = {"torch": self.version, "torchvision": self.torchvision}
        series["torchaudio"] = self.torchaudio
        return series.get(package)


@dataclass(frozen=True, slots=True)
class TensorflowRelease:
    """A TensorFlow minor release and the CUDA its ``and-cuda`` extra brings."""

    version: str
    python: str
    cuda: tuple[int, int]
    arch: ArchList


@dataclass(frozen=True, slots=True)
class JaxExtra:
    """A JAX extra (``cuda12``) and the CUDA it needs."""

    name: str
    cuda: tuple[int, int]
    arch: ArchList


@dataclass(frozen=True, slots=True)
class DriverMinimum:
    """A minimum NVIDIA driver, as numbers to compare and as written (``580.65.06``)."""

    version: DriverVersion
    text: str


@dataclass(frozen=True, slots=True)
class CudaDrivers:
    """Minimum NVIDIA drivers: per CUDA major, and per toolkit release."""

    per_major: dict[int, DriverMinimum]
    per_toolkit: dict[tuple[int, int], DriverMinimum]


_BUILD_NAMES = {VariantKind.CUDA: "CUDA", VariantKind.ROCM: "ROCm", VariantKind.XPU: "XPU"}


@dataclass(frozen=True, slots=True)
class BuildPlatforms:
    """The targets a build of torch exists for (the catalog's ``[torch.platforms]``): a
    lock of it covers only these."""

    variant: str
    """``cu128``."""
    kind: VariantKind
    platforms: tuple[str, ...]
    """Target names as ``[tool.cloche] targets`` spells them: ``linux``, ``windows``."""

    @property
    def build(self) -> str:
        """How a person calls the kind: ``CUDA``, ``ROCm``."""
        return _BUILD_NAMES.get(self.kind, self.kind.value)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything cloche knows about ML builds (see ``catalog.toml``)."""

    drivers: CudaDrivers
    torch_index: str
    torch_family: tuple[str, ...]
    torch_releases: tuple[TorchRelease, ...]
    """Newest first."""
    tensorflow_extra: str
    tensorflow_releases: tuple[TensorflowRelease, ...]
    jax_extras: tuple[JaxExtra, ...]
    """Newest CUDA first."""
    source: str = field(default="catalog.toml")
    platforms: dict[VariantKind, tuple[str, ...]] = field(default_factory=dict)
    """Where each kind of build exists; a kind not listed exists for every target."""

    def build_platforms(self, variant: str) -> BuildPlatforms | None:
        """Where builds of ``variant`` exist, when that is not everywhere."""
        meaning = variant_kind_and_toolkit(variant)
        listed = self.platforms.get(meaning[0]) if meaning is not None else None
        if meaning is None or listed is None:
            return None
        return BuildPlatforms(variant, meaning[0], listed)

    def variant_names(self) -> tuple[str, ...]:
        """Every variant name any release has, in a stable order."""
        seen: dict[str, None] = {}
        for release in self.torch_releases:
            for variant in release.variants:
                seen.setdefault(variant.name, None)
        return tuple(sorted(seen, key=_variant_order))

    def torch_release(self, version: str) -> TorchRelease | None:
        """The release series ``version`` (``2.9``, ``2.9.1`` or ``2.9.1+cu128``) belongs to."""
        base = version.split("+", 1)[0]
        parts = base.split(".")
        series = ".".join(parts[:2])
        return next((r for r in self.torch_releases if r.version == series), None)


def variant_kind_and_toolkit(name: str) -> tuple[VariantKind, tuple[int, ...] | None] | None:
    """What a variant name means: ``cu128`` -> CUDA 12.8, ``rocm6.2.4`` -> ROCm 6.2.4;
    None for a name that is no variant."""
    if name in ("cpu", "xpu"):
        return VariantKind(name), None
    if name.startswith("cu") and name[2:].isdigit() and len(name) in (5, 6):
        digits = name[2:]
        return VariantKind.CUDA, (int(digits[:-1]), int(digits[-1]))
    if name.startswith("rocm"):
        toolkit = parse_driver_version(name[4:])
        if toolkit is not None and len(toolkit) >= 2:
            return VariantKind.ROCM, toolkit
    return None


def _variant_order(name: str) -> tuple[int, tuple[int, ...]]:
    meaning = variant_kind_and_toolkit(name)
    if meaning is None:
        return len(VariantKind), ()
    kind, toolkit = meaning
    return list(VariantKind).index(kind), toolkit or ()
