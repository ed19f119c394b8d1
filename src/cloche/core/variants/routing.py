"""Where one package should come from on this machine: the answer routing asks for.

The torch family is pinned to the chosen variant's index (and its paired release
series); TensorFlow and JAX take their CUDA extra from the normal indexes; every
other package is not the catalog's business (None).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name as normalize

from cloche.core.variants.frameworks import Selection
from cloche.core.variants.model import Catalog


@dataclass(frozen=True, slots=True)
class PackageRoute:
    """How to fetch one package for the selected accelerator."""

    package: str
    index_url: str | None = None
    """The only index the package may come from; None for the normal indexes."""
    local_label: str | None = None
    """The local version label its wheels carry (``+cu128``)."""
    series: str | None = None
    """The release series paired with the chosen torch (``0.24`` for torchvision)."""
    extra: str | None = None
    """The extra to add (``and-cuda``, ``cuda12``)."""


def route_package(catalog: Catalog, selection: Selection, package: str) -> PackageRoute | None:
    """The route for ``package``, or None when the catalog does not govern it."""
    name = normalize(package)
    family = {normalize(member) for member in catalog.torch_family}
    if name in family:
        choice = selection.torch
        release = catalog.torch_release(choice.release) if choice.release else None
        return PackageRoute(
            package=name,
            index_url=choice.index_url,
            local_label=choice.local_label,
            series=release.companion(name) if release else None,
        )
    if name == "tensorflow":
        return PackageRoute(package=name, extra=selection.tensorflow.extra)
    if name == "jax":
        return PackageRoute(package=name, extra=selection.jax.extra)
    return None
